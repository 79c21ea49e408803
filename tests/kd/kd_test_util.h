// Tiny detectors and a synthetic batch for the distillation tests.
#pragma once
#include <nlohmann/json.hpp>

#include "data/det_sample.h"
#include "detection/detector.h"
#include "tests/test_util.h"

namespace detforge::kd::test_util {

inline nlohmann::json faster_rcnn_cfg(const std::string& backbone, int64_t fpn) {
  return {{"type", "faster_rcnn"},
          {"num_classes", 3},
          {"backbone", {{"type", backbone}}},
          {"neck", {{"type", "fpn"}, {"out_channels", fpn}, {"extra", "maxpool"}}},
          {"rpn",
           {{"anchor_sizes", {{16}, {32}, {64}, {128}, {256}}},
            {"pre_nms_top_n_train", 100},
            {"post_nms_top_n_train", 30},
            {"pre_nms_top_n_test", 100},
            {"post_nms_top_n_test", 30}}},
          {"roi_heads", {{"representation_size", 32}, {"batch_size_per_image", 16}}}};
}
inline nlohmann::json cascade_cfg(const std::string& backbone, int64_t fpn) {
  nlohmann::json j = faster_rcnn_cfg(backbone, fpn);
  j["type"] = "cascade_rcnn";
  j["roi_heads"] = {{"representation_size", 32},
                    {"batch_size_per_image", 16},
                    {"iou_thresholds", {0.5, 0.6}},
                    {"loss_weights", {1, 0.5}}};
  return j;
}
inline nlohmann::json retinanet_cfg(const std::string& backbone, int64_t fpn) {
  return {{"type", "retinanet"},
          {"num_classes", 3},
          {"backbone", {{"type", backbone}}},
          {"neck", {{"out_channels", fpn}}},
          {"anchors", {{"sizes", {16, 32, 64, 128, 256}}}}};
}
inline nlohmann::json centernet_cfg(const std::string& backbone, bool fpn) {
  nlohmann::json j = {{"type", "centernet"},
                      {"backbone", {{"type", backbone}}},
                      {"head", {{"deconv_channels", {16, 16, 16}}, {"head_conv", 8}}},
                      {"num_classes", 3}};
  if (fpn) {
    j["neck"] = {{"type", "fpn"}, {"out_channels", 16}};
    j["head"]["deconv_channels"] = nlohmann::json::array();
  }
  return j;
}

struct Batch {
  Tensor images;
  detection::ImageSizes sizes;
  std::vector<data::DetTarget> targets;
};

// Two 64 x 64 images; the second has no boxes when `empty_second`.
inline Batch batch(bool empty_second = false) {
  Batch b;
  b.images = test::randn({2, 3, 64, 64}, DType::f32, 3);
  b.sizes = {{64, 64}, {64, 64}};
  data::DetTarget t0;
  t0.boxes = Tensor::from_vector<float>({4, 6, 30, 40, 20, 20, 60, 50}, {2, 4});
  t0.labels = Tensor::from_vector<int64_t>({1, 3}, {2});
  t0.height = t0.width = 64;
  data::DetTarget t1 = t0;
  if (empty_second) {
    t1.boxes = Tensor::zeros({0, 4});
    t1.labels = Tensor::zeros({0}, DType::i64);
  } else {
    t1.boxes = Tensor::from_vector<float>({10, 10, 40, 30}, {1, 4});
    t1.labels = Tensor::from_vector<int64_t>({2}, {1});
  }
  b.targets = {t0, t1};
  return b;
}

}  // namespace detforge::kd::test_util
