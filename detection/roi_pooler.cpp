// torchvision 0.14 MultiScaleRoIAlign: level per box on the host, roi_align per level, results put
// back into the input box order with one differentiable index_select.
#include "detection/roi_pooler.h"

#include <algorithm>
#include <cmath>

#include "autograd/indexing.h"
#include "autograd/roi_align.h"
#include "tensor/view_ops.h"

namespace detforge::detection {

double infer_scale(const Shape& feature_shape, std::pair<int64_t, int64_t> image_size) {
  DF_CHECK(feature_shape.size() >= 2 && image_size.first > 0, ShapeError,
           "[MultiScaleRoIAlign] cannot infer a scale from feature ", shape_str(feature_shape),
           " and image height ", image_size.first);
  const double approx = static_cast<double>(feature_shape[feature_shape.size() - 2]) /
                        static_cast<double>(image_size.first);
  // torch.tensor(approx) is float32; round() is half-to-even (nearbyint in the default mode).
  const float e = std::nearbyint(std::log2(static_cast<float>(approx)));
  return std::pow(2.0, static_cast<double>(e));
}

namespace {
template <class T>
int64_t level_of(T x1, T y1, T x2, T y2, const LevelMapper& m) {
  const T s = std::sqrt((x2 - x1) * (y2 - y1));
  const T lv = std::floor(static_cast<T>(m.canonical_level) +
                          std::log2(s / static_cast<T>(m.canonical_scale)) + static_cast<T>(m.eps));
  const T lo = static_cast<T>(m.k_min), hi = static_cast<T>(m.k_max);
  const T c = std::isnan(lv) ? lv : std::min(std::max(lv, lo), hi);
  return static_cast<int64_t>(c) - m.k_min;
}
}  // namespace

std::vector<int64_t> LevelMapper::operator()(const std::vector<Tensor>& boxes) const {
  std::vector<int64_t> levels;
  for (const Tensor& b : boxes) {
    DF_CHECK(b.dim() == 2 && b.size(1) == 4, ShapeError,
             "[MultiScaleRoIAlign] boxes must be [L, 4] per image, got ", shape_str(b.shape()));
    // Named host sync: the level assignment reads the boxes on the host (torchvision's
    // torch.where syncs as well).
    const bool f64 = b.dtype() == DType::f64;
    Tensor h = raw::contiguous(raw::to(b.detach(), kCPU, f64 ? DType::f64 : DType::f32));
    for (int64_t i = 0; i < h.size(0); ++i) {
      if (f64) {
        const double* r = static_cast<const double*>(h.data_ptr()) + 4 * i;
        levels.push_back(level_of<double>(r[0], r[1], r[2], r[3], *this));
      } else {
        const float* r = static_cast<const float*>(h.data_ptr()) + 4 * i;
        levels.push_back(level_of<float>(r[0], r[1], r[2], r[3], *this));
      }
    }
  }
  return levels;
}

Tensor boxes_to_rois(const std::vector<Tensor>& boxes) {
  DF_CHECK(!boxes.empty(), ShapeError, "[MultiScaleRoIAlign] no box lists (one per image)");
  const DType dt = boxes[0].dtype();
  const Device dev = boxes[0].device();
  int64_t total = 0;
  for (const Tensor& b : boxes) {
    DF_CHECK(b.dim() == 2 && b.size(1) == 4, ShapeError,
             "[MultiScaleRoIAlign] boxes must be [L, 4] per image, got ", shape_str(b.shape()));
    total += b.size(0);
  }
  Tensor rois = Tensor::empty({total, 5}, dt, dev);
  int64_t row = 0;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const int64_t L = boxes[i].size(0);
    if (L == 0) continue;
    Tensor part = raw::narrow(rois, 0, row, L);
    raw::fill(raw::narrow(part, 1, 0, 1), static_cast<double>(i));
    raw::copy(raw::narrow(part, 1, 1, 4), raw::to(boxes[i].detach(), dev, dt));
    row += L;
  }
  return rois;
}

MultiScaleRoIAlign::MultiScaleRoIAlign(std::vector<std::string> featmap_names, Shape output_size,
                                       int64_t sampling_ratio, int64_t canonical_scale,
                                       int64_t canonical_level)
    : names_(std::move(featmap_names)),
      output_size_(std::move(output_size)),
      sampling_ratio_(sampling_ratio),
      canonical_scale_(canonical_scale),
      canonical_level_(canonical_level) {
  DF_CHECK(!names_.empty(), ConfigError, "[MultiScaleRoIAlign] featmap_names is empty");
  DF_CHECK(output_size_.size() == 1 || output_size_.size() == 2, ConfigError,
           "[MultiScaleRoIAlign] output_size must have 1 or 2 values, got ",
           shape_str(output_size_));
  if (output_size_.size() == 1) output_size_.push_back(output_size_[0]);
}

void MultiScaleRoIAlign::setup_scales(const std::vector<Tensor>& feats,
                                      const std::vector<std::pair<int64_t, int64_t>>& shapes) {
  DF_CHECK(!shapes.empty(), ConfigError, "[MultiScaleRoIAlign] images list should not be empty");
  std::pair<int64_t, int64_t> orig{0, 0};
  for (auto& s : shapes) orig = {std::max(orig.first, s.first), std::max(orig.second, s.second)};
  scales_.clear();
  for (const Tensor& f : feats) scales_.push_back(infer_scale(f.shape(), orig));
  // -log2 of the first and last scales in float32, truncated (torchvision's int()).
  mapper_.k_min = static_cast<int64_t>(-std::log2(static_cast<float>(scales_.front())));
  mapper_.k_max = static_cast<int64_t>(-std::log2(static_cast<float>(scales_.back())));
  mapper_.canonical_scale = canonical_scale_;
  mapper_.canonical_level = canonical_level_;
}

Tensor MultiScaleRoIAlign::forward(const std::map<std::string, Tensor>& x,
                                   const std::vector<Tensor>& boxes,
                                   const std::vector<std::pair<int64_t, int64_t>>& image_shapes) {
  std::vector<Tensor> feats;
  for (const auto& name : names_) {
    auto it = x.find(name);
    DF_CHECK(it != x.end(), ConfigError, "[MultiScaleRoIAlign] no feature map named '", name, "'");
    DF_CHECK(it->second.dim() == 4, ShapeError, "[MultiScaleRoIAlign] feature '", name,
             "' must be [N, C, H, W], got ", shape_str(it->second.shape()));
    feats.push_back(it->second);
  }
  if (!initialized()) setup_scales(feats, image_shapes);
  const Device dev = feats[0].device();
  Tensor rois = boxes_to_rois(boxes);
  if (rois.device() != dev) rois = raw::to(rois, dev, rois.dtype());
  const int64_t K = rois.size(0), C = feats[0].size(1);
  if (feats.size() == 1)
    return roi_align(feats[0], rois, output_size_, scales_[0], sampling_ratio_, false);
  if (K == 0) return Tensor::zeros({0, C, output_size_[0], output_size_[1]}, feats[0].dtype(), dev);

  const std::vector<int64_t> levels = mapper_(boxes);
  std::vector<std::vector<int64_t>> idx(feats.size());
  for (int64_t k = 0; k < K; ++k) {
    const int64_t l = levels[k];
    DF_CHECK(l >= 0 && l < static_cast<int64_t>(feats.size()), ShapeError,
             "[MultiScaleRoIAlign] box ", k, " maps to level ", l, " of ", feats.size());
    idx[l].push_back(k);
  }
  // Pool each level's ROIs, concatenate in level order, then one index_select restores the box
  // order (differentiable: its backward scatters the gradient back to the levels).
  std::vector<Tensor> parts;
  std::vector<int64_t> position(K);
  int64_t row = 0;
  for (size_t l = 0; l < feats.size(); ++l) {
    if (idx[l].empty()) continue;
    Tensor sel = Tensor::from_vector(idx[l], {static_cast<int64_t>(idx[l].size())}).to(dev);
    Tensor level_rois = raw::contiguous(index_select(rois, 0, sel));
    Tensor pooled =
        roi_align(feats[l], level_rois, output_size_, scales_[l], sampling_ratio_, false);
    if (pooled.dtype() != feats[0].dtype()) pooled = pooled.to(feats[0].dtype());
    parts.push_back(pooled);
    for (int64_t k : idx[l]) position[k] = row++;
  }
  Tensor all = parts.size() == 1 ? parts[0] : cat(parts, 0);
  Tensor order = Tensor::from_vector(position, {K}).to(dev);
  return index_select(all, 0, order);
}

}  // namespace detforge::detection
