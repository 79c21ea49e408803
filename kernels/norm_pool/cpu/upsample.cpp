// CPU nearest/bilinear upsampling: parallel over planes with the per-column source indices and
// weights precomputed once; backward accumulates within a plane (no races).
#include <vector>

#include "kernels/norm_pool/upsample.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

int64_t plane_grain(int64_t work) {
  return std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(work, 1));
}

std::vector<int64_t> nearest_table(int64_t in, int64_t out, double scale) {
  std::vector<int64_t> t(out);
  float r = nearest_scale(in, out, scale);
  for (int64_t i = 0; i < out; ++i) t[i] = nearest_src_index(i, r, in, out);
  return t;
}

template <class A>
struct LinTable {
  std::vector<int64_t> i0, i1;
  std::vector<A> l0, l1;
  LinTable(int64_t in, int64_t out, bool align, double scale) : i0(out), i1(out), l0(out), l1(out) {
    A r = area_pixel_scale<A>(in, out, align, scale);
    for (int64_t i = 0; i < out; ++i)
      bilinear_src<A>(i, in, r, align, &i0[i], &i1[i], &l0[i], &l1[i]);
  }
};

template <class T>
void nearest_fwd_typed(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  auto th = nearest_table(p.H, p.OH, p.scale_h), tw = nearest_table(p.W, p.OW, p.scale_w);
  parallel_for(0, p.P, plane_grain(p.OH * p.OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl)
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const T* row = px + (pl * p.H + th[oh]) * p.W;
        T* o = po + (pl * p.OH + oh) * p.OW;
        for (int64_t ow = 0; ow < p.OW; ++ow) o[ow] = row[tw[ow]];
      }
  });
}

template <class T>
void nearest_bwd_typed(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  auto th = nearest_table(p.H, p.OH, p.scale_h), tw = nearest_table(p.W, p.OW, p.scale_w);
  parallel_for(0, p.P, plane_grain(p.OH * p.OW + p.H * p.W), [&](int64_t b, int64_t e) {
    std::vector<A> acc(p.H * p.W);
    for (int64_t pl = b; pl < e; ++pl) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const T* g = pgo + (pl * p.OH + oh) * p.OW;
        A* row = acc.data() + th[oh] * p.W;
        for (int64_t ow = 0; ow < p.OW; ++ow) row[tw[ow]] += static_cast<A>(g[ow]);
      }
      for (int64_t i = 0; i < p.H * p.W; ++i) pgi[pl * p.H * p.W + i] = cast_to<T>(acc[i]);
    }
  });
}

template <class T>
void bilinear_fwd_typed(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  LinTable<A> th(p.H, p.OH, p.align_corners, p.scale_h), tw(p.W, p.OW, p.align_corners, p.scale_w);
  parallel_for(0, p.P, plane_grain(4 * p.OH * p.OW), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl)
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const T* r0 = px + (pl * p.H + th.i0[oh]) * p.W;
        const T* r1 = px + (pl * p.H + th.i1[oh]) * p.W;
        A h0 = th.l0[oh], h1 = th.l1[oh];
        T* o = po + (pl * p.OH + oh) * p.OW;
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t a = tw.i0[ow], c = tw.i1[ow];
          A w0 = tw.l0[ow], w1 = tw.l1[ow];
          o[ow] = cast_to<T>(h0 * (w0 * static_cast<A>(r0[a]) + w1 * static_cast<A>(r0[c])) +
                             h1 * (w0 * static_cast<A>(r1[a]) + w1 * static_cast<A>(r1[c])));
        }
      }
  });
}

template <class T>
void bilinear_bwd_typed(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  LinTable<A> th(p.H, p.OH, p.align_corners, p.scale_h), tw(p.W, p.OW, p.align_corners, p.scale_w);
  parallel_for(0, p.P, plane_grain(4 * p.OH * p.OW + p.H * p.W), [&](int64_t b, int64_t e) {
    std::vector<A> acc(p.H * p.W);
    for (int64_t pl = b; pl < e; ++pl) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        A* r0 = acc.data() + th.i0[oh] * p.W;
        A* r1 = acc.data() + th.i1[oh] * p.W;
        A h0 = th.l0[oh], h1 = th.l1[oh];
        const T* g = pgo + (pl * p.OH + oh) * p.OW;
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          A v = static_cast<A>(g[ow]);
          int64_t a = tw.i0[ow], c = tw.i1[ow];
          A w0 = tw.l0[ow], w1 = tw.l1[ow];
          r0[a] += h0 * w0 * v;
          r0[c] += h0 * w1 * v;
          r1[a] += h1 * w0 * v;
          r1[c] += h1 * w1 * v;
        }
      }
      for (int64_t i = 0; i < p.H * p.W; ++i) pgi[pl * p.H * p.W + i] = cast_to<T>(acc[i]);
    }
  });
}

void nearest_fwd_cpu(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  DF_DISPATCH_FLOATING(x.dtype(), "upsample_nearest2d",
                       [&] { nearest_fwd_typed<scalar_t>(out, x, p); });
}
void nearest_bwd_cpu(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "upsample_nearest2d_backward",
                       [&] { nearest_bwd_typed<scalar_t>(gi, go, p); });
}
void bilinear_fwd_cpu(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  DF_DISPATCH_FLOATING(x.dtype(), "upsample_bilinear2d",
                       [&] { bilinear_fwd_typed<scalar_t>(out, x, p); });
}
void bilinear_bwd_cpu(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "upsample_bilinear2d_backward",
                       [&] { bilinear_bwd_typed<scalar_t>(gi, go, p); });
}

}  // namespace
DF_REGISTER_DISPATCH(upsample_nearest2d_stub, CPU, &nearest_fwd_cpu);
DF_REGISTER_DISPATCH(upsample_nearest2d_backward_stub, CPU, &nearest_bwd_cpu);
DF_REGISTER_DISPATCH(upsample_bilinear2d_stub, CPU, &bilinear_fwd_cpu);
DF_REGISTER_DISPATCH(upsample_bilinear2d_backward_stub, CPU, &bilinear_bwd_cpu);
}  // namespace detforge::kernels
