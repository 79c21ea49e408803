// Padding (constant, reflect, replicate) of the last up to three dims. The kernels see
// x [P, D0, D1, D2] (unpadded leading dims folded into P, missing padded dims as size 1 with no
// padding), contiguous. The source-index rule is shared by the CPU loops and the CUDA kernels.
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

enum class PadMode { constant, reflect, replicate };

struct PadParams {
  int64_t P = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t before[3] = {0, 0, 0};  // padding before each dim (negative crops)
  PadMode mode = PadMode::constant;
  double value = 0;
};

// Source index along one dim of output index o, or -1 when it reads the constant.
DETFORGE_HD inline int64_t pad_src_index(int64_t o, int64_t before, int64_t in, PadMode mode) {
  int64_t i = o - before;
  if (mode == PadMode::constant) return (i < 0 || i >= in) ? -1 : i;
  if (mode == PadMode::replicate) return i < 0 ? 0 : (i >= in ? in - 1 : i);
  if (in == 1) return 0;
  if (i < 0) i = -i;
  if (i >= in) i = 2 * (in - 1) - i;
  return i;
}

using PadFwdFn = void (*)(const Tensor& out, const Tensor& x, const PadParams& p);
// grad_in [P, D0, D1, D2] is overwritten.
using PadBwdFn = void (*)(const Tensor& grad_in, const Tensor& grad_out, const PadParams& p);
DF_DECLARE_DISPATCH(PadFwdFn, pad_stub);
DF_DECLARE_DISPATCH(PadBwdFn, pad_backward_stub);

}  // namespace detforge::kernels
