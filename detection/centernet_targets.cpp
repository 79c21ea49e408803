#include "detection/centernet_targets.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/view_ops.h"

namespace detforge::detection {

double gaussian_radius(double height, double width, double min_overlap) {
  const double a1 = 1.0;
  const double b1 = height + width;
  const double c1 = width * height * (1.0 - min_overlap) / (1.0 + min_overlap);
  const double r1 = (b1 + std::sqrt(b1 * b1 - 4.0 * a1 * c1)) / 2.0;
  const double a2 = 4.0;
  const double b2 = 2.0 * (height + width);
  const double c2 = (1.0 - min_overlap) * width * height;
  const double r2 = (b2 + std::sqrt(b2 * b2 - 4.0 * a2 * c2)) / 2.0;
  const double a3 = 4.0 * min_overlap;
  const double b3 = -2.0 * min_overlap * (height + width);
  const double c3 = (min_overlap - 1.0) * width * height;
  const double r3 = (b3 + std::sqrt(b3 * b3 - 4.0 * a3 * c3)) / 2.0;
  return std::min(r1, std::min(r2, r3));
}

void draw_umich_gaussian(float* hm, int64_t height, int64_t width, int64_t x, int64_t y,
                         int64_t radius) {
  const int64_t d = 2 * radius + 1;
  const double sigma = static_cast<double>(d) / 6.0;
  const double inv = 1.0 / (2.0 * sigma * sigma);
  const int64_t left = std::min(x, radius), right = std::min(width - x, radius + 1);
  const int64_t top = std::min(y, radius), bottom = std::min(height - y, radius + 1);
  if (left + right <= 0 || top + bottom <= 0) return;
  // gaussian2D: exp(-(dx^2 + dy^2) / (2 sigma^2)), zeroed below eps(double) * max (max = 1).
  for (int64_t dy = -top; dy < bottom; ++dy) {
    float* row = hm + (y + dy) * width + x;
    for (int64_t dx = -left; dx < right; ++dx) {
      double g = std::exp(-static_cast<double>(dx * dx + dy * dy) * inv);
      if (g < DBL_EPSILON) g = 0.0;
      const float gf = static_cast<float>(g);
      row[dx] = std::max(row[dx], gf);
    }
  }
}

CenterNetTargets build_centernet_targets(const std::vector<data::DetTarget>& targets, int64_t out_h,
                                         int64_t out_w, const CenterNetTargetOptions& o) {
  const char* who = "[detection.centernet_targets]";
  DF_CHECK(out_h > 0 && out_w > 0 && o.num_classes > 0 && o.max_objs > 0 && o.stride > 0,
           ConfigError, who, " output size ", out_h, "x", out_w, ", num_classes ", o.num_classes,
           ", max_objs ", o.max_objs, " and stride ", o.stride, " must be positive");
  const int64_t B = static_cast<int64_t>(targets.size());
  const int64_t C = o.num_classes, K = o.max_objs, HW = out_h * out_w;
  CenterNetTargets t;
  t.heatmap = Tensor::zeros({B, C, out_h, out_w}, DType::f32);
  t.wh = Tensor::zeros({B, K, 2}, DType::f32);
  t.offset = Tensor::zeros({B, K, 2}, DType::f32);
  t.index = Tensor::zeros({B, K}, DType::i64);
  t.mask = Tensor::zeros({B, K}, DType::f32);
  std::vector<Tensor> boxes(static_cast<size_t>(B)), labels(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto& tg = targets[static_cast<size_t>(b)];
    const int64_t n = tg.boxes.defined() ? tg.boxes.size(0) : 0;
    if (n == 0) continue;
    DF_CHECK(tg.boxes.dim() == 2 && tg.boxes.size(1) == 4, ShapeError, who, " image ", b,
             ": boxes ", shape_str(tg.boxes.shape()), " must be [n, 4]");
    DF_CHECK(tg.labels.defined() && tg.labels.dim() == 1 && tg.labels.size(0) == n, ShapeError, who,
             " image ", b, ": labels must be [", n, "]");
    boxes[static_cast<size_t>(b)] = raw::contiguous(raw::to(tg.boxes, kCPU, DType::f32));
    labels[static_cast<size_t>(b)] = raw::contiguous(raw::to(tg.labels, kCPU, DType::i64));
    const int64_t* lp = static_cast<const int64_t*>(labels[static_cast<size_t>(b)].data_ptr());
    for (int64_t i = 0; i < std::min(n, K); ++i)
      DF_CHECK(lp[i] >= 1 && lp[i] <= C, ConfigError, who, " image ", b, ": label ", lp[i],
               " is outside 1..", C);
  }
  float* hm = static_cast<float*>(t.heatmap.data_ptr());
  float* wh = static_cast<float*>(t.wh.data_ptr());
  float* off = static_cast<float*>(t.offset.data_ptr());
  int64_t* ind = static_cast<int64_t*>(t.index.data_ptr());
  float* mask = static_cast<float*>(t.mask.data_ptr());
  const float inv_stride = 1.0f / static_cast<float>(o.stride);
  const float xmax = static_cast<float>(out_w - 1), ymax = static_cast<float>(out_h - 1);
  parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const Tensor& bx = boxes[static_cast<size_t>(b)];
      if (!bx.defined()) continue;
      const float* bp = static_cast<const float*>(bx.data_ptr());
      const int64_t* lp = static_cast<const int64_t*>(labels[static_cast<size_t>(b)].data_ptr());
      const int64_t n = std::min(bx.size(0), K);
      for (int64_t k = 0; k < n; ++k) {
        auto clip = [](float v, float hi) { return std::min(std::max(v, 0.0f), hi); };
        // The stride is a power of two in practice: * (1 / s) equals / s exactly then.
        const float x1 = clip(bp[4 * k] * inv_stride, xmax);
        const float y1 = clip(bp[4 * k + 1] * inv_stride, ymax);
        const float x2 = clip(bp[4 * k + 2] * inv_stride, xmax);
        const float y2 = clip(bp[4 * k + 3] * inv_stride, ymax);
        const float h = y2 - y1, w = x2 - x1;
        if (!(h > 0.0f && w > 0.0f)) continue;
        const double r = gaussian_radius(std::ceil(static_cast<double>(h)),
                                         std::ceil(static_cast<double>(w)), o.min_overlap);
        const int64_t radius = std::max<int64_t>(0, static_cast<int64_t>(r));
        const float cx = (x1 + x2) / 2.0f, cy = (y1 + y2) / 2.0f;
        const int64_t ix = static_cast<int64_t>(cx), iy = static_cast<int64_t>(cy);  // >= 0
        draw_umich_gaussian(hm + (b * C + lp[k] - 1) * HW, out_h, out_w, ix, iy, radius);
        const int64_t s = b * K + k;
        wh[2 * s] = w;
        wh[2 * s + 1] = h;
        off[2 * s] = cx - static_cast<float>(ix);
        off[2 * s + 1] = cy - static_cast<float>(iy);
        ind[s] = iy * out_w + ix;
        mask[s] = 1.0f;
      }
    }
  });
  return t;
}

}  // namespace detforge::detection
