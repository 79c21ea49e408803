// `detforge etp train` / `etp sample` end to end at tiny scale: IPS training through detforge
// train's loop (log with the distillation terms, checkpoints, model), sampling a teacher (BN
// recalibrated) whose config and weights `detforge eval` accepts; config errors name key paths.
#include <gtest/gtest.h>

#include "det_cli_util.h"

using namespace detcli;
using nlohmann::json;

namespace {

json etp_config(const fs::path& dir, int64_t iterations) {
  json c = json::parse(R"({
    "model": {"type": "etp_faster_rcnn", "num_classes": 2,
              "backbone": {"type": "elastic_resnet", "block": "basic", "stem_channels": 8,
                           "planes": [8, 8, 16, 16], "depths": [[1, 2], [1, 2], [1, 2], [1, 2]],
                           "width_mults": [1.0, 1.25, 1.5]},
              "neck": {"out_channels": 16, "width_multipliers": [1.0, 1.25, 1.5]},
              "rpn": {"anchor_sizes": [[8], [16], [32], [64], [128]],
                      "pre_nms_top_n_train": 200, "post_nms_top_n_train": 100,
                      "pre_nms_top_n_test": 200, "post_nms_top_n_test": 100,
                      "batch_size_per_image": 64},
              "roi_heads": {"representation_size": 32, "batch_size_per_image": 64}},
    "data": {"train_sizes": [[48, 64], [64, 96]], "test_size": [64, 96], "batch_size": 2,
             "workers": 1},
    "optim": {"type": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
    "train": {"log_every": 1, "seed": 3},
    "etp": {"phase_iters": [1, 1, 1], "sampler": {"kind": "sandwich", "num_random": 1},
            "kd": {"rois_per_image": 16}, "recalib_batches": 2}
  })");
  c["data"]["root"] = dir.string();
  c["data"]["train"] = {{"images", "images"}, {"annotations", "train.json"}};
  c["data"]["val"] = {{"images", "images"}, {"annotations", "val.json"}};
  c["train"]["iterations"] = iterations;
  return c;
}

}  // namespace

TEST(EtpCli, TrainSampleEval) {
  const fs::path dir = scratch("etp_cli");
  make_dataset(dir, "train", 4);
  make_dataset(dir, "val", 2);
  const fs::path cfg = write_json(dir / "etp.json", etp_config(dir, 3));
  const fs::path out = dir / "out";
  CliRun r = run_cli("etp train --config " + cfg.string() + " --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("IPS phase 1/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IPS phase 3/3"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(out / "model.safetensors"));
  const std::string log = slurp(out / "log.jsonl");
  EXPECT_NE(log.find("\"kd_logit\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"kd_feat\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"sub_det\""), std::string::npos) << log;

  const fs::path teacher = dir / "teacher";
  const std::string arch =
      R"('{"backbone": {"block_type": "basic", "stages": [{"depth": 1, "width_mult": 1.0}, )"
      R"({"depth": 2, "width_mult": 1.25}, {"depth": 1, "width_mult": 1.5}, )"
      R"({"depth": 2, "width_mult": 1.0}]}, "fpn_width": 1.25}')";
  r = run_cli("etp sample --config " + (out / "config.json").string() + " --arch " + arch +
              " --out " + teacher.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("BN recalibrated on 2 batches"), std::string::npos) << r.out;
  for (const char* f : {"model.safetensors", "config.json", "arch.json", "teacher.json"})
    EXPECT_TRUE(fs::exists(teacher / f)) << f;
  const json tc = json::parse(slurp(teacher / "config.json"));
  EXPECT_EQ(tc["model"]["type"], "faster_rcnn");
  EXPECT_EQ(tc["model"]["backbone"]["type"], "static_resnet");
  EXPECT_EQ(tc["model"]["neck"]["out_channels"], 20);
  EXPECT_FALSE(tc.contains("etp"));
  const json info = json::parse(slurp(teacher / "teacher.json"));
  EXPECT_GT(info["backbone_macs"].get<int64_t>(), 0);
  EXPECT_LT(info["params"].get<int64_t>(), info["supernet_params"].get<int64_t>());
  // arch.json goes back into --arch.
  r = run_cli("etp sample --config " + (out / "config.json").string() + " --arch " +
              (teacher / "arch.json").string() + " --batches 0 --out " + (dir / "t2").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(slurp(dir / "t2" / "arch.json"), slurp(teacher / "arch.json"));
  // Without BN recalibration the same teacher keeps the supernet's running statistics.
  EXPECT_NE(slurp(dir / "t2" / "model.safetensors"), slurp(teacher / "model.safetensors"));
  r = run_cli("eval --config " + (teacher / "config.json").string() + " --weights " +
              (teacher / "model.safetensors").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Average Precision"), std::string::npos) << r.out;
  // The static teacher also trains with plain `detforge train`.
  r = run_cli("train --config " + (teacher / "config.json").string() +
              " --set train.iterations=1 --out " + (dir / "retrain").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  fs::remove_all(dir);
}

TEST(EtpCli, ResumeEqualsUninterrupted) {
  // k iterations + resume + k iterations == 2k in one go, bit for bit: the IPS sampler is reseeded
  // from (seed, iteration), everything else is detforge train's checkpointing.
  const fs::path dir = scratch("etp_cli_resume");
  make_dataset(dir, "train", 4);
  make_dataset(dir, "val", 1);
  json c = etp_config(dir, 4);
  c["etp"]["phase_iters"] = {1, 1, 2};
  const fs::path cfg = write_json(dir / "etp.json", c);
  CliRun r = run_cli("etp train --config " + cfg.string() + " --out " + (dir / "a").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  r = run_cli("etp train --config " + cfg.string() + " --stop-at 2 --out " + (dir / "b").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  r = run_cli("etp train --resume " + (dir / "b" / "ckpt_iter2").string() + " --out " +
              (dir / "b").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("IPS phase 3/3"), std::string::npos) << r.out;
  const std::string a = slurp(dir / "a" / "model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == slurp(dir / "b" / "model.safetensors"));
  fs::remove_all(dir);
}

TEST(EtpCli, PlainTrainTrainsTheLargestSubnet) {
  const fs::path dir = scratch("etp_cli_plain");
  make_dataset(dir, "train", 2);
  make_dataset(dir, "val", 1);
  json c = etp_config(dir, 1);
  c.erase("etp");
  const fs::path cfg = write_json(dir / "plain.json", c);
  CliRun r = run_cli("train --config " + cfg.string() + " --out " + (dir / "o").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir / "o" / "model.safetensors"));
  fs::remove_all(dir);
}

TEST(EtpCli, ErrorsNameKeyPaths) {
  const fs::path dir = scratch("etp_cli_err");
  make_dataset(dir, "train", 2);
  make_dataset(dir, "val", 1);
  auto expect_err = [&](json c, const std::string& needle, const std::string& cmd = "etp train") {
    const fs::path p = write_json(dir / "bad.json", c);
    CliRun r = run_cli(cmd + " --config " + p.string() + " --out " + (dir / "o").string());
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  };
  json c = etp_config(dir, 1);
  c["etp"]["kd"]["temperature"] = "hot";
  expect_err(c, "etp.kd.temperature");
  c = etp_config(dir, 1);
  c["etp"]["sampler"]["num_random"] = -1;
  expect_err(c, "etp.sampler.num_random");
  c = etp_config(dir, 1);
  c["model"]["backbone"]["planes"] = json::array({8, 8});
  expect_err(c, "model.backbone.planes");
  c = etp_config(dir, 1);
  c["model"] = {{"type", "faster_rcnn"}, {"num_classes", 2}, {"backbone", {{"type", "resnet18"}}}};
  expect_err(c, "etp_faster_rcnn");
  // A plain train config does not accept the etp section.
  expect_err(etp_config(dir, 1), "etp: unknown key", "train");
  // sample: a bad architecture names its key.
  c = etp_config(dir, 1);
  const fs::path p = write_json(dir / "etp.json", c);
  CliRun r = run_cli("etp sample --config " + p.string() + " --weights " + p.string() +
                     " --arch smallest --out " + (dir / "t").string());
  EXPECT_NE(r.rc, 0) << r.out;
  fs::remove_all(dir);
}
