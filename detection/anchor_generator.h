// torchvision 0.14 AnchorGenerator (models/detection/anchor_utils.py), x1y1x2y2 anchors.
//
// Per level l: sizes[l] (scales) x aspect_ratios[l] (ratio = height / width), in float32 as
// torchvision: h_ratios = sqrt(ratio), w_ratios = 1 / h_ratios, ws = w_ratios[r] * scale[s],
// hs = h_ratios[r] * scale[s] (ratio-major: index r * S + s), and the cell anchors are
// round((-ws, -hs, ws, hs) / 2) with torch.round semantics (half to even).
// Grid: shift_x = x * stride_w, shift_y = y * stride_h (integers); the anchors of a level are
// ordered (y, x, a): anchors[(y W + x) A + a] = (sx, sy, sx, sy) + cell[a].
// Strides: image_size // feature_size per dimension (integer division, as torchvision).
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::detection {

using Size2 = std::array<int64_t, 2>;  // (height, width)

// RetinaNet's sizes: (x, int(x 2^(1/3)), int(x 2^(2/3))) per base size x, truncated to integers
// exactly as torchvision's retinanet._default_anchorgen (32 -> 32, 40, 50). truncate = false
// keeps the exact scales x 2^(k/3) (the paper's, detectron2's).
DETFORGE_API std::vector<std::vector<double>> retinanet_anchor_sizes(
    const std::vector<double>& base_sizes = {32, 64, 128, 256, 512}, bool truncate = true);

class DETFORGE_API AnchorGenerator {
 public:
  // One entry per feature level; every level needs at least one size and one ratio. A single
  // ratio list is repeated for every level (as torchvision does for a flat tuple).
  AnchorGenerator(std::vector<std::vector<double>> sizes,
                  std::vector<std::vector<double>> aspect_ratios);
  // torchvision's defaults: Faster R-CNN ((32,), ..., (512,)) and RetinaNet (3 scales per octave),
  // both with ratios (0.5, 1, 2) on 5 levels.
  static AnchorGenerator faster_rcnn_default();
  static AnchorGenerator retinanet_default();

  int64_t num_levels() const { return static_cast<int64_t>(sizes_.size()); }
  std::vector<int64_t> num_anchors_per_location() const;
  // Cell anchors of a level: [A, 4] float32 on the CPU (A = ratios x sizes).
  const Tensor& cell_anchors(int64_t level) const { return cell_anchors_.at(level); }

  // Anchors per level, [H W A, 4] each, for grid sizes and strides (height, width) per level.
  std::vector<Tensor> grid_anchors(const std::vector<Size2>& grid_sizes,
                                   const std::vector<Size2>& strides, DType dtype = DType::f32,
                                   Device device = kCPU) const;
  // All levels' anchors concatenated, [sum H W A, 4], for a batch padded to image_size with
  // feature maps of feature_sizes (torchvision returns this tensor once per image: it is the same
  // for every image). Cached per (feature sizes, strides, dtype, device): repeated calls return
  // the same tensor (never modify it in place). The first call for a CUDA device copies the
  // anchors from the host once.
  Tensor operator()(const Size2& image_size, const std::vector<Size2>& feature_sizes,
                    DType dtype = DType::f32, Device device = kCPU) const;
  // Strides torchvision derives: image_size // feature_size per dimension.
  static std::vector<Size2> strides_for(const Size2& image_size,
                                        const std::vector<Size2>& feature_sizes);
  void clear_cache() const;
  size_t cache_size() const;

 private:
  std::vector<std::vector<double>> sizes_, ratios_;
  std::vector<Tensor> cell_anchors_;
  struct Cache;                   // (feature sizes, strides, dtype, device) -> anchors
  std::shared_ptr<Cache> cache_;  // shared by copies (they generate the same anchors)
};

}  // namespace detforge::detection
