// The CPU multi-tensor loop: one parallel loop over the chunk list of all tensors.
#pragma once
#include <algorithm>
#include <vector>

#include "kernels/optim/multi_tensor.h"
#include "tensor/parallel.h"

namespace detforge::kernels {

// f(entry, begin, end) runs once per chunk, chunks spread over the threads.
template <class Hyper, class F>
void multi_tensor_for(const std::vector<MultiTensorEntry<Hyper>>& entries, const F& f) {
  std::vector<OptimChunk> chunks = make_chunks(entries);
  parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const MultiTensorEntry<Hyper>& e = entries[chunks[c].tensor];
      int64_t b = chunks[c].begin, end = std::min(e.numel, b + kOptimChunk);
      f(e, b, end);
    }
  });
}

}  // namespace detforge::kernels
