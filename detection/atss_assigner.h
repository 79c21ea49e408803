// ATSS: adaptive training sample selection (Zhang et al., "Bridging the Gap Between Anchor-based
// and Anchor-free Detection via Adaptive Training Sample Selection", CVPR 2020, Algorithm 1), with
// mmdetection's ATSSAssigner conventions. For every ground truth g:
//   1. on every pyramid level, the min(topk, anchors on the level) anchors whose centres are
//      nearest (L2) to g's centre are candidates;
//   2. t_g = mean + std (unbiased, n - 1) of the candidates' IoU with g;
//   3. a candidate is positive for g when IoU >= t_g and its centre lies inside g by more than
//      0.01 px on every side (mmdetection's margin).
// An anchor positive for several ground truths goes to the one it overlaps most (the first on a
// tie); every other anchor is background. The statistics adapt the IoU threshold to each object,
// so a small object on a coarse grid still gets positives; that is why it helps RetinaNet on
// FMNIST-Det's 14-56 px objects (docs/detectors.md, "RetinaNet").
//
// Ties in centre distance at the top-k boundary go to the lower anchor index (torch.topk leaves
// them unspecified). A single candidate (one level, topk 1) has no std: NaN threshold, no positive,
// as in mmdetection.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace detforge::detection {

// gt_boxes: [M, 4] xyxy; anchors: [A, 4] xyxy, the levels concatenated in the order of
// anchors_per_level (which must sum to A); topk >= 1. Returns int64 [A] on the anchors' device:
// the ground-truth index or -1 (background), the Matcher's encoding (no "between thresholds").
// Device-generic tensor ops, no host sync; never differentiable. ShapeError on bad shapes.
DETFORGE_API Tensor atss_assign(const Tensor& gt_boxes, const Tensor& anchors,
                                const std::vector<int64_t>& anchors_per_level, int64_t topk);

}  // namespace detforge::detection
