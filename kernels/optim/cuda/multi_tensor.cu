// Pinned staging ring for the optimizer's per-step tensor tables (see multi_tensor.cuh).
#include <mutex>
#include <vector>

#include "kernels/optim/cuda/multi_tensor.cuh"

namespace detforge::kernels {
namespace {

constexpr int kSlots = 8;

struct Slot {
  void* host = nullptr;
  size_t capacity = 0;
  cudaEvent_t done = nullptr;
  bool recorded = false;
};

struct DeviceRing {
  Slot slots[kSlots];
  int next = 0;
};

std::mutex g_mutex;
std::vector<DeviceRing>& rings() {
  static std::vector<DeviceRing> r(
      64);  // leaked at exit on purpose (pinned memory dies with the context)
  return r;
}

}  // namespace

Tensor upload_optim_table(Device device, const void* host, size_t bytes, cudaStream_t stream) {
  Tensor dst = Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, device);
  std::lock_guard<std::mutex> lock(g_mutex);
  DF_CHECK(device.index >= 0 && device.index < 64, DeviceError, "[optim] device index ",
           device.index);
  DeviceRing& ring = rings()[device.index];
  Slot& s = ring.slots[ring.next];
  ring.next = (ring.next + 1) % kSlots;
  // Host wait (named): only when this slot's copy from kSlots steps ago is still in flight.
  if (s.recorded) DF_CUDA_CHECK(cudaEventSynchronize(s.done));
  if (s.capacity < bytes) {
    if (s.host) DF_CUDA_CHECK(cudaFreeHost(s.host));
    size_t cap = bytes < 4096 ? 4096 : bytes * 2;
    DF_CUDA_CHECK(cudaHostAlloc(&s.host, cap, cudaHostAllocDefault));
    s.capacity = cap;
  }
  if (!s.done) DF_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
  std::memcpy(s.host, host, bytes);
  DF_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), s.host, bytes, cudaMemcpyHostToDevice, stream));
  DF_CUDA_CHECK(cudaEventRecord(s.done, stream));
  s.recorded = true;
  return dst;
}

}  // namespace detforge::kernels
