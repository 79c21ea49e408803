#include "detection/det_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "autograd/grad_mode.h"
#include "data/coco_json.h"
#include "data/image_io.h"
#include "data/plot.h"
#include "detection/coco_results.h"
#include "nn/checkpoint.h"
#include "nn/json_reader.h"
#include "nn/optim/adamw.h"
#include "nn/optim/clip.h"
#include "nn/optim/schedule.h"
#include "nn/optim/sgd.h"
#include "nn/serialization.h"
#include "tensor/error.h"
#include "tensor/random.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::detection {
namespace {

std::shared_ptr<const nn::LRSchedule> make_schedule(const DetTrainConfig& c, int64_t total) {
  std::shared_ptr<const nn::LRSchedule> s;
  if (c.sched_type == "cosine")
    s = std::make_shared<nn::CosineSchedule>(std::max<int64_t>(1, total), c.eta_min);
  else if (c.sched_type == "multistep")
    s = std::make_shared<nn::MultiStepSchedule>(c.milestones, c.gamma);
  else
    s = std::make_shared<nn::ConstantSchedule>();
  if (c.warmup_iters > 0)
    s = std::make_shared<nn::WarmupSchedule>(s, c.warmup_iters, c.warmup_factor, c.warmup_mode);
  return s;
}

std::string summary_line(const CocoEvalSummary& s) {
  std::ostringstream o;
  const auto& keys = CocoEvalSummary::keys();
  for (int i = 0; i < 12; ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%s%s %.4f", i ? " " : "", keys[i], s[i]);
    o << buf;
  }
  return o.str();
}

// Checkpoint container when a hook adds trained modules: children "detector" and "extra".
class TrainedModules : public nn::Cloneable<TrainedModules> {
 public:
  TrainedModules(std::shared_ptr<nn::Module> det, std::shared_ptr<nn::Module> extra) {
    register_module("detector", std::move(det));
    register_module("extra", std::move(extra));
  }
  std::string type_name() const override { return "TrainedModules"; }
};

}  // namespace

void run_det_training(const DetTrainArgs& a, const DetTrainHooks& hooks) {
  const std::string who = hooks.who;
  json state;
  if (!a.resume.empty()) {
    state = nn::read_json_file((fs::path(a.resume) / "state.json").string(), who);
    if (!state.contains("config") || !state.contains("iter"))
      throw ConfigError(str_cat("[", who, "] ", a.resume, "/state.json: not a train checkpoint"));
  }
  const json cfg_json = nn::load_run_config(a.config, state, a.sets, who);
  const DetTrainConfig c =
      parse_det_train_config(hooks.det_config ? hooks.det_config(cfg_json) : cfg_json);
#ifdef _OPENMP
  if (c.threads > 0) omp_set_num_threads(static_cast<int>(c.threads));
#endif

  manual_seed(c.seed);
  std::shared_ptr<Detector> det = build_detector(c.model, "model");
  const Device device = Device::parse(c.device);
  det->to(device);
  std::shared_ptr<nn::Module> extra = hooks.setup ? hooks.setup(*det, c, device) : nullptr;
  std::shared_ptr<nn::Module> trained =
      extra ? std::make_shared<TrainedModules>(det, extra) : std::shared_ptr<nn::Module>(det);

  // Data.
  data::CocoDataset train_ds = data::load_coco_json(c.train.annotations);
  data::TrainingFilterReport filter_report;
  train_ds.annotations = data::training_annotations(train_ds, &filter_report);
  std::vector<data::DetRecord> records = data::make_det_records(train_ds);
  if (c.filter_empty)
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [](const data::DetRecord& r) { return r.boxes.empty(); }),
                  records.end());
  if (records.empty()) throw ConfigError("[train] data.train: no training images with boxes");
  DF_CHECK(
      static_cast<int64_t>(data::contiguous_category_ids(train_ds).size()) <= det->num_classes(),
      ConfigError, "[train] the training set has ", data::contiguous_category_ids(train_ds).size(),
      " categories but the detector ", det->num_classes(), " classes");
  const data::DetLoaderConfig train_lc = det_loader_config(c, true, det->size_divisor());
  data::DetLoader loader(std::move(records),
                         data::image_dir_source(c.train.images, data::read_image), train_lc);
  const int64_t nb = loader.num_batches();
  const int64_t total = c.iterations > 0 ? c.iterations : c.epochs * nb;
  data::CocoDataset val_ds;
  if (c.val.defined()) val_ds = data::load_coco_json(c.val.annotations);

  // Optimizer and schedule.
  nn::ParamGroup base;
  base.lr = c.lr;
  base.weight_decay = c.weight_decay;
  base.momentum = c.momentum;
  base.nesterov = c.nesterov && c.momentum > 0;
  base.beta1 = c.beta1;
  base.beta2 = c.beta2;
  base.bn_sparsity_lambda = c.bn_sparsity;
  std::vector<nn::ParamGroup> groups;
  for (auto& g : nn::split_decay_groups(trained->named_parameters(), base))
    if (!g.params.empty()) groups.push_back(std::move(g));
  std::unique_ptr<nn::Optimizer> opt;
  if (c.opt_type == "sgd")
    opt = std::make_unique<nn::SGD>(groups);
  else
    opt = std::make_unique<nn::AdamW>(groups);
  nn::LRScheduler sched(*opt, make_schedule(c, total));

  fs::create_directories(a.out);
  const fs::path out(a.out);
  const std::string log_path = (out / "log.jsonl").string();
  int64_t start = 0;
  if (!state.is_null()) {
    nn::load_checkpoint(a.resume, *trained, *opt, who);
    sched.load_state_dict(state.at("scheduler"));
    nn::set_default_rng_state(state.at("rng"));
    start = state.at("iter").get<int64_t>();
    if (hooks.load_state && state.contains("hooks")) hooks.load_state(state.at("hooks"));
    const fs::path ckpt_log = fs::path(a.resume) / "log.jsonl";
    if (fs::exists(ckpt_log) && fs::absolute(ckpt_log) != fs::absolute(log_path))
      fs::copy_file(ckpt_log, log_path, fs::copy_options::overwrite_existing);
    std::printf("resumed from %s at iteration %lld\n", a.resume.c_str(),
                static_cast<long long>(start));
  } else {
    if (!c.init_weights.empty()) {
      DF_CHECK(fs::exists(c.init_weights), ConfigError, "[", who, "] train.init_weights: '",
               c.init_weights, "' does not exist");
      nn::load_module(*det, c.init_weights);
    }
    std::ofstream(log_path, std::ios::trunc);
  }
  nn::write_json_file((out / "config.json").string(), cfg_json, who);
  std::ofstream log(log_path, std::ios::app);

  std::printf("train annotations: %s\n", filter_report.str().c_str());
  std::printf(
      "train: %s, %lld parameters, %lld images (%lld batches/epoch of %lld), %lld iterations\n",
      c.model.value("type", "").c_str(), static_cast<long long>(det->num_parameters()),
      static_cast<long long>(loader.size()), static_cast<long long>(nb),
      static_cast<long long>(c.batch_size), static_cast<long long>(total));
  std::fflush(stdout);

  auto save = [&](int64_t iter) {
    const std::string dir = (out / str_cat("ckpt_iter", iter)).string();
    json st{{"iter", iter},
            {"epoch", iter / nb},
            {"loader", {{"epoch", iter / nb}, {"iteration", iter % nb}}},
            {"scheduler", sched.state_dict()},
            {"rng", nn::default_rng_state()},
            {"config", cfg_json}};
    if (hooks.state) st["hooks"] = hooks.state();
    nn::save_checkpoint(dir, *trained, *opt, st);
    log.flush();
    fs::copy_file(log_path, fs::path(dir) / "log.jsonl", fs::copy_options::overwrite_existing);
    nn::prune_checkpoints(a.out, "ckpt_iter", static_cast<int>(c.keep_checkpoints));
    std::printf("checkpoint %s\n", dir.c_str());
    std::fflush(stdout);
  };
  json last_eval;
  auto evaluate = [&](int64_t iter) {
    const auto t0 = std::chrono::steady_clock::now();
    auto dets =
        detect_coco(*det, val_ds, c.val.images, det_loader_config(c, false, det->size_divisor()));
    const CocoEvalSummary s = evaluate_coco_bbox(val_ds, dets);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("eval iter %lld (%zu detections, %.1fs): %s\n", static_cast<long long>(iter),
                dets.size(), secs, summary_line(s).c_str());
    std::fflush(stdout);
    last_eval = {{"iter", iter}, {"eval", coco_summary_to_json(s)}};
    log << last_eval.dump() << "\n";
    log.flush();
  };

  det->train();
  int64_t epoch = start / nb;
  loader.start(epoch, start % nb);
  const auto run_t0 = std::chrono::steady_clock::now();
  std::map<std::string, double> win;
  std::vector<std::string> names;
  int64_t win_n = 0, done = 0;
  double win_time = 0;
  int64_t it = start;
  for (; it < total; ++it) {
    std::optional<data::DetBatch> batch = loader.next();
    if (!batch) {
      loader.start(++epoch, 0);
      batch = loader.next();
      DF_CHECK(batch.has_value(), ConfigError, "[train] the loader yielded no batch");
    }
    const auto t0 = std::chrono::steady_clock::now();
    batch_to(*batch, device);
    const double lr = sched.current_lrs()[0];
    opt->zero_grad();
    LossMap losses;
    if (hooks.step) {
      losses = hooks.step(*det, *batch, it, total);
    } else if (hooks.losses) {
      const int64_t iter = it + 1;
      losses = hooks.losses(*det, *batch, iter, [&](json ev) {
        ev["iter"] = iter;
        std::printf("%s\n", ev.dump().c_str());
        std::fflush(stdout);
        log << ev.dump() << "\n";
      });
    } else {
      losses = det->forward_train(batch->images, batch->image_sizes, batch->targets);
    }
    Tensor loss = total_loss(losses);
    if (!hooks.step) loss.backward();
    if (c.clip_grad_norm > 0) nn::clip_grad_norm_(trained->parameters(), c.clip_grad_norm);
    opt->step();
    sched.step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double lv = loss.item();
    DF_CHECK(std::isfinite(lv), ConfigError, "[", who, "] iteration ", it + 1, ": loss is ", lv);
    json rec{{"iter", it + 1}, {"epoch", epoch}, {"loss", lv}};
    if (names.empty()) names.push_back("loss");
    for (const auto& [n, t] : losses)  // terms may appear later (etp train: after phase 0)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    win["loss"] += lv;
    for (const auto& [n, t] : losses) {
      const double v = t.item();
      rec[n] = v;
      win[n] += v;
    }
    rec["lr"] = lr;
    rec["time"] = dt;
    rec["size"] = {batch->images.size(2), batch->images.size(3)};
    if (hooks.annotate) hooks.annotate(rec);
    log << rec.dump() << "\n";
    ++win_n;
    ++done;
    win_time += dt;
    if ((it + 1) % c.log_every == 0 || it + 1 == total) {
      const double run_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - run_t0).count();
      std::string terms;
      for (const auto& n : names)
        terms += str_cat(" ", n, " ", std::to_string(win[n] / win_n).substr(0, 6));
      std::printf("iter %lld/%lld%s lr %.5g %.3fs/it ETA %s\n", static_cast<long long>(it + 1),
                  static_cast<long long>(total), terms.c_str(), lr, win_time / win_n,
                  nn::format_duration(run_s / done * (total - it - 1)).c_str());
      std::fflush(stdout);
      log.flush();
      win.clear();
      win_n = 0;
      win_time = 0;
    }
    const bool stopping = a.stop_at > 0 && it + 1 == a.stop_at && it + 1 < total;
    if (c.eval_every > 0 && (it + 1) % c.eval_every == 0) evaluate(it + 1);
    if ((c.checkpoint_every > 0 && (it + 1) % c.checkpoint_every == 0 && it + 1 < total) ||
        stopping)
      save(it + 1);
    if (stopping) {
      ++it;
      break;
    }
  }
  loader.stop();
  log.flush();
  if (it >= total) {
    if (c.val.defined() && c.eval_every > 0 && total % c.eval_every != 0) evaluate(total);
    nn::save_state_dict(*det, (out / "model.safetensors").string());
    std::printf("model %s\n", (out / "model.safetensors").string().c_str());
  }
  if (!last_eval.is_null()) nn::write_json_file((out / "metrics.json").string(), last_eval, who);
  plot_loss_log(log_path, (out / "loss.png").string());
  std::printf("loss curve %s\n", (out / "loss.png").string().c_str());
  std::fflush(stdout);
}

}  // namespace detforge::detection
