// Batch, group and layer normalisation: raw fused kernels forward, fused backward kernels in the
// recorded closures (first-order gradients).
#include "autograd/norm_pool.h"

#include <cmath>

#include "autograd/function.h"
#include "kernels/norm_pool/batch_norm.h"
#include "tensor/view_ops.h"

namespace detforge {
using kernels::stat_dtype;

namespace {
// Contiguous, on `dev`, of dtype `dt`; undefined stays undefined.
Tensor prep(const Tensor& t, Device dev, DType dt) {
  return t.defined() ? raw::contiguous(raw::to(t, dev, dt)) : Tensor();
}
void check_param(const char* op, const char* name, const Tensor& t, int64_t n,
                 const Tensor& input) {
  if (!t.defined()) return;
  DF_CHECK(t.numel() == n, ShapeError, "[", op, "] ", name, " has shape ", shape_str(t.shape()),
           " but ", n, " elements are expected for input ", shape_str(input.shape()));
  DF_CHECK(t.device() == input.device(), DeviceError, "[", op, "] ", name, " is on ",
           t.device().str(), " but input is on ", input.device().str());
}
Tensor empty_like_shape(const Tensor& t) {
  return Tensor::empty(t.shape(), t.dtype(), t.device());
}
}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  DF_CHECK(input.dim() >= 2, ShapeError, "[batch_norm] input must be [N, C, *], got ",
           shape_str(input.shape()));
  DF_CHECK(is_floating(input.dtype()), DTypeError, "[batch_norm] input must be floating, got ",
           dtype_name(input.dtype()));
  kernels::BatchNormShape s;
  s.N = input.size(0);
  s.C = input.size(1);
  s.S = s.N * s.C == 0 ? 0 : input.numel() / (s.N * s.C);
  for (auto [name, t] : {std::pair<const char*, const Tensor&>{"weight", weight},
                         {"bias", bias},
                         {"running_mean", running_mean},
                         {"running_var", running_var}})
    check_param("batch_norm", name, t, s.C, input);
  DF_CHECK(training || (running_mean.defined() && running_var.defined()), Error,
           "[batch_norm] running_mean and running_var must be given in eval mode (training=false)");
  DF_CHECK(!training || s.N * s.S != 1, ShapeError,
           "[batch_norm] expected more than 1 value per channel when training, got input ",
           shape_str(input.shape()));
  const Device dev = input.device();
  const DType dt = input.dtype(), st = stat_dtype(dt);
  Tensor x = raw::contiguous(input);
  Tensor w = prep(weight, dev, dt), b = prep(bias, dev, dt);
  Tensor mean, invstd;
  if (training) {
    mean = Tensor::empty({s.C}, st, dev);
    invstd = Tensor::empty({s.C}, st, dev);
    // prep returns the caller's tensor itself when it is contiguous with the stat dtype: the
    // kernel then updates it in place; otherwise the updated copy is written back.
    Tensor rm = prep(running_mean, dev, st), rv = prep(running_var, dev, st);
    if (s.N * s.S > 0)
      kernels::batch_norm_stats_stub(dev, "batch_norm")(x, s, mean, invstd, rm, rv, momentum, eps);
    if (rm.defined() && !rm.is_same(running_mean)) raw::copy(running_mean, rm);
    if (rv.defined() && !rv.is_same(running_var)) raw::copy(running_var, rv);
  } else {
    mean = prep(running_mean, dev, st);
    invstd = Tensor::empty({s.C}, st, dev);
    kernels::batch_norm_invstd_stub(dev, "batch_norm")(invstd, prep(running_var, dev, st), eps);
  }
  Tensor out = Tensor::empty(x.shape(), dt, dev);
  if (x.numel() > 0)
    kernels::batch_norm_apply_stub(dev, "batch_norm")(out, x, s, mean, invstd, w, b);
  if (needs_grad({input, weight, bias}))
    record("batch_norm", {input, weight, bias}, {out},
           [x = x.detach(), w = w.defined() ? w.detach() : Tensor(), mean, invstd, s, training,
            wshape = weight.defined() ? weight.shape() : Shape{},
            bshape = bias.defined() ? bias.shape() : Shape{},
            wdt = weight.defined() ? weight.dtype() : DType::f32,
            bdt = bias.defined() ? bias.dtype() : DType::f32](auto& g, auto& needs) {
             Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
             Tensor gi = needs[0] ? empty_like_shape(x) : Tensor();
             Tensor gw = needs[1] ? Tensor::empty({s.C}, x.dtype(), x.device()) : Tensor();
             Tensor gb = needs[2] ? Tensor::empty({s.C}, x.dtype(), x.device()) : Tensor();
             if (x.numel() > 0) {
               kernels::batch_norm_backward_stub(x.device(), "batch_norm")(
                   gi, gw, gb, go, x, s, mean, invstd, w, training);
             } else {
               if (gw.defined()) raw::fill(gw, 0);
               if (gb.defined()) raw::fill(gb, 0);
             }
             if (gw.defined()) gw = raw::to(gw.view(wshape), gw.device(), wdt);
             if (gb.defined()) gb = raw::to(gb.view(bshape), gb.device(), bdt);
             return std::vector<Tensor>{gi, gw, gb};
           });
  return out;
}

namespace {
// Shared by group_norm and layer_norm (layer_norm = one group over rows of M "channels").
Tensor group_norm_impl(const char* op, const Tensor& input, const kernels::GroupNormShape& s,
                       const Tensor& weight, const Tensor& bias, double eps) {
  DF_CHECK(is_floating(input.dtype()), DTypeError, "[", op, "] input must be floating, got ",
           dtype_name(input.dtype()));
  const Device dev = input.device();
  const DType dt = input.dtype(), st = stat_dtype(dt);
  Tensor x = raw::contiguous(input);
  Tensor w = prep(weight, dev, dt), b = prep(bias, dev, dt);
  Tensor out = Tensor::empty(x.shape(), dt, dev);
  Tensor mean = Tensor::empty({s.N * s.G}, st, dev), rstd = Tensor::empty({s.N * s.G}, st, dev);
  if (x.numel() > 0) kernels::group_norm_forward_stub(dev, op)(out, mean, rstd, x, w, b, s, eps);
  if (needs_grad({input, weight, bias}))
    record(op, {input, weight, bias}, {out},
           [x = x.detach(), w = w.defined() ? w.detach() : Tensor(), mean, rstd, s, op,
            wshape = weight.defined() ? weight.shape() : Shape{},
            bshape = bias.defined() ? bias.shape() : Shape{},
            wdt = weight.defined() ? weight.dtype() : DType::f32,
            bdt = bias.defined() ? bias.dtype() : DType::f32](auto& g, auto& needs) {
             Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
             Tensor gi = needs[0] ? empty_like_shape(x) : Tensor();
             Tensor gw = needs[1] ? Tensor::empty({s.C}, x.dtype(), x.device()) : Tensor();
             Tensor gb = needs[2] ? Tensor::empty({s.C}, x.dtype(), x.device()) : Tensor();
             if (x.numel() > 0) {
               kernels::group_norm_backward_stub(x.device(), op)(gi, gw, gb, go, x, mean, rstd, w,
                                                                 s);
             } else {
               if (gw.defined()) raw::fill(gw, 0);
               if (gb.defined()) raw::fill(gb, 0);
             }
             if (gw.defined()) gw = raw::to(gw.view(wshape), gw.device(), wdt);
             if (gb.defined()) gb = raw::to(gb.view(bshape), gb.device(), bdt);
             return std::vector<Tensor>{gi, gw, gb};
           });
  return out;
}
}  // namespace

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  DF_CHECK(input.dim() >= 2, ShapeError, "[group_norm] input must be [N, C, *], got ",
           shape_str(input.shape()));
  kernels::GroupNormShape s;
  s.N = input.size(0);
  s.C = input.size(1);
  s.G = num_groups;
  DF_CHECK(num_groups > 0 && s.C % num_groups == 0, ShapeError,
           "[group_norm] num_groups=", num_groups, " must divide the number of channels of input ",
           shape_str(input.shape()));
  s.S = s.N * s.C == 0 ? 0 : input.numel() / (s.N * s.C);
  check_param("group_norm", "weight", weight, s.C, input);
  check_param("group_norm", "bias", bias, s.C, input);
  return group_norm_impl("group_norm", input, s, weight, bias, eps);
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool ok = k >= 1 && k <= input.dim();
  for (int64_t i = 0; ok && i < k; ++i) ok = input.size(input.dim() - k + i) == normalized_shape[i];
  DF_CHECK(ok, ShapeError, "[layer_norm] normalized_shape ", shape_str(normalized_shape),
           " does not match the trailing dims of input ", shape_str(input.shape()));
  for (auto [name, t] : {std::pair<const char*, const Tensor&>{"weight", weight}, {"bias", bias}})
    DF_CHECK(!t.defined() || t.shape() == normalized_shape, ShapeError, "[layer_norm] ", name,
             " has shape ", shape_str(t.shape()), " but normalized_shape is ",
             shape_str(normalized_shape));
  kernels::GroupNormShape s;
  s.C = shape_numel(normalized_shape);
  s.N = s.C == 0 ? 0 : input.numel() / s.C;
  s.S = 1;
  s.G = 1;
  return group_norm_impl("layer_norm", input, s, weight, bias, eps);
}

}  // namespace detforge
