// Multi-level ROI pooling: torchvision 0.14's MultiScaleRoIAlign (FPN level assignment, Eq. 1 of
// the FPN paper, then roi_align on each level with aligned=False).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::detection {

// 2^round(log2(feature_h / image_h)) (torchvision's _infer_scale: float32 log2, round half to
// even, the height decides). image_size = (h, w).
DETFORGE_API double infer_scale(const Shape& feature_shape, std::pair<int64_t, int64_t> image_size);

// FPN level of each box: clamp(floor(canonical_level + log2(sqrt(area) / canonical_scale) + eps),
// k_min, k_max) - k_min, computed in the boxes' dtype (as torchvision).
struct LevelMapper {
  int64_t k_min = 2, k_max = 5;
  int64_t canonical_scale = 224, canonical_level = 4;
  double eps = 1e-6;
  // boxes: per image [L_i, 4] (x1, y1, x2, y2); returns the level index per box, boxes in order.
  DETFORGE_API std::vector<int64_t> operator()(const std::vector<Tensor>& boxes) const;
};

// Per-image boxes [L_i, 4] -> rois [sum L_i, 5] with the image index in column 0 (boxes' dtype
// and device).
DETFORGE_API Tensor boxes_to_rois(const std::vector<Tensor>& boxes);

class DETFORGE_API MultiScaleRoIAlign {
 public:
  // output_size: one value or (h, w). sampling_ratio as roi_align's (torchvision's Faster R-CNN
  // box head uses 2, its mask head 2 as well).
  MultiScaleRoIAlign(std::vector<std::string> featmap_names, Shape output_size,
                     int64_t sampling_ratio, int64_t canonical_scale = 224,
                     int64_t canonical_level = 4);

  // x: named feature maps [N, C, H_l, W_l] (featmap_names select and order the levels, finest
  // first); boxes: per image [L_i, 4] in image coordinates; image_shapes: per image (h, w).
  // Returns [sum L_i, C, ph, pw] in the input box order, differentiable w.r.t. the features.
  // As torchvision, the scales and the level mapper are inferred on the first call and kept.
  // Device boxes are copied to the host to assign levels (a named host sync, as torchvision's
  // torch.where).
  Tensor forward(const std::map<std::string, Tensor>& x, const std::vector<Tensor>& boxes,
                 const std::vector<std::pair<int64_t, int64_t>>& image_shapes);
  Tensor operator()(const std::map<std::string, Tensor>& x, const std::vector<Tensor>& boxes,
                    const std::vector<std::pair<int64_t, int64_t>>& image_shapes) {
    return forward(x, boxes, image_shapes);
  }

  const std::vector<double>& scales() const { return scales_; }
  const LevelMapper& level_mapper() const { return mapper_; }
  bool initialized() const { return !scales_.empty(); }

 private:
  void setup_scales(const std::vector<Tensor>& feats,
                    const std::vector<std::pair<int64_t, int64_t>>& image_shapes);

  std::vector<std::string> names_;
  Shape output_size_;
  int64_t sampling_ratio_;
  int64_t canonical_scale_, canonical_level_;
  std::vector<double> scales_;
  LevelMapper mapper_;
};

}  // namespace detforge::detection
