// Matcher: validation and the empty cases here; the matching is kernels/detection/matcher.h.
#include "detection/matcher.h"

#include "kernels/detection/matcher.h"
#include "tensor/view_ops.h"

namespace detforge::detection {

Matcher::Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches)
    : high_(high_threshold), low_(low_threshold), allow_low_quality_(allow_low_quality_matches) {
  DF_CHECK(low_threshold <= high_threshold, ConfigError, "[Matcher] low_threshold ", low_threshold,
           " must be <= high_threshold ", high_threshold);
}

Tensor Matcher::operator()(const Tensor& match_quality_matrix) const {
  const Tensor& qm = match_quality_matrix;
  DF_CHECK(qm.dim() == 2, ShapeError, "[Matcher] match_quality_matrix must be [M, N], got ",
           shape_str(qm.shape()));
  DF_CHECK(is_floating(qm.dtype()), DTypeError,
           "[Matcher] match_quality_matrix must be floating, got ", dtype_name(qm.dtype()));
  const int64_t M = qm.size(0), N = qm.size(1);
  Device dev = qm.device();
  Tensor out = Tensor::empty({N}, DType::i64, dev);
  if (N == 0) return out;
  if (M == 0) {
    raw::fill(out, static_cast<double>(BELOW_LOW_THRESHOLD));
    return out;
  }
  // f32 / f64 as they are (thresholds in that dtype, as torch compares with a Python scalar);
  // 16-bit matrices are compared in float.
  DType dt = qm.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor q = raw::contiguous(raw::detach(raw::to(qm, dev, dt)));
  kernels::MatcherParams p;
  p.high = high_;
  p.low = low_;
  p.allow_low_quality_matches = allow_low_quality_;
  kernels::matcher_stub(dev, "Matcher")(p, out, q);
  return out;
}

}  // namespace detforge::detection
