// `detforge search joint` end to end at tiny scale: base training, ETP training, hill climbing,
// outputs; a search killed with SIGKILL mid-candidate resumes and ends with the same student as an
// uninterrupted run; config errors name key paths.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "det_cli_util.h"
#include "nas/search/joint_search.h"

using namespace detcli;
using nlohmann::json;

namespace {

const char* kHead = R"(
  "rpn": {"anchor_sizes": [[8], [16], [32], [64], [128]], "pre_nms_top_n_train": 200,
          "post_nms_top_n_train": 100, "pre_nms_top_n_test": 200, "post_nms_top_n_test": 100,
          "batch_size_per_image": 64},
  "roi_heads": {"representation_size": 32, "batch_size_per_image": 64})";

json search_config(const fs::path& dir, int64_t iterations) {
  json data = json::parse(R"({"train_sizes": [[48, 64]], "test_size": [64, 96], "batch_size": 2,
                              "workers": 1})");
  data["root"] = dir.string();
  data["train"] = {{"images", "images"}, {"annotations", "train.json"}};
  data["val"] = {{"images", "images"}, {"annotations", "val.json"}};
  json base = json::parse(std::string(R"({"model": {"type": "faster_rcnn", "num_classes": 2,
    "backbone": {"type": "static_resnet", "stem": {"kind": "torchvision", "channels": 8},
      "stages": [[{"in": 8, "out": 8}, {"in": 8, "out": 8}],
                 [{"in": 8, "out": 16, "stride": 2}, {"in": 16, "out": 16}],
                 [{"in": 16, "out": 16, "stride": 2}, {"in": 16, "out": 16}],
                 [{"in": 16, "out": 24, "stride": 2}, {"in": 24, "out": 24}]]},
    "neck": {"type": "fpn", "out_channels": 16},)") +
                          kHead + R"(},
    "optim": {"type": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
    "train": {"iterations": 3, "log_every": 1, "seed": 1, "checkpoint_every": 2}})");
  base["data"] = data;
  json etp = json::parse(std::string(R"({"model": {"type": "etp_faster_rcnn", "num_classes": 2,
    "backbone": {"type": "elastic_resnet", "block": "basic", "stem_channels": 8,
                 "planes": [8, 16, 16, 24], "depths": [[1, 2], [1, 2], [1, 2], [1, 2]],
                 "width_mults": [1.0, 1.5]},
    "neck": {"out_channels": 16, "width_multipliers": [1.0, 1.5]},)") +
                         kHead + R"(},
    "optim": {"type": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
    "train": {"iterations": 2, "log_every": 1, "seed": 2},
    "etp": {"phase_iters": [1, 1], "kd": {"rois_per_image": 16}, "recalib_batches": 1}})");
  etp["data"] = data;
  etp["data"]["train_sizes"] = {{48, 64}, {64, 96}};
  json c;
  c["base"] = {{"config", base}};
  c["etp"] = {{"config", etp}};
  c["search"] = {{"iterations", iterations},
                 {"top_k", 2},
                 {"alpha", 0.5},
                 {"beta", 1.0},
                 {"student_prob", 0.6},
                 {"resolutions", {{48, 64}, {64, 96}}},
                 {"seed", 5}};
  c["fast_eval"] = {{"iterations", 2}, {"latency_repeats", 2}, {"kd", {{"type", "joint_detnas"}}}};
  return c;
}

std::vector<json> jsonl(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(slurp(p));
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(json::parse(l));
  return out;
}

}  // namespace

TEST(SearchJointCli, EndToEndOutputs) {
  const fs::path dir = scratch("search_e2e");
  make_dataset(dir, "train", 4);
  make_dataset(dir, "val", 2);
  json c = search_config(dir, 4);
  c["base"]["overrides"] = {{"train", {{"iterations", 2}}}};  // a merge patch over base.config
  const fs::path cfg = write_json(dir / "search.json", c);
  const fs::path out = dir / "out";
  CliRun r = run_cli("search joint --config " + cfg.string() + " --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("stage 1/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stage 2/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("iteration 4/4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| base |"), std::string::npos) << r.out;
  EXPECT_EQ(jsonl(out / "base" / "log.jsonl").back()["iter"], 2);
  const auto lines = jsonl(out / "candidates.jsonl");
  ASSERT_EQ(lines.size(), 5u);  // the base pair + 4 candidates
  EXPECT_EQ(lines[0]["kind"], "base");
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["iteration"], static_cast<int64_t>(i));
    EXPECT_TRUE(lines[i]["kind"] == "student" || lines[i]["kind"] == "teacher") << lines[i];
    EXPECT_EQ(lines[i]["results"].size(), 2u);  // evaluated at both resolutions
    EXPECT_TRUE(std::isfinite(lines[i]["score"].get<double>()));
    EXPECT_GT(lines[i]["macs"].get<int64_t>(), 0);
  }
  for (const char* f :
       {"final/model.safetensors", "final/config.json", "final/arch.json", "summary.md",
        "summary.json", "score.png", "flops_map.png", "capacity.png", "state.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  // Disk stays bounded: weights only for top-k entries (k = 2) among the candidates.
  int weights = 0;
  for (const auto& d : fs::directory_iterator(out / "candidates"))
    weights += fs::exists(d.path() / "model.safetensors");
  EXPECT_LE(weights, 2);
  // The final student is a plain detector config that eval and train accept.
  r = run_cli("eval --config " + (out / "final/config.json").string() + " --weights " +
              (out / "final/model.safetensors").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  r = run_cli("train --config " + (out / "final/config.json").string() +
              " --set train.iterations=1 --set train.checkpoint_every=0 --out " +
              (dir / "retrain").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  // Running again on a finished search resumes at the end: no new candidate; a line cut short
  // by a kill is dropped, not a parse error.
  std::ofstream(out / "candidates.jsonl", std::ios::app) << R"({"id": 5, "itera)";
  r = run_cli("search joint --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("resuming at iteration 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dropped 1 candidates.jsonl line"), std::string::npos) << r.out;
  EXPECT_EQ(jsonl(out / "candidates.jsonl").size(), 5u);
  fs::remove_all(dir);
}

TEST(SearchJointCli, SigkillResumeEqualsUninterrupted) {
  const fs::path dir = scratch("search_kill");
  make_dataset(dir, "train", 4);
  make_dataset(dir, "val", 2);
  const fs::path cfg = write_json(dir / "search.json", search_config(dir, 5));
  CliRun r = run_cli("search joint --config " + cfg.string() + " --out " + (dir / "a").string());
  ASSERT_EQ(r.rc, 0) << r.out;

  // The same search, killed while candidate 3 trains.
  const fs::path b = dir / "b";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string outs = b.string(), cfgs = cfg.string();
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(DETFORGE_CLI_PATH, DETFORGE_CLI_PATH, "search", "joint", "--config", cfgs.c_str(),
          "--out", outs.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto t0 = std::chrono::steady_clock::now();
  bool killed = false;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::minutes(5)) {
    if (fs::exists(b / "candidates" / "3" / "candidate.json")) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) break;  // ended before: the test fails below
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "the search ended (or stalled) before candidate 3 started";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_FALSE(fs::exists(b / "final"));
  const json st = json::parse(slurp(b / "state.json"));
  EXPECT_EQ(st["next_iteration"], 3);

  r = run_cli("search joint --config " + cfg.string() + " --out " + b.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("resuming at iteration 3"), std::string::npos) << r.out;
  const std::string wa = slurp(dir / "a" / "final" / "model.safetensors");
  ASSERT_FALSE(wa.empty());
  EXPECT_TRUE(wa == slurp(b / "final" / "model.safetensors"));
  EXPECT_EQ(json::parse(slurp(dir / "a" / "final" / "arch.json")),
            json::parse(slurp(b / "final" / "arch.json")));
  // Same candidates, same scores, nothing logged twice.
  const auto la = jsonl(dir / "a" / "candidates.jsonl"), lb = jsonl(b / "candidates.jsonl");
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i]["score"], lb[i]["score"]) << i;
    EXPECT_EQ(la[i]["action"], lb[i]["action"]) << i;
    EXPECT_EQ(la[i]["teacher"], lb[i]["teacher"]) << i;
  }
  fs::remove_all(dir);
}

TEST(SearchJointCli, ErrorsNameKeyPaths) {
  const fs::path dir = scratch("search_err");
  make_dataset(dir, "train", 2);
  make_dataset(dir, "val", 1);
  auto expect_err = [&](json c, const std::string& needle) {
    const fs::path p = write_json(dir / "bad.json", c);
    CliRun r = run_cli("search joint --config " + p.string() + " --out " +
                       (dir / ("o" + std::to_string(std::rand()))).string());
    EXPECT_NE(r.rc, 0) << needle;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  };
  json c = search_config(dir, 1);
  c["search"]["top_k"] = 0;
  expect_err(c, "search.top_k");
  c = search_config(dir, 1);
  c["search"]["actions"] = {"add_layer", "grow_wings"};
  expect_err(c, "search.actions");
  c = search_config(dir, 1);
  c["search"]["resolutions"] = {{64, 32}};
  expect_err(c, "search.resolutions[0]");
  c = search_config(dir, 1);
  c["base"]["config"]["model"]["type"] = "retinanet";
  expect_err(c, "base.config.model.type");
  c = search_config(dir, 1);
  c["etp"]["config"]["model"]["type"] = "faster_rcnn";
  expect_err(c, "etp.config.model.type");
  c = search_config(dir, 1);
  c["fast_eval"]["kd"] = {{"type", "magic"}};
  expect_err(c, "fast_eval");
  c = search_config(dir, 1);
  c["fast_eval"]["iterations"] = 0;
  expect_err(c, "fast_eval.iterations");
  c = search_config(dir, 1);
  c["surprise"] = 1;
  expect_err(c, "surprise");
  c = search_config(dir, 1);
  c["search"]["resolutions"] = {{48, 64}};  // the base's test size [64, 96] missing
  expect_err(c, "search.resolutions");
  c = search_config(dir, 1);
  c["search"]["channel_prune_ranking"] = "random";
  expect_err(c, "search.channel_prune_ranking");
  c = search_config(dir, 1);
  c["search"]["seed"] = int64_t{1} << 40;
  expect_err(c, "search.seed");
  c = search_config(dir, 1);
  c["base"]["config"]["model"]["backbone"] = {{"type", "resnet18"}, {"weights", "r18.safetensors"}};
  expect_err(c, "base.config.model.backbone.weights");
  // A different config on an existing search directory is refused.
  const fs::path out = dir / "same";
  json ok = search_config(dir, 0);
  CliRun r = run_cli("search joint --config " + write_json(dir / "ok.json", ok).string() +
                     " --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  ok["search"]["seed"] = 9;
  r = run_cli("search joint --config " + write_json(dir / "ok2.json", ok).string() + " --out " +
              out.string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("different config"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// The committed search configs (the demo, the COCO layout) parse with their referenced files.
TEST(SearchJointConfig, CommittedConfigsParse) {
  const fs::path root = fs::path(DETFORGE_FIXTURE_DIR) / ".." / "..";
  const fs::path cwd = fs::current_path();
  fs::current_path(root);  // config paths are relative to the repository root
  for (const char* name : {"configs/search_fmnist_demo.json", "configs/search_coco_r50.json"}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW({
      const auto c = detforge::nas::parse_joint_search_config(json::parse(slurp(root / name)));
      EXPECT_GT(c.iterations, 0);
      EXPECT_EQ(c.base_config["model"]["backbone"]["type"], "static_resnet");
      EXPECT_GE(c.resolutions.size(), 2u);
      // The demo ranks channels per block (D40); the COCO layout keeps the default, global.
      EXPECT_EQ(c.actions.channel_prune_per_layer,
                std::string(name) == "configs/search_fmnist_demo.json");
    });
  }
  fs::current_path(cwd);
}

TEST(SearchMorphCli, PrunesATrainedStudent) {
  const fs::path dir = scratch("search_morph");
  make_dataset(dir, "train", 2);
  make_dataset(dir, "val", 1);
  json base = search_config(dir, 1)["base"]["config"];
  base["model"]["backbone"] = {{"type", "resnet18"}};  // converted to static_resnet on the way
  base["train"]["iterations"] = 1;
  const fs::path cfg = write_json(dir / "base.json", base);
  CliRun r = run_cli("train --config " + cfg.string() + " --out " + (dir / "b").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  r = run_cli("search morph --config " + cfg.string() + " --weights " +
              (dir / "b" / "model.safetensors").string() +
              R"( --action '{"type": "channel_prune", "percent": 0.3}')" +
              R"( --action '{"type": "layer_prune"}' --out )" + (dir / "m").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  const json info = json::parse(slurp(dir / "m" / "morph.json"));
  EXPECT_LT(info["params_after"].get<int64_t>(), info["params_before"].get<int64_t>());
  EXPECT_LT(info["macs_after"].get<int64_t>(), info["macs_before"].get<int64_t>());
  EXPECT_EQ(info["records"].size(), 2u);
  const json mc = json::parse(slurp(dir / "m" / "config.json"));
  EXPECT_EQ(mc["model"]["backbone"]["type"], "static_resnet");
  r = run_cli("eval --config " + (dir / "m" / "config.json").string() + " --weights " +
              (dir / "m" / "model.safetensors").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  r = run_cli("search morph --config " + cfg.string() + " --weights " +
              (dir / "b" / "model.safetensors").string() +
              R"( --action '{"type": "rearrange", "stage": 9}' --out )" + (dir / "x").string());
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("stage 9"), std::string::npos) << r.out;
  fs::remove_all(dir);
}
