// nas/morphism: f_evolve actions with weight inheritance on small ResNet-family models. add_layer
// keeps the network function exactly; rearrange follows the position rule for strides and
// channels and inherits matching tensors; every action leaves the input model untouched and gives
// a model that trains; actions round-trip through JSON; impossible actions name what is wrong.
#include <gtest/gtest.h>

#include "autograd/reduction.h"
#include "nas/morphism/morphism.h"
#include "nas/profiler/flops.h"
#include "nas/smnas_backbone.h"
#include "nn/optim/sgd.h"
#include "tensor/error.h"
#include "tests/nn/tiny_resnet.h"

using namespace detforge;
using namespace detforge::nn;
using namespace detforge::nas;
using detforge::test::TinyResNet;

namespace {

Tensor input(uint64_t seed = 7) {
  return test::randn({2, 3, 16, 16}, DType::f32, seed);
}

ResNetBlock& block(Module& m, const std::string& stage, size_t i) {
  return dynamic_cast<ResNetBlock&>(m.child<Sequential>(stage)[i]);
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}

bool state_equal(const Module& a, const Module& b) {
  auto sa = a.state_dict(), sb = b.state_dict();
  if (sa.size() != sb.size()) return false;
  for (auto& [k, v] : sa)
    if (!sb.count(k) || v.to_vector<double>() != sb.at(k).to_vector<double>()) return false;
  return true;
}

// Forward + backward + one SGD step (with BN sparsity); the loss is finite and parameters move.
void check_trains(Module& m, const Tensor& x) {
  m.train();
  ParamGroup base;
  base.lr = 0.01;
  base.momentum = 0.9;
  base.bn_sparsity_lambda = 1e-5;
  SGD opt(split_decay_groups(m.named_parameters(), base));
  auto before = m.state_dict().begin()->second.to_vector<float>();
  Tensor y = m.forward(x);
  Tensor loss = mean(mul(y, y));
  loss.backward();
  opt.step();
  EXPECT_TRUE(std::isfinite(loss.item()));
  int moved = 0;
  for (auto& [name, p] : m.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().shape(), p.shape()) << name;
    moved += 1;
  }
  EXPECT_GT(moved, 0);
  EXPECT_NE(before, m.state_dict().begin()->second.to_vector<float>());
}

std::string error_of(const Module& m, const MorphAction& a) {
  try {
    f_evolve(m, a);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no throw";
}

}  // namespace

TEST(Morphism, AddLayerPreservesOutputsExactly) {
  for (bool bottleneck : {false, true}) {
    TinyResNet m(bottleneck, bottleneck ? 4 : 1);
    test::randomize_norms(m);
    for (bool train : {false, true}) {
      m.train(train);
      Tensor want = m.forward(input());
      for (auto a : {MorphAction::add_layer(2, 1), MorphAction::add_layer(3),
                     MorphAction::add_layer(1, 0), MorphAction::add_layer(2, 0)}) {
        auto snapshot = m.clone();
        nlohmann::json rec;
        auto n = f_evolve(m, a, &rec);
        EXPECT_TRUE(state_equal(m, *snapshot));  // the input model is untouched
        EXPECT_EQ(test::max_abs_diff(n->forward(input()), want), 0.0) << rec.dump();
        EXPECT_EQ(n->child<Sequential>("layer" + std::to_string(a.stage)).size(), 3u);
        EXPECT_EQ(rec["action"], a.to_json());
        EXPECT_FALSE(rec["inherited"].empty()) << rec.dump();
        EXPECT_EQ(n->is_training(), train);
      }
    }
  }
}

TEST(Morphism, AddLayerInheritsNeighbourWeights) {
  TinyResNet m(false);
  test::randomize_norms(m);
  nlohmann::json rec;
  auto n = f_evolve(m, MorphAction::add_layer(2, 2), &rec);
  EXPECT_EQ(rec["new_block"], "layer2.2");
  EXPECT_EQ(rec["inherited_from"], "layer2.1");
  ResNetBlock& nb = block(*n, "layer2", 2);
  EXPECT_TRUE(same_tensor(nb.child("conv1").param("weight"),
                          block(m, "layer2", 1).child("conv1").param("weight")));
  EXPECT_EQ(nb.child("bn2").param("weight").to_vector<float>(), std::vector<float>(16, 0.f));
  EXPECT_FALSE(nb.spec().has_downsample());
  // The input model is untouched and shares no storage with the new one.
  EXPECT_EQ(m.child<Sequential>("layer2").size(), 2u);
  EXPECT_FALSE(n->child("conv1").param("weight").shares_storage(m.child("conv1").param("weight")));
  check_trains(*n, input());
}

TEST(Morphism, RearrangeToNextAndToPrev) {
  for (bool bottleneck : {false, true}) {
    TinyResNet m(bottleneck, 1, {2, 3, 2});
    test::randomize_norms(m);
    m.eval();
    const Shape out_shape = m.forward(input()).shape();
    const auto snapshot = m.clone();

    // to_next: layer2's last block becomes layer3's first (stride 2, 16c -> 32c, downsample from
    // the old layer3.0); old layer3.0 becomes stride 1, identity.
    nlohmann::json rec;
    auto n = f_evolve(m, MorphAction::rearrange(2, true), &rec);
    EXPECT_EQ(n->child<Sequential>("layer2").size(), 2u);
    EXPECT_EQ(n->child<Sequential>("layer3").size(), 3u);
    const int64_t c2 = bottleneck ? 64 : 16, c3 = bottleneck ? 128 : 32;
    BlockSpec first = block(*n, "layer3", 0).spec(), second = block(*n, "layer3", 1).spec();
    EXPECT_EQ(first.in_channels, c2);
    EXPECT_EQ(first.out_channels, c3);
    EXPECT_EQ(first.stride, 2);
    EXPECT_EQ(first.mid_channels, bottleneck ? 16 : 16);  // the moved block keeps its mid width
    EXPECT_EQ(second.in_channels, c3);
    EXPECT_EQ(second.stride, 1);
    EXPECT_FALSE(second.has_downsample());
    EXPECT_TRUE(same_tensor(block(*n, "layer3", 0).child("downsample").child("0").param("weight"),
                            block(m, "layer3", 0).child("downsample").child("0").param("weight")));
    // Moved block: conv1 (in c2 -> mid) keeps its shape, so it is inherited.
    EXPECT_TRUE(same_tensor(block(*n, "layer3", 0).child("conv1").param("weight"),
                            block(m, "layer2", 2).child("conv1").param("weight")));
    EXPECT_TRUE(same_tensor(block(*n, "layer3", 1).child("conv2").param("weight"),
                            block(m, "layer3", 0).child("conv2").param("weight")));
    EXPECT_EQ(rec["moved"]["from"], "layer2.2");
    EXPECT_EQ(rec["moved"]["to"], "layer3.0");
    n->eval();
    EXPECT_EQ(n->forward(input()).shape(), out_shape);
    check_trains(*n, input());

    // to_prev: layer2's first block becomes layer1's last (stride 1, identity at 8c / 32c);
    // layer2.1 becomes layer2's first with the stride and the downsample.
    auto p = f_evolve(m, MorphAction::rearrange(2, false), &rec);
    EXPECT_EQ(p->child<Sequential>("layer1").size(), 3u);
    EXPECT_EQ(p->child<Sequential>("layer2").size(), 2u);
    const int64_t c1 = bottleneck ? 32 : 8;
    BlockSpec last1 = block(*p, "layer1", 2).spec(), first2 = block(*p, "layer2", 0).spec();
    EXPECT_EQ(last1.in_channels, c1);
    EXPECT_EQ(last1.out_channels, c1);
    EXPECT_EQ(last1.stride, 1);
    EXPECT_FALSE(last1.has_downsample());
    EXPECT_EQ(first2.in_channels, c1);
    EXPECT_EQ(first2.out_channels, c2);
    EXPECT_EQ(first2.stride, 2);
    EXPECT_TRUE(
        same_tensor(block(*p, "layer2", 0).child("downsample").child("1").buffer("running_var"),
                    block(m, "layer2", 0).child("downsample").child("1").buffer("running_var")));
    EXPECT_EQ(rec["moved"]["to"], "layer1.2");
    p->eval();
    EXPECT_EQ(p->forward(input()).shape(), out_shape);
    check_trains(*p, input());
    EXPECT_TRUE(state_equal(m, *snapshot));  // input untouched
  }
}

TEST(Morphism, PruneActionsAndResNet18) {
  auto r = resnet18(10);
  test::randomize_norms(*r);
  const Tensor x = test::randn({2, 3, 32, 32}, DType::f32, 3);
  const int64_t macs0 = profile_cost(*r, {1, 3, 32, 32}).macs;
  nlohmann::json rec;
  auto lp = f_evolve(*r, MorphAction::layer_prune(), &rec);
  EXPECT_EQ(rec["layer_prune"]["candidates"].size(), 5u);  // layer1.0, 1.1, 2.1, 3.1, 4.1
  EXPECT_LT(profile_cost(*lp, {1, 3, 32, 32}).macs, macs0);
  EXPECT_LT(rec["params_after"].get<int64_t>(), rec["params_before"].get<int64_t>());
  EXPECT_EQ(rec["depths_after"].size(), 4u);
  auto cp = f_evolve(*lp, MorphAction::channel_prune(0.2), &rec);
  EXPECT_GT(rec["channel_prune"]["channels_before"].get<int64_t>(),
            rec["channel_prune"]["channels_after"].get<int64_t>());
  auto ad = f_evolve(*cp, MorphAction::add_layer(4), &rec);
  auto ra = f_evolve(*ad, MorphAction::rearrange(4, false), &rec);
  EXPECT_EQ(ra->child<Sequential>("layer3").size() + ra->child<Sequential>("layer4").size(),
            cp->child<Sequential>("layer3").size() + cp->child<Sequential>("layer4").size() + 1);
  check_trains(*ra, x);
  EXPECT_EQ(r->child<Sequential>("layer1").size(), 2u);  // untouched
}

TEST(Morphism, SmNasBackbone) {
  auto b = smnas_backbone("basicblock_8_1-21-21-12");
  test::randomize_norms(*b);
  b->eval();
  Tensor x = test::randn({2, 3, 32, 32}, DType::f32, 4);
  Tensor want = b->forward(x);
  auto n = f_evolve(*b, MorphAction::add_layer(3, 1));
  EXPECT_EQ(test::max_abs_diff(n->forward(x), want), 0.0);
  auto n2 = f_evolve(*n, MorphAction::rearrange(3, true));
  auto n3 = f_evolve(*n2, MorphAction::channel_prune(0.25, true));
  auto n4 = f_evolve(*n3, MorphAction::layer_prune());
  EXPECT_EQ(n4->forward(x).shape(), want.shape());
  check_trains(*n4, x);
  // "12": layer2's last block doubles the channels, so it cannot leave the end of its stage.
  auto d = smnas_backbone("basicblock_8_1-12-1-1");
  const std::string e = error_of(*d, MorphAction::rearrange(2, true));
  EXPECT_NE(e.find("layer2.1 has a downsample branch"), std::string::npos) << e;
}

TEST(Morphism, JsonRoundTrip) {
  std::vector<MorphAction> all = {MorphAction::add_layer(2, 1),
                                  MorphAction::add_layer(4),
                                  MorphAction::rearrange(1, true),
                                  MorphAction::rearrange(3, false),
                                  MorphAction::layer_prune(),
                                  MorphAction::layer_prune("layer3.1"),
                                  MorphAction::channel_prune(0.1),
                                  MorphAction::channel_prune(0.3, true),
                                  MorphAction::channel_prune_threshold(1e-3)};
  MorphAction residual = MorphAction::channel_prune(0.2);
  residual.channel.prune_residual = true;
  residual.channel.min_units = 4;
  all.push_back(residual);
  for (const auto& a : all) {
    const nlohmann::json j = a.to_json();
    const MorphAction b = MorphAction::from_json(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(b.to_json(), j) << j.dump();
    EXPECT_TRUE(a == b);
  }
  const MorphAction r = MorphAction::from_json(all.back().to_json());
  EXPECT_TRUE(r.channel.prune_residual);
  EXPECT_EQ(r.channel.min_units, 4);
  EXPECT_EQ(MorphAction::rearrange(3, false).to_json().dump(),
            R"({"direction":"to_prev","stage":3,"type":"rearrange"})");
  auto err = [](const std::string& s) {
    try {
      MorphAction::from_json(nlohmann::json::parse(s));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  EXPECT_NE(err(R"({"type":"grow"})").find("unknown action \"grow\""), std::string::npos);
  EXPECT_NE(err(R"({"stage":1})").find("key 'type' is missing"), std::string::npos);
  EXPECT_NE(err(R"({"type":"add_layer"})").find("key 'stage' is missing"), std::string::npos);
  EXPECT_NE(err(R"({"type":"rearrange","stage":1,"direction":"up"})").find("key 'direction'"),
            std::string::npos);
  EXPECT_NE(err(R"({"type":"add_layer","stage":"two"})").find("key 'stage'"), std::string::npos);
  EXPECT_NE(err(R"({"type":"channel_prune"})").find("exactly one of 'percent' and 'threshold'"),
            std::string::npos);
  EXPECT_NE(err("[1]").find("expected a JSON object"), std::string::npos);
}

TEST(Morphism, ImpossibleActionsNameWhatIsWrong) {
  TinyResNet m(true, 1, {1, 2, 1});
  auto has = [&](const MorphAction& a, const std::string& what) {
    const std::string e = error_of(m, a);
    EXPECT_NE(e.find(what), std::string::npos) << e;
  };
  has(MorphAction::add_layer(5), "stage 5 does not exist");
  has(MorphAction::add_layer(2, 7), "position 7 out of range for layer2");
  has(MorphAction::rearrange(3, true), "stage 4 does not exist");
  has(MorphAction::rearrange(1, false), "stage 0 does not exist");
  has(MorphAction::rearrange(1, true), "layer1 has only one block");
  has(MorphAction::layer_prune("layer1.0"), "only block of layer1");
  has(MorphAction::channel_prune(1.5), "percent must be in [0, 1), got 1.5");
  has(MorphAction::channel_prune_threshold(-1), "threshold must be finite and >= 0");
  EXPECT_EQ(m.child<Sequential>("layer2").size(), 2u);
}

// GN + WS SM-NAS backbones: new and rebuilt blocks get the same conv / norm kinds, add_layer still
// keeps the function exactly (GroupNorm gamma = beta = 0 gives 0), channel pruning refuses
// (WSConv2d standardizes over the input channels).
TEST(Morphism, GroupNormWeightStandardizedBackbone) {
  SmNasBackboneOptions o;
  o.weight_standardization = true;
  o.norm_layer = [](int64_t c) { return std::make_shared<GroupNorm>(4, c); };
  auto b = smnas_backbone("basicblock_8_1-21-21-12", o);
  b->eval();
  Tensor x = test::randn({2, 3, 32, 32}, DType::f32, 4);
  Tensor want = b->forward(x);
  auto n = f_evolve(*b, MorphAction::add_layer(2, 1));
  EXPECT_EQ(test::max_abs_diff(n->forward(x), want), 0.0);
  EXPECT_EQ(block(*n, "layer2", 1).child("conv1").type_name(), "WSConv2d");
  EXPECT_EQ(block(*n, "layer2", 1).child("bn1").type_name(), "GroupNorm");
  auto r = f_evolve(*n, MorphAction::rearrange(2, false));
  EXPECT_EQ(block(*r, "layer1", 1).child("bn2").type_name(), "GroupNorm");
  check_trains(*r, x);
  const std::string e = error_of(*b, MorphAction::channel_prune(0.1));
  EXPECT_NE(e.find("layer1.0.conv1 is a WSConv2d"), std::string::npos) << e;
}
