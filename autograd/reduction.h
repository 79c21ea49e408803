// Differentiable reductions. `dims` empty = all dims (as PyTorch's dim=None / dim=[]).
#pragma once
#include <optional>
#include <utility>

#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
DETFORGE_API Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// var/std with Bessel-style correction (1 = unbiased, 0 = biased).
DETFORGE_API Tensor var(const Tensor& x, const Shape& dims = {}, double correction = 1,
                        bool keepdim = false);
DETFORGE_API Tensor std(const Tensor& x, const Shape& dims = {}, double correction = 1,
                        bool keepdim = false);
// torch.max(input, dim, keepdim) / torch.min: (values, indices); the gradient goes to the index.
DETFORGE_API std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
DETFORGE_API std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
// amax/amin: the gradient is split evenly among ties.
DETFORGE_API Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
DETFORGE_API Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// argmax/argmin: no dim = over the flattened input (keepdim then keeps every dim as size 1).
DETFORGE_API Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt,
                           bool keepdim = false);
DETFORGE_API Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt,
                           bool keepdim = false);
DETFORGE_API Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
// p = 1 or 2 (vector norm over dims).
DETFORGE_API Tensor norm(const Tensor& x, double p = 2, const Shape& dims = {},
                         bool keepdim = false);
DETFORGE_API Tensor softmax(const Tensor& x, int64_t dim);
DETFORGE_API Tensor log_softmax(const Tensor& x, int64_t dim);
// Sums a broadcast gradient back down to `shape` (the backward of broadcasting).
DETFORGE_API Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace detforge
