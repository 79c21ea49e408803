// Float/double math that compiles for host and device (one name, both precisions).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/half.h"  // float_bits / bits_float
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
// vectorise: x = n ln2 + r (Cody-Waite, n rounded by the 1.5 * 2^23 shifter inside one FMA), e^r by
// a degree-5 polynomial with the relative-error minimax coefficients of scripts/fit_fast_math.py,
// in Horner form (five FMAs; the Cephes degree-7 polynomial used before cost nine FMA-pipe
// instructions for accuracy a float cannot keep). Max relative error 1.6e-7 (~3 ulp) over normal
// results. Two ways to apply 2^n:
// - exp_fast, inside composite kernels (sigmoid, softmax, tanh, losses): one scale built in the
//   exponent bits. Range cut short at both ends, without selects: x <= -88 gives n = -127, whose
//   2^n bits are +0, so the result is 0 (denormal results only for -87.7 < x < -87.34, where
//   expf has them down to -103.9); x >= 88.38 gives n = 128, 2^n = inf (expf overflows at 88.72).
// - exp_full, the exp op: 2^h * 2^(n-h), h = n >> 1, both factors normal for n in [-150, 128],
//   so results stay finite up to FLT_MAX and small ones round once into denormals, as expf's
//   do; ~0.1 ns per element more.
// NaN goes through the clamps and the arithmetic. The integer work is unsigned (NaN payload bits
// must not overflow a signed int). Device: the CUDA expf. Force-inlined (DETFORGE_HD_INLINE): GCC
// had outlined exp_fast in the serial (single-chunk) copy of the sigmoid / silu loops, which then
// ran scalar on every tensor under 32K elements.
DETFORGE_HD_INLINE float exp_reduced(float xc, uint32_t& tbits) {  // e^r; tbits hold n + shifter
  const float shifter = 12582912.0f;  // 1.5 * 2^23: t's low mantissa bits hold round(x / ln2)
  float t = xc * 1.44269504088896341f + shifter;
  float n = t - shifter;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 8.290273137e-03f * r + 4.189816117e-02f;
  p = p * r + 1.666763872e-01f;
  p = p * r + 4.999914765e-01f;
  p = p * r + 9.999997020e-01f;
  tbits = float_bits(t);
  return p * r + 1.0f;
}
DETFORGE_HD_INLINE float exp_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::expf(x);
#else
  float xc = x < -88.0f ? -88.0f : x;  // (not fmaxf: NaN must pass)
  xc = xc > 88.73f ? 88.73f : xc;
  uint32_t tb;
  const float y = exp_reduced(xc, tb);
  return y * bits_float((tb << 23) + (127u << 23));
#endif
}
DETFORGE_HD_INLINE float exp_full(float x) {
#ifdef __CUDA_ARCH__
  return ::expf(x);
#else
  float xc = x < -104.0f ? -104.0f : x;  // e^-104 rounds to 0
  xc = xc > 88.73f ? 88.73f : xc;
  uint32_t tb;
  const float y = exp_reduced(xc, tb);
  const uint32_t n = tb - 0x4b400000u;  // n in two's complement: t's bits minus the shifter's
  const uint32_t h = static_cast<uint32_t>(static_cast<int32_t>(n) >> 1);
  return y * bits_float((h + 127u) << 23) * bits_float((n - h + 127u) << 23);
#endif
}
DETFORGE_HD inline double exp_fast(double x) {
  return exp(x);
}
DETFORGE_HD inline double exp_full(double x) { return exp(x); }
// erf as a rational function that vectorises (no libm call): erf(x) ~ x P(x^2) / Q(x^2) on
// [-4, 4], clamped outside (|erf| rounds to 1 in float there); P and Q in Estrin form (shorter
// dependency chains than Horner). Max abs error 3.3e-7 over [-7, 7] (measured against std::erf in
// double), i.e. a few ulp near 1. NaN propagates. Device: erff.
DETFORGE_HD_INLINE float erf_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::erff(x);
#else
  float xc = x < -4.f ? -4.f : (x > 4.f ? 4.f : x);
  float z = xc * xc, z2 = z * z, z4 = z2 * z2;
  float p01 = -2.95459980854025e-03f * z + -1.60960333262415e-02f;
  float p23 = -5.69250639462346e-05f * z + -7.34990630326855e-04f;
  float p45 = 2.77068142495902e-08f * z + -2.10102402082508e-06f;
  float p = (-2.72614225801306e-10f * z2 + p45) * z4 + (p23 * z2 + p01);
  float q01 = -7.37332916720468e-03f * z + -1.42647390514189e-02f;
  float q23 = -2.13374055278905e-04f * z + -1.68282697438203e-03f;
  float q = -1.45660718464996e-05f * z4 + (q23 * z2 + q01);
  return xc * (p / q);  // not (xc * p) / q: a tiny xc would lose bits to underflow first
#endif
}
DETFORGE_HD inline double erf_fast(double x) { return erf(x); }

// tanh whose host body vectorises (glibc's tanhf is a scalar call, ~16 ns per element here):
// on a = |x|, a + a^3 P(a^2) below 0.55 (relative-error minimax fit, 3.8e-8, by
// scripts/fit_fast_math.py) and 1 - 2 / (e^(2a) + 1) from 0.55 up (no cancellation there: the
// subtrahend is under 1/2), both computed and one selected, then x's sign (so -0 and NaN keep
// theirs). Max relative error 2.5e-7 (tests/kernels/math_fast_test.cpp). Device: tanhf.
DETFORGE_HD_INLINE float tanh_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::tanhf(x);
#else
  const float a = std::fabs(x);  // no clamp: e^(2a) = inf above 44 gives 1 - 2 / inf = 1
  float a2 = a * a;
  float p = 1.643756591e-02f * a2 + -5.267180502e-02f;
  p = p * a2 + 1.332072467e-01f;
  p = p * a2 + -3.333294690e-01f;
  float small = a + a * a2 * p;
  float large = 1.0f - 2.0f / (exp_fast(2.0f * a) + 1.0f);
  return std::copysign(a < 0.55f ? small : large, x);
#endif
}
DETFORGE_HD inline double tanh_fast(double x) { return tanh(x); }

// log whose host body vectorises (glibc's logf is a scalar call, ~2.8 ns per element here):
// x = 2^e m with m in [sqrt(1/2), sqrt(2)) taken from the bits (denormals scaled by 2^23 first),
// log m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^9 (the next
// term is 2e-9 relative), plus e ln2 in two parts (Cody-Waite, as in exp_fast). m - 1 is exact,
// so log(x) near 1 keeps its relative precision. Max relative error 1.8e-7 (tests/kernels/
// math_fast_test.cpp). log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN passes. Device: logf.
DETFORGE_HD_INLINE float log_fast(float x) {
#ifdef __CUDA_ARCH__
  return ::logf(x);
#else
  const bool tiny = x < 1.17549435e-38f;  // denormal, zero or negative: the last two set below
  const uint32_t k = float_bits(tiny ? x * 8388608.0f : x) - 0x3f3504f3u;  // sqrt(1/2)'s bits:
  // m's exponent field starts there; unsigned, as negative inputs' bits must not overflow
  const float e = static_cast<float>((static_cast<int32_t>(k) >> 23) - (tiny ? 23 : 0));
  const float f = bits_float((k & 0x7fffffu) + 0x3f3504f3u) - 1.0f;
  const float s = f / (f + 2.0f), s2 = s * s;
  float q = 0.222222222f * s2 + 0.285714286f;  // 2/9, 2/7, 2/5, 2/3
  q = q * s2 + 0.4f;
  q = q * s2 + 0.666666667f;
  const float lm = 2.0f * s + s * s2 * q;
  const float r = e * 0.693359375f + (e * -2.12194440e-4f + lm);
  const float inf = __builtin_huge_valf();
  const float special = x == 0.0f ? -inf : (x < 0.0f ? __builtin_nanf("") : x);  // inf, NaN: x
  return x > 0.0f && x < inf ? r : special;
#endif
}
DETFORGE_HD inline double log_fast(double x) { return log(x); }

template <class T>
DETFORGE_HD_INLINE T sigmoid_fast(T x) {
  return T(1) / (T(1) + exp_fast(-x));
}

}  // namespace detforge::dmath
