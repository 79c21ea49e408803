// ElasticResNet supernets (Joint-DetNAS and OFA-ResNet50 spaces): extract_subnet equals the active
// path (eval with randomized BN statistics, and train mode), gradients of inactive slices and
// skipped blocks are exactly zero (and the active slices' gradients equal the subnet's),
// safetensors round trips, torchvision key / shape / MAC equality of the width-1.0 subnets,
// ConfigError on configs outside the space.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/reduction.h"
#include "nas/profiler/flops.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/elastic/elastic_resnet.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;
using detforge::test::rand_uniform;
using detforge::test::randn;

namespace {

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("detforge_eresnet_" + name)).string();
}

// Small versions of the presets (same rules, fewer / narrower blocks) for 32x32 inputs.
ElasticResNetOptions small_joint(bool bottleneck) {
  ElasticResNetOptions o = joint_detnas_resnet_options(bottleneck, 10);
  o.planes =
      bottleneck ? std::vector<int64_t>{8, 16, 24, 32} : std::vector<int64_t>{16, 24, 32, 48};
  o.stem_channels = 16;
  o.stages[0].depths = {1, 2};
  o.stages[1].depths = {1, 2};
  o.stages[2].depths = {2, 3};
  o.stages[3].depths = {1, 2};
  return o;
}
ElasticResNetOptions small_ofa() {
  ElasticResNetOptions o = ofa_resnet50_options(0);  // backbone only
  o.planes = {16, 32, 48, 64};
  o.stem_channels = 32;
  for (auto& s : o.stages) s.depths = {1, 2};
  return o;
}
ElasticResNetOptions small_fmnist() {
  ElasticResNetOptions o = small_resnet_options(10, 1);
  EXPECT_EQ(o.stem, "small");
  return o;
}

void randomize_bn(Module& m, uint64_t seed) {
  NoGradGuard ng;
  m.apply([&](Module& l) {
    if (!dynamic_cast<ElasticBatchNorm2d*>(&l)) return;
    const int64_t c = l.param("weight").size(0);
    raw::copy(l.param("weight"), rand_uniform({c}, 0.5, 1.5, DType::f32, seed++));
    raw::copy(l.param("bias"), rand_uniform({c}, -0.2, 0.2, DType::f32, seed++));
    raw::copy(l.buffer("running_mean"), rand_uniform({c}, -0.2, 0.2, DType::f32, seed++));
    raw::copy(l.buffer("running_var"), rand_uniform({c}, 0.5, 2.0, DType::f32, seed++));
  });
}

std::vector<ArchConfig> test_configs(const ElasticResNet& net, int n_random, uint64_t seed) {
  std::vector<ArchConfig> cfgs{net.space().largest(), net.space().smallest()};
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n_random; ++i) cfgs.push_back(net.sample(rng));
  return cfgs;
}

void expect_extract_equal(const ElasticResNetOptions& o, int64_t res, uint64_t seed) {
  ElasticResNet net(o);
  randomize_bn(net, seed);
  Tensor x = randn({2, o.in_channels, res, res}, DType::f32, seed + 1000);
  for (const ArchConfig& cfg : test_configs(net, 3, seed)) {
    SCOPED_TRACE(arch_config_to_json(cfg).dump());
    net.set_active(cfg);
    EXPECT_EQ(net.active(), cfg);
    // eval
    net.eval();
    auto sub = net.extract(cfg);
    EXPECT_FALSE(sub->is_training());
    EXPECT_EQ(elastic_resnet_macs(o, cfg, res, res),
              nas::profile_cost(*sub, {1, o.in_channels, res, res}).macs);
    // the profiler's elastic rule: the supernet with cfg active costs what its subnet costs
    nas::ModelCost sn = nas::profile_cost(net, {1, o.in_channels, res, res});
    EXPECT_EQ(sn.macs, elastic_resnet_macs(o, cfg, res, res));
    EXPECT_TRUE(sn.uncounted.empty());
    EXPECT_EQ(net.active(), cfg);
    net.eval();
    NoGradGuard ng;
    DF_EXPECT_CLOSE(sub->forward(x), net.forward(x), 1e-5);
    auto fs = sub->forward_features(x), fn = net.forward_features(x);
    ASSERT_EQ(fs.size(), fn.size());
    for (size_t i = 0; i < fs.size(); ++i) DF_EXPECT_CLOSE(fs[i], fn[i], 1e-5);
    // train (batch statistics); the subnet is extracted from a training supernet
    net.train();
    auto subt = std::dynamic_pointer_cast<StaticResNet>(net.extract_subnet(cfg));
    ASSERT_TRUE(subt && subt->is_training());
    DF_EXPECT_CLOSE(subt->forward(x), net.forward(x), 1e-5);
    // running stats were updated identically
    net.eval();
    subt->eval();
    DF_EXPECT_CLOSE(subt->forward(x), net.forward(x), 1e-5);
  }
}

}  // namespace

TEST(ElasticResNet, ExtractEqualsActivePathJointBasic) {
  expect_extract_equal(small_joint(false), 32, 1);
}
TEST(ElasticResNet, ExtractEqualsActivePathJointBottleneck) {
  expect_extract_equal(small_joint(true), 32, 2);
}
TEST(ElasticResNet, ExtractEqualsActivePathOfa) {
  expect_extract_equal(small_ofa(), 32, 3);
}
TEST(ElasticResNet, ExtractEqualsActivePathSmallStem) {
  expect_extract_equal(small_fmnist(), 28, 4);
}

// The supernet's gradient on every tensor is the subnet's gradient on the prefix slice and exactly
// zero elsewhere; skipped blocks and unused downsample branches get no gradient at all.
TEST(ElasticResNet, InactiveSlicesAndSkippedBlocksGetZeroGradient) {
  for (const auto& o : {small_joint(true), small_ofa(), small_joint(false)}) {
    ElasticResNet net(o);
    randomize_bn(net, 7);
    std::mt19937_64 rng(11);
    ArchConfig cfg = net.sample(rng);
    cfg.stages[1].depth = 1;  // a skipped block for sure
    if (!cfg.stages[1].expand_ratios.empty()) cfg.stages[1].expand_ratios.resize(1);
    cfg.stages[2].width_mult = net.space().stages[2].width_mults.front();  // not the widest
    SCOPED_TRACE(arch_config_to_json(cfg).dump());
    net.set_active(cfg);
    net.train();
    auto sub = net.extract(cfg);
    Tensor x = randn({2, 3, 16, 16}, DType::f32, 12);
    Tensor y = net.forward(x);
    Tensor r = randn(y.shape(), DType::f32, 13);
    sum(mul(y, r)).backward();
    sum(mul(sub->forward(x), r)).backward();
    std::map<std::string, Tensor> sub_params;
    for (auto& [n, p] : sub->named_parameters()) sub_params[n] = p;
    int64_t checked = 0, untouched = 0;
    for (auto& [name, p] : net.named_parameters()) {
      auto it = sub_params.find(name);
      if (it == sub_params.end()) {  // skipped block / unused branch
        EXPECT_TRUE(!p.grad().defined() || sum(abs(p.grad())).item() == 0.0) << name;
        ++untouched;
        continue;
      }
      const Tensor& sg = it->second.grad();
      ASSERT_TRUE(p.grad().defined() && sg.defined()) << name;
      Tensor g = p.grad().clone(), pre = g;
      for (int64_t d = 0; d < g.dim(); ++d) pre = pre.narrow(d, 0, sg.size(d));
      DF_EXPECT_CLOSE(pre, sg, 1e-4);
      raw::fill(pre, 0.0);
      EXPECT_EQ(sum(abs(g)).item(), 0.0) << name << ": gradient outside the active slice";
      ++checked;
    }
    EXPECT_GT(checked, 10);
    EXPECT_GT(untouched, 0);
  }
}

// float64 finite differences through a sub-width, sub-depth path: the analytic gradient matches
// on the active slices, and on the inactive ones (rows 8..15 of layer1.0.conv1, columns 16..31 of
// fc, the skipped block) both the analytic and the numerical gradient are zero.
TEST(ElasticResNet, Float64GradcheckOnActiveAndInactiveSlices) {
  ElasticResNetOptions o;
  o.stem = "small";
  o.stem_channels = 8;
  o.in_channels = 1;
  o.num_classes = 3;
  o.planes = {16, 32};
  o.stages = {StageChoices{{1, 2}, {0.5, 1.0}, {}, {}}, StageChoices{{1, 2}, {0.5, 1.0}, {}, {}}};
  ElasticResNet net(o);
  randomize_bn(net, 31);
  for (auto& [path, m] : net.named_modules()) {
    for (auto& [n, p] : m->named_parameters(false)) m->set_parameter(n, p.to(DType::f64));
    for (auto& [n, b] : m->named_buffers(false))
      if (b.dtype() == DType::f32) m->set_buffer(n, b.to(DType::f64));
  }
  ArchConfig cfg = net.space().smallest();  // widths 8 / 16 of 16 / 32, one block per stage
  net.set_active(cfg);
  net.eval();
  const std::vector<std::string> names{"layer1.0.conv1.weight", "fc.weight",
                                       "layer2.1.conv1.weight"};
  std::vector<Tensor> params, pristine;
  for (const auto& n : names) {
    const size_t dot = n.rfind('.');
    params.push_back(net.submodule(n.substr(0, dot)).param(n.substr(dot + 1)));
    pristine.push_back(params.back().detach().clone());
  }
  Tensor x = randn({1, 1, 5, 5}, DType::f64, 32).set_requires_grad(true);
  auto f = [&](const std::vector<Tensor>& in) {
    for (size_t k = 0; k < params.size(); ++k)
      raw::copy(params[k], in[k + 1].data_ptr() == params[k].data_ptr() ? pristine[k] : in[k + 1]);
    return net.forward(in[0]);
  };
  std::vector<Tensor> inputs{x};
  inputs.insert(inputs.end(), params.begin(), params.end());
  GradcheckResult r = gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(ElasticResNet, ReorganizeChannelsPreservesTheFullMidNetworkAndSortsImportance) {
  for (const auto& o : {small_joint(true), small_joint(false)}) {
    ElasticResNet net(o);
    randomize_bn(net, 41);
    net.eval();
    Tensor x = randn({1, 3, 32, 32}, DType::f32, 42);
    NoGradGuard ng;
    Tensor before = net.forward(x);
    net.reorganize_channels();
    DF_EXPECT_CLOSE(net.forward(x), before, 1e-5);
    // conv1's outputs now come in decreasing importance for conv2.
    Tensor w2 = net.submodule("layer2.0.conv2").param("weight");
    std::vector<float> v = raw::contiguous(w2).to_vector<float>();
    const int64_t out = w2.size(0), in = w2.size(1), kk = w2.size(2) * w2.size(3);
    double prev = 1e30;
    for (int64_t c = 0; c < in; ++c) {
      double imp = 0;
      for (int64_t r = 0; r < out; ++r)
        for (int64_t j = 0; j < kk; ++j) imp += std::fabs(v[(r * in + c) * kk + j]);
      EXPECT_LE(imp, prev + 1e-6) << "channel " << c;
      prev = imp;
    }
  }
}

TEST(ElasticResNet, SafetensorsRoundTripReproducesOutputs) {
  ElasticResNetOptions o = small_joint(true);
  ElasticResNet a(o), b(o);
  randomize_bn(a, 21);
  const std::string p = tmp_path("super.safetensors");
  save_state_dict(a, p);
  load_module(b, p);
  std::mt19937_64 rng(5);
  ArchConfig cfg = a.sample(rng);
  a.set_active(cfg);
  b.set_active(cfg);
  a.eval();
  b.eval();
  Tensor x = randn({1, 3, 32, 32}, DType::f32, 22);
  NoGradGuard ng;
  Tensor ya = a.forward(x);
  EXPECT_EQ(test::rel_l2(b.forward(x), ya), 0.0);
  // A deep clone keeps the active config and the weights.
  auto cl = a.clone_as<ElasticResNet>();
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->active(), cfg);
  EXPECT_EQ(test::rel_l2(cl->forward(x), ya), 0.0);
  // The extracted subnet round-trips through a file into another extraction.
  auto sa = a.extract(cfg);
  const std::string ps = tmp_path("sub.safetensors");
  save_state_dict(*sa, ps);
  ElasticResNet c(o);
  c.eval();
  auto sc = c.extract(cfg);
  load_module(*sc, ps);
  DF_EXPECT_CLOSE(sc->forward(x), ya, 1e-5);
  std::filesystem::remove(p);
  std::filesystem::remove(ps);
}

TEST(ElasticResNet, SetActiveRejectsConfigsOutsideTheSpace) {
  ElasticResNet net(small_joint(true));
  ArchConfig cfg = net.space().largest();
  cfg.stages[2].depth = 7;
  try {
    net.set_active(cfg);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[nn.ElasticResNet] stages[2].depth: 7 not in {2, 3}"),
              std::string::npos)
        << e.what();
  }
  cfg = net.space().largest();
  cfg.stages[0].width_mult = 2.0;
  EXPECT_THROW(net.set_active(cfg), ConfigError);
  cfg = net.space().largest();
  cfg.stages[0].channels = 33;
  EXPECT_THROW(net.set_active(cfg), ConfigError);
  cfg.stages[0].channels = net.stage_out_channels(0, 1.5);
  EXPECT_NO_THROW(net.set_active(cfg));
  cfg = net.space().largest();
  cfg.block_type = "basic";
  EXPECT_THROW(net.set_active(cfg), ConfigError);
  // The failed calls left the previous active config in place.
  EXPECT_EQ(net.active().stages[0].channels, net.stage_out_channels(0, 1.5));
  EXPECT_THROW(ElasticResNet(ElasticResNetOptions{}), ConfigError);  // no stages
}

TEST(ElasticResNet, ConstrainedSamplesStayInsideTheSpace) {
  ElasticResNet net(small_ofa());
  std::mt19937_64 rng(3);
  for (int i = 0; i < 10; ++i) {
    ArchConfig cfg =
        net.sample(rng, [](const ArchConfig& c) { return c.stages[3].width_mult < 1.0; });
    EXPECT_TRUE(net.space().contains(cfg));
    EXPECT_LT(cfg.stages[3].width_mult, 1.0);
    net.set_active(cfg);
    EXPECT_EQ(net.active(), cfg);
    const auto specs = net.block_specs(cfg);
    EXPECT_EQ(static_cast<int64_t>(specs[3].size()), cfg.stages[3].depth);
  }
  EXPECT_THROW(net.sample(
                   rng, [](const ArchConfig&) { return false; }, 5),
               ConfigError);
}

// The OFA-ResNet50 rules, checked on the options (building the 60M-parameter supernet is slow).
TEST(ElasticResNet, OfaResNet50ChannelRules) {
  const ElasticResNetOptions o = ofa_resnet50_options(0);
  EXPECT_DOUBLE_EQ(elastic_resnet_space(o).size(),
                   std::pow(3.0 * (9 + 27 + 81), 3) * 3.0 * (81 + 243 + 729));
  const std::vector<int64_t> w065{168, 336, 664, 1328}, w08{208, 408, 816, 1640},
      w1{256, 512, 1024, 2048};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(elastic_resnet_stage_channels(o, s, 0.65), w065[s]);
    EXPECT_EQ(elastic_resnet_stage_channels(o, s, 0.8), w08[s]);
    EXPECT_EQ(elastic_resnet_stage_channels(o, s, 1.0), w1[s]);
  }
  EXPECT_EQ(elastic_resnet_mid_channels(2048, 0.35), 720);  // 716.8 -> 717 -> 720
  EXPECT_EQ(elastic_resnet_mid_channels(168, 0.2), 32);     // 33.6 -> 34 -> 32
  EXPECT_EQ(elastic_resnet_mid_channels(256, 0.25), 64);
  EXPECT_EQ(elastic_resnet_stem(o).mid_channels, 32);
  EXPECT_EQ(elastic_resnet_stem(o).kind, "ofa");
  auto specs = elastic_resnet_block_specs(o, elastic_resnet_space(o).largest());
  const std::vector<size_t> depths{4, 4, 6, 4};
  for (size_t s = 0; s < 4; ++s) EXPECT_EQ(specs[s].size(), depths[s]);
  EXPECT_EQ(specs[3][0].in_channels, 1024);
  EXPECT_EQ(specs[3][0].mid_channels, 720);
  EXPECT_EQ(specs[3][0].stride, 2);
  // Joint-DetNAS: width 1.25 / 1.5 of torchvision, mid = planes x width.
  const ElasticResNetOptions j = joint_detnas_resnet_options(true);
  EXPECT_EQ(elastic_resnet_space(j).stages[2].depths.size(), 22u);
  auto js = elastic_resnet_block_specs(j, elastic_resnet_space(j).largest());
  EXPECT_EQ(js[2].size(), 23u);
  EXPECT_EQ(js[2][0].out_channels, 1536);
  EXPECT_EQ(js[2][0].mid_channels, 384);
  EXPECT_EQ(elastic_resnet_stage_channels(j, 0, 1.25), 320);
  ArchConfig bad = elastic_resnet_space(j).largest();
  bad.stages[3].depth = 4;
  EXPECT_THROW(elastic_resnet_block_specs(j, bad), ConfigError);
}

namespace {
StageConfig stage(int64_t depth, double width) {
  StageConfig s;
  s.depth = depth;
  s.width_mult = width;
  return s;
}
void expect_same_keys_and_shapes(const Module& got, const Module& want) {
  StateDict a = got.state_dict(), b = want.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (auto& [k, v] : b) {
    auto it = a.find(k);
    ASSERT_NE(it, a.end()) << k;
    EXPECT_EQ(it->second.shape(), v.shape()) << k;
  }
}
}  // namespace

// Depth choices capped at torchvision's and (for resnet50) width 1.0 only, to keep the test fast:
// building a model costs ~100 ns per parameter here (serial random init).
TEST(ElasticResNet, TorchvisionWidthSubnetsHaveTorchvisionKeysShapesAndMacs) {
  {
    ElasticResNetOptions o = joint_detnas_resnet_options(false, 1000);
    for (auto& s : o.stages) s.depths = {1, 2};
    o.stages[0].width_mults = {1.0, 1.25};  // layer1.0 owns a downsample that w = 1.0 skips
    for (size_t s = 1; s < 4; ++s) o.stages[s].width_mults = {1.0};
    ElasticResNet net(o);
    ArchConfig cfg = net.space().largest();
    for (auto& s : cfg.stages) s = stage(2, 1.0);
    auto sub = net.extract(cfg);
    expect_same_keys_and_shapes(*sub, *resnet18(1000));
    EXPECT_EQ(net.state_dict().count("layer1.0.downsample.0.weight"), 1u);
  }
  ElasticResNetOptions o = joint_detnas_resnet_options(true, 1000);
  const int64_t d[4] = {3, 4, 6, 3};
  for (int s = 0; s < 4; ++s) {
    o.stages[s].depths = {d[s] - 1, d[s]};
    o.stages[s].width_mults = {1.0};
  }
  ElasticResNet net(o);
  ArchConfig cfg = net.space().largest();
  auto sub = net.extract(cfg);
  auto ref = resnet50(1000);
  expect_same_keys_and_shapes(*sub, *ref);
  // MACs at 224 from the rules (equal to profile_cost of extracted subnets in the tests above) are
  // torchvision's, as tests/nas/profiler_test.cpp measures them on nn::resnet50 / resnet18.
  EXPECT_EQ(elastic_resnet_macs(o, cfg, 224, 224), 4089184256);
  EXPECT_EQ(elastic_resnet_macs(o, cfg, 97, 97), nas::profile_cost(*sub, {1, 3, 97, 97}).macs);
  ElasticResNetOptions o18 = joint_detnas_resnet_options(false, 1000);
  ArchConfig c18 = elastic_resnet_space(o18).smallest();  // depths 2, width 1.0
  EXPECT_EQ(elastic_resnet_macs(o18, c18, 224, 224), 1814073344);
  EXPECT_EQ(elastic_resnet_macs(o18, c18, 97, 97), 440843456);
  // resnet50's weights load strictly into the extracted subnet.
  EXPECT_NO_THROW(sub->load_state_dict(ref->state_dict(), true));
}
