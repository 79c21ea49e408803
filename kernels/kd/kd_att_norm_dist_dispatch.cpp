#include "kernels/kd/kd_att_norm_dist.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(kd_att_norm_dist_forward_stub);
DF_DEFINE_DISPATCH(kd_att_norm_dist_backward_stub);
}  // namespace detforge::kernels
