// CUDA status errors and the current-stream accessors used by every kernel.
#include "tensor/cuda/cuda_check.h"

#include "tensor/stream.h"

namespace detforge::cuda {

void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  std::string msg = str_cat("[cuda] ", expr, " failed: ", cudaGetErrorString(err), " (",
                            cudaGetErrorName(err), ") at ", file, ":", line);
  if (err == cudaErrorMemoryAllocation) throw OutOfMemoryError(msg);
  throw CudaError(msg);
}

cudaStream_t current_stream(int device) {
  return static_cast<cudaStream_t>(Stream::current(cuda_device(device)).handle());
}

cudaStream_t current_stream() {
  int dev = 0;
  DF_CUDA_CHECK(cudaGetDevice(&dev));
  return current_stream(dev);
}

}  // namespace detforge::cuda
