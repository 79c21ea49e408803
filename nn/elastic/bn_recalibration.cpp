#include "nn/elastic/bn_recalibration.h"

#include "autograd/grad_mode.h"
#include "nn/elastic/elastic_layers.h"

namespace detforge::nn {

void recalibrate_bn(Module& model, const std::function<void()>& run) {
  std::vector<std::pair<Module*, bool>> modes;
  std::vector<ElasticBatchNorm2d*> bns;
  model.apply([&](Module& m) {
    modes.push_back({&m, m.is_training()});
    if (auto* bn = dynamic_cast<ElasticBatchNorm2d*>(&m)) bns.push_back(bn);
  });
  struct Restore {
    std::vector<std::pair<Module*, bool>>& modes;
    std::vector<ElasticBatchNorm2d*>& bns;
    ~Restore() {
      for (auto* bn : bns)
        if (bn->recalibrating()) bn->end_recalibration();
      for (auto& [m, t] : modes) m->Module::train(t);
    }
  } restore{modes, bns};
  NoGradGuard ng;
  model.train(true);
  for (auto* bn : bns) bn->begin_recalibration();
  run();
  for (auto* bn : bns) bn->end_recalibration();
}

void recalibrate_bn(Module& model, const std::vector<Tensor>& batches) {
  recalibrate_bn(model, [&] {
    for (const Tensor& b : batches) model.forward(b);
  });
}

}  // namespace detforge::nn
