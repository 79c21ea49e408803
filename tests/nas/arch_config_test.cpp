// nn/arch_config + nas/smnas_code + nas/smnas_backbone: JSON round trip and key-path errors, SM-NAS
// backbone codes from the paper (Table 2's E0..E3 and Figure 2's samples), and the built backbone's
// C2..C5.
#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "nas/smnas_backbone.h"
#include "nas/smnas_code.h"
#include "nn/sequential.h"
#include "tensor/error.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nas;
using nlohmann::json;

namespace {

void expect_config_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    FAIL() << "no ConfigError, expected one containing: " << needle;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

json sample_json() {
  return json::parse(R"({
    "block_type": "inverted_residual", "input_resolution": 192,
    "stages": [
      {"depth": 2, "width_mult": 1.25, "expand_ratios": [3, 6], "kernel_sizes": [3, 7]},
      {"depth": 1, "channels": 96},
      {"depth": 3, "width_mult": 0.8, "expand_ratios": [0.2, 0.25, 0.35]}
    ]})");
}

}  // namespace

TEST(ArchConfig, JsonRoundTrip) {
  ArchConfig c = arch_config_from_json(sample_json());
  EXPECT_EQ(c.block_type, "inverted_residual");
  EXPECT_EQ(c.input_resolution, 192);
  ASSERT_EQ(c.stages.size(), 3u);
  EXPECT_EQ(c.stages[0].kernel_sizes, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(c.stages[1].channels, 96);
  EXPECT_DOUBLE_EQ(c.stages[2].width_mult, 0.8);
  EXPECT_EQ(c.total_blocks(), 6);
  json j = c;
  ArchConfig back = json::parse(j.dump()).get<ArchConfig>();
  EXPECT_EQ(back, c);
  ArchConfig smnas = parse_smnas_code("bottleneck_56_211-111111111-2111111-11112111");
  EXPECT_EQ(arch_config_from_json(arch_config_to_json(smnas)), smnas);
}

TEST(ArchConfig, ValidationNamesKeyPath) {
  auto with = [](const std::function<void(json&)>& edit) {
    json j = sample_json();
    edit(j);
    return [j] { arch_config_from_json(j); };
  };
  expect_config_error(with([](json& j) {
                        j["stages"].push_back({{"depth", -1}});
                      }),
                      "stages[3].depth: expected an integer >= 1, got -1");
  expect_config_error(with([](json& j) { j["stages"][1]["depth"] = "two"; }),
                      "stages[1].depth: expected an integer >= 1, got \"two\"");
  expect_config_error(with([](json& j) { j["stages"][0]["kernel_sizes"][1] = 4; }),
                      "stages[0].kernel_sizes[1]: expected an odd integer >= 1, got 4");
  expect_config_error(with([](json& j) { j["stages"][0]["kernel_sizes"] = {3}; }),
                      "stages[0].kernel_sizes: expected an empty list or one entry per block (2)");
  expect_config_error(with([](json& j) { j["stages"][2]["width_mult"] = 0; }),
                      "stages[2].width_mult: expected a number > 0, got 0");
  expect_config_error(with([](json& j) { j["stages"][2]["expand_ratios"][0] = -1; }),
                      "stages[2].expand_ratios[0]: expected a number > 0, got -1");
  expect_config_error(
      with([](json& j) { j["block_type"] = "dense"; }),
      "block_type: expected \"basic\", \"bottleneck\", \"xbottleneck\" or \"inverted_residual\"");
  expect_config_error(with([](json& j) { j["input_resolution"] = 0; }),
                      "input_resolution: expected an integer >= 1, got 0");
  expect_config_error(with([](json& j) { j["stages"][1]["dpeth"] = 2; }),
                      "stages[1].dpeth: unknown key");
  expect_config_error(with([](json& j) { j.erase("stages"); }),
                      "stages: expected a non-empty array");
  expect_config_error(with([](json& j) {
                        j["stages"][0]["doubling"] = {true, 1};
                      }),
                      "stages[0].doubling[1]: expected a boolean, got 1");
  ArchConfig c;
  c.stages = {StageConfig{}};
  c.stages[0].depth = 0;
  expect_config_error([&] { c.validate(); }, "stages[0].depth: expected an integer >= 1, got 0");
}

TEST(SmNasCode, PaperExamplesParse) {
  // Table 2, E0: basicblock 64 1-21-21-12.
  ArchConfig e0 = parse_smnas_code("basicblock_64_1-21-21-12");
  EXPECT_EQ(e0.block_type, "basic");
  EXPECT_EQ(e0.base_channels, 64);
  ASSERT_EQ(e0.stages.size(), 4u);
  std::vector<int64_t> depth, ch;
  for (auto& s : e0.stages) depth.push_back(s.depth), ch.push_back(s.channels);
  EXPECT_EQ(depth, (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(ch, (std::vector<int64_t>{64, 128, 256, 512}));
  EXPECT_EQ(e0.stages[1].doubling, (std::vector<bool>{true, false}));
  EXPECT_EQ(e0.stages[3].doubling, (std::vector<bool>{false, true}));
  // E1: basicblock 56 111-2111-2-111112 -> 56, 112, 224, 448.
  ArchConfig e1 = parse_smnas_code("basicblock_56_111-2111-2-111112");
  depth.clear(), ch.clear();
  for (auto& s : e1.stages) depth.push_back(s.depth), ch.push_back(s.channels);
  EXPECT_EQ(depth, (std::vector<int64_t>{3, 4, 1, 6}));
  EXPECT_EQ(ch, (std::vector<int64_t>{56, 112, 224, 448}));
  // E3: bottleneck 56 211-111111111-2111111-11112111 -> planes 112, 112, 224, 448; x4 expansion.
  ArchConfig e3 = parse_smnas_code("bottleneck_56_211-111111111-2111111-11112111");
  EXPECT_EQ(e3.block_type, "bottleneck");
  ch.clear();
  for (auto& s : e3.stages) ch.push_back(s.channels);
  EXPECT_EQ(ch, (std::vector<int64_t>{448, 448, 896, 1792}));
  EXPECT_EQ(e3.total_blocks(), 3 + 9 + 7 + 8);
  // Figure 2 spelling (capitalised) and Table 2's spaces.
  EXPECT_EQ(to_smnas_code(parse_smnas_code("Basicblock_72_11-121-122-111")),
            "basicblock_72_11-121-122-111");
  EXPECT_EQ(to_smnas_code(parse_smnas_code("basicblock 48 12-11111-211-1112")),
            "basicblock_48_12-11111-211-1112");
  for (const char* code : {"basicblock_56_12-21-11-21", "bottleneck_64_21-121-1111-1211",
                           "basicblock_56_121-211-1111-121111", "bottleneck_48_21-12-21-111111",
                           "basicblock_64_1-21-21-12"})
    EXPECT_EQ(to_smnas_code(parse_smnas_code(code)), code);
}

TEST(SmNasCode, BadCodesNamePosition) {
  expect_config_error(
      [] { parse_smnas_code("basicblock_56_1-3-21-12"); },
      "position 16 in 'basicblock_56_1-3-21-12': expected '1', '2' or '-', got '3'");
  expect_config_error([] { parse_smnas_code("resblock_56_1-2-2-1"); },
                      "position 0 in 'resblock_56_1-2-2-1': expected block type");
  expect_config_error([] { parse_smnas_code("basicblock_x_1-2-2-1"); },
                      "position 11 in 'basicblock_x_1-2-2-1': expected base channels");
  expect_config_error([] { parse_smnas_code("basicblock_0_1-2-2-1"); },
                      "position 11 in 'basicblock_0_1-2-2-1': expected base channels >= 1, got 0");
  expect_config_error([] { parse_smnas_code("basicblock_56_1--2-1"); }, "position 16");
  expect_config_error([] { parse_smnas_code("basicblock_56_1-2-2"); },
                      "position 19 in 'basicblock_56_1-2-2': expected 4 stages");
  expect_config_error([] { parse_smnas_code("basicblock_56_1-2-2-1-1"); }, "position 21");
  expect_config_error([] { parse_smnas_code("basicblock_56_1-2-2-"); }, "position 20");
  expect_config_error([] { parse_smnas_code("basicblock"); }, "position 10");
  ArchConfig c = parse_smnas_code("basicblock_56_1-2-2-1");
  c.stages[2].doubling.clear();
  expect_config_error([&] { to_smnas_code(c); }, "stages[2].doubling needs 1 entries, got 0");
}

TEST(SmNasBackbone, ForwardFeatures) {
  NoGradGuard ng;
  for (const char* code : {"basicblock_64_1-21-21-12", "bottleneck_48_21-12-21-11"}) {
    auto net = smnas_backbone(code);
    net->eval();
    ArchConfig cfg = parse_smnas_code(code);
    std::vector<int64_t> expect_ch;
    for (auto& s : cfg.stages) expect_ch.push_back(s.channels);
    EXPECT_EQ(net->feature_channels(), expect_ch) << code;
    Tensor x = test::randn({1, 3, 64, 64}, DType::f32, 7);
    std::vector<Tensor> f = net->forward_features(x);
    ASSERT_EQ(f.size(), 4u);
    const int64_t strides[4] = {4, 8, 16, 32};
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(f[i].shape(), (Shape{1, expect_ch[i], 64 / strides[i], 64 / strides[i]}))
          << code << " C" << i + 2;
    // torchvision-style names under the composed blocks.
    EXPECT_TRUE(net->state_dict().count("layer2.0.downsample.0.weight")) << code;
    auto copy = net->clone_as<SmNasBackbone>();
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->feature_channels(), expect_ch);
  }
}

TEST(SmNasCode, XbottleneckParsesAndRoundTrips) {
  // Table 2, E4: Xbottleneck 56 21-21-111111111111111-2111111 (ResNeXt blocks, x4 expansion).
  ArchConfig e4 = parse_smnas_code("Xbottleneck_56_21-21-111111111111111-2111111");
  EXPECT_EQ(e4.block_type, "xbottleneck");
  EXPECT_EQ(e4.base_channels, 56);
  std::vector<int64_t> depth, ch;
  for (auto& s : e4.stages) depth.push_back(s.depth), ch.push_back(s.channels);
  EXPECT_EQ(depth, (std::vector<int64_t>{2, 2, 15, 7}));
  EXPECT_EQ(ch, (std::vector<int64_t>{448, 896, 896, 1792}));
  e4.validate();
  EXPECT_EQ(arch_config_from_json(arch_config_to_json(e4)), e4);  // "xbottleneck" is valid JSON
  // Canonical print keeps the paper's capital X; parsing is case-insensitive, spaces allowed.
  for (const char* code :
       {"Xbottleneck_56_21-21-111111111111111-2111111",
        "Xbottleneck_56_21-21-11111111111111-21111111", "Xbottleneck_64_1-2-2-2"})
    EXPECT_EQ(to_smnas_code(parse_smnas_code(code)), code);
  EXPECT_EQ(to_smnas_code(parse_smnas_code("xbottleneck 48 1-21-2-12")),
            "Xbottleneck_48_1-21-2-12");
  expect_config_error([] { parse_smnas_code("ybottleneck_56_1-2-2-1"); },
                      "expected block type 'basicblock', 'bottleneck' or 'Xbottleneck'");
  ArchConfig bad = e4;
  bad.block_type = "resnext";
  expect_config_error([&] { bad.validate(); }, "block_type: expected");
}

TEST(SmNasBackbone, XbottleneckIsResNeXt32x4d) {
  NoGradGuard ng;
  const char* code = "Xbottleneck_32_1-2-21-2";  // planes 32, 64, 128, 256
  auto net = smnas_backbone(code);
  net->eval();
  EXPECT_EQ(net->feature_channels(), (std::vector<int64_t>{128, 256, 512, 1024}));
  // Grouped 3x3: mid = floor(planes * 4 / 64) * 32 in 32 groups.
  auto sd = net->state_dict();
  EXPECT_EQ(sd.at("layer1.0.conv1.weight").shape(), (Shape{64, 32, 1, 1}));
  EXPECT_EQ(sd.at("layer1.0.conv2.weight").shape(), (Shape{64, 2, 3, 3}));
  EXPECT_EQ(sd.at("layer1.0.conv3.weight").shape(), (Shape{128, 64, 1, 1}));
  EXPECT_EQ(sd.at("layer3.1.conv2.weight").shape(), (Shape{256, 8, 3, 3}));
  auto block = std::dynamic_pointer_cast<nn::ResNetBlock>(
      net->child<nn::Sequential>("layer4").named_children().at(0).second);
  ASSERT_TRUE(block);
  nn::BlockSpec spec = block->spec();
  EXPECT_TRUE(spec.bottleneck);
  EXPECT_EQ(spec.groups, 32);
  EXPECT_EQ(spec.mid_channels, 512);
  EXPECT_EQ(spec.out_channels, 1024);
  EXPECT_EQ(spec.stride, 2);
  // planes 56 -> floor(3.5) * 32 = 96 (torchvision / mmdet integer rule).
  auto e4 = smnas_backbone("Xbottleneck_56_1-1-1-1");
  EXPECT_EQ(e4->state_dict().at("layer1.0.conv2.weight").shape(), (Shape{96, 3, 3, 3}));
  Tensor x = test::randn({1, 3, 64, 64}, DType::f32, 9);
  std::vector<Tensor> f = net->forward_features(x);
  ASSERT_EQ(f.size(), 4u);
  const int64_t strides[4] = {4, 8, 16, 32}, chans[4] = {128, 256, 512, 1024};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(f[i].shape(), (Shape{1, chans[i], 64 / strides[i], 64 / strides[i]})) << "C" << i + 2;
  EXPECT_EQ(net->forward(x).shape(), f[3].shape());
  // Too narrow for 4 channels per group.
  EXPECT_THROW(smnas_backbone("Xbottleneck_8_1-1-1-1"), ConfigError);
}
