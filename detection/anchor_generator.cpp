// AnchorGenerator: cell anchors in float32 (as torchvision), grids computed on the host (cheap,
// once per shape thanks to the cache) and copied to the target device.
#include "detection/anchor_generator.h"

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "autograd/grad_mode.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::detection {

struct AnchorGenerator::Cache {
  using Key = std::tuple<std::vector<Size2>, std::vector<Size2>, int, int, int>;
  std::mutex mu;
  std::map<Key, Tensor> map;
};

std::vector<std::vector<double>> retinanet_anchor_sizes(const std::vector<double>& base_sizes,
                                                        bool truncate) {
  std::vector<std::vector<double>> r;
  for (double x : base_sizes) {
    std::vector<double> lv{x};
    for (double k : {1.0, 2.0}) {
      double v = x * std::pow(2.0, k / 3.0);
      lv.push_back(truncate ? std::trunc(v) : v);
    }
    r.push_back(lv);
  }
  return r;
}

AnchorGenerator::AnchorGenerator(std::vector<std::vector<double>> sizes,
                                 std::vector<std::vector<double>> aspect_ratios)
    : sizes_(std::move(sizes)),
      ratios_(std::move(aspect_ratios)),
      cache_(std::make_shared<Cache>()) {
  DF_CHECK(!sizes_.empty(), ConfigError, "[AnchorGenerator] needs at least one level of sizes");
  if (ratios_.size() == 1 && sizes_.size() > 1) ratios_.assign(sizes_.size(), ratios_[0]);
  DF_CHECK(ratios_.size() == sizes_.size(), ConfigError, "[AnchorGenerator] ", sizes_.size(),
           " levels of sizes but ", ratios_.size(), " levels of aspect ratios");
  for (size_t l = 0; l < sizes_.size(); ++l) {
    DF_CHECK(!sizes_[l].empty() && !ratios_[l].empty(), ConfigError, "[AnchorGenerator] level ", l,
             " has ", sizes_[l].size(), " sizes and ", ratios_[l].size(),
             " aspect ratios (need at least one of each)");
    for (double r : ratios_[l])
      DF_CHECK(r > 0, ConfigError, "[AnchorGenerator] aspect ratio ", r, " at level ", l,
               " must be positive");
    const int64_t S = static_cast<int64_t>(sizes_[l].size());
    const int64_t R = static_cast<int64_t>(ratios_[l].size());
    std::vector<float> cell(static_cast<size_t>(R * S * 4));
    for (int64_t r = 0; r < R; ++r) {
      float hr = std::sqrt(static_cast<float>(ratios_[l][r]));
      float wr = 1.0f / hr;
      for (int64_t s = 0; s < S; ++s) {
        float sc = static_cast<float>(sizes_[l][s]);
        float ws = wr * sc, hs = hr * sc;
        float* c = &cell[static_cast<size_t>((r * S + s) * 4)];
        // torch.round: half to even (nearbyint in the default rounding mode).
        c[0] = std::nearbyint(-ws / 2.0f);
        c[1] = std::nearbyint(-hs / 2.0f);
        c[2] = std::nearbyint(ws / 2.0f);
        c[3] = std::nearbyint(hs / 2.0f);
      }
    }
    cell_anchors_.push_back(Tensor::from_vector(cell, {R * S, 4}));
  }
}

AnchorGenerator AnchorGenerator::faster_rcnn_default() {
  return AnchorGenerator({{32}, {64}, {128}, {256}, {512}}, {{0.5, 1.0, 2.0}});
}

AnchorGenerator AnchorGenerator::retinanet_default() {
  return AnchorGenerator(retinanet_anchor_sizes(), {{0.5, 1.0, 2.0}});
}

std::vector<int64_t> AnchorGenerator::num_anchors_per_location() const {
  std::vector<int64_t> r;
  for (size_t l = 0; l < sizes_.size(); ++l)
    r.push_back(static_cast<int64_t>(sizes_[l].size() * ratios_[l].size()));
  return r;
}

namespace {

template <class T>
void fill_level(T* out, const float* cell, int64_t A, Size2 grid, Size2 stride) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t H = grid[0], W = grid[1];
  parallel_for(
      0, H, std::max<int64_t>(1, 4096 / std::max<int64_t>(W * A, 1)), [&](int64_t b, int64_t e) {
        for (int64_t y = b; y < e; ++y) {
          // torchvision: int32 arange times the stride, added to the float anchors.
          C sy = static_cast<C>(static_cast<int32_t>(y) * static_cast<int32_t>(stride[0]));
          for (int64_t x = 0; x < W; ++x) {
            C sx = static_cast<C>(static_cast<int32_t>(x) * static_cast<int32_t>(stride[1]));
            T* o = out + ((y * W + x) * A) * 4;
            for (int64_t a = 0; a < A; ++a) {
              const float* c = cell + a * 4;
              o[a * 4 + 0] = cast_to<T>(sx + static_cast<C>(c[0]));
              o[a * 4 + 1] = cast_to<T>(sy + static_cast<C>(c[1]));
              o[a * 4 + 2] = cast_to<T>(sx + static_cast<C>(c[2]));
              o[a * 4 + 3] = cast_to<T>(sy + static_cast<C>(c[3]));
            }
          }
        }
      });
}

}  // namespace

std::vector<Tensor> AnchorGenerator::grid_anchors(const std::vector<Size2>& grid_sizes,
                                                  const std::vector<Size2>& strides, DType dtype,
                                                  Device device) const {
  DF_CHECK(grid_sizes.size() == strides.size() && grid_sizes.size() == sizes_.size(), ShapeError,
           "[AnchorGenerator] ", grid_sizes.size(), " feature maps and ", strides.size(),
           " strides for ", sizes_.size(), " levels of sizes / aspect ratios: they must match");
  DF_CHECK(is_floating(dtype), DTypeError, "[AnchorGenerator] anchors must be floating, got ",
           dtype_name(dtype));
  NoGradGuard no_grad;
  std::vector<Tensor> out;
  for (size_t l = 0; l < grid_sizes.size(); ++l) {
    const Size2 g = grid_sizes[l], s = strides[l];
    DF_CHECK(g[0] >= 0 && g[1] >= 0 && s[0] >= 0 && s[1] >= 0, ShapeError,
             "[AnchorGenerator] level ", l, ": grid (", g[0], ", ", g[1], ") and stride (", s[0],
             ", ", s[1], ") must be non-negative");
    const Tensor& cell = cell_anchors_[l];
    const int64_t A = cell.size(0);
    Tensor t = Tensor::empty({g[0] * g[1] * A, 4}, dtype, kCPU);
    const float* c = static_cast<const float*>(cell.data_ptr());
    DF_DISPATCH_FLOATING(dtype, "AnchorGenerator",
                         [&] { fill_level(static_cast<scalar_t*>(t.data_ptr()), c, A, g, s); });
    out.push_back(device == kCPU ? t : t.to(device));
  }
  return out;
}

std::vector<Size2> AnchorGenerator::strides_for(const Size2& image_size,
                                                const std::vector<Size2>& feature_sizes) {
  std::vector<Size2> r;
  for (const Size2& f : feature_sizes) {
    DF_CHECK(f[0] > 0 && f[1] > 0, ShapeError, "[AnchorGenerator] feature size (", f[0], ", ", f[1],
             ") must be positive");
    // Python's // on non-negative sizes: truncating division.
    r.push_back({image_size[0] / f[0], image_size[1] / f[1]});
  }
  return r;
}

Tensor AnchorGenerator::operator()(const Size2& image_size, const std::vector<Size2>& feature_sizes,
                                   DType dtype, Device device) const {
  std::vector<Size2> strides = strides_for(image_size, feature_sizes);
  Cache::Key key{feature_sizes, strides, static_cast<int>(dtype), static_cast<int>(device.type),
                 device.index};
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->map.find(key);
    if (it != cache_->map.end()) return it->second;
  }
  std::vector<Tensor> levels = grid_anchors(feature_sizes, strides, dtype, kCPU);
  int64_t total = 0;
  for (auto& t : levels) total += t.size(0);
  Tensor all = Tensor::empty({total, 4}, dtype, kCPU);
  int64_t off = 0;
  for (auto& t : levels) {
    std::memcpy(static_cast<char*>(all.data_ptr()) + off * 4 * all.itemsize(), t.data_ptr(),
                t.nbytes());
    off += t.size(0);
  }
  if (device != kCPU) all = all.to(device);
  std::lock_guard<std::mutex> lock(cache_->mu);
  return cache_->map.emplace(key, all).first->second;
}

void AnchorGenerator::clear_cache() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  cache_->map.clear();
}

size_t AnchorGenerator::cache_size() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  return cache_->map.size();
}

}  // namespace detforge::detection
