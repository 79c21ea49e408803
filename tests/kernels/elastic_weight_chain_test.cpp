// The CPU elastic weight gather / scatter with kernel transforms runs a blocked, composed-matrix
// path; the CUDA kernel runs the per-pair chain of kernels/elastic/elastic_weight.h. This checks
// the two agree (the per-pair functions called directly as the reference) over many pairs: several
// blocks plus a partial one, non-prefix index lists, every chain shape, with and without the
// matrix gradients.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/elastic/elastic_weight.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

struct ChainCase {
  int64_t K, k;
  bool has75, has53;
};

class ElasticWeightChain : public ::testing::TestWithParam<ChainCase> {};

std::vector<int64_t> shuffled_prefix(int64_t n, int64_t total, uint64_t seed) {
  std::vector<int64_t> v(total);
  std::iota(v.begin(), v.end(), 0);
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  v.resize(n);
  return v;
}

TEST_P(ElasticWeightChain, BlockedCpuPathEqualsPerPairChain) {
  const ChainCase c = GetParam();
  const int64_t O = 13, I = 9, out = 11, in_pg = 7;  // 77 pairs: 4 full blocks + a partial one
  for (bool use_index : {false, true}) {
    Tensor w = test::randn({O, I, c.K, c.K}, DType::f64, 1);
    Tensor m75 = c.has75 ? test::randn({25, 25}, DType::f64, 2) : Tensor();
    Tensor m53 = c.has53 ? test::randn({9, 9}, DType::f64, 3) : Tensor();
    std::vector<int64_t> oi = shuffled_prefix(out, O, 4), ii = shuffled_prefix(in_pg, I, 5);
    kernels::ElasticWeightParams p;
    p.out = out;
    p.in_pg = in_pg;
    p.K = c.K;
    p.k = c.k;
    for (int d = 0; d < 4; ++d) p.ws[d] = w.stride(d);
    if (use_index) {
      p.out_idx = oi.data();
      p.in_idx = ii.data();
    }
    kernels::elastic_plan_steps(p, c.has75, c.has53);
    ASSERT_GT(p.n_mat, 0);
    Tensor m0 = p.mat_d[0] == 5 ? m75 : m53, m1 = p.n_mat == 2 ? m53 : Tensor();
    const double* wp = static_cast<const double*>(w.data_ptr());
    const double* a = static_cast<const double*>(m0.data_ptr());
    const double* b = m1.defined() ? static_cast<const double*>(m1.data_ptr()) : nullptr;
    const int64_t kk = c.k * c.k, n = p.pairs();

    // Forward.
    Tensor got = Tensor::full({out, in_pg, c.k, c.k}, std::nan(""), DType::f64);
    kernels::elastic_gather_stub(kCPU, "test")(p, got, w, m0, m1);
    Tensor want = Tensor::empty({out, in_pg, c.k, c.k}, DType::f64);
    for (int64_t i = 0; i < n; ++i)
      kernels::elastic_gather_pair<double, double>(p, wp, a, b, i,
                                                   static_cast<double*>(want.data_ptr()) + i * kk);
    EXPECT_EQ(test::compare(got, want, 1e-12), "") << "gather, index=" << use_index;

    // Backward, with and without the matrix gradients.
    Tensor g = test::randn({out, in_pg, c.k, c.k}, DType::f64, 6);
    for (bool need_m : {false, true}) {
      Tensor gw = test::randn(w.shape(), DType::f64, 7), gw_ref = gw.clone();
      Tensor gm0 = need_m ? Tensor::zeros(m0.shape(), DType::f64) : Tensor();
      Tensor gm1 = need_m && m1.defined() ? Tensor::zeros(m1.shape(), DType::f64) : Tensor();
      kernels::elastic_scatter_stub(kCPU, "test")(p, gw, g, w, m0, m1, gm0, gm1);
      std::vector<double> r0(625, 0.0), r1(81, 0.0);
      auto add0 = [&](int64_t j, double v) { r0[j] += v; };
      auto add1 = [&](int64_t j, double v) { r1[j] += v; };
      for (int64_t i = 0; i < n; ++i)
        kernels::elastic_scatter_pair<double, double>(
            p, wp, a, b, i, static_cast<const double*>(g.data_ptr()) + i * kk,
            static_cast<double*>(gw_ref.data_ptr()), need_m, add0, add1);
      EXPECT_EQ(test::compare(gw, gw_ref, 1e-12), "") << "scatter, need_m=" << need_m;
      if (!need_m) continue;
      Tensor r0t =
          Tensor::from_vector(std::vector<double>(r0.begin(), r0.begin() + m0.numel()), m0.shape());
      EXPECT_EQ(test::compare(gm0, r0t, 1e-12), "") << "matrix 0 gradient";
      if (gm1.defined()) {
        Tensor r1t = Tensor::from_vector(std::vector<double>(r1.begin(), r1.begin() + 81), {9, 9});
        EXPECT_EQ(test::compare(gm1, r1t, 1e-12), "") << "matrix 1 gradient";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Chains, ElasticWeightChain,
                         ::testing::Values(ChainCase{7, 5, true, false},   // 7->5
                                           ChainCase{7, 3, true, true},    // 7->5->3
                                           ChainCase{7, 3, true, false},   // 7->5, crop to 3
                                           ChainCase{7, 3, false, true},   // crop 7->3, 5->3
                                           ChainCase{5, 3, false, true},   // 5->3
                                           ChainCase{7, 1, true, true}));  // 7->5->3, crop 1

}  // namespace
}  // namespace detforge
