#include "tensor/device.h"

#include "tensor/error.h"

namespace detforge {

Device Device::parse(const std::string& s) {
  if (s == "cpu") return kCPU;
  if (s == "cuda") return cuda_device(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      size_t pos = 0;
      int i = std::stoi(s.substr(5), &pos);
      if (pos == s.size() - 5 && i >= 0) return cuda_device(i);
    } catch (const std::exception&) {
    }
  }
  throw DeviceError("[device] cannot parse device '" + s + "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

#ifndef DETFORGE_WITH_CUDA
bool cuda_available() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return "detforge was built without CUDA (DETFORGE_CUDA=OFF)"; }
#endif

}  // namespace detforge
