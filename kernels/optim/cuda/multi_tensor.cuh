// CUDA side of the multi-tensor optimizer kernels: the (entry, chunk) table of one step is packed
// in a pinned host buffer, copied with cudaMemcpyAsync (no sync) into a caching-allocator tensor,
// and ONE kernel launch processes every chunk of every tensor (one block per chunk).
#pragma once
#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include "kernels/optim/multi_tensor.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

constexpr int kOptimThreads = 512;

// Sets the current device for the scope (restores the previous one).
class OptimDeviceGuard {
 public:
  explicit OptimDeviceGuard(int device) {
    DF_CUDA_CHECK(cudaGetDevice(&prev_));
    if (prev_ != device) DF_CUDA_CHECK(cudaSetDevice(device));
  }
  ~OptimDeviceGuard() { cudaSetDevice(prev_); }

 private:
  int prev_ = 0;
};

// Copies `bytes` from `host` to a new device tensor through a ring of pinned staging buffers
// (cudaMemcpyAsync on `stream`; the only host wait is on a staging slot whose copy, issued several
// steps earlier, has not finished yet: in practice never). Returns the device tensor (u8).
DETFORGE_API Tensor upload_optim_table(Device device, const void* host, size_t bytes,
                                       cudaStream_t stream);

template <class Hyper>
struct DeviceOptimTable {
  Tensor holder;  // keeps the device memory alive (stream-ordered reuse by the caching allocator)
  const MultiTensorEntry<Hyper>* entries = nullptr;
  const OptimChunk* chunks = nullptr;
  int64_t num_chunks = 0;
};

template <class Hyper>
DeviceOptimTable<Hyper> make_device_table(Device device,
                                          const std::vector<MultiTensorEntry<Hyper>>& entries,
                                          cudaStream_t stream) {
  DeviceOptimTable<Hyper> t;
  std::vector<OptimChunk> chunks = make_chunks(entries);
  t.num_chunks = static_cast<int64_t>(chunks.size());
  if (chunks.empty()) return t;
  size_t eb = entries.size() * sizeof(MultiTensorEntry<Hyper>);
  size_t eb_aligned = (eb + 15) / 16 * 16;
  std::vector<unsigned char> packed(eb_aligned + chunks.size() * sizeof(OptimChunk));
  std::memcpy(packed.data(), entries.data(), eb);
  std::memcpy(packed.data() + eb_aligned, chunks.data(), chunks.size() * sizeof(OptimChunk));
  t.holder = upload_optim_table(device, packed.data(), packed.size(), stream);
  auto* base = static_cast<unsigned char*>(t.holder.data_ptr());
  t.entries = reinterpret_cast<const MultiTensorEntry<Hyper>*>(base);
  t.chunks = reinterpret_cast<const OptimChunk*>(base + eb_aligned);
  return t;
}

// One block per chunk; op(entry, i) updates element i of the chunk's tensor.
template <class Hyper, class Op>
__global__ void multi_tensor_kernel(const MultiTensorEntry<Hyper>* __restrict__ entries,
                                    const OptimChunk* __restrict__ chunks, Op op) {
  // Every thread reads the (small) entry: a broadcast from the cache.
  const OptimChunk c = chunks[blockIdx.x];
  const MultiTensorEntry<Hyper> e = entries[c.tensor];
  int64_t end = c.begin + kOptimChunk < e.numel ? c.begin + kOptimChunk : e.numel;
  for (int64_t i = c.begin + threadIdx.x; i < end; i += blockDim.x) op(e, i);
}

template <class Hyper, class Op>
void launch_multi_tensor(Device device, const std::vector<MultiTensorEntry<Hyper>>& entries,
                         const Op& op) {
  if (entries.empty()) return;
  OptimDeviceGuard guard(device.index);
  cudaStream_t stream = cuda::current_stream(device.index);
  DeviceOptimTable<Hyper> t = make_device_table(device, entries, stream);
  if (t.num_chunks == 0) return;
  multi_tensor_kernel<Hyper, Op>
      <<<static_cast<unsigned>(t.num_chunks), kOptimThreads, 0, stream>>>(t.entries, t.chunks, op);
  DF_CUDA_KERNEL_CHECK();
}

}  // namespace detforge::kernels
