// COCO-format detection datasets (instances JSON): the in-memory model shared by the loaders, the
// Fashion-MNIST detection composer and the COCO evaluator. Only what bbox detection needs is kept
// (segmentation is ignored). Field meanings follow the COCO format and pycocotools.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensor/macros.h"

namespace detforge::data {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;  // relative to the dataset's image directory
  int64_t width = 0, height = 0;
};

struct CocoAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h in pixels (COCO convention)
  double area = 0;  // as written in the JSON (pycocotools' area ranges use it); w*h if absent
  bool iscrowd = false;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
  std::string supercategory;
};

struct CocoDataset {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

// COCO category ids (arbitrary, sparse: 1..90 in COCO 2017) <-> contiguous training labels 1..C,
// label 0 = background. Labels follow ascending category id (torchvision's and mmdetection's
// order: sorted(coco.getCatIds())).
class DETFORGE_API CocoCategoryMap {
 public:
  CocoCategoryMap() = default;
  // ConfigError on duplicate ids.
  explicit CocoCategoryMap(const std::vector<CocoCategory>& categories);
  int64_t num_classes() const {
    return static_cast<int64_t>(ids_.size());
  }  // C, without background
  // ConfigError for an unknown category id / a label outside 1..C.
  int64_t label(int64_t category_id) const;
  int64_t category_id(int64_t label) const;
  bool contains(int64_t category_id) const { return label_of_.count(category_id) != 0; }
  const std::string& name(int64_t label) const;  // label 0 -> "background"

 private:
  std::vector<int64_t> ids_;  // label - 1 -> category id
  std::vector<std::string> names_;
  std::unordered_map<int64_t, int64_t> label_of_;
};

// For training (never for evaluation, which must see every GT box as written): what
// training_annotations() dropped or changed, by reason.
struct TrainingFilterReport {
  int64_t total = 0;        // annotations looked at
  int64_t kept = 0;         // returned (clipped ones included)
  int64_t crowd = 0;        // iscrowd = 1 (kept for evaluation only)
  int64_t degenerate = 0;   // w <= 0 or h <= 0 as written
  int64_t outside = 0;      // no overlap with the image
  int64_t too_small = 0;    // w or h below TrainingFilterOptions::min_size after clipping
  int64_t clipped = 0;      // partly outside, clipped to the image (kept)
  std::string str() const;  // "kept 10/12 (crowd 1, degenerate 1, ...)"
};

struct TrainingFilterOptions {
  double min_size = 0;  // drop boxes whose clipped w or h is below this (pixels); 0 = off
};

// The annotations to train on, in dataset order: crowd boxes, boxes of zero/negative size, boxes
// entirely outside their image and (optionally) tiny ones are dropped; boxes partly outside are
// clipped to the image (area = clipped w*h). Each drop is logged (spdlog debug, with ids) and
// counted in `report`; a one-line summary is logged at info level when anything was dropped or
// clipped. Images without annotations stay in the dataset (the caller keeps ds.images).
// ConfigError for an annotation whose image_id is unknown.
DETFORGE_API std::vector<CocoAnnotation> training_annotations(
    const CocoDataset& ds, TrainingFilterReport* report = nullptr,
    const TrainingFilterOptions& options = {});

// For each image of `images` (same order), the indices into `annotations` of its annotations, in
// their order. ConfigError for an annotation whose image_id is unknown.
DETFORGE_API std::vector<std::vector<size_t>> annotations_by_image(
    const std::vector<CocoImage>& images, const std::vector<CocoAnnotation>& annotations);

}  // namespace detforge::data
