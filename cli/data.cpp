// detforge data: dataset tools.
//   detforge data fmnist-det --out DIR [options]   composes the FMNIST-Det dataset (docs/data.md)
//   detforge data voc2coco --voc DIR --split trainval --out FILE   Pascal VOC XML -> COCO JSON
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "data/coco_json.h"
#include "data/fmnist_det.h"
#include "data/image_io.h"
#include "data/voc_to_coco.h"
#include "tensor/error.h"

namespace detforge::cli {
namespace {

namespace fs = std::filesystem;

// A grid of the first rows*cols images of a split with their boxes drawn (1 px, category colour).
void write_preview(const fs::path& dir, const std::string& split, int64_t rows, int64_t cols,
                   const std::string& out_png) {
  const data::CocoDataset ds =
      data::load_coco_json((dir / "annotations" / ("instances_" + split + ".json")).string());
  const auto by_image = data::annotations_by_image(ds.images, ds.annotations);
  const int64_t n = std::min<int64_t>(rows * cols, static_cast<int64_t>(ds.images.size()));
  DF_CHECK(n > 0, ConfigError, "[data fmnist-det] no ", split, " images for the preview");
  const int64_t H = ds.images[0].height, W = ds.images[0].width, gap = 2;
  Tensor grid = Tensor::full({rows * (H + gap) - gap, cols * (W + gap) - gap, 3}, 255, DType::u8);
  uint8_t* g = grid.data<uint8_t>();
  const int64_t GW = grid.size(1);
  static const uint8_t palette[10][3] = {
      {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
      {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 212}};
  for (int64_t k = 0; k < n; ++k) {
    Tensor img = data::read_image((dir / split / ds.images[k].file_name).string());
    const uint8_t* p = img.data<uint8_t>();
    const int64_t oy = (k / cols) * (H + gap), ox = (k % cols) * (W + gap);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int c = 0; c < 3; ++c) g[((oy + y) * GW + ox + x) * 3 + c] = p[(y * W + x) * 3 + c];
    for (size_t ai : by_image[k]) {
      const auto& a = ds.annotations[ai];
      const uint8_t* col = palette[(a.category_id - 1) % 10];
      const int64_t x0 = static_cast<int64_t>(a.bbox[0]), y0 = static_cast<int64_t>(a.bbox[1]);
      const int64_t x1 = x0 + static_cast<int64_t>(a.bbox[2]) - 1;
      const int64_t y1 = y0 + static_cast<int64_t>(a.bbox[3]) - 1;
      auto put = [&](int64_t x, int64_t y) {
        if (x < 0 || y < 0 || x >= W || y >= H) return;
        for (int c = 0; c < 3; ++c) g[((oy + y) * GW + ox + x) * 3 + c] = col[c];
      };
      for (int64_t x = x0; x <= x1; ++x) put(x, y0), put(x, y1);
      for (int64_t y = y0; y <= y1; ++y) put(x0, y), put(x1, y);
    }
  }
  data::write_png(out_png, grid);
}

void add_fmnist_det(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "fmnist-det",
      "Compose the FMNIST-Det detection dataset from Fashion-MNIST (PNG images + COCO JSON)");
  struct Args {
    std::string out, fmnist_dir, preview;
    int64_t train = 12000, val = 2000;
    int threads = 0;
    data::FmnistDetOptions o;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--out", a->out, "output directory")->required();
  cmd->add_option("--fmnist-dir", a->fmnist_dir,
                  "Fashion-MNIST IDX directory (default $DETFORGE_FASHION_MNIST_DIR or " +
                      std::string(data::kFashionMnistDefaultDir) + ")");
  cmd->add_option("--train", a->train, "train images (items of the Fashion-MNIST train split)")
      ->capture_default_str();
  cmd->add_option("--val", a->val, "val images (items of the Fashion-MNIST test split)")
      ->capture_default_str();
  cmd->add_option("--width", a->o.width, "canvas width")->capture_default_str();
  cmd->add_option("--height", a->o.height, "canvas height")->capture_default_str();
  cmd->add_option("--min-objects", a->o.min_objects, "objects per image, minimum")
      ->capture_default_str();
  cmd->add_option("--max-objects", a->o.max_objects, "objects per image, maximum")
      ->capture_default_str();
  cmd->add_option("--min-size", a->o.min_size, "item frame side, minimum (px)")
      ->capture_default_str();
  cmd->add_option("--max-size", a->o.max_size, "item frame side, maximum (px)")
      ->capture_default_str();
  cmd->add_option("--max-aspect", a->o.max_aspect, "frame aspect log-uniform in [1/a, a]")
      ->capture_default_str();
  cmd->add_option("--max-iou", a->o.max_iou, "pairwise IoU bound of the boxes")
      ->capture_default_str();
  cmd->add_option("--min-visible", a->o.min_visible,
                  "fraction of an object's pixels that must stay visible")
      ->capture_default_str();
  cmd->add_option("--alpha-threshold", a->o.alpha_threshold,
                  "visible alpha at which a pixel counts as the object's")
      ->capture_default_str();
  cmd->add_option("--min-pixels", a->o.min_pixels, "visible pixels an object keeps, minimum")
      ->capture_default_str();
  cmd->add_option("--fragments", a->o.max_fragments, "unboxed item fragments per image, maximum")
      ->capture_default_str();
  cmd->add_option("--noise", a->o.noise, "Gaussian pixel noise std (1 = full range)")
      ->capture_default_str();
  cmd->add_option("--min-contrast", a->o.min_contrast, "tint vs background RGB distance sought")
      ->capture_default_str();
  cmd->add_option("--max-tries", a->o.max_tries, "placements tried per object")
      ->capture_default_str();
  cmd->add_option("--seed", a->o.seed, "random seed")->capture_default_str();
  cmd->add_option("--threads", a->threads, "threads (0 = OpenMP default)")->capture_default_str();
  cmd->add_option("--preview", a->preview,
                  "also write a 4x4 grid of the first train images with boxes to this PNG");
  cmd->callback([a]() {
    const auto t0 = std::chrono::steady_clock::now();
    data::write_fmnist_det(a->out, a->o, a->train, a->val, a->fmnist_dir, a->threads);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fmnist-det: %lld train + %lld val images in %s (%.1f s)\n",
                static_cast<long long>(a->train), static_cast<long long>(a->val), a->out.c_str(),
                secs);
    if (!a->preview.empty()) {
      const std::string split = a->train > 0 ? "train" : "val";
      write_preview(a->out, split, 4, 4, a->preview);
      std::printf("preview: %s\n", a->preview.c_str());
    }
  });
}

void add_voc2coco(CLI::App& parent) {
  auto* cmd = parent.add_subcommand(
      "voc2coco", "Convert Pascal VOC XML annotations of one split to a COCO instances JSON file");
  struct Args {
    std::string voc, split = "trainval", out, difficult = "crowd";
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--voc", a->voc, "VOC year directory (holding Annotations/, ImageSets/Main/)")
      ->required();
  cmd->add_option("--split", a->split, "ImageSets/Main/<split>.txt")->capture_default_str();
  cmd->add_option("--out", a->out, "output COCO JSON file")->required();
  cmd->add_option("--difficult", a->difficult,
                  "difficult objects: crowd (iscrowd 1, ignored), keep (iscrowd 0) or drop")
      ->check(CLI::IsMember({"crowd", "keep", "drop"}))
      ->capture_default_str();
  cmd->callback([a]() {
    data::VocToCocoOptions o;
    o.difficult = a->difficult == "keep"   ? data::VocDifficult::keep
                  : a->difficult == "drop" ? data::VocDifficult::drop
                                           : data::VocDifficult::crowd;
    const data::CocoDataset ds = data::voc_to_coco(a->voc, a->split, o);
    data::save_coco_json(ds, a->out);
    int64_t crowd = 0;
    for (const auto& an : ds.annotations) crowd += an.iscrowd;
    std::printf("voc2coco: %zu images, %zu objects (%lld difficult as crowd) -> %s\n",
                ds.images.size(), ds.annotations.size(), static_cast<long long>(crowd),
                a->out.c_str());
  });
}

}  // namespace

void add_data(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Dataset tools");
  cmd->require_subcommand(1);
  add_fmnist_det(*cmd);
  add_voc2coco(*cmd);
}

}  // namespace detforge::cli
