// Box coder: validation here, fused kernels in kernels/detection/box_coder.h.
#include "autograd/box_coder.h"

#include "autograd/function.h"
#include "kernels/detection/box_coder.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

kernels::BoxCoderParams params(const char* op, const std::array<double, 4>& w, double clip) {
  for (double v : w)
    DF_CHECK(v != 0, ConfigError, "[", op, "] weights must be non-zero, got (", w[0], ", ", w[1],
             ", ", w[2], ", ", w[3], ")");
  kernels::BoxCoderParams p;
  p.wx = w[0];
  p.wy = w[1];
  p.ww = w[2];
  p.wh = w[3];
  p.clip = clip;
  return p;
}

void check_boxes(const char* op, const char* what, const Tensor& t) {
  DF_CHECK(t.dim() == 2 && t.size(1) == 4, ShapeError, "[", op, "] ", what, " must be [N, 4], got ",
           shape_str(t.shape()));
  DF_CHECK(is_floating(t.dtype()), DTypeError, "[", op, "] ", what, " must be floating, got ",
           dtype_name(t.dtype()));
}

}  // namespace

Tensor box_coder_encode(const Tensor& reference_boxes, const Tensor& proposals,
                        const std::array<double, 4>& weights) {
  const char* op = "box_coder_encode";
  kernels::BoxCoderParams p = params(op, weights, 0);
  check_boxes(op, "reference_boxes", reference_boxes);
  check_boxes(op, "proposals", proposals);
  DF_CHECK(reference_boxes.size(0) == proposals.size(0), ShapeError, "[", op, "] reference_boxes ",
           shape_str(reference_boxes.shape()), " and proposals ", shape_str(proposals.shape()),
           " must have the same number of boxes");
  Device dev = reference_boxes.device();
  DF_CHECK(proposals.device() == dev, DeviceError, "[", op, "] proposals are on ",
           proposals.device().str(), " but reference_boxes are on ", dev.str());
  DType dt = promote_types(reference_boxes.dtype(), proposals.dtype());
  Tensor g = raw::contiguous(raw::detach(raw::to(reference_boxes, dev, dt)));
  Tensor e = raw::contiguous(raw::detach(raw::to(proposals, dev, dt)));
  Tensor out = Tensor::empty(g.shape(), dt, dev);
  if (g.numel() > 0) kernels::box_encode_stub(dev, op)(p, out, g, e);
  return out;
}

Tensor box_coder_decode(const Tensor& rel_codes, const Tensor& boxes,
                        const std::array<double, 4>& weights, double bbox_xform_clip) {
  const char* op = "box_coder_decode";
  kernels::BoxCoderParams p = params(op, weights, bbox_xform_clip);
  check_boxes(op, "boxes", boxes);
  DF_CHECK(is_floating(rel_codes.dtype()), DTypeError, "[", op,
           "] rel_codes must be floating, got ", dtype_name(rel_codes.dtype()));
  DF_CHECK(rel_codes.dim() == 2 && rel_codes.size(0) == boxes.size(0) &&
               rel_codes.size(1) % 4 == 0 && rel_codes.size(1) > 0,
           ShapeError, "[", op, "] rel_codes must be [N, 4K] for boxes ", shape_str(boxes.shape()),
           ", got ", shape_str(rel_codes.shape()));
  Device dev = rel_codes.device();
  DF_CHECK(boxes.device() == dev, DeviceError, "[", op, "] boxes are on ", boxes.device().str(),
           " but rel_codes are on ", dev.str());
  DType dt = rel_codes.dtype();
  Tensor t = raw::contiguous(raw::detach(rel_codes));
  Tensor b = raw::contiguous(raw::detach(raw::to(boxes, dev, dt)));
  Tensor out = Tensor::empty(t.shape(), dt, dev);
  if (t.numel() > 0) kernels::box_decode_stub(dev, op)(p, out, t, b);
  if (needs_grad({rel_codes, boxes})) {
    record(op, {rel_codes, boxes}, {out}, [p, t, b, db = boxes.dtype()](auto& g, auto& needs) {
      Tensor go = raw::contiguous(raw::to(g[0], t.device(), t.dtype()));
      Tensor gt = needs[0] ? Tensor::empty(t.shape(), t.dtype(), t.device()) : Tensor();
      Tensor gb = needs[1] ? Tensor::empty(b.shape(), b.dtype(), b.device()) : Tensor();
      if (t.numel() > 0)
        kernels::box_decode_backward_stub(t.device(), "box_coder_decode")(p, gt, gb, go, t, b);
      if (gb.defined() && gb.dtype() != db) gb = gb.to(db);
      return std::vector<Tensor>{gt, gb};
    });
  }
  return out;
}

}  // namespace detforge
