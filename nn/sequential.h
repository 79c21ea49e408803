// Sequential: children named "0", "1", ... applied in order (torch.nn.Sequential naming).
#pragma once
#include <initializer_list>

#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API Sequential : public Cloneable<Sequential> {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  std::string type_name() const override { return "Sequential"; }
  Tensor forward(const Tensor& input) override;
  // Appends under the next index; returns the module.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return register_module(std::to_string(size()), std::move(m));
  }
  size_t size() const { return named_children().size(); }
  Module& operator[](size_t i) const { return *named_children().at(i).second; }
};

}  // namespace detforge::nn
