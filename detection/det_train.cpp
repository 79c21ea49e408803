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

constexpr const char* kWho = "train";

std::string resolve(const std::string& root, const std::string& p) {
  if (root.empty() || p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(root) / p).string();
}

data::ResizeSize parse_size(const json& v, const nn::JsonReader& r, const std::string& key) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer() ||
      v[0].get<int64_t>() <= 0 || v[1].get<int64_t>() <= 0)
    r.fail(key, "[short, long] (two positive integers)");
  return {v[0].get<int64_t>(), v[1].get<int64_t>()};
}

DetSplitConfig parse_split(const nn::JsonReader& d, const std::string& key, const std::string& root,
                           bool required) {
  DetSplitConfig s;
  if (!d.has(key)) {
    if (required) d.fail(key, "an object {\"images\": dir, \"annotations\": json}");
    return s;
  }
  nn::JsonReader r(d.get_object(key), d.key_path(key), kWho);
  r.allow({"images", "annotations"});
  if (!r.has("annotations")) r.fail("annotations", "a COCO JSON path");
  s.annotations = resolve(root, r.get_string("annotations", ""));
  s.images = resolve(root, r.get_string("images", ""));
  if (s.annotations.empty()) r.fail("annotations", "a non-empty path");
  return s;
}

}  // namespace

DetTrainConfig parse_det_train_config(const json& j) {
  DetTrainConfig c;
  c.raw = j;
  nn::JsonReader r(j, "", kWho);
  r.allow({"data", "model", "optim", "train"});
  if (!r.has("model")) r.fail("model", "an object with a \"type\"");
  c.model = r.get_object("model");
  if (!r.has("data")) r.fail("data", "an object with \"train\"");
  {
    const json dj = r.get_object("data");
    nn::JsonReader d(dj, "data", kWho);
    d.allow({"root", "train", "val", "train_sizes", "test_size", "batch_size", "eval_batch_size",
             "workers", "flip", "size_divisor", "filter_empty", "normalize", "rounding"});
    const std::string root = d.get_string("root", "");
    c.train = parse_split(d, "train", root, true);
    c.val = parse_split(d, "val", root, false);
    if (d.has("train_sizes")) {
      const json& ts = dj.at("train_sizes");
      if (!ts.is_array() || ts.empty()) d.fail("train_sizes", "a non-empty array of [short, long]");
      c.train_sizes.clear();
      for (size_t i = 0; i < ts.size(); ++i)
        c.train_sizes.push_back(parse_size(ts[i], d, str_cat("train_sizes[", i, "]")));
    }
    if (d.has("test_size"))
      c.test_size = parse_size(dj.at("test_size"), d, "test_size");
    else
      c.test_size = c.train_sizes.back();
    c.batch_size = d.get_int("batch_size", c.batch_size, 1);
    c.eval_batch_size = d.get_int("eval_batch_size", c.batch_size, 1);
    c.workers = d.get_int("workers", c.workers, 0);
    c.flip = d.get_double("flip", c.flip, 0);
    if (c.flip > 1) d.fail("flip", "a probability in [0, 1]");
    c.size_divisor = d.get_int("size_divisor", 0, 0);
    c.filter_empty = d.get_bool("filter_empty", true);
    c.normalize = d.get_string("normalize", "imagenet", {"imagenet", "unit", "none"});
    c.rounding = d.get_string("rounding", "torchvision", {"torchvision", "mmdet"});
  }
  {
    nn::JsonReader o(r.get_object("optim"), "optim", kWho);
    o.allow({"type", "lr", "momentum", "nesterov", "weight_decay", "betas", "warmup_iters",
             "warmup_factor", "warmup", "schedule", "clip_grad_norm"});
    c.opt_type = o.get_string("type", "sgd", {"sgd", "adamw"});
    c.lr = o.get_double("lr", c.opt_type == "sgd" ? 0.02 : 1e-4, 0);
    c.momentum = o.get_double("momentum", 0.9, 0);
    c.nesterov = o.get_bool("nesterov", false);
    c.weight_decay = o.get_double("weight_decay", c.opt_type == "sgd" ? 1e-4 : 0.05, 0);
    auto betas = o.get_double_list("betas", {0.9, 0.999});
    if (betas.size() != 2) o.fail("betas", "[beta1, beta2]");
    c.beta1 = betas[0];
    c.beta2 = betas[1];
    c.warmup_iters = o.get_int("warmup_iters", 0, 0);
    c.warmup_factor = o.get_double("warmup_factor", 0.001, 0);
    c.warmup_mode = o.get_string("warmup", "linear", {"linear", "constant", "exp"});
    c.clip_grad_norm = o.get_double("clip_grad_norm", 0, 0);
    nn::JsonReader s(o.get_object("schedule"), "optim.schedule", kWho);
    s.allow({"type", "milestones", "gamma", "eta_min"});
    c.sched_type = s.get_string("type", "multistep", {"multistep", "cosine", "constant"});
    c.milestones = s.get_int_list("milestones", {}, 1);
    c.gamma = s.get_double("gamma", 0.1, 0);
    c.eta_min = s.get_double("eta_min", 0, 0);
  }
  {
    nn::JsonReader t(r.get_object("train"), "train", kWho);
    t.allow({"iterations", "epochs", "log_every", "checkpoint_every", "eval_every",
             "keep_checkpoints", "seed", "threads", "device"});
    if (t.has("iterations") == t.has("epochs"))
      t.fail("iterations", "exactly one of \"iterations\" and \"epochs\"");
    c.iterations = t.get_int("iterations", 0, 1);
    c.epochs = t.get_int("epochs", 0, 1);
    c.log_every = t.get_int("log_every", c.log_every, 1);
    c.checkpoint_every = t.get_int("checkpoint_every", 0, 0);
    c.eval_every = t.get_int("eval_every", 0, 0);
    c.keep_checkpoints = t.get_int("keep_checkpoints", 3, 0);
    c.seed = static_cast<uint64_t>(t.get_int("seed", 0, 0));
    c.threads = t.get_int("threads", 0, 0);
    c.device = t.get_string("device", "cpu");
    try {
      Device::parse(c.device);
    } catch (const Error&) {
      t.fail("device", "\"cpu\", \"cuda\" or \"cuda:N\"");
    }
  }
  if (c.eval_every > 0 && !c.val.defined())
    throw ConfigError("[train] train.eval_every: needs data.val");
  return c;
}

data::DetLoaderConfig det_loader_config(const DetTrainConfig& c, bool train, int64_t size_divisor) {
  data::DetLoaderConfig l;
  l.train = train;
  l.shuffle = true;
  l.batch_size = train ? c.batch_size : c.eval_batch_size;
  l.flip_prob = train ? c.flip : 0.0;
  l.train_sizes = c.train_sizes;
  l.eval_size = c.test_size;
  l.seed = c.seed;
  l.num_workers = static_cast<int>(c.workers);
  l.transform.size_divisor = c.size_divisor > 0 ? c.size_divisor : size_divisor;
  l.transform.rounding =
      c.rounding == "mmdet" ? data::ResizeRounding::mmdet : data::ResizeRounding::torchvision;
  l.transform.normalize = c.normalize == "unit"   ? data::Normalize::unit()
                          : c.normalize == "none" ? data::Normalize::none()
                                                  : data::Normalize::imagenet();
  return l;
}

void batch_to(data::DetBatch& batch, Device device) {
  if (device.is_cpu() && !batch.images.is_cuda()) return;
  batch.images = batch.images.to(device);
  for (auto& t : batch.targets) {
    t.boxes = t.boxes.to(device);
    t.labels = t.labels.to(device);
  }
}

std::vector<CocoDetection> detect_coco(Detector& det, const data::CocoDataset& gt,
                                       const std::string& images_dir,
                                       const data::DetLoaderConfig& loader_cfg) {
  data::DetLoaderConfig lc = loader_cfg;
  lc.train = false;
  const auto cat_ids = data::contiguous_category_ids(gt);
  data::DetLoader loader(data::make_det_records(gt),
                         data::image_dir_source(images_dir, data::read_image), lc);
  const auto params = det.parameters();
  const Device device = params.empty() ? kCPU : params.front().device();
  NoGradGuard ng;
  const bool was_training = det.is_training();
  det.eval();
  std::vector<CocoDetection> out;
  loader.start(0, 0);
  while (auto batch = loader.next()) {
    batch_to(*batch, device);
    const auto dets = det.forward_eval(batch->images, batch->image_sizes);
    DF_CHECK(dets.size() == batch->targets.size(), ShapeError, "[eval] the detector returned ",
             dets.size(), " results for ", batch->targets.size(), " images");
    for (size_t i = 0; i < dets.size(); ++i) {
      const data::DetTarget& t = batch->targets[i];
      const Tensor boxes = dets[i].boxes.to(kCPU).contiguous();
      const Tensor scores = dets[i].scores.to(kCPU).contiguous();
      const Tensor labels = dets[i].labels.to(kCPU).to(DType::i64).contiguous();
      const int64_t n = boxes.size(0);
      const float* b = boxes.data<float>();
      for (int64_t k = 0; k < n; ++k) {
        const int64_t label = labels.data<int64_t>()[k];
        DF_CHECK(label >= 1 && label <= static_cast<int64_t>(cat_ids.size()), ConfigError,
                 "[eval] label ", label, " outside 1..", cat_ids.size(),
                 " (the dataset's categories)");
        CocoDetection d;
        d.image_id = t.image_id;
        d.category_id = cat_ids[label - 1];
        const double x1 = b[4 * k] / t.scale_x, y1 = b[4 * k + 1] / t.scale_y;
        const double x2 = b[4 * k + 2] / t.scale_x, y2 = b[4 * k + 3] / t.scale_y;
        d.bbox = {x1, y1, x2 - x1, y2 - y1};
        d.score = scores.data<float>()[k];
        out.push_back(d);
      }
    }
  }
  det.train(was_training);
  return out;
}

void plot_loss_log(const std::string& log_jsonl, const std::string& png) {
  std::ifstream f(log_jsonl);
  if (!f) throw IOError(str_cat("[train] cannot open ", log_jsonl));
  std::vector<std::string> names{"loss"};
  std::map<std::string, data::PlotSeries> series;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("loss") || !j.contains("iter")) continue;
    const double it = j["iter"].get<double>();
    for (const auto& [k, v] : j.items()) {
      if (k != "loss" && k.rfind("loss_", 0) != 0) continue;
      if (!series.count(k)) {
        if (k != "loss") names.push_back(k);
        series[k].label = k;
      }
      series[k].x.push_back(it);
      series[k].y.push_back(v.get<double>());
    }
  }
  std::vector<data::PlotSeries> ss;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!series.count(names[i])) continue;
    data::PlotSeries s = series[names[i]];
    s.color = i == 0 ? data::Rgb{0, 0, 0} : data::palette_color(static_cast<int64_t>(i - 1));
    ss.push_back(std::move(s));
  }
  data::PlotOptions opt;
  opt.width = 800;
  opt.height = 450;
  opt.title = "training loss";
  opt.xlabel = "iteration";
  data::write_png(png, data::plot_lines(ss, opt));
}

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

}  // namespace

void run_det_training(const DetTrainArgs& a) {
  json state;
  if (!a.resume.empty()) {
    state = nn::read_json_file((fs::path(a.resume) / "state.json").string(), kWho);
    if (!state.contains("config") || !state.contains("iter"))
      throw ConfigError(str_cat("[train] ", a.resume, "/state.json: not a train checkpoint"));
  }
  json cfg_json;
  if (!a.config.empty())
    cfg_json = nn::read_json_file(a.config, kWho);
  else if (!state.is_null())
    cfg_json = state["config"];
  else
    throw ConfigError("[train] --config is required (or --resume a checkpoint)");
  const DetTrainConfig c = parse_det_train_config(cfg_json);
#ifdef _OPENMP
  if (c.threads > 0) omp_set_num_threads(static_cast<int>(c.threads));
#endif

  manual_seed(c.seed);
  std::shared_ptr<Detector> det = build_detector(c.model, "model");
  const Device device = Device::parse(c.device);
  det->to(device);

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
  std::vector<nn::ParamGroup> groups;
  for (auto& g : nn::split_decay_groups(det->named_parameters(), base))
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
    nn::load_checkpoint(a.resume, *det, *opt, kWho);
    sched.load_state_dict(state.at("scheduler"));
    nn::set_default_rng_state(state.at("rng"));
    start = state.at("iter").get<int64_t>();
    const fs::path ckpt_log = fs::path(a.resume) / "log.jsonl";
    if (fs::exists(ckpt_log) && fs::absolute(ckpt_log) != fs::absolute(log_path))
      fs::copy_file(ckpt_log, log_path, fs::copy_options::overwrite_existing);
    std::printf("resumed from %s at iteration %lld\n", a.resume.c_str(),
                static_cast<long long>(start));
  } else {
    std::ofstream(log_path, std::ios::trunc);
  }
  nn::write_json_file((out / "config.json").string(), cfg_json, kWho);
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
    nn::save_checkpoint(dir, *det, *opt, st);
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
    LossMap losses = det->forward_train(batch->images, batch->image_sizes, batch->targets);
    Tensor loss = total_loss(losses);
    loss.backward();
    if (c.clip_grad_norm > 0) nn::clip_grad_norm_(det->parameters(), c.clip_grad_norm);
    opt->step();
    sched.step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double lv = loss.item();
    DF_CHECK(std::isfinite(lv), ConfigError, "[train] iteration ", it + 1, ": loss is ", lv);
    json rec{{"iter", it + 1}, {"epoch", epoch}, {"loss", lv}};
    if (names.empty()) {
      names.push_back("loss");
      for (const auto& [n, t] : losses) names.push_back(n);
    }
    win["loss"] += lv;
    for (const auto& [n, t] : losses) {
      const double v = t.item();
      rec[n] = v;
      win[n] += v;
    }
    rec["lr"] = lr;
    rec["time"] = dt;
    rec["size"] = {batch->images.size(2), batch->images.size(3)};
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
  if (!last_eval.is_null()) nn::write_json_file((out / "metrics.json").string(), last_eval, kWho);
  plot_loss_log(log_path, (out / "loss.png").string());
  std::printf("loss curve %s\n", (out / "loss.png").string().c_str());
  std::fflush(stdout);
}

}  // namespace detforge::detection
