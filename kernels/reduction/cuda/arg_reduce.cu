// CUDA arg_reduce_stub: one block per output row; threads scan strided shares keeping the first
// best (value, index), then the block combines pairs with arg_take_other (shared with the CPU).
#include "kernels/reduction/arg_reduce.h"
#include "kernels/reduction/cuda/block_reduce.cuh"
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {
using namespace cuda_reduce;

template <class A>
struct ValIdx {
  A v;
  int32_t pad;  // keeps the size a multiple of 4 for Half-sized A (acc_t is float/int/double here)
  int64_t i;
};

template <class T, bool IsMax>
__global__ void arg_kernel(T* values, int64_t* indices, const T* in, StridedIndex<1> outer,
                           int64_t L, int64_t s) {
  using A = acc_t<T>;
  int64_t o = blockIdx.x;
  const T* row = in + offset_of(outer, o);
  ValIdx<A> best{static_cast<A>(row[0]), 0, 0};
  for (int64_t r = threadIdx.x; r < L; r += blockDim.x) {
    A v = static_cast<A>(row[r * s]);
    if (arg_take_other<IsMax>(v, r, best.v, best.i)) best = ValIdx<A>{v, 0, r};
  }
  best = block_reduce(best, [](ValIdx<A> a, const ValIdx<A>& b) {
    return arg_take_other<IsMax>(b.v, b.i, a.v, a.i) ? b : a;
  });
  if (threadIdx.x == 0) {
    if (values) values[o] = static_cast<T>(best.v);
    indices[o] = best.i;
  }
}

void arg_reduce_cuda(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in) {
  RowLayout l = row_layout(in, 1);
  if (l.n_out == 0) return;
  DF_CHECK(l.n_out <= 0x7fffffff, ShapeError, "[", is_max ? "max" : "min",
           "] too many outputs: ", l.n_out);
  int64_t L = in.size(-1), s = in.stride(-1);
  cudaStream_t stream = ::detforge::cuda::current_stream(in.device().index);
  DF_DISPATCH_NUMERIC(in.dtype(), is_max ? "max" : "min", [&] {
    scalar_t* v = values.defined() ? static_cast<scalar_t*>(values.data_ptr()) : nullptr;
    auto* idx = static_cast<int64_t*>(indices.data_ptr());
    auto* src = static_cast<const scalar_t*>(in.data_ptr());
    if (is_max)
      arg_kernel<scalar_t, true>
          <<<static_cast<unsigned>(l.n_out), kThreads, 0, stream>>>(v, idx, src, l.outer, L, s);
    else
      arg_kernel<scalar_t, false>
          <<<static_cast<unsigned>(l.n_out), kThreads, 0, stream>>>(v, idx, src, l.outer, L, s);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(arg_reduce_stub, CUDA, &arg_reduce_cuda);
}  // namespace detforge::kernels
