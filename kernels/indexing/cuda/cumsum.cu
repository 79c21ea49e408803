// cumsum on CUDA: one thread per (outer, inner) column scanning its n elements (coalesced across
// the inner dim); and flat_nonzero with cub::DeviceSelect::Flagged.
#include <thrust/iterator/counting_iterator.h>
#include <cub/device/device_select.cuh>

#include "kernels/indexing/cumsum.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/view_ops.h"

namespace detforge::kernels {
namespace {

template <class T>
__global__ void cumsum_kernel(int64_t cols, int64_t n, int64_t inner, bool reverse, const T* in,
                              T* out) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += step) {
    int64_t o = c / inner, i = c % inner;
    int64_t base = o * n * inner + i;
    acc_t<T> run = acc_t<T>(0);
    for (int64_t jj = 0; jj < n; ++jj) {
      int64_t j = reverse ? n - 1 - jj : jj;
      run += static_cast<acc_t<T>>(in[base + j * inner]);
      out[base + j * inner] = static_cast<T>(run);
    }
  }
}

void cumsum_cuda(const Tensor& out, const Tensor& in, const CumsumParams& p) {
  const int64_t cols = p.outer * p.inner;
  if (cols == 0 || p.n == 0) return;
  cudaStream_t stream = cuda::current_stream(in.device().index);
  DF_DISPATCH_NUMERIC(in.dtype(), "cumsum", [&] {
    cumsum_kernel<scalar_t><<<cuda::blocks_for(cols), cuda::kThreads, 0, stream>>>(
        cols, p.n, p.inner, p.reverse, static_cast<const scalar_t*>(in.data_ptr()),
        static_cast<scalar_t*>(out.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  });
}

Tensor flat_nonzero_cuda(const Tensor& mask) {
  const int64_t n = mask.numel();
  Device dev = mask.device();
  DF_CHECK(n < (int64_t(1) << 31), ShapeError,
           "[masked_select] CUDA path supports < 2^31 elements, got ", n);
  cudaStream_t stream = cuda::current_stream(dev.index);
  Tensor out = Tensor::empty({n}, DType::i64, dev);
  Tensor count = Tensor::empty({1}, DType::i64, dev);
  thrust::counting_iterator<int64_t> first(0);
  const uint8_t* flags = static_cast<const uint8_t*>(mask.data_ptr());
  size_t bytes = 0;
  DF_CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, bytes, first, flags, out.data<int64_t>(),
                                           count.data<int64_t>(), static_cast<int>(n), stream));
  Tensor tmp = Tensor::empty({static_cast<int64_t>(bytes) + 1}, DType::u8, dev);
  DF_CUDA_CHECK(cub::DeviceSelect::Flagged(tmp.data_ptr(), bytes, first, flags, out.data<int64_t>(),
                                           count.data<int64_t>(), static_cast<int>(n), stream));
  // Device->host sync (unavoidable): the output size depends on the mask's contents.
  int64_t k = 0;
  DF_CUDA_CHECK(
      cudaMemcpyAsync(&k, count.data_ptr(), sizeof(int64_t), cudaMemcpyDeviceToHost, stream));
  DF_CUDA_CHECK(cudaStreamSynchronize(stream));
  return raw::narrow(out, 0, 0, k);
}

}  // namespace
DF_REGISTER_DISPATCH(cumsum_stub, CUDA, &cumsum_cuda);
DF_REGISTER_DISPATCH(flat_nonzero_stub, CUDA, &flat_nonzero_cuda);
}  // namespace detforge::kernels
