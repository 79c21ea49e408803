// Module framework: naming, traversal, train/eval, state_dict round trips, strict-load errors,
// clone independence, parameter groups.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/mobilenet_v2.h"
#include "nn/norm.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;

namespace {
std::vector<std::string> keys(const std::vector<NamedTensor>& v) {
  std::vector<std::string> k;
  for (auto& p : v) k.push_back(p.first);
  return k;
}
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("detforge_nn_" + name)).string();
}
}  // namespace

TEST(NNModule, DottedNamesInRegistrationOrder) {
  auto seq = std::make_shared<Sequential>();
  seq->push_back(std::make_shared<Conv2d>(3, 4, 3, 1, 1, 1, 1, false));
  seq->push_back(std::make_shared<BatchNorm2d>(4));
  seq->push_back(std::make_shared<ReLU>());
  seq->push_back(std::make_shared<Linear>(4, 2));
  EXPECT_EQ(keys(seq->named_parameters()),
            (std::vector<std::string>{"0.weight", "1.weight", "1.bias", "3.weight", "3.bias"}));
  EXPECT_EQ(keys(seq->named_buffers()),
            (std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"}));
  auto mods = seq->named_modules();
  ASSERT_EQ(mods.size(), 5u);
  EXPECT_EQ(mods[0].first, "");
  EXPECT_EQ(mods[2].first, "1");
  EXPECT_EQ(&seq->submodule("1"), &(*seq)[1]);
  EXPECT_EQ(seq->num_parameters(), 4 * 3 * 9 + 4 + 4 + 8 + 2);
  for (auto& p : seq->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(seq->named_buffers()[2].second.dtype(), DType::i64);
  EXPECT_EQ(seq->named_buffers()[2].second.dim(), 0);
}

TEST(NNModule, TorchvisionResNetNames) {
  auto r = resnet18(10);
  auto names = keys(r->named_parameters());
  EXPECT_EQ(names.front(), "conv1.weight");
  EXPECT_TRUE(contains(names, "layer1.0.conv1.weight"));
  EXPECT_TRUE(contains(names, "layer2.0.downsample.0.weight"));
  EXPECT_TRUE(contains(names, "layer2.0.downsample.1.bias"));
  EXPECT_FALSE(contains(names, "layer1.0.downsample.0.weight"));
  EXPECT_EQ(names.back(), "fc.bias");
  EXPECT_EQ(r->num_parameters(), 11181642);  // torchvision resnet18(num_classes=10)
  EXPECT_EQ(resnet34()->num_parameters(), 21797672);
  EXPECT_EQ(resnet50()->num_parameters(), 25557032);
  EXPECT_EQ(resnext50_32x4d()->num_parameters(), 25028904);
  auto m = mobilenet_v2();
  EXPECT_EQ(m->num_parameters(), 3504872);
  auto mn = keys(m->named_parameters());
  EXPECT_TRUE(contains(mn, "features.0.0.weight"));
  EXPECT_TRUE(contains(mn, "features.1.conv.0.0.weight"));
  EXPECT_TRUE(contains(mn, "features.1.conv.1.weight"));
  EXPECT_TRUE(contains(mn, "features.2.conv.3.bias"));
  EXPECT_TRUE(contains(mn, "classifier.1.weight"));
}

TEST(NNModule, TrainEvalPropagates) {
  auto r = resnet18(10);
  EXPECT_TRUE(r->is_training());
  r->eval();
  r->apply([](Module& m) { EXPECT_FALSE(m.is_training()) << m.type_name(); });
  r->train();
  r->apply([](Module& m) { EXPECT_TRUE(m.is_training()) << m.type_name(); });
}

TEST(NNModule, ErrorsNameTheProblem) {
  Linear l(3, 2);
  EXPECT_THROW(l.register_parameter("weight", Tensor::zeros({1})), ConfigError);
  EXPECT_THROW(l.register_parameter("a.b", Tensor::zeros({1})), ConfigError);
  try {
    l.param("nope");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
  EXPECT_THROW(l.forward(Tensor::zeros({2, 4})), Error);
}

TEST(NNModule, StateDictRoundTripThroughSafetensors) {
  manual_seed(1);
  auto a = resnet18(5);
  // Make buffers non-trivial: one training forward updates running stats and the counters.
  a->forward(test::randn({2, 3, 32, 32}));
  auto path = tmp_path("rt.safetensors");
  save_state_dict(*a, path, {{"note", "x"}});
  manual_seed(2);
  auto b = resnet18(5);
  LoadResult r = load_module(*b, path);
  EXPECT_TRUE(r.missing.empty() && r.unexpected.empty());
  auto sa = a->state_dict(), sb = b->state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (auto& kv : sa) {
    EXPECT_EQ(kv.second.dtype(), sb.at(kv.first).dtype()) << kv.first;
    EXPECT_EQ(kv.second.to_vector<double>(), sb.at(kv.first).to_vector<double>()) << kv.first;
  }
  EXPECT_EQ(sb.at("bn1.num_batches_tracked").item(), 1.0);
  a->eval();
  b->eval();
  Tensor x = test::randn({1, 3, 32, 32}, DType::f32, 3);
  DF_EXPECT_CLOSE(b->forward(x), a->forward(x), 0.0);
  std::remove(path.c_str());
}

TEST(NNModule, StrictLoadErrors) {
  auto m = resnet18(10);
  StateDict sd = m->state_dict();
  sd.erase("layer1.0.bn1.running_var");
  sd["extra.weight"] = Tensor::zeros({1});
  try {
    m->load_state_dict(sd, true);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("missing keys: \"layer1.0.bn1.running_var\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected keys: \"extra.weight\""), std::string::npos) << msg;
  }
  LoadResult r = m->load_state_dict(sd, false);
  EXPECT_EQ(r.missing, std::vector<std::string>{"layer1.0.bn1.running_var"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"extra.weight"});
  StateDict bad = m->state_dict();
  bad["fc.weight"] = Tensor::zeros({11, 512});
  try {
    m->load_state_dict(bad, false);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("fc.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[11, 512]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[10, 512]"), std::string::npos) << msg;
  }
}

TEST(NNModule, CloneIsIndependent) {
  auto a = resnet18(4);
  a->eval();
  auto b = a->clone_as<ResNet>();
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->is_training());
  auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].first, pb[i].first);
    EXPECT_FALSE(pa[i].second.shares_storage(pb[i].second)) << pa[i].first;
    EXPECT_TRUE(pb[i].second.requires_grad());
    EXPECT_TRUE(pb[i].second.is_leaf());
  }
  for (auto& bb : b->named_buffers())
    for (auto& ba : a->named_buffers()) EXPECT_FALSE(ba.second.shares_storage(bb.second));
  Tensor x = test::randn({1, 3, 32, 32});
  Tensor ya = a->forward(x);
  DF_EXPECT_CLOSE(b->forward(x), ya, 0.0);
  // Changing the clone leaves the original alone; its children are distinct objects too.
  b->child("fc").param("weight").detach().fill_(0.0);
  EXPECT_NE(&b->child("layer1"), &a->child("layer1"));
  DF_EXPECT_CLOSE(a->forward(x), ya, 0.0);
  b->train();
  EXPECT_FALSE(a->child("layer1").is_training());
}

TEST(NNModule, ParamGroupsSplitNormAndBias) {
  auto seq = std::make_shared<Sequential>();
  seq->push_back(std::make_shared<Conv2d>(3, 4, 3));
  seq->push_back(std::make_shared<BatchNorm2d>(4));
  seq->push_back(std::make_shared<GroupNorm>(2, 4));
  seq->push_back(std::make_shared<Linear>(4, 2));
  ParamGroups g = split_decay_groups(*seq);
  EXPECT_EQ(keys(g.decay), (std::vector<std::string>{"0.weight", "3.weight"}));
  EXPECT_EQ(keys(g.no_decay), (std::vector<std::string>{"0.bias", "1.weight", "1.bias", "2.weight",
                                                        "2.bias", "3.bias"}));
}

TEST(NNModule, ToSameDeviceKeepsLeaves) {
  Linear l(3, 2);
  l.to(kCPU);
  EXPECT_TRUE(l.param("weight").requires_grad());
  EXPECT_TRUE(l.param("weight").is_leaf());
}

TEST(NNModule, ZeroGradAndReplace) {
  Linear l(3, 2);
  sum(l.forward(test::randn({4, 3}))).backward();
  EXPECT_TRUE(l.param("weight").grad().defined());
  l.zero_grad();
  EXPECT_FALSE(l.param("weight").grad().defined());
  l.set_parameter("weight", Tensor::zeros({2, 3}));
  EXPECT_TRUE(l.param("weight").requires_grad());
  EXPECT_THROW(l.set_parameter("nope", Tensor::zeros({1})), ConfigError);
}
