// Training of the Elastic Teacher Pool (nas/etp_detector.h) with Integrated Progressive Shrinking
// (joint-detnas.txt 3.1; docs/etp.md), as one iteration step plugged into detforge train's loop
// (detection/det_train.h, DetTrainHooks::step), so logging, checkpoints, bit-exact
// resume, evaluation and dynamic resolution (data.train_sizes: a size per iteration) are the
// loop's.
//
// One iteration on one batch:
//   1. the IPS phase of the iteration (nas::ProgressiveShrinking with order "ips" over the ETP's
//      5-stage space, phases measured in iterations) gives the space; a nas::SubnetSampler
//      (sandwich by default) draws the architectures from it, its rng reseeded from (etp.seed,
//      iteration) so a resumed run draws the same ones. Phase 0 ("fullnet") is the largest only.
//   2. the largest subnet runs forward_train on the labels and backpropagates;
//   3. every other sampled subnet runs forward_train on the labels plus the distillation losses
//      against the largest (in-place distillation): the teacher's FPN features and its RoI class
//      logits on its first rois_per_image proposals per image (both detached) are the targets.
//      The default distiller (inplace_distiller) is
//        kd_logit = logit_weight * T^2 * kd_soft_ce(student logits, teacher logits, T)
//        kd_feat  = feature_weight * sum over FPN levels MSE(student, teacher's first C_s channels)
//      and is a replaceable hook (EtpDistiller) so the Joint-DetNAS KD losses (kd/) can take over.
//   Gradients accumulate over the subnets (one backward each); the loop steps the optimizer.
// Logged losses: the largest's terms (loss_classifier, loss_box_reg, loss_objectness,
// loss_rpn_box_reg), then, when subnets were sampled, "sub_det" (their detection loss) and the
// distiller's terms, each the mean over the sampled subnets.
//
// Config section "etp" (all optional):
//   {"shrinking": "ips" | "none", "phase_iters": [n0, n1, ...] (empty: even split),
//    "sampler": {"kind": "sandwich" | "uniform", "num_random": 1},
//    "kd": {"logit_weight": 1.0, "temperature": 1.0, "feature_weight": 1.0, "rois_per_image": 64},
//    "recalib_batches": 4, "seed": 0}
#pragma once
#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/det_loader.h"
#include "detection/det_train.h"
#include "detection/roi_pooler.h"
#include "nas/etp_detector.h"
#include "nas/progressive_shrinking.h"
#include "nas/sampler.h"

namespace detforge::nas {

struct EtpKdOptions {
  double logit_weight = 1.0, temperature = 1.0, feature_weight = 1.0;
  int64_t rois_per_image = 64;
};

struct EtpTrainOptions {
  ShrinkOrder order = ShrinkOrder::ips;
  std::vector<int64_t> phase_iters;  // empty: even split over the run
  SamplerOptions sampler{SamplerKind::sandwich, 1};
  EtpKdOptions kd;
  int64_t recalib_batches = 4;  // `detforge etp sample`: batches for BN recalibration
  uint64_t seed = 0;
};

// ConfigError naming `path`.<key> (e.g. "etp.kd.temperature").
DETFORGE_API EtpTrainOptions etp_options_from_json(const nlohmann::json& j,
                                                   const std::string& path = "etp");

// What the distiller sees of one subnet: its FPN levels and its RoI class logits [R, C+1] on the
// distillation RoIs (undefined when there are none).
struct EtpKdInputs {
  const detection::FeatureList* features = nullptr;
  Tensor roi_logits;
};
using EtpDistiller =
    std::function<detection::LossMap(const EtpKdInputs& student, const EtpKdInputs& teacher)>;
DETFORGE_API EtpDistiller inplace_distiller(const EtpKdOptions& options);

class DETFORGE_API EtpIpsStep {
 public:
  EtpIpsStep(EtpFasterRCNN& det, EtpTrainOptions options, EtpDistiller distiller = {});
  // One iteration (forward + backward of every sampled subnet); leaves the largest active.
  detection::LossMap operator()(const data::DetBatch& batch, int64_t iter, int64_t total);
  // The schedule for a run of `total` iterations (built on first use).
  const ProgressiveShrinking& schedule(int64_t total);
  // The architectures trained at iteration `iter` of `total` (deterministic), largest first.
  std::vector<nn::ArchConfig> archs_at(int64_t iter, int64_t total);
  const std::vector<nn::ArchConfig>& last_archs() const { return last_; }

 private:
  // RoI class logits on fixed RoIs (the RoI heads' pooler, box head and predictor).
  Tensor predict(const detection::FeatureList& features, const std::vector<Tensor>& rois,
                 const detection::ImageSizes& sizes);

  EtpFasterRCNN& det_;
  detection::MultiScaleRoIAlign pooler_;
  EtpTrainOptions opt_;
  EtpDistiller distiller_;
  SubnetSampler sampler_;
  std::optional<ProgressiveShrinking> sched_;
  int64_t sched_total_ = -1, last_phase_ = -1;
  std::vector<nn::ArchConfig> last_;
};

// Recalibrates the BN statistics of det's active subnet (nn::recalibrate_bn) on the first
// `batches` batches of `loader` (eval-style: in order), forwarding backbone + FPN only.
DETFORGE_API void recalibrate_etp_bn(EtpFasterRCNN& det, data::DetLoader& loader, int64_t batches);

// `detforge etp train`: detforge train's loop with the IPS step (DetTrainHooks; errors say [etp];
// the "etp" config section is parsed and removed before the loop's own parsing).
DETFORGE_API void run_etp_training(const detection::DetTrainArgs& args);

struct EtpSampleArgs {
  std::string config;            // the ETP training config (e.g. <train out>/config.json)
  std::string weights;           // supernet weights; default: model.safetensors beside the config
  std::string arch = "largest";  // largest | smallest | JSON | JSON file
  std::string out = "etp_teacher";
  int64_t batches = -1;  // BN recalibration batches; -1: etp.recalib_batches, 0: none
  std::vector<std::string> sets;
};
// `detforge etp sample`: extracts the arch's static teacher after BN recalibration; writes
// out/model.safetensors, out/config.json (the training config with the static "faster_rcnn"
// model, accepted by `detforge eval` / `train`), out/arch.json and out/teacher.json (params,
// backbone MACs).
DETFORGE_API void run_etp_sample(const EtpSampleArgs& args);

}  // namespace detforge::nas
