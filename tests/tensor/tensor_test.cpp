// Tensor core: views share storage, view/reshape/contiguous rules, dtype conversion, copy_ with
// broadcasting, fill, printing and error messages.
#include <gtest/gtest.h>

#include "tensor/tensor.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

Tensor iota(const Shape& shape, DType dtype = DType::f32) {
  return Tensor::arange(shape_numel(shape), DType::i64).to(dtype).reshape(shape);
}

TEST(TensorViews, ShareStorage) {
  Tensor t = iota({4, 6});
  auto check_view = [&](const Tensor& v, const char* what) {
    EXPECT_TRUE(v.shares_storage(t)) << what;
    EXPECT_EQ(v.storage().get(), t.storage().get()) << what;
  };
  Tensor n = t.narrow(1, 2, 3);
  check_view(n, "narrow");
  EXPECT_EQ(n.shape(), (Shape{4, 3}));
  EXPECT_EQ(n.to_vector<float>()[0], 2.0f);
  Tensor s = t.slice(1, 1, 6, 2);
  check_view(s, "slice");
  EXPECT_EQ(s.shape(), (Shape{4, 3}));
  EXPECT_EQ(s.stride(1), 2);
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
  Tensor sel = t.select(0, 2);
  check_view(sel, "select");
  EXPECT_EQ(sel.to_vector<float>(), (std::vector<float>{12, 13, 14, 15, 16, 17}));
  Tensor tr = t.transpose(0, 1);
  check_view(tr, "transpose");
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.shape(), (Shape{6, 4}));
  Tensor p = iota({2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  Tensor v = t.view({2, 12});
  check_view(v, "view");
  Tensor e = t.select(0, 0).unsqueeze(0).expand({3, 6});
  check_view(e, "expand");
  EXPECT_EQ(e.stride(0), 0);
  Tensor u = t.unsqueeze(1);
  check_view(u, "unsqueeze");
  EXPECT_EQ(u.shape(), (Shape{4, 1, 6}));
  Tensor sq = u.squeeze(1);
  check_view(sq, "squeeze");
  EXPECT_EQ(sq.shape(), (Shape{4, 6}));
  EXPECT_EQ(iota({1, 3, 1}).squeeze().shape(), (Shape{3}));

  // Writing through a view changes the base.
  n.fill_(-1);
  EXPECT_EQ(t.to_vector<float>()[2], -1.0f);
  EXPECT_EQ(t.to_vector<float>()[1], 1.0f);
}

TEST(TensorViews, ViewNeedsCompatibleStridesReshapeCopies) {
  Tensor t = iota({3, 4}).t();  // [4, 3], strides [1, 4]
  try {
    t.view({12});
    FAIL() << "view of a transposed tensor must throw";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[view]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 3]"), std::string::npos) << m;
  }
  Tensor r = t.reshape({12});
  EXPECT_FALSE(r.shares_storage(t));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor c = iota({3, 4});
  EXPECT_TRUE(c.reshape({2, 6}).shares_storage(c));
  EXPECT_EQ(c.view({-1, 3}).shape(), (Shape{4, 3}));
  EXPECT_THROW(c.view({5, -1}), ShapeError);
}

TEST(TensorViews, ContiguousCopiesOnlyWhenNeeded) {
  Tensor t = iota({3, 4});
  EXPECT_TRUE(t.contiguous().is_same(t));
  Tensor tt = t.t();
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(t));
  EXPECT_EQ(c.to_vector<float>(), tt.to_vector<float>());
  Tensor sl = t.slice(1, 0, 4, 2);
  EXPECT_FALSE(sl.is_contiguous());
  EXPECT_EQ(sl.contiguous().to_vector<float>(), (std::vector<float>{0, 2, 4, 6, 8, 10}));
}

TEST(TensorDType, RoundTripsAndRounding) {
  Tensor t = Tensor::from_vector<float>({1.0f / 3.0f, -2.5f, 65504.0f, 1e-8f}, {4});
  Tensor h = t.to(DType::f16);
  EXPECT_EQ(h.dtype(), DType::f16);
  const Half* hp = h.data<Half>();
  EXPECT_EQ(hp[0].bits, 0x3555);  // 1/3 in half
  EXPECT_EQ(hp[1].bits, 0xC100);  // -2.5
  EXPECT_EQ(hp[2].bits, 0x7BFF);  // max half
  EXPECT_EQ(hp[3].bits, 0x0000);  // underflows to +0 (smallest subnormal is 5.96e-8)
  EXPECT_FLOAT_EQ(h.to(DType::f32).to_vector<float>()[1], -2.5f);

  // bf16: round to nearest even. 1 + 2^-8 is a tie between 1 and 1 + 2^-7: goes to even (1.0);
  // 1 + 3*2^-8 is a tie between 1+2^-7 and 1+2^-6: goes to even (1 + 2^-6).
  Tensor b = Tensor::from_vector<float>({1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 1.0f / 3.0f}, {3})
                 .to(DType::bf16);
  const BFloat16* bp = b.data<BFloat16>();
  EXPECT_EQ(bp[0].bits, 0x3F80);
  EXPECT_EQ(bp[1].bits, 0x3F82);
  EXPECT_EQ(bp[2].bits, 0x3EAB);  // 1/3 -> 0.333984375
  EXPECT_FLOAT_EQ(b.to(DType::f32).to_vector<float>()[2], 0.333984375f);

  // Integer and bool conversions.
  Tensor f = Tensor::from_vector<float>({-1.7f, 0.0f, 2.9f}, {3});
  EXPECT_EQ(f.to(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{-1, 0, 2}));
  EXPECT_EQ(f.to(DType::b8).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  Tensor d = test::randn({5, 7}, DType::f64, 3);
  EXPECT_EQ(d.to(DType::f32).to(DType::f64).to_vector<double>().size(), 35u);
  DF_EXPECT_CLOSE(d.to(DType::f32).to(DType::f64), d, 1e-7);
}

TEST(TensorCopy, BroadcastingAndConversion) {
  Tensor dst = Tensor::zeros({3, 4}, DType::f64);
  Tensor row = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  dst.copy_(row);
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}));
  Tensor col = Tensor::from_vector<int64_t>({10, 20, 30}, {3, 1});
  dst.t().copy_(Tensor::from_vector<float>({7, 8, 9}, {3}));  // into a transposed view
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9}));
  dst.copy_(col);
  EXPECT_EQ(dst.select(1, 3).to_vector<double>(), (std::vector<double>{10, 20, 30}));
  try {
    dst.copy_(Tensor::zeros({2, 4}));
    FAIL() << "incompatible copy_ must throw";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 4]"), std::string::npos) << m;
    EXPECT_NE(m.find("[3, 4]"), std::string::npos) << m;
  }
  // A strided source and destination with different dtypes.
  Tensor src = test::randn({6, 5});
  Tensor out = Tensor::zeros({5, 6}, DType::f64);
  out.t().copy_(src);
  DF_EXPECT_CLOSE(out.t().to(DType::f32), src, 0);
}

TEST(TensorFill, FillsViewsOnly) {
  Tensor t = Tensor::zeros({4, 4}, DType::i32);
  t.slice(0, 0, 4, 2).slice(1, 1, 4, 2).fill_(5);
  std::vector<int32_t> v = t.to_vector<int32_t>();
  EXPECT_EQ(v, (std::vector<int32_t>{0, 5, 0, 5, 0, 0, 0, 0, 0, 5, 0, 5, 0, 0, 0, 0}));
  Tensor h = Tensor::empty({3}, DType::bf16).fill_(0.1);
  EXPECT_EQ(h.data<BFloat16>()[2].bits, BFloat16(0.1f).bits);
  Tensor e = Tensor::empty({0, 3});
  e.fill_(1);  // empty: no-op
  EXPECT_EQ(e.numel(), 0);
}

TEST(TensorPrint, ContainsValuesAndDType) {
  Tensor t = Tensor::from_vector<float>({1.5f, -2.25f, 3.0f, 4.0f}, {2, 2});
  std::string s = t.str();
  EXPECT_NE(s.find("1.5000"), std::string::npos) << s;
  EXPECT_NE(s.find("-2.2500"), std::string::npos) << s;
  EXPECT_NE(s.find("float32"), std::string::npos) << s;
  EXPECT_NE(s.find("[2, 2]"), std::string::npos) << s;
  std::string si = Tensor::arange(5).str();
  EXPECT_NE(si.find("[0, 1, 2, 3, 4]"), std::string::npos) << si;
  EXPECT_NE(si.find("int64"), std::string::npos) << si;
  std::string big = Tensor::arange(100).str();
  EXPECT_NE(big.find("..."), std::string::npos) << big;
}

TEST(TensorErrors, NameShapes) {
  Tensor t = iota({2, 3});
  try {
    t.narrow(1, 2, 5);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("["), std::string::npos);
  }
  try {
    t.select(2, 0);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  try {
    t.expand({4, 3});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.item(), ShapeError);
  EXPECT_THROW(t.data<double>(), DTypeError);
}

}  // namespace
}  // namespace detforge
