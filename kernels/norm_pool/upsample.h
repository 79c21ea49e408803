// 2-D nearest and bilinear upsampling on planes x [P, H, W], contiguous. The source-index rules
// (PyTorch 1.13) are shared by the CPU loops and the CUDA kernels.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct UpsampleParams {
  int64_t P = 0, H = 0, W = 0, OH = 0, OW = 0;
  double scale_h = 0, scale_w = 0;  // user scale factors (out / in); <= 0 when not given
  bool align_corners = false;
};

// in / out ratio used by nearest: 1 / scale when a scale factor was given, else in / out.
DETFORGE_HD inline float nearest_scale(int64_t in, int64_t out, double scale) {
  return scale > 0 ? static_cast<float>(1.0 / scale)
                   : static_cast<float>(in) / static_cast<float>(out);
}
// nearest: src = min(floor(dst * in/out), in - 1), computed in float as PyTorch does (with its
// exact shortcuts for out == in and out == 2 * in).
DETFORGE_HD inline int64_t nearest_src_index(int64_t dst, float scale, int64_t in, int64_t out) {
  if (out == in) return dst;
  if (out == 2 * in) return dst >> 1;
  int64_t s = static_cast<int64_t>(floorf(static_cast<float>(dst) * scale));
  return s < in - 1 ? s : in - 1;
}

// Bilinear: ratio between source and destination coordinates.
template <class A>
DETFORGE_HD inline A area_pixel_scale(int64_t in, int64_t out, bool align_corners, double scale) {
  if (align_corners) return out > 1 ? static_cast<A>(in - 1) / static_cast<A>(out - 1) : A(0);
  return scale > 0 ? static_cast<A>(1.0 / scale) : static_cast<A>(in) / static_cast<A>(out);
}
// Source indices i0, i1 and weights l0, l1 of destination index dst (clamped at 0 when
// align_corners is false).
template <class A>
DETFORGE_HD inline void bilinear_src(int64_t dst, int64_t in, A ratio, bool align_corners,
                                     int64_t* i0, int64_t* i1, A* l0, A* l1) {
  A src =
      align_corners ? ratio * static_cast<A>(dst) : ratio * (static_cast<A>(dst) + A(0.5)) - A(0.5);
  if (!align_corners && src < A(0)) src = A(0);
  int64_t a = static_cast<int64_t>(src);
  *i0 = a;
  *i1 = a + (a < in - 1 ? 1 : 0);
  *l1 = src - static_cast<A>(a);
  *l0 = A(1) - *l1;
}

using UpsampleFwdFn = void (*)(const Tensor& out, const Tensor& x, const UpsampleParams& p);
// grad_in [P, H, W] is overwritten.
using UpsampleBwdFn = void (*)(const Tensor& grad_in, const Tensor& grad_out,
                               const UpsampleParams& p);
DF_DECLARE_DISPATCH(UpsampleFwdFn, upsample_nearest2d_stub);
DF_DECLARE_DISPATCH(UpsampleBwdFn, upsample_nearest2d_backward_stub);
DF_DECLARE_DISPATCH(UpsampleFwdFn, upsample_bilinear2d_stub);
DF_DECLARE_DISPATCH(UpsampleBwdFn, upsample_bilinear2d_backward_stub);

}  // namespace detforge::kernels
