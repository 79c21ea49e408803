// `detforge train-cls` on a few hundred Fashion-MNIST images: a static CNN and a tiny supernet
// train, write checkpoints and results; resuming from the epoch-1 checkpoint reproduces the
// uninterrupted run's epoch-2 weights bit-exactly; malformed configs fail naming the key path.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace {

using detforge::test::CliRun;

CliRun run(const std::string& args) {
  return detforge::test::run_cli("train-cls " + args);
}

std::string slurp(const fs::path& p) {
  return detforge::test::read_file(p.string());
}
bool have_data() {
  return detforge::test::have_fashion_mnist();
}

fs::path scratch(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("detforge_train_cls_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

fs::path write_config(const fs::path& dir, const nlohmann::json& j) {
  fs::path p = dir / "config.json";
  std::ofstream(p) << j.dump(2);
  return p;
}

nlohmann::json tiny_static() {
  return nlohmann::json::parse(R"({
    "model": {"type": "small_cnn", "channels": [8, 16], "depth": 1},
    "data": {"train_limit": 384, "test_limit": 200, "hflip": true},
    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
    "schedule": {"type": "cosine", "warmup_iters": 2},
    "batch_size": 64, "epochs": 2, "seed": 3, "log_every": 3,
    "eval": {"batch_size": 100}
  })");
}

nlohmann::json tiny_supernet() {
  return nlohmann::json::parse(R"({
    "model": {"type": "elastic_cnn", "stem_channels": 4, "channels": [6, 8],
              "depths": [1, 2], "width_mults": [0.5, 1.0], "kernel_sizes": [3, 5]},
    "data": {"train_limit": 96, "test_limit": 64},
    "optimizer": {"type": "sgd", "lr": 0.05},
    "batch_size": 32, "epochs": 2, "seed": 5, "log_every": 2,
    "eval": {"batch_size": 64, "random_subnets": 1, "bn_calib_batches": 1},
    "supernet": {"sampler": {"kind": "sandwich", "num_random": 1},
                 "shrinking": {"order": "ips"}, "kd_weight": 1.0, "kd_temperature": 2.0}
  })");
}

void train_and_resume(const std::string& name, const nlohmann::json& cfg) {
  fs::path dir = scratch(name);
  fs::path config = write_config(dir, cfg);
  CliRun a = run("--config " + config.string() + " --out " + (dir / "a").string());
  ASSERT_EQ(a.rc, 0) << a.out;
  EXPECT_NE(a.out.find("img/s"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("ETA"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("top1"), std::string::npos) << a.out;
  for (const char* f : {"model.safetensors", "optimizer.safetensors", "state.json"}) {
    EXPECT_TRUE(fs::exists(dir / "a" / "ckpt_epoch1" / f)) << f;
    EXPECT_TRUE(fs::exists(dir / "a" / "ckpt_epoch2" / f)) << f;
  }
  auto results = nlohmann::json::parse(slurp(dir / "a" / "results.json"));
  ASSERT_EQ(results["history"].size(), 2u);
  const auto& fin = results["final"];
  ASSERT_FALSE(fin.empty());
  for (const auto& r : fin) {
    EXPECT_GE(r["top1"].get<double>(), 0.0);
    EXPECT_LE(r["top1"].get<double>(), 100.0);
  }
  // Resume from epoch 1 into another directory: epoch 2 must match bit for bit.
  CliRun b =
      run("--resume " + (dir / "a" / "ckpt_epoch1").string() + " --out " + (dir / "b").string());
  ASSERT_EQ(b.rc, 0) << b.out;
  EXPECT_NE(b.out.find("resumed from"), std::string::npos) << b.out;
  EXPECT_FALSE(fs::exists(dir / "b" / "ckpt_epoch1")) << "epoch 1 is not retrained";
  const std::string wa = slurp(dir / "a" / "ckpt_epoch2" / "model.safetensors");
  const std::string wb = slurp(dir / "b" / "ckpt_epoch2" / "model.safetensors");
  ASSERT_FALSE(wa.empty());
  EXPECT_TRUE(wa == wb) << "resumed weights differ from the uninterrupted run";
  EXPECT_TRUE(slurp(dir / "a" / "ckpt_epoch2" / "optimizer.safetensors") ==
              slurp(dir / "b" / "ckpt_epoch2" / "optimizer.safetensors"));
  auto ra = nlohmann::json::parse(slurp(dir / "a" / "results.json"));
  auto rb = nlohmann::json::parse(slurp(dir / "b" / "results.json"));
  EXPECT_EQ(ra["final"], rb["final"]);
  fs::remove_all(dir);
}

TEST(TrainClsCli, StaticTrainsAndResumesBitExactly) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  train_and_resume("static", tiny_static());
}

TEST(TrainClsCli, SupernetSandwichTrainsAndResumesBitExactly) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  train_and_resume("supernet", tiny_supernet());
}

TEST(TrainClsCli, MalformedConfigNamesTheKey) {
  fs::path dir = scratch("bad");
  auto expect_error = [&](nlohmann::json cfg, const std::string& needle) {
    fs::path config = write_config(dir, cfg);
    CliRun r = run("--config " + config.string() + " --out " + (dir / "o").string());
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in:\n"
                                                     << r.out;
  };
  auto cfg = tiny_static();
  cfg["optimizer"]["lr"] = "fast";
  expect_error(cfg, "optimizer.lr: expected a number");
  cfg = tiny_static();
  cfg["batchsize"] = 3;
  expect_error(cfg, "batchsize: unknown key");
  cfg = tiny_static();
  cfg["model"]["type"] = "transformer";
  expect_error(cfg, "model.type: unknown model type");
  cfg = tiny_static();
  cfg["model"]["channels"] = {8, -1};
  expect_error(cfg, "model.channels: expected a non-empty array of integers >= 1");
  cfg = tiny_static();
  cfg["supernet"] = {{"sampler", {{"kind", "sandwich"}}}};
  expect_error(cfg, "is not a supernet");
  cfg = tiny_supernet();
  cfg["supernet"]["sampler"]["kind"] = "greedy";
  expect_error(cfg, "supernet.sampler.kind");
  cfg = tiny_supernet();
  cfg["model"]["kernel_sizes"] = {4};
  expect_error(cfg, "model.kernel_sizes");
  std::ofstream(dir / "config.json") << "{\"model\": ";
  CliRun r = run("--config " + (dir / "config.json").string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("invalid JSON"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
