#include "kernels/kd/kd_soft_ce.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_soft_ce_forward_stub);
DF_DEFINE_DISPATCH(kd_soft_ce_backward_stub);
}  // namespace detforge::kernels
