// torchvision 0.14 BoxCoder (models/detection/_utils.py): encodes boxes as (dx, dy, dw, dh)
// regression targets relative to reference boxes and decodes predictions back to x1y1x2y2.
// Weights (wx, wy, ww, wh): (1, 1, 1, 1) for RPN / RetinaNet, (10, 10, 5, 5) for the R-CNN box
// head. bbox_xform_clip (default log(1000 / 16)) caps dw, dh before exp. The element math and
// its gradient live in kernels/detection/box_coder.h (fused CPU and CUDA kernels); see
// docs/detection_training.md.
#pragma once
#include <array>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::detection {

class DETFORGE_API BoxCoder {
 public:
  explicit BoxCoder(std::array<double, 4> weights = {1, 1, 1, 1},
                    double bbox_xform_clip = 4.135166556742356);

  // Per image: targets [N_i, 4] of reference_boxes[i] (matched gt) relative to proposals[i]
  // (anchors); computed on the concatenation as torchvision. No gradient.
  std::vector<Tensor> encode(const std::vector<Tensor>& reference_boxes,
                             const std::vector<Tensor>& proposals) const;
  Tensor encode_single(const Tensor& reference_boxes, const Tensor& proposals) const;
  // rel_codes [sum N_i, 4K] (or anything reshapeable to it) and per-image boxes -> [sum N_i, K, 4]
  // (torchvision's decode). Differentiable in rel_codes and boxes.
  Tensor decode(const Tensor& rel_codes, const std::vector<Tensor>& boxes) const;
  // rel_codes [N, 4K], boxes [N, 4] -> [N, 4K]. Differentiable.
  Tensor decode_single(const Tensor& rel_codes, const Tensor& boxes) const;

  const std::array<double, 4>& weights() const { return weights_; }
  double bbox_xform_clip() const { return clip_; }

 private:
  std::array<double, 4> weights_;
  double clip_;
};

}  // namespace detforge::detection
