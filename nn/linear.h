// Linear (torch.nn.Linear: "weight" [out, in], optional "bias" [out]).
#pragma once
#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API Linear : public Cloneable<Linear> {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  std::string type_name() const override { return "Linear"; }
  Tensor forward(const Tensor& input) override;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_;
  bool bias_;
};

// Flatten(start_dim = 1, end_dim = -1), as torch.nn.Flatten.
class DETFORGE_API Flatten : public Cloneable<Flatten> {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_(start_dim), end_(end_dim) {}
  std::string type_name() const override { return "Flatten"; }
  Tensor forward(const Tensor& input) override { return input.flatten(start_, end_); }

 private:
  int64_t start_, end_;
};

}  // namespace detforge::nn
