#include "kd/transforms.h"

#include <random>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "autograd/reduction.h"
#include "tensor/error.h"

namespace detforge::kd {
namespace {

void check_feature(const Tensor& f, const char* op) {
  DF_CHECK(f.dim() == 4, ShapeError, "[kd ", op, "] expected a feature [N, C, H, W], got ",
           shape_str(f.shape()));
}

int64_t suffix_n(const std::string& name) {
  return std::stoll(name.substr(name.rfind('_') + 1));
}

}  // namespace

Tensor spatial_attention(const Tensor& f, double tau) {
  check_feature(f, "satt");
  const int64_t N = f.size(0), H = f.size(2), W = f.size(3);
  Tensor g = mean(abs(f), {1}).reshape({N, H * W});  // G_S [N, HW]
  Tensor a = softmax(g / tau, 1) * static_cast<double>(H * W);
  return f * a.reshape({N, 1, H, W});
}

Tensor channel_attention(const Tensor& f, double tau) {
  check_feature(f, "catt");
  const int64_t N = f.size(0), C = f.size(1);
  Tensor g = mean(abs(f), {2, 3});  // G_C [N, C]
  Tensor a = softmax(g / tau, 1) * static_cast<double>(C);
  return f * a.reshape({N, C, 1, 1});
}

Tensor random_mask(const Tensor& f, double ratio, uint64_t seed) {
  check_feature(f, "mask");
  const int64_t N = f.size(0), H = f.size(2), W = f.size(3);
  std::mt19937_64 g(seed);
  std::vector<double> m(static_cast<size_t>(N * H * W));
  for (auto& v : m) v = (static_cast<double>(g() >> 11) * 0x1.0p-53) < ratio ? 0.0 : 1.0;
  return Tensor::from_vector(m, {N, 1, H, W}).to(f.device(), f.dtype());
}

Tensor scale_pool(const Tensor& f, int64_t n) {
  check_feature(f, "scale");
  if (n == 1) return f;
  return adaptive_avg_pool2d(
      f, {std::max<int64_t>(1, f.size(2) / n), std::max<int64_t>(1, f.size(3) / n)});
}

Tensor local_split(const Tensor& f, int64_t n) {
  check_feature(f, "local");
  if (n == 1) return f;
  const int64_t N = f.size(0), C = f.size(1), H = f.size(2), W = f.size(3);
  DF_CHECK(H >= n && W >= n, ShapeError, "[kd local_", n, "] feature ", shape_str(f.shape()),
           " is smaller than ", n, "x", n, " patches");
  const int64_t h = H / n, w = W / n;
  Tensor x = f.narrow(2, 0, h * n).narrow(3, 0, w * n);
  // [N, C, n, h, n, w] -> [n_i, n_j, N, C, h, w] -> [n*n*N, C, h, w]
  return x.reshape({N, C, n, h, n, w}).permute({2, 4, 0, 1, 3, 5}).reshape({n * n * N, C, h, w});
}

Tensor standardize(const Tensor& x, const Shape& dims, double eps) {
  Tensor mu = mean(x, dims, true);
  Tensor v = var(x, dims, 0, true);
  return (x - mu) * rsqrt(v + eps);
}

Tensor min_max(const Tensor& x, const Shape& dims, double eps) {
  Tensor lo = amin(x, dims, true), hi = amax(x, dims, true);
  return (x - lo) / (hi - lo + eps);
}

Tensor logits_rows(const Tensor& p) {
  if (p.dim() == 2) return p;
  DF_CHECK(p.dim() == 4, ShapeError, "[kd logits] expected [N, C] or [N, C, H, W], got ",
           shape_str(p.shape()));
  return p.permute({0, 2, 3, 1}).reshape({-1, p.size(1)});
}

std::pair<Tensor, Tensor> apply_transform(const Transform& tr, Input in, const Tensor& s,
                                          const Tensor& t, uint64_t seed) {
  const std::string& n = tr.name;
  auto both = [&](auto fn) { return std::make_pair(fn(s), fn(t)); };
  if (is_feature(in)) {
    if (n == "satt") return both([&](const Tensor& x) { return spatial_attention(x, tr.param); });
    if (n == "catt") return both([&](const Tensor& x) { return channel_attention(x, tr.param); });
    if (n == "mask") return {s * random_mask(s, tr.param, seed), t};
    if (n.rfind("scale_", 0) == 0)
      return both([&](const Tensor& x) { return scale_pool(x, suffix_n(n)); });
    if (n.rfind("local_", 0) == 0)
      return both([&](const Tensor& x) { return local_split(x, suffix_n(n)); });
    if (n == "norm_HW") return both([](const Tensor& x) { return standardize(x, {2, 3}); });
    if (n == "norm_C") return both([](const Tensor& x) { return standardize(x, {1}); });
    if (n == "norm_N") return both([](const Tensor& x) { return standardize(x, {0}); });
    if (n == "min-max") return both([](const Tensor& x) { return min_max(x, {2, 3}); });
  } else if (in == Input::logits) {
    // rows [R, C]
    if (n == "norm_N") return both([](const Tensor& x) { return standardize(x, {0}); });
    if (n == "norm_C") return both([](const Tensor& x) { return standardize(x, {1}); });
    if (n == "min-max") return both([](const Tensor& x) { return min_max(x, {1}); });
    if (n == "reshape_N") return both([](const Tensor& x) { return x.transpose(0, 1); });
    if (n == "reshape_C") return {s, t};  // rows over classes: the default layout
  } else {
    if (n == "softmax_N") return both([](const Tensor& x) { return softmax(x, 0); });
    if (n == "softmax_C") return both([](const Tensor& x) { return softmax(x, 1); });
    if (n == "pow2") return both([](const Tensor& x) { return square(x); });
    if (n == "sigmoid") return both([](const Tensor& x) { return sigmoid(x); });
  }
  throw ConfigError("[kd] transform '" + n + "' does not apply to input '" + input_name(in) + "'");
}

std::pair<Tensor, Tensor> apply_chain(const DistillerSpec& spec, const Tensor& s, const Tensor& t,
                                      uint64_t seed) {
  DF_CHECK(s.shape() == t.shape(), ShapeError, "[kd ", input_name(spec.input), "] student ",
           shape_str(s.shape()), " and teacher ", shape_str(t.shape()),
           " differ (adapt the student first)");
  std::pair<Tensor, Tensor> st{s, t};
  if (is_feature(spec.input)) {
    check_feature(s, input_name(spec.input));
  } else if (spec.input == Input::logits) {
    st = {logits_rows(s), logits_rows(t)};
  } else {
    DF_CHECK(s.dim() == 2 && s.size(1) == 4, ShapeError, "[kd loc] expected [N, 4], got ",
             shape_str(s.shape()));
  }
  for (const auto& tr : spec.transforms)
    st = apply_transform(tr, spec.input, st.first, st.second, seed);
  return st;
}

}  // namespace detforge::kd
