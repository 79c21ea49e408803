#include "nas/search/joint_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "data/coco_json.h"
#include "detection/coco_results.h"
#include "detection/det_train.h"
#include "kd/distill_train.h"
#include "nas/etp_detector.h"
#include "nas/etp_train.h"
#include "nas/profiler/flops.h"
#include "nas/profiler/latency.h"
#include "nas/search/search_report.h"
#include "nas/search/student.h"
#include "nn/checkpoint.h"
#include "nn/json_reader.h"
#include "nn/serialization.h"
#include "tensor/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::nas {
namespace {
constexpr const char* kWho = "search";
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A config given inline or as a file path, with the section's "overrides" (a JSON merge patch,
// RFC 7386) applied: `--set base.overrides.train.iterations=100` shortens a referenced config.
json config_value(const nn::JsonReader& r, const json& j, const std::string& key) {
  if (!j.contains(key)) r.fail(key, "a config object or a JSON file path");
  const json& v = j.at(key);
  json out;
  if (v.is_string())
    out = nn::read_json_file(v.get<std::string>(), kWho);
  else if (v.is_object())
    out = v;
  else
    r.fail(key, "a config object or a JSON file path");
  if (j.contains("overrides")) {
    if (!j.at("overrides").is_object()) r.fail("overrides", "an object (a JSON merge patch)");
    out.merge_patch(j.at("overrides"));
  }
  return out;
}

data::ResizeSize parse_resolution(const json& v, const nn::JsonReader& r, const std::string& key) {
  if (v.is_number_integer() && v.get<int64_t>() > 0) return {v.get<int64_t>(), v.get<int64_t>()};
  if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer() &&
      v[0].get<int64_t>() > 0 && v[1].get<int64_t>() >= v[0].get<int64_t>())
    return {v[0].get<int64_t>(), v[1].get<int64_t>()};
  r.fail(key, "a size S (S x S) or [short, long] with 0 < short <= long");
}

json size_json(const data::ResizeSize& s) {
  return {s.short_side, s.long_side};
}

}  // namespace

JointSearchConfig parse_joint_search_config(const json& j) {
  JointSearchConfig c;
  nn::JsonReader r(j, "", kWho);
  r.allow({"base", "etp", "search", "fast_eval"});
  {
    nn::JsonReader b(r.get_object("base"), "base", kWho);
    b.allow({"config", "weights", "overrides"});
    c.base_config = config_value(b, j.at("base"), "config");
    c.base_weights = b.get_string("weights", "");
    DF_CHECK(c.base_config.contains("model"), ConfigError, "[", kWho,
             "] base.config: a det-train config with a \"model\"");
    const json& bb = c.base_config.at("model").value("backbone", json::object());
    if (b.get_string("weights", "").empty() && bb.is_object() && bb.contains("weights"))
      throw ConfigError(str_cat(
          "[", kWho,
          "] base.config.model.backbone.weights: a pretrained backbone cannot be carried into the "
          "static_resnet student that the search trains; train the base with `detforge train` "
          "first and give it as base.weights"));
    c.base_config["model"] = student_model_json(c.base_config.at("model"), "base.config.model");
    if (!c.base_weights.empty() && !fs::exists(c.base_weights))
      b.fail("weights", "an existing .safetensors file");
  }
  {
    nn::JsonReader e(r.get_object("etp"), "etp", kWho);
    e.allow({"config", "weights", "overrides"});
    c.etp_config = config_value(e, j.at("etp"), "config");
    c.etp_weights = e.get_string("weights", "");
    DF_CHECK(c.etp_config.contains("model") &&
                 c.etp_config.at("model").value("type", "") == "etp_faster_rcnn",
             ConfigError, "[", kWho, "] etp.config.model.type: expected \"etp_faster_rcnn\"");
    if (!c.etp_weights.empty() && !fs::exists(c.etp_weights))
      e.fail("weights", "an existing .safetensors file");
  }
  const detection::DetTrainConfig base = detection::parse_det_train_config(c.base_config);
  DF_CHECK(base.val.defined(), ConfigError, "[", kWho,
           "] base.config.data.val: the search evaluates candidates on the validation split");
  {
    const json sj = r.get_object("search");
    nn::JsonReader s(sj, "search", kWho);
    s.allow({"iterations", "top_k", "patience", "alpha", "beta", "student_prob", "resolutions",
             "actions", "channel_prune_percent", "channel_prune_ranking", "max_depth", "seed"});
    c.iterations = s.get_int("iterations", c.iterations, 0);
    c.top_k = s.get_int("top_k", c.top_k, 1);
    c.patience = s.get_int("patience", 0, 0);
    c.alpha = s.get_double("alpha", c.alpha, 0);
    c.beta = s.get_double("beta", c.beta, 0);
    c.student_prob = s.get_double("student_prob", c.student_prob, 0);
    if (c.student_prob > 1) s.fail("student_prob", "a probability in [0, 1]");
    if (sj.contains("resolutions")) {
      const json& rs = sj.at("resolutions");
      if (!rs.is_array() || rs.empty()) s.fail("resolutions", "a non-empty list of sizes");
      for (size_t i = 0; i < rs.size(); ++i)
        c.resolutions.push_back(parse_resolution(rs[i], s, str_cat("resolutions[", i, "]")));
    } else {
      c.resolutions = {base.test_size};
    }
    // R_base: the base is reported at its own test size, so it must be one of the choices.
    if (std::find(c.resolutions.begin(), c.resolutions.end(), base.test_size) ==
        c.resolutions.end())
      s.fail("resolutions",
             str_cat("a list including the base config's data.test_size [",
                     base.test_size.short_side, ", ", base.test_size.long_side, "] (R_base)"));
    if (sj.contains("actions")) {
      const json& as = sj.at("actions");
      if (!as.is_array() || as.empty()) s.fail("actions", "a non-empty list of action names");
      c.actions.types.clear();
      for (const auto& a : as) {
        const std::string n = a.is_string() ? a.get<std::string>() : "";
        MorphActionType t;
        if (n == "add_layer")
          t = MorphActionType::kAddLayer;
        else if (n == "rearrange")
          t = MorphActionType::kRearrange;
        else if (n == "layer_prune")
          t = MorphActionType::kLayerPrune;
        else if (n == "channel_prune")
          t = MorphActionType::kChannelPrune;
        else
          s.fail("actions", "names among add_layer, rearrange, layer_prune, channel_prune");
        c.actions.types.push_back(t);
      }
    }
    c.actions.channel_prune_percent = s.get_double("channel_prune_percent", 0.1, 0);
    if (c.actions.channel_prune_percent <= 0 || c.actions.channel_prune_percent >= 1)
      s.fail("channel_prune_percent", "a fraction in (0, 1)");
    c.actions.channel_prune_per_layer =
        s.get_string("channel_prune_ranking", "global", {"global", "per_layer"}) == "per_layer";
    c.actions.max_depth = s.get_int("max_depth", c.actions.max_depth, 1);
    c.seed = static_cast<uint64_t>(s.get_int("seed", 0, 0));
    if (c.seed > 0x7fffffffULL) s.fail("seed", "an integer in [0, 2^31)");
  }
  {
    const json fj = r.get_object("fast_eval");
    nn::JsonReader f(fj, "fast_eval", kWho);
    f.allow({"iterations", "optim", "eval_images", "bn_sparsity", "kd", "recalib_batches",
             "latency_repeats"});
    c.fast_iters = f.get_int("iterations", c.fast_iters, 1);
    c.fast_optim = f.get_object("optim");
    c.eval_images = f.get_int("eval_images", 0, 0);
    c.bn_sparsity = f.get_double("bn_sparsity", c.bn_sparsity, 0);
    if (fj.contains("kd")) c.kd = f.get_object("kd");
    c.recalib_batches = f.get_int("recalib_batches", -1, -1);
    c.latency_repeats = f.get_int("latency_repeats", c.latency_repeats, 1);
  }
  // The candidates' training config must parse: fail now, not after the base training.
  json probe = c.base_config;
  probe["optim"].merge_patch(c.fast_optim);
  probe["teacher"] = {{"config", c.etp_config}, {"weights", "unused.safetensors"}};
  probe["kd"] = c.kd;
  try {
    kd::parse_distill_config(probe);
    detection::parse_det_train_config(kd::det_train_part(probe));
  } catch (const ConfigError& e) {
    throw ConfigError(
        str_cat("[", kWho, "] fast_eval: the candidates' training config is invalid: ", e.what()));
  }
  return c;
}

namespace {

// The validation split cut to its first n images (all when n is 0).
data::CocoDataset eval_subset(data::CocoDataset ds, int64_t n) {
  if (n <= 0 || n >= static_cast<int64_t>(ds.images.size())) return ds;
  ds.images.resize(static_cast<size_t>(n));
  std::set<int64_t> keep;
  for (const auto& im : ds.images) keep.insert(im.id);
  ds.annotations.erase(
      std::remove_if(ds.annotations.begin(), ds.annotations.end(),
                     [&](const data::CocoAnnotation& a) { return keep.count(a.image_id) == 0; }),
      ds.annotations.end());
  return ds;
}

// The state of one search under out/.
class JointSearch {
 public:
  JointSearch(JointSearchConfig cfg, std::string out)
      : c_(std::move(cfg)),
        out_(std::move(out)),
        base_(detection::parse_det_train_config(c_.base_config)) {}

  void run();

 private:
  struct Eval {
    json results = json::array();  // per resolution {resolution, AP, AP50, score}
    double score = 0, ap = 0, ap50 = 0;
    data::ResizeSize res;
    int64_t macs = 0, backbone_macs = 0, params = 0;
  };

  std::string path(const std::string& rel) const { return (out_ / rel).string(); }
  void train_stage(const char* label, const std::string& dir, const json& cfg,
                   const std::string& key,
                   const std::function<void(const detection::DetTrainArgs&)>& run);
  void train_base();
  void train_etp();
  std::string teacher(const json& arch);  // sampled teacher dir (cached)
  Eval evaluate(detection::Detector& det);
  void load_or_start();
  void save_state();
  void cleanup();
  void candidate(int64_t iter);
  void finish();
  void record_history(int64_t iter);  // the best pair after iteration iter (capacity.png)
  json entry_record(const Student& s, const std::string& weights, const json& teacher_arch,
                    const json& history, const Eval& e) const;

  JointSearchConfig c_;
  fs::path out_;
  detection::DetTrainConfig base_;
  std::string base_weights_, etp_config_path_, etp_weights_;
  data::CocoDataset val_;
  std::shared_ptr<EtpFasterRCNN> etp_;  // for its search space only
  double base_macs_ = 0;
  TopKList topk_{1};
  int64_t next_iter_ = 1, since_best_ = 0;
  json stages_ = json::object();  // wall seconds of the base / ETP training and the candidates
  json history_ = json::array();  // per finished iteration: the best pair (record_history)
};

// Runs a training stage into out/<dir> from out/<dir>_config.json, resuming from its newest
// checkpoint when one exists; its wall seconds accumulate under stages_[key].
void JointSearch::train_stage(const char* label, const std::string& dir, const json& cfg,
                              const std::string& key,
                              const std::function<void(const detection::DetTrainArgs&)>& run) {
  nn::write_json_file(path(dir + "_config.json"), cfg, kWho);
  detection::DetTrainArgs a;
  a.config = path(dir + "_config.json");
  a.out = path(dir);
  a.resume = nn::latest_checkpoint(a.out, "ckpt_iter");
  if (!a.resume.empty()) a.config.clear();
  std::printf("[search] %s -> %s\n", label, a.out.c_str());
  std::fflush(stdout);
  const auto t0 = Clock::now();
  run(a);
  stages_[key] = stages_.value(key, 0.0) + seconds_since(t0);
}

void JointSearch::train_base() {
  if (!c_.base_weights.empty()) {
    base_weights_ = c_.base_weights;
    return;
  }
  base_weights_ = path("base/model.safetensors");
  if (fs::exists(base_weights_)) return;
  json bc = c_.base_config;
  if (!bc["optim"].contains("bn_sparsity")) bc["optim"]["bn_sparsity"] = c_.bn_sparsity;
  train_stage("stage 1/3: training the base detector", "base", bc, "base_training_s",
              [](const detection::DetTrainArgs& a) { detection::run_det_training(a); });
}

void JointSearch::train_etp() {
  if (!c_.etp_weights.empty()) {
    etp_weights_ = c_.etp_weights;
    etp_config_path_ = path("etp_config.json");
    nn::write_json_file(etp_config_path_, c_.etp_config, kWho);
    return;
  }
  etp_weights_ = path("etp/model.safetensors");
  etp_config_path_ = path("etp/config.json");
  if (fs::exists(etp_weights_)) return;
  train_stage("stage 2/3: training the elastic teacher pool", "etp", c_.etp_config,
              "etp_training_s", run_etp_training);
}

std::string teacher_key(const json& arch) {
  std::string k = "d";
  const auto& st = arch.at("backbone").at("stages");
  for (size_t i = 0; i < st.size(); ++i)
    k += str_cat(i ? "-" : "", st[i].at("depth").get<int64_t>());
  k += "_w";
  for (size_t i = 0; i < st.size(); ++i) {
    char b[16];
    std::snprintf(b, sizeof b, "%s%g", i ? "-" : "", st[i].at("width_mult").get<double>());
    k += b;
  }
  char b[24];
  std::snprintf(b, sizeof b, "_f%g", arch.at("fpn_width").get<double>());
  return k + b;
}

std::string JointSearch::teacher(const json& arch) {
  const std::string dir = path("teachers/" + teacher_key(arch));
  if (fs::exists(fs::path(dir) / "model.safetensors") &&
      fs::exists(fs::path(dir) / "config.json") && fs::exists(fs::path(dir) / "teacher.json"))
    return dir;
  EtpSampleArgs a;
  a.config = etp_config_path_;
  a.weights = etp_weights_;
  a.arch = arch.dump();
  a.out = dir;
  a.batches = c_.recalib_batches;
  run_etp_sample(a);
  return dir;
}

JointSearch::Eval JointSearch::evaluate(detection::Detector& det) {
  Eval e;
  det.to(Device::parse(base_.device));  // train.device: candidates are evaluated where they train
  const data::ResizeSize rb = base_.test_size;
  const StudentMacs m = student_macs(det, rb);
  e.macs = m.macs;
  e.backbone_macs = m.backbone_macs;
  e.params = det.num_parameters();
  if (base_macs_ <= 0) base_macs_ = static_cast<double>(e.macs);  // the base pair: C_base
  for (const auto& r : c_.resolutions) {
    data::DetLoaderConfig lc = detection::det_loader_config(base_, false, det.size_divisor());
    lc.eval_size = r;
    const auto dets = detection::detect_coco(det, val_, base_.val.images, lc);
    const detection::CocoEvalSummary s = detection::evaluate_coco_bbox(val_, dets);
    const double h = joint_score(s[0], static_cast<double>(e.macs), base_macs_,
                                 static_cast<double>(r.short_side),
                                 static_cast<double>(rb.short_side), c_.alpha, c_.beta);
    e.results.push_back({{"resolution", size_json(r)}, {"AP", s[0]}, {"AP50", s[1]}, {"score", h}});
    DF_CHECK(std::isfinite(s[0]) && s[0] >= 0, ConfigError, "[", kWho, "] AP at ", r.short_side,
             "x", r.long_side, " is ", s[0], " (no ground truth in the evaluation images?)");
    if (e.results.size() == 1 || h > e.score) {
      e.score = h;
      e.ap = s[0];
      e.ap50 = s[1];
      e.res = r;
    }
  }
  return e;
}

json JointSearch::entry_record(const Student& s, const std::string& weights,
                               const json& teacher_arch, const json& history, const Eval& e) const {
  return {{"model", s.model},        {"weights", weights},
          {"teacher", teacher_arch}, {"teacher_key", teacher_key(teacher_arch)},
          {"history", history},      {"AP", e.ap},
          {"AP50", e.ap50},          {"resolution", size_json(e.res)},
          {"macs", e.macs},          {"backbone_macs", e.backbone_macs},
          {"params", e.params},      {"results", e.results}};
}

void JointSearch::record_history(int64_t iter) {
  const SearchEntry& best = topk_.best();
  const json& r = best.record;
  const json teacher_info = nn::read_json_file(teacher(r.at("teacher")) + "/teacher.json", kWho);
  history_.push_back({{"iteration", iter},
                      {"best_score", best.score},
                      {"best_id", best.id},
                      {"macs", r.at("macs")},
                      {"backbone_macs", r.at("backbone_macs")},
                      {"teacher_backbone_macs", teacher_info.at("backbone_macs")}});
}

void JointSearch::save_state() {
  json st{{"version", 1},      {"next_iteration", next_iter_}, {"since_best", since_best_},
          {"seed", c_.seed},   {"base_macs", base_macs_},      {"topk", topk_.to_json()},
          {"stages", stages_}, {"history", history_}};
  nn::write_json_file(path("state.json"), st, kWho);
}

// Removes the weights and teachers no top-k entry needs (the base's stay where they are).
void JointSearch::cleanup() {
  std::set<std::string> keep_teachers;
  for (const auto& e : topk_.entries()) keep_teachers.insert(e.record.at("teacher_key"));
  if (fs::exists(path("candidates")))
    for (const auto& d : fs::directory_iterator(path("candidates"))) {
      const std::string name = d.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!topk_.contains(std::stoll(name))) fs::remove(d.path() / "model.safetensors");
      fs::remove(d.path() / "init.safetensors");
    }
  if (fs::exists(path("teachers"))) {
    std::vector<fs::path> drop;
    for (const auto& d : fs::directory_iterator(path("teachers")))
      if (!keep_teachers.count(d.path().filename().string())) drop.push_back(d.path());
    for (const auto& d : drop) {  // renamed first: a kill mid-delete leaves no half teacher
      fs::path trash = d;
      if (trash.extension() != ".trash") {
        trash += ".trash";
        fs::rename(d, trash);
      }
      fs::remove_all(trash);
    }
  }
}

void JointSearch::load_or_start() {
  data::CocoDataset val = data::load_coco_json(base_.val.annotations);
  val_ = eval_subset(std::move(val), c_.eval_images);
  DF_CHECK(!val_.annotations.empty(), ConfigError, "[", kWho,
           "] fast_eval.eval_images: the evaluation images hold no annotations");
  if (fs::exists(path("state.json"))) {
    const json st = nn::read_json_file(path("state.json"), kWho);
    next_iter_ = st.at("next_iteration").get<int64_t>();
    since_best_ = st.at("since_best").get<int64_t>();
    base_macs_ = st.at("base_macs").get<double>();
    topk_ = TopKList::from_json(st.at("topk"));
    stages_ = st.at("stages");
    history_ = st.at("history");
    // Drop the log lines of a candidate that finished after the last state write, and a line
    // cut short by the kill.
    std::vector<std::string> keep;
    int64_t dropped = 0;
    std::ifstream in(path("candidates.jsonl"));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("iteration") && j.at("iteration").get<int64_t>() < next_iter_)
        keep.push_back(line);
      else
        ++dropped;
    }
    in.close();
    if (dropped > 0)
      std::printf("[search] dropped %lld candidates.jsonl line(s) written after the last state\n",
                  static_cast<long long>(dropped));
    {
      std::ofstream o(path("candidates.jsonl.tmp"), std::ios::trunc);
      for (const auto& l : keep) o << l << "\n";
    }
    fs::rename(path("candidates.jsonl.tmp"), path("candidates.jsonl"));  // a kill keeps one copy
    std::printf("[search] resuming at iteration %lld (best score %.4f, candidate %lld)\n",
                static_cast<long long>(next_iter_), topk_.best().score,
                static_cast<long long>(topk_.best().id));
    std::fflush(stdout);
    return;
  }
  // The base pair: the base student with the largest teacher, scored as it is (no training).
  const auto t0 = Clock::now();
  Student base = load_student(c_.base_config.at("model"), base_weights_);
  const json largest = etp_arch_to_json(etp_->largest());
  teacher(largest);
  base_macs_ = 0;
  const Eval e = evaluate(*base.detector);
  topk_ = TopKList(c_.top_k);
  SearchEntry entry{0, e.score, entry_record(base, base_weights_, largest, json::array(), e)};
  topk_.offer(entry);
  json line{{"id", 0},           {"iteration", 0},
            {"parent", nullptr}, {"kind", "base"},
            {"action", nullptr}, {"score", e.score},
            {"in_topk", true},   {"seconds", {{"total", seconds_since(t0)}}}};
  line.update(entry.record);
  line.erase("model");
  std::ofstream(path("candidates.jsonl"), std::ios::trunc) << line.dump() << "\n";
  next_iter_ = 1;
  record_history(0);
  save_state();
  std::printf("[search] base: AP %.4f at %lldx%lld, %s MACs (backbone + FPN), score %.4f\n", e.ap,
              static_cast<long long>(e.res.short_side), static_cast<long long>(e.res.long_side),
              human_count(e.macs).c_str(), e.score);
  std::fflush(stdout);
}

void JointSearch::candidate(int64_t iter) {
  const auto t0 = Clock::now();
  std::mt19937_64 rng = iteration_rng(c_.seed, iter);
  const auto& entries = topk_.entries();
  const SearchEntry parent = entries[static_cast<size_t>(rng() % entries.size())];
  const json& pr = parent.record;
  // A 53-bit uniform in [0, 1) by hand: std::uniform_real_distribution is implementation-defined.
  bool student_move = static_cast<double>(rng() >> 11) * 0x1.0p-53 < c_.student_prob;
  Student s = load_student(pr.at("model"), pr.at("weights").get<std::string>());
  json teacher_arch = pr.at("teacher"), action = nullptr, morph = nullptr;
  json history = pr.at("history");
  int64_t rejected = 0;
  if (student_move) {
    // Inapplicable actions (nothing left to prune, ...) are counted, logged and redrawn; when none
    // applies the iteration moves the teacher instead (a resumed search replays the same draws,
    // so giving up here would stop it for good).
    bool done = false;
    for (int attempt = 0; attempt < 50 && !done; ++attempt) {
      MorphAction a;
      try {
        a = sample_student_action(c_.actions, student_depths(s.model), rng);
      } catch (const ConfigError& e) {
        std::printf("[search] iteration %lld: %s\n", static_cast<long long>(iter), e.what());
        break;
      }
      try {
        json rec;
        Student n = evolve_student(s, a, &rec);
        s = std::move(n);
        action = a.to_json();
        morph = rec;
        done = true;
      } catch (const ConfigError& e) {
        ++rejected;
        std::printf("[search] iteration %lld: action %s not applicable (%s); drawing another\n",
                    static_cast<long long>(iter), a.to_json().dump().c_str(), e.what());
      }
    }
    if (done) {
      history.push_back(action);
    } else {
      std::printf("[search] iteration %lld: no applicable student action; mutating the teacher\n",
                  static_cast<long long>(iter));
      student_move = false;
    }
  }
  if (!student_move) {
    const nn::ArchConfig t = mutate_arch(etp_arch_from_json(teacher_arch), etp_->space(), rng);
    teacher_arch = etp_arch_to_json(t);
    history.push_back({{"type", "teacher"}, {"arch", teacher_arch}});
  }
  const fs::path dir = out_ / "candidates" / std::to_string(iter);
  fs::remove_all(dir);  // an unfinished earlier attempt
  fs::create_directories(dir);
  const auto tt = Clock::now();
  const std::string tdir = teacher(teacher_arch);
  const double teacher_s = seconds_since(tt);
  nn::save_state_dict(*s.detector, (dir / "init.safetensors").string());

  json cc = c_.base_config;
  cc["model"] = s.model;
  cc["data"]["train_sizes"] = json::array();
  for (const auto& r : c_.resolutions) cc["data"]["train_sizes"].push_back(size_json(r));
  cc["optim"].merge_patch(c_.fast_optim);
  cc["optim"]["bn_sparsity"] = c_.bn_sparsity;
  json& tr = cc["train"];
  tr.erase("epochs");
  tr["iterations"] = c_.fast_iters;
  tr["log_every"] = std::max<int64_t>(1, c_.fast_iters / 2);
  tr["checkpoint_every"] = 0;
  tr["eval_every"] = 0;
  tr["seed"] = c_.seed * 1000003ULL + static_cast<uint64_t>(iter);
  tr["init_weights"] = (dir / "init.safetensors").string();
  cc["teacher"] = {{"config", tdir + "/config.json"}, {"weights", tdir + "/model.safetensors"}};
  cc["kd"] = c_.kd;
  nn::write_json_file((dir / "candidate.json").string(), cc, kWho);
  const auto t1 = Clock::now();
  {
    detection::DetTrainArgs a;
    a.config = (dir / "candidate.json").string();
    a.out = (dir / "train").string();
    kd::run_distill_training(a);
  }
  const double train_s = seconds_since(t1);
  fs::rename(dir / "train" / "model.safetensors", dir / "model.safetensors");
  fs::remove(dir / "init.safetensors");
  const std::string weights = (dir / "model.safetensors").string();
  Student trained = load_student(s.model, weights);
  const auto t2 = Clock::now();
  const Eval e = evaluate(*trained.detector);
  const double eval_s = seconds_since(t2);

  const double prev_best = topk_.best().score;
  int64_t dropped = -1;
  SearchEntry entry{iter, e.score, entry_record(s, weights, teacher_arch, history, e)};
  const bool in = topk_.offer(entry, &dropped);
  since_best_ = topk_.best().score > prev_best ? 0 : since_best_ + 1;
  const double total_s = seconds_since(t0);
  json line{{"id", iter},
            {"iteration", iter},
            {"parent", parent.id},
            {"kind", student_move ? "student" : "teacher"},
            {"action", action},
            {"morph", morph},
            {"rejected_actions", rejected},
            {"score", e.score},
            {"in_topk", in},
            {"dropped", dropped},
            {"best_score", topk_.best().score},
            {"best_id", topk_.best().id},
            {"teacher_backbone_macs",
             nn::read_json_file(tdir + "/teacher.json", kWho).at("backbone_macs")},
            {"seconds",
             {{"teacher", teacher_s}, {"train", train_s}, {"eval", eval_s}, {"total", total_s}}}};
  line.update(entry.record);
  line.erase("model");
  line["depths"] = student_depths(s.model);
  std::ofstream(path("candidates.jsonl"), std::ios::app) << line.dump() << "\n";
  const SearchEntry& best = topk_.best();
  record_history(iter);
  stages_["candidates_s"] = stages_.value("candidates_s", 0.0) + total_s;
  stages_["candidate_train_s"] = stages_.value("candidate_train_s", 0.0) + train_s;
  stages_["candidate_eval_s"] = stages_.value("candidate_eval_s", 0.0) + eval_s;
  stages_["teacher_sampling_s"] = stages_.value("teacher_sampling_s", 0.0) + teacher_s;
  stages_["candidates"] = stages_.value("candidates", int64_t{0}) + 1;
  next_iter_ = iter + 1;
  save_state();
  cleanup();
  const double per =
      stages_.at("candidates_s").get<double>() / stages_.at("candidates").get<double>();
  std::printf(
      "[search] iteration %lld/%lld %s%s: AP %.4f at %lld, %s MACs (%.2fx base), score %.4f%s | "
      "best %.4f (candidate %lld) | %.0fs, ETA %s\n",
      static_cast<long long>(iter), static_cast<long long>(c_.iterations),
      student_move ? "student " : "teacher ",
      student_move ? action.dump().c_str() : teacher_key(teacher_arch).c_str(), e.ap,
      static_cast<long long>(e.res.short_side), human_count(e.macs).c_str(), e.macs / base_macs_,
      e.score, in ? " (top-k)" : "", best.score, static_cast<long long>(best.id), total_s,
      nn::format_duration(per * static_cast<double>(c_.iterations - iter)).c_str());
  std::fflush(stdout);
}

void JointSearch::run() {
  fs::create_directories(out_);
  // The pool's search space (teacher mutation), checked before anything trains.
  etp_ = std::dynamic_pointer_cast<EtpFasterRCNN>(
      detection::build_detector(c_.etp_config.at("model"), "etp.config.model"));
  DF_CHECK(c_.student_prob >= 1 || etp_->space().size() > 1, ConfigError, "[", kWho,
           "] search.student_prob: the teacher pool has a single architecture, so teacher "
           "mutation is impossible; set student_prob to 1 or give the pool choices");
  train_base();
  train_etp();
  std::printf("[search] stage 3/3: hill climbing, %lld iterations, top-%lld\n",
              static_cast<long long>(c_.iterations), static_cast<long long>(c_.top_k));
  std::fflush(stdout);
  load_or_start();
  for (int64_t it = next_iter_; it <= c_.iterations; ++it) {
    if (c_.patience > 0 && since_best_ >= c_.patience) {
      std::printf("[search] converged: no better score in %lld candidates\n",
                  static_cast<long long>(since_best_));
      break;
    }
    candidate(it);
  }
  finish();
}

void JointSearch::finish() {
  const SearchEntry& best = topk_.best();
  const json& br = best.record;
  const fs::path fin = out_ / "final";
  fs::create_directories(fin);
  fs::copy_file(br.at("weights").get<std::string>(), fin / "model.safetensors",
                fs::copy_options::overwrite_existing);
  json fc = c_.base_config;
  fc["model"] = br.at("model");
  fc["data"]["test_size"] = br.at("resolution");
  fc["data"]["train_sizes"] = json::array();
  for (const auto& r : c_.resolutions) fc["data"]["train_sizes"].push_back(size_json(r));
  if (fc.contains("train")) fc["train"].erase("init_weights");
  nn::write_json_file((fin / "config.json").string(), fc, kWho);
  nn::write_json_file((fin / "arch.json").string(),
                      {{"candidate", best.id},
                       {"backbone", br.at("model").at("backbone")},
                       {"depths", student_depths(br.at("model"))},
                       {"resolution", br.at("resolution")},
                       {"teacher", br.at("teacher")},
                       {"history", br.at("history")},
                       {"score", best.score}},
                      kWho);

  // Base vs searched, each at its resolution, latency measured here.
  SearchSummaryInput in;
  in.out = out_.string();
  in.base_model = c_.base_config.at("model");
  in.base_weights = base_weights_;
  in.base_resolution = base_.test_size;
  in.best_model = br.at("model");
  in.best_weights = (fin / "model.safetensors").string();
  in.best_resolution = {br.at("resolution")[0].get<int64_t>(),
                        br.at("resolution")[1].get<int64_t>()};
  in.best_id = best.id;
  in.best_score = best.score;
  in.best_teacher = br.at("teacher");
  in.stages = stages_;
  in.latency_repeats = c_.latency_repeats;
  in.base_macs = base_macs_;
  write_search_report(in);
}

}  // namespace

void run_joint_search(const JointSearchArgs& a) {
  const fs::path out(a.out);
  const fs::path saved = out / "search_config.json";
  json raw;
  if (a.config.empty()) {
    DF_CHECK(fs::exists(saved), ConfigError, "[", kWho,
             "] --config is required (or an --out "
             "holding a search to resume)");
    raw = nn::load_run_config(saved.string(), nullptr, a.sets, kWho);
  } else {
    raw = nn::load_run_config(a.config, nullptr, a.sets, kWho);
  }
  if (fs::exists(saved)) {
    const json prev = nn::read_json_file(saved.string(), kWho);
    DF_CHECK(prev == raw, ConfigError, "[", kWho, "] ", a.out,
             " holds a search with a different config (", saved.string(),
             "): resume it with the same config, or choose another --out");
  }
  JointSearchConfig cfg = parse_joint_search_config(raw);
  // The configs as resolved (referenced files read, overrides applied): a referenced file edited
  // between a kill and the resume would silently change the search.
  const json resolved{{"base", cfg.base_config}, {"etp", cfg.etp_config}};
  const fs::path resolved_path = out / "resolved_config.json";
  if (fs::exists(resolved_path))
    DF_CHECK(nn::read_json_file(resolved_path.string(), kWho) == resolved, ConfigError, "[", kWho,
             "] the base or ETP config files changed since this search started (",
             resolved_path.string(), "): restore them or choose another --out");
  fs::create_directories(out);
  nn::write_json_file(saved.string(), raw, kWho);
  nn::write_json_file(resolved_path.string(), resolved, kWho);
  JointSearch(std::move(cfg), a.out).run();
}

}  // namespace detforge::nas
