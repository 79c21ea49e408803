// CUDA Matcher: one block per ground-truth row for the row maxima (shared-memory tree with
// torch.max's NaN / first-index rule), then one thread per prediction. No host sync.
#include "kernels/detection/matcher.h"
#include "tensor/cuda/cuda_check.h"

namespace detforge::kernels {
namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void row_max_kernel(const T* q, int64_t N, T* row_max) {
  __shared__ T part[kThreads];
  const T* row = q + static_cast<int64_t>(blockIdx.x) * N;
  // Each thread scans a strided subset; ties do not matter for a value maximum.
  T best = row[0];
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x)
    if (matcher_better(row[n], best)) best = row[n];
  part[threadIdx.x] = best;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && matcher_better(part[threadIdx.x + s], part[threadIdx.x]))
      part[threadIdx.x] = part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) row_max[blockIdx.x] = part[0];
}

template <class T>
__global__ void column_kernel(const T* q, int64_t M, int64_t N, T high, T low, const T* row_max,
                              int64_t* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; n < N; n += stride)
    out[n] = matcher_column(q, M, N, n, high, low, row_max);
}

template <class T>
void match_typed(const MatcherParams& p, const Tensor& out, const Tensor& qt) {
  const int64_t M = qt.size(0), N = qt.size(1);
  cudaStream_t stream = detforge::cuda::current_stream(qt.device().index);
  const T* q = static_cast<const T*>(qt.data_ptr());
  Tensor rm;
  if (p.allow_low_quality_matches) {
    rm = Tensor::empty({M}, qt.dtype(), qt.device());  // caching allocator
    row_max_kernel<T>
        <<<static_cast<unsigned>(M), kThreads, 0, stream>>>(q, N, static_cast<T*>(rm.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  }
  column_kernel<T><<<detforge::cuda::blocks_for(N, kThreads), kThreads, 0, stream>>>(
      q, M, N, static_cast<T>(p.high), static_cast<T>(p.low),
      rm.defined() ? static_cast<const T*>(rm.data_ptr()) : nullptr,
      static_cast<int64_t*>(out.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void match_cuda(const MatcherParams& p, const Tensor& out, const Tensor& q) {
  if (q.dtype() == DType::f64)
    match_typed<double>(p, out, q);
  else
    match_typed<float>(p, out, q);
}

}  // namespace
DF_REGISTER_DISPATCH(matcher_stub, CUDA, &match_cuda);
}  // namespace detforge::kernels
