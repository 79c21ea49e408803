// nn::apply_json_overrides: the --set KEY.PATH=VALUE config overrides of the training commands.
#include <gtest/gtest.h>

#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

using nlohmann::json;

TEST(JsonOverrides, ParsesJsonValuesAndBareStrings) {
  json j = {{"train", {{"iterations", 3000}}}, {"optim", {{"type", "sgd"}, {"lr", 0.02}}}};
  nn::apply_json_overrides(
      j,
      {"train.iterations=500", "optim.type=adamw", "optim.lr=1e-3", "data.train_sizes=[[256, 256]]",
       "train.eval_every=0", "model.flag=true", "model.name=\"123\""},
      "train");
  EXPECT_EQ(j["train"]["iterations"], 500);
  EXPECT_EQ(j["optim"]["type"], "adamw");
  EXPECT_DOUBLE_EQ(j["optim"]["lr"].get<double>(), 1e-3);
  EXPECT_EQ(j["data"]["train_sizes"], json::parse("[[256, 256]]"));  // created on the way
  EXPECT_EQ(j["train"]["eval_every"], 0);
  EXPECT_EQ(j["model"]["flag"], true);
  EXPECT_EQ(j["model"]["name"], "123");  // quoted: a string, not a number
}

TEST(JsonOverrides, LaterOverridesWinAndArraysIndex) {
  json j = {{"sizes", json::array({1, 2, 3})}};
  nn::apply_json_overrides(j, {"sizes.1=20", "sizes.1=21", "x=1", "x=2"}, "train");
  EXPECT_EQ(j["sizes"], json::array({1, 21, 3}));
  EXPECT_EQ(j["x"], 2);
}

TEST(JsonOverrides, ErrorsNameTheOverrideAndTheKey) {
  json j = {{"train", {{"iterations", 3000}}}, {"sizes", json::array({1, 2})}};
  const json before = j;
  EXPECT_THROW(nn::apply_json_overrides(j, {"train.iterations"}, "train"), ConfigError);
  const std::string no_eq =
      test::error_of([&] { nn::apply_json_overrides(j, {"train.iterations"}, "train"); });
  EXPECT_NE(no_eq.find("[train] --set 'train.iterations': expected KEY.PATH=VALUE"),
            std::string::npos)
      << no_eq;
  const std::string scalar =
      test::error_of([&] { nn::apply_json_overrides(j, {"train.iterations.x=1"}, "train"); });
  EXPECT_NE(scalar.find("train.iterations is not an object"), std::string::npos) << scalar;
  const std::string range =
      test::error_of([&] { nn::apply_json_overrides(j, {"sizes.5=1"}, "eval"); });
  EXPECT_NE(range.find("[eval] --set 'sizes.5=1': sizes[5]: index out of range (size 2)"),
            std::string::npos)
      << range;
  const std::string word =
      test::error_of([&] { nn::apply_json_overrides(j, {"sizes.a=1"}, "eval"); });
  EXPECT_NE(word.find("sizes is an array"), std::string::npos) << word;
  EXPECT_THROW(nn::apply_json_overrides(j, {"a..b=1"}, "eval"), ConfigError);
  EXPECT_THROW(nn::apply_json_overrides(j, {"=1"}, "eval"), ConfigError);
  EXPECT_EQ(j, before);  // failed overrides leave no partial objects behind
}

}  // namespace
}  // namespace detforge
