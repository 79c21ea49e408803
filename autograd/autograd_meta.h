// Per-tensor autograd state, hung off TensorImpl::autograd.
#pragma once
#include <memory>
#include <vector>

#include "autograd/node.h"

namespace detforge {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;  // leaves only
  std::vector<GradHook> hooks;           // leaves only; non-leaf hooks live on grad_fn
};

// The meta of `t`, created on first use.
AutogradMeta& autograd_meta(const Tensor& t);
// The meta if present, else null.
inline AutogradMeta* autograd_meta_if(const Tensor& t) {
  return t.defined() ? t.impl().autograd.get() : nullptr;
}
// The AccumulateGrad node of a leaf that requires grad (created on first use).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

}  // namespace detforge
