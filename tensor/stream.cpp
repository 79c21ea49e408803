// CPU side of streams and events, and the CPU-only build's CUDA stubs.
#include "tensor/stream.h"

#include <chrono>

#include "tensor/error.h"

namespace detforge {

#ifndef DETFORGE_WITH_CUDA
Stream Stream::current(Device device) {
  DF_CHECK(device.is_cpu(), DeviceError, "[stream] no CUDA implementation in this build");
  return Stream(device, nullptr);
}
Stream Stream::create(Device device) { return current(device); }
void Stream::synchronize() const {}
StreamGuard::StreamGuard(Stream stream) : prev_(Stream::current(stream.device())) {}
StreamGuard::~StreamGuard() = default;

Event::Event(Device device, bool) : device_(device) {
  DF_CHECK(device.is_cpu(), DeviceError, "[event] no CUDA implementation in this build");
}
Event::~Event() = default;
Event::Event(Event&& o) noexcept = default;
Event& Event::operator=(Event&& o) noexcept = default;
void Event::record(const Stream&) {
  cpu_time_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
void Event::synchronize() const {}
bool Event::query() const { return true; }
void Event::block(const Stream&) const {}
float Event::elapsed_ms(const Event& end) const { return static_cast<float>(end.cpu_time_ms_ - cpu_time_ms_); }
void synchronize(Device device) {
  DF_CHECK(device.is_cpu(), DeviceError, "[synchronize] no CUDA implementation in this build");
}
#endif

}  // namespace detforge
