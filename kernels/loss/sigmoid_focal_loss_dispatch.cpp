#include "kernels/loss/sigmoid_focal_loss.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(sigmoid_focal_loss_forward_stub);
DF_DEFINE_DISPATCH(sigmoid_focal_loss_backward_stub);
}  // namespace detforge::kernels
