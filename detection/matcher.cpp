// Matcher: column maxima, thresholds and low-quality restoration in two passes over [M, N].
#include "detection/matcher.h"

#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/parallel.h"

namespace detforge::detection {

Matcher::Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches)
    : high_(high_threshold), low_(low_threshold), allow_low_quality_(allow_low_quality_matches) {
  DF_CHECK(low_threshold <= high_threshold, ConfigError, "[Matcher] low_threshold ", low_threshold,
           " must be <= high_threshold ", high_threshold);
}

namespace {

template <class T>
bool better(T v, T best) {  // torch.max: NaN wins, ties keep the first
  return v > best || (v != v && best == best);
}

template <class T>
void match(const T* q, int64_t M, int64_t N, T high, T low, bool low_quality, int64_t* out) {
  std::vector<int64_t> all(static_cast<size_t>(N));
  parallel_for(0, N, 4096, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      T best = q[n];
      int64_t arg = 0;
      for (int64_t m = 1; m < M; ++m) {
        T v = q[m * N + n];
        if (better(v, best)) {
          best = v;
          arg = m;
        }
      }
      all[static_cast<size_t>(n)] = arg;
      int64_t r = arg;
      if (best < low)
        r = Matcher::BELOW_LOW_THRESHOLD;
      else if (best >= low && best < high)
        r = Matcher::BETWEEN_THRESHOLDS;
      out[n] = r;
    }
  });
  if (!low_quality) return;
  for (int64_t m = 0; m < M; ++m) {
    const T* row = q + m * N;
    T best = row[0];
    for (int64_t n = 1; n < N; ++n)
      if (better(row[n], best)) best = row[n];
    for (int64_t n = 0; n < N; ++n)
      if (row[n] == best) out[n] = all[static_cast<size_t>(n)];  // NaN never equals
  }
}

}  // namespace

Tensor Matcher::operator()(const Tensor& match_quality_matrix) const {
  const Tensor& qm = match_quality_matrix;
  DF_CHECK(qm.dim() == 2, ShapeError, "[Matcher] match_quality_matrix must be [M, N], got ",
           shape_str(qm.shape()));
  DF_CHECK(is_floating(qm.dtype()), DTypeError,
           "[Matcher] match_quality_matrix must be floating, got ", dtype_name(qm.dtype()));
  NoGradGuard no_grad;
  const int64_t M = qm.size(0), N = qm.size(1);
  Tensor out = Tensor::empty({N}, DType::i64, kCPU);
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  if (M == 0) {
    for (int64_t n = 0; n < N; ++n) o[n] = BELOW_LOW_THRESHOLD;
  } else if (N > 0) {
    // Host copy (a device-to-host sync for a CUDA matrix); half types are compared in float.
    DType dt = qm.dtype() == DType::f64 ? DType::f64 : DType::f32;
    Tensor q = qm.detach().to(kCPU, dt).contiguous();
    if (dt == DType::f64) {
      match(static_cast<const double*>(q.data_ptr()), M, N, high_, low_, allow_low_quality_, o);
    } else {
      // float thresholds, as torch compares a float32 tensor with a Python scalar.
      match(static_cast<const float*>(q.data_ptr()), M, N, static_cast<float>(high_),
            static_cast<float>(low_), allow_low_quality_, o);
    }
  }
  return qm.device() == kCPU ? out : out.to(qm.device());
}

}  // namespace detforge::detection
