#include "nn/sequential.h"

namespace detforge::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(m);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& c : named_children()) x = c.second->forward(x);
  return x;
}

}  // namespace detforge::nn
