#include "kernels/detection/nms.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(nms_stub);
DF_DEFINE_DISPATCH(batched_nms_stub);
}  // namespace detforge::kernels
