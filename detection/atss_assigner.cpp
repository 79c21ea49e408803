#include "detection/atss_assigner.h"

#include <algorithm>

#include "autograd/box_iou.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

// Box centres of an [n, 4] xyxy tensor: (cx [n], cy [n]).
std::pair<Tensor, Tensor> centres(const Tensor& b) {
  return {mul(add(b.select(1, 0), b.select(1, 2)), 0.5),
          mul(add(b.select(1, 1), b.select(1, 3)), 0.5)};
}

}  // namespace

Tensor atss_assign(const Tensor& gt_boxes, const Tensor& anchors,
                   const std::vector<int64_t>& anchors_per_level, int64_t top_k) {
  NoGradGuard ng;
  DF_CHECK(anchors.dim() == 2 && anchors.size(1) == 4, ShapeError, "[atss_assign] anchors ",
           shape_str(anchors.shape()), " must be [A, 4]");
  DF_CHECK(gt_boxes.dim() == 2 && gt_boxes.size(1) == 4, ShapeError, "[atss_assign] gt_boxes ",
           shape_str(gt_boxes.shape()), " must be [M, 4]");
  DF_CHECK(top_k >= 1, ShapeError, "[atss_assign] topk ", top_k, " must be >= 1");
  int64_t total = 0;
  for (int64_t n : anchors_per_level) {
    DF_CHECK(n >= 0, ShapeError, "[atss_assign] negative anchors_per_level entry ", n);
    total += n;
  }
  const int64_t a = anchors.size(0), m = gt_boxes.size(0);
  DF_CHECK(total == a, ShapeError, "[atss_assign] anchors_per_level sums to ", total,
           " but there are ", a, " anchors");
  const Device dev = anchors.device();
  if (m == 0 || a == 0) return Tensor::full({a}, -1, DType::i64, dev);

  const Tensor g = gt_boxes.to(dev, anchors.dtype());
  const Tensor iou = box_iou(g, anchors);  // [M, A]
  const auto [acx, acy] = centres(anchors);
  const auto [gcx, gcy] = centres(g);
  const Tensor dist = sqrt(add(square(sub(acx.unsqueeze(0), gcx.unsqueeze(1))),
                               square(sub(acy.unsqueeze(0), gcy.unsqueeze(1)))));  // [M, A]

  // Step 1: per level, the nearest min(topk, level size) anchors of every ground truth.
  std::vector<Tensor> picks;
  int64_t start = 0;
  for (int64_t len : anchors_per_level) {
    if (len > 0) {
      Tensor idx = topk(dist.narrow(1, start, len), std::min(top_k, len), 1, false, false).second;
      picks.push_back(add(idx, Tensor::scalar(static_cast<double>(start), DType::i64, dev)));
    }
    start += len;
  }
  const Tensor cand = cat(picks, 1);  // [M, K] int64, distinct within a row
  const int64_t k = cand.size(1);

  // Step 2: adaptive threshold per ground truth.
  const Tensor cand_iou = gather(iou, 1, cand);  // [M, K]
  const Tensor thr = add(mean(cand_iou, {1}, true), std(cand_iou, {1}, 1, true));

  // Step 3: IoU above the threshold and the anchor's centre inside the box.
  const Tensor flat = cand.reshape({-1});
  const Tensor ccx = index_select(acx, 0, flat).reshape({m, k});
  const Tensor ccy = index_select(acy, 0, flat).reshape({m, k});
  const Tensor margin = minimum(
      minimum(sub(ccx, g.select(1, 0).unsqueeze(1)), sub(ccy, g.select(1, 1).unsqueeze(1))),
      minimum(sub(g.select(1, 2).unsqueeze(1), ccx), sub(g.select(1, 3).unsqueeze(1), ccy)));
  const Tensor inside = gt(margin, Tensor::scalar(0.01, margin.dtype(), dev));
  const Tensor pos = where(inside, ge(cand_iou, thr), inside);

  // IoU + 1 (>= 1) marks a positive in the [M, A] table, 0 the rest; the best ground truth per
  // anchor is the column maximum (first index on ties). In float64, where x + 1 is exact for a
  // float32 IoU, so distinct IoUs stay distinct.
  const Tensor zero = Tensor::scalar(0.0, DType::f64, dev);
  const Tensor marked = where(pos, add(cand_iou.to(DType::f64), 1.0), zero);
  const Tensor table = scatter_add(Tensor::zeros({m, a}, DType::f64, dev), 1, cand, marked);
  auto [best, arg] = max(table, 0);
  return where(gt(best, zero), arg, Tensor::full({a}, -1, DType::i64, dev));
}

}  // namespace detforge::detection
