// The detection backbone registry and the detector registry: built-in types, features and
// channels, GN+WS, torchvision weights (classifier ignored), errors naming key paths.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "detection/backbone.h"
#include "detection/detector.h"
#include "nn/norm.h"
#include "nn/resnet.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

using test::error_of;

TEST(DetBackbone, ResNet18FeaturesAndChannels) {
  auto b = build_backbone({{"type", "resnet18"}});
  EXPECT_EQ(b->feature_channels(), (std::vector<int64_t>{64, 128, 256, 512}));
  b->eval();
  NoGradGuard ng;
  auto f = b->forward_features(test::randn({1, 3, 64, 96}, DType::f32, 1));
  ASSERT_EQ(f.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(f[i].size(1), b->feature_channels()[i]);
    EXPECT_EQ(f[i].size(2), 64 >> (i + 2));
    EXPECT_EQ(f[i].size(3), 96 >> (i + 2));
  }
  // torchvision's BackboneWithFPN naming under the detector: body.<resnet names>
  EXPECT_TRUE(b->state_dict().count("body.layer1.0.conv1.weight"));
}

TEST(DetBackbone, GnWsUsesGroupNormEverywhere) {
  auto b = build_backbone({{"type", "resnet50"}, {"norm", "gn_ws"}, {"gn_groups", 16}});
  EXPECT_EQ(b->feature_channels(), (std::vector<int64_t>{256, 512, 1024, 2048}));
  int gn = 0, bn = 0;
  for (auto& [name, m] : b->named_modules()) {
    gn += dynamic_cast<nn::GroupNorm*>(m) != nullptr;
    bn += dynamic_cast<nn::BatchNorm2d*>(m) != nullptr;
  }
  EXPECT_GT(gn, 50);
  EXPECT_EQ(bn, 0);
}

TEST(DetBackbone, LoadsClassificationWeightsIgnoringTheClassifier) {
  auto src = nn::resnet18(10);  // a different classifier size: must be ignored
  const std::string path =
      (std::filesystem::temp_directory_path() / "detforge_backbone_test.safetensors").string();
  nn::save_state_dict(*src, path);
  auto b = build_backbone({{"type", "resnet18"}, {"weights", path}});
  auto mine = b->state_dict(), theirs = src->state_dict();
  EXPECT_EQ(
      test::compare(mine.at("body.layer3.1.conv2.weight"), theirs.at("layer3.1.conv2.weight"), 0.0),
      "");
  std::remove(path.c_str());
}

TEST(DetBackbone, Errors) {
  EXPECT_NE(error_of([] {
              build_backbone({{"type", "vgg"}});
            }).find("model.backbone.type: unknown backbone 'vgg' (known: mobilenet_v2, resnet101"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              build_backbone({{"type", "resnet18"}, {"nrom", "bn"}});
            }).find("model.backbone.nrom"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              build_backbone({{"type", "resnet18"}, {"norm", "ln"}});
            }).find("model.backbone.norm"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              build_backbone({{"type", "resnet18"}, {"weights", "/nonexistent.safetensors"}});
            }).find("/nonexistent.safetensors"),
            std::string::npos);
}

TEST(DetectorRegistry, UnknownTypeNamesTheKeyPath) {
  EXPECT_NE(error_of([] {
              build_detector({{"type", "yolo"}});
            }).find("model.type: unknown detector 'yolo'"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { build_detector(nlohmann::json::array()); }).find("model: expected an object"),
      std::string::npos);
}

}  // namespace
}  // namespace detforge::detection
