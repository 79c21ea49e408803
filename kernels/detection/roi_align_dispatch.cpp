#include "kernels/detection/roi_align.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(roi_align_stub);
DF_DEFINE_DISPATCH(roi_align_backward_stub);
}  // namespace detforge::kernels
