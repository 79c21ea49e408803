// The registry behind `detforge run-op`: every op under PyTorch's functional name, with its named
// inputs and attributes. Op families register themselves next to their differentiable functions
// (autograd/<family>_ops.cpp) with DF_REGISTER_OP.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

enum class AttrType { Int, Float, Bool, Ints, Floats, String };
DETFORGE_API const char* attr_type_name(AttrType t);

struct InputSpec {
  std::string name;
  bool optional = false;
  bool differentiable = true;  // --backward writes grad_<name> when the input is floating
  // A list of tensors (cat, stack): stored as <name>.0, <name>.1, ... (at least one unless
  // optional); --backward writes grad_<name>.0, ...
  bool variadic = false;
};

struct AttrSpec {
  std::string name;
  AttrType type;
  std::string default_value;  // as written on the command line; "" = required (unless optional)
  bool optional = false;      // absent means "None"
};

class DETFORGE_API OpContext {
 public:
  OpContext(std::string op, std::map<std::string, Tensor> inputs, std::map<std::string, std::string> attrs,
            const struct OpSchema* schema)
      : op_(std::move(op)), inputs_(std::move(inputs)), attrs_(std::move(attrs)), schema_(schema) {}
  const Tensor& input(const std::string& name) const;        // required input
  Tensor optional_input(const std::string& name) const;      // undefined when absent
  std::vector<Tensor> input_list(const std::string& name) const;  // variadic: name.0, name.1, ...
  bool has_attr(const std::string& name) const;               // given or defaulted (not None)
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  std::vector<int64_t> get_ints(const std::string& name) const;
  std::vector<double> get_floats(const std::string& name) const;
  std::optional<int64_t> get_optional_int(const std::string& name) const;
  std::optional<double> get_optional_float(const std::string& name) const;
  const std::string& op() const { return op_; }

 private:
  const std::string& raw_attr(const std::string& name) const;
  std::string op_;
  std::map<std::string, Tensor> inputs_;
  std::map<std::string, std::string> attrs_;
  const struct OpSchema* schema_;
};

using OpOutputs = std::map<std::string, Tensor>;  // "output" first; further outputs by name

struct OpSchema {
  std::string name;
  std::vector<InputSpec> inputs;
  std::vector<AttrSpec> attrs;
  std::function<OpOutputs(const OpContext&)> fn;
  std::string doc;
};

class DETFORGE_API OpRegistry {
 public:
  static OpRegistry& instance();
  void add(OpSchema schema);
  const OpSchema& get(const std::string& name) const;  // Error naming close matches when unknown
  bool has(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, OpSchema> ops_;
};

struct RunOpOptions {
  Device device = kCPU;
  bool backward = false;
};

// Validates inputs and attributes against the schema, runs the op (and, with backward, the
// gradient of `output` against grad_output), and returns named results on the CPU:
// "output", further outputs, and grad_<input> for every differentiable floating input.
DETFORGE_API std::map<std::string, Tensor> run_op(const std::string& op,
                                                  const std::map<std::string, Tensor>& tensors,
                                                  const std::map<std::string, std::string>& attrs,
                                                  const RunOpOptions& options = {});

// Validates attribute names and required inputs, then calls the op on `inputs` as given (same
// device, graph recorded when grad mode is on). For gradchecks and embedding.
DETFORGE_API OpOutputs call_op(const std::string& op, const std::map<std::string, Tensor>& inputs,
                               const std::map<std::string, std::string>& attrs);

// Human-readable list of ops with inputs and attributes (`detforge run-op --list`).
DETFORGE_API std::string describe_ops();

struct OpRegistrar {
  explicit OpRegistrar(OpSchema s) { OpRegistry::instance().add(std::move(s)); }
};

}  // namespace detforge

#define DF_OP_CAT2(a, b) a##b
#define DF_OP_CAT(a, b) DF_OP_CAT2(a, b)
// DF_REGISTER_OP({"name", {inputs}, {attrs}, fn, "doc"});
#define DF_REGISTER_OP(...) \
  static ::detforge::OpRegistrar DF_OP_CAT(df_op_registrar_, __COUNTER__)(::detforge::OpSchema __VA_ARGS__)
