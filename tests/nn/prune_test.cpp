// nn/prune: network-slimming channel pruning and least-L1 layer pruning on small ResNet-family
// models: pruned outputs equal the original's when the pruned channels / blocks were zeroed (eval
// mode, random BN statistics elsewhere), fewer MACs, residual-tied channels untouched, ResNeXt
// groups stay valid, errors name what is wrong, and the pruned model still trains.
#include <gtest/gtest.h>

#include <map>

#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "nas/profiler/flops.h"
#include "nas/smnas_backbone.h"
#include "nn/linear.h"
#include "nn/optim/sgd.h"
#include "nn/prune/channel_pruning.h"
#include "nn/prune/layer_pruning.h"
#include "tensor/error.h"
#include "tests/nn/tiny_resnet.h"

using namespace detforge;
using namespace detforge::nn;
using namespace detforge::nn::prune;
using detforge::test::TinyResNet;

namespace {

Tensor input(uint64_t seed = 7) {
  return test::randn({2, 3, 16, 16}, DType::f32, seed);
}

int64_t macs(Module& m) {
  return nas::profile_cost(m, {1, 3, 16, 16}).macs;
}

ResNetBlock& block(Module& m, const std::string& stage, size_t i) {
  return dynamic_cast<ResNetBlock&>(m.child<Sequential>(stage)[i]);
}

// Zeroes channels c % 3 == 0 of every internal BN set (bn1; bn2 of bottlenecks). Returns how many.
int64_t zero_internal(Module& m, bool bottleneck) {
  int64_t n = 0;
  for (auto& [path, mod] : m.named_modules()) {
    auto* b = dynamic_cast<ResNetBlock*>(mod);
    if (!b) continue;
    for (const char* bn : {"bn1", "bn2"}) {
      if (std::string(bn) == "bn2" && !bottleneck) continue;
      auto& norm = b->child<BatchNorm2d>(bn);
      std::vector<int64_t> chans;
      for (int64_t c = 0; c < norm.num_features(); c += 3) chans.push_back(c);
      test::zero_channels(norm, chans);
      n += static_cast<int64_t>(chans.size());
    }
  }
  return n;
}

void train_step(Module& m) {
  m.train();
  ParamGroup base;
  base.lr = 0.01;
  base.momentum = 0.9;
  base.weight_decay = 1e-4;
  base.bn_sparsity_lambda = 1e-5;
  SGD opt(split_decay_groups(m.named_parameters(), base));
  auto before = m.named_parameters().front().second.to_vector<float>();
  Tensor loss = mean(mul(m.forward(input(3)), m.forward(input(3))));
  loss.backward();
  for (auto& [name, p] : m.named_parameters())
    EXPECT_TRUE(p.grad().defined()) << name << " got no gradient";
  opt.step();
  EXPECT_NE(before, m.named_parameters().front().second.to_vector<float>());
  EXPECT_TRUE(std::isfinite(loss.item()));
}

}  // namespace

TEST(PruneChannels, BasicZeroedChannelsKeepOutputsExactly) {
  TinyResNet m(false);
  test::randomize_norms(m);
  const int64_t zeroed = zero_internal(m, false);
  m.eval();
  Tensor want = m.forward(input());
  const int64_t macs0 = macs(m);
  // Sanity: pruning channels that are not zero changes the outputs (so the test can fail).
  {
    auto other = m.clone();
    ChannelPruneOptions o;
    o.use_threshold = true;
    o.threshold = 0.9;  // removes non-zero gammas too
    prune_channels(*other, o);
    EXPECT_GT(test::max_abs_diff(other->forward(input()), want), 1e-3);
  }
  ChannelPruneOptions opt;
  opt.use_threshold = true;
  opt.threshold = 0.0;
  auto rep = prune_channels(m, opt);
  EXPECT_EQ(rep.channels_before - rep.channels_after, zeroed);
  EXPECT_EQ(block(m, "layer1", 0).spec().mid_channels, 8 - 3);  // channels 0, 3, 6 went
  EXPECT_EQ(block(m, "layer3", 1).spec().mid_channels, 32 - 11);
  Tensor got = m.forward(input());
  EXPECT_LT(test::max_abs_diff(got, want), 1e-5);
  EXPECT_LT(macs(m), macs0);
  // Residual-tied channels are left alone: block outputs and downsample branches unchanged.
  EXPECT_EQ(block(m, "layer2", 0).spec().out_channels, 16);
  EXPECT_EQ(block(m, "layer2", 0).child("downsample").child("0").param("weight").size(0), 16);
  EXPECT_EQ(got.shape(), want.shape());
}

TEST(PruneChannels, GlobalPercentPicksTheSmallestGammas) {
  TinyResNet m(true);
  test::randomize_norms(m);
  const int64_t zeroed = zero_internal(m, true);
  m.eval();
  Tensor want = m.forward(input());
  const int64_t macs0 = macs(m);
  int64_t total = 0;
  for (auto& [p, mod] : m.named_modules())
    if (auto* b = dynamic_cast<ResNetBlock*>(mod)) total += 2 * b->spec().mid_channels;
  ChannelPruneOptions opt;
  opt.percent = static_cast<double>(zeroed) / static_cast<double>(total) + 1e-9;
  auto rep = prune_channels(m, opt);
  EXPECT_EQ(rep.channels_before, total);
  EXPECT_EQ(rep.channels_before - rep.channels_after, zeroed);
  EXPECT_LT(test::max_abs_diff(m.forward(input()), want), 1e-5);
  EXPECT_LT(macs(m), macs0);
  const BlockSpec s = block(m, "layer2", 1).spec();
  EXPECT_EQ(s.mid_channels, 16 - 6);
  EXPECT_EQ(block(m, "layer2", 1).child("conv3").param("weight").size(1), 16 - 6);
  EXPECT_EQ(s.out_channels, 64);
}

TEST(PruneChannels, ResNeXtPrunesWholeGroups) {
  TinyResNet m(true, /*groups=*/4);
  test::randomize_norms(m);
  // Zero group 1 (channels 4..7) of bn1 and bn2 in every block; in layer1.0 zero only bn1 of
  // group 2, which must stay (a group goes only when all its gammas are small).
  for (auto& [path, mod] : m.named_modules()) {
    auto* b = dynamic_cast<ResNetBlock*>(mod);
    if (!b) continue;
    test::zero_channels(b->child("bn1"), {4, 5, 6, 7});
    test::zero_channels(b->child("bn2"), {4, 5, 6, 7});
  }
  test::zero_channels(block(m, "layer1", 0).child("bn1"), {8, 9, 10, 11});
  m.eval();
  Tensor want = m.forward(input());
  const int64_t macs0 = macs(m);
  ChannelPruneOptions opt;
  opt.use_threshold = true;
  auto rep = prune_channels(m, opt);
  EXPECT_EQ(rep.sets.size(), 6u);
  EXPECT_EQ(rep.sets[0].name, "layer1.0.bn1+bn2");
  for (auto& s : rep.sets) EXPECT_EQ(s.after, 12) << s.name;
  const BlockSpec s = block(m, "layer1", 0).spec();
  EXPECT_EQ(s.groups, 3);
  EXPECT_EQ(s.mid_channels, 12);
  EXPECT_EQ(block(m, "layer1", 0).child("conv2").param("weight").size(1), 4);
  EXPECT_LT(test::max_abs_diff(m.forward(input()), want), 1e-5);
  EXPECT_LT(macs(m), macs0);
}

TEST(PruneChannels, PerLayerPercentAndMinUnits) {
  TinyResNet m(false);
  test::randomize_norms(m);
  ChannelPruneOptions opt;
  opt.per_layer = true;
  opt.percent = 0.5;
  auto rep = prune_channels(m, opt);
  ASSERT_EQ(rep.sets.size(), 6u);
  for (auto& s : rep.sets) EXPECT_EQ(s.after, s.before - s.before / 2) << s.name;
  // A relative per-layer threshold of 1 would empty every set: min_units keeps 2.
  ChannelPruneOptions all;
  all.use_threshold = true;
  all.per_layer = true;
  all.threshold = 1.0;
  all.min_units = 2;
  rep = prune_channels(m, all);
  for (auto& s : rep.sets) EXPECT_EQ(s.after, 2) << s.name;
  EXPECT_EQ(rep.to_json()["sets"][0]["after"], 2);
  m.eval();
  EXPECT_EQ(m.forward(input()).shape(), (Shape{2, 32, 4, 4}));
}

TEST(PruneChannels, Errors) {
  TinyResNet m(false);
  ChannelPruneOptions bad;
  bad.percent = 1.0;
  try {
    prune_channels(m, bad);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("percent must be in [0, 1), got 1"), std::string::npos)
        << e.what();
  }
  bad.percent = -0.1;
  EXPECT_THROW(prune_channels(m, bad), ConfigError);
  bad.percent = 0.1;
  bad.min_units = 0;
  EXPECT_THROW(prune_channels(m, bad), ConfigError);
  ChannelPruneOptions neg;
  neg.use_threshold = true;
  neg.threshold = -1;
  EXPECT_THROW(prune_channels(m, neg), ConfigError);

  TinyResNet gn(false, 1, {1, 1, 1}, [](int64_t c) { return std::make_shared<GroupNorm>(2, c); });
  try {
    prune_channels(gn, ChannelPruneOptions{});
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("layer1.0.bn1 is a GroupNorm"), std::string::npos)
        << e.what();
  }
  Sequential not_resnet{std::make_shared<Conv2d>(3, 4, 3)};
  try {
    prune_channels(not_resnet, ChannelPruneOptions{});
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("layer1"), std::string::npos) << e.what();
  }
}

TEST(PruneLayer, RemovesLeastL1BlockAndKeepsOutputsWhenZeroed) {
  TinyResNet m(false, 1, {3, 2, 2});
  test::randomize_norms(m);
  EXPECT_EQ(removable_blocks(m),
            (std::vector<std::string>{"layer1.0", "layer1.1", "layer1.2", "layer2.1", "layer3.1"}));
  // layer2.1: small weights (least L1) and a zeroed last BN, so removing it keeps the outputs.
  ResNetBlock& victim = block(m, "layer2", 1);
  for (const char* c : {"conv1", "conv2"}) {
    Module& conv = victim.child(c);
    auto w = conv.param("weight").to_vector<float>();
    for (float& v : w) v *= 0.01f;
    conv.set_parameter("weight", Tensor::from_vector(w, conv.param("weight").shape()));
  }
  test::zero_channels(victim.child("bn2"), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  m.eval();
  Tensor want = m.forward(input());
  const int64_t macs0 = macs(m);
  auto res = prune_layer(m);
  EXPECT_EQ(res.removed, "layer2.1");
  EXPECT_EQ(res.candidates.size(), 5u);
  EXPECT_EQ(m.child<Sequential>("layer2").size(), 1u);
  EXPECT_LT(test::max_abs_diff(m.forward(input()), want), 1e-5);
  EXPECT_LT(macs(m), macs0);
  EXPECT_EQ(res.to_json()["removed"], "layer2.1");
  // Removing layer1.0 renumbers the stage.
  prune_layer(m, "layer1.0");
  EXPECT_EQ(m.child<Sequential>("layer1").size(), 2u);
  EXPECT_TRUE(m.state_dict().count("layer1.1.conv1.weight"));
  EXPECT_FALSE(m.state_dict().count("layer1.2.conv1.weight"));
  train_step(m);
}

TEST(PruneLayer, Errors) {
  TinyResNet m(true, 1, {1, 2, 1});
  auto msg = [&](const std::string& path) {
    try {
      prune_layer(m, path);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  EXPECT_NE(msg("layer1.0").find("only block of layer1"), std::string::npos) << msg("layer1.0");
  EXPECT_NE(msg("layer2.0").find("downsample"), std::string::npos) << msg("layer2.0");
  EXPECT_NE(msg("layer9.0").find("no block \"layer9.0\""), std::string::npos) << msg("layer9.0");
  prune_layer(m);  // layer2.1, the only removable one
  try {
    prune_layer(m);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no removable block"), std::string::npos) << e.what();
  }
}

TEST(PruneChannels, BottleneckTrainsAfterPruning) {
  TinyResNet m(true, 4);
  test::randomize_norms(m);
  ChannelPruneOptions opt;
  opt.percent = 0.3;
  prune_channels(m, opt);
  train_step(m);
}

namespace {
// Zeroes gamma / beta of `chans` in the downsample BN and every member's last BN of the blocks.
void zero_residual(Module& m, const std::vector<std::pair<std::string, size_t>>& members,
                   const std::vector<int64_t>& chans) {
  for (auto& [stage, i] : members) {
    ResNetBlock& b = block(m, stage, i);
    test::zero_channels(b.child(b.bottleneck() ? "bn3" : "bn2"), chans);
    if (b.named_children().back().first == "downsample")
      test::zero_channels(b.child("downsample").child("1"), chans);
  }
}
}  // namespace

TEST(PruneChannels, ResidualGroupsPrunedTogether) {
  TinyResNet m(false);
  test::randomize_norms(m);
  zero_residual(m, {{"layer2", 0}, {"layer2", 1}}, {1, 5, 9});
  // Channel 2 is zero everywhere but in layer2.1's bn2, so it must stay.
  zero_residual(m, {{"layer2", 0}}, {2});
  m.eval();
  Tensor want = m.forward(input());
  const int64_t macs0 = macs(m);
  ChannelPruneOptions opt;
  opt.use_threshold = true;
  opt.prune_residual = true;
  auto rep = prune_channels(m, opt);
  ASSERT_EQ(rep.sets.size(), 8u);  // 6 bn1 sets + layer2.0-layer2.1.out + layer3.0-layer3.1.out
  EXPECT_EQ(rep.sets[6].name, "layer2.0-layer2.1.out");
  EXPECT_EQ(rep.sets[6].after, 13);
  EXPECT_EQ(rep.sets[7].after, 32);
  EXPECT_EQ(block(m, "layer2", 0).spec().out_channels, 13);
  EXPECT_EQ(block(m, "layer2", 1).spec().in_channels, 13);
  EXPECT_EQ(block(m, "layer3", 0).spec().in_channels, 13);
  EXPECT_EQ(block(m, "layer3", 0).child("downsample").child("0").param("weight").size(1), 13);
  EXPECT_EQ(block(m, "layer1", 0).spec().out_channels, 8);  // tied to the stem: left alone
  EXPECT_LT(test::max_abs_diff(m.forward(input()), want), 1e-5);
  EXPECT_LT(macs(m), macs0);
  train_step(m);
}

TEST(PruneChannels, ResidualPruningOfResNet18PrunesFc) {
  auto r = resnet18(10);
  test::randomize_norms(*r);
  zero_residual(*r, {{"layer4", 0}, {"layer4", 1}}, {0, 7, 100, 511});
  zero_residual(*r, {{"layer3", 0}, {"layer3", 1}}, {3, 4});
  r->eval();
  Tensor x = test::randn({1, 3, 32, 32}, DType::f32, 9);
  Tensor want = r->forward(x);
  ChannelPruneOptions opt;
  opt.use_threshold = true;
  opt.prune_residual = true;
  prune_channels(*r, opt);
  EXPECT_EQ(r->feature_channels(), (std::vector<int64_t>{64, 128, 254, 508}));
  EXPECT_EQ(r->child<Linear>("fc").in_features(), 508);
  EXPECT_LT(test::max_abs_diff(r->forward(x), want), 1e-5);
  // Then a global 30% slimming of the internal channels; fewer MACs and it still trains.
  const int64_t macs0 = nas::profile_cost(*r, {1, 3, 32, 32}).macs;
  ChannelPruneOptions pct;
  pct.percent = 0.3;
  prune_channels(*r, pct);
  EXPECT_LT(nas::profile_cost(*r, {1, 3, 32, 32}).macs, macs0);
  r->train();
  ParamGroup base;
  base.lr = 0.01;
  base.bn_sparsity_lambda = 1e-5;
  SGD sgd(split_decay_groups(r->named_parameters(), base));
  Tensor x2 = test::randn({2, 3, 32, 32}, DType::f32, 5);
  Tensor loss = mean(mul(r->forward(x2), r->forward(x2)));
  loss.backward();
  sgd.step();
  EXPECT_TRUE(std::isfinite(loss.item()));
}

// Item 7's training side on a real model: split_decay_groups flags every BN gamma (block and
// downsample BNs, not convs or betas) and the fused SGD step adds lambda * sign(gamma), sign(0) =
// 0.
TEST(PruneChannels, BnSparsitySubgradientOnAResNet) {
  TinyResNet m(true);
  test::randomize_norms(m);
  test::zero_channels(block(m, "layer2", 0).child("downsample").child("1"), {0, 1});
  const double lambda = 0.05, lr = 0.1;
  ParamGroup base;
  base.lr = lr;
  base.bn_sparsity_lambda = lambda;
  auto groups = split_decay_groups(m.named_parameters(), base);
  SGD sgd(groups);
  std::map<std::string, std::vector<float>> before;  // copies (state_dict shares storage)
  for (auto& [name, p] : m.named_parameters()) before[name] = p.to_vector<float>();
  for (auto& [name, p] : m.named_parameters()) p.set_grad(Tensor::zeros(p.shape()));
  sgd.step();
  for (auto& [name, p] : m.named_parameters()) {
    const std::vector<float>& b = before.at(name);
    const std::vector<float> a = p.to_vector<float>();
    const bool gamma = p.dim() == 1 && name.size() > 6 && name.substr(name.size() - 6) == "weight";
    for (size_t i = 0; i < a.size(); ++i) {
      const float sign = b[i] > 0 ? 1.f : (b[i] < 0 ? -1.f : 0.f);
      const float want = gamma ? b[i] - static_cast<float>(lr * lambda) * sign : b[i];
      ASSERT_NEAR(a[i], want, 1e-7) << name << "[" << i << "]";
    }
  }
  EXPECT_EQ(
      block(m, "layer2", 0).child("downsample").child("1").param("weight").to_vector<float>()[0],
      0.f);
}

TEST(PruneChannels, SmNasBackboneReportsPrunedFeatureChannels) {
  // Group 4 "11": a strided block with a downsample and an identity block form one residual
  // group; pruning two of its channels must show in C5's feature_channels().
  auto b = nas::smnas_backbone("basicblock_16_1-21-21-11");
  test::randomize_norms(*b);
  const std::vector<int64_t> before = b->feature_channels();
  zero_residual(*b, {{"layer4", 0}, {"layer4", 1}}, {0, 5});
  b->eval();
  Tensor x = test::randn({1, 3, 64, 64}, DType::f32, 21);
  Tensor want = b->forward(x);
  ChannelPruneOptions opt;
  opt.use_threshold = true;
  opt.prune_residual = true;
  prune_channels(*b, opt);
  std::vector<int64_t> after = before;
  after[3] -= 2;
  EXPECT_EQ(b->feature_channels(), after);
  std::vector<int64_t> kept;
  for (int64_t c = 0; c < before[3]; ++c)
    if (c != 0 && c != 5) kept.push_back(c);
  Tensor want_kept = index_select(want, 1, Tensor::from_vector(kept, {after[3]}));
  EXPECT_LT(test::max_abs_diff(b->forward(x), want_kept), 1e-5);
}
