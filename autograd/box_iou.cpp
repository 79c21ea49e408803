// Differentiable IoU-family metrics and losses: validation here, one fused kernel each way in
// kernels/detection/box_iou*.h.
#include "autograd/box_iou.h"

#include "autograd/function.h"
#include "autograd/reduction.h"
#include "kernels/detection/box_iou.h"
#include "kernels/detection/box_iou_loss.h"
#include "tensor/view_ops.h"

namespace detforge {
using kernels::BoxIouKind;
using kernels::LossReduction;

namespace {

// torchvision's _upcast / _upcast_non_float: f32 and f64 stay, anything else computes in f32.
DType compute_dtype(const Tensor& a, const Tensor& b) {
  DType dt = promote_types(a.dtype(), b.dtype());
  return dt == DType::f64 ? DType::f64 : DType::f32;
}

void check_boxes(const char* op, const char* what, const Tensor& t, Device dev, bool matrix) {
  DF_CHECK(t.defined(), ShapeError, "[", op, "] ", what, " is undefined");
  DF_CHECK(t.device() == dev, DeviceError, "[", op, "] ", what, " is on ", t.device().str(),
           " but boxes1 is on ", dev.str());
  DF_CHECK(matrix ? (t.dim() == 2 && t.size(1) == 4) : (t.dim() >= 1 && t.size(-1) == 4),
           ShapeError, "[", op, "] ", what, " must have shape ", matrix ? "[N, 4]" : "[..., 4]",
           ", got ", shape_str(t.shape()));
}

Tensor prepare(const Tensor& t, Device dev, DType dt) {
  return raw::contiguous(raw::detach(raw::to(t, dev, dt)));
}

Tensor pairwise(const char* op, BoxIouKind kind, double eps, const Tensor& boxes1,
                const Tensor& boxes2) {
  Device dev = boxes1.device();
  check_boxes(op, "boxes1", boxes1, dev, true);
  check_boxes(op, "boxes2", boxes2, dev, true);
  DType dt = compute_dtype(boxes1, boxes2);
  Tensor a = prepare(boxes1, dev, dt), b = prepare(boxes2, dev, dt);
  kernels::BoxIouParams p;
  p.kind = kind;
  p.eps = eps;
  Tensor out = Tensor::empty({a.size(0), b.size(0)}, dt, dev);
  kernels::box_iou_forward_stub(dev, op)(p, out, a, b);
  if (needs_grad({boxes1, boxes2})) {
    record(op, {boxes1, boxes2}, {out},
           [p, op, a, b, d1 = boxes1.dtype(), d2 = boxes2.dtype()](auto& g, auto& needs) {
             Tensor go = prepare(g[0], a.device(), a.dtype());
             Tensor g1 = needs[0] ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor();
             Tensor g2 = needs[1] ? Tensor::empty(b.shape(), b.dtype(), b.device()) : Tensor();
             if (a.numel() > 0 && b.numel() > 0) {
               kernels::box_iou_backward_stub(a.device(), op)(p, g1, g2, go, a, b);
             } else {  // no pairs: zero gradients
               if (g1.defined()) raw::fill(g1, 0);
               if (g2.defined()) raw::fill(g2, 0);
             }
             return std::vector<Tensor>{g1.defined() ? raw::to(g1, g1.device(), d1) : Tensor(),
                                        g2.defined() ? raw::to(g2, g2.device(), d2) : Tensor()};
           });
  }
  return out;
}

LossReduction parse_reduction(const char* op, const std::string& r) {
  if (r == "none") return LossReduction::none;
  if (r == "mean") return LossReduction::mean;
  if (r == "sum") return LossReduction::sum;
  throw ConfigError(
      str_cat("[", op, "] reduction '", r, "' is not valid (expected none, mean or sum)"));
}

Tensor paired_loss(const char* op, BoxIouKind kind, const Tensor& boxes1, const Tensor& boxes2,
                   const std::string& reduction, double eps) {
  Device dev = boxes1.device();
  check_boxes(op, "boxes1", boxes1, dev, false);
  check_boxes(op, "boxes2", boxes2, dev, false);
  kernels::BoxIouLossParams p;
  p.kind = kind;
  p.reduction = parse_reduction(op, reduction);
  p.eps = eps;
  DType dt = compute_dtype(boxes1, boxes2);
  Shape shape = broadcast_shapes(boxes1.shape(), boxes2.shape(), op);
  Tensor a = raw::contiguous(raw::expand(prepare(boxes1, dev, dt), shape));
  Tensor b = raw::contiguous(raw::expand(prepare(boxes2, dev, dt), shape));
  Shape oshape(shape.begin(), shape.end() - 1);
  Tensor out = Tensor::empty(p.reduction == LossReduction::none ? oshape : Shape{}, dt, dev);
  kernels::box_iou_loss_forward_stub(dev, op)(p, out, a, b);
  if (needs_grad({boxes1, boxes2})) {
    record(op, {boxes1, boxes2}, {out},
           [p, op, a, b, s1 = boxes1.shape(), s2 = boxes2.shape(), d1 = boxes1.dtype(),
            d2 = boxes2.dtype()](auto& g, auto& needs) {
             Tensor go = prepare(g[0], a.device(), a.dtype());
             Tensor g1 = needs[0] ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor();
             Tensor g2 = needs[1] ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor();
             if (a.numel() > 0)
               kernels::box_iou_loss_backward_stub(a.device(), op)(p, g1, g2, go, a, b);
             auto fin = [](const Tensor& gr, const Shape& s, DType d) {
               if (!gr.defined()) return Tensor();
               Tensor r = gr.shape() == s ? gr : sum_to(gr, s);
               return r.dtype() == d ? r : raw::to(r, r.device(), d);
             };
             return std::vector<Tensor>{fin(g1, s1, d1), fin(g2, s2, d2)};
           });
  }
  return out;
}

}  // namespace

Tensor box_iou(const Tensor& b1, const Tensor& b2) {
  return pairwise("box_iou", BoxIouKind::iou, 0.0, b1, b2);
}
Tensor generalized_box_iou(const Tensor& b1, const Tensor& b2) {
  return pairwise("generalized_box_iou", BoxIouKind::giou, 0.0, b1, b2);
}
Tensor distance_box_iou(const Tensor& b1, const Tensor& b2, double eps) {
  return pairwise("distance_box_iou", BoxIouKind::diou, eps, b1, b2);
}
Tensor complete_box_iou(const Tensor& b1, const Tensor& b2, double eps) {
  return pairwise("complete_box_iou", BoxIouKind::ciou, eps, b1, b2);
}

Tensor generalized_box_iou_loss(const Tensor& b1, const Tensor& b2, const std::string& r,
                                double eps) {
  return paired_loss("generalized_box_iou_loss", BoxIouKind::giou, b1, b2, r, eps);
}
Tensor distance_box_iou_loss(const Tensor& b1, const Tensor& b2, const std::string& r, double eps) {
  return paired_loss("distance_box_iou_loss", BoxIouKind::diou, b1, b2, r, eps);
}
Tensor complete_box_iou_loss(const Tensor& b1, const Tensor& b2, const std::string& r, double eps) {
  return paired_loss("complete_box_iou_loss", BoxIouKind::ciou, b1, b2, r, eps);
}
Tensor efficient_box_iou_loss(const Tensor& b1, const Tensor& b2, const std::string& r,
                              double eps) {
  return paired_loss("efficient_box_iou_loss", BoxIouKind::eiou, b1, b2, r, eps);
}

}  // namespace detforge
