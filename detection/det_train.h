// Detector training and evaluation runs behind `detforge train` / `detforge eval`
// (docs/train_det.md): the config schema (parsed with key-path errors), the training loop with
// logging, checkpoints and bit-exact resume, and the split evaluation (detections mapped back to
// original pixels and COCO category ids, then pycocotools-exact COCO evaluation).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/coco.h"
#include "data/det_loader.h"
#include "detection/coco_eval.h"
#include "detection/detector.h"

namespace detforge::detection {

struct DetSplitConfig {
  std::string images, annotations;  // resolved against data.root
  bool defined() const { return !annotations.empty(); }
};

struct DetTrainConfig {
  nlohmann::json raw, model;
  DetSplitConfig train, val;
  std::vector<data::ResizeSize> train_sizes{{800, 1333}};
  data::ResizeSize test_size{800, 1333};
  int64_t batch_size = 2, eval_batch_size = 2, workers = 2, size_divisor = 0;  // 0: the detector's
  double flip = 0.5;
  bool filter_empty = true;            // drop training images without (non-crowd) boxes
  std::string normalize = "imagenet";  // imagenet | unit | none
  std::string rounding = "torchvision";
  // optim
  std::string opt_type = "sgd";
  double lr = 0.02, momentum = 0.9, weight_decay = 1e-4, beta1 = 0.9, beta2 = 0.999;
  bool nesterov = false;
  int64_t warmup_iters = 0;
  double warmup_factor = 0.001;
  std::string warmup_mode = "linear";
  std::string sched_type = "multistep";
  std::vector<int64_t> milestones;  // iterations
  double gamma = 0.1, eta_min = 0;
  double clip_grad_norm = 0;
  // optim.bn_sparsity: network slimming's L1 subgradient lambda * sign(gamma) on every norm-layer
  // gamma (Joint-DetNAS trains students with 1e-5); 0 = off.
  double bn_sparsity = 0;
  // train
  int64_t iterations = 0, epochs = 0;  // exactly one of them
  int64_t log_every = 20, checkpoint_every = 0, eval_every = 0, keep_checkpoints = 3;
  uint64_t seed = 0;
  int64_t threads = 0;         // 0: OpenMP's default
  std::string device = "cpu";  // cpu | cuda | cuda:N (train.device)
  // train.init_weights: a .safetensors state dict of this detector loaded (strictly) before the
  // first iteration (fine-tuning, inherited weights); not read on --resume (the checkpoint has
  // them).
  std::string init_weights;
};

// ConfigError "[train] <key path>: expected ..." for a malformed config. extra_sections: further
// top-level keys allowed (parsed by whoever runs the loop, e.g. "etp" for `detforge etp train`).
DETFORGE_API DetTrainConfig parse_det_train_config(
    const nlohmann::json& j, const std::vector<std::string>& extra_sections = {});

// A loader config for a split: train (shuffle, flip, multi-scale) or eval (test_size, in order).
DETFORGE_API data::DetLoaderConfig det_loader_config(const DetTrainConfig& c, bool train,
                                                     int64_t size_divisor);

// Runs the detector (eval mode, no grad) over every image of `gt` (read from images_dir) and
// returns COCO detections: boxes divided by each image's scale_x / scale_y (original pixels), xywh,
// labels mapped to gt's category ids. Batches go to the device of the detector's first parameter.
// The module's train/eval mode is restored.
DETFORGE_API std::vector<CocoDetection> detect_coco(Detector& det, const data::CocoDataset& gt,
                                                    const std::string& images_dir,
                                                    const data::DetLoaderConfig& loader_cfg);

// Moves a batch's images and targets (boxes, labels) to `device` (no-op on the CPU).
DETFORGE_API void batch_to(data::DetBatch& batch, Device device);

struct DetTrainArgs {
  std::string config;  // JSON file; optional with resume (the checkpoint's config)
  std::string resume;  // checkpoint directory <out>/ckpt_iter<N>
  std::string out = "train_out";
  int64_t stop_at = 0;  // stop after this iteration (with a checkpoint), 0 = run to the end
  std::vector<std::string> sets;  // "key.path=VALUE" config overrides (nn::apply_json_overrides)
};

// Extension points for trainers built on this loop (the teacher-student trainer,
// kd/distill_train.h; the elastic teacher pool, nas/etp_train.h). Every member is optional.
struct DetTrainHooks {
  std::string who = "train";  // error / log prefix
  // The det-train part of the raw config (extra top-level keys validated and removed).
  std::function<nlohmann::json(const nlohmann::json&)> det_config;
  // After the detector is built and moved to the device: a module whose parameters train with the
  // detector (same optimizer; saved in checkpoints as "extra.*", the detector as "detector.*").
  std::function<std::shared_ptr<nn::Module>(Detector& det, const DetTrainConfig& c, Device dev)>
      setup;
  // One iteration's named losses (default: det.forward_train). `event` appends a JSON record to
  // the log (iter added) and prints it.
  std::function<LossMap(Detector& det, const data::DetBatch& batch, int64_t iter,
                        const std::function<void(nlohmann::json)>& event)>
      losses;
  // One iteration's forward AND backward passes (gradients accumulate; the loop zeroes them before
  // and clips + steps after), returning the losses to log (not backpropagated again). Replaces
  // `losses` + the loop's backward, for trainers that run several passes per step (etp train's
  // sandwich of subnets). iter: 0-based; total: the run's iterations.
  std::function<LossMap(Detector& det, const data::DetBatch& batch, int64_t iter, int64_t total)>
      step;
  // Extra fields of each iteration's log record (e.g. timings).
  std::function<void(nlohmann::json& record)> annotate;
  // The hook's own state, saved in checkpoints ("hooks" of state.json) and restored on resume.
  std::function<nlohmann::json()> state;
  std::function<void(const nlohmann::json&)> load_state;
};

// The training run (progress on stdout). Outputs under args.out: config.json, log.jsonl,
// ckpt_iter<N>/, model.safetensors, loss.png, metrics.json (last evaluation).
DETFORGE_API void run_det_training(const DetTrainArgs& args, const DetTrainHooks& hooks = {});

// Draws out/loss.png from the log's loss lines: the total and every numeric term per iteration
// (iter, epoch, lr, time, kd_time and kd_candidate are bookkeeping, not drawn).
DETFORGE_API void plot_loss_log(const std::string& log_jsonl, const std::string& png);

}  // namespace detforge::detection
