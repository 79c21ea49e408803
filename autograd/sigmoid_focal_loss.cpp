// sigmoid_focal_loss: validation here, one fused kernel each way in kernels/loss/.
#include "autograd/sigmoid_focal_loss.h"

#include "autograd/function.h"
#include "kernels/loss/sigmoid_focal_loss.h"
#include "tensor/view_ops.h"

namespace detforge {

Tensor sigmoid_focal_loss(const Tensor& inputs, const Tensor& targets, double alpha, double gamma,
                          const std::string& reduction) {
  const char* op = "sigmoid_focal_loss";
  using kernels::LossReduction;
  kernels::SigmoidFocalLossParams p;
  p.alpha = alpha;
  p.gamma = gamma;
  if (reduction == "none")
    p.reduction = LossReduction::none;
  else if (reduction == "mean")
    p.reduction = LossReduction::mean;
  else if (reduction == "sum")
    p.reduction = LossReduction::sum;
  else
    throw ConfigError(str_cat("[sigmoid_focal_loss] reduction '", reduction,
                              "' is not valid (expected none, mean or sum)"));
  DType dt = promote_types(inputs.dtype(), targets.dtype());
  DF_CHECK(is_floating(inputs.dtype()) && is_floating(targets.dtype()), DTypeError,
           "[sigmoid_focal_loss] needs floating inputs and targets, got ",
           dtype_name(inputs.dtype()), " and ", dtype_name(targets.dtype()));
  DF_CHECK(inputs.shape() == targets.shape(), ShapeError, "[sigmoid_focal_loss] targets of shape ",
           shape_str(targets.shape()), " must have the shape of inputs ",
           shape_str(inputs.shape()));
  Device dev = inputs.device();
  DF_CHECK(targets.device() == dev, DeviceError, "[sigmoid_focal_loss] targets are on ",
           targets.device().str(), " but inputs are on ", dev.str());
  Tensor x = raw::contiguous(raw::detach(raw::to(inputs, dev, dt)));
  Tensor y = raw::contiguous(raw::detach(raw::to(targets, dev, dt)));
  Tensor out =
      Tensor::empty(p.reduction == LossReduction::none ? inputs.shape() : Shape{}, dt, dev);
  kernels::sigmoid_focal_loss_forward_stub(dev, op)(p, out, x, y);
  if (needs_grad({inputs, targets})) {
    record(op, {inputs, targets}, {out},
           [p, x, y, di = inputs.dtype(), dtt = targets.dtype()](auto& g, auto& needs) {
             Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
             Tensor gx = needs[0] ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gy = needs[1] ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
             kernels::sigmoid_focal_loss_backward_stub(x.device(), "sigmoid_focal_loss")(p, gx, gy,
                                                                                         go, x, y);
             if (gx.defined() && gx.dtype() != di) gx = gx.to(di);
             if (gy.defined() && gy.dtype() != dtt) gy = gy.to(dtt);
             return std::vector<Tensor>{gx, gy};
           });
  }
  return out;
}

}  // namespace detforge
