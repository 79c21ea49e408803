// `detforge eval-coco` equals evaluate_coco_bbox; `detforge visualize` writes decodable PNGs of
// the right size (per image and as a grid).
#include <gtest/gtest.h>

#include "data/draw.h"
#include "det_cli_util.h"
#include "detection/coco_eval.h"
#include "detection/coco_results.h"

using namespace detcli;
using detforge::Tensor;
using nlohmann::json;

namespace {

std::vector<detforge::detection::CocoDetection> some_dets(const detforge::data::CocoDataset& gt) {
  std::vector<detforge::detection::CocoDetection> d;
  int k = 0;
  for (const auto& a : gt.annotations) {
    auto b = a.bbox;
    b[0] += (k % 3) - 1;
    b[2] += k % 2;
    d.push_back({a.image_id, a.category_id, b, 0.9 - 0.05 * k});
    d.push_back({a.image_id, a.category_id == 3 ? 7 : 3, {1, 1, 10, 10}, 0.4 + 0.01 * k});
    ++k;
  }
  return d;
}

}  // namespace

TEST(EvalCocoCli, MatchesEvaluator) {
  fs::path dir = scratch("evalcoco");
  const fs::path gtp = make_dataset(dir, "val", 5);
  const auto gt = detforge::data::load_coco_json(gtp.string());
  const auto dets = some_dets(gt);
  detforge::detection::write_coco_results((dir / "dt.json").string(), dets);
  CliRun r = run_cli("eval-coco --gt " + gtp.string() + " --dt " + (dir / "dt.json").string() +
                     " --json " + (dir / "m.json").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto s = detforge::detection::evaluate_coco_bbox(gt, dets);
  EXPECT_EQ(r.out, detforge::detection::format_coco_summary(s));
  const auto m = nlohmann::ordered_json::parse(slurp(dir / "m.json"));
  const std::vector<std::string> keys{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                      "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  ASSERT_EQ(m.size(), 12u);
  int i = 0;
  for (auto it = m.begin(); it != m.end(); ++it, ++i) {
    EXPECT_EQ(it.key(), keys[i]);
    EXPECT_EQ(it.value().get<double>(), s[i]);
  }
  EXPECT_GT(s[1], 0.0);
  CliRun bad = run_cli("eval-coco --gt " + gtp.string() + " --dt " + (dir / "nope.json").string());
  EXPECT_NE(bad.rc, 0);
  fs::remove_all(dir);
}

TEST(VisualizeCli, WritesImagesAndGrid) {
  fs::path dir = scratch("vis");
  const fs::path gtp = make_dataset(dir, "val", 5);
  const auto gt = detforge::data::load_coco_json(gtp.string());
  detforge::detection::write_coco_results((dir / "dt.json").string(), some_dets(gt));
  CliRun r = run_cli("visualize --images " + (dir / "images").string() + " --gt " + gtp.string() +
                     " --dt " + (dir / "dt.json").string() + " --out " + (dir / "v").string() +
                     " --limit 3 --scale 2");
  ASSERT_EQ(r.rc, 0) << r.out;
  for (int i = 0; i < 5; ++i) {
    const fs::path p = dir / "v" / ("val_" + std::to_string(i) + ".png");
    if (i >= 3) {
      EXPECT_FALSE(fs::exists(p));
      continue;
    }
    Tensor img = detforge::data::read_image(p.string());
    EXPECT_EQ(img.size(0), gt.images[i].height * 2);
    EXPECT_EQ(img.size(1), gt.images[i].width * 2);
    // the GT box's top-left corner (scaled) is drawn in the GT colour
    const auto& a = gt.annotations[i == 0 ? 0 : (i == 1 ? 1 : 3)];
    ASSERT_EQ(a.image_id, gt.images[i].id);
    const detforge::data::Rgb px = detforge::data::get_pixel(
        img, static_cast<int64_t>(a.bbox[0]) * 2 + 1, static_cast<int64_t>(a.bbox[1]) * 2 + 6);
    EXPECT_TRUE((px == detforge::data::Rgb{0, 200, 0})) << int(px.r) << "," << int(px.g);
  }
  CliRun g = run_cli("visualize --images " + (dir / "images").string() + " --gt " + gtp.string() +
                     " --out " + (dir / "g").string() + " --grid 2x2 --scale 1");
  ASSERT_EQ(g.rc, 0) << g.out;
  Tensor grid = detforge::data::read_image((dir / "g" / "grid.png").string());
  // cells of the largest image (56x60), 12 px captions, 4 px gaps
  EXPECT_EQ(grid.size(1), 2 * (60 + 4) + 4);
  EXPECT_EQ(grid.size(0), 2 * (56 + 12 + 4) + 4);
  CliRun bad = run_cli("visualize --images " + (dir / "images").string() + " --gt " + gtp.string() +
                       " --grid 2by2");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("--grid"), std::string::npos) << bad.out;
  fs::remove_all(dir);
}
