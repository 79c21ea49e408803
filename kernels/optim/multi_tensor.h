// Multi-tensor kernels for the optimizers: every parameter of a step is one entry of a table
// (param, grad and state pointers, numel, per-tensor hyper-parameters) and the work is cut into a
// chunk list over all tensors, so the CPU runs ONE parallel loop and CUDA ONE launch per step.
// The per-element update math lives in sgd.h / adamw.h as DETFORGE_HD functions shared by both.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/macros.h"

namespace detforge::kernels {

// Elements per chunk: one CPU work item / one CUDA block.
constexpr int64_t kOptimChunk = 16384;

// One tensor of a fused step. Pointers are float32, contiguous; unused state pointers are null.
template <class Hyper>
struct MultiTensorEntry {
  float* param = nullptr;
  const float* grad = nullptr;
  float* state0 = nullptr;
  float* state1 = nullptr;
  float* state2 = nullptr;
  int64_t numel = 0;
  Hyper h{};
};

struct OptimChunk {
  int32_t tensor = 0;
  int32_t pad = 0;
  int64_t begin = 0;
};

template <class Hyper>
std::vector<OptimChunk> make_chunks(const std::vector<MultiTensorEntry<Hyper>>& entries) {
  std::vector<OptimChunk> chunks;
  for (size_t t = 0; t < entries.size(); ++t)
    for (int64_t b = 0; b < entries[t].numel; b += kOptimChunk)
      chunks.push_back(OptimChunk{static_cast<int32_t>(t), 0, b});
  return chunks;
}

// sign with sign(0) = 0 (the BN-sparsity subgradient of |gamma|).
DETFORGE_HD inline float sign0(float x) {
  return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
}

}  // namespace detforge::kernels
