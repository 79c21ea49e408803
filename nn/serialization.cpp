#include "nn/serialization.h"

#include "tensor/safetensors.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

void save_state_dict(const StateDict& state, const std::string& path,
                     const std::map<std::string, std::string>& metadata) {
  std::map<std::string, Tensor> host;
  for (auto& kv : state)
    host[kv.first] = raw::contiguous(raw::to(kv.second, kCPU, kv.second.dtype()));
  save_safetensors(path, host, metadata);
}

void save_state_dict(const Module& module, const std::string& path,
                     const std::map<std::string, std::string>& metadata) {
  save_state_dict(module.state_dict(), path, metadata);
}

StateDict load_state_dict_file(const std::string& path) {
  return load_safetensors(path).tensors;
}

LoadResult load_module(Module& module, const std::string& path, bool strict) {
  return module.load_state_dict(load_state_dict_file(path), strict);
}

}  // namespace detforge::nn
