#include "kernels/kd/kd_ssim.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_ssim_forward_stub);
DF_DEFINE_DISPATCH(kd_ssim_backward_stub);
}  // namespace detforge::kernels
