// Internal: the CUDA half of tensor/stream.h (tensor/cuda/stream.cpp). tensor/stream.cpp handles
// CPU devices itself and forwards CUDA devices here; a CPU-only build gets throwing stubs.
#pragma once

namespace detforge::stream_backend {

void* current_stream(
    int device);  // cudaStream_t of this thread's current stream (null = legacy default)
void set_current_stream(int device, void* stream);
void* create_stream(int device);
void synchronize_stream(int device, void* stream);
void synchronize_device(int device);
void* create_event(int device, bool timing);
void destroy_event(int device, void* event);
void record_event(void* event, int device, void* stream);
void synchronize_event(void* event);
bool query_event(void* event);
void stream_wait_event(void* stream, int device, void* event);
float event_elapsed_ms(void* start, void* end);

}  // namespace detforge::stream_backend
