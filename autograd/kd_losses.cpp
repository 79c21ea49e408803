// Knowledge-distillation losses: validation here, fused kernels in kernels/kd/.
#include "autograd/kd_losses.h"

#include "autograd/function.h"
#include "kernels/kd/kd_soft_ce.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

// Checks floating dtypes, equal shapes and devices; returns detached contiguous copies in the
// promoted dtype.
std::pair<Tensor, Tensor> prepare(const char* op, const char* sname, const char* tname,
                                  const Tensor& s, const Tensor& t) {
  DF_CHECK(is_floating(s.dtype()) && is_floating(t.dtype()), DTypeError, "[", op,
           "] needs floating ", sname, " and ", tname, ", got ", dtype_name(s.dtype()), " and ",
           dtype_name(t.dtype()));
  DF_CHECK(s.shape() == t.shape(), ShapeError, "[", op, "] ", tname, " of shape ",
           shape_str(t.shape()), " must have the shape of ", sname, " ", shape_str(s.shape()));
  DF_CHECK(t.device() == s.device(), DeviceError, "[", op, "] ", tname, " is on ", t.device().str(),
           " but ", sname, " is on ", s.device().str());
  DType dt = promote_types(s.dtype(), t.dtype());
  return {raw::contiguous(raw::detach(raw::to(s, s.device(), dt))),
          raw::contiguous(raw::detach(raw::to(t, s.device(), dt)))};
}

}  // namespace

Tensor kd_soft_ce(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const char* op = "kd_soft_ce";
  DF_CHECK(student_logits.dim() == 2, ShapeError,
           "[kd_soft_ce] student_logits must be [N, C], got ", shape_str(student_logits.shape()));
  DF_CHECK(temperature > 0, ConfigError, "[kd_soft_ce] temperature must be > 0, got ", temperature);
  auto [s, t] = prepare(op, "student_logits", "teacher_logits", student_logits, teacher_logits);
  kernels::KdSoftCeParams p;
  p.temperature = temperature;
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  kernels::kd_soft_ce_forward_stub(s.device(), op)(p, out, s, t);
  if (needs_grad({student_logits})) {
    record(op, {student_logits}, {out}, [p, s, t, ds = student_logits.dtype()](auto& g, auto&) {
      Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
      Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
      if (s.numel() == 0)
        gs = Tensor::zeros(s.shape(), s.dtype(), s.device());
      else
        kernels::kd_soft_ce_backward_stub(s.device(), "kd_soft_ce")(p, gs, go, s, t);
      if (gs.dtype() != ds) gs = gs.to(ds);
      return std::vector<Tensor>{gs};
    });
  }
  return out;
}

}  // namespace detforge
