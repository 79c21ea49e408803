// centernet_heatmap_focal_loss: validation here, one fused kernel each way in kernels/loss/.
#include "autograd/centernet_focal_loss.h"

#include "autograd/function.h"
#include "kernels/loss/centernet_focal_loss.h"
#include "tensor/view_ops.h"

namespace detforge {

Tensor centernet_heatmap_focal_loss(const Tensor& logits, const Tensor& target) {
  const char* op = "centernet_heatmap_focal_loss";
  DF_CHECK(is_floating(logits.dtype()) && is_floating(target.dtype()), DTypeError,
           "[centernet_heatmap_focal_loss] needs floating logits and target, got ",
           dtype_name(logits.dtype()), " and ", dtype_name(target.dtype()));
  DF_CHECK(logits.shape() == target.shape(), ShapeError,
           "[centernet_heatmap_focal_loss] target of shape ", shape_str(target.shape()),
           " must have the shape of logits ", shape_str(logits.shape()));
  Device dev = logits.device();
  DF_CHECK(target.device() == dev, DeviceError, "[centernet_heatmap_focal_loss] target is on ",
           target.device().str(), " but logits are on ", dev.str());
  const DType dt = logits.dtype();
  Tensor x = raw::contiguous(raw::detach(logits));
  Tensor y = raw::contiguous(raw::detach(raw::to(target, dev, dt)));
  Tensor out = Tensor::empty(Shape{}, dt, dev);
  Tensor num_pos = Tensor::empty(Shape{}, DType::f64, dev);
  kernels::centernet_focal_forward_stub(dev, op)(out, num_pos, x, y);
  if (needs_grad({logits})) {
    record(op, {logits}, {out}, [x, y, num_pos](auto& g, auto& needs) {
      Tensor gx;
      if (needs[0]) {
        Tensor go = raw::contiguous(raw::to(g[0], x.device(), x.dtype()));
        gx = Tensor::empty(x.shape(), x.dtype(), x.device());
        kernels::centernet_focal_backward_stub(x.device(), "centernet_heatmap_focal_loss")(
            gx, go, num_pos, x, y);
      }
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

}  // namespace detforge
