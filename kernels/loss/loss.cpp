#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(pointwise_loss_forward_stub);
DF_DEFINE_DISPATCH(pointwise_loss_backward_stub);
DF_DEFINE_DISPATCH(cross_entropy_forward_stub);
DF_DEFINE_DISPATCH(cross_entropy_backward_stub);
}  // namespace detforge::kernels
