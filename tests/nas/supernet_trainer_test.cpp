// nas/supernet_trainer on a tiny test-only supernet (two ElasticConv2d with elastic width and
// kernel + an ElasticLinear head): gradient accumulation over sandwich subnets equals the sum of
// the subnets' own gradients; in-place distillation gives zero KD for the largest subnet; the loss
// falls on a toy problem.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/reduction.h"
#include "nas/supernet_trainer.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/optim/sgd.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace detforge;
using namespace detforge::nas;

namespace {

class TinySupernet : public nn::Cloneable<TinySupernet, nn::Supernet> {
 public:
  TinySupernet() {
    nn::ElasticConv2dOptions o1;
    o1.max_in_channels = 2;
    o1.max_out_channels = 8;
    o1.kernel_sizes = {3, 5};
    o1.bias = true;
    register_module("conv1", std::make_shared<nn::ElasticConv2d>(o1));
    nn::ElasticConv2dOptions o2;
    o2.max_in_channels = 8;
    o2.max_out_channels = 8;
    o2.kernel_sizes = {3};
    o2.stride = 2;
    o2.bias = true;
    register_module("conv2", std::make_shared<nn::ElasticConv2d>(o2));
    register_module("fc", std::make_shared<nn::ElasticLinear>(8, 3));
    nn::StageChoices s0;
    s0.width_mults = {0.5, 1.0};
    s0.kernel_sizes = {3, 5};
    nn::StageChoices s1;
    s1.width_mults = {0.5, 0.75, 1.0};
    space_.stages = {s0, s1};
    set_active(space_.largest());
  }
  std::string type_name() const override { return "TinySupernet"; }
  const nn::SearchSpace& space() const override { return space_; }
  void set_active(const nn::ArchConfig& cfg) override {
    space_.check(cfg, "TinySupernet");
    child<nn::ElasticConv2d>("conv1").set_active(static_cast<int64_t>(8 * cfg.stages[0].width_mult),
                                                 cfg.stages[0].kernel_sizes[0]);
    child<nn::ElasticConv2d>("conv2").set_active(static_cast<int64_t>(8 * cfg.stages[1].width_mult),
                                                 3);
    active_ = cfg;
  }
  Tensor forward(const Tensor& x) override { return forward_features(x).back(); }
  std::vector<Tensor> forward_features(const Tensor& x) override {
    Tensor h = relu(child("conv1").forward(x));
    h = relu(child("conv2").forward(h));
    return {h, child("fc").forward(mean(h, {2, 3}))};
  }
  std::shared_ptr<nn::Module> extract_subnet(const nn::ArchConfig&) const override {
    throw ConfigError("[TinySupernet] extract_subnet is not needed by these tests");
  }

 private:
  nn::SearchSpace space_;
};

std::unique_ptr<nn::SGD> make_sgd(nn::Module& m, double lr) {
  nn::ParamGroup g;
  g.params = m.parameters();
  g.lr = lr;
  g.momentum = 0.9;
  return std::make_unique<nn::SGD>(std::vector<nn::ParamGroup>{g});
}

struct Toy {
  Tensor x, y;
};
Toy toy(uint64_t seed) {
  Generator gen(seed);
  return {randn({12, 2, 8, 8}, gen), randint(0, 3, {12}, gen)};
}

TEST(SupernetTrainer, AccumulationEqualsSumOfSubnetGradients) {
  manual_seed(5);
  auto net = std::make_shared<TinySupernet>();
  Toy d = toy(1);
  SubnetSampler sampler({SamplerKind::sandwich, 2}, 9);
  auto archs = sampler.sample(net->space());
  ASSERT_EQ(archs.size(), 4u);
  const auto largest = net->space().largest();
  SupernetTrainerOptions opt;
  opt.kd_temperature = 2.0;
  opt.kd_weight = 0.7;
  opt.ce_weight = 0.5;

  auto joint = net->clone_as<TinySupernet>();
  auto sgd = make_sgd(*joint, 0.1);
  SupernetTrainer tr(*joint, *sgd, sampler, opt);
  auto st = tr.accumulate(d.x, d.y, archs, largest);
  ASSERT_EQ(st.subnets.size(), 4u);

  // Each subnet alone on a fresh copy (a non-largest subnet alone gets its teacher from the extra
  // no-grad forward of the largest: the same logits as in the sandwich).
  std::map<std::string, std::vector<float>> sum;
  for (size_t i = 0; i < archs.size(); ++i) {
    auto one = net->clone_as<TinySupernet>();
    auto sgd1 = make_sgd(*one, 0.1);
    SupernetTrainer tr1(*one, *sgd1, sampler, opt);
    auto st1 = tr1.accumulate(d.x, d.y, {archs[i]}, largest);
    EXPECT_NEAR(st1.subnets[0].loss, st.subnets[i].loss, 1e-5) << i;
    for (auto& [name, p] : one->named_parameters()) {
      if (!p.grad().defined()) continue;
      auto g = p.grad().to_vector<float>();
      auto& acc = sum[name];
      if (acc.empty()) acc.assign(g.size(), 0.f);
      for (size_t k = 0; k < g.size(); ++k) acc[k] += g[k];
    }
  }
  for (auto& [name, p] : joint->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    auto g = p.grad().to_vector<float>();
    const auto& ref = sum.at(name);
    double max_err = 0, max_ref = 0;
    for (size_t k = 0; k < g.size(); ++k) {
      max_err = std::max(max_err, std::abs(double(g[k]) - ref[k]));
      max_ref = std::max(max_ref, std::abs(double(ref[k])));
    }
    EXPECT_LT(max_err, 1e-5 * (1 + max_ref)) << name;
    EXPECT_GT(max_ref, 0) << name;
  }
}

TEST(SupernetTrainer, InplaceDistillationZeroForLargest) {
  manual_seed(6);
  TinySupernet net;
  Toy d = toy(2);
  Tensor logits = net.forward(d.x);
  EXPECT_NEAR(distillation_loss(logits, logits.detach(), 1.0).item(), 0.0, 1e-6);
  EXPECT_NEAR(distillation_loss(logits, logits.detach(), 4.0).item(), 0.0, 1e-5);
  SubnetSampler sampler({SamplerKind::sandwich, 1}, 3);
  auto sgd = make_sgd(net, 0.05);
  SupernetTrainer tr(net, *sgd, sampler);
  auto st = tr.step(d.x, d.y, net.space());
  ASSERT_EQ(st.subnets.size(), 3u);
  EXPECT_EQ(st.subnets[0].arch, net.space().largest());
  EXPECT_EQ(st.subnets[0].kd, 0.0);
  EXPECT_DOUBLE_EQ(st.subnets[0].loss, st.subnets[0].ce);
  EXPECT_GT(st.subnets[1].kd, 0.0) << "the smallest subnet differs from its teacher";
  EXPECT_EQ(net.active(), net.space().largest()) << "step() leaves the largest subnet active";
  EXPECT_THROW(distillation_loss(logits, logits.narrow(0, 0, 2), 1.0), ShapeError);
}

TEST(SupernetTrainer, LossDecreasesOnAToyProblem) {
  manual_seed(7);
  TinySupernet net;
  Toy d = toy(3);
  SubnetSampler sampler({SamplerKind::sandwich, 2}, 4);
  auto sgd = make_sgd(net, 0.05);
  SupernetTrainerOptions opt;
  opt.grad_clip_norm = 5.0;
  SupernetTrainer tr(net, *sgd, sampler, opt);
  double first_l = 0, first_s = 0, last_l = 0, last_s = 0;
  for (int step = 0; step < 30; ++step) {
    auto st = tr.step(d.x, d.y, net.space());
    if (step == 0) first_l = st.subnets[0].ce, first_s = st.subnets[1].ce;
    last_l = st.subnets[0].ce;
    last_s = st.subnets[1].ce;
  }
  EXPECT_LT(last_l, 0.8 * first_l) << first_l << " -> " << last_l;
  EXPECT_LT(last_s, first_s) << first_s << " -> " << last_s;
}

}  // namespace
