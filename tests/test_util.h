// Helpers shared by the tests: seeded random tensors, non-contiguous copies, error metrics.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "tensor/tensor.h"

namespace detforge::test {

// Normal(0,1) values (std::mt19937_64), never all zeros.
Tensor randn(const Shape& shape, DType dtype = DType::f32, uint64_t seed = 0);
Tensor rand_uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f32,
                    uint64_t seed = 0);
// Same values, non-contiguous layout: every dim stored with a gap (a strided view of a larger
// buffer), so kernels must honour strides. 0-dim and empty tensors come back as they are.
Tensor noncontiguous(const Tensor& t);
// ||a - b|| / max(||b||, tiny) in double; +inf when shapes differ or either holds NaN.
double rel_l2(const Tensor& a, const Tensor& b);
// Empty when equal within tol; else a message naming shapes and the error.
std::string compare(const Tensor& got, const Tensor& want, double tol);
std::string skip_reason_no_cuda();
// Runs the detforge executable (DETFORGE_CLI_PATH) with `args`, stderr merged into out.
struct CliRun {
  int rc = -1;
  std::string out;
};
CliRun run_cli(const std::string& args);
// The whole file as bytes ("" when it cannot be read).
std::string read_file(const std::string& path);
// Whether Debian's Fashion-MNIST files are where data::fashion_mnist_dir() points.
bool have_fashion_mnist();
// The message of the detforge::Error f throws; empty when it throws none.
std::string error_of(const std::function<void()>& f);

}  // namespace detforge::test

#define DF_EXPECT_CLOSE(got, want, tol)                               \
  do {                                                                \
    std::string _m = ::detforge::test::compare((got), (want), (tol)); \
    EXPECT_TRUE(_m.empty()) << _m;                                    \
  } while (0)
