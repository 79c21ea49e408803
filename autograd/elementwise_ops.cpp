// run-op registrations of the elementwise family (PyTorch functional names and arguments).
#include "autograd/elementwise.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

OpSchema binary_schema(const char* name, Tensor (*fn)(const Tensor&, const Tensor&)) {
  return OpSchema{name, {{"input"}, {"other"}}, {},
                  [fn](const OpContext& c) { return OpOutputs{{"output", fn(c.input("input"), c.input("other"))}}; }};
}
OpSchema unary_schema(const char* name, Tensor (*fn)(const Tensor&)) {
  return OpSchema{name, {{"input"}}, {}, [fn](const OpContext& c) { return OpOutputs{{"output", fn(c.input("input"))}}; }};
}

DF_REGISTER_OP({"add", {{"input"}, {"other"}}, {{"alpha", AttrType::Float, "1"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", add(c.input("input"), c.input("other"), c.get_float("alpha"))}};
                },
                "input + alpha * other"});
DF_REGISTER_OP({"sub", {{"input"}, {"other"}}, {{"alpha", AttrType::Float, "1"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", sub(c.input("input"), c.input("other"), c.get_float("alpha"))}};
                },
                "input - alpha * other"});
static OpRegistrar r_mul(binary_schema("mul", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&mul)));
static OpRegistrar r_div(binary_schema("div", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&div)));
static OpRegistrar r_relu(unary_schema("relu", &relu));
static OpRegistrar r_exp(unary_schema("exp", &exp));
static OpRegistrar r_neg(unary_schema("neg", &neg));

}  // namespace
}  // namespace detforge
