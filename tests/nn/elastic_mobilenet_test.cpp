// nn/elastic/elastic_mobilenet: the OFA/DONNA elastic MobileNet supernet. extract_subnet equals
// the supernet's active path (largest, smallest, random configs; eval mode with randomized BN
// statistics and kernel transforms, and train mode), inactive slices (skipped blocks, inactive
// expand channels, cropped kernel taps) get exactly zero gradient, out-of-space configs are
// rejected naming the key path, sampling stays in the space, safetensors save / load round trips.
// Small widths and 32x32 inputs keep the file fast.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/reduction.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/elastic/elastic_mobilenet.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;
using detforge::test::rand_uniform;
using detforge::test::randn;

namespace {

ElasticMobileNetOptions small_opts(int64_t num_classes = 10) {
  ElasticMobileNetOptions o;
  o.num_classes = num_classes;
  o.width_mult = 0.25;  // stages 8, 8, 16, 24, 40
  o.last_channels = 64;
  o.input_resolution = 32;
  return o;
}

// Random BN affine parameters and running statistics, non-identity kernel transforms, so a
// wrong slice or a skipped transform changes the outputs.
void randomize(Module& m, uint64_t seed) {
  NoGradGuard ng;
  for (auto& [name, t] : m.named_buffers()) {
    auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("running_mean")) raw::copy(t, mul(randn(t.shape(), DType::f32, seed++), 0.2));
    if (ends("running_var")) raw::copy(t, rand_uniform(t.shape(), 0.5, 1.5, DType::f32, seed++));
  }
  m.apply([&](Module& mod) {
    if (mod.is_norm()) {
      raw::copy(mod.param("weight"),
                rand_uniform(mod.param("weight").shape(), 0.5, 1.5, DType::f32, seed++));
      raw::copy(mod.param("bias"), mul(randn(mod.param("bias").shape(), DType::f32, seed++), 0.1));
    }
    for (const char* n : {"kernel_transform_7to5", "kernel_transform_5to3"})
      if (mod.has_param(n)) {
        const Tensor& t = mod.param(n);
        raw::copy(t, add(t, mul(randn(t.shape(), DType::f32, seed++), 0.05)));
      }
  });
}

void expect_same_outputs(ElasticMobileNet& net, const ArchConfig& cfg, const Tensor& x,
                         const std::string& what) {
  SCOPED_TRACE(what);
  net.set_active(cfg);
  auto sub = std::dynamic_pointer_cast<MobileNetSubnet>(net.extract_subnet(cfg));
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->is_training(), net.is_training());
  NoGradGuard ng;
  std::vector<Tensor> a = net.forward_features(x), b = sub->forward_features(x);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a[i].shape(), b[i].shape()) << "level " << i;
    DF_EXPECT_CLOSE(b[i], a[i], 1e-5);
  }
  if (!net.is_training()) DF_EXPECT_CLOSE(sub->forward(x), net.forward(x), 1e-5);
  // The subnet holds only the active blocks.
  int64_t blocks = 0;
  for (const auto& [name, m] : sub->named_modules())
    if (m->type_name() == "MBConvBlock") ++blocks;
  EXPECT_EQ(blocks, cfg.total_blocks() + 1);  // + first_block
}

double abs_sum(const Tensor& t) {
  double s = 0;
  for (float v : raw::contiguous(t).to_vector<float>()) s += std::fabs(v);
  return s;
}

// |grad| summed over an index range of dims 0 / 1 of a parameter's gradient (0 when undefined).
double grad_abs(const Tensor& p, int dim, int64_t from, int64_t to) {
  if (!p.grad().defined() || to <= from) return 0.0;
  return abs_sum(p.grad().narrow(dim, from, to - from));
}

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("detforge_emb_" + name)).string();
}

}  // namespace

TEST(ElasticMobileNet, StructureSpaceAndFeatureShapes) {
  ElasticMobileNet net(small_opts(0));
  const SearchSpace& sp = net.space();
  EXPECT_EQ(sp.block_type, "inverted_residual");
  ASSERT_EQ(sp.stages.size(), 5u);
  EXPECT_EQ(sp.stages[2].depths, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(sp.stages[2].expand_ratios, (std::vector<double>{3, 4, 6}));
  EXPECT_EQ(sp.stages[2].kernel_sizes, (std::vector<int64_t>{3, 5, 7}));
  EXPECT_EQ(net.active(), sp.largest());
  EXPECT_EQ(net.stage_channels(), (std::vector<int64_t>{8, 8, 16, 24, 40}));
  EXPECT_EQ(net.feature_channels(), (std::vector<int64_t>{8, 8, 24, 64}));
  EXPECT_EQ(net.feature_strides(), (std::vector<int64_t>{4, 8, 16, 32}));
  EXPECT_TRUE(net.state_dict().count("stages.4.3.dw_conv.kernel_transform_7to5"));
  EXPECT_TRUE(net.state_dict().count("stages.0.0.expand_conv.weight"));
  EXPECT_FALSE(net.state_dict().count("classifier.1.weight"));
  // Max mid channels: make_divisible(in * 6, 8).
  EXPECT_EQ(net.state_dict().at("stages.2.1.expand_conv.weight").shape(), (Shape{96, 16, 1, 1}));
  EXPECT_EQ(net.state_dict().at("stages.2.1.dw_conv.weight").shape(), (Shape{96, 1, 7, 7}));
  NoGradGuard ng;
  net.eval();
  Tensor x = randn({2, 3, 32, 32}, DType::f32, 1);
  std::vector<Tensor> f = net.forward_features(x);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].shape(), (Shape{2, 8, 8, 8}));
  EXPECT_EQ(f[1].shape(), (Shape{2, 8, 4, 4}));
  EXPECT_EQ(f[2].shape(), (Shape{2, 24, 2, 2}));
  EXPECT_EQ(f[3].shape(), (Shape{2, 64, 1, 1}));
  EXPECT_EQ(net.forward(x).shape(), (Shape{2, 64}));  // backbone only: pooled C5

  // Small input (Fashion-MNIST): 1 channel, stride-1 stem, strides 2..16.
  ElasticMobileNetOptions o = small_opts(10);
  o.in_channels = 1;
  o.small_input = true;
  o.input_resolution = 28;
  ElasticMobileNet mn(o);
  mn.eval();
  EXPECT_EQ(mn.feature_strides(), (std::vector<int64_t>{2, 4, 8, 16}));
  EXPECT_EQ(mn.space().input_resolution, 28);
  Tensor img = randn({2, 1, 28, 28}, DType::f32, 2);
  std::vector<Tensor> g = mn.forward_features(img);
  EXPECT_EQ(g[0].shape(), (Shape{2, 8, 14, 14}));
  EXPECT_EQ(g[3].shape(), (Shape{2, 64, 2, 2}));
  EXPECT_EQ(mn.forward(img).shape(), (Shape{2, 10}));
  EXPECT_THROW(mn.forward(x), ShapeError);  // 3 channels into a 1-channel stem
}

TEST(ElasticMobileNet, ExtractSubnetEqualsActivePathEval) {
  ElasticMobileNet net(small_opts(10));
  randomize(net, 100);
  net.eval();
  Tensor x = randn({2, 3, 32, 32}, DType::f32, 3);
  expect_same_outputs(net, net.space().largest(), x, "largest");
  expect_same_outputs(net, net.space().smallest(), x, "smallest");
  std::mt19937_64 rng(5);
  for (int i = 0; i < 3; ++i)
    expect_same_outputs(net, net.sample(rng), x, "random " + std::to_string(i));
  // A config mixing every kernel size in one stage (each transform path).
  ArchConfig mixed = net.space().largest();
  mixed.stages[1].kernel_sizes = {3, 5, 7, 3};
  mixed.stages[1].expand_ratios = {3, 4, 6, 4};
  expect_same_outputs(net, mixed, x, "mixed");
}

TEST(ElasticMobileNet, ExtractSubnetEqualsActivePathTrain) {
  ElasticMobileNet net(small_opts(0));
  randomize(net, 200);
  net.train();
  Tensor x = randn({4, 3, 32, 32}, DType::f32, 4);
  std::mt19937_64 rng(6);
  expect_same_outputs(net, net.sample(rng), x, "train random");
  expect_same_outputs(net, net.space().smallest(), x, "train smallest");
}

TEST(ElasticMobileNet, InactiveSlicesGetZeroGradient) {
  ElasticMobileNet net(small_opts(10));
  ArchConfig cfg = net.space().largest();
  cfg.stages[3].depth = 2;  // blocks 2, 3 of stage 3 are skipped
  cfg.stages[3].expand_ratios = {3, 4};
  cfg.stages[3].kernel_sizes = {5, 3};
  net.set_active(cfg);
  EXPECT_EQ(net.active(), cfg);
  Tensor x = randn({2, 3, 32, 32}, DType::f32, 7);
  Tensor y = net.forward(x);
  sum(mul(y, y)).backward();

  auto p = [&](const std::string& n) {
    for (auto& [name, t] : net.named_parameters())
      if (name == n) return t;
    ADD_FAILURE() << "no parameter " << n;
    return Tensor();
  };
  // Skipped blocks: no gradient at all.
  for (const char* b : {"stages.3.2.", "stages.3.3."})
    for (auto& [name, t] : net.named_parameters())
      if (name.rfind(b, 0) == 0) {
        EXPECT_EQ(grad_abs(t, 0, 0, t.size(0)), 0.0) << name;
      }
  // Block stages.3.0: in 16, expand 3 -> mid 48 of 96, kernel 5 of 7.
  const std::string b0 = "stages.3.0.";
  Tensor ew = p(b0 + "expand_conv.weight"), dw = p(b0 + "dw_conv.weight");
  Tensor pw = p(b0 + "project_conv.weight");
  ASSERT_EQ(ew.size(0), 96);
  EXPECT_GT(grad_abs(ew, 0, 0, 48), 0.0);
  EXPECT_EQ(grad_abs(ew, 0, 48, 96), 0.0);
  EXPECT_GT(grad_abs(dw, 0, 0, 48), 0.0);
  EXPECT_EQ(grad_abs(dw, 0, 48, 96), 0.0);
  EXPECT_GT(grad_abs(pw, 1, 0, 48), 0.0);
  EXPECT_EQ(grad_abs(pw, 1, 48, 96), 0.0);
  for (const char* bn : {"expand_bn.weight", "expand_bn.bias", "dw_bn.weight", "dw_bn.bias"}) {
    EXPECT_GT(grad_abs(p(b0 + bn), 0, 0, 48), 0.0) << bn;
    EXPECT_EQ(grad_abs(p(b0 + bn), 0, 48, 96), 0.0) << bn;
  }
  // Kernel 5 of 7: the outer ring of taps gets nothing, the 5->3 transform nothing.
  {
    Tensor g = dw.grad().narrow(0, 0, 48);
    double ring = abs_sum(g) - abs_sum(g.narrow(2, 1, 5).narrow(3, 1, 5));
    EXPECT_EQ(ring, 0.0);
    EXPECT_GT(grad_abs(p(b0 + "dw_conv.kernel_transform_7to5"), 0, 0, 25), 0.0);
    EXPECT_EQ(grad_abs(p(b0 + "dw_conv.kernel_transform_5to3"), 0, 0, 9), 0.0);
  }
  // Block stages.3.1: in 24, expand 4 -> mid 96 of 144; kernel 3 goes through both transforms.
  const std::string b1 = "stages.3.1.";
  EXPECT_EQ(grad_abs(p(b1 + "expand_conv.weight"), 0, 96, 144), 0.0);
  EXPECT_GT(grad_abs(p(b1 + "expand_conv.weight"), 0, 0, 96), 0.0);
  EXPECT_EQ(grad_abs(p(b1 + "project_conv.weight"), 1, 96, 144), 0.0);
  EXPECT_GT(grad_abs(p(b1 + "dw_conv.kernel_transform_5to3"), 0, 0, 9), 0.0);
  // Largest-choice blocks elsewhere: everything gets gradient, transforms none (kernel 7).
  EXPECT_GT(grad_abs(p("stages.4.3.expand_conv.weight"), 0, 0, 240), 0.0);
  EXPECT_EQ(grad_abs(p("stages.4.3.dw_conv.kernel_transform_7to5"), 0, 0, 25), 0.0);
  EXPECT_GT(grad_abs(p("stem.0.weight"), 0, 0, 8), 0.0);
  EXPECT_GT(grad_abs(p("classifier.1.weight"), 0, 0, 10), 0.0);
}

TEST(ElasticMobileNet, RejectsConfigsOutsideTheSpace) {
  ElasticMobileNet net(small_opts(0));
  auto expect_error = [&](const ArchConfig& cfg, const std::string& needle) {
    try {
      net.set_active(cfg);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const ConfigError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("[nn.ElasticMobileNet]"), std::string::npos) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
    EXPECT_THROW(net.extract_subnet(cfg), ConfigError);
  };
  ArchConfig c = net.space().largest();
  c.stages[1].kernel_sizes[0] = 9;
  expect_error(c, "stages[1].kernel_sizes[0]: 9 not in {3, 5, 7}");
  c = net.space().largest();
  c.stages[3].expand_ratios[2] = 5;
  expect_error(c, "stages[3].expand_ratios[2]");
  c = net.space().largest();
  c.stages[0].depth = 1;
  c.stages[0].expand_ratios = {6};
  c.stages[0].kernel_sizes = {7};
  expect_error(c, "stages[0].depth: 1 not in {2, 3, 4}");
  c = net.space().largest();
  c.stages[4].kernel_sizes.pop_back();
  expect_error(c, "stages[4].kernel_sizes: expected 4 entries, got 3");
  c = net.space().largest();
  c.stages.pop_back();
  expect_error(c, "stages: expected 5 stages");
  c = net.space().largest();
  c.block_type = "bottleneck";
  expect_error(c, "block_type");
  EXPECT_EQ(net.active(), net.space().largest());  // unchanged after the failures
}

TEST(ElasticMobileNet, SamplingStaysInsideAndHonoursConstraints) {
  ElasticMobileNet net(small_opts(0));
  std::mt19937_64 a(11), b(11);
  for (int i = 0; i < 20; ++i) {
    ArchConfig x = net.sample(a);
    EXPECT_EQ(x, net.sample(b));
    EXPECT_TRUE(net.space().contains(x));
    net.set_active(x);
    EXPECT_EQ(net.active(), x);
  }
  ArchConfig shallow = net.sample(a, [](const ArchConfig& c) { return c.total_blocks() <= 12; });
  EXPECT_LE(shallow.total_blocks(), 12);
  EXPECT_THROW(net.sample(
                   a, [](const ArchConfig&) { return false; }, 5),
               ConfigError);
  // clone() keeps the active config and the per-block choices.
  net.set_active(shallow);
  net.eval();
  auto copy = net.clone_as<ElasticMobileNet>();
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->active(), shallow);
  NoGradGuard ng;
  Tensor x = randn({1, 3, 32, 32}, DType::f32, 12);
  DF_EXPECT_CLOSE(copy->forward(x), net.forward(x), 1e-7);
}

TEST(ElasticMobileNet, SaveLoadRoundTrips) {
  ElasticMobileNet net(small_opts(10));
  randomize(net, 300);
  net.eval();
  std::mt19937_64 rng(13);
  ArchConfig cfg = net.sample(rng);
  net.set_active(cfg);
  Tensor x = randn({2, 3, 32, 32}, DType::f32, 8);
  Tensor want;
  {
    NoGradGuard ng;
    want = net.forward(x);
  }
  const std::string path = tmp_path("supernet.safetensors");
  save_state_dict(net, path);
  ElasticMobileNet other(small_opts(10));  // different random init
  LoadResult r = load_module(other, path);
  EXPECT_TRUE(r.missing.empty() && r.unexpected.empty());
  other.eval();
  other.set_active(cfg);
  {
    NoGradGuard ng;
    DF_EXPECT_CLOSE(other.forward(x), want, 1e-7);
  }
  // The extracted static subnet round trips too (same keys, same outputs).
  auto sub = other.extract_subnet(cfg);
  const std::string sub_path = tmp_path("subnet.safetensors");
  save_state_dict(*sub, sub_path);
  auto fresh = ElasticMobileNet(small_opts(10)).extract_subnet(cfg);
  load_module(*fresh, sub_path);
  fresh->eval();
  {
    NoGradGuard ng;
    DF_EXPECT_CLOSE(fresh->forward(x), want, 1e-5);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(sub_path);
}

TEST(ElasticMobileNet, ChannelSortingKeepsTheLargestFunction) {
  ElasticMobileNet net(small_opts(10));
  randomize(net, 400);
  net.eval();
  Tensor x = randn({2, 3, 32, 32}, DType::f32, 14);
  NoGradGuard ng;
  Tensor before = net.forward(x);
  auto& blk = dynamic_cast<ElasticInvertedResidual&>(
      dynamic_cast<Sequential&>(net.child<Sequential>("stages")[2])[1]);
  Tensor dw_before = blk.child("dw_conv").param("weight").clone();
  std::vector<int64_t> perm = blk.sort_channels();
  net.sort_channels();  // all blocks (sorting a sorted block again is a stable no-op)
  DF_EXPECT_CLOSE(net.forward(x), before, 1e-5);
  // Importance (L1 of the projection's input columns) is non-increasing.
  Tensor pw = blk.child("project_conv").param("weight");  // [16, 96, 1, 1]
  std::vector<float> w = pw.to_vector<float>();
  std::vector<double> imp(96, 0.0);
  for (int64_t o = 0; o < 16; ++o)
    for (int64_t c = 0; c < 96; ++c) imp[c] += std::fabs(w[o * 96 + c]);
  for (int c = 1; c < 96; ++c) EXPECT_GE(imp[c - 1], imp[c]);
  // The depthwise rows moved with the permutation.
  ASSERT_EQ(perm.size(), 96u);
  DF_EXPECT_CLOSE(blk.child("dw_conv").param("weight").narrow(0, 0, 1),
                  dw_before.narrow(0, perm[0], 1), 0.0);
  // A smaller expand still extracts exactly.
  expect_same_outputs(net, net.space().smallest(), x, "sorted smallest");
}
