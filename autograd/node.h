// Graph nodes: a Node turns gradients w.r.t. its forward outputs into gradients w.r.t. its
// forward inputs, which flow along next_edges.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;  // null: no gradient needed for this input
  int input_nr = 0;          // which of fn's gradient slots this edge feeds
  bool valid() const { return fn != nullptr; }
};

// Shape/dtype/device of a forward output, to materialise a zero gradient when none arrives.
struct OutputMeta {
  Shape shape;
  DType dtype = DType::f32;
  Device device;
};

class DETFORGE_API Node : public std::enable_shared_from_this<Node> {
 public:
  explicit Node(std::string name) : name_(std::move(name)) {}
  virtual ~Node() = default;

  // grads[i] is the gradient w.r.t. forward output i (never undefined: the engine fills zeros).
  // Returns one gradient per next edge (undefined where the input needs none).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grads) = 0;
  // Frees saved tensors after a backward pass without retain_graph.
  virtual void release_variables() {}

  const std::string& name() const { return name_; }
  std::vector<Edge>& next_edges() { return next_edges_; }
  std::vector<OutputMeta>& output_meta() { return output_meta_; }
  size_t num_outputs() const { return output_meta_.size(); }
  // Hooks on the gradient of forward output `i` (non-leaf Tensor::register_hook).
  void add_pre_hook(int output_nr, GradHook hook) { pre_hooks_[output_nr].push_back(std::move(hook)); }
  std::map<int, std::vector<GradHook>>& pre_hooks() { return pre_hooks_; }
  // Output numbers whose gradient is kept in the tensor's .grad (retain_grad on non-leaves).
  std::map<int, std::weak_ptr<TensorImpl>>& retained() { return retained_; }

 private:
  std::string name_;
  std::vector<Edge> next_edges_;
  std::vector<OutputMeta> output_meta_;
  std::map<int, std::vector<GradHook>> pre_hooks_;
  std::map<int, std::weak_ptr<TensorImpl>> retained_;
};

// The usual node: a backward closure over saved (detached) tensors.
// fn(grads, needs) returns one gradient per forward input; needs[i] tells whether input i wants one.
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads,
                                                     const std::vector<bool>& needs)>;

class DETFORGE_API LambdaNode : public Node {
 public:
  LambdaNode(std::string name, BackwardFn fn) : Node(std::move(name)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override;
  void release_variables() override { fn_ = nullptr; }

 private:
  BackwardFn fn_;
};

// Sink for a leaf tensor: adds the incoming gradient to its .grad.
class DETFORGE_API AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(Tensor variable) : Node("AccumulateGrad"), variable_(std::move(variable)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override;
  const Tensor& variable() const { return variable_; }

 private:
  Tensor variable_;
};

}  // namespace detforge
