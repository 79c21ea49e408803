// COCO bbox evaluation that reproduces pycocotools' COCOeval (iouType='bbox', useCats=1):
// evaluate() -> accumulate() -> summarize() with the same matching, ignore, sorting and
// interpolation rules, so the 12 summary numbers equal pycocotools' (docs/coco_eval.md lists every
// rule and how it was checked).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/coco.h"

namespace detforge::detection {

// One detection of a COCO results file: {image_id, category_id, bbox [x,y,w,h], score}.
struct CocoDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};
  double score = 0;
};

// pycocotools' Params for iouType='bbox'.
struct CocoEvalParams {
  std::vector<double>
      iou_thresholds;  // np.linspace(.5, .95, 10) bit for bit (0.9 is 0.8999999999999999)
  std::vector<double> recall_thresholds;  // np.linspace(0, 1, 101)
  std::vector<int> max_dets{1, 10, 100};  // sorted ascending (evaluate() sorts like pycocotools)
  std::vector<std::array<double, 2>> area_ranges{
      {0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}};
  std::vector<std::string> area_labels{"all", "small", "medium", "large"};
  CocoEvalParams();
};

// The 12 numbers of COCOeval.summarize() (stats[0..11]); -1 where pycocotools prints -1.
struct CocoEvalSummary {
  std::array<double, 12> stats{};
  // "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl".
  static const std::array<const char*, 12>& keys();
  double operator[](int i) const { return stats[i]; }
};

// What pycocotools' evaluateImg returns for one (category, area range, image) with any GT or DT.
// Detections are listed by score (stable) and cut to max_dets.back(); GTs non-ignored first.
struct CocoEvalImage {
  int64_t image_id = 0, category_id = 0;
  int area_index = 0;
  std::vector<int64_t> dt_ids;  // detection ids: 1-based position in the results list (loadRes)
  std::vector<int64_t> gt_ids;  // annotation ids
  std::vector<double> dt_scores;
  std::vector<int64_t> dt_matches;  // [T x D] matched GT annotation id, 0 = unmatched
  std::vector<int64_t> gt_matches;  // [T x G] matched detection id, 0 = unmatched
  std::vector<uint8_t> gt_ignore;   // [G]
  std::vector<uint8_t> dt_ignore;   // [T x D]
  int64_t num_thresholds = 0;
};

class CocoEvaluator {
 public:
  // Throws ConfigError (like loadRes' assertion) when a detection's image id is not a GT image.
  CocoEvaluator(const data::CocoDataset& gt, std::vector<CocoDetection> dt,
                CocoEvalParams params = {});

  void evaluate();
  void accumulate();
  CocoEvalSummary summarize() const;  // needs accumulate()

  const CocoEvalParams& params() const { return params_; }
  const std::vector<int64_t>& image_ids() const { return img_ids_; }     // sorted, unique
  const std::vector<int64_t>& category_ids() const { return cat_ids_; }  // sorted, unique

  // evaluateImg's result for (image, category, area range); false when pycocotools has None there
  // (no GT and no DT, or an image/category id that is not evaluated).
  bool eval_image(int64_t image_id, int64_t category_id, int area_index, CocoEvalImage* out) const;
  // IoU matrix [D x G] of computeIoU (DTs by score, cut to max_dets.back(); GTs in file order).
  std::vector<double> ious(int64_t image_id, int64_t category_id, int64_t* num_dt,
                           int64_t* num_gt) const;

  // accumulate()'s arrays: precision[t][r][k][a][m] and recall[t][k][a][m], -1 where absent.
  double precision(int t, int r, int k, int a, int m) const;
  double recall(int t, int k, int a, int m) const;

 private:
  void check_accumulated(const char* what) const;

  CocoEvalParams params_;
  std::vector<CocoDetection> dts_;
  std::vector<int64_t> img_ids_, cat_ids_;
  // GT annotations that take part (pycocotools' gts after loadAnns), copied out of the dataset.
  std::vector<int64_t> gt_id_;
  std::vector<std::array<double, 4>> gt_box_;
  std::vector<double> gt_area_;
  std::vector<uint8_t> gt_crowd_;

  // Cells sorted by (category index, image index); their GT/DT index lists live in flat arrays.
  std::vector<int32_t> cell_cat_, cell_img_;
  std::vector<int64_t> cell_gt_begin_, cell_dt_begin_;  // size cells+1 (prefix offsets)
  std::vector<int64_t> cell_gt_, cell_dt_;  // GT list (file order), DT list (by score, cut)
  std::vector<int64_t> cat_cell_begin_;     // cells of category k: [begin[k], begin[k+1])
  std::vector<int64_t> iou_begin_;          // per cell: offset of its D x G IoUs
  std::vector<double> iou_;
  // Per (cell, area): GT order (positions into the cell's GT list, non-ignored first), GT ignore,
  // and per (t, d) the matched GT position (-1 none) and state bits.
  std::vector<int64_t> ca_gt_begin_, ca_td_begin_;
  std::vector<int32_t> ca_gt_order_;
  std::vector<uint8_t> ca_gt_ignore_;
  std::vector<int32_t> ca_match_;
  std::vector<uint8_t> ca_dt_state_;  // dtIgnore | dtMatches != 0 bits
  bool evaluated_ = false, accumulated_ = false;
  std::vector<double> precision_, recall_;
};

// evaluate() + accumulate() + summarize().
CocoEvalSummary evaluate_coco_bbox(const data::CocoDataset& gt,
                                   const std::vector<CocoDetection>& dt,
                                   const CocoEvalParams& params = {});

}  // namespace detforge::detection
