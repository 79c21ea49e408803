#include "autograd/op_registry.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"

namespace detforge {

const char* attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::Int: return "int";
    case AttrType::Float: return "float";
    case AttrType::Bool: return "bool";
    case AttrType::Ints: return "int[]";
    case AttrType::Floats: return "float[]";
    case AttrType::String: return "str";
  }
  return "?";
}

OpRegistry& OpRegistry::instance() {
  static OpRegistry r;
  return r;
}

void OpRegistry::add(OpSchema schema) {
  std::string name = schema.name;
  DF_CHECK(!ops_.count(name), Error, "[op registry] op '", name, "' registered twice");
  ops_.emplace(name, std::move(schema));
}

bool OpRegistry::has(const std::string& name) const { return ops_.count(name) != 0; }

const OpSchema& OpRegistry::get(const std::string& name) const {
  auto it = ops_.find(name);
  if (it != ops_.end()) return it->second;
  std::string near;
  for (auto& [n, s] : ops_)
    if (n.find(name) != std::string::npos || name.find(n) != std::string::npos) near += " " + n;
  throw Error(str_cat("[run-op] unknown op '", name, "'",
                      near.empty() ? std::string(" (see run-op --list)") : " (did you mean:" + near + "?)"));
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> r;
  for (auto& [n, s] : ops_) r.push_back(n);
  return r;
}

// ---- attribute parsing ----
namespace {
const AttrSpec* find_attr(const OpSchema* s, const std::string& name) {
  for (auto& a : s->attrs)
    if (a.name == name) return &a;
  return nullptr;
}
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> r;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep)) r.push_back(cur);
  if (!s.empty() && s.back() == sep) r.push_back("");
  return r;
}
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t[]()"), e = s.find_last_not_of(" \t[]()");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
int64_t parse_int(const std::string& op, const std::string& name, const std::string& v) {
  std::string t = trim(v);
  try {
    size_t pos = 0;
    long long x = std::stoll(t, &pos);
    if (pos == t.size()) return x;
  } catch (const std::exception&) {
  }
  throw ConfigError(str_cat("[", op, "] attribute ", name, "='", v, "' is not an integer"));
}
double parse_float(const std::string& op, const std::string& name, const std::string& v) {
  std::string t = trim(v);
  if (t == "inf" || t == "+inf") return INFINITY;
  if (t == "-inf") return -INFINITY;
  if (t == "nan") return NAN;
  try {
    size_t pos = 0;
    double x = std::stod(t, &pos);
    if (pos == t.size()) return x;
  } catch (const std::exception&) {
  }
  throw ConfigError(str_cat("[", op, "] attribute ", name, "='", v, "' is not a number"));
}
bool is_none(const std::string& v) { return v == "none" || v == "None" || v == "null"; }
}  // namespace

const std::string& OpContext::raw_attr(const std::string& name) const {
  const AttrSpec* spec = find_attr(schema_, name);
  DF_CHECK(spec, Error, "[", op_, "] internal: attribute '", name, "' is not in the schema");
  auto it = attrs_.find(name);
  if (it != attrs_.end()) return it->second;
  DF_CHECK(!spec->default_value.empty() || spec->optional, ConfigError, "[", op_,
           "] missing required attribute '", name, "' (", attr_type_name(spec->type), ")");
  return spec->default_value;
}

bool OpContext::has_attr(const std::string& name) const {
  const std::string& v = raw_attr(name);
  return !v.empty() && !is_none(v);
}

int64_t OpContext::get_int(const std::string& name) const { return parse_int(op_, name, raw_attr(name)); }
double OpContext::get_float(const std::string& name) const { return parse_float(op_, name, raw_attr(name)); }
std::string OpContext::get_string(const std::string& name) const { return raw_attr(name); }

bool OpContext::get_bool(const std::string& name) const {
  const std::string& v = raw_attr(name);
  if (v == "true" || v == "True" || v == "1") return true;
  if (v == "false" || v == "False" || v == "0") return false;
  throw ConfigError(str_cat("[", op_, "] attribute ", name, "='", v, "' is not a boolean (true/false)"));
}

std::vector<int64_t> OpContext::get_ints(const std::string& name) const {
  std::vector<int64_t> r;
  std::string v = trim(raw_attr(name));
  if (v.empty()) return r;
  for (auto& part : split(v, ',')) r.push_back(parse_int(op_, name, part));
  return r;
}

std::vector<double> OpContext::get_floats(const std::string& name) const {
  std::vector<double> r;
  std::string v = trim(raw_attr(name));
  if (v.empty()) return r;
  for (auto& part : split(v, ',')) r.push_back(parse_float(op_, name, part));
  return r;
}

std::optional<int64_t> OpContext::get_optional_int(const std::string& name) const {
  if (!has_attr(name)) return std::nullopt;
  return get_int(name);
}
std::optional<double> OpContext::get_optional_float(const std::string& name) const {
  if (!has_attr(name)) return std::nullopt;
  return get_float(name);
}

const Tensor& OpContext::input(const std::string& name) const {
  auto it = inputs_.find(name);
  DF_CHECK(it != inputs_.end() && it->second.defined(), Error, "[", op_, "] missing input tensor '",
           name, "'");
  return it->second;
}

Tensor OpContext::optional_input(const std::string& name) const {
  auto it = inputs_.find(name);
  return it == inputs_.end() ? Tensor() : it->second;
}

std::vector<Tensor> OpContext::input_list(const std::string& name) const {
  std::vector<Tensor> r;
  for (size_t i = 0;; ++i) {
    auto it = inputs_.find(name + "." + std::to_string(i));
    if (it == inputs_.end()) break;
    r.push_back(it->second);
  }
  return r;
}

// ---- running ----
namespace {
// The tensor names an input spec stands for in `tensors`: itself, or name.0, name.1, ... (up to
// the first gap) when variadic.
std::vector<std::string> input_keys(const InputSpec& spec,
                                    const std::map<std::string, Tensor>& tensors) {
  if (!spec.variadic)
    return tensors.count(spec.name) ? std::vector<std::string>{spec.name}
                                    : std::vector<std::string>{};
  std::vector<std::string> r;
  for (size_t i = 0;; ++i) {
    std::string k = spec.name + "." + std::to_string(i);
    if (!tensors.count(k)) break;
    r.push_back(k);
  }
  return r;
}
void check_attrs(const std::string& op, const OpSchema& schema, const std::map<std::string, std::string>& attrs) {
  for (auto& [k, v] : attrs) {
    if (find_attr(&schema, k)) continue;
    std::string valid;
    for (auto& a : schema.attrs) valid += (valid.empty() ? "" : ", ") + a.name;
    throw ConfigError(str_cat("[", op, "] unknown attribute '", k, "' (valid: ", valid.empty() ? "none" : valid, ")"));
  }
}
void check_inputs(const std::string& op, const OpSchema& schema, const std::map<std::string, Tensor>& tensors) {
  for (auto& spec : schema.inputs) {
    if (spec.optional || !input_keys(spec, tensors).empty()) continue;
    std::string s;
    for (auto& i : schema.inputs)
      s += (s.empty() ? "" : ", ") + i.name + (i.variadic ? ".0, " + i.name + ".1, ..." : "") +
           (i.optional ? "?" : "");
    throw Error(str_cat("[", op, "] missing input tensor '", spec.name, spec.variadic ? ".0" : "",
                        "' (inputs: ", s, ")"));
  }
}
}  // namespace

OpOutputs call_op(const std::string& op, const std::map<std::string, Tensor>& inputs,
                  const std::map<std::string, std::string>& attrs) {
  const OpSchema& schema = OpRegistry::instance().get(op);
  check_attrs(op, schema, attrs);
  check_inputs(op, schema, inputs);
  std::map<std::string, Tensor> used;
  for (auto& spec : schema.inputs)
    for (auto& k : input_keys(spec, inputs)) used[k] = inputs.at(k);
  OpOutputs outs = schema.fn(OpContext(op, used, attrs, &schema));
  DF_CHECK(outs.count("output"), Error, "[", op, "] internal: op produced no 'output'");
  return outs;
}

std::map<std::string, Tensor> run_op(const std::string& op, const std::map<std::string, Tensor>& tensors,
                                     const std::map<std::string, std::string>& attrs,
                                     const RunOpOptions& options) {
  const OpSchema& schema = OpRegistry::instance().get(op);
  check_attrs(op, schema, attrs);
  check_inputs(op, schema, tensors);
  std::map<std::string, Tensor> inputs;
  std::vector<std::string> grad_names;
  std::vector<Tensor> leaves;
  EnableGradGuard grad_on(options.backward);
  for (auto& spec : schema.inputs) {
    for (auto& k : input_keys(spec, tensors)) {
      Tensor t = tensors.at(k).to(options.device).detach();
      if (options.backward && spec.differentiable && is_floating(t.dtype())) {
        t.set_requires_grad(true);
        grad_names.push_back(k);
        leaves.push_back(t);
      }
      inputs[k] = t;
    }
  }
  OpOutputs outs = call_op(op, inputs, attrs);
  std::map<std::string, Tensor> result;
  for (auto& [k, v] : outs) result[k] = v.detach().to(kCPU);
  if (options.backward && !leaves.empty()) {
    auto go = tensors.find("grad_output");
    DF_CHECK(go != tensors.end(), Error, "[", op, "] --backward needs a tensor 'grad_output' in the input file");
    const Tensor& out = outs.at("output");
    DF_CHECK(go->second.shape() == out.shape(), ShapeError, "[", op, "] grad_output has shape ",
             shape_str(go->second.shape()), " but output has shape ", shape_str(out.shape()));
    DF_CHECK(out.requires_grad(), Error, "[", op, "] output is not differentiable");
    Tensor g = go->second.to(out.device(), out.dtype());
    auto grads = autograd::grad({out}, leaves, {g}, false, true);
    for (size_t i = 0; i < leaves.size(); ++i) {
      Tensor gi = grads[i].defined() ? grads[i]
                                     : Tensor::zeros(leaves[i].shape(), leaves[i].dtype(), leaves[i].device());
      result["grad_" + grad_names[i]] = gi.detach().to(kCPU);
    }
  }
  return result;
}

std::string describe_ops() {
  std::ostringstream os;
  for (auto& name : OpRegistry::instance().names()) {
    const OpSchema& s = OpRegistry::instance().get(name);
    os << name << "\n  inputs:";
    for (auto& i : s.inputs)
      os << " " << i.name << (i.variadic ? ".0.." : "") << (i.optional ? "?" : "");
    os << "\n  attrs: ";
    if (s.attrs.empty()) os << " (none)";
    for (auto& a : s.attrs) {
      os << " " << a.name << ":" << attr_type_name(a.type);
      if (!a.default_value.empty()) os << "=" << a.default_value;
      else if (a.optional) os << "=None";
    }
    os << "\n";
    if (!s.doc.empty()) os << "  " << s.doc << "\n";
  }
  return os.str();
}

}  // namespace detforge
