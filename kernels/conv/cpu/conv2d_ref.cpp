#include "kernels/conv/cpu/conv2d_ref.h"

#include <cstring>
#include <vector>

#include "kernels/linalg/cpu/gemm_ref.h"

namespace detforge::kernels::cpu {
namespace {

struct Geom {
  int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og, CKK, OHW;
  Geom(const Shape& in, const Shape& w, const Shape& out, int64_t groups)
      : N(in[0]),
        C(in[1]),
        H(in[2]),
        W(in[3]),
        O(w[0]),
        KH(w[2]),
        KW(w[3]),
        OH(out[2]),
        OW(out[3]),
        G(groups) {
    Cg = C / G;
    Og = O / G;
    CKK = Cg * KH * KW;
    OHW = OH * OW;
  }
};

// col[(c*KH+kh)*KW+kw, oh*OW+ow] = x[c, oh*s-p+kh*d, ow*s-p+kw*d] (0 outside); x points at one
// image's first channel of the group.
template <class T>
void im2col(const T* x, T* col, const Geom& g, const Conv2dParams& p) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * g.OHW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            bool ok = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            row[oh * g.OW + ow] = ok ? x[(c * g.H + ih) * g.W + iw] : T(0);
          }
        }
      }
}

template <class T>
void col2im_add(const T* col, T* x, const Geom& g, const Conv2dParams& p) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* row = col + ((c * g.KH + kh) * g.KW + kw) * g.OHW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            if (iw >= 0 && iw < g.W) x[(c * g.H + ih) * g.W + iw] += row[oh * g.OW + ow];
          }
        }
      }
}

template <class T>
void fwd(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
         const Conv2dParams& p) {
  Geom g(input.shape(), weight.shape(), out.shape(), p.groups);
  const T* x = input.data<T>();
  const T* w = weight.data<T>();
  T* y = out.data<T>();
  std::vector<T> col(g.CKK * g.OHW);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gi = 0; gi < g.G; ++gi) {
      im2col(x + (n * g.C + gi * g.Cg) * g.H * g.W, col.data(), g, p);
      T* yo = y + (n * g.O + gi * g.Og) * g.OHW;
      gemm_ref<T>(g.Og, g.OHW, g.CKK, w + gi * g.Og * g.CKK, g.CKK, 1, col.data(), g.OHW, 1, yo,
                  g.OHW, false);
      if (bias.defined()) {
        const T* b = bias.data<T>() + gi * g.Og;
        for (int64_t o = 0; o < g.Og; ++o)
          for (int64_t i = 0; i < g.OHW; ++i) yo[o * g.OHW + i] += b[o];
      }
    }
}

template <class T>
void bwd_data(const Tensor& gi_t, const Tensor& go_t, const Tensor& weight, const Conv2dParams& p) {
  Geom g(gi_t.shape(), weight.shape(), go_t.shape(), p.groups);
  T* gx = gi_t.data<T>();
  const T* gy = go_t.data<T>();
  const T* w = weight.data<T>();
  std::memset(static_cast<void*>(gx), 0, gi_t.nbytes());
  std::vector<T> col(g.CKK * g.OHW);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.G; ++gr) {
      // col [CKK, OHW] = W_g^T [CKK, Og] @ gy_g [Og, OHW]
      gemm_ref<T>(g.CKK, g.OHW, g.Og, w + gr * g.Og * g.CKK, 1, g.CKK,
                  gy + (n * g.O + gr * g.Og) * g.OHW, g.OHW, 1, col.data(), g.OHW, false);
      col2im_add(col.data(), gx + (n * g.C + gr * g.Cg) * g.H * g.W, g, p);
    }
}

template <class T>
void bwd_weight(const Tensor& gw_t, const Tensor& gb_t, const Tensor& go_t, const Tensor& input,
                const Conv2dParams& p) {
  Geom g(input.shape(), gw_t.shape(), go_t.shape(), p.groups);
  T* gw = gw_t.data<T>();
  const T* gy = go_t.data<T>();
  const T* x = input.data<T>();
  std::memset(static_cast<void*>(gw), 0, gw_t.nbytes());
  std::vector<T> col(g.CKK * g.OHW);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t gr = 0; gr < g.G; ++gr) {
      im2col(x + (n * g.C + gr * g.Cg) * g.H * g.W, col.data(), g, p);
      // gW_g [Og, CKK] += gy_g [Og, OHW] @ col^T [OHW, CKK]
      gemm_ref<T>(g.Og, g.CKK, g.OHW, gy + (n * g.O + gr * g.Og) * g.OHW, g.OHW, 1, col.data(), 1,
                  g.OHW, gw + gr * g.Og * g.CKK, g.CKK, true);
    }
  if (gb_t.defined()) {
    T* gb = gb_t.data<T>();
    for (int64_t o = 0; o < g.O; ++o) {
      T s = 0;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t i = 0; i < g.OHW; ++i) s += gy[(n * g.O + o) * g.OHW + i];
      gb[o] = s;
    }
  }
}

}  // namespace

void conv2d_fwd_ref(const Tensor& out, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Conv2dParams& p) {
  fwd<double>(out, input, weight, bias, p);
}
void conv2d_bwd_data_ref(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                         const Conv2dParams& p) {
  bwd_data<double>(grad_input, grad_output, weight, p);
}
void conv2d_bwd_weight_ref(const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_output, const Tensor& input, const Conv2dParams& p) {
  bwd_weight<double>(grad_weight, grad_bias, grad_output, input, p);
}

}  // namespace detforge::kernels::cpu
