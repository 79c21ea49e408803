// Optimizers, clipping and LR schedules against PyTorch 1.13 fixtures
// (scripts/fixtures/gen_optim_fixtures.py), BN-sparsity, state round trips, CUDA vs CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "nn/optim/adamw.h"
#include "nn/optim/clip.h"
#include "nn/optim/schedule.h"
#include "nn/optim/sgd.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::nn {
namespace {

std::string fixture(const std::string& name) {
  return std::string(DETFORGE_FIXTURE_DIR) + "/optim/" + name + ".safetensors";
}

ParamGroup group_from_hparams(const nlohmann::json& h) {
  ParamGroup g;
  g.lr = h.at("lr").get<double>();
  g.weight_decay = h.value("weight_decay", 0.0);
  g.momentum = h.value("momentum", 0.0);
  g.dampening = h.value("dampening", 0.0);
  g.nesterov = h.value("nesterov", false);
  if (h.contains("betas")) {
    g.beta1 = h["betas"][0].get<double>();
    g.beta2 = h["betas"][1].get<double>();
  }
  g.eps = h.value("eps", 1e-8);
  g.amsgrad = h.value("amsgrad", false);
  return g;
}

std::unique_ptr<Optimizer> make(bool adamw, std::vector<ParamGroup> groups) {
  if (adamw) return std::make_unique<AdamW>(std::move(groups));
  return std::make_unique<SGD>(std::move(groups));
}

void replay(const std::string& name, bool adamw) {
  SafetensorsFile f = load_safetensors(fixture(name));
  nlohmann::json h = nlohmann::json::parse(f.metadata.at("hparams"));
  int steps = std::stoi(f.metadata.at("steps")), n = std::stoi(f.metadata.at("num_params"));
  ParamGroup g = group_from_hparams(h);
  for (int i = 0; i < n; ++i) g.params.push_back(f.tensors.at(str_cat("param.", i)).clone());
  std::vector<Tensor> params = g.params;
  auto opt = make(adamw, {g});
  for (int s = 0; s < steps; ++s) {
    for (int i = 0; i < n; ++i)
      params[i].set_grad(f.tensors.at(str_cat("grad.", s, ".", i)).clone());
    opt->step();
    for (int i = 0; i < n; ++i) {
      SCOPED_TRACE(str_cat(name, " step ", s, " param ", i));
      DF_EXPECT_CLOSE(params[i], f.tensors.at(str_cat("expected.", s, ".", i)), 1e-6);
    }
  }
}

TEST(Optim, SgdNesterovMatchesPyTorch) {
  replay("sgd_nesterov", false);
}
TEST(Optim, SgdDampeningMatchesPyTorch) {
  replay("sgd_dampening", false);
}
TEST(Optim, SgdPlainMatchesPyTorch) {
  replay("sgd_plain", false);
}
TEST(Optim, AdamWMatchesPyTorch) {
  replay("adamw", true);
}
TEST(Optim, AdamWAmsgradMatchesPyTorch) {
  replay("adamw_amsgrad", true);
}

void check_schedule(const std::string& name) {
  SafetensorsFile f = load_safetensors(fixture(name));
  auto sched = schedule_from_json(nlohmann::json::parse(f.metadata.at("schedule")));
  double base = std::stod(f.metadata.at("base_lr"));
  std::vector<double> want = f.tensors.at("lrs").to_vector<double>();
  ParamGroup g;
  g.lr = base;
  g.params.push_back(Tensor::zeros({2}));
  SGD opt({g});
  LRScheduler sch(opt, sched);
  for (size_t it = 0; it < want.size(); ++it) {
    EXPECT_NEAR(sched->lr_at(static_cast<int64_t>(it), base), want[it],
                1e-12 + 1e-9 * std::fabs(want[it]))
        << name << " iter " << it;
    EXPECT_NEAR(opt.param_groups()[0].lr, want[it], 1e-12 + 1e-9 * std::fabs(want[it]))
        << name << " iter " << it;
    sch.step();
  }
}

TEST(Schedule, StepMatchesPyTorch) {
  check_schedule("sched_step");
}
TEST(Schedule, MultiStepMatchesPyTorch) {
  check_schedule("sched_multistep");
}
TEST(Schedule, CosineMatchesPyTorch) {
  check_schedule("sched_cosine");
}
TEST(Schedule, WarmupMultiStepMatchesMmdet) {
  check_schedule("sched_warmup_multistep");
}
TEST(Schedule, WarmupCosineMatchesMmdet) {
  check_schedule("sched_warmup_cosine");
}

TEST(Schedule, StateRoundTrip) {
  ParamGroup g;
  g.lr = 0.1;
  g.params.push_back(Tensor::zeros({2}));
  SGD a({g}), b({g});
  auto s = std::make_shared<WarmupSchedule>(std::make_shared<CosineSchedule>(50, 1e-4), 10, 0.01,
                                            "linear");
  LRScheduler sa(a, s);
  for (int i = 0; i < 13; ++i) sa.step();
  LRScheduler sb(b, std::make_shared<ConstantSchedule>());
  sb.load_state_dict(nlohmann::json::parse(sa.state_dict().dump()));
  EXPECT_EQ(sb.iter(), 13);
  for (int i = 0; i < 5; ++i) {
    EXPECT_DOUBLE_EQ(a.param_groups()[0].lr, b.param_groups()[0].lr);
    sa.step();
    sb.step();
  }
  EXPECT_THROW(WarmupSchedule(s, 5, 0.0), ConfigError);
  EXPECT_THROW(schedule_from_json({{"type", "poly"}}), ConfigError);
}

// BN-sparsity: gamma grads gain lambda * sign(gamma) inside the step; gamma == 0 stays 0.
TEST(Optim, BnSparsitySubgradient) {
  for (bool adamw : {false, true}) {
    const double lambda = 1e-2;
    Tensor gamma = Tensor::from_vector<float>({0.5f, -0.25f, 0.f, 2.f, 0.f, -1.f}, {6});
    Tensor grad = Tensor::from_vector<float>({0.1f, 0.2f, 0.f, -0.3f, 0.f, 0.05f}, {6});
    Tensor w = test::randn({3, 4}, DType::f32, 7), gw = test::randn({3, 4}, DType::f32, 8);
    ParamGroup base;
    base.lr = 0.1;
    base.momentum = 0.9;
    base.weight_decay = 1e-3;
    // With lambda on gamma only (mask), vs. no lambda and the subgradient added by hand.
    ParamGroup gs = base, gr = base;
    Tensor g1 = gamma.clone(), w1 = w.clone(), g2 = gamma.clone(), w2 = w.clone();
    gs.params = {w1, g1};
    gs.bn_sparsity_lambda = lambda;
    gs.bn_sparsity_mask = {false, true};
    gr.params = {w2, g2};
    auto os = make(adamw, {gs});
    auto orf = make(adamw, {gr});
    std::vector<float> gv = gamma.to_vector<float>(), grv = grad.to_vector<float>(), manual(6);
    for (int i = 0; i < 6; ++i)
      manual[i] =
          grv[i] + static_cast<float>(lambda) * (gv[i] > 0 ? 1.f : (gv[i] < 0 ? -1.f : 0.f));
    w1.set_grad(gw.clone());
    g1.set_grad(grad.clone());
    w2.set_grad(gw.clone());
    g2.set_grad(Tensor::from_vector<float>(manual, {6}));
    os->step();
    orf->step();
    DF_EXPECT_CLOSE(w1, w2, 0.0);
    DF_EXPECT_CLOSE(g1, g2, 1e-7);
    std::vector<float> out = g1.to_vector<float>();
    EXPECT_EQ(out[2], 0.f);
    EXPECT_EQ(out[4], 0.f);
    EXPECT_LT(out[0], 0.5f);  // shrinks toward 0 with a positive grad and positive gamma
    // The gradient tensor itself is untouched (the subgradient lives inside the step).
    EXPECT_EQ(g1.grad().to_vector<float>(), grv);
  }
}

TEST(Optim, SplitDecayGroups) {
  std::vector<std::pair<std::string, Tensor>> named = {
      {"conv1.weight", Tensor::zeros({4, 3, 3, 3})},
      {"bn1.weight", Tensor::zeros({4})},
      {"bn1.bias", Tensor::zeros({4})},
      {"fc.weight", Tensor::zeros({10, 4})},
      {"fc.bias", Tensor::zeros({10})}};
  ParamGroup base;
  base.weight_decay = 1e-4;
  base.bn_sparsity_lambda = 1e-5;
  auto groups = split_decay_groups(named, base);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].params.size(), 2u);
  EXPECT_EQ(groups[0].weight_decay, 1e-4);
  EXPECT_EQ(groups[0].bn_sparsity_lambda, 0.0);
  EXPECT_EQ(groups[1].params.size(), 3u);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[1].bn_sparsity_mask, (std::vector<bool>{true, false, false}));
  EXPECT_TRUE(groups[1].params[0].is_same(named[1].second));
}

TEST(Optim, ZeroGradAndSkipsParamsWithoutGrad) {
  Tensor a = test::randn({5}, DType::f32, 1), b = test::randn({3}, DType::f32, 2);
  Tensor b0 = b.clone();
  ParamGroup g;
  g.lr = 0.1;
  g.params = {a, b};
  SGD opt({g});
  a.set_grad(Tensor::ones({5}));
  opt.step();  // b has no grad: unchanged
  DF_EXPECT_CLOSE(b, b0, 0.0);
  opt.zero_grad(false);
  EXPECT_EQ(a.grad().to_vector<float>(), std::vector<float>(5, 0.f));
  opt.zero_grad(true);
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optim, RejectsBadParams) {
  ParamGroup g;
  g.params = {Tensor::zeros({3}, DType::f64)};
  EXPECT_THROW(SGD({g}), DTypeError);
  g.params = {Tensor::zeros({4, 3}).transpose(0, 1)};
  EXPECT_THROW(AdamW({g}), ShapeError);
  Tensor p = Tensor::zeros({4, 3});
  g.params = {p};
  SGD opt({g});
  p.set_grad(Tensor::zeros({3, 4}).transpose(0, 1));
  EXPECT_THROW(opt.step(), ShapeError);
  ParamGroup n;
  n.params = {Tensor::zeros({2})};
  n.nesterov = true;
  EXPECT_THROW(SGD({n}), ConfigError);
}

// Save after 2 steps, load into a fresh optimizer: both continue identically.
void round_trip(bool adamw) {
  ParamGroup g;
  g.lr = 0.05;
  g.momentum = 0.9;
  g.nesterov = true;
  g.weight_decay = 1e-2;
  g.amsgrad = true;
  g.bn_sparsity_lambda = 1e-3;
  g.params = {test::randn({6, 4}, DType::f32, 11), test::randn({9}, DType::f32, 12)};
  ParamGroup g2 = g;
  g2.lr = 0.3;  // overwritten by load_state_dict
  auto a = make(adamw, {g});
  for (int s = 0; s < 2; ++s) {
    for (size_t i = 0; i < g.params.size(); ++i)
      g.params[i].set_grad(test::randn(g.params[i].shape(), DType::f32, 100 + s * 10 + i));
    a->step();
  }
  std::string path =
      ::testing::TempDir() + (adamw ? "adamw_state.safetensors" : "sgd_state.safetensors");
  a->state_dict().save(path);
  g2.params.clear();
  for (const Tensor& p : g.params) g2.params.push_back(p.clone());
  auto b = make(adamw, {g2});
  b->load_state_dict(OptimizerState::load(path));
  EXPECT_EQ(b->param_groups()[0].lr, 0.05);
  for (int s = 2; s < 5; ++s) {
    for (size_t i = 0; i < g.params.size(); ++i) {
      Tensor gr = test::randn(g.params[i].shape(), DType::f32, 100 + s * 10 + i);
      g.params[i].set_grad(gr.clone());
      g2.params[i].set_grad(gr.clone());
    }
    a->step();
    b->step();
    for (size_t i = 0; i < g.params.size(); ++i)
      EXPECT_EQ(g.params[i].to_vector<float>(), g2.params[i].to_vector<float>());
  }
  std::remove(path.c_str());
  auto wrong = make(!adamw, {g2});
  EXPECT_THROW(wrong->load_state_dict(a->state_dict()), ConfigError);
}

TEST(Optim, SgdStateRoundTrip) {
  round_trip(false);
}
TEST(Optim, AdamWStateRoundTrip) {
  round_trip(true);
}

TEST(Clip, GradNorm2AndInf) {
  Tensor a = Tensor::zeros({3}), b = Tensor::zeros({2, 2}), c = Tensor::zeros({2});
  a.set_grad(Tensor::from_vector<float>({3.f, 0.f, -4.f}, {3}));
  b.set_grad(Tensor::from_vector<float>({1.f, 2.f, -2.f, 0.f}, {2, 2}));
  // c has no grad: skipped
  double total = std::sqrt(9.0 + 16.0 + 1.0 + 4.0 + 4.0);
  Tensor t = clip_grad_norm_({a, b, c}, 2.0);
  EXPECT_NEAR(t.item(), total, 1e-6);
  float coef = 2.f / (static_cast<float>(total) + 1e-6f);
  std::vector<float> ga = a.grad().to_vector<float>();
  EXPECT_NEAR(ga[0], 3.f * coef, 1e-6);
  EXPECT_NEAR(ga[2], -4.f * coef, 1e-6);
  // Now under the limit: unchanged, and the returned norm is the (new) total.
  Tensor t2 = clip_grad_norm_({a, b}, 100.0);
  EXPECT_NEAR(t2.item(), 2.0, 1e-5);
  EXPECT_NEAR(a.grad().to_vector<float>()[0], 3.f * coef, 1e-7);
  // inf norm
  a.set_grad(Tensor::from_vector<float>({3.f, 0.f, -4.f}, {3}));
  b.set_grad(Tensor::from_vector<float>({1.f, 2.f, -2.f, 0.f}, {2, 2}));
  Tensor ti = clip_grad_norm_({a, b}, 1.0, kInfNorm);
  EXPECT_FLOAT_EQ(static_cast<float>(ti.item()), 4.f);
  EXPECT_NEAR(a.grad().to_vector<float>()[2], -4.f / (4.f + 1e-6f), 1e-6);
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 1.0), ConfigError);
  EXPECT_EQ(clip_grad_norm_({c}, 1.0).item(), 0.0);
}

TEST(Clip, GradNormLarge) {
  Tensor p = Tensor::zeros({100000});
  Tensor g = test::randn({100000}, DType::f32, 5);
  p.set_grad(g.clone());
  std::vector<float> v = g.to_vector<float>();
  double ss = 0;
  for (float x : v) ss += static_cast<double>(x) * x;
  Tensor t = clip_grad_norm_({p}, 1.0);
  EXPECT_NEAR(t.item(), std::sqrt(ss), 1e-5 * std::sqrt(ss));
  Tensor t2 = clip_grad_norm_({p}, 10.0);
  EXPECT_NEAR(t2.item(), 1.0, 1e-5);
}

TEST(Clip, GradValue) {
  Tensor a = Tensor::zeros({4});
  a.set_grad(Tensor::from_vector<float>({-3.f, 0.5f, 2.f, -0.1f}, {4}));
  clip_grad_value_({a}, 1.0);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{-1.f, 0.5f, 1.f, -0.1f}));
}

TEST(OptimCuda, MatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  for (int kind = 0; kind < 3; ++kind) {
    ParamGroup g;
    g.lr = 0.01;
    g.momentum = 0.9;
    g.nesterov = true;
    g.weight_decay = 1e-2;
    g.amsgrad = kind == 2;
    g.bn_sparsity_lambda = 1e-3;
    std::vector<Shape> shapes = {{64, 3, 7, 7}, {64}, {40000}, {1}, {0}};
    ParamGroup gc = g, gg = g;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor p = test::randn(shapes[i], DType::f32, 30 + i);
      gc.params.push_back(p.clone());
      gg.params.push_back(p.to(cuda_device(0)));
    }
    auto oc = make(kind > 0, {gc});
    auto og = make(kind > 0, {gg});
    for (int s = 0; s < 3; ++s) {
      for (size_t i = 0; i < shapes.size(); ++i) {
        Tensor gr = test::randn(shapes[i], DType::f32, 200 + s * 10 + i);
        gc.params[i].set_grad(gr.clone());
        gg.params[i].set_grad(gr.to(cuda_device(0)));
      }
      oc->step();
      og->step();
    }
    for (size_t i = 0; i < shapes.size(); ++i)
      DF_EXPECT_CLOSE(gg.params[i].to(kCPU), gc.params[i], 1e-6);
    // Clipping on the device.
    Tensor tc = clip_grad_norm_(gc.params, 0.5), tg = clip_grad_norm_(gg.params, 0.5);
    EXPECT_NEAR(tg.item(), tc.item(), 1e-5 * tc.item());
    for (size_t i = 0; i < shapes.size(); ++i)
      DF_EXPECT_CLOSE(gg.params[i].grad().to(kCPU), gc.params[i].grad(), 1e-5);
    Tensor ic = clip_grad_norm_(gc.params, 0.01, kInfNorm),
           ig = clip_grad_norm_(gg.params, 0.01, kInfNorm);
    EXPECT_FLOAT_EQ(static_cast<float>(ig.item()), static_cast<float>(ic.item()));
    clip_grad_value_(gc.params, 1e-3);
    clip_grad_value_(gg.params, 1e-3);
    for (size_t i = 0; i < shapes.size(); ++i)
      DF_EXPECT_CLOSE(gg.params[i].grad().to(kCPU), gc.params[i].grad(), 1e-5);
  }
}

}  // namespace
}  // namespace detforge::nn
