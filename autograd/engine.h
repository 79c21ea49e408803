// Reverse-mode execution: dependency-counted topological order from the roots.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace detforge::autograd {

// Accumulates d(sum_i <roots[i], grads[i]>)/d(leaf) into every reachable leaf's .grad.
DETFORGE_API void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                           bool retain_graph = false);

// Returns d(sum_i <outputs[i], grads[i]>)/d(inputs[j]) without touching .grad (undefined where
// an input is unreachable and allow_unused is true).
DETFORGE_API std::vector<Tensor> grad(const std::vector<Tensor>& outputs,
                                      const std::vector<Tensor>& inputs,
                                      const std::vector<Tensor>& grad_outputs,
                                      bool retain_graph = false, bool allow_unused = false);

// True while a backward() (not a grad()) pass runs on this thread: leaves' .grad receive the
// gradients, so a node may add its contribution to a leaf's .grad in place and return an undefined
// gradient for that edge instead (the elastic weight scatter does, autograd/elastic.cpp).
DETFORGE_API bool leaf_grads_accumulating();

}  // namespace detforge::autograd
