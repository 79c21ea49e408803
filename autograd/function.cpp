#include "autograd/function.h"

#include "autograd/autograd_meta.h"

namespace detforge {

AutogradMeta& autograd_meta(const Tensor& t) {
  auto& impl = t.impl();
  if (!impl.autograd) impl.autograd = std::make_shared<AutogradMeta>();
  return *impl.autograd;
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  AutogradMeta& m = autograd_meta(leaf);
  if (auto acc = m.grad_accumulator.lock()) return acc;
  // The node holds the leaf (sharing its impl, so .grad lands on the user's tensor); the leaf holds
  // the node weakly, so no cycle.
  auto acc = std::make_shared<AccumulateGrad>(leaf);
  m.grad_accumulator = acc;
  return acc;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> record(const char* name, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& outputs, BackwardFn fn) {
  auto node = std::make_shared<LambdaNode>(name, std::move(fn));
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      AutogradMeta& m = autograd_meta(t);
      e = m.grad_fn ? Edge{m.grad_fn, m.output_nr} : Edge{grad_accumulator(t), 0};
    }
    node->next_edges().push_back(e);
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& o = outputs[i];
    node->output_meta().push_back(OutputMeta{o.shape(), o.dtype(), o.device()});
    AutogradMeta& m = autograd_meta(o);
    DF_CHECK(!m.grad_fn, Error, "[autograd] ", name, ": output ", i, " already has a grad_fn");
    m.grad_fn = node;
    m.output_nr = static_cast<int>(i);
    m.requires_grad = true;
  }
  return node;
}

}  // namespace detforge
