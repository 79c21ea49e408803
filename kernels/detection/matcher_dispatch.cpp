#include "kernels/detection/matcher.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(matcher_stub);
}  // namespace detforge::kernels
