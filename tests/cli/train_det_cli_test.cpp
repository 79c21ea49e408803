// `detforge train` / `detforge eval` with the "toy_box" detector on a generated COCO dataset:
// config errors name key paths; a short run writes logs, checkpoints, the model and loss.png;
// k iterations + resume + k equals 2k in one go bit for bit; eval writes original-pixel boxes with
// COCO category ids and the summary equals evaluate_coco_bbox.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "det_cli_util.h"
#include "detection/coco_eval.h"
#include "detection/coco_results.h"
#include "detection/det_train.h"
#include "nn/serialization.h"
#include "tensor/error.h"

using namespace detcli;
using detforge::Tensor;
using nlohmann::json;

namespace {

json toy_config(const fs::path& dir, int64_t iterations) {
  json c = json::parse(R"({
    "model": {"type": "toy_box", "num_classes": 2},
    "data": {"train_sizes": [[32, 64], [40, 80], [48, 96]], "test_size": [40, 80],
             "batch_size": 2, "workers": 2, "flip": 0.5},
    "optim": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4,
              "warmup_iters": 3, "warmup_factor": 0.1, "clip_grad_norm": 10.0,
              "schedule": {"type": "multistep", "milestones": [6], "gamma": 0.1}},
    "train": {"log_every": 2, "checkpoint_every": 2, "keep_checkpoints": 2, "seed": 7}
  })");
  c["data"]["root"] = dir.string();
  c["data"]["train"] = {{"images", "images"}, {"annotations", "train.json"}};
  c["data"]["val"] = {{"images", "images"}, {"annotations", "val.json"}};
  c["train"]["iterations"] = iterations;
  return c;
}

struct DetData {
  fs::path dir;
  DetData(const std::string& name) : dir(scratch(name)) {
    make_dataset(dir, "train", 7);
    make_dataset(dir, "val", 3);
  }
  ~DetData() { fs::remove_all(dir); }
};

}  // namespace

TEST(TrainDetConfig, KeyPathErrors) {
  using detforge::ConfigError;
  using detforge::detection::parse_det_train_config;
  const json good = toy_config("/tmp", 4);
  EXPECT_NO_THROW(parse_det_train_config(good));
  auto expect_err = [&](json j, const std::string& needle) {
    try {
      parse_det_train_config(j);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json j = good;
  j["optim"]["lr"] = "fast";
  expect_err(j, "optim.lr");
  j = good;
  j["data"]["train_sizes"] = json::array({json::array({32})});
  expect_err(j, "data.train_sizes[0]");
  j = good;
  j["train"]["epochs"] = 2;
  expect_err(j, "train.iterations");
  j = good;
  j["optim"]["schedule"]["type"] = "poly";
  expect_err(j, "optim.schedule.type");
  j = good;
  j["data"].erase("train");
  expect_err(j, "data.train");
  j = good;
  j["train"]["bogus"] = 1;
  expect_err(j, "bogus");
  j = good;
  j["data"]["flip"] = 2.0;
  expect_err(j, "data.flip");
  j = good;
  j["train"]["device"] = "gpu";
  expect_err(j, "train.device");
}

TEST(TrainDetCli, ConfigErrorExitsWithKeyPath) {
  DetData d("cfgerr");
  json c = toy_config(d.dir, 4);
  c["optim"]["momentum"] = "x";
  const fs::path cfg = write_json(d.dir / "c.json", c);
  CliRun r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "o").string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("optim.momentum"), std::string::npos) << r.out;
  c = toy_config(d.dir, 4);
  c["model"]["type"] = "no_such_detector";
  write_json(cfg, c);
  r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "o").string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("model.type"), std::string::npos) << r.out;
}

// The committed recipes (configs/det_*.json, docs/results/det-fmnist.md) parse and build, with
// the strides their heads need.
TEST(TrainDetConfig, CommittedConfigsParseAndBuild) {
  const fs::path root = fs::path(DETFORGE_FIXTURE_DIR) / ".." / "..";
  int n = 0;
  for (const auto& e : fs::directory_iterator(root / "configs")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("det_", 0) != 0 || e.path().extension() != ".json") continue;
    ++n;
    SCOPED_TRACE(name);
    const json c = json::parse(detforge::test::read_file(e.path()));
    EXPECT_NO_THROW({
      const auto tc = detforge::detection::parse_det_train_config(c);
      EXPECT_GT(tc.iterations, 0);
      json model = tc.model;
      if (model["backbone"]["type"] == "resnet50") model["backbone"]["type"] = "resnet18";  // speed
      auto det = detforge::detection::build_detector(model);
      EXPECT_EQ(det->num_classes(), 10);
    });
  }
  EXPECT_GE(n, 4);
}

TEST(TrainDetCli, SetOverridesConfigValues) {
  DetData d("set");
  const fs::path cfg = write_json(d.dir / "c.json", toy_config(d.dir, 50));
  const fs::path out = d.dir / "o";
  // 50 iterations in the file; the overrides make it 2, with a bare-string and a JSON value.
  CliRun r = run_cli("train --config " + cfg.string() + " --out " + out.string() +
                     " --set train.iterations=2 --set optim.type=adamw --set optim.lr=0.001" +
                     " --set 'data.train_sizes=[[32,64]]'");
  ASSERT_EQ(r.rc, 0) << r.out;
  const json rec = json::parse(detforge::test::read_file(out / "config.json"));
  EXPECT_EQ(rec["train"]["iterations"], 2);
  EXPECT_EQ(rec["optim"]["type"], "adamw");
  EXPECT_EQ(rec["data"]["train_sizes"], json::parse("[[32,64]]"));
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "ckpt_iter4"));  // stopped at 2, not 50
  // A malformed override and an override the schema rejects both name what is wrong.
  r = run_cli("train --config " + cfg.string() + " --out " + out.string() +
              " --set train.iterations.x=1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("--set 'train.iterations.x=1': train.iterations is not an object"),
            std::string::npos)
      << r.out;
  r = run_cli("train --config " + cfg.string() + " --out " + out.string() + " --set optim.lr=fast");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("optim.lr"), std::string::npos) << r.out;
}

TEST(TrainDetCli, TrainResumeEvalEndToEnd) {
  DetData d("e2e");
  const int64_t k = 5;
  json c = toy_config(d.dir, 2 * k);
  c["train"]["eval_every"] = 4;
  const fs::path cfg = write_json(d.dir / "cfg.json", c);
  const fs::path a = d.dir / "a", b = d.dir / "b", r = d.dir / "r";

  // 2k iterations in one go.
  CliRun ra = run_cli("train --config " + cfg.string() + " --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.out;
  EXPECT_NE(ra.out.find("ETA"), std::string::npos) << ra.out;
  EXPECT_NE(ra.out.find("loss_box"), std::string::npos) << ra.out;
  EXPECT_NE(ra.out.find("eval iter 4"), std::string::npos) << ra.out;
  EXPECT_NE(ra.out.find("AP50"), std::string::npos) << ra.out;
  for (const char* f :
       {"model.safetensors", "config.json", "log.jsonl", "loss.png", "metrics.json"})
    EXPECT_TRUE(fs::exists(a / f)) << f;
  // checkpoints every 2 iterations, the last 2 kept (the final iteration writes the model instead)
  EXPECT_FALSE(fs::exists(a / "ckpt_iter2"));
  EXPECT_FALSE(fs::exists(a / "ckpt_iter4"));
  EXPECT_TRUE(fs::exists(a / "ckpt_iter6" / "state.json"));
  EXPECT_TRUE(fs::exists(a / "ckpt_iter8" / "optimizer.safetensors"));
  // log: one line per iteration with the loss terms, lr and time, plus the evaluations
  std::ifstream log(a / "log.jsonl");
  std::string line;
  int64_t iters = 0, evals = 0;
  while (std::getline(log, line)) {
    json j = json::parse(line);
    if (j.contains("eval")) {
      ++evals;
      EXPECT_TRUE(j["eval"].contains("AP")) << line;
      EXPECT_TRUE(j["eval"].contains("ARl")) << line;
      continue;
    }
    ++iters;
    EXPECT_EQ(j["iter"].get<int64_t>(), iters);
    for (const char* key : {"loss", "loss_box", "loss_score", "loss_pixel", "lr", "time"})
      EXPECT_TRUE(j.contains(key)) << key << " in " << line;
  }
  EXPECT_EQ(iters, 2 * k);
  EXPECT_EQ(evals, 3);  // iterations 4, 8 and the final 10
  Tensor png = detforge::data::read_image((a / "loss.png").string());
  EXPECT_EQ(png.size(0), 450);
  EXPECT_EQ(png.size(1), 800);

  // k iterations, then resume for k more.
  CliRun rb = run_cli("train --config " + cfg.string() + " --out " + b.string() + " --stop-at " +
                      std::to_string(k));
  ASSERT_EQ(rb.rc, 0) << rb.out;
  ASSERT_TRUE(fs::exists(b / ("ckpt_iter" + std::to_string(k))));
  EXPECT_FALSE(fs::exists(b / "model.safetensors"));
  CliRun rr = run_cli("train --resume " + (b / ("ckpt_iter" + std::to_string(k))).string() +
                      " --out " + r.string());
  ASSERT_EQ(rr.rc, 0) << rr.out;
  EXPECT_NE(rr.out.find("resumed from"), std::string::npos) << rr.out;
  const std::string wa = slurp(a / "model.safetensors"), wr = slurp(r / "model.safetensors");
  ASSERT_FALSE(wa.empty());
  EXPECT_TRUE(wa == wr) << "resumed weights differ from the uninterrupted run";
  EXPECT_TRUE(slurp(a / "ckpt_iter8" / "optimizer.safetensors") ==
              slurp(r / "ckpt_iter8" / "optimizer.safetensors"));
  // the resumed log continues the interrupted one: the loss values are the same
  auto losses = [](const fs::path& p) {
    std::vector<double> v;
    std::ifstream f(p);
    std::string l;
    while (std::getline(f, l)) {
      json j = json::parse(l);
      if (j.contains("loss")) v.push_back(j["loss"].get<double>());
    }
    return v;
  };
  EXPECT_EQ(losses(a / "log.jsonl"), losses(r / "log.jsonl"));

  // eval: original-pixel boxes, COCO category ids, the summary of evaluate_coco_bbox.
  const fs::path dt = d.dir / "dt.json", mj = d.dir / "metrics.json";
  CliRun re =
      run_cli("eval --config " + cfg.string() + " --weights " + (a / "model.safetensors").string() +
              " --out " + dt.string() + " --json " + mj.string());
  ASSERT_EQ(re.rc, 0) << re.out;
  EXPECT_NE(re.out.find("Average Precision  (AP) @[ IoU=0.50:0.95"), std::string::npos) << re.out;
  const auto gt = detforge::data::load_coco_json((d.dir / "val.json").string());
  const auto dets = detforge::detection::read_coco_results(dt.string());
  ASSERT_EQ(dets.size(), gt.images.size());
  const auto state = detforge::nn::load_state_dict_file((a / "model.safetensors").string());
  const Tensor box = state.at("box").contiguous();
  const float* bx = box.data<float>();
  for (size_t i = 0; i < dets.size(); ++i) {
    const auto& im = gt.images[i];
    EXPECT_EQ(dets[i].image_id, im.id);
    EXPECT_EQ(dets[i].category_id, 3);  // label 1 -> the smallest category id
    const double W = static_cast<double>(im.width), H = static_cast<double>(im.height);
    EXPECT_NEAR(dets[i].bbox[0], bx[0] * W, 1e-3 * W);
    EXPECT_NEAR(dets[i].bbox[1], bx[1] * H, 1e-3 * H);
    EXPECT_NEAR(dets[i].bbox[2], (bx[2] - bx[0]) * W, 2e-3 * W);
    EXPECT_NEAR(dets[i].bbox[3], (bx[3] - bx[1]) * H, 2e-3 * H);
  }
  const auto s = detforge::detection::evaluate_coco_bbox(gt, dets);
  const json m = json::parse(slurp(mj));
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(m[detforge::detection::CocoEvalSummary::keys()[i]].get<double>(), s[i]) << i;
  EXPECT_NE(re.out.find(detforge::detection::format_coco_summary(s)), std::string::npos);
}

TEST(TrainDetCli, InitWeightsAndBnSparsity) {
  DetData d("init");
  const fs::path cfg = write_json(d.dir / "c.json", toy_config(d.dir, 1));
  CliRun r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "a").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  // Starting from the trained weights: the first iteration's loss is the trained model's, not a
  // fresh one's, so it differs from the first run's first loss.
  r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "b").string() +
              " --set train.init_weights=" + (d.dir / "a" / "model.safetensors").string() +
              " --set optim.bn_sparsity=1e-5");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto first = [](const fs::path& p) {
    const std::string s = detforge::test::read_file(p);
    return json::parse(s.substr(0, s.find('\n')));
  };
  const json la = first(d.dir / "a" / "log.jsonl"), lb = first(d.dir / "b" / "log.jsonl");
  EXPECT_NE(la["loss"].get<double>(), lb["loss"].get<double>());
  r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "c").string() +
              " --set train.init_weights=" + (d.dir / "missing.safetensors").string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("train.init_weights"), std::string::npos) << r.out;
  r = run_cli("train --config " + cfg.string() + " --out " + (d.dir / "c").string() +
              " --set optim.bn_sparsity=-1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("optim.bn_sparsity"), std::string::npos) << r.out;
}
