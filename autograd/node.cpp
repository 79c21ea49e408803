#include "autograd/node.h"

#include "autograd/autograd_meta.h"
#include "autograd/elementwise.h"
#include "tensor/view_ops.h"

namespace detforge {

std::vector<Tensor> LambdaNode::apply(const std::vector<Tensor>& grads) {
  DF_CHECK(fn_ != nullptr, Error, "[autograd] ", name(),
           ": trying to backward through the graph a second time (its saved tensors were freed; "
           "pass retain_graph=true to the first backward)");
  std::vector<bool> needs(next_edges().size());
  for (size_t i = 0; i < needs.size(); ++i) needs[i] = next_edges()[i].valid();
  std::vector<Tensor> out = fn_(grads, needs);
  DF_CHECK(out.size() == next_edges().size(), Error, "[autograd] ", name(), " returned ",
           out.size(), " gradients for ", next_edges().size(), " inputs");
  return out;
}

std::vector<Tensor> AccumulateGrad::apply(const std::vector<Tensor>& grads) {
  Tensor g = grads[0];
  // Undefined: the producer already added its contribution to .grad in place (see
  // autograd::leaf_grads_accumulating) or had none.
  if (!g.defined()) return {};
  AutogradMeta& meta = autograd_meta(variable_);
  for (auto& hook : meta.hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = r;
  }
  if (!meta.grad.defined()) {
    // Keep the incoming buffer when nobody else holds it; otherwise own a dense copy: an expanded
    // or aliased gradient must not become .grad, which optimizers update in place.
    bool steal = g.is_contiguous() && g.shape() == variable_.shape() &&
                 g.impl_ptr().use_count() <= 2 && g.storage().use_count() == 1;
    if (steal) {
      meta.grad = raw::detach(g);
    } else {
      meta.grad = Tensor::empty(g.shape(), g.dtype(), g.device());
      raw::copy(meta.grad, g);
    }
  } else {
    meta.grad = add(meta.grad, g);
  }
  return {};
}

}  // namespace detforge
