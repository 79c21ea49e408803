// CPU ROI Align, channels-last inside. Work is split into tasks (image, block of channels); a task
// copies its slice of the image to channels-last [H * W, cb] (L2-resident for detector maps), so
// every bilinear tap is a contiguous run of cb values: vectorised multiply-adds shared by all
// channels of the block. Per ROI, the separable sample table (row / column taps) is built once.
//  - forward: per ROI of the image, accumulate [PH * PW, cb] and write its [cb, PH, PW] slice.
//  - backward: the task owns its gradient slice [H * W, cb], walks the ROIs of its image in index
//    order scattering grad_out / count, then writes the slice back to NCHW: no atomics, the same
//    order of additions per element in every run (deterministic).
#include <algorithm>
#include <vector>

#include "kernels/detection/roi_align.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// Separable sample table of one ROI: rows [PH * grid_h], columns [PW * grid_w].
template <class T>
struct RoiTable {
  RoiGeometry<T> g;
  std::vector<AxisTap<T>> rows, cols;
  void build(const T* roi, const RoiAlignParams& p) {
    g = roi_geometry<T>(roi, p);
    const int64_t gh = this->gh(), gw = this->gw();
    rows.resize(p.PH * gh);
    cols.resize(p.PW * gw);
    for (int64_t ph = 0; ph < p.PH; ++ph)
      for (int64_t iy = 0; iy < gh; ++iy)
        rows[ph * gh + iy] =
            bilinear_axis<T>(roi_sample_coord<T>(g.start_h, g.bin_h, ph, iy, gh), p.H);
    for (int64_t pw = 0; pw < p.PW; ++pw)
      for (int64_t ix = 0; ix < gw; ++ix)
        cols[pw * gw + ix] =
            bilinear_axis<T>(roi_sample_coord<T>(g.start_w, g.bin_w, pw, ix, gw), p.W);
  }
  int64_t gh() const { return std::max<int64_t>(g.grid_h, 0); }
  int64_t gw() const { return std::max<int64_t>(g.grid_w, 0); }
};

// ROIs per image (validating the batch indices).
template <class T>
std::vector<std::vector<int64_t>> rois_per_image(const T* rois, const RoiAlignParams& p) {
  std::vector<std::vector<int64_t>> r(static_cast<size_t>(p.N));
  for (int64_t k = 0; k < p.K; ++k) {
    const int64_t b = roi_geometry<T>(rois + 5 * k, p).batch;
    DF_CHECK(b >= 0 && b < p.N, ShapeError, "[roi_align] rois[", k, ", 0] = ", b,
             " is not a batch index of an input with N = ", p.N);
    r[b].push_back(k);
  }
  return r;
}

// Tasks = (image, block of channels), image fastest so that the threads' contiguous task ranges
// cover all images (balanced when the ROIs are not); blocks halve (while wider than 16 channels)
// until there are a few tasks per thread. Each task's channels-last slice [H * W, cb] stays in L2
// for the 64x64 maps.
struct Blocks {
  int64_t cb, nblk;
};
Blocks channel_blocks(const RoiAlignParams& p) {
  int64_t cb = std::min<int64_t>(p.C, 64);
  const int64_t want = 4 * num_threads();
  while (p.N * ((p.C + cb - 1) / cb) < want && cb > 16) cb = (cb + 1) / 2;
  return {cb, (p.C + cb - 1) / cb};
}

// d_t[c] += w_t * g[c] for 4 distinct rows.
template <class T>
void scatter4(T* __restrict d0, T* __restrict d1, T* __restrict d2, T* __restrict d3, T w0, T w1,
              T w2, T w3, const T* __restrict g, int64_t n) {
  for (int64_t c = 0; c < n; ++c) {
    const T v = g[c];
    d0[c] += w0 * v;
    d1[c] += w1 * v;
    d2[c] += w2 * v;
    d3[c] += w3 * v;
  }
}

template <class T>
void forward_typed(const Tensor& out, const Tensor& input, const Tensor& rois,
                   const RoiAlignParams& p) {
  const int64_t C = p.C, HW = p.H * p.W, bins = p.PH * p.PW;
  const T* proi = static_cast<const T*>(rois.data_ptr());
  const T* px = static_cast<const T*>(input.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  const auto per_image = rois_per_image(proi, p);
  const Blocks bl = channel_blocks(p);
  parallel_for(0, p.N * bl.nblk, 1, [&](int64_t b, int64_t e) {
    RoiTable<T> tab;
    std::vector<T> xt(static_cast<size_t>(HW * bl.cb)), acc(static_cast<size_t>(bins * bl.cb));
    for (int64_t task = b; task < e; ++task) {
      const int64_t n = task % p.N, c0 = (task / p.N) * bl.cb, cn = std::min(C, c0 + bl.cb) - c0;
      if (per_image[n].empty()) continue;
      // Channels-last slice [HW, cn], in tiles of 16 pixels so that the strided writes stay in L1.
      const T* src = px + (n * C + c0) * HW;
      for (int64_t i0 = 0; i0 < HW; i0 += 16) {
        const int64_t i1 = std::min(HW, i0 + 16);
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t i = i0; i < i1; ++i) xt[i * cn + c] = src[c * HW + i];
      }
      for (int64_t k : per_image[n]) {
        tab.build(proi + 5 * k, p);
        const int64_t gh = tab.gh(), gw = tab.gw();
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t ph = 0; ph < p.PH; ++ph)
          for (int64_t pw = 0; pw < p.PW; ++pw) {
            T* __restrict a = acc.data() + (ph * p.PW + pw) * cn;
            for (int64_t iy = 0; iy < gh; ++iy)
              for (int64_t ix = 0; ix < gw; ++ix) {
                auto s = bilinear_sample<T>(tab.rows[ph * gh + iy], tab.cols[pw * gw + ix], p.W);
                if (s.w[0] == T(0) && s.w[1] == T(0) && s.w[2] == T(0) && s.w[3] == T(0)) continue;
                const T* __restrict x0 = xt.data() + s.idx[0] * cn;
                const T* __restrict x1 = xt.data() + s.idx[1] * cn;
                const T* __restrict x2 = xt.data() + s.idx[2] * cn;
                const T* __restrict x3 = xt.data() + s.idx[3] * cn;
                const T w0 = s.w[0], w1 = s.w[1], w2 = s.w[2], w3 = s.w[3];
                for (int64_t c = 0; c < cn; ++c)
                  a[c] += w0 * x0[c] + w1 * x1[c] + w2 * x2[c] + w3 * x3[c];
              }
          }
        const T count = tab.g.count;  // divide (as torchvision), vectorised over the block
        for (int64_t i = 0; i < bins * cn; ++i) acc[i] /= count;
        T* o = po + (k * C + c0) * bins;  // [cn, PH * PW] <- acc [PH * PW, cn]
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t bin = 0; bin < bins; ++bin) o[c * bins + bin] = acc[bin * cn + c];
      }
    }
  });
}

template <class T>
void backward_typed(const Tensor& gi, const Tensor& go, const Tensor& rois,
                    const RoiAlignParams& p) {
  const int64_t C = p.C, HW = p.H * p.W, bins = p.PH * p.PW;
  const T* proi = static_cast<const T*>(rois.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  T* pgi = static_cast<T*>(gi.data_ptr());
  const auto per_image = rois_per_image(proi, p);
  const Blocks bl = channel_blocks(p);
  parallel_for(0, p.N * bl.nblk, 1, [&](int64_t b, int64_t e) {
    RoiTable<T> tab;
    std::vector<T> gt(static_cast<size_t>(HW * bl.cb)), g(static_cast<size_t>(bins * bl.cb));
    for (int64_t task = b; task < e; ++task) {
      const int64_t n = task % p.N, c0 = (task / p.N) * bl.cb, cn = std::min(C, c0 + bl.cb) - c0;
      std::fill(gt.begin(), gt.end(), T(0));  // this task's gradient slice [HW, cn]
      for (int64_t k : per_image[n]) {
        tab.build(proi + 5 * k, p);
        const int64_t gh = tab.gh(), gw = tab.gw();
        const T inv = T(1) / tab.g.count;
        const T* src = pgo + (k * C + c0) * bins;  // g [bins, cn] <- grad_out [cn, bins]
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t bin = 0; bin < bins; ++bin) g[bin * cn + c] = src[c * bins + bin] * inv;
        for (int64_t ph = 0; ph < p.PH; ++ph)
          for (int64_t pw = 0; pw < p.PW; ++pw) {
            const T* gb = g.data() + (ph * p.PW + pw) * cn;
            for (int64_t iy = 0; iy < gh; ++iy)
              for (int64_t ix = 0; ix < gw; ++ix) {
                auto s = bilinear_sample<T>(tab.rows[ph * gh + iy], tab.cols[pw * gw + ix], p.W);
                if (s.w[0] == T(0) && s.w[1] == T(0) && s.w[2] == T(0) && s.w[3] == T(0)) continue;
                T* d0 = gt.data() + s.idx[0] * cn;
                T* d1 = gt.data() + s.idx[1] * cn;
                T* d2 = gt.data() + s.idx[2] * cn;
                T* d3 = gt.data() + s.idx[3] * cn;
                if (d0 != d1 && d0 != d2 && d0 != d3 && d1 != d2 && d1 != d3 && d2 != d3) {
                  scatter4(d0, d1, d2, d3, s.w[0], s.w[1], s.w[2], s.w[3], gb, cn);
                } else {  // taps clamped onto the same pixel: in order, one channel at a time
                  for (int64_t c = 0; c < cn; ++c) {
                    const T v = gb[c];
                    d0[c] += s.w[0] * v;
                    d1[c] += s.w[1] * v;
                    d2[c] += s.w[2] * v;
                    d3[c] += s.w[3] * v;
                  }
                }
              }
          }
      }
      // grad_input [n, c0 + c, :, :] <- slice [HW, cn], in tiles of 16 pixels.
      T* dst = pgi + (n * C + c0) * HW;
      for (int64_t i0 = 0; i0 < HW; i0 += 16) {
        const int64_t i1 = std::min(HW, i0 + 16);
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t i = i0; i < i1; ++i) dst[c * HW + i] = gt[i * cn + c];
      }
    }
  });
}

void roi_align_cpu(const Tensor& out, const Tensor& input, const Tensor& rois,
                   const RoiAlignParams& p) {
  switch (input.dtype()) {
    case DType::f32:
      return forward_typed<float>(out, input, rois, p);
    case DType::f64:
      return forward_typed<double>(out, input, rois, p);
    default:
      throw DTypeError(
          str_cat("[roi_align] CPU supports float32 and float64, got ", dtype_name(input.dtype())));
  }
}
void roi_align_backward_cpu(const Tensor& gi, const Tensor& go, const Tensor& rois,
                            const RoiAlignParams& p) {
  switch (gi.dtype()) {
    case DType::f32:
      return backward_typed<float>(gi, go, rois, p);
    case DType::f64:
      return backward_typed<double>(gi, go, rois, p);
    default:
      throw DTypeError(str_cat("[roi_align_backward] CPU supports float32 and float64, got ",
                               dtype_name(gi.dtype())));
  }
}

}  // namespace
DF_REGISTER_DISPATCH(roi_align_stub, CPU, &roi_align_cpu);
DF_REGISTER_DISPATCH(roi_align_backward_stub, CPU, &roi_align_backward_cpu);
}  // namespace detforge::kernels
