// CUDA side of tensor/random.h: the same per-element Philox rule as the CPU (random_impl.h).
#include <cub/device/device_radix_sort.cuh>

#include "tensor/cuda/cuda_check.h"
#include "tensor/random_impl.h"

namespace detforge::random_detail {
namespace {

template <class T>
__global__ void random_kernel(int64_t n, Params p, T* out) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = value<T>(p, static_cast<uint64_t>(i));
}

__global__ void perm_keys_kernel(int64_t n, uint64_t seed, uint64_t offset, uint64_t* keys,
                                 int64_t* idx) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    keys[i] = philox::bits64(philox::element_block(seed, offset, static_cast<uint64_t>(i)));
    idx[i] = i;
  }
}

}  // namespace

void fill_cuda(const Tensor& out, const Params& p) {
  int64_t n = out.numel();
  cudaStream_t stream = cuda::current_stream(out.device().index);
  DF_DISPATCH_ALL(out.dtype(), "random", [&] {
    random_kernel<scalar_t><<<cuda::blocks_for(n), cuda::kThreads, 0, stream>>>(
        n, p, static_cast<scalar_t*>(out.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  });
}

void randperm_cuda(const Tensor& out, uint64_t seed, uint64_t offset) {
  int64_t n = out.numel();
  DF_CHECK(n < (int64_t(1) << 31), ShapeError, "[randperm] n=", n, " too large for the CUDA sort");
  Device dev = out.device();
  cudaStream_t stream = cuda::current_stream(dev.index);
  Tensor keys_in = Tensor::empty({n}, DType::i64, dev),
         keys_out = Tensor::empty({n}, DType::i64, dev);
  Tensor idx_in = Tensor::empty({n}, DType::i64, dev);
  auto* kin = static_cast<uint64_t*>(keys_in.data_ptr());
  auto* kout = static_cast<uint64_t*>(keys_out.data_ptr());
  auto* vin = static_cast<int64_t*>(idx_in.data_ptr());
  auto* vout = static_cast<int64_t*>(out.data_ptr());
  perm_keys_kernel<<<cuda::blocks_for(n), cuda::kThreads, 0, stream>>>(n, seed, offset, kin, vin);
  DF_CUDA_KERNEL_CHECK();
  // Radix sort is stable: equal keys keep index order (ties broken by index, as on the CPU).
  size_t temp_bytes = 0;
  DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, kin, kout, vin, vout,
                                                static_cast<int>(n), 0, 64, stream));
  Tensor temp = Tensor::empty({static_cast<int64_t>(temp_bytes)}, DType::u8, dev);
  DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data_ptr(), temp_bytes, kin, kout, vin, vout,
                                                static_cast<int>(n), 0, 64, stream));
  // keys/temp go back to the allocator on this same stream: stream order keeps their reuse safe.
}

}  // namespace detforge::random_detail
