// nms / batched_nms: validation and dtype handling; the kernels are in kernels/detection/nms.h.
#include "autograd/nms.h"

#include "kernels/detection/nms.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

struct Prepared {
  Tensor boxes, scores;
};

Prepared prepare(const char* op, const Tensor& boxes, const Tensor& scores) {
  DF_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, ShapeError, "[", op,
           "] boxes must have shape [N, 4], got ", shape_str(boxes.shape()));
  DF_CHECK(scores.dim() == 1 && scores.size(0) == boxes.size(0), ShapeError, "[", op,
           "] scores must have shape [N] with N = ", boxes.size(0), ", got ",
           shape_str(scores.shape()));
  DF_CHECK(scores.device() == boxes.device(), DeviceError, "[", op, "] scores are on ",
           scores.device().str(), " but boxes are on ", boxes.device().str());
  DF_CHECK(is_floating(boxes.dtype()) && is_floating(scores.dtype()), DTypeError, "[", op,
           "] boxes and scores must be floating, got ", dtype_name(boxes.dtype()), " and ",
           dtype_name(scores.dtype()));
  DType dt = boxes.dtype() == DType::f64 ? DType::f64 : DType::f32;
  return {raw::contiguous(raw::detach(raw::to(boxes, boxes.device(), dt))),
          raw::contiguous(raw::detach(raw::to(scores, boxes.device(), dt)))};
}

}  // namespace

Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold) {
  Prepared p = prepare("nms", boxes, scores);
  if (p.boxes.size(0) == 0) return Tensor::empty({0}, DType::i64, boxes.device());
  return kernels::nms_stub(boxes.device(), "nms")(p.boxes, p.scores, iou_threshold);
}

Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                   double iou_threshold) {
  Prepared p = prepare("batched_nms", boxes, scores);
  DF_CHECK(idxs.dim() == 1 && idxs.size(0) == boxes.size(0), ShapeError,
           "[batched_nms] idxs must have shape [N] with N = ", boxes.size(0), ", got ",
           shape_str(idxs.shape()));
  DF_CHECK(idxs.device() == boxes.device(), DeviceError, "[batched_nms] idxs are on ",
           idxs.device().str(), " but boxes are on ", boxes.device().str());
  DF_CHECK(!is_floating(idxs.dtype()) && idxs.dtype() != DType::b8, DTypeError,
           "[batched_nms] idxs must be an integer tensor, got ", dtype_name(idxs.dtype()));
  if (p.boxes.size(0) == 0) return Tensor::empty({0}, DType::i64, boxes.device());
  Tensor cls = raw::contiguous(raw::to(idxs, boxes.device(), DType::i64));
  return kernels::batched_nms_stub(boxes.device(), "batched_nms")(p.boxes, p.scores, cls,
                                                                  iou_threshold);
}

}  // namespace detforge
