// Non-maximum suppression (torchvision.ops.nms / batched_nms, torchvision 0.14 semantics):
// boxes visited in descending score order (stable: equal scores keep index order), a box is
// suppressed iff its IoU with a kept, higher-ranked box is > iou_threshold (strictly), areas
// without +1. Degenerate boxes follow the formula: two zero-area boxes give 0/0 = NaN, never
// > threshold, so neither suppresses the other.
#pragma once
#include <cmath>
#include <limits>

#include "kernels/detection/box_iou.h"

namespace detforge::kernels {

// torchvision compares the IoU (in the boxes' dtype) with the double threshold: iou > thr.
// With cut = the smallest A above thr that is the same as iou >= cut, all in A.
template <class A>
inline A nms_cut(double thr) {
  A c = static_cast<A>(thr);
  if (!(static_cast<double>(c) > thr)) c = std::nextafter(c, std::numeric_limits<A>::infinity());
  return c;
}

// Does kept box a suppress box b? areas precomputed as (x2 - x1) * (y2 - y1); cut = nms_cut().
template <class A>
DETFORGE_HD inline bool nms_suppresses(A ax1, A ay1, A ax2, A ay2, A area_a, A bx1, A by1, A bx2,
                                       A by2, A area_b, A cut) {
  using namespace boxmath;
  const A w = mx(mn(ax2, bx2) - mx(ax1, bx1), A(0));
  const A h = mx(mn(ay2, by2) - mx(ay1, by1), A(0));
  const A inter = w * h;
  return inter / (area_a + area_b - inter) >= cut;
}

// boxes [N, 4] contiguous, scores [N] contiguous, one dtype (f32/f64), one device.
// Returns the kept indices (int64 [K], on the boxes' device) in descending score order.
using NmsFn = Tensor (*)(const Tensor& boxes, const Tensor& scores, double iou_threshold);
// idxs: int64 [N] class of each box; NMS runs per class. Result sorted by descending score.
using BatchedNmsFn = Tensor (*)(const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                                double iou_threshold);
DF_DECLARE_DISPATCH(NmsFn, nms_stub);
DF_DECLARE_DISPATCH(BatchedNmsFn, batched_nms_stub);

}  // namespace detforge::kernels
