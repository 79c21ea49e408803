// torchvision 0.14 Matcher (models/detection/_utils.py) on a match-quality (IoU) matrix
// [M ground truths, N predictions]: for every prediction the best ground truth (max over dim 0,
// first index on ties, NaN wins as in torch.max), then
//   best < low                      -> BELOW_LOW_THRESHOLD (-1)
//   low <= best < high              -> BETWEEN_THRESHOLDS (-2)
//   best >= high                    -> the ground-truth index
// comparisons in the matrix's dtype (0.7 is 0.7f for a float32 matrix, as torch compares with a
// Python scalar). allow_low_quality_matches: every prediction whose quality equals the maximum
// quality of some ground truth (all ties, torch.where(matrix == row_max[:, None])) gets back its
// own best ground truth (the dim-0 argmax, not necessarily that ground truth).
// Departures: an empty matrix is not an error (torchvision raises ValueError): M == 0 gives all
// -1, which is what torchvision's RPN / RetinaNet / RoIHeads substitute for images without
// ground truth; N == 0 gives an empty result.
#pragma once
#include "tensor/tensor.h"

namespace detforge::detection {

class DETFORGE_API Matcher {
 public:
  static constexpr int64_t BELOW_LOW_THRESHOLD = -1;
  static constexpr int64_t BETWEEN_THRESHOLDS = -2;

  Matcher(double high_threshold, double low_threshold, bool allow_low_quality_matches = false);
  // match_quality_matrix: [M, N] floating, any device. Returns int64 [N] on the same device
  // (CPU and CUDA kernels, no host sync). Never differentiable.
  Tensor operator()(const Tensor& match_quality_matrix) const;

  double high_threshold() const { return high_; }
  double low_threshold() const { return low_; }
  bool allow_low_quality_matches() const { return allow_low_quality_; }

 private:
  double high_, low_;
  bool allow_low_quality_;
};

}  // namespace detforge::detection
