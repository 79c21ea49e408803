// safetensors files: 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data. Readable and writable by PyTorch's safetensors.
#pragma once
#include <map>
#include <string>

#include "tensor/tensor.h"

namespace detforge {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;           // CPU, contiguous
  std::map<std::string, std::string> metadata;     // "__metadata__" (string -> string)
};

// Throws IOError naming the path and the byte offset or JSON key at fault.
DETFORGE_API SafetensorsFile load_safetensors(const std::string& path);
DETFORGE_API SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& what);
// Writes atomically (temp file + rename): a crash never leaves a half-written file.
DETFORGE_API void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                                   const std::map<std::string, std::string>& metadata = {});

}  // namespace detforge
