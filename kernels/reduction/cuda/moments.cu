// CUDA var_stub: one block per output; each thread runs Welford over a strided share of the
// reduced elements, then the block merges the (n, mean, M2) triples (welford_merge, shared with
// CPU).
#include "kernels/reduction/cuda/block_reduce.cuh"
#include "kernels/reduction/moments.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {
using namespace cuda_reduce;

template <class T>
__global__ void var_kernel(T* out, const T* in, StridedIndex<1> outer, StridedIndex<1> red,
                           int64_t n_in, double correction, bool take_sqrt) {
  int64_t o = blockIdx.x;
  int64_t base = offset_of(outer, o);
  WelfordState s;
  for (int64_t i = threadIdx.x; i < n_in; i += blockDim.x)
    welford_add(s, static_cast<double>(static_cast<acc_t<T>>(in[base + offset_of(red, i)])));
  s = block_reduce(s, [](WelfordState a, const WelfordState& b) {
    welford_merge(a, b);
    return a;
  });
  if (threadIdx.x == 0) {
    double v = welford_var(s, correction);
    out[o] = cast_to<T>(take_sqrt ? ::sqrt(v) : v);
  }
}

void var_cuda(const Tensor& out, const Tensor& in, int n_reduced, double correction,
              bool take_sqrt) {
  RowLayout l = row_layout(in, n_reduced);
  if (l.n_out == 0) return;
  DF_CHECK(l.n_out <= 0x7fffffff, ShapeError,
           "[var] too many outputs for the CUDA kernel: ", l.n_out);
  cudaStream_t stream = ::detforge::cuda::current_stream(in.device().index);
  DF_DISPATCH_FLOATING(in.dtype(), take_sqrt ? "std" : "var", [&] {
    var_kernel<scalar_t><<<static_cast<unsigned>(l.n_out), kThreads, 0, stream>>>(
        static_cast<scalar_t*>(out.data_ptr()), static_cast<const scalar_t*>(in.data_ptr()),
        l.outer, l.red, l.n_in, correction, take_sqrt);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(var_stub, CUDA, &var_cuda);
}  // namespace detforge::kernels
