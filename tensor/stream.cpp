// Streams and events: CPU devices are handled here (synchronous work: no-op streams, steady-clock
// events); CUDA devices forward to tensor/cuda/stream.cpp (stream_backend.h), or throw in a
// CPU-only build.
#include "tensor/stream.h"

#include <chrono>
#include <utility>

#include "tensor/error.h"
#include "tensor/stream_backend.h"

namespace detforge {

Stream Stream::current(Device device) {
  if (device.is_cpu()) return Stream(device, nullptr);
  return Stream(device, stream_backend::current_stream(device.index));
}

Stream Stream::create(Device device) {
  if (device.is_cpu()) return Stream(device, nullptr);
  return Stream(device, stream_backend::create_stream(device.index));
}

void Stream::synchronize() const {
  if (device_.is_cuda()) stream_backend::synchronize_stream(device_.index, handle_);
}

StreamGuard::StreamGuard(Stream stream) : prev_(Stream::current(stream.device())) {
  if (stream.device().is_cuda())
    stream_backend::set_current_stream(stream.device().index, stream.handle());
}

StreamGuard::~StreamGuard() {
  if (prev_.device().is_cuda())
    stream_backend::set_current_stream(prev_.device().index, prev_.handle());
}

Event::Event(Device device, bool timing) : device_(device) {
  if (device.is_cuda()) handle_ = stream_backend::create_event(device.index, timing);
}

Event::~Event() {
  if (handle_) stream_backend::destroy_event(device_.index, handle_);
}

Event::Event(Event&& o) noexcept
    : device_(o.device_),
      handle_(std::exchange(o.handle_, nullptr)),
      cpu_time_ms_(o.cpu_time_ms_) {}

Event& Event::operator=(Event&& o) noexcept {
  if (this != &o) {
    if (handle_) stream_backend::destroy_event(device_.index, handle_);
    device_ = o.device_;
    handle_ = std::exchange(o.handle_, nullptr);
    cpu_time_ms_ = o.cpu_time_ms_;
  }
  return *this;
}

void Event::record(const Stream& stream) {
  DF_CHECK(stream.device() == device_, DeviceError, "[event] recording an event of ", device_.str(),
           " on a stream of ", stream.device().str());
  if (device_.is_cuda()) {
    stream_backend::record_event(handle_, device_.index, stream.handle());
    return;
  }
  cpu_time_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
}

void Event::synchronize() const {
  if (device_.is_cuda()) stream_backend::synchronize_event(handle_);
}

bool Event::query() const {
  return device_.is_cuda() ? stream_backend::query_event(handle_) : true;
}

void Event::block(const Stream& stream) const {
  if (device_.is_cuda() && stream.device().is_cuda())
    stream_backend::stream_wait_event(stream.handle(), stream.device().index, handle_);
  // CPU events are complete when recorded; a CUDA stream waiting on one has nothing to wait for.
}

float Event::elapsed_ms(const Event& end) const {
  DF_CHECK(device_ == end.device_, DeviceError, "[event] elapsed_ms between events of ",
           device_.str(), " and ", end.device_.str());
  if (device_.is_cuda()) return stream_backend::event_elapsed_ms(handle_, end.handle_);
  return static_cast<float>(end.cpu_time_ms_ - cpu_time_ms_);
}

void synchronize(Device device) {
  if (device.is_cuda()) stream_backend::synchronize_device(device.index);
}

#ifndef DETFORGE_WITH_CUDA
namespace stream_backend {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw DeviceError(str_cat("[", what, "] no CUDA implementation in this build"));
}
}  // namespace
void* current_stream(int) {
  no_cuda("stream");
}
void set_current_stream(int, void*) {
  no_cuda("stream");
}
void* create_stream(int) {
  no_cuda("stream");
}
void synchronize_stream(int, void*) {
  no_cuda("stream");
}
void synchronize_device(int) {
  no_cuda("synchronize");
}
void* create_event(int, bool) {
  no_cuda("event");
}
void destroy_event(int, void*) {}
void record_event(void*, int, void*) {
  no_cuda("event");
}
void synchronize_event(void*) {
  no_cuda("event");
}
bool query_event(void*) {
  no_cuda("event");
}
void stream_wait_event(void*, int, void*) {
  no_cuda("event");
}
float event_elapsed_ms(void*, void*) {
  no_cuda("event");
}
}  // namespace stream_backend
#endif

}  // namespace detforge
