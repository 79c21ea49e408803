#include "kernels/kd/kd_pearson.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_pearson_forward_stub);
DF_DEFINE_DISPATCH(kd_pearson_backward_stub);
}  // namespace detforge::kernels
