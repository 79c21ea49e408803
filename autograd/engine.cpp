#include "autograd/engine.h"

#include <unordered_map>
#include <unordered_set>

#include "autograd/autograd_meta.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"

namespace detforge::autograd {
namespace {

thread_local bool t_leaf_accumulating = false;
struct LeafModeGuard {
  bool prev;
  explicit LeafModeGuard(bool on) : prev(t_leaf_accumulating) { t_leaf_accumulating = on; }
  ~LeafModeGuard() { t_leaf_accumulating = prev; }
};

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = autograd_meta_if(t);
  if (m && m->grad_fn) return Edge{m->grad_fn, m->output_nr};
  if (m && m->requires_grad) return Edge{grad_accumulator(t), 0};
  return Edge{};
}

void accumulate(std::vector<Tensor>& slot_vec, int slot, const Tensor& g) {
  Tensor& s = slot_vec[slot];
  s = s.defined() ? add(s, g) : g;
}

// Runs the graph. With `capture`, gradients arriving at the captured edges are stored there and
// leaves' .grad are not touched.
void execute(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph,
             std::vector<std::pair<Edge, Tensor>>* capture) {
  DF_CHECK(roots.size() == grads.size(), Error, "[backward] ", roots.size(), " roots but ",
           grads.size(), " gradients");
  NoGradGuard no_grad;
  LeafModeGuard leaf_mode(capture == nullptr);
  std::vector<Edge> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    Edge e = gradient_edge(roots[i]);
    DF_CHECK(e.valid(), Error, "[backward] root ", i,
             " does not require grad and has no grad_fn (nothing to differentiate)");
    DF_CHECK(grads[i].shape() == roots[i].shape(), ShapeError, "[backward] gradient of shape ",
             shape_str(grads[i].shape()), " for a root of shape ", shape_str(roots[i].shape()));
    root_edges.push_back(e);
  }
  // Discover the graph and count, per node, the edges that point at it.
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& e : root_edges)
    if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& e : n->next_edges()) {
      if (!e.valid()) continue;
      ++deps[e.fn.get()];
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep;  // owning refs while pending
  auto buffer_of = [&](const std::shared_ptr<Node>& n) -> std::vector<Tensor>& {
    auto it = buffers.find(n.get());
    if (it != buffers.end()) return it->second;
    keep[n.get()] = n;
    return buffers.emplace(n.get(), std::vector<Tensor>(std::max<size_t>(n->num_outputs(), 1)))
        .first->second;
  };
  for (size_t i = 0; i < roots.size(); ++i)
    accumulate(buffer_of(root_edges[i].fn), root_edges[i].input_nr, grads[i]);

  std::vector<std::shared_ptr<Node>> ready;
  for (auto& e : root_edges)
    if (deps[e.fn.get()] == 0) {
      bool dup = false;
      for (auto& r : ready) dup |= r == e.fn;
      if (!dup) ready.push_back(e.fn);
    }

  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    std::vector<Tensor> in = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    keep.erase(node.get());
    for (size_t k = 0; k < in.size(); ++k) {
      if (!in[k].defined() && k < node->num_outputs()) {
        const OutputMeta& m = node->output_meta()[k];
        in[k] = Tensor::zeros(m.shape, m.dtype, m.device);
      }
    }
    for (auto& [nr, hooks] : node->pre_hooks()) {
      for (auto& h : hooks) {
        Tensor r = h(in[nr]);
        if (r.defined()) in[nr] = r;
      }
    }
    for (auto& [nr, weak] : node->retained()) {
      if (auto impl = weak.lock()) {
        Tensor t(impl);
        AutogradMeta& m = autograd_meta(t);
        m.grad = m.grad.defined() ? add(m.grad, in[nr]) : in[nr].clone();
      }
    }
    bool is_accumulate = dynamic_cast<AccumulateGrad*>(node.get()) != nullptr;
    if (capture) {
      for (auto& [edge, g] : *capture)
        if (edge.fn == node) g = g.defined() ? add(g, in[edge.input_nr]) : in[edge.input_nr];
      if (is_accumulate) continue;
    }
    std::vector<Tensor> out = node->apply(in);
    if (!retain_graph) node->release_variables();
    auto& edges = node->next_edges();
    for (size_t j = 0; j < edges.size(); ++j) {
      const Edge& e = edges[j];
      if (!e.valid()) continue;
      if (j < out.size() && out[j].defined()) accumulate(buffer_of(e.fn), e.input_nr, out[j]);
      if (--deps[e.fn.get()] == 0) {
        buffer_of(e.fn);  // a node may receive only undefined grads: still run it (zeros)
        ready.push_back(e.fn);
      }
    }
  }
}

}  // namespace

bool leaf_grads_accumulating() {
  return t_leaf_accumulating;
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph) {
  execute(roots, grads, retain_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool allow_unused) {
  std::vector<std::pair<Edge, Tensor>> capture;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Edge e = gradient_edge(inputs[i]);
    DF_CHECK(e.valid(), Error, "[autograd::grad] input ", i, " does not require grad");
    capture.push_back({e, Tensor()});
  }
  execute(outputs, grad_outputs, retain_graph, &capture);
  std::vector<Tensor> result;
  for (size_t i = 0; i < capture.size(); ++i) {
    DF_CHECK(capture[i].second.defined() || allow_unused, Error, "[autograd::grad] input ", i,
             " is not reachable from the outputs (pass allow_unused=true)");
    result.push_back(capture[i].second);
  }
  return result;
}

}  // namespace detforge::autograd
