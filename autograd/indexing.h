// Differentiable shape-combining, indexing, sorting and scan ops (PyTorch 1.13 functional
// semantics). Index tensors are int64 (int32 accepted where PyTorch accepts it).
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

// Concatenation along `dim`; dtypes are promoted; legacy 1-D empty tensors ([0]) are skipped.
DETFORGE_API Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
DETFORGE_API Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Pieces are views of `input` (no copy); gradients flow back through the views.
DETFORGE_API std::vector<Tensor> split(const Tensor& input, int64_t split_size, int64_t dim = 0);
DETFORGE_API std::vector<Tensor> split(const Tensor& input, const std::vector<int64_t>& sections,
                                       int64_t dim = 0);
DETFORGE_API std::vector<Tensor> chunk(const Tensor& input, int64_t chunks, int64_t dim = 0);

DETFORGE_API Tensor index_select(const Tensor& input, int64_t dim, const Tensor& index);
DETFORGE_API Tensor gather(const Tensor& input, int64_t dim, const Tensor& index);
DETFORGE_API Tensor scatter_add(const Tensor& input, int64_t dim, const Tensor& index,
                                const Tensor& src);
DETFORGE_API Tensor masked_fill(const Tensor& input, const Tensor& mask, double value);
// 1-D result. On CUDA the result size costs one device->host sync.
DETFORGE_API Tensor masked_select(const Tensor& input, const Tensor& mask);

// (values, indices); values are differentiable, indices int64.
DETFORGE_API std::pair<Tensor, Tensor> sort(const Tensor& input, int64_t dim = -1,
                                            bool descending = false, bool stable = false);
DETFORGE_API Tensor argsort(const Tensor& input, int64_t dim = -1, bool descending = false);
DETFORGE_API std::pair<Tensor, Tensor> topk(const Tensor& input, int64_t k, int64_t dim = -1,
                                            bool largest = true, bool sorted = true);
// Integral and bool inputs give int64 (PyTorch).
DETFORGE_API Tensor cumsum(const Tensor& input, int64_t dim);

// int64 [..., num_classes]; num_classes = -1 infers max + 1 (a device->host sync on CUDA).
DETFORGE_API Tensor one_hot(const Tensor& tensor, int64_t num_classes = -1);
// weight[input]: [*input.shape, D]. Gradient to weight only; the padding_idx row gets none.
DETFORGE_API Tensor embedding(const Tensor& input, const Tensor& weight,
                              std::optional<int64_t> padding_idx = std::nullopt);

}  // namespace detforge
