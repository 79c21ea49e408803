#include "nas/supernet_trainer.h"

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "nn/optim/clip.h"
#include "tensor/error.h"

namespace detforge::nas {

Tensor distillation_loss(const Tensor& student, const Tensor& teacher, double temperature) {
  DF_CHECK(temperature > 0, ConfigError, "[nas.distillation_loss] temperature must be > 0, got ",
           temperature);
  DF_CHECK(student.shape() == teacher.shape(), ShapeError,
           "[nas.distillation_loss] student logits ", shape_str(student.shape()),
           " vs teacher logits ", shape_str(teacher.shape()));
  const double inv_t = 1.0 / temperature;
  Tensor target = softmax(mul(teacher.detach(), inv_t), -1);
  Tensor log_p = log_softmax(mul(student, inv_t), -1);
  return mul(kl_div(log_p, target, "batchmean"), temperature * temperature);
}

int64_t top1_correct(const Tensor& logits, const Tensor& labels) {
  NoGradGuard ng;
  auto pred = argmax(logits.detach(), 1).to(kCPU).to_vector<int64_t>();
  auto y = labels.to(kCPU).to_vector<int64_t>();
  DF_CHECK(pred.size() == y.size(), ShapeError, "[nas.top1_correct] ", pred.size(),
           " predictions vs ", y.size(), " labels");
  int64_t c = 0;
  for (size_t i = 0; i < y.size(); ++i) c += pred[i] == y[i];
  return c;
}

SupernetTrainer::SupernetTrainer(nn::Supernet& net, nn::Optimizer& optimizer,
                                 SubnetSampler& sampler, SupernetTrainerOptions options)
    : net_(net), optim_(optimizer), sampler_(sampler), opt_(options) {
  DF_CHECK(opt_.kd_temperature > 0 && opt_.kd_weight >= 0 && opt_.ce_weight >= 0, ConfigError,
           "[nas.SupernetTrainer] need kd_temperature > 0, kd_weight >= 0, ce_weight >= 0");
}

StepStats SupernetTrainer::accumulate(const Tensor& images, const Tensor& labels,
                                      const std::vector<nn::ArchConfig>& archs,
                                      const nn::ArchConfig& largest) {
  StepStats st;
  st.batch = images.size(0);
  Tensor teacher;
  const bool kd = opt_.inplace_distillation && opt_.kd_weight > 0;
  if (kd && !archs.empty() && archs.front() != largest) {
    NoGradGuard ng;
    net_.set_active(largest);
    teacher = net_.forward(images).detach();
  }
  for (const auto& arch : archs) {
    net_.set_active(arch);
    Tensor logits = net_.forward(images);
    SubnetStepStats s;
    s.arch = arch;
    Tensor ce = cross_entropy(logits, labels);
    Tensor loss;
    if (arch == largest) {
      loss = ce;
      if (kd && !teacher.defined()) teacher = logits.detach();
    } else if (kd) {
      Tensor kl = distillation_loss(logits, teacher, opt_.kd_temperature);
      s.kd = kl.item();
      loss = add(mul(ce, opt_.ce_weight), mul(kl, opt_.kd_weight));
    } else {
      loss = mul(ce, opt_.ce_weight);
    }
    s.ce = ce.item();
    s.loss = loss.item();
    s.correct = top1_correct(logits, labels);
    loss.backward();
    st.subnets.push_back(std::move(s));
  }
  return st;
}

StepStats SupernetTrainer::step(const Tensor& images, const Tensor& labels,
                                const nn::SearchSpace& space) {
  const nn::ArchConfig largest = space.largest();
  std::vector<nn::ArchConfig> archs = sampler_.sample(space);
  optim_.zero_grad();
  StepStats st = accumulate(images, labels, archs, largest);
  if (opt_.grad_clip_norm > 0) {
    std::vector<Tensor> params;
    for (const auto& g : optim_.param_groups())
      params.insert(params.end(), g.params.begin(), g.params.end());
    nn::clip_grad_norm_(params, opt_.grad_clip_norm);
  }
  optim_.step();
  net_.set_active(largest);
  return st;
}

}  // namespace detforge::nas
