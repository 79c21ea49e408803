// Dropout: in training, zeroes each element with probability p (a Bernoulli mask from a Generator,
// the default one unless given) and scales the rest by 1 / (1 - p); identity in eval mode.
#pragma once
#include "nn/module.h"
#include "tensor/random.h"

namespace detforge::nn {

class DETFORGE_API Dropout : public Cloneable<Dropout> {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  std::string type_name() const override { return "Dropout"; }
  Tensor forward(const Tensor& input) override;
  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;  // not owned; clones share it
};

}  // namespace detforge::nn
