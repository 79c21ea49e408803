// Float/double math that compiles for host and device (one name, both precisions).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/macros.h"

namespace detforge::dmath {

#define DF_MATH1(name, ffn, dfn)                                  \
  DETFORGE_HD inline float name(float x) { return ::ffn(x); }     \
  DETFORGE_HD inline double name(double x) { return ::dfn(x); }
DF_MATH1(exp, expf, exp)
DF_MATH1(log, logf, log)
DF_MATH1(log1p, log1pf, log1p)
DF_MATH1(expm1, expm1f, expm1)
DF_MATH1(sqrt, sqrtf, sqrt)
DF_MATH1(tanh, tanhf, tanh)
DF_MATH1(erf, erff, erf)
DF_MATH1(fabs, fabsf, fabs)
DF_MATH1(floor, floorf, floor)
DF_MATH1(ceil, ceilf, ceil)
DF_MATH1(round, nearbyintf, nearbyint)  // half to even, like torch.round
#undef DF_MATH1
DETFORGE_HD inline float pow(float a, float b) { return ::powf(a, b); }
DETFORGE_HD inline double pow(double a, double b) { return ::pow(a, b); }
DETFORGE_HD inline float fmod(float a, float b) { return ::fmodf(a, b); }
DETFORGE_HD inline double fmod(double a, double b) { return ::fmod(a, b); }

template <class T>
DETFORGE_HD inline bool isnan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  return false;
}
// NaN-propagating min/max (torch.minimum/maximum semantics).
template <class T>
DETFORGE_HD inline T max(T a, T b) {
  if (isnan(a)) return a;
  if (isnan(b)) return b;
  return a > b ? a : b;
}
template <class T>
DETFORGE_HD inline T min(T a, T b) {
  if (isnan(a)) return a;
  if (isnan(b)) return b;
  return a < b ? a : b;
}
template <class T>
DETFORGE_HD inline T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

}  // namespace detforge::dmath
