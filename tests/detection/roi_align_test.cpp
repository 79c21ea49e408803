// ROI Align beyond the golden fixtures: errors, determinism, channel independence, CUDA paths.
#include <gtest/gtest.h>

#include <cstring>

#include "autograd/roi_align.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

Tensor some_rois(int64_t K, int64_t N, double size, uint64_t seed) {
  Tensor u = test::rand_uniform({K, 5}, 0, 1, DType::f32, seed);
  std::vector<float> r(static_cast<size_t>(K * 5));
  const float* p = static_cast<const float*>(u.data_ptr());
  for (int64_t k = 0; k < K; ++k) {
    float x1 = static_cast<float>(p[5 * k + 1] * size - 4),
          y1 = static_cast<float>(p[5 * k + 2] * size - 4);
    r[5 * k] = static_cast<float>(k % N);
    r[5 * k + 1] = x1;
    r[5 * k + 2] = y1;
    r[5 * k + 3] = x1 + 1 + p[5 * k + 3] * static_cast<float>(size) / 2;
    r[5 * k + 4] = y1 + 1 + p[5 * k + 4] * static_cast<float>(size) / 2;
  }
  return Tensor::from_vector(r, {K, 5});
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  Tensor x = raw::contiguous(raw::to(a, kCPU, a.dtype())),
         y = raw::contiguous(raw::to(b, kCPU, b.dtype()));
  return x.shape() == y.shape() && std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0;
}

TEST(RoiAlign, ErrorsNameTheProblem) {
  Tensor x = test::randn({1, 2, 4, 4});
  try {
    roi_align(x, Tensor::zeros({3, 4}), {2});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[roi_align] rois must be [K, 5]"), std::string::npos);
  }
  Tensor r = Tensor::from_vector<float>({1, 0, 0, 2, 2}, {1, 5});
  try {
    roi_align(x, r, {2});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("rois[0, 0] = 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(roi_align(test::randn({2, 4, 4}), r, {2}), ShapeError);
  EXPECT_THROW(roi_align(x.to(DType::i32), r, {2}), DTypeError);
}

// Each channel is pooled independently: pooling a channel slice equals slicing the pooled result
// (exercises channel blocks, tails and the single-channel case).
TEST(RoiAlign, ChannelsAreIndependent) {
  Tensor x = test::randn({2, 37, 9, 11}, DType::f64, 3);
  Tensor r = raw::to(some_rois(13, 2, 40, 4), kCPU, DType::f64);
  Tensor all = roi_align(x, r, {3, 2}, 0.25, 0, true);
  for (int64_t c : {0, 16, 36}) {
    Tensor one = roi_align(raw::contiguous(raw::narrow(x, 1, c, 1)), r, {3, 2}, 0.25, 0, true);
    EXPECT_TRUE(test::compare(one, raw::contiguous(raw::narrow(all, 1, c, 1)), 1e-14).empty()) << c;
  }
}

TEST(RoiAlign, CpuBackwardIsDeterministic) {
  Tensor x = test::randn({2, 40, 12, 12}, DType::f32, 5).set_requires_grad(true);
  Tensor r = some_rois(64, 2, 48, 6);
  Tensor g = test::randn({64, 40, 7, 7}, DType::f32, 7);
  std::vector<Tensor> grads;
  for (int i = 0; i < 2; ++i) {
    roi_align(x, r, {7}, 0.25, 2, true).backward(g);
    grads.push_back(x.grad().clone());
    x.set_grad(Tensor());
  }
  EXPECT_TRUE(bit_equal(grads[0], grads[1]));
}

TEST(RoiAlign, CudaMatchesCpuAndDeterministicModeIsBitStable) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  Device dev = cuda_device(0);
  Tensor x = test::randn({2, 24, 16, 16}, DType::f32, 8);
  Tensor r = some_rois(96, 2, 64, 9);
  Tensor g = test::randn({96, 24, 5, 5}, DType::f32, 10);
  Tensor xc = x.clone().set_requires_grad(true);
  Tensor yc = roi_align(xc, r, {5}, 0.25, 0, false);
  yc.backward(g);
  std::vector<Tensor> det;
  for (bool deterministic : {false, true, true}) {
    Tensor xd = x.to(dev).set_requires_grad(true);
    Tensor yd = roi_align(xd, r.to(dev), {5}, 0.25, 0, false, deterministic);
    EXPECT_TRUE(test::compare(yd.to(kCPU), yc, 1e-5).empty());
    yd.backward(g.to(dev));
    EXPECT_TRUE(test::compare(xd.grad().to(kCPU), xc.grad(), 1e-5).empty()) << deterministic;
    if (deterministic) det.push_back(xd.grad().to(kCPU));
  }
  EXPECT_TRUE(bit_equal(det[0], det[1]));
}

}  // namespace
}  // namespace detforge
