#include "tests/test_util.h"

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#include "data/fashion_mnist.h"
#include "tensor/view_ops.h"

namespace detforge::test {

Tensor randn(const Shape& shape, DType dtype, uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 17);
  std::normal_distribution<double> nd;
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = nd(rng);
  return raw::to(Tensor::from_vector(v, shape), kCPU, dtype);
}

Tensor rand_uniform(const Shape& shape, double lo, double hi, DType dtype, uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 29);
  std::uniform_real_distribution<double> ud(lo, hi);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = ud(rng);
  return raw::to(Tensor::from_vector(v, shape), kCPU, dtype);
}

Tensor noncontiguous(const Tensor& t) {
  if (t.dim() == 0 || t.numel() == 0) return t;
  Shape big = t.shape();
  for (auto& s : big) s *= 2;
  Tensor buf = Tensor::full(big, std::nan(""), t.dtype(), t.device());
  Tensor v = buf;
  for (int64_t d = 0; d < t.dim(); ++d) v = raw::slice(v, d, 0, big[d], 2);
  raw::copy(v, t);
  return v;
}

double rel_l2(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (std::isnan(x[i]) && std::isnan(y[i])) continue;  // NaN expected and produced
      return std::numeric_limits<double>::infinity();
    }
    if (std::isinf(x[i]) || std::isinf(y[i])) {
      if (x[i] == y[i]) continue;
      return std::numeric_limits<double>::infinity();
    }
    num += (x[i] - y[i]) * (x[i] - y[i]);
    den += y[i] * y[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

std::string compare(const Tensor& got, const Tensor& want, double tol) {
  if (!got.defined()) return "result undefined";
  if (got.shape() != want.shape())
    return "shape " + shape_str(got.shape()) + " != expected " + shape_str(want.shape());
  if (!is_floating(want.dtype())) {
    auto x = got.to_vector<int64_t>(), y = want.to_vector<int64_t>();
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] != y[i]) return str_cat("element ", i, ": ", x[i], " != expected ", y[i]);
    return "";
  }
  double e = rel_l2(got, want);
  if (want.numel() == 0 || e <= tol) return "";
  return str_cat("relative L2 error ", e, " > tol ", tol, " (shape ", shape_str(want.shape()), ")");
}

std::string skip_reason_no_cuda() {
  return "no usable GPU: " + cuda_unavailable_reason();
}

CliRun run_cli(const std::string& args) {
  const std::string cmd = std::string(DETFORGE_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliRun r;
  if (!p) return r;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

bool have_fashion_mnist() {
  const std::filesystem::path d = data::fashion_mnist_dir();
  return std::filesystem::exists(d / "train-labels-idx1-ubyte.gz") ||
         std::filesystem::exists(d / "train-labels-idx1-ubyte");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace detforge::test
