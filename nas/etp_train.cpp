#include "nas/etp_train.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/kd_losses.h"
#include "autograd/loss.h"
#include "data/coco_json.h"
#include "data/image_io.h"
#include "nn/checkpoint.h"
#include "nn/elastic/bn_recalibration.h"
#include "nn/json_reader.h"
#include "nn/serialization.h"
#include "tensor/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::nas {
namespace {

constexpr const char* kWho = "etp";

void add_value(detection::LossMap& acc, const std::string& name, const Tensor& v) {
  for (auto& [n, t] : acc)
    if (n == name) {
      t = add(t, v.detach());
      return;
    }
  acc.emplace_back(name, v.detach());
}

}  // namespace

EtpTrainOptions etp_options_from_json(const json& j, const std::string& path) {
  EtpTrainOptions o;
  nn::JsonReader r(j.is_null() ? json::object() : j, path, kWho);
  r.allow({"shrinking", "phase_iters", "sampler", "kd", "recalib_batches", "seed"});
  const std::string s = r.get_string("shrinking", "ips", {"ips", "none"});
  o.order = s == "ips" ? ShrinkOrder::ips : ShrinkOrder::none;
  o.phase_iters = r.get_int_list("phase_iters", {}, 0);
  if (r.has("sampler"))
    o.sampler = sampler_options_from_json(r.get_object("sampler"), r.key_path("sampler"));
  {
    nn::JsonReader k(r.get_object("kd"), r.key_path("kd"), kWho);
    k.allow({"logit_weight", "temperature", "feature_weight", "rois_per_image"});
    o.kd.logit_weight = k.get_double("logit_weight", o.kd.logit_weight, 0);
    o.kd.temperature = k.get_double("temperature", o.kd.temperature, 1e-6);
    o.kd.feature_weight = k.get_double("feature_weight", o.kd.feature_weight, 0);
    o.kd.rois_per_image = k.get_int("rois_per_image", o.kd.rois_per_image, 1);
  }
  o.recalib_batches = r.get_int("recalib_batches", o.recalib_batches, 0);
  o.seed = static_cast<uint64_t>(r.get_int("seed", 0, 0));
  return o;
}

EtpDistiller inplace_distiller(const EtpKdOptions& o) {
  return [o](const EtpKdInputs& s, const EtpKdInputs& t) {
    detection::LossMap out;
    if (o.logit_weight > 0 && s.roi_logits.defined() && t.roi_logits.defined()) {
      const double T = o.temperature;
      out.emplace_back("kd_logit",
                       mul(kd_soft_ce(s.roi_logits, t.roi_logits, T), o.logit_weight * T * T));
    }
    if (o.feature_weight > 0) {
      Tensor sum;
      for (size_t l = 0; l < s.features->size(); ++l) {
        const Tensor& fs = (*s.features)[l].second;
        const Tensor ft = (*t.features)[l].second.narrow(1, 0, fs.size(1)).contiguous();
        Tensor m = mse_loss(fs, ft);
        sum = sum.defined() ? add(sum, m) : m;
      }
      if (sum.defined()) out.emplace_back("kd_feat", mul(sum, o.feature_weight));
    }
    return out;
  };
}

Tensor EtpIpsStep::predict(const detection::FeatureList& features, const std::vector<Tensor>& rois,
                           const detection::ImageSizes& sizes) {
  Tensor pooled = pooler_(detection::feature_map(features), rois, detection::image_shapes(sizes));
  Tensor rep = det_.roi_heads().child<detection::TwoMLPHead>("box_head").forward(pooled);
  return det_.roi_heads().child<detection::FastRCNNPredictor>("box_predictor").predict(rep).scores;
}

EtpIpsStep::EtpIpsStep(EtpFasterRCNN& det, EtpTrainOptions options, EtpDistiller distiller)
    : det_(det),
      pooler_(det.roi_heads().config().featmap_names,
              {det.roi_heads().config().roi_size, det.roi_heads().config().roi_size},
              det.roi_heads().config().sampling_ratio),
      opt_(std::move(options)),
      distiller_(distiller ? std::move(distiller) : inplace_distiller(opt_.kd)),
      sampler_(opt_.sampler, opt_.seed) {}

const ProgressiveShrinking& EtpIpsStep::schedule(int64_t total) {
  if (!sched_ || sched_total_ != total) {
    ShrinkOptions so;
    so.order = opt_.order;
    so.phase_epochs = opt_.phase_iters;
    sched_.emplace(det_.space(), so, total);
    sched_total_ = total;
  }
  return *sched_;
}

std::vector<nn::ArchConfig> EtpIpsStep::archs_at(int64_t iter, int64_t total) {
  const nn::SearchSpace& space = schedule(total).space_at(iter);
  // Reseeded per iteration: a resumed run draws what an uninterrupted one draws.
  sampler_.rng().seed(opt_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(iter) + 1);
  std::vector<nn::ArchConfig> archs = sampler_.sample(space);
  const nn::ArchConfig largest = det_.largest();
  std::vector<nn::ArchConfig> out{largest};
  for (auto& a : archs)
    if (a != largest) out.push_back(std::move(a));
  return out;
}

detection::LossMap EtpIpsStep::operator()(const data::DetBatch& batch, int64_t iter,
                                          int64_t total) {
  const int64_t phase = schedule(total).phase_at(iter);
  if (phase != last_phase_) {
    const auto& ph = sched_->phases()[phase];
    std::printf("IPS phase %lld/%zu (%s) from iteration %lld: %.0f architectures\n",
                static_cast<long long>(phase + 1), sched_->phases().size(), ph.name.c_str(),
                static_cast<long long>(iter + 1), ph.space.size());
    std::fflush(stdout);
    last_phase_ = phase;
  }
  last_ = archs_at(iter, total);
  const Tensor& images = batch.images;
  const detection::Size2 padded{images.size(2), images.size(3)};
  const auto& sizes = batch.image_sizes;
  const auto& targets = batch.targets;

  auto run = [&](detection::FeatureList& f) {
    f = det_.extract_features(images);
    detection::RpnOutput r = det_.rpn().forward(det_.rpn_input(f), padded, sizes, &targets);
    detection::LossMap l = det_.roi_heads().forward_train(f, r.proposals, sizes, targets);
    for (auto& x : r.losses) l.push_back(x);
    return std::make_pair(l, r.proposals);
  };

  // The largest subnet on the labels.
  det_.set_active(last_.front());
  detection::FeatureList ft;
  auto [lt, proposals] = run(ft);
  detection::total_loss(lt).backward();
  detection::LossMap log;
  for (const auto& [n, t] : lt) log.emplace_back(n, t.detach());
  if (last_.size() > 1) {
    // Distillation targets: the teacher's features and RoI logits, detached.
    detection::FeatureList ftd;
    for (const auto& [n, t] : ft) ftd.emplace_back(n, t.detach());
    ft.clear();
    std::vector<Tensor> rois;
    int64_t nrois = 0;
    for (const Tensor& p : proposals) {
      const int64_t k = std::min(opt_.kd.rois_per_image, p.size(0));
      rois.push_back(p.narrow(0, 0, k));
      nrois += k;
    }
    EtpKdInputs teacher{&ftd, Tensor()};
    if (nrois > 0) {
      NoGradGuard ng;
      teacher.roi_logits = predict(ftd, rois, sizes);
    }
    detection::LossMap acc;
    const double inv = 1.0 / static_cast<double>(last_.size() - 1);
    for (size_t i = 1; i < last_.size(); ++i) {
      det_.set_active(last_[i]);
      detection::FeatureList fs;
      auto [ls, sp] = run(fs);
      (void)sp;
      EtpKdInputs student{&fs, Tensor()};
      if (nrois > 0) student.roi_logits = predict(fs, rois, sizes);
      const detection::LossMap kd = distiller_(student, teacher);
      Tensor det_loss = detection::total_loss(ls);
      Tensor loss = kd.empty() ? det_loss : add(det_loss, detection::total_loss(kd));
      loss.backward();
      add_value(acc, "sub_det", mul(det_loss.detach(), inv));
      for (const auto& [n, t] : kd) add_value(acc, n, mul(t.detach(), inv));
    }
    for (auto& x : acc) log.push_back(x);
  }
  det_.set_active(last_.front());
  return log;
}

void recalibrate_etp_bn(EtpFasterRCNN& det, data::DetLoader& loader, int64_t batches) {
  if (batches <= 0) return;
  const Device device = det.parameters().front().device();
  loader.start(0, 0);
  nn::recalibrate_bn(det, [&] {
    for (int64_t i = 0; i < batches; ++i) {
      std::optional<data::DetBatch> b = loader.next();
      if (!b) break;
      detection::batch_to(*b, device);
      det.extract_features(b->images);
    }
  });
  loader.stop();
}

void run_etp_training(const detection::DetTrainArgs& args) {
  // The "etp" section is parsed (and validated) when the loop reads the config, the IPS step is
  // built once the detector exists; both outlive this scope only through the hooks.
  auto options = std::make_shared<EtpTrainOptions>();
  auto step = std::make_shared<std::shared_ptr<EtpIpsStep>>();
  detection::DetTrainHooks hooks;
  hooks.who = kWho;
  hooks.det_config = [options](const json& cfg) {
    *options = etp_options_from_json(cfg.contains("etp") ? cfg.at("etp") : json::object());
    json det_cfg = cfg;
    det_cfg.erase("etp");
    return det_cfg;
  };
  hooks.setup = [options, step](detection::Detector& det, const detection::DetTrainConfig& c,
                                Device) -> std::shared_ptr<nn::Module> {
    auto* etp = dynamic_cast<EtpFasterRCNN*>(&det);
    DF_CHECK(etp != nullptr, ConfigError,
             "[etp] model.type: expected \"etp_faster_rcnn\" (an elastic teacher pool), got \"",
             c.model.value("type", ""), "\"");
    *step = std::make_shared<EtpIpsStep>(*etp, *options);
    return nullptr;  // no parameters besides the detector's
  };
  hooks.step = [step](detection::Detector&, const data::DetBatch& b, int64_t it, int64_t total) {
    return (**step)(b, it, total);
  };
  detection::run_det_training(args, hooks);
}

void run_etp_sample(const EtpSampleArgs& a) {
  if (a.config.empty()) throw ConfigError("[etp] --config is required");
  const json cfg = nn::load_run_config(a.config, nullptr, a.sets, kWho);
  const detection::DetTrainConfig c = detection::parse_det_train_config(cfg, {"etp"});
  const EtpTrainOptions opt =
      etp_options_from_json(cfg.contains("etp") ? cfg.at("etp") : json::object());
  auto built = detection::build_detector(c.model, "model");
  auto etp = std::dynamic_pointer_cast<EtpFasterRCNN>(built);
  DF_CHECK(etp != nullptr, ConfigError,
           "[etp] model.type: expected \"etp_faster_rcnn\" (an elastic teacher pool), got \"",
           c.model.value("type", ""), "\"");
  const std::string weights =
      a.weights.empty() ? (fs::path(a.config).parent_path() / "model.safetensors").string()
                        : a.weights;
  DF_CHECK(fs::exists(weights), ConfigError, "[etp] --weights: '", weights,
           "' does not exist (train the pool with `detforge etp train` first)");
  etp->to(Device::parse(c.device));
  nn::load_module(*etp, weights);
  const nn::ArchConfig arch = parse_etp_arch_arg(a.arch, *etp);
  etp->set_active(arch);
  const int64_t nb = a.batches >= 0 ? a.batches : opt.recalib_batches;
  if (nb > 0) {
    data::CocoDataset ds = data::load_coco_json(c.train.annotations);
    ds.annotations = data::training_annotations(ds, nullptr);
    data::DetLoader loader(data::make_det_records(ds),
                           data::image_dir_source(c.train.images, data::read_image),
                           detection::det_loader_config(c, false, etp->size_divisor()));
    recalibrate_etp_bn(*etp, loader, nb);
  }
  etp->eval();
  auto teacher = etp->extract(arch);
  fs::create_directories(a.out);
  const fs::path out(a.out);
  nn::save_state_dict(*teacher, (out / "model.safetensors").string());
  json tc = cfg;
  tc.erase("etp");
  tc["model"] = etp->static_model_json(arch);
  nn::write_json_file((out / "config.json").string(), tc, kWho);
  nn::write_json_file((out / "arch.json").string(), etp_arch_to_json(arch), kWho);
  nn::ArchConfig backbone_arch = arch;
  backbone_arch.stages.pop_back();
  const int64_t macs = nn::elastic_resnet_macs(etp->body().options(), backbone_arch,
                                               c.test_size.short_side, c.test_size.short_side);
  const json info{{"arch", etp_arch_to_json(arch)},
                  {"params", teacher->num_parameters()},
                  {"supernet_params", etp->num_parameters()},
                  {"backbone_macs", macs},
                  {"backbone_macs_input", {c.test_size.short_side, c.test_size.short_side}},
                  {"bn_recalibration_batches", nb}};
  nn::write_json_file((out / "teacher.json").string(), info, kWho);
  std::printf(
      "teacher %s: %lld parameters (supernet %lld), backbone %.1f MMACs at %lldx%lld, BN "
      "recalibrated on %lld batches\n",
      etp_arch_to_json(arch).dump().c_str(), static_cast<long long>(teacher->num_parameters()),
      static_cast<long long>(etp->num_parameters()), macs / 1e6,
      static_cast<long long>(c.test_size.short_side),
      static_cast<long long>(c.test_size.short_side), static_cast<long long>(nb));
  std::printf("model %s\nconfig %s\n", (out / "model.safetensors").string().c_str(),
              (out / "config.json").string().c_str());
  std::fflush(stdout);
}

}  // namespace detforge::nas
