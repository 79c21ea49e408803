// fill_ on contiguous, strided (slice with step), transposed and 0-d / empty tensors: only the
// viewed elements change, every one of them does.
#include <gtest/gtest.h>

#include "tensor/random.h"
#include "tensor/tensor.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

// Counts elements of `base` equal to v.
int64_t count_equal(const Tensor& base, float v) {
  Tensor c = base.contiguous();
  const float* p = static_cast<const float*>(c.data_ptr());
  int64_t n = 0;
  for (int64_t i = 0; i < c.numel(); ++i) n += p[i] == v;
  return n;
}

TEST(Fill, ContiguousStridedAndTransposedViews) {
  Generator g(3);
  Tensor base = randn({6, 10, 7}, g);
  base.fill_(1.5);
  EXPECT_EQ(count_equal(base, 1.5f), 6 * 10 * 7);

  base = randn({6, 10, 7}, g);
  Tensor v = raw::slice(base, 1, 1, 10, 3);  // rows 1, 4, 7 of dim 1: [6, 3, 7]
  v.fill_(-2.0);
  EXPECT_EQ(count_equal(base, -2.0f), 6 * 3 * 7);
  Tensor vc = v.contiguous();
  EXPECT_EQ(count_equal(vc, -2.0f), vc.numel());
  EXPECT_EQ(count_equal(raw::select(base, 1, 2), -2.0f), 0);  // untouched row

  base = randn({5, 9}, g);
  Tensor t = raw::transpose(base, 0, 1);  // strided innermost dim
  raw::narrow(t, 0, 2, 4).fill_(3.0);     // columns 2..5 of base
  EXPECT_EQ(count_equal(base, 3.0f), 5 * 4);
  EXPECT_EQ(count_equal(raw::narrow(base, 1, 2, 4), 3.0f), 5 * 4);

  Tensor s = randn({}, g);
  s.fill_(7.0);
  EXPECT_EQ(count_equal(s, 7.0f), 1);
  Tensor e = randn({0, 4}, g);
  e.fill_(1.0);  // no-op, no crash
  EXPECT_EQ(e.numel(), 0);
}

}  // namespace
}  // namespace detforge
