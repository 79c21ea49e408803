#include "kernels/loss/centernet_focal_loss.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(centernet_focal_forward_stub);
DF_DEFINE_DISPATCH(centernet_focal_backward_stub);
}  // namespace detforge::kernels
