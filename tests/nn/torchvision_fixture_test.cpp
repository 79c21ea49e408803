// torchvision state dicts (safetensors from scripts/fixtures/gen_torchvision_fixtures.py) load
// strictly into our backbones and reproduce torchvision's logits and C2..C5 in eval mode.
// resnet18 and mobilenet_v2 are committed under tests/fixtures/nn/; resnet50 and resnext50_32x4d
// are generated into a temporary directory when /usr/bin/python3 has torchvision (else skipped).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "nn/mobilenet_v2.h"
#include "nn/resnet.h"
#include "nn/serialization.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;

namespace {
const std::string kDir = std::string(DETFORGE_FIXTURE_DIR) + "/nn";

template <class Model>
void check_model(Model& model, const std::string& dir, const std::string& name,
                 const std::string& counter_key = "bn1.num_batches_tracked") {
  StateDict sd = load_state_dict_file(dir + "/" + name + "_weights.safetensors");
  LoadResult r = model.load_state_dict(sd, true);
  EXPECT_TRUE(r.missing.empty() && r.unexpected.empty());
  EXPECT_EQ(model.state_dict().at(counter_key).dtype(), DType::i64);
  model.eval();
  auto io = load_safetensors(dir + "/" + name + "_io.safetensors").tensors;
  NoGradGuard no_grad;
  Tensor x = io.at("input");
  DF_EXPECT_CLOSE(model.forward(x), io.at("logits"), 1e-4);
  auto feats = model.forward_features(x);
  ASSERT_EQ(feats.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(name + " c" + std::to_string(i + 2));
    DF_EXPECT_CLOSE(feats[i], io.at("c" + std::to_string(i + 2)), 1e-4);
  }
}

// Runs the fixture script for `models` into a fresh temp dir; "" when torchvision is unavailable.
std::string generate(const std::string& models) {
  if (std::system("/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1") != 0) return "";
  auto dir = std::filesystem::temp_directory_path() / ("detforge_tv_" + models);
  std::filesystem::create_directories(dir);
  std::string cmd = "/usr/bin/python3 " + std::string(DETFORGE_FIXTURE_DIR) +
                    "/../../scripts/fixtures/gen_torchvision_fixtures.py --models " + models +
                    " --out-dir " + dir.string() + " >/dev/null";
  if (std::system(cmd.c_str()) != 0) return "";
  return dir.string();
}
}  // namespace

TEST(TorchvisionFixture, ResNet18) {
  auto m = resnet18(10);
  check_model(*m, kDir, "resnet18");
}

TEST(TorchvisionFixture, MobileNetV2) {
  auto m = mobilenet_v2(10);
  check_model(*m, kDir, "mobilenet_v2", "features.0.1.num_batches_tracked");
}

TEST(TorchvisionFixture, ResNet50AndResNeXt50Generated) {
  std::string dir = generate("resnet50,resnext50_32x4d");
  if (dir.empty()) GTEST_SKIP() << "/usr/bin/python3 with torchvision is not available";
  {
    auto m = resnet50(10);
    check_model(*m, dir, "resnet50");
  }
  {
    auto m = resnext50_32x4d(10);
    check_model(*m, dir, "resnext50_32x4d");
  }
  std::filesystem::remove_all(dir);
}
