// One supernet training step (OFA / BigNAS style) for any nn::Supernet whose forward() returns
// classification logits [N, C] of the active subnet:
//
//   1. the sampler draws the step's subnets from the phase's (narrowed) SearchSpace;
//   2. each subnet is activated, run forward and backward on the same batch; gradients accumulate
//      in the shared weights (one backward per subnet, so only one graph is alive at a time);
//   3. in-place distillation: the largest subnet trains on the labels, and its detached logits are
//      the soft targets of every other subnet:
//        loss_s = ce_weight * CE(logits_s, y) + kd_weight * T^2 * KL(softmax(t/T) || softmax(s/T))
//      (KL, batch mean, = soft cross-entropy minus the constant teacher entropy). When the
//      sampled list does not start with the largest subnet (uniform sampler), the teacher logits
//      come from an extra no-grad forward of the largest subnet in the current mode;
//   4. optional gradient clipping, then one optimizer step (zero_grad before the next step).
#pragma once
#include <vector>

#include "nas/sampler.h"
#include "nn/elastic/supernet.h"
#include "nn/optim/optimizer.h"

namespace detforge::nas {

struct SupernetTrainerOptions {
  bool inplace_distillation = true;
  double kd_weight = 1.0;       // weight of the KD term for the non-largest subnets
  double kd_temperature = 1.0;  // T
  double ce_weight = 1.0;       // weight of the label CE term for the non-largest subnets
  double grad_clip_norm = 0.0;  // 0 = off
};

struct SubnetStepStats {
  nn::ArchConfig arch;
  double loss = 0;      // the total loss this subnet backpropagated
  double ce = 0;        // label cross-entropy
  double kd = 0;        // distillation loss (0 for the teacher itself)
  int64_t correct = 0;  // top-1 hits on the batch
};

struct StepStats {
  std::vector<SubnetStepStats> subnets;  // in sampling order
  int64_t batch = 0;
};

// T^2 * KL(softmax(teacher / T) || softmax(student / T)), batch mean (differentiable in student;
// teacher is detached here).
DETFORGE_API Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                                      double temperature);
// Number of rows whose argmax equals the label.
DETFORGE_API int64_t top1_correct(const Tensor& logits, const Tensor& labels);

class DETFORGE_API SupernetTrainer {
 public:
  SupernetTrainer(nn::Supernet& net, nn::Optimizer& optimizer, SubnetSampler& sampler,
                  SupernetTrainerOptions options = {});
  // Samples from `space`, accumulates, steps the optimizer. Leaves the largest subnet active.
  StepStats step(const Tensor& images, const Tensor& labels, const nn::SearchSpace& space);
  // Forward/backward of the given subnets with gradient accumulation (no zero_grad, no optimizer
  // step): what step() does between them. `largest` identifies the teacher.
  StepStats accumulate(const Tensor& images, const Tensor& labels,
                       const std::vector<nn::ArchConfig>& archs, const nn::ArchConfig& largest);
  const SupernetTrainerOptions& options() const { return opt_; }

 private:
  nn::Supernet& net_;
  nn::Optimizer& optim_;
  SubnetSampler& sampler_;
  SupernetTrainerOptions opt_;
};

}  // namespace detforge::nas
