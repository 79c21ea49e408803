#include "nn/sequential.h"

#include "tensor/error.h"

namespace detforge::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(m);
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& c : named_children()) x = c.second->forward(x);
  return x;
}

void Sequential::renumber() {
  auto& ch = mutable_children();
  for (size_t i = 0; i < ch.size(); ++i) ch[i].first = std::to_string(i);
}

void Sequential::insert(size_t pos, std::shared_ptr<Module> m) {
  DF_CHECK(pos <= size(), ConfigError, "[nn.Sequential] insert position ", pos, " > size ", size());
  DF_CHECK(m != nullptr, ConfigError, "[nn.Sequential] insert of a null module");
  auto& ch = mutable_children();
  ch.insert(ch.begin() + static_cast<std::ptrdiff_t>(pos), {"", std::move(m)});
  renumber();
}

std::shared_ptr<Module> Sequential::erase(size_t pos) {
  DF_CHECK(pos < size(), ConfigError, "[nn.Sequential] erase position ", pos, " >= size ", size());
  auto& ch = mutable_children();
  std::shared_ptr<Module> m = ch[pos].second;
  ch.erase(ch.begin() + static_cast<std::ptrdiff_t>(pos));
  renumber();
  return m;
}

}  // namespace detforge::nn
