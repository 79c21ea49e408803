#include "kernels/linalg/matmul.h"

namespace detforge::kernels {
DF_DEFINE_DISPATCH(matmul_stub);
}
