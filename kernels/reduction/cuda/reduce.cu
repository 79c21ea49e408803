// CUDA reductions over the trailing dims: one block per output row, threads stride over the row,
// then a warp-shuffle + shared-memory block reduction. Same semantics as cpu/reduce.cpp; the
// accumulator is float for 16-bit floats and float, double for double, the type itself otherwise.
#include <limits>
#include <type_traits>

#include "kernels/math.h"
#include "kernels/reduction/reduce.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/strided_index.h"

namespace detforge::kernels {
namespace {

constexpr int kReduceThreads = 256;

template <class A>
struct Combine {
  ReduceOp op;
  __device__ A operator()(A a, A b) const {
    switch (op) {
      case ReduceOp::prod:
        return a * b;
      case ReduceOp::max:
      case ReduceOp::amax:
        return dmath::max<A>(a, b);
      case ReduceOp::min:
      case ReduceOp::amin:
        return dmath::min<A>(a, b);
      default:
        return a + b;
    }
  }
};

template <class A>
__device__ A shfl_down(A v, int delta) {
  if constexpr (sizeof(A) < 4) {
    return static_cast<A>(__shfl_down_sync(0xffffffffu, static_cast<int>(v), delta));
  } else {
    return __shfl_down_sync(0xffffffffu, v, delta);
  }
}

// Reduces one value per thread over the block; the result is valid in thread 0.
template <class A, class F>
__device__ A block_reduce(A v, const F& f, A* shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int d = 16; d > 0; d >>= 1) v = f(v, shfl_down(v, d));
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  if (warp == 0) {
    v = lane < nwarps ? shared[lane] : shared[0];  // shared[0] pads: f(x, x) is never used below
    A r = v;
    for (int d = 16; d > 0; d >>= 1) {
      A o = shfl_down(r, d);
      if (lane + d < nwarps) r = f(r, o);
    }
    v = r;
  }
  __syncthreads();  // `shared` is reused by the next reduction
  return v;
}

template <class A>
__device__ A init_value(ReduceOp op) {
  switch (op) {
    case ReduceOp::prod:
      return A(1);
    case ReduceOp::max:
    case ReduceOp::amax:
      return std::numeric_limits<A>::lowest();
    case ReduceOp::min:
    case ReduceOp::amin:
      return std::numeric_limits<A>::max();
    default:
      return A(0);
  }
}

template <class T, class A>
__global__ void reduce_kernel(ReduceOp op, StridedIndex<1> oidx, StridedIndex<1> iidx,
                              int64_t n_out, int64_t n_in, const T* src, T* dst) {
  __shared__ A shared[32];
  Combine<A> f{op};
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t base;
    oidx.offsets(o, &base);
    A mx = std::numeric_limits<A>::lowest();
    if (op == ReduceOp::logsumexp) {
      A m = mx;
      for (int64_t i = threadIdx.x; i < n_in; i += blockDim.x) {
        int64_t off;
        iidx.offsets(i, &off);
        m = dmath::max<A>(m, static_cast<A>(src[base + off]));
      }
      Combine<A> fmax{ReduceOp::max};
      m = block_reduce(m, fmax, shared);
      if (threadIdx.x == 0) shared[0] = m;
      __syncthreads();
      mx = shared[0];
      __syncthreads();
    }
    A r = init_value<A>(op);
    for (int64_t i = threadIdx.x; i < n_in; i += blockDim.x) {
      int64_t off;
      iidx.offsets(i, &off);
      A v = static_cast<A>(src[base + off]);
      switch (op) {
        case ReduceOp::norm1:
          if constexpr (!std::is_unsigned_v<A>) v = v < A(0) ? -v : v;
          break;
        case ReduceOp::norm2:
          v = v * v;
          break;
        case ReduceOp::logsumexp:
          if constexpr (std::is_floating_point_v<A>) v = dmath::exp(v - mx);
          break;
        default:
          break;
      }
      r = f(r, v);
    }
    r = block_reduce(r, f, shared);
    if (threadIdx.x == 0) {
      if constexpr (std::is_floating_point_v<A>) {
        if (op == ReduceOp::mean) r /= static_cast<A>(n_in);
        if (op == ReduceOp::norm2) r = dmath::sqrt(r);
        if (op == ReduceOp::logsumexp) r = mx + dmath::log(r);
      }
      dst[o] = static_cast<T>(r);
    }
  }
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  using A =
      std::conditional_t<std::is_same_v<T, double>, double,
                         std::conditional_t<std::is_floating_point_v<acc_t<T>>, float, acc_t<T>>>;
  Shape outer_shape(in.shape().begin(), in.shape().end() - n_reduced);
  Shape outer_strides(in.strides().begin(), in.strides().end() - n_reduced);
  Shape inner_shape(in.shape().end() - n_reduced, in.shape().end());
  Shape inner_strides(in.strides().end() - n_reduced, in.strides().end());
  const std::vector<int64_t> os[1] = {outer_strides};
  const std::vector<int64_t> is[1] = {inner_strides};
  auto oidx = make_strided_index<1>(outer_shape, os);
  auto iidx = make_strided_index<1>(inner_shape, is);
  int64_t n_out = shape_numel(outer_shape), n_in = shape_numel(inner_shape);
  if (n_out == 0) return;
  cudaStream_t stream = cuda::current_stream(out.device().index);
  int blocks = static_cast<int>(n_out < 65535 * 32 ? n_out : 65535 * 32);
  reduce_kernel<T, A><<<blocks, kReduceThreads, 0, stream>>>(op, oidx, iidx, n_out, n_in,
                                                             static_cast<const T*>(in.data_ptr()),
                                                             static_cast<T*>(out.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void reduce_cuda(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  DF_DISPATCH_NUMERIC(in.dtype(), "reduce",
                      [&] { reduce_typed<scalar_t>(op, out, in, n_reduced); });
}

}  // namespace
DF_REGISTER_DISPATCH(reduce_stub, CUDA, &reduce_cuda);
}  // namespace detforge::kernels
