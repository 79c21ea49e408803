// CUDA ROI Align (float32 / float64). Forward: one thread per output element. Backward:
//  - default: one thread per grad_output element, scattering its 4 taps per sample with atomicAdd
//    into a zeroed grad_input (fast; the summation order, hence the last bits, vary run to run);
//  - deterministic: the ROI geometries are computed once into a scratch buffer, then one thread
//    per grad_input element (n, c, y, x) walks all ROIs in index order, skips those of other
//    images or whose sample extent misses the pixel, and sums the contributions of the samples
//    whose taps hit it. Fixed order per thread, no atomics: bit-identical run to run.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/detection/roi_align.h"
#include "tensor/cuda/cuda_check.h"

namespace detforge::kernels {
namespace {

constexpr int kBlock = 256;

#define DF_RA_LOOP(i, n)                                                        \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, \
               _st = static_cast<int64_t>(gridDim.x) * blockDim.x;              \
       i < (n); i += _st)

template <class T>
__global__ void roi_align_fwd_kernel(T* out, const T* x, const T* rois, RoiAlignParams p,
                                     int64_t n) {
  DF_RA_LOOP(i, n) {
    const int64_t pw = i % p.PW, ph = (i / p.PW) % p.PH, c = (i / (p.PW * p.PH)) % p.C,
                  k = i / (p.PW * p.PH * p.C);
    const RoiGeometry<T> g = roi_geometry<T>(rois + 5 * k, p);
    T sum = T(0);
    if (g.batch >= 0 && g.batch < p.N) {
      const T* plane = x + (g.batch * p.C + c) * p.H * p.W;
      for (int64_t iy = 0; iy < g.grid_h; ++iy) {
        const AxisTap<T> ty =
            bilinear_axis<T>(roi_sample_coord<T>(g.start_h, g.bin_h, ph, iy, g.grid_h), p.H);
        for (int64_t ix = 0; ix < g.grid_w; ++ix) {
          const AxisTap<T> tx =
              bilinear_axis<T>(roi_sample_coord<T>(g.start_w, g.bin_w, pw, ix, g.grid_w), p.W);
          const BilinearSample<T> s = bilinear_sample<T>(ty, tx, p.W);
          sum += s.w[0] * plane[s.idx[0]] + s.w[1] * plane[s.idx[1]] + s.w[2] * plane[s.idx[2]] +
                 s.w[3] * plane[s.idx[3]];
        }
      }
    }
    out[i] = sum / g.count;
  }
}

template <class T>
__global__ void roi_align_bwd_atomic_kernel(T* gi, const T* go, const T* rois, RoiAlignParams p,
                                            int64_t n) {
  DF_RA_LOOP(i, n) {
    const int64_t pw = i % p.PW, ph = (i / p.PW) % p.PH, c = (i / (p.PW * p.PH)) % p.C,
                  k = i / (p.PW * p.PH * p.C);
    const RoiGeometry<T> g = roi_geometry<T>(rois + 5 * k, p);
    if (g.batch < 0 || g.batch >= p.N) continue;
    T* plane = gi + (g.batch * p.C + c) * p.H * p.W;
    const T gv = go[i] / g.count;
    for (int64_t iy = 0; iy < g.grid_h; ++iy) {
      const AxisTap<T> ty =
          bilinear_axis<T>(roi_sample_coord<T>(g.start_h, g.bin_h, ph, iy, g.grid_h), p.H);
      for (int64_t ix = 0; ix < g.grid_w; ++ix) {
        const AxisTap<T> tx =
            bilinear_axis<T>(roi_sample_coord<T>(g.start_w, g.bin_w, pw, ix, g.grid_w), p.W);
        if (!ty.valid || !tx.valid) continue;
        const BilinearSample<T> s = bilinear_sample<T>(ty, tx, p.W);
        for (int t = 0; t < 4; ++t) atomicAdd(plane + s.idx[t], s.w[t] * gv);
      }
    }
  }
}

template <class T>
__global__ void roi_geometry_kernel(RoiGeometry<T>* geo, const T* rois, RoiAlignParams p) {
  DF_RA_LOOP(k, p.K) geo[k] = roi_geometry<T>(rois + 5 * k, p);
}

template <class T>
__global__ void roi_align_bwd_gather_kernel(T* gi, const T* go, const RoiGeometry<T>* geo,
                                            RoiAlignParams p, int64_t n) {
  DF_RA_LOOP(i, n) {
    const int64_t x = i % p.W, y = (i / p.W) % p.H, c = (i / (p.W * p.H)) % p.C,
                  img = i / (p.W * p.H * p.C);
    const T fy = static_cast<T>(y), fx = static_cast<T>(x);
    T acc = T(0);
    for (int64_t k = 0; k < p.K; ++k) {
      const RoiGeometry<T> g = geo[k];
      if (g.batch != img || g.grid_h <= 0 || g.grid_w <= 0) continue;
      // Samples lie between start and start + P * bin; their taps within 2 pixels of that
      // (the borders clamp inwards), so pixels further away get nothing from this ROI.
      const T ey = g.start_h + static_cast<T>(p.PH) * g.bin_h,
              ex = g.start_w + static_cast<T>(p.PW) * g.bin_w;
      const T y0 = g.start_h < ey ? g.start_h : ey, y1 = g.start_h < ey ? ey : g.start_h;
      const T x0 = g.start_w < ex ? g.start_w : ex, x1 = g.start_w < ex ? ex : g.start_w;
      if (fy < y0 - T(2) || fy > y1 + T(2) || fx < x0 - T(2) || fx > x1 + T(2)) continue;
      const T* gk = go + (k * p.C + c) * p.PH * p.PW;
      const T inv = T(1) / g.count;
      for (int64_t ph = 0; ph < p.PH; ++ph)
        for (int64_t iy = 0; iy < g.grid_h; ++iy) {
          const T wy = axis_weight<T>(
              bilinear_axis<T>(roi_sample_coord<T>(g.start_h, g.bin_h, ph, iy, g.grid_h), p.H), y);
          if (wy == T(0)) continue;
          for (int64_t pw = 0; pw < p.PW; ++pw)
            for (int64_t ix = 0; ix < g.grid_w; ++ix) {
              const AxisTap<T> tx =
                  bilinear_axis<T>(roi_sample_coord<T>(g.start_w, g.bin_w, pw, ix, g.grid_w), p.W);
              // A sample outside on the other axis contributes nothing (as in the forward).
              const T wx = axis_weight<T>(tx, x);
              if (wx == T(0)) continue;
              acc += gk[ph * p.PW + pw] * (wy * wx) * inv;
            }
        }
    }
    gi[i] = acc;
  }
}

cudaStream_t stream_of(const Tensor& t) {
  return detforge::cuda::current_stream(t.device().index);
}

#define DF_RA_DISPATCH(DTYPE, NAME, ...)                                \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::f32, float, __VA_ARGS__)         \
      DF_DTYPE_CASE(::detforge::DType::f64, double, __VA_ARGS__)        \
      DF_DTYPE_FAIL(DTYPE, NAME, "float32 or float64 (CUDA roi_align)") \
    }                                                                   \
  }()

void roi_align_cuda(const Tensor& out, const Tensor& input, const Tensor& rois,
                    const RoiAlignParams& p) {
  const int64_t n = out.numel();
  DF_RA_DISPATCH(input.dtype(), "roi_align", [&] {
    roi_align_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(out)>>>(
        static_cast<scalar_t*>(out.data_ptr()), static_cast<const scalar_t*>(input.data_ptr()),
        static_cast<const scalar_t*>(rois.data_ptr()), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}

void roi_align_backward_cuda(const Tensor& gi, const Tensor& go, const Tensor& rois,
                             const RoiAlignParams& p) {
  cudaStream_t s = stream_of(gi);
  DF_RA_DISPATCH(gi.dtype(), "roi_align_backward", [&] {
    using T = scalar_t;
    if (!p.deterministic) {
      DF_CUDA_CHECK(cudaMemsetAsync(gi.data_ptr(), 0, gi.nbytes(), s));
      const int64_t n = go.numel();
      roi_align_bwd_atomic_kernel<T><<<detforge::cuda::blocks_for(n), kBlock, 0, s>>>(
          static_cast<T*>(gi.data_ptr()), static_cast<const T*>(go.data_ptr()),
          static_cast<const T*>(rois.data_ptr()), p, n);
      DF_CUDA_KERNEL_CHECK();
      return;
    }
    // Scratch for the per-ROI geometry, from the caching allocator (stream-ordered).
    const int64_t geo_bytes =
        std::max<int64_t>(p.K, 1) * static_cast<int64_t>(sizeof(RoiGeometry<T>));
    Tensor geo = Tensor::empty({geo_bytes}, DType::u8, gi.device());
    auto* pg = static_cast<RoiGeometry<T>*>(geo.data_ptr());
    if (p.K > 0) {
      roi_geometry_kernel<T><<<detforge::cuda::blocks_for(p.K), kBlock, 0, s>>>(
          pg, static_cast<const T*>(rois.data_ptr()), p);
      DF_CUDA_KERNEL_CHECK();
    }
    const int64_t n = gi.numel();
    roi_align_bwd_gather_kernel<T><<<detforge::cuda::blocks_for(n), kBlock, 0, s>>>(
        static_cast<T*>(gi.data_ptr()), static_cast<const T*>(go.data_ptr()), pg, p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(roi_align_stub, CUDA, &roi_align_cuda);
DF_REGISTER_DISPATCH(roi_align_backward_stub, CUDA, &roi_align_backward_cuda);
}  // namespace detforge::kernels
