#include "kernels/reduction/reduce.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(reduce_stub);
}
