// Indexing family behaviour that the golden fixtures cannot show: views, errors, large rows.
#include <gtest/gtest.h>

#include "autograd/elementwise.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Indexing, SplitAndChunkAreViews) {
  Tensor x = test::randn({6, 4});
  auto parts = split(x, 4, 0);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_TRUE(parts[0].shares_storage(x));
  EXPECT_TRUE(parts[1].shares_storage(x));
  EXPECT_EQ(parts[1].shape(), (Shape{2, 4}));
  auto c = chunk(x, 3, 1);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(c[1].shares_storage(x));
  EXPECT_EQ(c[1].offset(), 2);
}

TEST(Indexing, GradThroughSplitViews) {
  Tensor x = test::randn({5, 2});
  x.set_requires_grad(true);
  auto parts = split(x, std::vector<int64_t>{2, 3}, 0);
  sum(parts[1]).backward();
  auto g = x.grad().to_vector<float>();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g[i], i < 4 ? 0.f : 1.f) << i;
}

TEST(Indexing, ErrorsNameOpAndShapes) {
  Tensor x = test::randn({3, 4});
  std::string m = error_of([&] { gather(x, 1, Tensor::from_vector<int64_t>({0, 4, 1}, {1, 3})); });
  EXPECT_NE(m.find("[gather] index 4 is out of bounds for dimension 1 with size 4"),
            std::string::npos)
      << m;
  m = error_of([&] { index_select(x, 0, Tensor::from_vector<int64_t>({-1}, {1})); });
  EXPECT_NE(m.find("out of bounds"), std::string::npos) << m;
  m = error_of([&] { cat({x, test::randn({3, 5})}, 0); });
  EXPECT_NE(m.find("[cat] sizes of tensors must match except in dimension 0"), std::string::npos)
      << m;
  m = error_of([&] { topk(x, 5, 1); });
  EXPECT_NE(m.find("[topk] k (5) is out of range"), std::string::npos) << m;
  m = error_of([&] { split(x, std::vector<int64_t>{1, 1}, 0); });
  EXPECT_NE(m.find("[split] split sizes sum to 2"), std::string::npos) << m;
  m = error_of([&] { one_hot(Tensor::from_vector<int64_t>({0, 3}, {2}), 3); });
  EXPECT_NE(m.find("[one_hot] class values must be smaller than num_classes (3)"),
            std::string::npos)
      << m;
  m = error_of([&] { masked_fill(x, Tensor::ones({3, 4}), 1.0); });
  EXPECT_NE(m.find("[masked_fill] mask must be bool"), std::string::npos) << m;
}

TEST(Indexing, LongRowsSortAndTopkAgree) {
  Tensor x = test::randn({3, 5000}, DType::f32, 11);
  auto [sv, si] = sort(x, 1, true, true);
  auto [tv, ti] = topk(x, 100, 1);
  auto a = sv.to_vector<float>(), b = tv.to_vector<float>();
  auto ia = si.to_vector<int64_t>(), ib = ti.to_vector<int64_t>();
  auto xv = x.to_vector<float>();
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 100; ++j) {
      EXPECT_EQ(a[r * 5000 + j], b[r * 100 + j]);
      EXPECT_EQ(ia[r * 5000 + j], ib[r * 100 + j]);
    }
    for (int j = 1; j < 5000; ++j) ASSERT_GE(a[r * 5000 + j - 1], a[r * 5000 + j]);
    for (int j = 0; j < 5000; ++j) ASSERT_EQ(xv[r * 5000 + ia[r * 5000 + j]], a[r * 5000 + j]);
  }
}

TEST(Indexing, TopkSmallestHeapPathMatchesSort) {
  Tensor x = test::randn({2, 300}, DType::f64, 5);
  auto [sv, si] = sort(x, -1);
  auto [tv, ti] = topk(x, 7, -1, false);
  auto a = sv.to_vector<double>(), b = tv.to_vector<double>();
  auto ia = si.to_vector<int64_t>(), ib = ti.to_vector<int64_t>();
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 7; ++j) {
      EXPECT_EQ(a[r * 300 + j], b[r * 7 + j]);
      EXPECT_EQ(ia[r * 300 + j], ib[r * 7 + j]);
    }
}

// One long row takes the parallel block-sort + merge path: still stable with many ties.
TEST(Indexing, LongSingleRowSortIsStable) {
  const int64_t n = 200003;
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 7919) % 97);
  Tensor x = Tensor::from_vector(v, {n});
  for (bool desc : {false, true}) {
    auto [sv, si] = sort(x, 0, desc, true);
    auto a = sv.to_vector<float>();
    auto ia = si.to_vector<int64_t>();
    for (int64_t j = 0; j < n; ++j) ASSERT_EQ(a[j], v[ia[j]]);
    for (int64_t j = 1; j < n; ++j) {
      ASSERT_TRUE(desc ? a[j - 1] >= a[j] : a[j - 1] <= a[j]) << j;
      if (a[j - 1] == a[j]) ASSERT_LT(ia[j - 1], ia[j]) << j;
    }
  }
}

TEST(Indexing, ScatterAddAccumulatesDuplicates) {
  Tensor self = Tensor::zeros({3});
  Tensor idx = Tensor::from_vector<int64_t>({0, 2, 0, 0, 2}, {5});
  Tensor src = Tensor::from_vector<float>({1, 2, 3, 4, 5}, {5});
  auto r = scatter_add(self, 0, idx, src).to_vector<float>();
  EXPECT_EQ(r, (std::vector<float>{8, 0, 7}));
}

TEST(Indexing, CumsumLongRowDoubleAccumulation) {
  Tensor x = Tensor::full({1, 100000}, 0.1);
  auto v = cumsum(x, 1).to_vector<float>();
  EXPECT_NEAR(v.back(), 10000.0, 1e-2);
}

}  // namespace
}  // namespace detforge

namespace detforge {
namespace {

// What the small fixtures cannot reach on CUDA: the one-row radix sort, many segments, atomics on
// duplicates, long scans, the masked_select sync path. Skips without a GPU.
TEST(IndexingCuda, LargeProblemsMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  Device gpu = cuda_device(0);
  for (Shape shape : {Shape{1, 200000}, Shape{300, 700}}) {
    Tensor x = test::randn(shape, DType::f32, 21);
    for (bool desc : {false, true}) {
      auto [cv, ci] = sort(x, -1, desc, true);
      auto [gv, gi] = sort(x.to(gpu), -1, desc, true);
      DF_EXPECT_CLOSE(gv.to(kCPU), cv, 0.0);
      EXPECT_EQ(gi.to(kCPU).to_vector<int64_t>(), ci.to_vector<int64_t>());
    }
    auto [tv, ti] = topk(x.to(gpu), 50, -1);
    DF_EXPECT_CLOSE(tv.to(kCPU), topk(x, 50, -1).first, 0.0);
    DF_EXPECT_CLOSE(cumsum(x.to(gpu), 1).to(kCPU), cumsum(x, 1), 1e-4);
  }
  Tensor idx = Tensor::from_vector<int64_t>(std::vector<int64_t>(100000, 3), {100000});
  Tensor src = Tensor::ones({100000});
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::i64}) {
    Tensor out = scatter_add(Tensor::zeros({5}, dt, gpu), 0, idx.to(gpu), src.to(gpu, dt))
                     .to(kCPU, DType::f64);
    double want = dt == DType::f16 ? 2048.0 : 100000.0;  // float16 stops counting at 2048
    EXPECT_EQ(out.to_vector<double>()[3], want) << dtype_name(dt);
  }
  Tensor x = test::randn({64, 33}, DType::f32, 3);
  Tensor m = gt(test::randn({64, 33}, DType::f32, 4), Tensor::scalar(0.0));
  DF_EXPECT_CLOSE(masked_select(x.to(gpu), m.to(gpu)).to(kCPU), masked_select(x, m), 0.0);
}

}  // namespace
}  // namespace detforge
