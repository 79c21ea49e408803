// sort / topk on CUDA with CUB radix sorts (stable; +NaN orders as the largest key, as PyTorch).
// One row: cub::DeviceRadixSort; several rows: cub::DeviceSegmentedRadixSort. Temp storage and the
// segment offsets come from the caching allocator (Tensor::empty); topk sorts whole rows and keeps
// the first k columns. Note: radix order puts -0.0 before +0.0 (PyTorch treats them as equal).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include "kernels/indexing/sort.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/view_ops.h"

namespace detforge::kernels {
namespace {

template <class T>
struct cub_key {
  using type = T;
};
template <>
struct cub_key<Half> {
  using type = __half;
};
template <>
struct cub_key<BFloat16> {
  using type = __nv_bfloat16;
};

__global__ void iota_rows_kernel(int64_t total, int64_t n, int64_t* idx) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step)
    idx[i] = i % n;
}
__global__ void segment_offsets_kernel(int rows, int n, int* off) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= rows) off[i] = i * n;
}

template <class T>
void sort_rows(const Tensor& values, const Tensor& indices, const Tensor& in, bool descending) {
  using K = typename cub_key<T>::type;
  const int64_t n = in.size(-1), total = in.numel(), rows = total / n;
  DF_CHECK(total < (int64_t(1) << 31), ShapeError,
           "[sort] CUDA sort supports < 2^31 elements, got ", total);
  Device dev = in.device();
  cudaStream_t stream = cuda::current_stream(dev.index);
  Tensor iota = Tensor::empty({total}, DType::i64, dev);
  iota_rows_kernel<<<cuda::blocks_for(total), cuda::kThreads, 0, stream>>>(total, n,
                                                                           iota.data<int64_t>());
  DF_CUDA_KERNEL_CHECK();
  const K* kin = static_cast<const K*>(in.data_ptr());
  K* kout = static_cast<K*>(values.data_ptr());
  const int64_t* vin = iota.data<int64_t>();
  int64_t* vout = indices.data<int64_t>();
  const int ni = static_cast<int>(total), nr = static_cast<int>(rows);
  size_t bytes = 0;
  if (rows == 1) {
    auto run = [&](void* tmp) {
      if (descending)
        DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(tmp, bytes, kin, kout, vin, vout,
                                                                ni, 0, int(sizeof(K) * 8), stream));
      else
        DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(tmp, bytes, kin, kout, vin, vout, ni, 0,
                                                      int(sizeof(K) * 8), stream));
    };
    run(nullptr);
    Tensor tmp = Tensor::empty({static_cast<int64_t>(bytes) + 1}, DType::u8, dev);
    run(tmp.data_ptr());
    return;
  }
  Tensor offsets = Tensor::empty({rows + 1}, DType::i32, dev);
  int* off = offsets.data<int32_t>();
  segment_offsets_kernel<<<cuda::blocks_for(rows + 1), cuda::kThreads, 0, stream>>>(
      nr, static_cast<int>(n), off);
  DF_CUDA_KERNEL_CHECK();
  auto run = [&](void* tmp) {
    if (descending)
      DF_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
          tmp, bytes, kin, kout, vin, vout, ni, nr, off, off + 1, 0, int(sizeof(K) * 8), stream));
    else
      DF_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
          tmp, bytes, kin, kout, vin, vout, ni, nr, off, off + 1, 0, int(sizeof(K) * 8), stream));
  };
  run(nullptr);
  Tensor tmp = Tensor::empty({static_cast<int64_t>(bytes) + 1}, DType::u8, dev);
  run(tmp.data_ptr());
}

void sort_cuda(const Tensor& values, const Tensor& indices, const Tensor& in, bool descending) {
  DF_DISPATCH_NUMERIC(in.dtype(), "sort",
                      [&] { sort_rows<scalar_t>(values, indices, in, descending); });
}

void topk_cuda(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t k,
               bool largest) {
  Tensor v = Tensor::empty(in.shape(), in.dtype(), in.device());
  Tensor i = Tensor::empty(in.shape(), DType::i64, in.device());
  sort_cuda(v, i, in, largest);
  int64_t last = in.dim() - 1;
  raw::copy(values, raw::narrow(v, last, 0, k));
  raw::copy(indices, raw::narrow(i, last, 0, k));
}

}  // namespace
DF_REGISTER_DISPATCH(sort_stub, CUDA, &sort_cuda);
DF_REGISTER_DISPATCH(topk_stub, CUDA, &topk_cuda);
}  // namespace detforge::kernels
