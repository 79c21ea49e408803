#include "autograd/linalg.h"

#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "autograd/reduction.h"
#include "kernels/linalg/matmul.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  DF_CHECK(a.defined() && b.defined(), Error, "[", op, "] undefined operand");
  DF_CHECK(a.dtype() == b.dtype(), DTypeError, "[", op,
           "] expected both operands to have the same dtype, got ", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()));
  DF_CHECK(is_floating(a.dtype()), DTypeError, "[", op, "] dtype ", dtype_name(a.dtype()),
           " is not supported (expected a floating type)");
  DF_CHECK(a.device() == b.device(), DeviceError, "[", op,
           "] operands on different devices: ", a.device().str(), " and ", b.device().str());
}

// Graph-free a[..., M, K] @ b[..., K, N] with broadcast batch dims (both at least 2-D).
Tensor raw_matmul(const Tensor& a, const Tensor& b) {
  int64_t da = a.dim(), db = b.dim();
  int64_t M = a.size(da - 2), K = a.size(da - 1), N = b.size(db - 1);
  DF_CHECK(b.size(db - 2) == K, ShapeError, "[matmul] shapes ", shape_str(a.shape()), " and ",
           shape_str(b.shape()), " cannot be multiplied (", K, " != ", b.size(db - 2), ")");
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2), "matmul");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor out = Tensor::empty(so, a.dtype(), a.device());
  kernels::matmul_stub(a.device(), "matmul")(out, raw::expand(a, sa), raw::expand(b, sb));
  return out;
}

Tensor mT(const Tensor& t) {
  return t.transpose(t.dim() - 2, t.dim() - 1);
}

// Differentiable product of two operands of at least 2 dims.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor out = raw_matmul(a, b);
  if (needs_grad({a, b}))
    record("matmul", {a, b}, {out}, [a = a.detach(), b = b.detach()](auto& g, auto& needs) {
      Tensor ga, gb;
      if (needs[0]) ga = sum_to(matmul_nd(g[0], mT(b)), a.shape());
      if (needs[1]) gb = sum_to(matmul_nd(mT(a), g[0]), b.shape());
      return std::vector<Tensor>{ga, gb};
    });
  return out;
}

// 1-D x 1-D: a 0-dim result with its own backward (g * other, g * input). Recorded directly rather
// than as matmul_nd(...).squeeze(): raw::try_view cannot view a 0-dim gradient as [1] (core issue,
// reported), so a squeeze-to-0-dim backward would lose the gradient.
Tensor dot(const Tensor& a, const Tensor& b) {
  Tensor out = raw::squeeze(raw_matmul(raw::unsqueeze(a, 0), raw::unsqueeze(b, 1)), INT64_MIN);
  if (needs_grad({a, b}))
    record("matmul", {a, b}, {out}, [a = a.detach(), b = b.detach()](auto& g, auto& needs) {
      return std::vector<Tensor>{needs[0] ? mul(g[0], b) : Tensor(),
                                 needs[1] ? mul(g[0], a) : Tensor()};
    });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& input, const Tensor& other) {
  check_operands("matmul", input, other);
  int64_t da = input.dim(), db = other.dim();
  DF_CHECK(da > 0 && db > 0, ShapeError, "[matmul] both arguments need at least 1 dimension, got ",
           shape_str(input.shape()), " and ", shape_str(other.shape()));
  int64_t K = input.size(-1), Kb = db == 1 ? other.size(0) : other.size(-2);
  DF_CHECK(K == Kb, ShapeError, "[matmul] shapes ", shape_str(input.shape()), " and ",
           shape_str(other.shape()), " cannot be multiplied (", K, " != ", Kb, ")");
  if (da == 1 && db == 1) return dot(input, other);
  if (da == 1) return matmul_nd(input.unsqueeze(0), other).squeeze(-2);
  if (da >= 3 && db <= 2) {
    // Fold the batch dims of the left operand into its rows: one GEMM instead of a batch of them.
    Shape out_shape(input.shape().begin(), input.shape().end() - 1);
    Tensor b2 = db == 1 ? other.unsqueeze(1) : other;
    if (db == 2) out_shape.push_back(other.size(1));
    return matmul_nd(input.reshape({-1, K}), b2).reshape(out_shape);
  }
  if (db == 1) return matmul_nd(input, other.unsqueeze(1)).squeeze(-1);
  return matmul_nd(input, other);
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  DF_CHECK(weight.defined() && weight.dim() == 2, ShapeError,
           "[linear] weight must be 2-D [out, in], got ",
           weight.defined() ? shape_str(weight.shape()) : "undefined");
  DF_CHECK(input.dim() >= 1 && input.size(-1) == weight.size(1), ShapeError, "[linear] input ",
           shape_str(input.shape()), " does not match weight ", shape_str(weight.shape()),
           " (in features ", weight.size(1), ")");
  if (bias.defined()) {
    DF_CHECK(bias.numel() == weight.size(0) && bias.dim() <= 1, ShapeError, "[linear] bias ",
             shape_str(bias.shape()), " does not match weight ", shape_str(weight.shape()));
    DF_CHECK(bias.dtype() == input.dtype(), DTypeError, "[linear] bias dtype ",
             dtype_name(bias.dtype()), " differs from input dtype ", dtype_name(input.dtype()));
  }
  Tensor out = matmul(input, weight.t());
  return bias.defined() ? add(out, bias) : out;
}

}  // namespace detforge
