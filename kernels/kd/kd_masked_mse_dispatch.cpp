#include "kernels/kd/kd_masked_mse.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_masked_mse_forward_stub);
DF_DEFINE_DISPATCH(kd_masked_mse_backward_stub);
}  // namespace detforge::kernels
