// Unary elementwise ops: out = f(x; a, b). The functors are the single source of the element math
// for the CPU loop (cpu/unary.cpp) and the CUDA kernel (cuda/unary.cu).
#pragma once
#include <type_traits>
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct UnaryParams {
  double a = 0, b = 0;
};

// name, functor. kIntegral: also defined on integer dtypes.
#define DF_UNARY_OPS(X)                                                                          \
  X(neg, NegOp)                                                                                  \
  X(abs, AbsOp) X(sign, SignOp) X(exp, ExpOp) X(log, LogOp) X(sqrt, SqrtOp) X(rsqrt, RsqrtOp)    \
      X(relu, ReluOp) X(relu6, Relu6Op) X(leaky_relu, LeakyReluOp) X(sigmoid, SigmoidOp)         \
          X(tanh, TanhOp) X(silu, SiluOp) X(hardswish, HardswishOp) X(gelu, GeluOp)              \
              X(gelu_tanh, GeluTanhOp) X(clamp, ClampOp) X(pow_scalar, PowScalarOp)              \
                  X(rpow_scalar, RPowScalarOp) X(add_scalar, AddScalarOp)                        \
                      X(mul_scalar, MulScalarOp) X(reciprocal, ReciprocalOp) X(square, SquareOp) \
                          X(log1p, Log1pOp) X(floor, FloorOp) X(ceil, CeilOp) X(round, RoundOp)

enum class UnaryOp {
#define DF_X(name, F) name,
  DF_UNARY_OPS(DF_X)
#undef DF_X
};
const char* unary_op_name(UnaryOp op);

struct NegOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return -x;
  }
};
struct AbsOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? -x : x;
  }
};
struct SignOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    if constexpr (std::is_unsigned_v<T>) return static_cast<T>(x > T(0));
    else return static_cast<T>((T(0) < x) - (x < T(0)));
  }
};
struct ExpOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::exp_full(x);  // libm's expf is a scalar call: 6x slower
  }
};
struct LogOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::log_fast(x);  // libm's logf is a scalar call: 4x slower
  }
};
struct Log1pOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::log1p(x);
  }
};
struct SqrtOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::sqrt(x);
  }
};
struct RsqrtOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return T(1) / dmath::sqrt(x);
  }
};
struct ReluOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::isnan(x) ? x : (x > T(0) ? x : T(0));
  }
};
struct Relu6Op {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    if constexpr (std::is_unsigned_v<T>) return x > T(6) ? T(6) : x;
    else return dmath::isnan(x) ? x : (x < T(0) ? T(0) : (x > T(6) ? T(6) : x));
  }
};
struct LeakyReluOp {
  static constexpr bool kIntegral = false;  // a = negative_slope
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    return x > T(0) ? x : x * static_cast<T>(p.a);
  }
};
struct SigmoidOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::sigmoid_fast(x);
  }
};
struct TanhOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::tanh_fast(x);
  }
};
struct SiluOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return x * dmath::sigmoid_fast(x);
  }
};
struct HardswishOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    T r = x + T(3);
    r = r < T(0) ? T(0) : (r > T(6) ? T(6) : r);
    return x * r / T(6);
  }
};
struct GeluOp {
  static constexpr bool kIntegral = false;  // exact: x * Phi(x)
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return T(0.5) * x * (T(1) + dmath::erf_fast(x * T(0.70710678118654752440)));
  }
};
struct GeluTanhOp {
  static constexpr bool kIntegral = false;  // approximate='tanh'
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    const T k = T(0.79788456080286535588);  // sqrt(2/pi)
    return T(0.5) * x * (T(1) + dmath::tanh_fast(k * (x + T(0.044715) * x * x * x)));
  }
};
struct ClampOp {
  static constexpr bool kIntegral = true;  // a = min, b = max (+-inf when absent)
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    if (dmath::isnan(x)) return x;
    double v = static_cast<double>(x);
    v = v < p.a ? p.a : v;
    v = v > p.b ? p.b : v;
    return static_cast<T>(v);
  }
};
struct PowScalarOp {
  static constexpr bool kIntegral = false;  // x ** a
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    if (p.a == 2.0) return x * x;
    return dmath::pow(x, static_cast<T>(p.a));
  }
};
struct RPowScalarOp {
  static constexpr bool kIntegral = false;  // a ** x
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    return dmath::pow(static_cast<T>(p.a), x);
  }
};
struct AddScalarOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    return x + static_cast<T>(p.a);
  }
};
struct MulScalarOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams& p) const {
    return x * static_cast<T>(p.a);
  }
};
struct ReciprocalOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return T(1) / x;
  }
};
struct SquareOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return x * x;
  }
};
struct FloorOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::floor(x);
  }
};
struct CeilOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::ceil(x);
  }
};
struct RoundOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T x, const UnaryParams&) const {
    return dmath::round(x);
  }
};

// Binds the params so the loops see f(x).
template <class F>
struct BoundUnary {
  F f;
  UnaryParams p;
  template <class T>
  DETFORGE_HD T operator()(T x) const {
    return f(x, p);
  }
};

// out and x: same shape and dtype (any strides). The functional layer promotes and allocates.
using UnaryFn = void (*)(UnaryOp op, const Tensor& out, const Tensor& x, const UnaryParams& p);
DF_DECLARE_DISPATCH(UnaryFn, unary_stub);

}  // namespace detforge::kernels
