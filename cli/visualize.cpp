// detforge visualize: draws ground-truth boxes (green, 2 px) and detections (palette colour per
// class, 1 px, "name score" labels) onto dataset images and writes PNGs; --grid RxC composes the
// first R*C annotated images into one grid.png (for docs).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>

#include "cli/commands.h"
#include "data/coco_json.h"
#include "data/draw.h"
#include "data/image_io.h"
#include "detection/coco_results.h"
#include "tensor/error.h"

namespace fs = std::filesystem;

namespace detforge::cli {
namespace {

struct VisArgs {
  std::string images, gt, dt, out = "vis", grid;
  double score_thresh = 0.3;
  int64_t limit = 0;
  int scale = 0;  // 0: automatic (small images are enlarged for readable labels)
};

const data::Rgb kGtColor{0, 200, 0};

Tensor annotate(const Tensor& image, const data::CocoImage& im, const data::CocoDataset& gt,
                const std::vector<detection::CocoDetection>& dts,
                const std::unordered_map<int64_t, std::string>& names,
                const std::unordered_map<int64_t, int64_t>& cat_index, const VisArgs& a) {
  int k = a.scale;
  if (k <= 0)
    k = static_cast<int>(
        std::max<int64_t>(1, 256 / std::max<int64_t>(1, std::max(image.size(0), image.size(1)))));
  Tensor canvas = data::to_rgb_canvas(image);
  if (k > 1) canvas = data::resize_nearest(canvas, canvas.size(0) * k, canvas.size(1) * k);
  for (const auto& an : gt.annotations) {
    if (an.image_id != im.id) continue;
    const auto& b = an.bbox;
    data::draw_box(canvas, b[0] * k, b[1] * k, (b[0] + b[2]) * k, (b[1] + b[3]) * k, kGtColor, 2);
  }
  for (const auto& d : dts) {
    if (d.image_id != im.id || d.score < a.score_thresh) continue;
    auto ci = cat_index.find(d.category_id);
    const data::Rgb col = data::palette_color(ci == cat_index.end() ? 0 : ci->second);
    const auto& b = d.bbox;
    data::draw_box(canvas, b[0] * k, b[1] * k, (b[0] + b[2]) * k, (b[1] + b[3]) * k, col, 1);
    auto nm = names.find(d.category_id);
    char score[16];
    std::snprintf(score, sizeof score, "%.2f", d.score);
    const std::string label =
        (nm == names.end() ? std::to_string(d.category_id) : nm->second) + " " + score;
    const int64_t ly =
        b[1] * k >= 10 ? static_cast<int64_t>(b[1] * k) - 10 : static_cast<int64_t>(b[1] * k);
    data::draw_label(canvas, static_cast<int64_t>(b[0] * k), ly, label, {255, 255, 255}, col);
  }
  return canvas;
}

void run_visualize(const VisArgs& a) {
  const data::CocoDataset gt = data::load_coco_json(a.gt);
  std::vector<detection::CocoDetection> dts;
  if (!a.dt.empty()) dts = detection::read_coco_results(a.dt);
  std::unordered_map<int64_t, std::string> names;
  std::unordered_map<int64_t, int64_t> cat_index;
  for (size_t i = 0; i < gt.categories.size(); ++i) {
    names[gt.categories[i].id] = gt.categories[i].name;
    cat_index[gt.categories[i].id] = static_cast<int64_t>(i);
  }
  int64_t rows = 0, cols = 0;
  if (!a.grid.empty()) {
    if (std::sscanf(a.grid.c_str(), "%ldx%ld", &rows, &cols) != 2 || rows < 1 || cols < 1)
      throw ConfigError(str_cat("[visualize] --grid: expected RxC (e.g. 2x3), got '", a.grid, "'"));
  }
  int64_t n = static_cast<int64_t>(gt.images.size());
  if (a.limit > 0) n = std::min(n, a.limit);
  if (rows > 0) n = std::min(n, rows * cols);
  fs::create_directories(a.out);
  std::vector<Tensor> tiles;
  std::vector<std::string> captions;
  for (int64_t i = 0; i < n; ++i) {
    const data::CocoImage& im = gt.images[i];
    const std::string path = (fs::path(a.images) / im.file_name).string();
    Tensor canvas = annotate(data::read_image(path), im, gt, dts, names, cat_index, a);
    if (rows > 0) {
      tiles.push_back(canvas);
      captions.push_back(fs::path(im.file_name).filename().string());
      continue;
    }
    const std::string dst =
        (fs::path(a.out) / (fs::path(im.file_name).stem().string() + ".png")).string();
    data::write_png(dst, canvas);
  }
  if (rows > 0) {
    int64_t cw = 1, ch = 1;
    for (const auto& t : tiles) cw = std::max(cw, t.size(1)), ch = std::max(ch, t.size(0));
    const int64_t gap = 4, cap = 12;
    Tensor grid = data::new_canvas(rows * (ch + cap + gap) + gap, cols * (cw + gap) + gap);
    for (size_t i = 0; i < tiles.size(); ++i) {
      const int64_t r = static_cast<int64_t>(i) / cols, c = static_cast<int64_t>(i) % cols;
      const int64_t x = gap + c * (cw + gap), y = gap + r * (ch + cap + gap);
      data::draw_text(grid, x, y, captions[i], {0, 0, 0});
      data::paste(grid, tiles[i], x, y + cap);
    }
    const std::string dst = (fs::path(a.out) / "grid.png").string();
    data::write_png(dst, grid);
    std::printf("grid %s (%zu images)\n", dst.c_str(), tiles.size());
  } else {
    std::printf("%lld images -> %s\n", static_cast<long long>(n), a.out.c_str());
  }
}

}  // namespace

void add_visualize(CLI::App& app) {
  auto* cmd = app.add_subcommand("visualize", "Draw ground-truth and predicted boxes onto images");
  auto a = std::make_shared<VisArgs>();
  cmd->add_option("--images", a->images, "Image directory (file names from the GT JSON)")
      ->required();
  cmd->add_option("--gt", a->gt, "Ground-truth COCO JSON")->required();
  cmd->add_option("--dt", a->dt, "Results JSON (optional)");
  cmd->add_option("--score-thresh", a->score_thresh, "Draw detections scoring at least this");
  cmd->add_option("--out", a->out, "Output directory");
  cmd->add_option("--limit", a->limit, "At most this many images");
  cmd->add_option("--grid", a->grid, "RxC: one grid.png of the first R*C images");
  cmd->add_option("--scale", a->scale, "Integer enlargement (default: small images to ~256 px)");
  cmd->callback([a] { run_visualize(*a); });
}

}  // namespace detforge::cli
