// Supernet: the interface every elastic backbone / classifier implements (ElasticResNet, the
// OFA-ResNet50 and MobileNet spaces), so samplers, supernet trainers, BN recalibration and the
// searches in nas/ work on any of them.
//
//   space()            the choices this supernet offers (nn/elastic/search_space.h)
//   set_active(cfg)    selects the active subnet; ConfigError naming the key path when cfg lies
//                      outside space(); forward() / forward_features() then run that subnet
//   active()           the active ArchConfig (largest() after construction)
//   sample(rng, ...)   a random config of space(), optionally rejection-sampled by a predicate
//                      (nas/ passes FLOPs / latency constraints in)
//   extract_subnet(cfg) a standalone static model with copied weights whose forward() and
//                      forward_features() equal the supernet's with cfg active (eval mode)
#pragma once
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "nn/elastic/search_space.h"
#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API Supernet : public Module {
 public:
  virtual const SearchSpace& space() const = 0;
  virtual void set_active(const ArchConfig& cfg) = 0;
  const ArchConfig& active() const { return active_; }
  ArchConfig sample(std::mt19937_64& rng) const { return space().sample(rng); }
  ArchConfig sample(std::mt19937_64& rng, const std::function<bool(const ArchConfig&)>& accept,
                    int max_tries = 1000) const {
    return space().sample(rng, accept, max_tries);
  }
  virtual std::shared_ptr<Module> extract_subnet(const ArchConfig& cfg) const = 0;
  // Multi-level features of the active subnet (C2..C5 for backbones; strides 4..32).
  virtual std::vector<Tensor> forward_features(const Tensor& input) = 0;

 protected:
  Supernet() = default;
  Supernet(const Supernet&) = default;
  ArchConfig active_;  // set by set_active
};

}  // namespace detforge::nn
