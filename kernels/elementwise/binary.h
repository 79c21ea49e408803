// Binary elementwise ops out = f(a, b; alpha) on operands already broadcast to out's shape and
// converted to out's dtype, plus comparisons (bool out) and where. Also the fused backward
// formulas of the activations (grad, saved) -> grad_input, so a backward is one pass.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct BinaryParams {
  double alpha = 1, beta = 0;
};

#define DF_BINARY_OPS(X)                                                                         \
  X(add, AddOp)                                                                                  \
  X(sub, SubOp)                                                                                  \
  X(mul, MulOp) X(div, DivOp) X(div_trunc, DivTruncOp) X(div_floor, DivFloorOp) X(pow, PowOp)    \
      X(minimum, MinimumOp) X(maximum, MaximumOp) X(relu_backward, ReluBackwardOp)               \
          X(relu6_backward, Relu6BackwardOp) X(leaky_relu_backward, LeakyReluBackwardOp)         \
              X(sigmoid_backward, SigmoidBackwardOp) X(tanh_backward, TanhBackwardOp)            \
                  X(silu_backward, SiluBackwardOp) X(hardswish_backward, HardswishBackwardOp)    \
                      X(gelu_backward, GeluBackwardOp) X(gelu_tanh_backward, GeluTanhBackwardOp) \
                          X(clamp_backward, ClampBackwardOp)

enum class BinaryOp {
#define DF_X(name, F) name,
  DF_BINARY_OPS(DF_X)
#undef DF_X
};
const char* binary_op_name(BinaryOp op);

struct AddOp {
  static constexpr bool kIntegral = true;  // a + alpha * b
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams& p) const {
    return p.alpha == 1 ? a + b : a + static_cast<T>(p.alpha) * b;
  }
};
struct SubOp {
  static constexpr bool kIntegral = true;  // a - alpha * b
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams& p) const {
    return p.alpha == 1 ? a - b : a - static_cast<T>(p.alpha) * b;
  }
};
struct MulOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    return a * b;
  }
};
struct DivOp {
  static constexpr bool kIntegral = false;  // true division (the functional layer promotes ints)
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    return a / b;
  }
};
// rounding_mode='trunc': integer division rounds toward zero (b == 0 is the caller's problem for
// ints).
struct DivTruncOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    if constexpr (std::is_integral_v<T>) {
      return a / b;
    } else {
      T q = a / b;
      return q < T(0) ? dmath::ceil(q) : dmath::floor(q);
    }
  }
};
// rounding_mode='floor': Python's floor division. For floats the quotient is rebuilt from fmod so
// that a == b * q + r holds as in Python (not simply floor(a / b)).
struct DivFloorOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    if constexpr (std::is_integral_v<T>) {
      T q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      if (b == T(0)) return a / b;
      T r = dmath::fmod(a, b);
      T d = (a - r) / b;
      if (r != T(0) && ((b < T(0)) != (r < T(0)))) d -= T(1);
      T f = dmath::floor(d);
      if (d - f > T(0.5)) f += T(1);
      return f;
    }
  }
};
struct PowOp {
  static constexpr bool kIntegral = false;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    return dmath::pow(a, b);
  }
};
struct MinimumOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    return dmath::min(a, b);
  }
};
struct MaximumOp {
  static constexpr bool kIntegral = true;
  template <class T>
  DETFORGE_HD T operator()(T a, T b, const BinaryParams&) const {
    return dmath::max(a, b);
  }
};

// ---- activation backward: (grad, x or y) -> grad_input ----
struct ReluBackwardOp {
  static constexpr bool kIntegral = false;  // b = relu output
  template <class T>
  DETFORGE_HD T operator()(T g, T y, const BinaryParams&) const {
    return y > T(0) ? g : T(0);
  }
};
struct Relu6BackwardOp {
  static constexpr bool kIntegral = false;  // b = input
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams&) const {
    return (x > T(0) && x < T(6)) ? g : T(0);
  }
};
struct LeakyReluBackwardOp {
  static constexpr bool kIntegral = false;  // b = input, alpha = slope
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams& p) const {
    return x > T(0) ? g : g * static_cast<T>(p.alpha);
  }
};
struct SigmoidBackwardOp {
  static constexpr bool kIntegral = false;  // b = output
  template <class T>
  DETFORGE_HD T operator()(T g, T y, const BinaryParams&) const {
    return g * y * (T(1) - y);
  }
};
struct TanhBackwardOp {
  static constexpr bool kIntegral = false;  // b = output
  template <class T>
  DETFORGE_HD T operator()(T g, T y, const BinaryParams&) const {
    return g * (T(1) - y * y);
  }
};
struct SiluBackwardOp {
  static constexpr bool kIntegral = false;  // b = input
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams&) const {
    T s = dmath::sigmoid_fast(x);
    return g * s * (T(1) + x * (T(1) - s));
  }
};
struct HardswishBackwardOp {
  static constexpr bool kIntegral = false;  // b = input (PyTorch's piecewise rule)
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams&) const {
    if (x < T(-3)) return T(0);
    if (x <= T(3)) return g * (x / T(3) + T(0.5));
    return g;
  }
};
struct GeluBackwardOp {
  static constexpr bool kIntegral = false;  // b = input
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams&) const {
    T cdf = T(0.5) * (T(1) + dmath::erf_fast(x * T(0.70710678118654752440)));
    T pdf = dmath::exp_fast(T(-0.5) * x * x) * T(0.39894228040143267794);
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhBackwardOp {
  static constexpr bool kIntegral = false;  // b = input
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams&) const {
    const T k = T(0.79788456080286535588), c = T(0.044715);
    T inner = k * (x + c * x * x * x);
    T t = dmath::tanh_fast(inner);
    T dinner = k * (T(1) + T(3) * c * x * x);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner);
  }
};
struct ClampBackwardOp {
  static constexpr bool kIntegral = false;  // b = input, alpha = min, beta = max
  template <class T>
  DETFORGE_HD T operator()(T g, T x, const BinaryParams& p) const {
    double v = static_cast<double>(x);
    return (v >= p.alpha && v <= p.beta) ? g : T(0);
  }
};

template <class F>
struct BoundBinary {
  F f;
  BinaryParams p;
  template <class T>
  DETFORGE_HD T operator()(T a, T b) const {
    return f(a, b, p);
  }
};

using BinaryFn = void (*)(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
                          const BinaryParams& p);
DF_DECLARE_DISPATCH(BinaryFn, binary_stub);

// ---- comparisons: bool out, a and b of one dtype ----
#define DF_COMPARE_OPS(X) X(eq, ==) X(ne, !=) X(lt, <) X(le, <=) X(gt, >) X(ge, >=)
enum class CompareOp {
#define DF_X(name, sym) name,
  DF_COMPARE_OPS(DF_X)
#undef DF_X
};
template <CompareOp Op>
struct CompareFunctor {
  template <class T>
  DETFORGE_HD bool operator()(T a, T b) const {
#define DF_X(name, sym) \
  if constexpr (Op == CompareOp::name) return a sym b;
    DF_COMPARE_OPS(DF_X)
#undef DF_X
    return false;
  }
};
using CompareFn = void (*)(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);
DF_DECLARE_DISPATCH(CompareFn, compare_stub);

// ---- where: out = cond ? a : b (cond bool; a, b, out of one dtype) ----
struct WhereFunctor {
  template <class T>
  DETFORGE_HD T operator()(bool c, T a, T b) const {
    return c ? a : b;
  }
};
using WhereFn = void (*)(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
DF_DECLARE_DISPATCH(WhereFn, where_stub);

}  // namespace detforge::kernels
