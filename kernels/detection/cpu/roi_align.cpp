// CPU ROI Align, channels-last inside: the input is transposed once to [N, H, W, C] so every
// bilinear tap is a contiguous run of C values (vectorised multiply-adds, shared by all channels);
// the per-ROI sample tables (separable row / column taps) are built once per ROI.
//  - forward: parallel over ROIs; each ROI accumulates [PH * PW, C] and writes its [C, PH, PW].
//  - backward: grad_out is transposed to [K, PH * PW, C]; parallel over (image, channel block):
//    each task owns its slice of the channels-last gradient and walks the ROIs of its image in
//    order, so the result is deterministic without atomics; then one transpose back to NCHW.
#include <algorithm>
#include <vector>

#include "kernels/detection/roi_align.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// [B, R, S] -> [B, S, R] (plain blocked transpose), parallel over (b, row tiles).
template <class Src, class Dst>
void transpose_last2(Dst* dst, const Src* src, int64_t B, int64_t R, int64_t S) {
  constexpr int64_t kT = 32;
  const int64_t rt = (R + kT - 1) / kT;
  parallel_for(0, B * rt, std::max<int64_t>(1, kDefaultGrain / (kT * std::max<int64_t>(S, 1))),
               [&](int64_t b0, int64_t e0) {
                 for (int64_t t = b0; t < e0; ++t) {
                   const int64_t b = t / rt, r0 = (t % rt) * kT, r1 = std::min(R, r0 + kT);
                   const Src* s = src + b * R * S;
                   Dst* d = dst + b * R * S;
                   for (int64_t c0 = 0; c0 < S; c0 += kT) {
                     const int64_t c1 = std::min(S, c0 + kT);
                     for (int64_t r = r0; r < r1; ++r)
                       for (int64_t c = c0; c < c1; ++c)
                         d[c * R + r] = static_cast<Dst>(s[r * S + c]);
                   }
                 }
               });
}

// Separable sample table of one ROI: rows [PH * grid_h], columns [PW * grid_w].
template <class T>
struct RoiTable {
  RoiGeometry<T> g;
  std::vector<AxisTap<T>> rows, cols;
  void build(const T* roi, const RoiAlignParams& p) {
    g = roi_geometry<T>(roi, p);
    const int64_t gh = std::max<int64_t>(g.grid_h, 0), gw = std::max<int64_t>(g.grid_w, 0);
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

template <class T>
void check_batch(const RoiGeometry<T>& g, int64_t k, const RoiAlignParams& p) {
  DF_CHECK(g.batch >= 0 && g.batch < p.N, ShapeError, "[roi_align] rois[", k, ", 0] = ", g.batch,
           " is not a batch index of an input with N = ", p.N);
}

template <class T>
void forward_typed(const Tensor& out, const Tensor& input, const Tensor& rois,
                   const RoiAlignParams& p) {
  const int64_t C = p.C, HW = p.H * p.W, bins = p.PH * p.PW;
  const T* proi = static_cast<const T*>(rois.data_ptr());
  for (int64_t k = 0; k < p.K; ++k) check_batch(roi_geometry<T>(proi + 5 * k, p), k, p);
  std::vector<T> xt(static_cast<size_t>(p.N * HW * C));
  transpose_last2(xt.data(), static_cast<const T*>(input.data_ptr()), p.N, C, HW);
  T* po = static_cast<T*>(out.data_ptr());
  const int64_t grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(16 * bins * C, 1));
  parallel_for(0, p.K, grain, [&](int64_t b, int64_t e) {
    RoiTable<T> tab;
    std::vector<T> acc(static_cast<size_t>(bins * C));
    for (int64_t k = b; k < e; ++k) {
      tab.build(proi + 5 * k, p);
      const T* img = xt.data() + tab.g.batch * HW * C;
      const int64_t gh = tab.gh(), gw = tab.gw();
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t ph = 0; ph < p.PH; ++ph)
        for (int64_t pw = 0; pw < p.PW; ++pw) {
          T* __restrict a = acc.data() + (ph * p.PW + pw) * C;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              auto s = bilinear_sample<T>(tab.rows[ph * gh + iy], tab.cols[pw * gw + ix], p.W);
              if (s.w[0] == T(0) && s.w[1] == T(0) && s.w[2] == T(0) && s.w[3] == T(0)) continue;
              const T* __restrict x0 = img + s.idx[0] * C;
              const T* __restrict x1 = img + s.idx[1] * C;
              const T* __restrict x2 = img + s.idx[2] * C;
              const T* __restrict x3 = img + s.idx[3] * C;
              const T w0 = s.w[0], w1 = s.w[1], w2 = s.w[2], w3 = s.w[3];
              for (int64_t c = 0; c < C; ++c)
                a[c] += w0 * x0[c] + w1 * x1[c] + w2 * x2[c] + w3 * x3[c];
            }
        }
      T* o = po + k * C * bins;  // [C, PH * PW] <- acc [PH * PW, C]
      for (int64_t c = 0; c < C; ++c)
        for (int64_t bin = 0; bin < bins; ++bin) o[c * bins + bin] = acc[bin * C + c] / tab.g.count;
    }
  });
}

template <class T>
void backward_typed(const Tensor& gi, const Tensor& go, const Tensor& rois,
                    const RoiAlignParams& p) {
  const int64_t C = p.C, HW = p.H * p.W, bins = p.PH * p.PW;
  const T* proi = static_cast<const T*>(rois.data_ptr());
  std::vector<std::vector<int64_t>> per_image(static_cast<size_t>(p.N));
  for (int64_t k = 0; k < p.K; ++k) {
    auto g = roi_geometry<T>(proi + 5 * k, p);
    check_batch(g, k, p);
    per_image[g.batch].push_back(k);
  }
  std::vector<T> got(static_cast<size_t>(p.K * bins * C));  // [K, PH * PW, C]
  transpose_last2(got.data(), static_cast<const T*>(go.data_ptr()), p.K, C, bins);
  std::vector<T> git(static_cast<size_t>(p.N * HW * C), T(0));  // [N, H * W, C]
  // Channel blocks of whole cache lines; enough tasks for the threads when N is small.
  int64_t cb = C;
  const int64_t want = 4 * num_threads();
  while (p.N * ((C + cb - 1) / cb) < want && cb > 16) cb = (cb + 1) / 2;
  cb = std::min<int64_t>(C, (cb + 15) / 16 * 16);
  const int64_t nblk = (C + cb - 1) / cb;
  parallel_for(0, p.N * nblk, 1, [&](int64_t b, int64_t e) {
    RoiTable<T> tab;
    for (int64_t task = b; task < e; ++task) {
      const int64_t n = task / nblk, c0 = (task % nblk) * cb, c1 = std::min(C, c0 + cb);
      T* img = git.data() + n * HW * C;
      for (int64_t k : per_image[n]) {
        tab.build(proi + 5 * k, p);
        const int64_t gh = tab.gh(), gw = tab.gw();
        const T inv = T(1) / tab.g.count;
        for (int64_t ph = 0; ph < p.PH; ++ph)
          for (int64_t pw = 0; pw < p.PW; ++pw) {
            const T* __restrict g = got.data() + (k * bins + ph * p.PW + pw) * C;
            for (int64_t iy = 0; iy < gh; ++iy)
              for (int64_t ix = 0; ix < gw; ++ix) {
                auto s = bilinear_sample<T>(tab.rows[ph * gh + iy], tab.cols[pw * gw + ix], p.W);
                if (s.w[0] == T(0) && s.w[1] == T(0) && s.w[2] == T(0) && s.w[3] == T(0)) continue;
                // Taps may coincide at the border: update them one after the other.
                for (int t = 0; t < 4; ++t) {
                  const T w = s.w[t] * inv;
                  if (w == T(0)) continue;
                  T* __restrict d = img + s.idx[t] * C;
                  for (int64_t c = c0; c < c1; ++c) d[c] += w * g[c];
                }
              }
          }
      }
    }
  });
  transpose_last2(static_cast<T*>(gi.data_ptr()), git.data(), p.N, HW, C);
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
