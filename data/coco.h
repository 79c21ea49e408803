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
  double area = 0;               // as written in the JSON (pycocotools' area ranges use it); w*h if absent
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

}  // namespace detforge::data
