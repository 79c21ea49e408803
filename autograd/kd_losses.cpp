// Knowledge-distillation losses: validation here, fused kernels in kernels/kd/.
#include "autograd/kd_losses.h"

#include "autograd/function.h"
#include "kernels/kd/kd_att_norm_dist.h"
#include "kernels/kd/kd_bkd_nsr.h"
#include "kernels/kd/kd_masked_mse.h"
#include "kernels/kd/kd_pearson.h"
#include "kernels/kd/kd_soft_ce.h"
#include "kernels/kd/kd_ssim.h"
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

Tensor kd_pearson(const Tensor& student, const Tensor& teacher, double eps) {
  const char* op = "kd_pearson";
  DF_CHECK(student.dim() >= 1, ShapeError, "[kd_pearson] student must be [N, ...], got ",
           shape_str(student.shape()));
  DF_CHECK(eps >= 0, ConfigError, "[kd_pearson] eps must be >= 0, got ", eps);
  auto [s, t] = prepare(op, "student", "teacher", student, teacher);
  const int64_t n = s.size(0);
  DF_CHECK(n == 0 || s.numel() > 0, ShapeError, "[kd_pearson] samples of student ",
           shape_str(student.shape()), " are empty");
  kernels::KdPearsonParams p;
  p.eps = eps;
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  Tensor stats = Tensor::empty(Shape{n, kernels::kd::kPearsonStats}, DType::f64, s.device());
  kernels::kd_pearson_forward_stub(s.device(), op)(p, out, stats, s, t, n);
  if (needs_grad({student})) {
    record(op, {student}, {out}, [p, s, t, stats, n, ds = student.dtype()](auto& g, auto&) {
      Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
      Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
      if (s.numel() > 0)
        kernels::kd_pearson_backward_stub(s.device(), "kd_pearson")(p, gs, go, stats, s, t, n);
      if (gs.dtype() != ds) gs = gs.to(ds);
      return std::vector<Tensor>{gs};
    });
  }
  return out;
}

Tensor kd_ssim(const Tensor& student, const Tensor& teacher, double c1, double c2) {
  const char* op = "kd_ssim";
  DF_CHECK(student.dim() == 4, ShapeError, "[kd_ssim] student must be [N, C, H, W], got ",
           shape_str(student.shape()));
  DF_CHECK(c1 >= 0 && c2 >= 0, ConfigError, "[kd_ssim] c1 and c2 must be >= 0, got ", c1, " and ",
           c2);
  auto [s, t] = prepare(op, "student", "teacher", student, teacher);
  const int64_t rows = s.size(0) * s.size(1);
  DF_CHECK(rows == 0 || s.numel() > 0, ShapeError, "[kd_ssim] maps of student ",
           shape_str(student.shape()), " are empty");
  kernels::KdSsimParams p;
  p.c1 = c1;
  p.c2 = c2;
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  Tensor stats = Tensor::empty(Shape{rows, kernels::kd::kSsimStats}, DType::f64, s.device());
  kernels::kd_ssim_forward_stub(s.device(), op)(p, out, stats, s, t, rows);
  if (needs_grad({student})) {
    record(op, {student}, {out}, [p, s, t, stats, rows, ds = student.dtype()](auto& g, auto&) {
      Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
      Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
      if (s.numel() > 0)
        kernels::kd_ssim_backward_stub(s.device(), "kd_ssim")(p, gs, go, stats, s, t, rows);
      if (gs.dtype() != ds) gs = gs.to(ds);
      return std::vector<Tensor>{gs};
    });
  }
  return out;
}

namespace {
int att_code(const std::string& a) {
  return a == "none" ? 0 : a == "satt" ? 1 : a == "catt" ? 2 : -1;
}
int norm_code(const std::string& n) {
  return n == "none" ? 0 : n == "norm_HW" ? 1 : n == "norm_C" ? 2 : -1;
}
int dist_code(const std::string& d) {
  return d == "L1"          ? 0
         : d == "L2"        ? 1
         : d == "smooth-L1" ? 2
         : d == "KL"        ? 3
         : d == "cosine"    ? 4
                            : -1;
}
}  // namespace

bool kd_att_norm_dist_supports(const std::string& attention, const std::string& norm,
                               const std::string& distance) {
  return att_code(attention) >= 0 && norm_code(norm) >= 0 && dist_code(distance) >= 0;
}

Tensor kd_att_norm_dist(const Tensor& student, const Tensor& teacher, const std::string& attention,
                        double tau, const std::string& norm, const std::string& distance) {
  const char* op = "kd_att_norm_dist";
  DF_CHECK(att_code(attention) >= 0, ConfigError, "[kd_att_norm_dist] attention must be none, ",
           "satt or catt, got '", attention, "'");
  DF_CHECK(norm_code(norm) >= 0, ConfigError,
           "[kd_att_norm_dist] norm must be none, norm_HW or norm_C, got '", norm, "'");
  DF_CHECK(dist_code(distance) >= 0, ConfigError, "[kd_att_norm_dist] distance must be L1, L2, ",
           "smooth-L1, KL or cosine, got '", distance, "'");
  DF_CHECK(tau > 0, ConfigError, "[kd_att_norm_dist] tau must be > 0, got ", tau);
  DF_CHECK(student.dim() == 4, ShapeError, "[kd_att_norm_dist] student must be [N, C, H, W], got ",
           shape_str(student.shape()));
  auto [s, t] = prepare(op, "student", "teacher", student, teacher);
  const int64_t n = s.size(0), c = s.size(1), hw = s.size(2) * s.size(3);
  DF_CHECK(n == 0 || c * hw > 0, ShapeError, "[kd_att_norm_dist] samples of student ",
           shape_str(student.shape()), " are empty");
  kernels::KdAttNormDistParams p;
  p.att = att_code(attention);
  p.tau = tau;
  p.norm = norm_code(norm);
  p.dist = dist_code(distance);
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  kernels::kd_att_norm_dist_forward_stub(s.device(), op)(p, out, s, t, n, c, hw);
  if (needs_grad({student})) {
    record(op, {student}, {out}, [p, s, t, n, c, hw, ds = student.dtype()](auto& g, auto&) {
      Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
      Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
      if (s.numel() > 0)
        kernels::kd_att_norm_dist_backward_stub(s.device(), "kd_att_norm_dist")(p, gs, go, s, t, n,
                                                                                c, hw);
      if (gs.dtype() != ds) gs = gs.to(ds);
      return std::vector<Tensor>{gs};
    });
  }
  return out;
}

Tensor kd_bkd_nsr(const Tensor& student, const Tensor& target, double eps) {
  const char* op = "kd_bkd_nsr";
  DF_CHECK(student.dim() >= 2, ShapeError, "[kd_bkd_nsr] student must be [N, C, *], got ",
           shape_str(student.shape()));
  DF_CHECK(eps >= 0, ConfigError, "[kd_bkd_nsr] eps must be >= 0, got ", eps);
  auto [s, t] = prepare(op, "student", "target", student, target);
  const int64_t n = s.size(0), c = s.size(1);
  const int64_t inner = n * c > 0 ? s.numel() / (n * c) : 0;
  kernels::KdBkdNsrParams p;
  p.eps = eps;
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  Tensor w = Tensor::empty(Shape{c}, DType::f64, s.device());
  kernels::kd_bkd_nsr_forward_stub(s.device(), op)(p, out, w, s, t, n, c, inner);
  if (needs_grad({student})) {
    record(op, {student}, {out}, [p, s, t, w, n, c, inner, ds = student.dtype()](auto& g, auto&) {
      Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
      Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
      if (s.numel() > 0)
        kernels::kd_bkd_nsr_backward_stub(s.device(), "kd_bkd_nsr")(p, gs, go, w, s, t, n, c,
                                                                    inner);
      if (gs.dtype() != ds) gs = gs.to(ds);
      return std::vector<Tensor>{gs};
    });
  }
  return out;
}

Tensor kd_masked_mse(const Tensor& student, const Tensor& teacher, const Tensor& mask,
                     double alpha_fg, double alpha_bg) {
  const char* op = "kd_masked_mse";
  DF_CHECK(student.dim() >= 2, ShapeError, "[kd_masked_mse] student must be [N, C, *], got ",
           shape_str(student.shape()));
  auto [s, t] = prepare(op, "student", "teacher", student, teacher);
  Shape ms = student.shape();
  ms[1] = 1;
  DF_CHECK(mask.shape() == ms, ShapeError, "[kd_masked_mse] mask of shape ",
           shape_str(mask.shape()), " must be ", shape_str(ms), " for student ",
           shape_str(student.shape()));
  DF_CHECK(mask.device() == s.device(), DeviceError, "[kd_masked_mse] mask is on ",
           mask.device().str(), " but student is on ", s.device().str());
  Tensor m = raw::contiguous(raw::detach(raw::to(mask, s.device(), s.dtype())));
  const int64_t n = s.size(0), c = s.size(1);
  int64_t inner = 1;
  for (int64_t d = 2; d < s.dim(); ++d) inner *= s.size(d);
  kernels::KdMaskedMseParams p;
  p.alpha_fg = alpha_fg;
  p.alpha_bg = alpha_bg;
  Tensor out = Tensor::empty(Shape{}, s.dtype(), s.device());
  Tensor w = Tensor::empty(Shape{2}, DType::f64, s.device());
  kernels::kd_masked_mse_forward_stub(s.device(), op)(p, out, w, s, t, m, n, c, inner);
  if (needs_grad({student})) {
    record(op, {student}, {out},
           [p, s, t, m, w, n, c, inner, ds = student.dtype()](auto& g, auto&) {
             Tensor go = raw::contiguous(raw::to(g[0], s.device(), s.dtype()));
             Tensor gs = Tensor::empty(s.shape(), s.dtype(), s.device());
             if (s.numel() > 0)
               kernels::kd_masked_mse_backward_stub(s.device(), "kd_masked_mse")(p, gs, go, w, s, t,
                                                                                 m, n, c, inner);
             if (gs.dtype() != ds) gs = gs.to(ds);
             return std::vector<Tensor>{gs};
           });
  }
  return out;
}

}  // namespace detforge
