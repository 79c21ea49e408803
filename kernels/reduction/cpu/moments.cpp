// CPU var_stub: Welford/Chan over the reduce driver (two vectorised passes per contiguous segment).
#include "kernels/reduction/moments.h"
#include "kernels/reduction/cpu/reduce_core.h"
#include "kernels/reduction/cpu/reduce_ops.h"

namespace detforge::kernels {
namespace {

void var_cpu(const Tensor& out, const Tensor& in, int n_reduced, double correction,
             bool take_sqrt) {
  DF_DISPATCH_FLOATING(in.dtype(), take_sqrt ? "std" : "var", [&] {
    cpu_reduce::WelfordOp<scalar_t> op;
    op.correction = correction;
    op.take_sqrt = take_sqrt;
    cpu_reduce::reduce<scalar_t>(op, static_cast<scalar_t*>(out.data_ptr()), in, n_reduced);
  });
}

}  // namespace
DF_REGISTER_DISPATCH(var_stub, CPU, &var_cpu);
}  // namespace detforge::kernels
