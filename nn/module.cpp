#include "nn/module.h"

#include <algorithm>
#include <set>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
std::string list(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
  return s;
}
// A fresh leaf with the same values (no shared storage, no history).
Tensor fresh_copy(const Tensor& t, bool requires_grad) {
  NoGradGuard no_grad;
  Tensor c = raw::contiguous(t);
  if (c.is_same(t) || c.shares_storage(t)) {
    c = Tensor::empty(t.shape(), t.dtype(), t.device());
    raw::copy(c, t);
  }
  c = raw::detach(c);
  if (requires_grad) c.set_requires_grad(true);
  return c;
}
}  // namespace

Tensor Module::forward(const Tensor&) {
  throw ConfigError(str_cat("[nn.", type_name(), "] has no single-tensor forward(Tensor)"));
}

void Module::check_new_name(const std::string& name) const {
  DF_CHECK(!name.empty() && name.find('.') == std::string::npos, ConfigError, "[nn.", type_name(),
           "] invalid member name \"", name, "\" (empty or containing '.')");
  bool taken = has_param(name) || has_buffer(name) ||
               std::any_of(children_.begin(), children_.end(),
                           [&](const auto& c) { return c.first == name; });
  DF_CHECK(!taken, ConfigError, "[nn.", type_name(), "] member \"", name, "\" registered twice");
}

Tensor& Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name);
  if (value.defined()) {
    value = raw::detach(value);
    if (requires_grad) value.set_requires_grad(true);
  }
  params_.push_back({name, value});
  return params_.back().value;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  buffers_.push_back({name, value.defined() ? raw::detach(value) : value});
  return buffers_.back().value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  DF_CHECK(module != nullptr, ConfigError, "[nn.", type_name(), "] child \"", name, "\" is null");
  children_.emplace_back(name, std::move(module));
}

void Module::set_parameter(const std::string& name, Tensor value, bool requires_grad) {
  for (auto& s : params_)
    if (s.name == name) {
      value = raw::detach(value);
      if (requires_grad) value.set_requires_grad(true);
      s.value = value;
      return;
    }
  throw ConfigError(str_cat("[nn.", type_name(), "] no parameter \"", name, "\""));
}

void Module::set_buffer(const std::string& name, Tensor value) {
  for (auto& s : buffers_)
    if (s.name == name) {
      s.value = raw::detach(value);
      return;
    }
  throw ConfigError(str_cat("[nn.", type_name(), "] no buffer \"", name, "\""));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  DF_CHECK(module != nullptr, ConfigError, "[nn.", type_name(), "] child \"", name, "\" is null");
  for (auto& c : children_)
    if (c.first == name) {
      c.second = std::move(module);
      return;
    }
  throw ConfigError(str_cat("[nn.", type_name(), "] no child module \"", name, "\""));
}

const Tensor& Module::param(const std::string& name) const {
  for (const auto& s : params_)
    if (s.name == name) return s.value;
  throw ConfigError(str_cat("[nn.", type_name(), "] no parameter \"", name, "\""));
}

const Tensor& Module::buffer(const std::string& name) const {
  for (const auto& s : buffers_)
    if (s.name == name) return s.value;
  throw ConfigError(str_cat("[nn.", type_name(), "] no buffer \"", name, "\""));
}

bool Module::has_param(const std::string& name) const {
  return std::any_of(params_.begin(), params_.end(), [&](const Slot& s) { return s.name == name; });
}
bool Module::has_buffer(const std::string& name) const {
  return std::any_of(buffers_.begin(), buffers_.end(),
                     [&](const Slot& s) { return s.name == name; });
}

std::shared_ptr<Module> Module::child_ptr(const std::string& name) const {
  for (const auto& c : children_)
    if (c.first == name) return c.second;
  throw ConfigError(str_cat("[nn.", type_name(), "] no child module \"", name, "\""));
}

Module& Module::child(const std::string& name) const {
  return *child_ptr(name);
}

void Module::throw_bad_child_type(const std::string& name) const {
  throw ConfigError(str_cat("[nn.", type_name(), "] child \"", name, "\" is a ",
                            child(name).type_name(), ", not the requested type"));
}

Module& Module::submodule(const std::string& path) {
  Module* m = this;
  size_t start = 0;
  while (start < path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    m = &m->child(path.substr(start, dot - start));
    start = dot + 1;
  }
  return *m;
}

void Module::collect(const std::string& prefix, bool params, bool recurse,
                     std::vector<NamedTensor>& out) const {
  for (const auto& s : params ? params_ : buffers_)
    if (s.value.defined()) out.emplace_back(join(prefix, s.name), s.value);
  if (!recurse) return;
  for (const auto& c : children_) c.second->collect(join(prefix, c.first), params, true, out);
}

std::vector<NamedTensor> Module::named_parameters(bool recurse) const {
  std::vector<NamedTensor> out;
  collect("", true, recurse, out);
  return out;
}

std::vector<NamedTensor> Module::named_buffers(bool recurse) const {
  std::vector<NamedTensor> out;
  collect("", false, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters(recurse)) out.push_back(p.second);
  return out;
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, Module*>>& out) {
  out.emplace_back(prefix, this);
  for (auto& c : children_) c.second->collect_modules(join(prefix, c.first), out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& m : named_modules()) fn(*m.second);
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  for (auto& m : named_modules()) fn(m.first, *m.second);
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& p : named_parameters()) n += p.second.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& p : named_parameters()) {
    if (set_to_none)
      p.second.set_grad(Tensor());
    else if (p.second.grad().defined())
      p.second.mutable_grad().zero_();
  }
}

StateDict Module::state_dict() const {
  StateDict out;
  for (auto& p : named_parameters()) out[p.first] = raw::detach(p.second);
  for (auto& b : named_buffers()) out[b.first] = b.second;
  return out;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<NamedTensor> own = named_parameters();
  for (auto& b : named_buffers()) own.push_back(b);
  LoadResult r;
  std::set<std::string> own_keys;
  std::vector<std::string> mismatched;
  for (auto& kv : own) {
    own_keys.insert(kv.first);
    auto it = state.find(kv.first);
    if (it == state.end()) {
      r.missing.push_back(kv.first);
    } else if (!it->second.defined()) {
      mismatched.push_back(str_cat("\"", kv.first, "\": checkpoint tensor undefined, model ",
                                   shape_str(kv.second.shape())));
    } else if (it->second.shape() != kv.second.shape()) {
      mismatched.push_back(str_cat("\"", kv.first, "\": checkpoint ", shape_str(it->second.shape()),
                                   ", model ", shape_str(kv.second.shape())));
    }
  }
  for (auto& kv : state)
    if (!own_keys.count(kv.first)) r.unexpected.push_back(kv.first);
  std::sort(r.missing.begin(), r.missing.end());
  if (!mismatched.empty()) {
    std::string msg = str_cat("[nn.load_state_dict] ", type_name(), ": size mismatch for ");
    for (size_t i = 0; i < mismatched.size(); ++i) msg += (i ? "; " : "") + mismatched[i];
    throw ShapeError(msg);
  }
  if (strict && (!r.missing.empty() || !r.unexpected.empty())) {
    std::string msg = str_cat("[nn.load_state_dict] ", type_name(), ":");
    if (!r.missing.empty()) msg += " missing keys: " + list(r.missing) + ".";
    if (!r.unexpected.empty()) msg += " unexpected keys: " + list(r.unexpected) + ".";
    throw ConfigError(msg);
  }
  NoGradGuard no_grad;
  for (auto& kv : own) {
    auto it = state.find(kv.first);
    if (it != state.end()) raw::copy(kv.second, it->second);
  }
  return r;
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& s : params_)
    if (s.value.defined() && s.value.device() != device) {
      bool rg = s.value.requires_grad();
      Tensor moved = raw::detach(raw::to(s.value, device, s.value.dtype()));
      if (rg) moved.set_requires_grad(true);
      s.value = moved;
    }
  for (auto& s : buffers_)
    if (s.value.defined() && s.value.device() != device)
      s.value = raw::to(s.value, device, s.value.dtype());
  for (auto& c : children_) c.second->to(device);
}

std::shared_ptr<Module> Module::clone() const {
  std::shared_ptr<Module> c = clone_shallow();
  for (auto& s : c->params_)
    if (s.value.defined()) s.value = fresh_copy(s.value, s.value.requires_grad());
  for (auto& s : c->buffers_)
    if (s.value.defined()) s.value = fresh_copy(s.value, false);
  for (auto& ch : c->children_) ch.second = ch.second->clone();
  c->training_ = training_;
  return c;
}

ParamGroups split_decay_groups(Module& module) {
  ParamGroups g;
  module.apply([&](const std::string& path, Module& m) {
    for (auto& p : m.named_parameters(false)) {
      std::string name = path.empty() ? p.first : path + "." + p.first;
      if (m.is_norm() || p.first == "bias")
        g.no_decay.emplace_back(name, p.second);
      else
        g.decay.emplace_back(name, p.second);
    }
  });
  return g;
}

}  // namespace detforge::nn
