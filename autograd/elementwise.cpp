#include "autograd/elementwise.h"

#include <limits>

#include "autograd/function.h"
#include "autograd/reduction.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#include "tensor/view_ops.h"

namespace detforge {
using kernels::BinaryOp;
using kernels::BinaryParams;
using kernels::UnaryOp;
using kernels::UnaryParams;

namespace {
int category(DType t) {
  return t == DType::b8 ? 0 : (is_floating(t) ? 2 : 1);
}

// The device the op runs on: a 0-dim CPU operand may join a CUDA one (moved over).
Device common_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() == b.device()) return a.device();
  if (a.dim() == 0 && a.device().is_cpu()) return b.device();
  if (b.dim() == 0 && b.device().is_cpu()) return a.device();
  throw DeviceError(str_cat("[", op, "] operands on different devices: ", a.device().str(), " and ",
                            b.device().str()));
}

Tensor prep(const Tensor& t, Device dev, DType dt, const Shape& shape) {
  return raw::expand(raw::to(t, dev, dt), shape);
}

Tensor raw_binary(BinaryOp op, const Tensor& a, const Tensor& b, DType dt, BinaryParams p = {}) {
  const char* name = kernels::binary_op_name(op);
  Device dev = common_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, dt, dev);
  kernels::binary_stub(dev, name)(op, out, prep(a, dev, dt, shape), prep(b, dev, dt, shape), p);
  return out;
}

Tensor raw_unary(UnaryOp op, const Tensor& x, DType dt, UnaryParams p = {}) {
  Tensor out = Tensor::empty(x.shape(), dt, x.device());
  kernels::unary_stub(x.device(), kernels::unary_op_name(op))(op, out, raw::to(x, x.device(), dt),
                                                              p);
  return out;
}

DType float_type(DType t) {
  return is_floating(t) ? t : DType::f32;
}
Tensor undef() {
  return Tensor();
}
}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  bool za = a.dim() == 0, zb = b.dim() == 0;
  if (za == zb) return promote_types(a.dtype(), b.dtype());
  const Tensor& dimmed = za ? b : a;
  const Tensor& zero = za ? a : b;
  if (category(zero.dtype()) > category(dimmed.dtype()))
    return promote_types(dimmed.dtype(), zero.dtype());
  return dimmed.dtype();
}

// ---- binary ----
Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  DType dt = result_type(a, b);
  Tensor out = raw_binary(BinaryOp::add, a, b, dt, {alpha, 0});
  if (needs_grad({a, b}))
    record("add", {a, b}, {out}, [sa = a.shape(), sb = b.shape(), alpha](auto& g, auto& needs) {
      return std::vector<Tensor>{
          needs[0] ? sum_to(g[0], sa) : undef(),
          needs[1] ? sum_to(alpha == 1 ? g[0] : mul(g[0], alpha), sb) : undef()};
    });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  DType dt = result_type(a, b);
  DF_CHECK(dt != DType::b8, DTypeError, "[sub] subtraction of bool tensors is not supported");
  Tensor out = raw_binary(BinaryOp::sub, a, b, dt, {alpha, 0});
  if (needs_grad({a, b}))
    record("sub", {a, b}, {out}, [sa = a.shape(), sb = b.shape(), alpha](auto& g, auto& needs) {
      return std::vector<Tensor>{needs[0] ? sum_to(g[0], sa) : undef(),
                                 needs[1] ? sum_to(mul(g[0], -alpha), sb) : undef()};
    });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = raw_binary(BinaryOp::mul, a, b, result_type(a, b));
  if (needs_grad({a, b}))
    record("mul", {a, b}, {out}, [a = a.detach(), b = b.detach()](auto& g, auto& needs) {
      return std::vector<Tensor>{needs[0] ? sum_to(mul(g[0], b), a.shape()) : undef(),
                                 needs[1] ? sum_to(mul(g[0], a), b.shape()) : undef()};
    });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = raw_binary(BinaryOp::div, a, b, float_type(result_type(a, b)));
  if (needs_grad({a, b}))
    record("div", {a, b}, {out}, [a = a.detach(), b = b.detach()](auto& g, auto& needs) {
      Tensor ga, gb;
      if (needs[0]) ga = sum_to(div(g[0], b), a.shape());
      if (needs[1]) gb = sum_to(neg(div(mul(g[0], a), mul(b, b))), b.shape());
      return std::vector<Tensor>{ga, gb};
    });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  if (rounding_mode == "none" || rounding_mode.empty()) return div(a, b);
  DF_CHECK(rounding_mode == "trunc" || rounding_mode == "floor", ConfigError,
           "[div] rounding_mode must be 'none', 'trunc' or 'floor', got '", rounding_mode, "'");
  DType dt = result_type(a, b);
  DF_CHECK(dt != DType::b8, DTypeError, "[div] rounding division of bool tensors is not supported");
  Tensor out =
      raw_binary(rounding_mode == "trunc" ? BinaryOp::div_trunc : BinaryOp::div_floor, a, b, dt);
  if (needs_grad({a, b}) && is_floating(dt))  // piecewise constant: zero gradient, as PyTorch
    record("div", {a, b}, {out}, [sa = a.shape(), sb = b.shape(), dt](auto& g, auto& needs) {
      return std::vector<Tensor>{
          needs[0] ? Tensor::zeros(sa, g[0].dtype(), g[0].device()) : undef(),
          needs[1] ? Tensor::zeros(sb, g[0].dtype(), g[0].device()) : undef()};
    });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = raw_binary(BinaryOp::pow, a, b, float_type(result_type(a, b)));
  if (needs_grad({a, b}))
    record("pow", {a, b}, {out},
           [a = a.detach(), b = b.detach(), o = out.detach()](auto& g, auto& needs) {
             Tensor ga, gb;
             if (needs[0]) ga = sum_to(mul(g[0], mul(b, pow(a, sub(b, 1.0)))), a.shape());
             // d/db a^b = a^b log a; PyTorch masks a == 0 to 0 there.
             if (needs[1]) {
               Tensor la = where(eq(a, Tensor::scalar(0, a.dtype(), a.device())),
                                 Tensor::scalar(0, a.dtype(), a.device()), log(a));
               gb = sum_to(mul(g[0], mul(o, la)), b.shape());
             }
             return std::vector<Tensor>{ga, gb};
           });
  return out;
}

namespace {
// minimum/maximum: the gradient goes to the selected operand, split evenly on ties (PyTorch).
Tensor min_max(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = raw_binary(op, a, b, result_type(a, b));
  if (needs_grad({a, b}))
    record(name, {a, b}, {out}, [a = a.detach(), b = b.detach(), op](auto& g, auto& needs) {
      Tensor wa = op == BinaryOp::maximum ? gt(a, b) : lt(a, b);
      Tensor tie = eq(a, b);
      Tensor fa = add(wa.to(g[0].dtype()), mul(tie.to(g[0].dtype()), 0.5));
      Tensor ga, gb;
      if (needs[0]) ga = sum_to(mul(g[0], fa), a.shape());
      if (needs[1])
        gb = sum_to(mul(g[0], sub(Tensor::scalar(1, fa.dtype(), fa.device()), fa)), b.shape());
      return std::vector<Tensor>{ga, gb};
    });
  return out;
}
}  // namespace
Tensor minimum(const Tensor& a, const Tensor& b) {
  return min_max(BinaryOp::minimum, "minimum", a, b);
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  return min_max(BinaryOp::maximum, "maximum", a, b);
}

// ---- scalar forms: one pass, no scalar tensor ----
namespace {
Tensor scalar_affine(const char* name, const Tensor& x, double mul_by, double add_val) {
  DType dt = x.dtype();
  bool integral_scalar = mul_by == static_cast<double>(static_cast<int64_t>(mul_by)) &&
                         add_val == static_cast<double>(static_cast<int64_t>(add_val));
  if (!is_floating(dt) && !integral_scalar) dt = DType::f32;  // int tensor * 0.5 -> float
  if (dt == DType::b8) dt = DType::i64;
  Tensor out = mul_by == 1.0 ? raw_unary(UnaryOp::add_scalar, x, dt, {add_val, 0})
                             : raw_unary(UnaryOp::mul_scalar, x, dt, {mul_by, 0});
  if (mul_by != 1.0 && add_val != 0.0) out = raw_unary(UnaryOp::add_scalar, out, dt, {add_val, 0});
  if (needs_grad({x}))
    record(name, {x}, {out}, [mul_by](auto& g, auto&) {
      return std::vector<Tensor>{mul_by == 1.0 ? g[0] : mul(g[0], mul_by)};
    });
  return out;
}
}  // namespace
Tensor add(const Tensor& a, double b) {
  return scalar_affine("add", a, 1.0, b);
}
Tensor sub(const Tensor& a, double b) {
  return scalar_affine("sub", a, 1.0, -b);
}
Tensor mul(const Tensor& a, double b) {
  return scalar_affine("mul", a, b, 0.0);
}
Tensor div(const Tensor& a, double b) {
  Tensor x = is_floating(a.dtype()) ? a : a.to(DType::f32);
  return scalar_affine("div", x, 1.0 / b, 0.0);
}

Tensor pow(const Tensor& a, double e) {
  DType dt = float_type(a.dtype());
  Tensor out = raw_unary(UnaryOp::pow_scalar, a, dt, {e, 0});
  if (needs_grad({a}))
    record("pow", {a}, {out}, [a = a.detach(), e](auto& g, auto&) {
      if (e == 0.0) return std::vector<Tensor>{mul(g[0], 0.0)};
      return std::vector<Tensor>{mul(g[0], mul(pow(a, e - 1.0), e))};
    });
  return out;
}

Tensor pow(double base, const Tensor& x) {
  DType dt = float_type(x.dtype());
  Tensor out = raw_unary(UnaryOp::rpow_scalar, x, dt, {base, 0});
  if (needs_grad({x}))
    record("pow", {x}, {out}, [o = out.detach(), base](auto& g, auto&) {
      return std::vector<Tensor>{mul(g[0], mul(o, std::log(base)))};
    });
  return out;
}

// ---- unary ----
namespace {
// An activation whose backward is one fused binary kernel on (grad, saved).
Tensor activation(const char* name, UnaryOp fwd, BinaryOp bwd, const Tensor& x, bool save_output,
                  UnaryParams up = {}, BinaryParams bp = {}) {
  DType dt = float_type(x.dtype());
  Tensor out = raw_unary(fwd, x, dt, up);
  if (needs_grad({x})) {
    Tensor saved = save_output ? out.detach() : x.detach();
    record(name, {x}, {out}, [saved, bwd, bp](auto& g, auto&) {
      return std::vector<Tensor>{raw_binary(bwd, g[0], saved, g[0].dtype(), bp)};
    });
  }
  return out;
}

Tensor unary_with(const char* name, UnaryOp op, const Tensor& x, bool keep_int,
                  std::function<Tensor(const Tensor& g, const Tensor& x, const Tensor& y)> bwd) {
  DType dt = keep_int ? x.dtype() : float_type(x.dtype());
  Tensor out = raw_unary(op, x, dt);
  if (needs_grad({x}))
    record(name, {x}, {out}, [x = x.detach(), y = out.detach(), bwd](auto& g, auto&) {
      return std::vector<Tensor>{bwd(g[0], x, y)};
    });
  return out;
}
}  // namespace

Tensor neg(const Tensor& x) {
  DF_CHECK(x.dtype() != DType::b8, DTypeError, "[neg] negation of a bool tensor is not supported");
  return unary_with("neg", UnaryOp::neg, x, true, [](auto& g, auto&, auto&) { return neg(g); });
}
Tensor abs(const Tensor& x) {
  return unary_with("abs", UnaryOp::abs, x, true,
                    [](auto& g, auto& x, auto&) { return mul(g, sign(x)); });
}
Tensor sign(const Tensor& x) {
  return unary_with("sign", UnaryOp::sign, x, true,
                    [](auto& g, auto&, auto&) { return mul(g, 0.0); });
}
Tensor exp(const Tensor& x) {
  return unary_with("exp", UnaryOp::exp, x, false,
                    [](auto& g, auto&, auto& y) { return mul(g, y); });
}
Tensor log(const Tensor& x) {
  return unary_with("log", UnaryOp::log, x, false,
                    [](auto& g, auto& x, auto&) { return div(g, x); });
}
Tensor sqrt(const Tensor& x) {
  return unary_with("sqrt", UnaryOp::sqrt, x, false,
                    [](auto& g, auto&, auto& y) { return div(g, mul(y, 2.0)); });
}
Tensor rsqrt(const Tensor& x) {
  return unary_with("rsqrt", UnaryOp::rsqrt, x, false,
                    [](auto& g, auto&, auto& y) { return mul(g, mul(mul(y, mul(y, y)), -0.5)); });
}
Tensor square(const Tensor& x) {
  return unary_with("square", UnaryOp::square, x, true,
                    [](auto& g, auto& x, auto&) { return mul(g, mul(x, 2.0)); });
}
Tensor reciprocal(const Tensor& x) {
  return unary_with("reciprocal", UnaryOp::reciprocal, x, false,
                    [](auto& g, auto&, auto& y) { return neg(mul(g, mul(y, y))); });
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  DF_CHECK(min || max, Error, "[clamp] at least one of min and max must be given");
  double lo = min.value_or(-std::numeric_limits<double>::infinity());
  double hi = max.value_or(std::numeric_limits<double>::infinity());
  Tensor out = raw_unary(UnaryOp::clamp, x, x.dtype(), {lo, hi});
  if (needs_grad({x}))
    record("clamp", {x}, {out}, [x = x.detach(), lo, hi](auto& g, auto&) {
      return std::vector<Tensor>{
          raw_binary(BinaryOp::clamp_backward, g[0], x, g[0].dtype(), {lo, hi})};
    });
  return out;
}

Tensor relu(const Tensor& x) {
  return activation("relu", UnaryOp::relu, BinaryOp::relu_backward, x, true);
}
Tensor relu6(const Tensor& x) {
  return activation("relu6", UnaryOp::relu6, BinaryOp::relu6_backward, x, false);
}
Tensor leaky_relu(const Tensor& x, double slope) {
  return activation("leaky_relu", UnaryOp::leaky_relu, BinaryOp::leaky_relu_backward, x, false,
                    {slope, 0}, {slope, 0});
}
Tensor sigmoid(const Tensor& x) {
  return activation("sigmoid", UnaryOp::sigmoid, BinaryOp::sigmoid_backward, x, true);
}
Tensor tanh(const Tensor& x) {
  return activation("tanh", UnaryOp::tanh, BinaryOp::tanh_backward, x, true);
}
Tensor silu(const Tensor& x) {
  return activation("silu", UnaryOp::silu, BinaryOp::silu_backward, x, false);
}
Tensor hardswish(const Tensor& x) {
  return activation("hardswish", UnaryOp::hardswish, BinaryOp::hardswish_backward, x, false);
}
Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "none")
    return activation("gelu", UnaryOp::gelu, BinaryOp::gelu_backward, x, false);
  DF_CHECK(approximate == "tanh", ConfigError, "[gelu] approximate must be 'none' or 'tanh', got '",
           approximate, "'");
  return activation("gelu", UnaryOp::gelu_tanh, BinaryOp::gelu_tanh_backward, x, false);
}

// ---- where and comparisons ----
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  DF_CHECK(cond.dtype() == DType::b8, DTypeError, "[where] condition must be bool, got ",
           dtype_name(cond.dtype()));
  DType dt = result_type(a, b);
  Device dev = common_device("where", a, b);
  Shape shape =
      broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), "where"), cond.shape(), "where");
  Tensor out = Tensor::empty(shape, dt, dev);
  kernels::where_stub(dev, "where")(out, prep(cond, dev, DType::b8, shape), prep(a, dev, dt, shape),
                                    prep(b, dev, dt, shape));
  if (needs_grad({a, b}))
    record("where", {a, b}, {out},
           [c = cond.detach(), sa = a.shape(), sb = b.shape()](auto& g, auto& needs) {
             Tensor z = Tensor::scalar(0, g[0].dtype(), g[0].device());
             return std::vector<Tensor>{needs[0] ? sum_to(where(c, g[0], z), sa) : undef(),
                                        needs[1] ? sum_to(where(c, z, g[0]), sb) : undef()};
           });
  return out;
}

namespace {
Tensor compare(kernels::CompareOp op, const char* name, const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  Device dev = common_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, DType::b8, dev);
  kernels::compare_stub(dev, name)(op, out, prep(a, dev, dt, shape), prep(b, dev, dt, shape));
  return out;
}
}  // namespace
Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::eq, "eq", a, b);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::ne, "ne", a, b);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::lt, "lt", a, b);
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::le, "le", a, b);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::gt, "gt", a, b);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(kernels::CompareOp::ge, "ge", a, b);
}

}  // namespace detforge
