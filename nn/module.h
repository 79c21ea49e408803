// Module: named parameters (tensors requiring grad), buffers (running statistics, counters) and
// child modules, all kept in registration order, with PyTorch's dotted naming
// ("layer1.0.conv1.weight"), train/eval, visitors, deep copy, state_dict / load_state_dict and
// to(device).
//
// Subclasses keep their tensors and children in the base registry and reach them by name
// (param("weight"), child<Conv2d>("conv1")); their own members hold only plain configuration.
// This is what makes clone() a real deep copy: the subclass is copy-constructed (copying the
// configuration) and the registry is then filled with cloned tensors and cloned children, so no
// member can keep pointing at the original. Derive through Cloneable<Derived> to get
// clone_shallow().
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::nn {

using NamedTensor = std::pair<std::string, Tensor>;
using StateDict = std::map<std::string, Tensor>;

// Keys load_state_dict did not find (missing) or did not expect (unexpected), sorted.
struct LoadResult {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
};

// Parameters split for weight decay: norm-layer parameters and every bias go to no_decay.
struct ParamGroups {
  std::vector<NamedTensor> decay;
  std::vector<NamedTensor> no_decay;
};

class DETFORGE_API Module {
 public:
  Module() = default;
  virtual ~Module() = default;

  // "Conv2d", "BatchNorm2d", ... (used in messages and by parameter grouping).
  virtual std::string type_name() const = 0;
  // True for normalisation layers (BatchNorm, GroupNorm): their parameters get no weight decay.
  virtual bool is_norm() const { return false; }
  // The single-tensor forward; modules with another signature throw ConfigError.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // ---- registration (names must be unique within this module and contain no '.') ----
  Tensor& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  // Replace an existing entry (pruning, morphism); the name must exist.
  void set_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  void set_buffer(const std::string& name, Tensor value);
  void replace_module(const std::string& name, std::shared_ptr<Module> module);

  // ---- access by local name (ConfigError naming the module when absent) ----
  const Tensor& param(const std::string& name) const;
  const Tensor& buffer(const std::string& name) const;
  bool has_param(const std::string& name) const;
  bool has_buffer(const std::string& name) const;
  Module& child(const std::string& name) const;
  std::shared_ptr<Module> child_ptr(const std::string& name) const;
  template <class M>
  M& child(const std::string& name) const {
    auto* m = dynamic_cast<M*>(&child(name));
    if (!m) throw_bad_child_type(name);
    return *m;
  }
  // Dotted path ("layer1.0.conv1"); "" is this module.
  Module& submodule(const std::string& path);

  // ---- traversal (registration order, depth first, parent before children) ----
  std::vector<NamedTensor> named_parameters(bool recurse = true) const;
  std::vector<NamedTensor> named_buffers(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  // ("", this), ("conv1", ...), ("layer1", ...), ("layer1.0", ...), ...
  std::vector<std::pair<std::string, Module*>> named_modules();
  // Calls fn on every module (this one included), parent before children.
  void apply(const std::function<void(Module&)>& fn);
  void apply(const std::function<void(const std::string& path, Module&)>& fn);
  int64_t num_parameters() const;

  // ---- mode ----
  virtual void train(bool on = true);  // this module and all children
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- gradients ----
  // Drops every parameter's .grad; with set_to_none = false zeroes existing ones in place instead
  // (keeps the buffers, e.g. for elastic weights that accumulate into .grad directly).
  void zero_grad(bool set_to_none = true);

  // ---- state ----
  // Parameters and buffers under their dotted names (the tensors themselves, detached views).
  StateDict state_dict() const;
  // Copies values into the existing tensors (dtype converted, device kept). A shape mismatch always
  // throws ShapeError naming the key and both shapes; with strict, missing or unexpected keys throw
  // ConfigError listing them. Returns the missing / unexpected keys.
  LoadResult load_state_dict(const StateDict& state, bool strict = true);
  // Moves every parameter and buffer (parameters stay leaves with their requires_grad).
  void to(Device device);
  // Deep copy: new tensors (no shared storage, no autograd history), cloned children, same mode.
  std::shared_ptr<Module> clone() const;
  template <class M>
  std::shared_ptr<M> clone_as() const {
    return std::dynamic_pointer_cast<M>(clone());
  }

 protected:
  Module(const Module&) = default;  // used by Cloneable::clone_shallow only
  Module& operator=(const Module&) = delete;
  // A copy of the subclass (its configuration) sharing the registry; clone() then replaces it.
  virtual std::shared_ptr<Module> clone_shallow() const = 0;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  // For containers that reorder or rename their children (Sequential::insert / erase).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>>& mutable_children() {
    return children_;
  }

 private:
  struct Slot {
    std::string name;
    Tensor value;
  };
  std::vector<Slot> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;

  void check_new_name(const std::string& name) const;
  [[noreturn]] void throw_bad_child_type(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool recurse,
               std::vector<NamedTensor>& out) const;
  void collect_modules(const std::string& prefix,
                       std::vector<std::pair<std::string, Module*>>& out);
};

// CRTP helper providing clone_shallow() through Derived's copy constructor.
template <class Derived, class Base = Module>
class Cloneable : public Base {
 public:
  using Base::Base;

 protected:
  std::shared_ptr<Module> clone_shallow() const override {
    return std::shared_ptr<Derived>(new Derived(static_cast<const Derived&>(*this)));
  }
};

// decay: weights of conv / linear layers; no_decay: parameters of norm layers and every "bias".
DETFORGE_API ParamGroups split_decay_groups(Module& module);

}  // namespace detforge::nn
