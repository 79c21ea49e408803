#include "kernels/optim/adamw.h"
#include "kernels/optim/clip.h"
#include "kernels/optim/sgd.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(sgd_step_stub);
DF_DEFINE_DISPATCH(adamw_step_stub);
DF_DEFINE_DISPATCH(clip_grad_norm_stub);
DF_DEFINE_DISPATCH(clip_grad_value_stub);
}  // namespace detforge::kernels
