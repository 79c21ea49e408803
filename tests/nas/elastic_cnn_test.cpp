// nas/elastic_cnn (the small test supernet behind train-cls's "elastic_cnn") and the model
// registry: subnet shapes, extract_subnet equality, key-path errors, registration hook.
#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "nas/cls_models.h"
#include "nas/elastic_cnn.h"
#include "nn/elastic/bn_recalibration.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace detforge;
using namespace detforge::nas;

TEST(ElasticCNN, SubnetsRunAndExtractMatches) {
  manual_seed(1);
  ElasticCNNOptions o;
  o.stem_channels = 4;
  o.channels = {6, 8};
  ElasticCNN net(o, 1, 10);
  Generator gen(2);
  Tensor x = randn({3, 1, 28, 28}, gen);
  std::mt19937_64 rng(4);
  for (const auto& a : {net.space().largest(), net.space().smallest(), net.sample(rng)}) {
    net.set_active(a);
    nn::recalibrate_bn(net, std::vector<Tensor>{x});
    net.eval();
    NoGradGuard ng;
    Tensor y = net.forward(x);
    EXPECT_EQ(y.shape(), (Shape{3, 10}));
    auto sub = net.extract_subnet(a);
    auto ya = y.to_vector<float>(), yb = sub->forward(x).to_vector<float>();
    ASSERT_EQ(ya.size(), yb.size());
    for (size_t i = 0; i < ya.size(); ++i) EXPECT_FLOAT_EQ(ya[i], yb[i]);
    net.train();
  }
  nn::ArchConfig bad = net.space().largest();
  bad.stages[1].depth = 7;
  EXPECT_THROW(net.set_active(bad), ConfigError);
}

TEST(ClsModels, RegistryAndKeyPaths) {
  ClsModelSpec s;
  s.spec = {{"type", "small_cnn"}, {"channels", {4}}, {"depth", 1}};
  auto m = make_cls_model(s);
  EXPECT_EQ(m->forward(Tensor::zeros({2, 1, 28, 28})).shape(), (Shape{2, 10}));
  s.spec = {{"type", "small_cnn"}, {"widht", 3}};
  try {
    make_cls_model(s);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("model.widht: unknown key"), std::string::npos)
        << e.what();
  }
  register_cls_model("test_tiny", [](const ClsModelSpec& sp) {
    return make_cls_model({{{"type", "small_cnn"}, {"channels", {2}}}, sp.path});
  });
  s.spec = {{"type", "test_tiny"}};
  EXPECT_NE(make_cls_model(s), nullptr);
  auto types = cls_model_types();
  EXPECT_NE(std::find(types.begin(), types.end(), "test_tiny"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "elastic_cnn"), types.end());
}
