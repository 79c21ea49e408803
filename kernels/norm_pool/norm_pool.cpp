#include "kernels/norm_pool/batch_norm.h"
#include "kernels/norm_pool/pad.h"
#include "kernels/norm_pool/pool.h"
#include "kernels/norm_pool/upsample.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(batch_norm_stats_stub);
DF_DEFINE_DISPATCH(batch_norm_invstd_stub);
DF_DEFINE_DISPATCH(batch_norm_apply_stub);
DF_DEFINE_DISPATCH(batch_norm_backward_stub);
DF_DEFINE_DISPATCH(group_norm_forward_stub);
DF_DEFINE_DISPATCH(group_norm_backward_stub);
DF_DEFINE_DISPATCH(max_pool2d_stub);
DF_DEFINE_DISPATCH(max_pool2d_backward_stub);
DF_DEFINE_DISPATCH(avg_pool2d_stub);
DF_DEFINE_DISPATCH(avg_pool2d_backward_stub);
DF_DEFINE_DISPATCH(adaptive_avg_pool2d_stub);
DF_DEFINE_DISPATCH(adaptive_avg_pool2d_backward_stub);
DF_DEFINE_DISPATCH(upsample_nearest2d_stub);
DF_DEFINE_DISPATCH(upsample_nearest2d_backward_stub);
DF_DEFINE_DISPATCH(upsample_bilinear2d_stub);
DF_DEFINE_DISPATCH(upsample_bilinear2d_backward_stub);
DF_DEFINE_DISPATCH(pad_stub);
DF_DEFINE_DISPATCH(pad_backward_stub);
}  // namespace detforge::kernels
