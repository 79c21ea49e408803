// ElasticCNN: a small elastic classification supernet (nn::Supernet) for Fashion-MNIST-sized
// inputs, used to exercise supernet training end to end (train-cls, samplers, progressive
// shrinking, BN recalibration) independently of ElasticResNet.
//
// stem 3x3 conv-BN-ReLU (fixed width) -> S stages -> global average pool -> ElasticLinear.
// Stage i has up to max(depths) blocks of 3x3/5x5/... ElasticConv2d-ElasticBatchNorm2d-ReLU; the
// first block of stages i > 0 has stride 2, later blocks add their input (residual). Elastic per
// stage: depth (the first d blocks run), width multiplier (a channel prefix of channels[i] *
// max(width_mults)), kernel size per block (OFA kernel transforms for 7 -> 5 -> 3).
//
// extract_subnet(cfg) returns a deep copy of the supernet fixed to cfg (same outputs; the weights
// are not sliced into static layers).
#pragma once
#include <nlohmann/json.hpp>

#include "nn/elastic/supernet.h"

namespace detforge::nas {

struct ElasticCNNOptions {
  int64_t stem_channels = 16;
  std::vector<int64_t> channels{32, 64, 128};  // per stage, at width multiplier 1
  std::vector<int64_t> depths{1, 2};
  std::vector<double> width_mults{0.5, 0.75, 1.0};
  std::vector<int64_t> kernel_sizes{3, 5};
};

// {"type": "elastic_cnn", "stem_channels", "channels", "depths", "width_mults", "kernel_sizes"}.
DETFORGE_API ElasticCNNOptions elastic_cnn_options_from_json(const nlohmann::json& j,
                                                             const std::string& path = "model");

class DETFORGE_API ElasticCNN : public nn::Cloneable<ElasticCNN, nn::Supernet> {
 public:
  ElasticCNN(const ElasticCNNOptions& options, int64_t in_channels, int64_t num_classes);
  std::string type_name() const override { return "ElasticCNN"; }
  const nn::SearchSpace& space() const override { return space_; }
  void set_active(const nn::ArchConfig& cfg) override;
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input) override;
  std::shared_ptr<nn::Module> extract_subnet(const nn::ArchConfig& cfg) const override;

 private:
  ElasticCNNOptions opt_;
  nn::SearchSpace space_;
  int64_t max_depth_ = 1;
};

}  // namespace detforge::nas
