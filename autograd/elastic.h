// Differentiable elastic (OFA-style) convolution weights.
//
// weight is the max-size KCRS weight [Cout_max, Cin_max / groups_max, K, K]. An active slice keeps
//   - output channels: the first `out_channels`, or the rows listed in out_index,
//   - per-group input columns (dim 1): the first in_channels / groups, or the columns in in_index
//     (so with fixed groups each group keeps its first columns; depthwise: dim 1 is 1, and the
//     active in channels equal the active out channels = groups),
//   - kernel size k by centre crop, through OFA's kernel transforms when given:
//     7->5: v5 = vec(crop5(W)) x M75^T (M75 25x25), 5->3: v3 = vec(crop3(v5)) x M53^T (M53 9x9).
// elastic_weight returns the packed [out, in/groups, k, k] weight. When the slice is an output
// prefix with all of dim 1 and k == K, it is a zero-copy narrow view of weight (no gather);
// otherwise ONE gather kernel fills the packed tensor (a layer's persistent ElasticPackedBuffer
// when given, else a fresh block), and the backward is ONE scatter kernel that also produces the
// transform matrices' gradients.
// Weight gradient: when weight is a leaf without hooks and the running pass is a backward() (see
// autograd::leaf_grads_accumulating), the backward adds straight into weight's .grad (allocating a
// zero .grad only when it has none: keep it across steps with zero_grad(set_to_none = false)), so
// no weight-sized gradient is created per slice and several subnets' gradients (sandwich rule)
// accumulate in place. Like PyTorch's AccumulateGrad, that add is in place on the .grad tensor.
// Under autograd::grad, for a non-leaf weight or a leaf with hooks it falls back to returning a
// zero-initialised weight-sized gradient through the engine (only the active region written).
// The same holds for the prefix view (the conv's weight gradient is added into the view of .grad)
// and for the bias prefix of elastic_conv2d.
// The backward is first order (like conv2d's). float32 / float64.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

// A layer's persistent packed-weight buffer: acquire() hands out a contiguous view of one flat
// block, reused across steps and subnets when the block is large enough and nothing else holds it.
// Aliasing rule: the conv2d node of a live graph saves the packed weight (sharing the block), as
// does any caller keeping the returned tensor; then the block's storage use_count is > 1 and a
// fresh block (of the larger of the old capacity and the request) replaces the cached one, the old
// block living on with its holders. So a forward never overwrites a packed weight a graph still
// needs (retain_graph, several forwards before one backward). The block grows to the largest
// packed shape seen. Stream-ordered reuse: on CUDA the block is reused on the current stream.
// Not thread-safe (one per layer). Copies start empty (a cloned layer must not share the block).
class DETFORGE_API ElasticPackedBuffer {
 public:
  ElasticPackedBuffer() = default;
  ElasticPackedBuffer(const ElasticPackedBuffer&) {}
  ElasticPackedBuffer& operator=(const ElasticPackedBuffer&) {
    flat_ = Tensor();
    return *this;
  }
  Tensor acquire(const Shape& shape, DType dtype, Device device);
  int64_t blocks_allocated() const { return blocks_; }  // fresh blocks taken so far
  int64_t capacity() const { return flat_.defined() ? flat_.numel() : 0; }
  void release() { flat_ = Tensor(); }

 private:
  Tensor flat_;
  int64_t blocks_ = 0;
};

struct ElasticWeightConfig {
  int64_t out_channels = 0;           // number of active output rows
  int64_t in_channels_per_group = 0;  // number of active dim-1 columns
  int64_t kernel_size = 0;            // active k (odd, K - k even)
  std::vector<int64_t> out_index;     // empty = prefix; else out_channels distinct rows
  std::vector<int64_t> in_index;      // empty = prefix; else in_channels_per_group distinct cols
};

// True when elastic_weight returns a view of weight (no gather kernel).
DETFORGE_API bool elastic_weight_is_view(const Tensor& weight, const ElasticWeightConfig& cfg);

DETFORGE_API Tensor elastic_weight(const Tensor& weight, const Tensor& transform_7to5,
                                   const Tensor& transform_5to3, const ElasticWeightConfig& cfg,
                                   ElasticPackedBuffer* packed = nullptr);

// conv2d(input, elastic_weight(...), bias[active out]). padding empty = k / 2 (OFA's same padding).
// active_in_channels counts all groups (the input's channel count); groups is the active conv's
// group count. out_index / in_index: as in ElasticWeightConfig (empty = prefix).
DETFORGE_API Tensor elastic_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                   const Tensor& transform_7to5, const Tensor& transform_5to3,
                                   int64_t active_out_channels, int64_t active_in_channels,
                                   int64_t active_kernel_size, std::vector<int64_t> stride = {1},
                                   std::vector<int64_t> padding = {},
                                   std::vector<int64_t> dilation = {1}, int64_t groups = 1,
                                   const std::vector<int64_t>& out_index = {},
                                   const std::vector<int64_t>& in_index = {},
                                   ElasticPackedBuffer* packed = nullptr);

}  // namespace detforge
