// BalancedPositiveNegativeSampler: eligible indices on the host, random subsets through
// detforge::randperm (the first k entries of a permutation, as torchvision's randperm(n)[:k]).
#include "detection/balanced_sampler.h"

#include "autograd/grad_mode.h"

namespace detforge::detection {

BalancedPositiveNegativeSampler::BalancedPositiveNegativeSampler(int64_t batch_size_per_image,
                                                                 double positive_fraction)
    : batch_size_(batch_size_per_image), positive_fraction_(positive_fraction) {
  DF_CHECK(batch_size_per_image >= 0, ConfigError,
           "[BalancedPositiveNegativeSampler] batch_size_per_image must be >= 0, got ",
           batch_size_per_image);
  DF_CHECK(positive_fraction >= 0 && positive_fraction <= 1, ConfigError,
           "[BalancedPositiveNegativeSampler] positive_fraction must be in [0, 1], got ",
           positive_fraction);
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> BalancedPositiveNegativeSampler::operator()(
    const std::vector<Tensor>& matched_idxs) const {
  return (*this)(matched_idxs, default_generator());
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> BalancedPositiveNegativeSampler::operator()(
    const std::vector<Tensor>& matched_idxs, Generator& gen) const {
  NoGradGuard no_grad;
  std::vector<Tensor> pos_masks, neg_masks;
  for (const Tensor& labels : matched_idxs) {
    DF_CHECK(labels.dtype() != DType::b8, DTypeError,
             "[BalancedPositiveNegativeSampler] labels must be numeric, got bool");
    // Host copy of the labels (a device-to-host sync for CUDA labels).
    std::vector<double> v = labels.to_vector<double>();
    std::vector<int64_t> pos, neg;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] >= 1)
        pos.push_back(static_cast<int64_t>(i));
      else if (v[i] == 0)
        neg.push_back(static_cast<int64_t>(i));
    }
    // Python's int() truncates toward zero.
    int64_t num_pos = static_cast<int64_t>(static_cast<double>(batch_size_) * positive_fraction_);
    num_pos = std::min<int64_t>(static_cast<int64_t>(pos.size()), num_pos);
    int64_t num_neg = std::min<int64_t>(static_cast<int64_t>(neg.size()), batch_size_ - num_pos);
    std::vector<uint8_t> pm(v.size(), 0), nm(v.size(), 0);
    auto pick = [&](const std::vector<int64_t>& idx, int64_t k, std::vector<uint8_t>& mask) {
      if (k <= 0) return;
      std::vector<int64_t> perm =
          randperm(static_cast<int64_t>(idx.size()), gen).to_vector<int64_t>();
      for (int64_t j = 0; j < k; ++j) mask[static_cast<size_t>(idx[perm[j]])] = 1;
    };
    pick(pos, num_pos, pm);
    pick(neg, num_neg, nm);
    Tensor pt = Tensor::from_vector(pm, labels.shape());
    Tensor nt = Tensor::from_vector(nm, labels.shape());
    pos_masks.push_back(labels.device() == kCPU ? pt : pt.to(labels.device()));
    neg_masks.push_back(labels.device() == kCPU ? nt : nt.to(labels.device()));
  }
  return {pos_masks, neg_masks};
}

}  // namespace detforge::detection
