// torchvision 0.14 BalancedPositiveNegativeSampler (models/detection/_utils.py): per image,
// positives are labels >= 1, negatives labels == 0 (others, e.g. -1 / -2, are ignored);
//   num_pos = min(#positives, int(batch_size_per_image * positive_fraction))
//   num_neg = min(#negatives, batch_size_per_image - num_pos)
// and uniformly random subsets of those sizes are marked in two uint8 masks of the labels' shape.
// Randomness: torchvision uses torch.randperm with torch's global generator; here
// detforge::randperm with a detforge::Generator (Philox). Counts, eligibility and the uniform
// distribution are the same; the chosen indices are not bit-identical to torch's (not required).
// For a given generator seed and offset the result is deterministic.
#pragma once
#include <utility>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace detforge::detection {

class DETFORGE_API BalancedPositiveNegativeSampler {
 public:
  BalancedPositiveNegativeSampler(int64_t batch_size_per_image, double positive_fraction);
  // matched_idxs: one label tensor per image (any numeric dtype, any device; 1-D as torchvision
  // uses it). Returns (pos masks, neg masks), uint8, each of its image's shape and device.
  std::pair<std::vector<Tensor>, std::vector<Tensor>> operator()(
      const std::vector<Tensor>& matched_idxs, Generator& gen) const;
  std::pair<std::vector<Tensor>, std::vector<Tensor>> operator()(
      const std::vector<Tensor>& matched_idxs) const;  // default_generator()

  int64_t batch_size_per_image() const { return batch_size_; }
  double positive_fraction() const { return positive_fraction_; }

 private:
  int64_t batch_size_;
  double positive_fraction_;
};

}  // namespace detforge::detection
