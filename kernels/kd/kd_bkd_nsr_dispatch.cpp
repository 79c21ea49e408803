#include "kernels/kd/kd_bkd_nsr.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_bkd_nsr_forward_stub);
DF_DEFINE_DISPATCH(kd_bkd_nsr_backward_stub);
}  // namespace detforge::kernels
