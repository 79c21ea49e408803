// Tensor's autograd members.
#include "autograd/autograd_meta.h"
#include "autograd/engine.h"

namespace detforge {

bool Tensor::requires_grad() const {
  AutogradMeta* m = autograd_meta_if(*this);
  return m && (m->requires_grad || m->grad_fn);
}

Tensor& Tensor::set_requires_grad(bool requires) {
  AutogradMeta& m = autograd_meta(*this);
  DF_CHECK(!m.grad_fn, Error,
           "[requires_grad_] can only be set on leaf tensors (this one is the result of ",
           m.grad_fn->name(), "); use detach() first");
  DF_CHECK(!requires || is_floating(dtype()), DTypeError,
           "[requires_grad_] only floating tensors can require gradients, got ", dtype_name(dtype()));
  m.requires_grad = requires;
  return *this;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  AutogradMeta* m = autograd_meta_if(*this);
  return m ? m->grad : undefined;
}

Tensor& Tensor::mutable_grad() { return autograd_meta(*this).grad; }
void Tensor::set_grad(const Tensor& g) { autograd_meta(*this).grad = g; }

bool Tensor::is_leaf() const {
  AutogradMeta* m = autograd_meta_if(*this);
  return !m || !m->grad_fn;
}

std::shared_ptr<Node> Tensor::grad_fn() const {
  AutogradMeta* m = autograd_meta_if(*this);
  return m ? m->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  Tensor g = grad;
  if (!g.defined()) {
    DF_CHECK(numel() == 1, ShapeError,
             "[backward] grad can be implicit only for single-element outputs; this one has shape ",
             shape_str(shape()));
    g = Tensor::ones(shape(), dtype(), device());
  }
  autograd::backward({*this}, {g}, retain_graph);
}

void Tensor::register_hook(GradHook hook) const {
  DF_CHECK(requires_grad(), Error, "[register_hook] the tensor does not require grad");
  AutogradMeta& m = autograd_meta(*this);
  if (m.grad_fn)
    m.grad_fn->add_pre_hook(m.output_nr, std::move(hook));
  else
    m.hooks.push_back(std::move(hook));
}

void Tensor::retain_grad() const {
  DF_CHECK(requires_grad(), Error, "[retain_grad] the tensor does not require grad");
  AutogradMeta& m = autograd_meta(*this);
  if (m.grad_fn) m.grad_fn->retained()[m.output_nr] = impl_ptr();
}

}  // namespace detforge
