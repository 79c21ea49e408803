#include "kernels/detection/box_coder.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(box_encode_stub);
DF_DEFINE_DISPATCH(box_decode_stub);
DF_DEFINE_DISPATCH(box_decode_backward_stub);
}  // namespace detforge::kernels
