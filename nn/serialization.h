// Module state as safetensors (PyTorch's names; readable by safetensors.torch.load_file and
// writable by safetensors.torch.save_file, e.g. from a torchvision model's state_dict()).
#pragma once
#include <map>
#include <string>

#include "nn/module.h"

namespace detforge::nn {

// Writes module.state_dict() (parameters and buffers, contiguous CPU copies) atomically.
DETFORGE_API void save_state_dict(const Module& module, const std::string& path,
                                  const std::map<std::string, std::string>& metadata = {});
DETFORGE_API void save_state_dict(const StateDict& state, const std::string& path,
                                  const std::map<std::string, std::string>& metadata = {});
DETFORGE_API StateDict load_state_dict_file(const std::string& path);
// load_state_dict_file + module.load_state_dict (values converted to each tensor's dtype/device).
DETFORGE_API LoadResult load_module(Module& module, const std::string& path, bool strict = true);

}  // namespace detforge::nn
