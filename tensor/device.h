// Where a tensor lives: the CPU or CUDA device i.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/macros.h"

namespace detforge {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(t == DeviceType::CPU ? 0 : i) {}
  // Parses "cpu", "cuda", "cuda:1"; throws DeviceError.
  DETFORGE_API static Device parse(const std::string& s);

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  DETFORGE_API std::string str() const;
};

inline Device kCPU{DeviceType::CPU, 0};
inline Device cuda_device(int i = 0) { return Device(DeviceType::CUDA, i); }

// True when this build has the CUDA backend and a usable GPU (any runtime error counts as "no GPU").
DETFORGE_API bool cuda_available();
DETFORGE_API int cuda_device_count();
// Why cuda_available() is false, for test skips ("built without CUDA", "no driver: ...").
DETFORGE_API std::string cuda_unavailable_reason();

}  // namespace detforge
