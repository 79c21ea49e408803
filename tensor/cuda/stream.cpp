// CUDA streams and events behind tensor/stream.h (forwarded from tensor/stream.cpp).
// The current stream is per thread and per device; null means the legacy default stream.
#include <cuda_runtime.h>

#include "tensor/cuda/cuda_check.h"
#include "tensor/stream_backend.h"

namespace detforge::stream_backend {
namespace {

constexpr int kMaxDevices = 64;
thread_local void* tls_current[kMaxDevices] = {};

void check_device(int device) {
  DF_CHECK(device >= 0 && device < kMaxDevices, DeviceError, "[stream] CUDA device index ", device,
           " out of range");
}

// Sets the current device for a scope, restoring the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    DF_CUDA_CHECK(cudaGetDevice(&prev_));
    if (prev_ != device) DF_CUDA_CHECK(cudaSetDevice(device));
    changed_ = prev_ != device;
  }
  ~DeviceScope() {
    if (changed_) cudaSetDevice(prev_);
  }

 private:
  int prev_ = 0;
  bool changed_ = false;
};

}  // namespace

void* current_stream(int device) {
  check_device(device);
  return tls_current[device];
}

void set_current_stream(int device, void* stream) {
  check_device(device);
  tls_current[device] = stream;
}

void* create_stream(int device) {
  check_device(device);
  DeviceScope scope(device);
  cudaStream_t s = nullptr;
  DF_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;  // owned by detforge until process exit (streams are cheap; see tensor/stream.h)
}

void synchronize_stream(int device, void* stream) {
  DeviceScope scope(device);
  DF_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

void synchronize_device(int device) {
  DeviceScope scope(device);
  DF_CUDA_CHECK(cudaDeviceSynchronize());
}

void* create_event(int device, bool timing) {
  DeviceScope scope(device);
  cudaEvent_t e = nullptr;
  DF_CUDA_CHECK(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
  return e;
}

void destroy_event(int device, void* event) {
  // Called from destructors: never throws; an error here leaves at most a leaked event.
  cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void record_event(void* event, int device, void* stream) {
  DeviceScope scope(device);
  DF_CUDA_CHECK(
      cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
}

void synchronize_event(void* event) {
  DF_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

bool query_event(void* event) {
  cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  DF_CUDA_CHECK(err);
  return true;
}

void stream_wait_event(void* stream, int device, void* event) {
  DeviceScope scope(device);
  DF_CUDA_CHECK(
      cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0));
}

float event_elapsed_ms(void* start, void* end) {
  float ms = 0;
  DF_CUDA_CHECK(
      cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
  return ms;
}

}  // namespace detforge::stream_backend
