// FP exceptions are not used: without trapping math GCC if-converts the selects in the element
// functors (NaN checks, clamps in dmath::exp_fast) and vectorises these loops (built with
// -fno-thread-jumps under GCC: CMakeLists.txt says why).
// CPU reduce_stub: sum/mean/prod/max/min/amax/amin/norm1/norm2/logsumexp over the trailing dims.
// Floating sums accumulate in double (16 independent lanes in the row kernels, so they vectorise).
#include <cmath>
#include <limits>

#include "kernels/math.h"
#include "kernels/reduction/cpu/reduce_core.h"
#include "kernels/reduction/cpu/reduce_ops.h"
#include "kernels/reduction/reduce.h"

namespace detforge::kernels {
namespace {
using namespace cpu_reduce;

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  T* dst = static_cast<T*>(out.data_ptr());
  switch (op) {
    case ReduceOp::sum:
      return reduce<T>(SumOp<T, Ident>{}, dst, in, n_reduced);
    case ReduceOp::mean:
      return reduce<T>(SumOp<T, Ident, Mean>{}, dst, in, n_reduced);
    case ReduceOp::norm1:
      return reduce<T>(SumOp<T, Abs>{}, dst, in, n_reduced);
    case ReduceOp::norm2:
      return reduce<T>(SumOp<T, Square, Sqrt>{}, dst, in, n_reduced);
    case ReduceOp::prod:
      return reduce<T>(ProdOp<T>{}, dst, in, n_reduced);
    case ReduceOp::max:
    case ReduceOp::amax:
      return reduce<T>(ExtremumOp<T, true>{}, dst, in, n_reduced);
    case ReduceOp::min:
    case ReduceOp::amin:
      return reduce<T>(ExtremumOp<T, false>{}, dst, in, n_reduced);
    case ReduceOp::logsumexp:
      if constexpr (std::is_floating_point_v<acc_t<T>>)
        return reduce<T>(LseOp<T>{}, dst, in, n_reduced);
      throw DTypeError("[logsumexp] needs a floating input");
  }
}

void reduce_cpu(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced) {
  DF_DISPATCH_NUMERIC(in.dtype(), "reduce",
                      [&] { reduce_typed<scalar_t>(op, out, in, n_reduced); });
}

}  // namespace
DF_REGISTER_DISPATCH(reduce_stub, CPU, &reduce_cpu);
}  // namespace detforge::kernels
