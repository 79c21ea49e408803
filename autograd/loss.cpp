// Differentiable losses: validation and broadcasting here, one fused kernel each way in
// kernels/loss/.
#include "autograd/loss.h"

#include <tuple>

#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "autograd/reduction.h"
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/pointwise_loss.h"
#include "tensor/view_ops.h"

namespace detforge {
using kernels::LossReduction;

namespace {

LossReduction parse_reduction(const char* op, const std::string& r) {
  if (r == "none") return LossReduction::none;
  if (r == "mean") return LossReduction::mean;
  if (r == "sum") return LossReduction::sum;
  throw ConfigError(
      str_cat("[", op, "] reduction '", r, "' is not valid (expected none, mean or sum)"));
}

void check_device(const char* op, const char* what, const Tensor& t, Device dev) {
  DF_CHECK(t.device() == dev, DeviceError, "[", op, "] ", what, " is on ", t.device().str(),
           " but input is on ", dev.str());
}

// Graph-free: t converted to (dev, dt), broadcast to shape, contiguous, without history.
Tensor prepare(const Tensor& t, Device dev, DType dt, const Shape& shape) {
  return raw::contiguous(raw::expand(raw::detach(raw::to(t, dev, dt)), shape));
}

// Gradient of a broadcast operand back to its own shape and dtype.
Tensor reduce_grad(const Tensor& g, const Shape& shape, DType dt) {
  Tensor r = sum_to(g, shape);
  return r.dtype() == dt ? r : r.to(dt);
}

Tensor pointwise_loss(const char* op, kernels::PointwiseLossParams p, const Tensor& input,
                      const Tensor& target, const Tensor& weight = Tensor(),
                      const Tensor& pos_weight = Tensor()) {
  DType dt = promote_types(input.dtype(), target.dtype());
  DF_CHECK(is_floating(dt), DTypeError, "[", op, "] needs floating input and target, got ",
           dtype_name(input.dtype()), " and ", dtype_name(target.dtype()));
  Device dev = input.device();
  check_device(op, "target", target, dev);
  Shape shape = broadcast_shapes(input.shape(), target.shape(), op);
  Tensor x = prepare(input, dev, dt, shape), y = prepare(target, dev, dt, shape), w, pw;
  for (auto [t, name, dst] :
       {std::tuple{&weight, "weight", &w}, std::tuple{&pos_weight, "pos_weight", &pw}}) {
    if (!t->defined()) continue;
    check_device(op, name, *t, dev);
    DF_CHECK(broadcast_shapes(t->shape(), shape, op) == shape, ShapeError, "[", op, "] ", name,
             " of shape ", shape_str(t->shape()), " does not broadcast to the input's shape ",
             shape_str(shape));
    *dst = prepare(*t, dev, dt, shape);
  }
  Tensor out = Tensor::empty(p.reduction == LossReduction::none ? shape : Shape{}, dt, dev);
  kernels::pointwise_loss_forward_stub(dev, op)(p, out, x, y, w, pw);
  if (needs_grad({input, target})) {
    record(op, {input, target}, {out},
           [p, op, x, y, w, pw, si = input.shape(), st = target.shape(), di = input.dtype(),
            dtt = target.dtype()](auto& g, auto& needs) {
             Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
             Tensor gx = needs[0] ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gy = needs[1] ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
             kernels::pointwise_loss_backward_stub(x.device(), op)(p, gx, gy, go, x, y, w, pw);
             return std::vector<Tensor>{needs[0] ? reduce_grad(gx, si, di) : Tensor(),
                                        needs[1] ? reduce_grad(gy, st, dtt) : Tensor()};
           });
  }
  return out;
}

}  // namespace

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction,
                      double beta) {
  DF_CHECK(beta >= 0, ConfigError, "[smooth_l1_loss] beta must be non-negative, got ", beta);
  kernels::PointwiseLossParams p;
  p.kind = beta == 0 ? kernels::PointwiseLoss::l1
                     : kernels::PointwiseLoss::smooth_l1;  // PyTorch: beta 0 is L1
  p.reduction = parse_reduction("smooth_l1_loss", reduction);
  p.beta = beta;
  return pointwise_loss("smooth_l1_loss", p, input, target);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  kernels::PointwiseLossParams p;
  p.kind = kernels::PointwiseLoss::l1;
  p.reduction = parse_reduction("l1_loss", reduction);
  return pointwise_loss("l1_loss", p, input, target);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  kernels::PointwiseLossParams p;
  p.kind = kernels::PointwiseLoss::mse;
  p.reduction = parse_reduction("mse_loss", reduction);
  return pointwise_loss("mse_loss", p, input, target);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction,
              bool log_target) {
  kernels::PointwiseLossParams p;
  p.kind = kernels::PointwiseLoss::kl_div;
  p.log_target = log_target;
  bool batchmean = reduction == "batchmean";
  p.reduction = batchmean ? LossReduction::sum : parse_reduction("kl_div", reduction);
  Tensor out = pointwise_loss("kl_div", p, input, target);
  if (batchmean && input.dim() != 0) out = div(out, static_cast<double>(input.size(0)));
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight, const std::string& reduction,
                                        const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  DF_CHECK(input.shape() == target.shape(), ShapeError, "[", op, "] target size ",
           shape_str(target.shape()), " must be the same as input size ", shape_str(input.shape()));
  kernels::PointwiseLossParams p;
  p.kind = kernels::PointwiseLoss::bce_with_logits;
  p.reduction = parse_reduction(op, reduction);
  return pointwise_loss(op, p, input, target, weight, pos_weight);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index, const std::string& reduction, double label_smoothing) {
  const char* op = "cross_entropy";
  DF_CHECK(is_floating(input.dtype()), DTypeError, "[cross_entropy] input must be floating, got ",
           dtype_name(input.dtype()));
  DF_CHECK(input.dim() >= 1, ShapeError, "[cross_entropy] input must have at least 1 dim, got ",
           shape_str(input.shape()));
  DF_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ConfigError,
           "[cross_entropy] label_smoothing must be in [0, 1], got ", label_smoothing);
  Device dev = input.device();
  DType dt = input.dtype();
  check_device(op, "target", target, dev);
  kernels::CrossEntropyParams p;
  p.reduction = parse_reduction(op, reduction);
  p.ignore_index = ignore_index;
  p.label_smoothing = label_smoothing;
  p.prob_target = is_floating(target.dtype());
  const bool unbatched = input.dim() == 1;
  Shape xs = unbatched ? Shape{1, input.size(0)} : input.shape();
  Shape out_shape;  // reduction none
  if (p.prob_target) {
    DF_CHECK(target.shape() == input.shape(), ShapeError,
             "[cross_entropy] probability target of shape ", shape_str(target.shape()),
             " must match input shape ", shape_str(input.shape()));
  } else {
    DF_CHECK(is_integral(target.dtype()), DTypeError,
             "[cross_entropy] target must be int64 class indices or ",
             "floating probabilities, got ", dtype_name(target.dtype()));
    Shape want(xs.begin(), xs.end());
    want.erase(want.begin() + 1);
    Shape got = unbatched ? Shape{1} : target.shape();
    DF_CHECK((unbatched ? target.dim() == 0 : got == want), ShapeError,
             "[cross_entropy] target of shape ", shape_str(target.shape()),
             " does not fit input of shape ", shape_str(input.shape()), " (expected ",
             unbatched ? std::string("[]") : shape_str(want), ")");
  }
  if (!unbatched) {
    out_shape = xs;
    out_shape.erase(out_shape.begin() + 1);
  }
  p.N = xs[0];
  p.C = xs[1];
  p.S = 1;
  for (size_t d = 2; d < xs.size(); ++d) p.S *= xs[d];
  DF_CHECK(p.C > 0 || p.N * p.S == 0, ShapeError, "[cross_entropy] input ",
           shape_str(input.shape()), " has no classes");
  Tensor x = raw::contiguous(raw::detach(input));
  Tensor t = p.prob_target ? prepare(target, dev, dt, target.shape())
                           : raw::contiguous(raw::detach(raw::to(target, dev, DType::i64)));
  Tensor w;
  if (weight.defined()) {
    check_device(op, "weight", weight, dev);
    DF_CHECK(weight.dim() == 1 && weight.numel() == p.C, ShapeError,
             "[cross_entropy] weight of shape ", shape_str(weight.shape()), " must be [", p.C,
             "] for input ", shape_str(input.shape()));
    w = prepare(weight, dev, dt, weight.shape());
  }
  Tensor out = Tensor::empty(p.reduction == LossReduction::none ? out_shape : Shape{}, dt, dev);
  Tensor total_weight = Tensor::empty({}, kernels::loss_acc_dtype(dt), dev);
  Tensor lse = Tensor::empty({p.N * p.S}, kernels::loss_acc_dtype(dt), dev);
  kernels::cross_entropy_forward_stub(dev, op)(p, out, total_weight, lse, x, t, w);
  std::vector<Tensor> ins =
      p.prob_target ? std::vector<Tensor>{input, target} : std::vector<Tensor>{input};
  if (needs_grad(ins)) {
    record(op, ins, {out},
           [p, x, t, w, total_weight, lse, si = input.shape()](auto& g, auto& needs) {
             Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
             Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device());
             Tensor gt = p.prob_target && needs[1] ? Tensor::empty(t.shape(), t.dtype(), t.device())
                                                   : Tensor();
             kernels::cross_entropy_backward_stub(x.device(), "cross_entropy")(
                 p, gx, gt, go, total_weight, lse, x, t, w);
             std::vector<Tensor> r{needs[0] ? gx.reshape(si) : Tensor()};
             if (p.prob_target) r.push_back(gt);
             return r;
           });
  }
  return out;
}

}  // namespace detforge
