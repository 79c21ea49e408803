// COCOeval (bbox) re-implementation: hand-computed cases (the expected numbers are worked out in
// the comments, following pycocotools' algorithm), random datasets replayed against
// scripts/coco_eval_reference.py (our numpy re-implementation, not pycocotools), and the results /
// summary I/O.
#include "detection/coco_eval.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "detection/coco_results.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

using Box = std::array<double, 4>;

struct Builder {
  data::CocoDataset ds;
  std::vector<CocoDetection> dt;
  int64_t next_id = 1;
  Builder(std::vector<int64_t> images, std::vector<int64_t> cats) {
    for (int64_t i : images) ds.images.push_back({i, std::to_string(i) + ".png", 640, 480});
    for (int64_t c : cats) ds.categories.push_back({c, "c" + std::to_string(c), ""});
  }
  // area < 0: w * h.
  int64_t gt(int64_t img, int64_t cat, Box b, bool crowd = false, double area = -1,
             int64_t id = -1) {
    data::CocoAnnotation a;
    a.id = id >= 0 ? id : next_id++;
    a.image_id = img;
    a.category_id = cat;
    a.bbox = b;
    a.area = area >= 0 ? area : b[2] * b[3];
    a.iscrowd = crowd;
    ds.annotations.push_back(a);
    return a.id;
  }
  void det(int64_t img, int64_t cat, Box b, double score) { dt.push_back({img, cat, b, score}); }
  CocoEvalSummary eval() const { return evaluate_coco_bbox(ds, dt); }
};

constexpr double kTol = 1e-12;
constexpr double kOne =
    1.0 / (1.0 + 0x1p-52);  // tp / (tp + fp + np.spacing(1)) with tp = 1, fp = 0

void expect_stats(const CocoEvalSummary& s, const std::array<double, 12>& want, double tol = kTol) {
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(s.stats[i], want[i], tol) << CocoEvalSummary::keys()[i];
}

TEST(CocoEval, PerfectDetections) {
  // Image 1: a large GT (100x100 = 10000 > 96^2) and a small one (10x10); image 2: a large one.
  // Every detection is exact, so precision is tp/(tp+eps) ~ 1 at every recall. medium has no GT:
  // npig == 0 everywhere -> -1. AR1: one detection per image -> 2 of 3 GTs found (image 1 loses
  // its lower-scored small GT).
  Builder b({1, 2}, {1});
  b.gt(1, 1, {0, 0, 100, 100});
  b.gt(1, 1, {200, 200, 10, 10});
  b.gt(2, 1, {5, 5, 100, 100});
  b.det(1, 1, {0, 0, 100, 100}, 0.9);
  b.det(1, 1, {200, 200, 10, 10}, 0.8);
  b.det(2, 1, {5, 5, 100, 100}, 0.7);
  expect_stats(b.eval(), {kOne, kOne, kOne, kOne, -1, kOne, 2.0 / 3, 1, 1, 1, -1, 1}, 1e-15);
}

TEST(CocoEval, FalsePositiveAboveTruePositive) {
  // One medium GT (50x50). Sorted: FP (0.9), TP (0.8): tp = [0, 1], fp = [1, 1], rc = [0, 1],
  // pr = [0, 1/2]; the envelope makes pr[0] = 0.5, every recall threshold reads 0.5 -> AP 0.5.
  // AR1 sees only the FP -> 0. small/large: the GT is ignored -> npig 0 -> -1.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 50, 50});
  b.det(1, 1, {300, 300, 50, 50}, 0.9);
  b.det(1, 1, {0, 0, 50, 50}, 0.8);
  expect_stats(b.eval(), {0.5, 0.5, 0.5, -1, 0.5, -1, 0, 1, 1, -1, 1, -1});
}

TEST(CocoEval, DuplicateAndIoUAtThreshold) {
  // GT [0,0,100,100] (large). A duplicate [0,0,60,100] with IoU 6000/10000 = 0.6 exactly scores
  // 0.9, the exact box 0.8. t = 0.5, 0.55, 0.6 (iou >= t matches): the duplicate takes the GT and
  // the exact box is an FP after it -> rc = [1, 1], precision ~1. t >= 0.65: FP then TP -> 0.5.
  // AP = (3 * 1 + 7 * 0.5) / 10 = 0.65, AP50 = 1, AP75 = 0.5. Recall is 1 everywhere with 10 or
  // 100 detections; AR1 keeps the duplicate only: 3 of 10 thresholds -> 0.3. large: once the
  // duplicate (6000, medium) is unmatched it is outside the range and ignored -> APl ~1.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 100, 100});
  b.det(1, 1, {0, 0, 60, 100}, 0.9);
  b.det(1, 1, {0, 0, 100, 100}, 0.8);
  const double ap = (3 * kOne + 3.5) / 10;
  expect_stats(b.eval(), {ap, kOne, 0.5, -1, -1, kOne, 0.3, 1, 1, -1, -1, 1});
}

TEST(CocoEval, IoUThresholdsFollowLinspaceRounding) {
  CocoEvalParams p;
  ASSERT_EQ(p.iou_thresholds.size(), 10u);
  EXPECT_EQ(p.iou_thresholds[0], 0.5);
  EXPECT_EQ(p.iou_thresholds[5], 0.75);
  EXPECT_EQ(p.iou_thresholds[8], 0.8999999999999999);  // np.linspace(.5, .95, 10)[8]
  EXPECT_EQ(p.iou_thresholds[9], 0.95);
  EXPECT_EQ(p.recall_thresholds[7], 7 * 0.01);
  EXPECT_EQ(p.recall_thresholds[100], 1.0);
  // IoU exactly 0.5 ([0,0,50,100] vs [0,0,100,100]) matches at t = 0.5 only: AP50 1, AP 0.1.
  {
    Builder b({1}, {1});
    b.gt(1, 1, {0, 0, 100, 100});
    b.det(1, 1, {0, 0, 50, 100}, 0.9);
    expect_stats(b.eval(), {kOne / 10, kOne, 0, -1, -1, kOne / 10, 0.1, 0.1, 0.1, -1, -1, 0.1});
  }
  // IoU exactly 0.9 matches at the 9th threshold (0.8999999999999999): 9 of 10 -> AP 0.9.
  {
    Builder b({1}, {1});
    b.gt(1, 1, {0, 0, 100, 100});
    b.det(1, 1, {0, 0, 90, 100}, 0.9);
    EXPECT_NEAR(b.eval()[0], 0.9 * kOne, kTol);
  }
  // IoU 0.95 matches at 0.95 (iou >= t): AP 1; a hair less (0.9499) does not: 0.9.
  {
    Builder b({1}, {1});
    b.gt(1, 1, {0, 0, 100, 100});
    b.det(1, 1, {0, 0, 95, 100}, 0.9);
    EXPECT_NEAR(b.eval()[0], kOne, kTol);
    b.dt[0].bbox = {0, 0, 94.99, 100};
    EXPECT_NEAR(b.eval()[0], 0.9 * kOne, kTol);
  }
}

TEST(CocoEval, CrowdAbsorbsSeveralDetections) {
  // GTs: a crowd [0,0,100,100] and a normal [200,200,50,50]. Three detections inside the crowd
  // (IoU with a crowd = intersection / detection area = 1) score above the normal TP: they match
  // the crowd (ignored GT, matchable again) and are ignored, so AP ~1 and AR 1. Sorted GTs: normal
  // first, crowd last; the crowd's gtMatches holds the last detection matched to it (id 4).
  Builder b({1}, {1});
  const int64_t crowd = b.gt(1, 1, {0, 0, 100, 100}, true);
  const int64_t normal = b.gt(1, 1, {200, 200, 50, 50});
  b.det(1, 1, {200, 200, 50, 50}, 0.5);  // id 1
  b.det(1, 1, {10, 10, 20, 20}, 0.9);    // id 2
  b.det(1, 1, {50, 50, 30, 30}, 0.8);    // id 3
  b.det(1, 1, {0, 0, 100, 100}, 0.7);    // id 4
  CocoEvaluator ev(b.ds, b.dt);
  ev.evaluate();
  ev.accumulate();
  expect_stats(ev.summarize(), {kOne, kOne, kOne, -1, kOne, -1, 0, 1, 1, -1, 1, -1});
  CocoEvalImage e;
  ASSERT_TRUE(ev.eval_image(1, 1, 0, &e));
  EXPECT_EQ(e.dt_ids, (std::vector<int64_t>{2, 3, 4, 1}));
  EXPECT_EQ(e.gt_ids, (std::vector<int64_t>{normal, crowd}));
  EXPECT_EQ(e.gt_ignore, (std::vector<uint8_t>{0, 1}));
  for (int t = 0; t < 10; ++t) {
    EXPECT_EQ(e.dt_matches[t * 4 + 0], crowd);
    EXPECT_EQ(e.dt_matches[t * 4 + 2], crowd);
    EXPECT_EQ(e.dt_matches[t * 4 + 3], normal);
    EXPECT_EQ(e.dt_ignore[t * 4 + 0], 1);
    EXPECT_EQ(e.dt_ignore[t * 4 + 3], 0);
    EXPECT_EQ(e.gt_matches[t * 2 + 0], 1);
    EXPECT_EQ(e.gt_matches[t * 2 + 1], 4);
  }
  int64_t nd = 0, ng = 0;
  auto iou = ev.ious(1, 1, &nd, &ng);  // [D x G], detections by score, GTs in file order
  ASSERT_EQ(nd, 4);
  ASSERT_EQ(ng, 2);
  EXPECT_EQ(iou[0 * 2 + 0], 1.0);  // [10,10,20,20] inside the crowd
  EXPECT_EQ(iou[2 * 2 + 0], 1.0);  // the crowd's own box
  EXPECT_EQ(iou[3 * 2 + 1], 1.0);  // the exact TP
  EXPECT_EQ(iou[3 * 2 + 0], 0.0);
  // Without the crowd flag the three become FPs above the TP: AP drops.
  b.ds.annotations[0].iscrowd = false;
  EXPECT_LT(b.eval()[0], 0.9);
}

TEST(CocoEval, AreaRangeIgnores) {
  // GTs: small S [0,0,10,10] (100) and medium Mg [100,100,50,50] (2500). Detections: exact on S
  // (0.8) and Mg (0.9), an unmatched small FP 5x5 (0.95), an unmatched large FP 150x150 (0.99).
  // all: FP, FP, TP, TP: rc = [0, 0, .5, 1], pr = [0, 0, 1/3, 1/2] -> envelope 0.5 -> AP 0.5.
  // small: Mg ignored, its detection matched to an ignored GT -> ignored; the large FP is unmatched
  //   and outside [0, 32^2] -> ignored; the small FP counts: FP, TP -> AP 0.5.
  // medium: S and both FPs ignored (S's detection matches an ignored GT): AP ~1.
  // large: both GTs outside -> npig 0 -> -1. AR1 sees the large FP only -> 0.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 10, 10});
  b.gt(1, 1, {100, 100, 50, 50});
  b.det(1, 1, {0, 0, 10, 10}, 0.8);
  b.det(1, 1, {100, 100, 50, 50}, 0.9);
  b.det(1, 1, {300, 0, 5, 5}, 0.95);
  b.det(1, 1, {300, 300, 150, 150}, 0.99);
  expect_stats(b.eval(), {0.5, 0.5, 0.5, 0.5, kOne, -1, 0, 1, 1, 1, 1, -1});
}

TEST(CocoEval, GtAreaComesFromTheAnnotation) {
  // A 40x40 box (w*h = 1600, medium) whose annotation says area 900 (small) counts as small; the
  // matched detection is never area-ignored. medium: the GT is ignored -> -1.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 40, 40}, false, 900);
  b.det(1, 1, {0, 0, 40, 40}, 0.9);
  expect_stats(b.eval(), {kOne, kOne, kOne, kOne, -1, -1, 1, 1, 1, 1, -1, -1});
  // Ranges are inclusive: area exactly 32^2 is small and medium.
  b.ds.annotations[0].area = 1024;
  expect_stats(b.eval(), {kOne, kOne, kOne, kOne, kOne, -1, 1, 1, 1, 1, 1, -1});
}

TEST(CocoEval, MaxDetsTruncation) {
  // 11 small GTs, 11 exact detections with decreasing scores: AR1 = 1/11, AR10 = 10/11, AR100 = 1.
  Builder b({1}, {1});
  for (int i = 0; i < 11; ++i) {
    b.gt(1, 1, {20.0 * i, 0, 10, 10});
    b.det(1, 1, {20.0 * i, 0, 10, 10}, 1.0 - 0.05 * i);
  }
  expect_stats(b.eval(), {kOne, kOne, kOne, kOne, -1, -1, 1.0 / 11, 10.0 / 11, 1, 1, -1, -1});
  // 100 higher-scored FPs push the 11 TPs past maxDets[-1] = 100: they are cut before matching.
  for (int i = 0; i < 100; ++i) b.det(1, 1, {500, 500, 10, 10}, 2.0);
  expect_stats(b.eval(), {0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1});
}

TEST(CocoEval, TiedScoresKeepImageThenResultsOrder) {
  // Images 7 and 3, one GT each. Results list the FP of image 7 first, then the TP of image 3, both
  // score 0.5. Concatenation runs over sorted image ids (3, 7), then a stable sort: TP, FP.
  // rc = [.5, .5], pr = [1, .5]: recall thresholds 0 .. 0.50 (51 of 101) read ~1 -> AP = 51/101.
  Builder b({7, 3}, {1});
  b.gt(7, 1, {0, 0, 50, 50});
  b.gt(3, 1, {0, 0, 50, 50});
  b.det(7, 1, {300, 300, 50, 50}, 0.5);
  b.det(3, 1, {0, 0, 50, 50}, 0.5);
  const double ap = 51 * kOne / 101;
  expect_stats(b.eval(), {ap, ap, ap, -1, ap, -1, 0.5, 0.5, 0.5, -1, 0.5, -1});
  // Within one image, equal scores keep the results order: FP listed first -> FP, TP -> AP 0.5.
  Builder c({1}, {1});
  c.gt(1, 1, {0, 0, 50, 50});
  c.det(1, 1, {300, 300, 50, 50}, 0.5);
  c.det(1, 1, {0, 0, 50, 50}, 0.5);
  EXPECT_NEAR(c.eval()[0], 0.5, kTol);
  std::swap(c.dt[0], c.dt[1]);
  EXPECT_NEAR(c.eval()[0], kOne, kTol);
}

TEST(CocoEval, CategoriesWithoutGtAndImagesWithoutDets) {
  // Category 1: two images with a GT each, only image 1 detected: rc = [.5], pr = [1] -> AP
  // 51/101, AR 0.5. Category 2 has only FPs and no GT (npig 0 -> -1, left out of the means);
  // category 3 has nothing. Detections of category 9 (not in the GT) are dropped.
  Builder b({1, 2}, {3, 1, 2});
  b.gt(1, 1, {0, 0, 50, 50});
  b.gt(2, 1, {0, 0, 50, 50});
  b.det(1, 1, {0, 0, 50, 50}, 0.9);
  b.det(1, 2, {0, 0, 50, 50}, 0.99);
  b.det(2, 9, {0, 0, 50, 50}, 0.99);
  const double ap = 51 * kOne / 101;
  expect_stats(b.eval(), {ap, ap, ap, -1, ap, -1, 0.5, 0.5, 0.5, -1, 0.5, -1});
  CocoEvaluator ev(b.ds, b.dt);
  ev.evaluate();
  ev.accumulate();
  EXPECT_EQ(ev.category_ids(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(ev.recall(0, 1, 0, 2), -1);  // category 2
  EXPECT_EQ(ev.precision(0, 0, 1, 0, 2), -1);
  EXPECT_FALSE(ev.eval_image(2, 2, 0, nullptr));  // no GT, no DT: None
  CocoEvalImage e;
  ASSERT_TRUE(ev.eval_image(2, 1, 0, &e));  // a GT, no detections
  EXPECT_TRUE(e.dt_ids.empty());
  EXPECT_EQ(e.gt_matches, std::vector<int64_t>(10, 0));
}

TEST(CocoEval, EmptyResultsAndEmptyGt) {
  // GT but no detections: precision/recall 0 where there are GTs, -1 where a range has none.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 50, 50});
  expect_stats(b.eval(), {0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1});
  // No GT annotations: everything -1, detections or not.
  Builder c({1}, {1});
  expect_stats(c.eval(), {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
  c.det(1, 1, {0, 0, 50, 50}, 0.9);
  expect_stats(c.eval(), {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
  // Only crowd GTs: npig 0 -> -1.
  c.gt(1, 1, {0, 0, 50, 50}, true);
  expect_stats(c.eval(), {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
}

TEST(CocoEval, DetectionOnUnknownImageThrows) {
  Builder b({1, 2}, {1});
  b.gt(1, 1, {0, 0, 50, 50});
  b.det(1, 1, {0, 0, 50, 50}, 0.9);
  b.det(5, 1, {0, 0, 50, 50}, 0.9);
  try {
    b.eval();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("detection [1] has image_id 5"), std::string::npos)
        << e.what();
  }
}

TEST(CocoEval, GtIdZeroCountsAsUnmatched) {
  // pycocotools stores the matched GT's id in dtMatches and tests it for truth: a detection
  // matched to annotation id 0 is an FP (and the GT stays taken). AP 0, AR 0.
  Builder b({1}, {1});
  b.gt(1, 1, {0, 0, 50, 50}, false, -1, 0);
  b.det(1, 1, {0, 0, 50, 50}, 0.9);
  expect_stats(b.eval(), {0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1});
}

// ---- random datasets vs scripts/coco_eval_reference.py
// ---------------------------------------------

data::CocoDataset dataset_from_json(const nlohmann::json& j) {  // test-only reader for the fixtures
  data::CocoDataset ds;
  for (const auto& im : j.at("images")) ds.images.push_back({im.at("id").get<int64_t>(), "", 0, 0});
  for (const auto& c : j.at("categories"))
    ds.categories.push_back({c.at("id").get<int64_t>(), "", ""});
  for (const auto& a : j.at("annotations")) {
    data::CocoAnnotation x;
    x.id = a.at("id").get<int64_t>();
    x.image_id = a.at("image_id").get<int64_t>();
    x.category_id = a.at("category_id").get<int64_t>();
    for (int i = 0; i < 4; ++i) x.bbox[i] = a.at("bbox")[i].get<double>();
    x.area = a.at("area").get<double>();
    x.iscrowd = a.at("iscrowd").get<int>() != 0;
    ds.annotations.push_back(x);
  }
  return ds;
}

TEST(CocoEval, RandomDatasetsMatchReference) {
  int n = 0;
  for (int seed = 1; seed <= 5; ++seed) {
    const std::string path =
        std::string(DETFORGE_FIXTURE_DIR) + "/coco_eval/random_" + std::to_string(seed) + ".json";
    std::ifstream f(path);
    ASSERT_TRUE(f.good()) << path;
    nlohmann::json j = nlohmann::json::parse(f);
    auto gt = dataset_from_json(j.at("gt"));
    auto dt = parse_coco_results(j.at("dt").dump(), path);
    auto s = evaluate_coco_bbox(gt, dt);
    for (int i = 0; i < 12; ++i)
      EXPECT_NEAR(s.stats[i], j.at("stats")[i].get<double>(), 1e-12)
          << path << " " << CocoEvalSummary::keys()[i];
    ++n;
  }
  EXPECT_EQ(n, 5);
}

TEST(CocoEval, LargeValSetIsFast) {
  // 5000 images x ~7 GTs, 80 categories, 100 detections per image.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  data::CocoDataset ds;
  std::vector<CocoDetection> dt;
  for (int c = 1; c <= 80; ++c) ds.categories.push_back({c, "", ""});
  int64_t aid = 1;
  for (int i = 1; i <= 5000; ++i) {
    ds.images.push_back({i, "", 640, 480});
    std::vector<data::CocoAnnotation> here;
    for (int g = 0; g < 7; ++g) {
      data::CocoAnnotation a;
      a.id = aid++;
      a.image_id = i;
      a.category_id = 1 + static_cast<int>(u(rng) * 8);
      a.bbox = {u(rng) * 500, u(rng) * 350, 5 + u(rng) * 150, 5 + u(rng) * 150};
      a.area = a.bbox[2] * a.bbox[3];
      a.iscrowd = u(rng) < 0.02;
      ds.annotations.push_back(a);
      here.push_back(a);
    }
    for (int d = 0; d < 100; ++d) {
      const auto& g = here[d % here.size()];
      CocoDetection x{i, d < 50 ? g.category_id : 1 + static_cast<int>(u(rng) * 8), g.bbox, u(rng)};
      for (int k = 0; k < 4; ++k) x.bbox[k] += (u(rng) - 0.5) * 10;
      dt.push_back(x);
    }
  }
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  auto t0 = now();
  CocoEvaluator ev(ds, dt);
  auto t1 = now();
  ev.evaluate();
  auto t2 = now();
  ev.accumulate();
  auto t3 = now();
  auto s = ev.summarize();
  auto t4 = now();
  const double sec = secs(t0, t4);
  std::printf(
      "[ coco eval ] 5000 images, %zu detections: %.2f s (index %.2f, evaluate %.2f, accumulate "
      "%.2f, "
      "summarize %.2f), AP %.4f\n",
      dt.size(), sec, secs(t0, t1), secs(t1, t2), secs(t2, t3), secs(t3, t4), s[0]);
  EXPECT_GT(s[0], 0.0);
  EXPECT_LT(sec, 30.0);
}

// ---- results JSON and the summary
// -------------------------------------------------------------------

TEST(CocoResults, ParseAndWriteRoundTrip) {
  auto d = parse_coco_results(
      R"([{"image_id": 3, "category_id": 2.0, "bbox": [1, 2.5, 3, 4], "score": 0.125, "segmentation": []}])",
      "x.json");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].image_id, 3);
  EXPECT_EQ(d[0].category_id, 2);
  EXPECT_EQ(d[0].bbox, (Box{1, 2.5, 3, 4}));
  EXPECT_EQ(d[0].score, 0.125);
  d.push_back({4, 1, {0.1, 0.2, 1.0 / 3, 7}, 0.987654321});
  auto back = parse_coco_results(coco_results_to_json(d).dump(), "y");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].bbox, d[1].bbox);  // doubles round-trip exactly
  EXPECT_EQ(back[1].score, d[1].score);
  const std::string path = ::testing::TempDir() + "/coco_results_test.json";
  write_coco_results(path, d);
  EXPECT_EQ(read_coco_results(path).size(), 2u);
  EXPECT_TRUE(parse_coco_results("[]").empty());
}

void expect_parse_error(const std::string& text, const std::string& want) {
  try {
    parse_coco_results(text, "dt.json");
    FAIL() << "no error for " << text;
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

TEST(CocoResults, ErrorsNameElementAndKey) {
  const std::string ok = R"("image_id": 1, "category_id": 1, "score": 0.5)";
  expect_parse_error("[{" + ok + R"(, "bbox": [1, 2, 3, 4]}, {)" + ok + R"(, "bbox": [1, 2, 3]}])",
                     "[coco results] dt.json: [1].bbox: expected 4 numbers");
  expect_parse_error(R"([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}])",
                     "dt.json: [0].score: missing");
  expect_parse_error(R"([{"image_id": "a", "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}])",
                     "[0].image_id: expected an integer");
  expect_parse_error(R"([{"image_id": 1, "category_id": 1, "bbox": [1, "2", 3, 4], "score": 1}])",
                     "[0].bbox: expected 4 numbers");
  expect_parse_error(R"({"image_id": 1})", "expected a JSON array");
  expect_parse_error(R"([1])", "[0]: expected an object");
  expect_parse_error(R"([{)", "invalid JSON");
  EXPECT_THROW(read_coco_results("/nonexistent/dt.json"), IOError);
}

TEST(CocoResults, SummaryLinesAndJson) {
  CocoEvalSummary s;
  s.stats = {0.3725, 0.5, 0.75, -1, 0.1234, 1, 0, 0.25, 0.5, -1, 0.9996, 0.0004};
  const std::string text = format_coco_summary(s);
  std::istringstream is(text);
  std::vector<std::string> lines;
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.372");
  EXPECT_EQ(lines[1],
            " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.500");
  EXPECT_EQ(lines[2],
            " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.750");
  EXPECT_EQ(lines[3],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000");
  EXPECT_EQ(lines[4],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.123");
  EXPECT_EQ(lines[5],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 1.000");
  EXPECT_EQ(lines[6],
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000");
  EXPECT_EQ(lines[7],
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.250");
  EXPECT_EQ(lines[8],
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500");
  EXPECT_EQ(lines[11],
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.000");
  auto j = coco_summary_to_json(s);
  EXPECT_EQ(j.size(), 12u);
  EXPECT_EQ(j.begin().key(), "AP");  // the order of summarize()'s stats
  EXPECT_EQ(j.dump().substr(j.dump().size() - 13), "\"ARl\":0.0004}");
  EXPECT_EQ(j.at("AP").get<double>(), 0.3725);
  EXPECT_EQ(j.at("APs").get<double>(), -1);
  EXPECT_EQ(j.at("ARl").get<double>(), 0.0004);
}

}  // namespace
}  // namespace detforge::detection
