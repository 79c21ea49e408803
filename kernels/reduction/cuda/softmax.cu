// CUDA softmax / log_softmax. Innermost dim: one block per row (block max, block sum of exp, one
// write; warp-shuffle reductions). Other dims ([outer, D, inner]): one thread per column.
#include <cfloat>

#include "kernels/reduction/cuda/block_reduce.cuh"
#include "kernels/reduction/softmax.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {
using namespace cuda_reduce;

struct MaxF {
  template <class A>
  __device__ A operator()(A a, A b) const {
    return (b > a || b != b) ? b : a;
  }
};
struct SumF {
  template <class A>
  __device__ A operator()(A a, A b) const {
    return a + b;
  }
};

template <class T>
__global__ void softmax_rows(T* out, const T* in, int64_t D, bool log) {
  using A = acc_t<T>;
  const T* x = in + static_cast<int64_t>(blockIdx.x) * D;
  T* y = out + static_cast<int64_t>(blockIdx.x) * D;
  A m = -A(INFINITY);
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) m = MaxF{}(m, static_cast<A>(x[i]));
  m = block_reduce(m, MaxF{});
  if (isinf(m) && m < 0) m = 0;
  A s = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += dmath::exp(static_cast<A>(x[i]) - m);
  s = block_reduce(s, SumF{});
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
    y[i] = cast_to<T>(softmax_out(static_cast<A>(x[i]), m, s, log));
}

template <class T>
__global__ void softmax_cols(T* out, const T* in, int64_t outer, int64_t D, int64_t inner,
                             bool log) {
  using A = acc_t<T>;
  int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= outer * inner) return;
  int64_t base = (t / inner) * D * inner + t % inner;
  A m = -A(INFINITY);
  for (int64_t d = 0; d < D; ++d) m = MaxF{}(m, static_cast<A>(in[base + d * inner]));
  if (isinf(m) && m < 0) m = 0;
  A s = 0;
  for (int64_t d = 0; d < D; ++d) s += dmath::exp(static_cast<A>(in[base + d * inner]) - m);
  for (int64_t d = 0; d < D; ++d)
    out[base + d * inner] =
        cast_to<T>(softmax_out(static_cast<A>(in[base + d * inner]), m, s, log));
}

template <class T>
__global__ void softmax_backward_kernel(T* gi, const T* go, const T* y, int64_t outer, int64_t D,
                                        int64_t inner, bool log) {
  using A = acc_t<T>;
  // one block per (outer, inner) column; threads share the D elements
  int64_t col = blockIdx.x;
  int64_t base = (col / inner) * D * inner + col % inner;
  A s = 0;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    A g = static_cast<A>(go[base + d * inner]);
    s += log ? g : g * static_cast<A>(y[base + d * inner]);
  }
  s = block_reduce(s, SumF{});
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    A g = static_cast<A>(go[base + d * inner]), v = static_cast<A>(y[base + d * inner]);
    gi[base + d * inner] = cast_to<T>(log ? g - dmath::exp(v) * s : v * (g - s));
  }
}

void geometry(const Tensor& t, int64_t dim, int64_t& outer, int64_t& D, int64_t& inner) {
  outer = D = inner = 1;
  for (int64_t d = 0; d < t.dim(); ++d) (d < dim ? outer : d == dim ? D : inner) *= t.size(d);
}

void softmax_cuda(const Tensor& out, const Tensor& in, int64_t dim, bool log) {
  if (in.numel() == 0) return;
  int64_t outer, D, inner;
  geometry(in, dim, outer, D, inner);
  cudaStream_t stream = ::detforge::cuda::current_stream(in.device().index);
  DF_DISPATCH_FLOATING(in.dtype(), log ? "log_softmax" : "softmax", [&] {
    auto* y = static_cast<scalar_t*>(out.data_ptr());
    auto* x = static_cast<const scalar_t*>(in.data_ptr());
    if (inner == 1) {
      DF_CHECK(outer <= 0x7fffffff, ShapeError, "[softmax] too many rows: ", outer);
      softmax_rows<scalar_t><<<static_cast<unsigned>(outer), kThreads, 0, stream>>>(y, x, D, log);
    } else {
      int64_t n = outer * inner;
      softmax_cols<scalar_t>
          <<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
              y, x, outer, D, inner, log);
    }
    DF_CUDA_KERNEL_CHECK();
  });
}

void softmax_backward_cuda(const Tensor& gi, const Tensor& go, const Tensor& out, int64_t dim,
                           bool log) {
  if (out.numel() == 0) return;
  int64_t outer, D, inner;
  geometry(out, dim, outer, D, inner);
  DF_CHECK(outer * inner <= 0x7fffffff, ShapeError,
           "[softmax_backward] too many columns: ", outer * inner);
  cudaStream_t stream = ::detforge::cuda::current_stream(out.device().index);
  DF_DISPATCH_FLOATING(out.dtype(), "softmax_backward", [&] {
    softmax_backward_kernel<scalar_t>
        <<<static_cast<unsigned>(outer * inner), kThreads, 0, stream>>>(
            static_cast<scalar_t*>(gi.data_ptr()), static_cast<const scalar_t*>(go.data_ptr()),
            static_cast<const scalar_t*>(out.data_ptr()), outer, D, inner, log);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(softmax_stub, CUDA, &softmax_cuda);
DF_REGISTER_DISPATCH(softmax_backward_stub, CUDA, &softmax_backward_cuda);
}  // namespace detforge::kernels
