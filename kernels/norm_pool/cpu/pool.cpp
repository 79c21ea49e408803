// CPU 2-D pooling: parallel over planes; backward scatters within a plane (no races).
#include <cstring>

#include "kernels/norm_pool/pool.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

int64_t plane_grain(int64_t work) {
  return std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(work, 1));
}

template <class T>
void max_fwd_typed(const Tensor& out, const Tensor& indices, const Tensor& x,
                   const Pool2dParams& p) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  int64_t* pi = static_cast<int64_t*>(indices.data_ptr());
  const int64_t on = p.OH * p.OW;
  parallel_for(0, p.P, plane_grain(on * p.kh * p.kw), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* plane = px + pl * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t arg;
          A v = max_pool_window<T, A>(plane, p, oh, ow, &arg);
          po[pl * on + oh * p.OW + ow] = cast_to<T>(v);
          pi[pl * on + oh * p.OW + ow] = arg;
        }
    }
  });
}

template <class T>
void max_bwd_typed(const Tensor& gi, const Tensor& go, const Tensor& indices,
                   const Pool2dParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  const int64_t* pi = static_cast<const int64_t*>(indices.data_ptr());
  const int64_t on = p.OH * p.OW, in = p.H * p.W;
  parallel_for(0, p.P, plane_grain(in + on), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* g = pgi + pl * in;
      for (int64_t i = 0; i < in; ++i) g[i] = cast_to<T>(A(0));
      for (int64_t o = 0; o < on; ++o) {
        int64_t k = pi[pl * on + o];
        if (k >= 0) g[k] = cast_to<T>(static_cast<A>(g[k]) + static_cast<A>(pgo[pl * on + o]));
      }
    }
  });
}

template <class T>
void avg_fwd_typed(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  const int64_t on = p.OH * p.OW;
  parallel_for(0, p.P, plane_grain(on * p.kh * p.kw), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* plane = px + pl * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          AvgWindow w = avg_pool_window(p, oh, ow);
          A s = A(0);
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) s += static_cast<A>(plane[h * p.W + c]);
          po[pl * on + oh * p.OW + ow] = cast_to<T>(avg_pool_value(s, w));
        }
    }
  });
}

template <class T>
void avg_bwd_typed(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  const int64_t on = p.OH * p.OW, in = p.H * p.W;
  parallel_for(0, p.P, plane_grain(on * p.kh * p.kw + in), [&](int64_t b, int64_t e) {
    std::vector<A> acc(in);
    for (int64_t pl = b; pl < e; ++pl) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          AvgWindow w = avg_pool_window(p, oh, ow);
          A g = static_cast<A>(pgo[pl * on + oh * p.OW + ow]) / static_cast<A>(w.divisor);
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) acc[h * p.W + c] += g;
        }
      for (int64_t i = 0; i < in; ++i) pgi[pl * in + i] = cast_to<T>(acc[i]);
    }
  });
}

template <class T>
void adaptive_fwd_typed(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  const int64_t on = p.OH * p.OW;
  parallel_for(0, p.P, plane_grain(p.H * p.W * 2), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* plane = px + pl * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        int64_t h0 = adaptive_start(oh, p.H, p.OH), h1 = adaptive_end(oh, p.H, p.OH);
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t w0 = adaptive_start(ow, p.W, p.OW), w1 = adaptive_end(ow, p.W, p.OW);
          A s = A(0);
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t c = w0; c < w1; ++c) s += static_cast<A>(plane[h * p.W + c]);
          po[pl * on + oh * p.OW + ow] = cast_to<T>(s / static_cast<A>((h1 - h0) * (w1 - w0)));
        }
      }
    }
  });
}

template <class T>
void adaptive_bwd_typed(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  const int64_t on = p.OH * p.OW, in = p.H * p.W;
  parallel_for(0, p.P, plane_grain(in * 2), [&](int64_t b, int64_t e) {
    std::vector<A> acc(in);
    for (int64_t pl = b; pl < e; ++pl) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        int64_t h0 = adaptive_start(oh, p.H, p.OH), h1 = adaptive_end(oh, p.H, p.OH);
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t w0 = adaptive_start(ow, p.W, p.OW), w1 = adaptive_end(ow, p.W, p.OW);
          A g =
              static_cast<A>(pgo[pl * on + oh * p.OW + ow]) / static_cast<A>((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t c = w0; c < w1; ++c) acc[h * p.W + c] += g;
        }
      }
      for (int64_t i = 0; i < in; ++i) pgi[pl * in + i] = cast_to<T>(acc[i]);
    }
  });
}

void max_fwd_cpu(const Tensor& out, const Tensor& idx, const Tensor& x, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(x.dtype(), "max_pool2d", [&] { max_fwd_typed<scalar_t>(out, idx, x, p); });
}
void max_bwd_cpu(const Tensor& gi, const Tensor& go, const Tensor& idx, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "max_pool2d_backward",
                       [&] { max_bwd_typed<scalar_t>(gi, go, idx, p); });
}
void avg_fwd_cpu(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(x.dtype(), "avg_pool2d", [&] { avg_fwd_typed<scalar_t>(out, x, p); });
}
void avg_bwd_cpu(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "avg_pool2d_backward",
                       [&] { avg_bwd_typed<scalar_t>(gi, go, p); });
}
void adaptive_fwd_cpu(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(x.dtype(), "adaptive_avg_pool2d",
                       [&] { adaptive_fwd_typed<scalar_t>(out, x, p); });
}
void adaptive_bwd_cpu(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "adaptive_avg_pool2d_backward",
                       [&] { adaptive_bwd_typed<scalar_t>(gi, go, p); });
}

}  // namespace
DF_REGISTER_DISPATCH(max_pool2d_stub, CPU, &max_fwd_cpu);
DF_REGISTER_DISPATCH(max_pool2d_backward_stub, CPU, &max_bwd_cpu);
DF_REGISTER_DISPATCH(avg_pool2d_stub, CPU, &avg_fwd_cpu);
DF_REGISTER_DISPATCH(avg_pool2d_backward_stub, CPU, &avg_bwd_cpu);
DF_REGISTER_DISPATCH(adaptive_avg_pool2d_stub, CPU, &adaptive_fwd_cpu);
DF_REGISTER_DISPATCH(adaptive_avg_pool2d_backward_stub, CPU, &adaptive_bwd_cpu);
}  // namespace detforge::kernels
