// BalancedPositiveNegativeSampler: counts, eligibility and determinism (indices are not compared
// with torch's RNG: documented in detection/balanced_sampler.h).
#include <gtest/gtest.h>

#include "detection/balanced_sampler.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

struct Counts {
  int64_t pos = 0, neg = 0;
};

Counts check_masks(const Tensor& labels, const Tensor& pm, const Tensor& nm) {
  EXPECT_EQ(pm.dtype(), DType::u8);
  EXPECT_EQ(pm.shape(), labels.shape());
  auto l = labels.to_vector<double>();
  auto p = pm.to_vector<int64_t>(), n = nm.to_vector<int64_t>();
  Counts c;
  for (size_t i = 0; i < l.size(); ++i) {
    if (p[i]) {
      EXPECT_GE(l[i], 1) << "positive mask on label " << l[i];
      ++c.pos;
    }
    if (n[i]) {
      EXPECT_EQ(l[i], 0) << "negative mask on label " << l[i];
      ++c.neg;
    }
  }
  return c;
}

TEST(BalancedSampler, CountsAndEligibility) {
  // Image 0: 10 positives (labels 1..3), 300 negatives, some -1 / -2: positives capped at
  // int(256 * 0.25) = 64 -> all 10, negatives 246. Image 1: 100 positives, 50 negatives.
  std::vector<int64_t> a, b;
  for (int i = 0; i < 10; ++i) a.push_back(1 + i % 3);
  for (int i = 0; i < 300; ++i) a.push_back(0);
  for (int i = 0; i < 40; ++i) a.push_back(i % 2 ? -1 : -2);
  for (int i = 0; i < 100; ++i) b.push_back(1);
  for (int i = 0; i < 50; ++i) b.push_back(0);
  std::vector<Tensor> labels{Tensor::from_vector(a, {350}), Tensor::from_vector(b, {150})};
  BalancedPositiveNegativeSampler s(256, 0.25);
  Generator gen(3);
  auto [pos, neg] = s(labels, gen);
  ASSERT_EQ(pos.size(), 2u);
  Counts c0 = check_masks(labels[0], pos[0], neg[0]);
  EXPECT_EQ(c0.pos, 10);
  EXPECT_EQ(c0.neg, 246);
  Counts c1 = check_masks(labels[1], pos[1], neg[1]);
  EXPECT_EQ(c1.pos, 64);
  EXPECT_EQ(c1.neg, 50);  // 192 wanted, only 50 available
}

TEST(BalancedSampler, FloatLabelsAndTruncation) {
  // RPN passes float labels (1, 0, -1). int(7 * 0.3) = 2 positives.
  std::vector<float> l{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, -1, 0.5f};
  BalancedPositiveNegativeSampler s(7, 0.3);
  Generator gen(1);
  auto [pos, neg] = s({Tensor::from_vector(l, {12})}, gen);
  Counts c = check_masks(Tensor::from_vector(l, {12}), pos[0], neg[0]);
  EXPECT_EQ(c.pos, 2);
  EXPECT_EQ(c.neg, 5);
}

TEST(BalancedSampler, DeterministicForSeedAndVariesAcrossDraws) {
  std::vector<int64_t> l(400, 0);
  for (int i = 0; i < 400; i += 3) l[i] = 1;
  std::vector<Tensor> labels{Tensor::from_vector(l, {400})};
  BalancedPositiveNegativeSampler s(64, 0.5);
  Generator g1(42), g2(42);
  auto r1 = s(labels, g1);
  auto r2 = s(labels, g2);
  EXPECT_EQ(r1.first[0].to_vector<int64_t>(), r2.first[0].to_vector<int64_t>());
  EXPECT_EQ(r1.second[0].to_vector<int64_t>(), r2.second[0].to_vector<int64_t>());
  auto r3 = s(labels, g1);  // the generator advanced: another subset
  EXPECT_NE(r1.second[0].to_vector<int64_t>(), r3.second[0].to_vector<int64_t>());
}

TEST(BalancedSampler, EmptyAndErrors) {
  BalancedPositiveNegativeSampler s(16, 0.5);
  Generator gen(0);
  auto [pos, neg] = s({Tensor::zeros({0}, DType::i64)}, gen);
  EXPECT_EQ(pos[0].numel(), 0);
  EXPECT_THROW(BalancedPositiveNegativeSampler(16, 1.5), ConfigError);
  EXPECT_THROW(BalancedPositiveNegativeSampler(-1, 0.5), ConfigError);
}

}  // namespace
}  // namespace detforge::detection
