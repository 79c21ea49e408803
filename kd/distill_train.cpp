#include "kd/distill_train.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "kd/taps.h"
#include "nn/checkpoint.h"
#include "nn/json_reader.h"
#include "nn/serialization.h"
#include "tensor/error.h"

using nlohmann::json;

namespace detforge::kd {
namespace {

constexpr const char* kWho = "distill";

// The candidate distiller modules as children "0", "1", ... (all train with the student; only
// the current one gets gradients).
class DistillerList : public nn::Cloneable<DistillerList> {
 public:
  std::string type_name() const override { return "DistillerList"; }
  void add(std::shared_ptr<Distiller> d) {
    register_module(std::to_string(size_), std::move(d));
    ++size_;
  }
  Distiller& at(size_t i) { return child<Distiller>(std::to_string(i)); }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

std::vector<DistillerSpec> parse_set(const json& arr, const std::string& path) {
  if (!arr.is_array() || arr.empty())
    throw ConfigError(str_cat("[", kWho, "] ", path, ": expected a non-empty array of distillers"));
  std::vector<DistillerSpec> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string p = str_cat(path, "[", i, "]");
    out.push_back(parse_distiller(arr[i], p));
    for (size_t k = 0; k + 1 < out.size(); ++k)
      if (out[k].input == out.back().input)
        throw ConfigError(str_cat("[", kWho, "] ", p, ".input: input '",
                                  input_name(out.back().input), "' already has a distiller at ",
                                  path, "[", k, "] (one loss per knowledge input) [R6]"));
  }
  return out;
}

std::string set_string(const std::vector<DistillerSpec>& set) {
  std::string s;
  for (const auto& d : set) s += (s.empty() ? "" : "; ") + to_string(d);
  return s;
}

}  // namespace

json det_train_part(const json& raw) {
  if (!raw.is_object()) throw ConfigError("[distill] <root>: expected an object");
  for (const char* k : {"teacher", "kd"})
    if (!raw.contains(k))
      throw ConfigError(str_cat("[", kWho, "] ", k, ": required (docs/distill.md)"));
  json j = raw;
  j.erase("teacher");
  j.erase("kd");
  return j;
}

DistillConfig parse_distill_config(const json& raw) {
  det_train_part(raw);
  DistillConfig c;
  nn::JsonReader t(raw.at("teacher"), "teacher", kWho);
  t.allow({"config", "weights", "train_bn"});
  if (!t.has("config")) t.fail("config", "a det-train config file or object");
  json tc = raw.at("teacher").at("config");
  if (tc.is_string()) tc = nn::read_json_file(tc.get<std::string>(), kWho);
  if (!tc.is_object()) t.fail("config", "a det-train config file or object");
  c.teacher_model = tc.contains("model") ? tc.at("model") : tc;
  if (!c.teacher_model.is_object() || !c.teacher_model.contains("type"))
    t.fail("config", "a det-train config (with \"model\") or a model object (with \"type\")");
  c.teacher_weights = t.get_string("weights", "");
  if (c.teacher_weights.empty()) t.fail("weights", "the teacher's .safetensors file");
  c.teacher_train_bn = t.get_bool("train_bn", false);

  nn::JsonReader k(raw.at("kd"), "kd", kWho);
  c.type = k.get_string("type", "", {"joint_detnas", "detkds"});
  if (c.type == "joint_detnas") {
    k.allow({"type", "temperature", "weights", "roi_size"});
    c.joint.temperature = k.get_double("temperature", 1.0, 1e-6);
    c.joint.roi_size = k.get_int("roi_size", 7, 1);
    if (k.has("weights")) {
      nn::JsonReader w(k.get_object("weights"), "kd.weights", kWho);
      w.allow({"feat", "cls", "loc"});
      c.joint.feat_weight = w.get_double("feat", 1.0, 0);
      c.joint.cls_weight = w.get_double("cls", 1.0, 0);
      c.joint.loc_weight = w.get_double("loc", 1.0, 0);
    }
  } else {
    k.allow({"type", "distillers", "candidates", "max_loss", "seed"});
    const json& kj = raw.at("kd");
    if (kj.contains("distillers") == kj.contains("candidates"))
      k.fail("distillers", "exactly one of \"distillers\" (one set) and \"candidates\" (sets)");
    if (kj.contains("distillers")) {
      c.candidates.push_back(parse_set(kj.at("distillers"), "kd.distillers"));
    } else {
      const json& cand = kj.at("candidates");
      if (!cand.is_array() || cand.empty()) k.fail("candidates", "a non-empty array of sets");
      for (size_t i = 0; i < cand.size(); ++i)
        c.candidates.push_back(parse_set(cand[i], str_cat("kd.candidates[", i, "]")));
    }
    c.max_loss = k.get_double("max_loss", 100, 0);
    c.seed = static_cast<uint64_t>(k.get_int("seed", 0, 0));
  }
  return c;
}

void run_distill_training(const detection::DetTrainArgs& args) {
  // The config is read here as well (for the teacher), the same way as the loop reads it: the
  // file or the checkpoint's, then the --set overrides (teacher.weights among them).
  json state;
  if (!args.resume.empty()) state = nn::read_json_file(args.resume + "/state.json", kWho);
  const json raw = nn::load_run_config(args.config, state, args.sets, kWho);
  const DistillConfig dc = parse_distill_config(raw);
  std::shared_ptr<detection::Detector> teacher =
      detection::build_detector(dc.teacher_model, "teacher.config.model");
  nn::load_module(*teacher, dc.teacher_weights);
  teacher->eval();

  auto list = std::make_shared<DistillerList>();
  size_t current = 0;
  double kd_time = 0;  // teacher forward + distillation losses of the last iteration (seconds)
  bool student_two_stage = false;
  bool need_heads = dc.type == "joint_detnas";
  for (const auto& set : dc.candidates)
    for (const auto& sp : set) need_heads |= sp.input == Input::logits || sp.input == Input::loc;

  detection::DetTrainHooks h;
  h.who = kWho;
  h.det_config = [](const json& j) { return det_train_part(j); };
  h.setup = [&](detection::Detector& det, const detection::DetTrainConfig& c, Device dev) {
    teacher->to(dev);
    student_two_stage = is_two_stage(det);
    // Probe both models once (channels and levels for the adaptation layers).
    const int64_t side = std::max<int64_t>(32, det.size_divisor()) * 4;
    Tensor img = Tensor::zeros({1, 3, side, side}, DType::f32, dev);
    const detection::ImageSizes sizes{{side, side}};
    TapMap ps = run_teacher(det, img, sizes);
    TapMap pt = run_teacher(*teacher, img, sizes);
    if (dc.type == "joint_detnas") {
      list->add(std::make_shared<JointDetnasDistiller>(dc.joint, ps, pt));
    } else {
      for (size_t i = 0; i < dc.candidates.size(); ++i)
        list->add(std::make_shared<DetKdsDistillers>(dc.candidates[i], ps, pt, dc.seed));
    }
    list->to(dev);
    std::printf("distill: teacher %s (%lld parameters, %s), kd %s, %zu distiller set(s)\n",
                dc.teacher_model.value("type", "").c_str(),
                static_cast<long long>(teacher->num_parameters()), dc.teacher_weights.c_str(),
                dc.type.c_str(), list->size());
    (void)c;
    return std::static_pointer_cast<nn::Module>(list);
  };
  h.losses = [&](detection::Detector& det, const data::DetBatch& b, int64_t iter,
                 const std::function<void(json)>& event) {
    TapMap st;
    detection::LossMap losses;
    {
      TapRecorder rec;
      losses = det.forward_train(b.images, b.image_sizes, b.targets);
      st = rec.all();
    }
    const auto t0 = std::chrono::steady_clock::now();
    Tensor rois = student_two_stage && is_two_stage(*teacher) ? st.at("roi.rois") : Tensor();
    TapMap tt = run_teacher(*teacher, b.images, b.image_sizes, rois, dc.teacher_train_bn,
                            need_heads || student_two_stage);
    KdBatch kb{st, tt, b.targets, b.images.size(2), b.images.size(3)};
    for (;;) {
      DF_CHECK(current < list->size(), ConfigError,
               "[distill] every distiller set was rejected by the filter (loss NaN or > ",
               dc.max_loss, ")");
      detection::LossMap kd = list->at(current).losses(kb, iter);
      if (dc.type == "detkds") {
        double v = 0;
        for (const auto& [n, t] : kd) v += t.item();
        if (std::isnan(v) || v > dc.max_loss) {
          event({{"event", "distiller_rejected"},
                 {"candidate", current},
                 {"kd_loss", std::isnan(v) ? json("nan") : json(v)},
                 {"distillers", set_string(dc.candidates[current])}});
          ++current;
          continue;
        }
      }
      for (auto& l : kd) losses.push_back(std::move(l));
      break;
    }
    kd_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return losses;
  };
  h.annotate = [&](json& rec) {
    rec["kd_time"] = kd_time;  // forward only; "time" is the whole step (backward included)
    if (dc.type == "detkds") rec["kd_candidate"] = current;
  };
  h.state = [&] { return json{{"candidate", current}}; };
  h.load_state = [&](const json& j) { current = j.value("candidate", size_t{0}); };
  detection::run_det_training(args, h);
}

}  // namespace detforge::kd
