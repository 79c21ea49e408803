#include "kernels/conv/conv2d.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(conv2d_fwd_stub);
DF_DEFINE_DISPATCH(conv2d_bwd_data_stub);
DF_DEFINE_DISPATCH(conv2d_bwd_weight_stub);
}  // namespace detforge::kernels
