#include <limits>

#include "kernels/math.h"
#include "kernels/reduction/reduce.h"
#include "tensor/parallel.h"
#include "tensor/strided_index.h"

namespace detforge::kernels {
namespace {

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  using acc = std::conditional_t<std::is_floating_point_v<acc_t<T>>, double, acc_t<T>>;
  int nd = static_cast<int>(in.dim());
  Shape outer_shape(in.shape().begin(), in.shape().end() - n_reduced);
  Shape outer_strides(in.strides().begin(), in.strides().end() - n_reduced);
  Shape inner_shape(in.shape().end() - n_reduced, in.shape().end());
  Shape inner_strides(in.strides().end() - n_reduced, in.strides().end());
  (void)nd;
  const std::vector<int64_t> os[1] = {outer_strides};
  const std::vector<int64_t> is[1] = {inner_strides};
  auto oidx = make_strided_index<1>(outer_shape, os);
  auto iidx = make_strided_index<1>(inner_shape, is);
  int64_t n_out = shape_numel(outer_shape), n_in = shape_numel(inner_shape);
  const T* src = static_cast<const T*>(in.data_ptr());
  T* dst = static_cast<T*>(out.data_ptr());
  parallel_for(0, n_out, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(n_in, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      int64_t base;
      oidx.offsets(o, &base);
      acc r;
      switch (op) {
        case ReduceOp::prod: r = acc(1); break;
        case ReduceOp::max: case ReduceOp::amax: r = std::numeric_limits<acc>::lowest(); break;
        case ReduceOp::min: case ReduceOp::amin: r = std::numeric_limits<acc>::max(); break;
        default: r = acc(0);
      }
      acc mx = std::numeric_limits<acc>::lowest();
      if (op == ReduceOp::logsumexp) {
        for (int64_t i = 0; i < n_in; ++i) {
          int64_t off;
          iidx.offsets(i, &off);
          mx = dmath::max<acc>(mx, static_cast<acc>(src[base + off]));
        }
      }
      for (int64_t i = 0; i < n_in; ++i) {
        int64_t off;
        iidx.offsets(i, &off);
        acc v = static_cast<acc>(src[base + off]);
        switch (op) {
          case ReduceOp::sum: case ReduceOp::mean: r += v; break;
          case ReduceOp::prod: r *= v; break;
          case ReduceOp::max: case ReduceOp::amax: r = dmath::max<acc>(r, v); break;
          case ReduceOp::min: case ReduceOp::amin: r = dmath::min<acc>(r, v); break;
          case ReduceOp::norm1: r += v < acc(0) ? -v : v; break;
          case ReduceOp::norm2: r += v * v; break;
          case ReduceOp::logsumexp:
            if constexpr (std::is_floating_point_v<acc>) r += dmath::exp(v - mx);
            break;
        }
      }
      if constexpr (std::is_floating_point_v<acc>) {
        if (op == ReduceOp::mean) r /= static_cast<acc>(n_in);
        if (op == ReduceOp::norm2) r = dmath::sqrt(r);
        if (op == ReduceOp::logsumexp) r = mx + dmath::log(r);
      }
      dst[o] = static_cast<T>(r);
    }
  });
}

void reduce_cpu(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  DF_DISPATCH_NUMERIC(in.dtype(), "reduce", [&] { reduce_typed<scalar_t>(op, out, in, n_reduced); });
}

}  // namespace
DF_REGISTER_DISPATCH(reduce_stub, CPU, &reduce_cpu);
}  // namespace detforge::kernels
