// nn/elastic/search_space: largest/smallest, reproducible uniform sampling inside the space,
// rejection sampling, key-path violations, space size; Sequential insert/erase renaming;
// ResNetBlock built from a BlockSpec reports the same spec back.
#include <gtest/gtest.h>

#include <set>

#include "autograd/grad_mode.h"
#include "nn/elastic/search_space.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace detforge;
using namespace detforge::nn;

namespace {

SearchSpace toy_space() {
  SearchSpace sp;
  sp.block_type = "bottleneck";
  sp.input_resolution = 128;
  sp.stages = {{{2, 3}, {0.65, 1.0}, {0.2, 0.35}, {}}, {{1, 2, 4}, {}, {}, {3, 5, 7}}};
  return sp;
}

}  // namespace

TEST(SearchSpace, LargestAndSmallest) {
  SearchSpace sp = toy_space();
  ArchConfig big = sp.largest(), small = sp.smallest();
  ASSERT_EQ(big.stages.size(), 2u);
  EXPECT_EQ(big.block_type, "bottleneck");
  EXPECT_EQ(big.input_resolution, 128);
  EXPECT_EQ(big.stages[0].depth, 3);
  EXPECT_EQ(big.stages[0].width_mult, 1.0);
  EXPECT_EQ(big.stages[0].expand_ratios, (std::vector<double>{0.35, 0.35, 0.35}));
  EXPECT_TRUE(big.stages[0].kernel_sizes.empty());
  EXPECT_EQ(big.stages[1].kernel_sizes, (std::vector<int64_t>{7, 7, 7, 7}));
  EXPECT_EQ(small.stages[0].depth, 2);
  EXPECT_EQ(small.stages[0].width_mult, 0.65);
  EXPECT_EQ(small.stages[1].kernel_sizes, (std::vector<int64_t>{3}));
  EXPECT_TRUE(sp.contains(big));
  EXPECT_TRUE(sp.contains(small));
  big.validate();
  small.validate();
}

TEST(SearchSpace, SamplingIsReproducibleCoversChoicesAndStaysInside) {
  SearchSpace sp = toy_space();
  std::mt19937_64 a(7), b(7);
  std::set<int64_t> depths;
  std::set<int64_t> kernels;
  for (int i = 0; i < 200; ++i) {
    ArchConfig x = sp.sample(a), y = sp.sample(b);
    EXPECT_EQ(x, y);
    EXPECT_TRUE(sp.contains(x)) << sp.violation(x);
    depths.insert(x.stages[1].depth);
    for (int64_t k : x.stages[1].kernel_sizes) kernels.insert(k);
  }
  EXPECT_EQ(depths, (std::set<int64_t>{1, 2, 4}));
  EXPECT_EQ(kernels, (std::set<int64_t>{3, 5, 7}));
}

TEST(SearchSpace, RejectionSamplingHonoursThePredicate) {
  SearchSpace sp = toy_space();
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20; ++i) {
    ArchConfig c = sp.sample(rng, [](const ArchConfig& c) { return c.stages[1].depth == 4; });
    EXPECT_EQ(c.stages[1].depth, 4);
  }
  try {
    sp.sample(
        rng, [](const ArchConfig&) { return false; }, 5);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no architecture accepted in 5 draws"), std::string::npos);
  }
}

TEST(SearchSpace, ViolationsNameTheKeyPath) {
  SearchSpace sp = toy_space();
  ArchConfig c = sp.largest();
  c.stages[1].kernel_sizes[2] = 9;
  EXPECT_EQ(sp.violation(c), "stages[1].kernel_sizes[2]: 9 not in {3, 5, 7}");
  c = sp.largest();
  c.stages[0].depth = 7;
  EXPECT_EQ(sp.violation(c).rfind("stages[0].depth: 7 not in {2, 3}", 0), 0u);
  c = sp.largest();
  c.stages[0].kernel_sizes = {3, 3, 3};
  EXPECT_EQ(sp.violation(c), "stages[0].kernel_sizes: not searchable in this space");
  c = sp.largest();
  c.block_type = "basic";
  try {
    sp.check(c, "nn.Toy");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "[nn.Toy] block_type: expected bottleneck, got basic");
  }
}

TEST(SearchSpace, SizeCountsEveryArchitecture) {
  SearchSpace sp = toy_space();
  // stage 0: (2^2 + 2^3) depth/expand combos x 2 widths = 24; stage 1: 3 + 9 + 81 = 93.
  EXPECT_DOUBLE_EQ(sp.size(), 24.0 * 93.0);
}

TEST(Sequential, InsertAndEraseRenameChildren) {
  Generator g(1);
  auto seq = std::make_shared<Sequential>();
  ResNetConfig rc;
  BlockSpec s;
  s.in_channels = s.mid_channels = s.out_channels = 8;
  for (int i = 0; i < 3; ++i) seq->push_back(std::make_shared<ResNetBlock>(rc, s));
  Module* first = &(*seq)[0];
  auto extra = std::make_shared<ResNetBlock>(rc, s);
  seq->insert(1, extra);
  ASSERT_EQ(seq->size(), 4u);
  EXPECT_EQ(&(*seq)[0], first);
  EXPECT_EQ(&(*seq)[1], extra.get());
  EXPECT_EQ(seq->named_children()[3].first, "3");
  EXPECT_TRUE(seq->state_dict().count("3.conv2.weight"));
  EXPECT_EQ(seq->erase(1).get(), extra.get());
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_FALSE(seq->state_dict().count("3.conv2.weight"));
  EXPECT_THROW(seq->erase(3), ConfigError);
  EXPECT_THROW(seq->insert(5, extra), ConfigError);
}

TEST(ResNetBlock, SpecRoundTripsAndForwardShapes) {
  ResNetConfig rc;
  BlockSpec s;
  s.bottleneck = true;
  s.in_channels = 12;
  s.mid_channels = 8;
  s.out_channels = 20;
  s.stride = 2;
  s.groups = 4;
  ResNetBlock blk(rc, s);
  BlockSpec r = blk.spec();
  EXPECT_EQ(r.in_channels, 12);
  EXPECT_EQ(r.mid_channels, 8);
  EXPECT_EQ(r.out_channels, 20);
  EXPECT_EQ(r.stride, 2);
  EXPECT_EQ(r.groups, 4);
  EXPECT_TRUE(r.bottleneck);
  Generator g(2);
  NoGradGuard ng;
  Tensor y = blk.forward(randn({2, 12, 9, 9}, g));
  EXPECT_EQ(y.shape(), (Shape{2, 20, 5, 5}));
  auto net = resnet18(10);
  EXPECT_EQ(net->feature_channels(), (std::vector<int64_t>{64, 128, 256, 512}));
}
