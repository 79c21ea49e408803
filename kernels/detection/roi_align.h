// ROI Align (torchvision 0.14's roi_align): average of bilinear samples over a grid in each output
// bin. The per-ROI geometry and the bilinear sampling (indices, weights, the out-of-range and
// border rules) live here once as DETFORGE_HD functions, shared by the CPU and CUDA kernels.
#pragma once
#include <cmath>

#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct RoiAlignParams {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input [N, C, H, W]
  int64_t K = 0, PH = 0, PW = 0;       // rois [K, 5], output [K, C, PH, PW]
  double spatial_scale = 1.0;
  int64_t sampling_ratio = -1;  // <= 0: adaptive grid ceil(roi_size / pooled_size)
  bool aligned = false;         // half-pixel offset; the ROI size is not forced >= 1
  bool deterministic = false;   // CUDA backward without atomics (the CPU is always deterministic)
};

// Where one ROI samples: bin origin and size, sample grid, divisor, image.
template <class T>
struct RoiGeometry {
  T start_h, start_w, bin_h, bin_w;
  int64_t grid_h, grid_w;  // may be <= 0 (no samples) for degenerate aligned ROIs
  T count;                 // max(grid_h * grid_w, 1)
  int64_t batch;
};

// roi = (batch index, x1, y1, x2, y2) in image coordinates. The scaled corners are computed in
// double (as torchvision multiplies by its double spatial_scale), the rest in T.
template <class T>
DETFORGE_HD inline RoiGeometry<T> roi_geometry(const T* roi, const RoiAlignParams& p) {
  RoiGeometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  const double off = p.aligned ? 0.5 : 0.0;
  g.start_w = static_cast<T>(static_cast<double>(roi[1]) * p.spatial_scale - off);
  g.start_h = static_cast<T>(static_cast<double>(roi[2]) * p.spatial_scale - off);
  T end_w = static_cast<T>(static_cast<double>(roi[3]) * p.spatial_scale - off);
  T end_h = static_cast<T>(static_cast<double>(roi[4]) * p.spatial_scale - off);
  T rw = end_w - g.start_w, rh = end_h - g.start_h;
  if (!p.aligned) {  // legacy mode: ROIs at least one pixel in size
    rw = rw > T(1) ? rw : T(1);
    rh = rh > T(1) ? rh : T(1);
  }
  g.bin_h = rh / static_cast<T>(p.PH);
  g.bin_w = rw / static_cast<T>(p.PW);
  g.grid_h = p.sampling_ratio > 0 ? p.sampling_ratio
                                  : static_cast<int64_t>(ceil(rh / static_cast<T>(p.PH)));
  g.grid_w = p.sampling_ratio > 0 ? p.sampling_ratio
                                  : static_cast<int64_t>(ceil(rw / static_cast<T>(p.PW)));
  int64_t cnt = g.grid_h * g.grid_w;
  g.count = static_cast<T>(cnt > 1 ? cnt : 1);
  return g;
}

// Coordinate of sample i (of `grid`) in bin b along one axis.
template <class T>
DETFORGE_HD inline T roi_sample_coord(T start, T bin, int64_t b, int64_t i, int64_t grid) {
  return start + static_cast<T>(b) * bin +
         static_cast<T>(static_cast<float>(i) + 0.5f) * bin / static_cast<T>(grid);
}

// Bilinear taps along one axis of length `size`: samples beyond [-1, size] contribute nothing;
// coordinates <= 0 clamp to 0, the last pixel row/column clamps both taps onto itself.
template <class T>
struct AxisTap {
  int64_t lo, hi;
  T l, h;  // weights of hi and lo
  bool valid;
};
template <class T>
DETFORGE_HD inline AxisTap<T> bilinear_axis(T v, int64_t size) {
  AxisTap<T> t;
  if (v < T(-1) || v > static_cast<T>(size)) {
    t.lo = t.hi = 0;
    t.l = t.h = T(0);
    t.valid = false;
    return t;
  }
  if (v <= T(0)) v = T(0);
  t.lo = static_cast<int64_t>(v);
  if (t.lo >= size - 1) {
    t.lo = t.hi = size - 1;
    v = static_cast<T>(t.lo);
  } else {
    t.hi = t.lo + 1;
  }
  t.l = v - static_cast<T>(t.lo);
  t.h = T(1) - t.l;
  t.valid = true;
  return t;
}

// One bilinear sample in a [H, W] plane: 4 flat indices and weights (all zero when invalid).
template <class T>
struct BilinearSample {
  int64_t idx[4];
  T w[4];
};
template <class T>
DETFORGE_HD inline BilinearSample<T> bilinear_sample(const AxisTap<T>& ty, const AxisTap<T>& tx,
                                                     int64_t W) {
  BilinearSample<T> s;
  if (!ty.valid || !tx.valid) {
    for (int i = 0; i < 4; ++i) {
      s.idx[i] = 0;
      s.w[i] = T(0);
    }
    return s;
  }
  s.idx[0] = ty.lo * W + tx.lo;
  s.idx[1] = ty.lo * W + tx.hi;
  s.idx[2] = ty.hi * W + tx.lo;
  s.idx[3] = ty.hi * W + tx.hi;
  s.w[0] = ty.h * tx.h;
  s.w[1] = ty.h * tx.l;
  s.w[2] = ty.l * tx.h;
  s.w[3] = ty.l * tx.l;
  return s;
}

// Weight of pixel `pix` on one axis from a tap (both taps may be the same clamped pixel).
template <class T>
DETFORGE_HD inline T axis_weight(const AxisTap<T>& t, int64_t pix) {
  if (!t.valid) return T(0);
  return (t.lo == pix ? t.h : T(0)) + (t.hi == pix ? t.l : T(0));
}

// out [K, C, PH, PW] from input [N, C, H, W] and rois [K, 5] (same dtype), all contiguous.
using RoiAlignFwdFn = void (*)(const Tensor& out, const Tensor& input, const Tensor& rois,
                               const RoiAlignParams& p);
// grad_input [N, C, H, W] is overwritten from grad_out [K, C, PH, PW].
using RoiAlignBwdFn = void (*)(const Tensor& grad_input, const Tensor& grad_out, const Tensor& rois,
                               const RoiAlignParams& p);
DF_DECLARE_DISPATCH(RoiAlignFwdFn, roi_align_stub);
DF_DECLARE_DISPATCH(RoiAlignBwdFn, roi_align_backward_stub);

}  // namespace detforge::kernels
