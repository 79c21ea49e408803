#include "kernels/reduction/arg_reduce.h"
#include "kernels/reduction/moments.h"
#include "kernels/reduction/softmax.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(var_stub);
DF_DEFINE_DISPATCH(arg_reduce_stub);
DF_DEFINE_DISPATCH(softmax_stub);
DF_DEFINE_DISPATCH(softmax_backward_stub);
}  // namespace detforge::kernels
