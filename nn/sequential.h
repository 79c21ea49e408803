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
  // Inserts before position pos (pos == size() appends) / removes position pos; the children are
  // renamed "0", "1", ... so state-dict keys follow the new order (morphism, layer pruning).
  void insert(size_t pos, std::shared_ptr<Module> m);
  std::shared_ptr<Module> erase(size_t pos);
  size_t size() const { return named_children().size(); }
  Module& operator[](size_t i) const { return *named_children().at(i).second; }

 private:
  void renumber();  // children named "0", "1", ... in order
};

}  // namespace detforge::nn
