// detforge eval: runs a trained detector over a split and evaluates it (COCO results JSON in
// original-image pixels and category ids, pycocotools-exact summary).
// detforge eval-coco: evaluates an existing results JSON against a ground-truth JSON.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "data/coco_json.h"
#include "data/image_io.h"
#include "detection/coco_results.h"
#include "detection/det_train.h"
#include "kd/distill_train.h"
#include "nn/checkpoint.h"
#include "nn/serialization.h"
#include "tensor/error.h"

namespace detforge::cli {
namespace {

struct EvalArgs {
  std::string config, weights, out, split = "val", json, device;
  std::vector<std::string> sets;
};

void run_eval(const EvalArgs& a) {
  nlohmann::json cfg = nn::load_run_config(a.config, nullptr, a.sets, "eval");
  // A distill run's config (with "teacher" and "kd") evaluates its student.
  if (cfg.is_object() && (cfg.contains("teacher") || cfg.contains("kd")))
    cfg = kd::det_train_part(cfg);
  const detection::DetTrainConfig c = detection::parse_det_train_config(cfg);
  const detection::DetSplitConfig& split = a.split == "train" ? c.train : c.val;
  if (!split.defined()) throw ConfigError(str_cat("[eval] data.", a.split, ": not in the config"));
  auto det = detection::build_detector(c.model, "model");
  det->to(Device::parse(a.device.empty() ? c.device : a.device));
  nn::load_module(*det, a.weights);
  const data::CocoDataset gt = data::load_coco_json(split.annotations);
  const auto dets = detection::detect_coco(
      *det, gt, split.images, detection::det_loader_config(c, false, det->size_divisor()));
  if (!a.out.empty()) {
    detection::write_coco_results(a.out, dets);
    std::printf("%zu detections -> %s\n", dets.size(), a.out.c_str());
  }
  const auto s = detection::evaluate_coco_bbox(gt, dets);
  std::printf("%s", detection::format_coco_summary(s).c_str());
  if (!a.json.empty()) detection::write_coco_summary_json(a.json, s);
  std::fflush(stdout);
}

struct EvalCocoArgs {
  std::string gt, dt, json;
};

void run_eval_coco(const EvalCocoArgs& a) {
  const data::CocoDataset gt = data::load_coco_json(a.gt);
  const auto dets = detection::read_coco_results(a.dt);
  const auto s = detection::evaluate_coco_bbox(gt, dets);
  std::printf("%s", detection::format_coco_summary(s).c_str());
  if (!a.json.empty()) detection::write_coco_summary_json(a.json, s);
  std::fflush(stdout);
}

}  // namespace

void add_eval_det(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("eval", "Evaluate a trained detector on a split (COCO bbox AP)");
    auto a = std::make_shared<EvalArgs>();
    cmd->add_option("--config", a->config, "The training JSON config")->required();
    cmd->add_option("--set", a->sets, "Override a config value: KEY.PATH=VALUE (as train --set)");
    cmd->add_option("--weights", a->weights, "model.safetensors")->required();
    cmd->add_option("--out", a->out, "Write the COCO results JSON here");
    cmd->add_option("--split", a->split, "val or train")->check(CLI::IsMember({"val", "train"}));
    cmd->add_option("--json", a->json, "Write the 12 summary numbers as JSON here");
    cmd->add_option("--device", a->device, "cpu, cuda or cuda:N (default: the config's)");
    cmd->callback([a] { run_eval(*a); });
  }
  {
    auto* cmd =
        app.add_subcommand("eval-coco", "pycocotools-exact bbox evaluation of a results JSON");
    auto a = std::make_shared<EvalCocoArgs>();
    cmd->add_option("--gt", a->gt, "Ground-truth COCO JSON")->required();
    cmd->add_option("--dt", a->dt, "Results JSON [{image_id, category_id, bbox, score}]")
        ->required();
    cmd->add_option("--json", a->json, "Write {AP, AP50, ..., ARl} here");
    cmd->callback([a] { run_eval_coco(*a); });
  }
}

}  // namespace detforge::cli
