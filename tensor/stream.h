// Streams and events. CPU work is synchronous; on CUDA every kernel is launched on an explicit
// stream, by default the thread's current stream for the device (set with StreamGuard).
#pragma once
#include <memory>

#include "tensor/device.h"

namespace detforge {

class DETFORGE_API Stream {
 public:
  Stream() = default;
  Stream(Device device, void* handle) : device_(device), handle_(handle) {}
  // The current stream of `device` for this thread (the default stream until a guard changes it).
  static Stream current(Device device);
  // A new non-blocking stream owned by detforge (lives until process exit; streams are cheap).
  static Stream create(Device device);
  void synchronize() const;
  Device device() const { return device_; }
  void* handle() const { return handle_; }  // cudaStream_t; null = the legacy default stream
  bool operator==(const Stream& o) const { return device_ == o.device_ && handle_ == o.handle_; }

 private:
  Device device_;
  void* handle_ = nullptr;
};

// Makes `stream` current for its device in this scope.
class DETFORGE_API StreamGuard {
 public:
  explicit StreamGuard(Stream stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream prev_;
};

class DETFORGE_API Event {
 public:
  explicit Event(Device device = kCPU, bool timing = true);
  ~Event();
  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;
  Event(const Event&) = delete;
  void record(const Stream& stream);
  void record() { record(Stream::current(device_)); }
  void synchronize() const;
  bool query() const;                          // true when the recorded work is complete
  void block(const Stream& stream) const;      // stream waits for this event (no host sync)
  float elapsed_ms(const Event& end) const;    // both recorded with timing

 private:
  Device device_;
  void* handle_ = nullptr;  // cudaEvent_t
  double cpu_time_ms_ = 0;  // CPU events record a steady-clock time
};

// Waits for all work on `device`.
DETFORGE_API void synchronize(Device device);

}  // namespace detforge
