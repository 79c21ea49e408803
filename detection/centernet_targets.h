// CenterNet training targets (Zhou et al. 2019, the official ctdet sample's semantics) from
// per-image GT boxes in input pixels. For each image and each of its first max_objs boxes k
// (boxes beyond max_objs are dropped; slot k keeps the box's position in the list):
//   b = box / stride (float32), clipped to [0, W_out - 1] x [0, H_out - 1];
//   h = b.y2 - b.y1, w = b.x2 - b.x1; boxes with h <= 0 or w <= 0 leave slot k empty (mask 0);
//   radius = max(0, int(gaussian_radius((ceil(h), ceil(w)), min_overlap)));
//   ct = ((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2) (float32), ct_int = floor(ct);
//   draw_umich_gaussian(heatmap[label - 1], ct_int, radius): a (2r + 1)^2 Gaussian of sigma
//   (2r + 1) / 6, computed in double, merged by element-wise max, clipped at the map borders;
//   wh[k] = (w, h), offset[k] = ct - ct_int, index[k] = ct_int.y * W_out + ct_int.x, mask[k] = 1.
#pragma once
#include <array>
#include <vector>

#include "data/det_sample.h"
#include "tensor/tensor.h"

namespace detforge::detection {

struct CenterNetTargetOptions {
  int64_t num_classes = 80;
  int64_t stride = 4;
  int64_t max_objs = 128;
  double min_overlap = 0.7;
};

struct CenterNetTargets {
  Tensor heatmap;  // f32 [B, C, H_out, W_out]
  Tensor wh;       // f32 [B, max_objs, 2] (w, h) in output units
  Tensor offset;   // f32 [B, max_objs, 2] (dx, dy) in [0, 1)
  Tensor index;    // i64 [B, max_objs] y * W_out + x
  Tensor mask;     // f32 [B, max_objs] 1 for a filled slot
};

// CornerNet's gaussian_radius as the official CenterNet code computes it (three quadratic cases,
// each root taken as (b + sqrt(b^2 - 4ac)) / 2, the minimum returned), in double.
DETFORGE_API double gaussian_radius(double height, double width, double min_overlap = 0.7);

// Draws one Gaussian peak into heatmap (f32, [height, width], row-major) at (cx, cy).
DETFORGE_API void draw_umich_gaussian(float* heatmap, int64_t height, int64_t width, int64_t cx,
                                      int64_t cy, int64_t radius);

// targets[b].boxes: f32 [n, 4] xyxy input pixels; labels i64 [n] in 1..C (ConfigError otherwise).
// out_h / out_w: the output map's size (the padded input's size / stride). CPU tensors; the
// images are processed in parallel (each writes only its own slices: deterministic).
DETFORGE_API CenterNetTargets build_centernet_targets(const std::vector<data::DetTarget>& targets,
                                                      int64_t out_h, int64_t out_w,
                                                      const CenterNetTargetOptions& options);

}  // namespace detforge::detection
