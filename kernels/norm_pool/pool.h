// 2-D pooling (max, average, adaptive average) on planes x [P, H, W] (P = N * C), contiguous.
// Window/size math is shared by the CPU loops and the CUDA kernels.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

// PyTorch's pooling output size (floor or ceil mode; a last window must start inside the
// input or the left padding).
DETFORGE_HD inline int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                                         bool ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Adaptive pooling window [start, end) of output index i: floor(i*In/Out), ceil((i+1)*In/Out).
DETFORGE_HD inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) {
  return (i * in) / out;
}
DETFORGE_HD inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

struct Pool2dParams {
  int64_t P = 0, H = 0, W = 0, OH = 0, OW = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool ceil_mode = false, count_include_pad = true;
  int64_t divisor_override = 0;  // 0 = none
};

// Average-pool window of output (oh, ow): clipped bounds and the divisor PyTorch uses.
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};
DETFORGE_HD inline AvgWindow avg_pool_window(const Pool2dParams& p, int64_t oh, int64_t ow) {
  int64_t h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
  int64_t h1 = h0 + p.kh < p.H + p.ph ? h0 + p.kh : p.H + p.ph;
  int64_t w1 = w0 + p.kw < p.W + p.pw ? w0 + p.kw : p.W + p.pw;
  int64_t pool_size = (h1 - h0) * (w1 - w0);
  h0 = h0 < 0 ? 0 : h0;
  w0 = w0 < 0 ? 0 : w0;
  h1 = h1 > p.H ? p.H : h1;
  w1 = w1 > p.W ? p.W : w1;
  int64_t div = p.divisor_override ? p.divisor_override
                                   : (p.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0));
  return {h0, h1, w0, w1, div};
}

// The average of a window with sum `s` (an empty clipped window gives 0, as PyTorch).
template <class A>
DETFORGE_HD inline A avg_pool_value(A s, const AvgWindow& w) {
  if (w.h0 >= w.h1 || w.w0 >= w.w1) return A(0);
  return s / static_cast<A>(w.divisor);
}

// Valid tap range [*t0, *t1) of a window starting at `start` with dilation d over [0, n).
DETFORGE_HD inline void pool_taps(int64_t start, int64_t k, int64_t d, int64_t n, int64_t* t0,
                                  int64_t* t1) {
  *t0 = start < 0 ? (-start + d - 1) / d : 0;
  int64_t e = n - start <= 0 ? 0 : (n - start + d - 1) / d;
  *t1 = e < k ? e : k;
}

// Max over one window; *arg = flat h * W + w of the maximum. As PyTorch: the first maximum wins
// ties, a NaN replaces anything (so the last NaN's index is kept).
template <class T, class A>
DETFORGE_HD inline A max_pool_window(const T* plane, const Pool2dParams& p, int64_t oh, int64_t ow,
                                     int64_t* arg) {
  const int64_t hs = oh * p.sh - p.ph, ws = ow * p.sw - p.pw;
  int64_t i0, i1, j0, j1;
  pool_taps(hs, p.kh, p.dh, p.H, &i0, &i1);
  pool_taps(ws, p.kw, p.dw, p.W, &j0, &j1);
  if (i0 >= i1 || j0 >= j1) {  // cannot happen with padding <= kernel / 2
    *arg = -1;
    return A(0);
  }
  int64_t bi = (hs + i0 * p.dh) * p.W + ws + j0 * p.dw;
  A best = static_cast<A>(plane[bi]);
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t row = (hs + i * p.dh) * p.W;
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t k = row + ws + j * p.dw;
      A v = static_cast<A>(plane[k]);
      if (v > best || dmath::isnan(v)) {
        best = v;
        bi = k;
      }
    }
  }
  *arg = bi;
  return best;
}

using MaxPool2dFwdFn = void (*)(const Tensor& out, const Tensor& indices, const Tensor& x,
                                const Pool2dParams& p);
// grad_in [P, H, W] is overwritten (zero then scatter-add of grad_out at the saved indices).
using MaxPool2dBwdFn = void (*)(const Tensor& grad_in, const Tensor& grad_out,
                                const Tensor& indices, const Pool2dParams& p);
using AvgPool2dFwdFn = void (*)(const Tensor& out, const Tensor& x, const Pool2dParams& p);
using AvgPool2dBwdFn = void (*)(const Tensor& grad_in, const Tensor& grad_out,
                                const Pool2dParams& p);
// Adaptive average: p.H, p.W, p.OH, p.OW used.
using AdaptiveAvgFwdFn = AvgPool2dFwdFn;
using AdaptiveAvgBwdFn = AvgPool2dBwdFn;
DF_DECLARE_DISPATCH(MaxPool2dFwdFn, max_pool2d_stub);
DF_DECLARE_DISPATCH(MaxPool2dBwdFn, max_pool2d_backward_stub);
DF_DECLARE_DISPATCH(AvgPool2dFwdFn, avg_pool2d_stub);
DF_DECLARE_DISPATCH(AvgPool2dBwdFn, avg_pool2d_backward_stub);
DF_DECLARE_DISPATCH(AdaptiveAvgFwdFn, adaptive_avg_pool2d_stub);
DF_DECLARE_DISPATCH(AdaptiveAvgBwdFn, adaptive_avg_pool2d_backward_stub);

}  // namespace detforge::kernels
