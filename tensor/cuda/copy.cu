// CUDA copy and fill (same device) and host<->device transfers, on the current stream.
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"
#include "tensor/strided_index.h"
#include "tensor/view_ops.h"

namespace detforge::raw {
namespace {

template <class D, class S>
__global__ void copy_strided_kernel(int64_t n, StridedIndex<2> idx, D* dst, const S* src) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[2];
    idx.offsets(i, off);
    dst[off[0]] = cast_to<D>(src[off[1]]);
  }
}

template <class T>
__global__ void fill_kernel(int64_t n, StridedIndex<1> idx, T* dst, T value) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off;
    idx.offsets(i, &off);
    dst[off] = value;
  }
}

}  // namespace

void copy_cuda(const Tensor& dst, const Tensor& src) {
  DF_CHECK(dst.device() == src.device(), DeviceError, "[copy_] copy_cuda across devices ",
           src.device().str(), " -> ", dst.device().str());
  int64_t n = dst.numel();
  if (n == 0) return;
  cudaStream_t stream = cuda::current_stream(dst.device().index);
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    DF_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), dst.nbytes(),
                                  cudaMemcpyDeviceToDevice, stream));
    return;
  }
  const std::vector<int64_t> st[2] = {dst.strides(), src.strides()};
  auto idx = make_strided_index<2>(dst.shape(), st);
  int blocks = cuda::blocks_for(n);
  DF_DISPATCH_ALL(dst.dtype(), "copy_", [&] {
    using dst_t = scalar_t;
    DF_DISPATCH_ALL(src.dtype(), "copy_", [&] {
      copy_strided_kernel<dst_t, scalar_t>
          <<<blocks, cuda::kThreads, 0, stream>>>(n, idx, static_cast<dst_t*>(dst.data_ptr()),
                                                  static_cast<const scalar_t*>(src.data_ptr()));
      DF_CUDA_KERNEL_CHECK();
    });
  });
}

void fill_cuda(const Tensor& dst, double value) {
  int64_t n = dst.numel();
  if (n == 0) return;
  cudaStream_t stream = cuda::current_stream(dst.device().index);
  const std::vector<int64_t> st[1] = {dst.strides()};
  auto idx = make_strided_index<1>(dst.shape(), st);
  DF_DISPATCH_ALL(dst.dtype(), "fill_", [&] {
    fill_kernel<scalar_t><<<cuda::blocks_for(n), cuda::kThreads, 0, stream>>>(
        n, idx, static_cast<scalar_t*>(dst.data_ptr()), cast_to<scalar_t>(value));
    DF_CUDA_KERNEL_CHECK();
  });
}

void copy_between_devices(const Tensor& dst, const Tensor& src) {
  DF_CHECK(dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() &&
               dst.numel() == src.numel(),
           Error, "[copy_] copy_between_devices needs contiguous tensors of one dtype and size (",
           dtype_name(src.dtype()), " ", shape_str(src.shape()), " -> ", dtype_name(dst.dtype()),
           " ", shape_str(dst.shape()), ")");
  size_t nbytes = dst.nbytes();
  if (nbytes == 0) return;
  if (dst.is_cuda() && src.is_cuda()) {
    // Peer copy ordered after the destination device's current stream.
    cudaStream_t stream = cuda::current_stream(dst.device().index);
    DF_CUDA_CHECK(cudaMemcpyPeerAsync(dst.data_ptr(), dst.device().index, src.data_ptr(),
                                      src.device().index, nbytes, stream));
    return;
  }
  if (dst.is_cuda()) {
    // Host -> device. The host buffer is pageable: the runtime stages it before returning, so the
    // source may be released right after this call; no stream sync needed.
    cudaStream_t stream = cuda::current_stream(dst.device().index);
    DF_CUDA_CHECK(
        cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), nbytes, cudaMemcpyHostToDevice, stream));
    return;
  }
  // Device -> host. HOST SYNC (intended): the caller reads host memory right after this returns,
  // so we wait for the current stream (the copy and all work queued before it).
  cudaStream_t stream = cuda::current_stream(src.device().index);
  DF_CUDA_CHECK(
      cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), nbytes, cudaMemcpyDeviceToHost, stream));
  DF_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace detforge::raw
