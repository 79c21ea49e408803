// Indexing family behaviour that the golden fixtures cannot show: views, errors, large rows.
#include <gtest/gtest.h>

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
