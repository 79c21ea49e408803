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

// exp whose host body is branch-free arithmetic (no libm call), so `omp simd` loops over it
// vectorise: x = n ln2 + r (Cody-Waite), degree-6 polynomial for e^r (Cephes expf constants),
// 2^n from the exponent bits. Max error ~2 ulp; underflows to 0 below -87.3 (no denormals),
// overflows to inf above 88.7, NaN propagates. Device: the CUDA expf.
DETFORGE_HD inline float exp_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::expf(x);
#else
  float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  float n = ::floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  union {
    int32_t i;
    float f;
  } scale;
  scale.i = (static_cast<int32_t>(n) + 127) << 23;
  y *= scale.f;
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.7f ? __builtin_inff() : y;
  return x != x ? x : y;
#endif
}
DETFORGE_HD inline double exp_fast(double x) {
  return exp(x);
}
// erf as a rational function that vectorises (no libm call): erf(x) ~ x P(x^2) / Q(x^2) on
// [-4, 4], clamped outside (|erf| rounds to 1 in float there). Max abs error 4.2e-7 over [-6, 6]
// (measured against std::erf), i.e. a few ulp near 1; relative 4.2e-7 near 0. Device: erff.
DETFORGE_HD inline float erf_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::erff(x);
#else
  float xc = x < -4.f ? -4.f : (x > 4.f ? 4.f : x);
  float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  float y = xc * p / q;
  return x != x ? x : y;
#endif
}
DETFORGE_HD inline double erf_fast(double x) { return erf(x); }

template <class T>
DETFORGE_HD inline T sigmoid_fast(T x) {
  return T(1) / (T(1) + exp_fast(-x));
}

}  // namespace detforge::dmath
