// run-op registrations of the elementwise family (PyTorch functional names and arguments).
#include "autograd/elementwise.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

using BinFn = Tensor (*)(const Tensor&, const Tensor&);
using UnFn = Tensor (*)(const Tensor&);

OpSchema binary_schema(const char* name, BinFn fn, const char* doc, bool differentiable = true) {
  return OpSchema{name,
                  {{"input", false, differentiable}, {"other", false, differentiable}},
                  {},
                  [fn](const OpContext& c) {
                    return OpOutputs{{"output", fn(c.input("input"), c.input("other"))}};
                  },
                  doc};
}
OpSchema unary_schema(const char* name, UnFn fn, const char* doc) {
  return OpSchema{name,
                  {{"input"}},
                  {},
                  [fn](const OpContext& c) {
                    return OpOutputs{{"output", fn(c.input("input"))}};
                  },
                  doc};
}

DF_REGISTER_OP(
    {"add",
     {{"input"}, {"other"}},
     {{"alpha", AttrType::Float, "1"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", add(c.input("input"), c.input("other"), c.get_float("alpha"))}};
     },
     "input + alpha * other (broadcasting, type promotion)"});
DF_REGISTER_OP(
    {"sub",
     {{"input"}, {"other"}},
     {{"alpha", AttrType::Float, "1"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", sub(c.input("input"), c.input("other"), c.get_float("alpha"))}};
     },
     "input - alpha * other"});
DF_REGISTER_OP(
    {"div",
     {{"input"}, {"other"}},
     {{"rounding_mode", AttrType::String, "none"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", div(c.input("input"), c.input("other"), c.get_string("rounding_mode"))}};
     },
     "input / other; rounding_mode none (true division, ints promote to float) | trunc | floor"});
DF_REGISTER_OP({"pow",
                {{"input"}, {"exponent", true}},
                {{"exponent_scalar", AttrType::Float, "", true}},
                [](const OpContext& c) {
                  Tensor e = c.optional_input("exponent");
                  auto s = c.get_optional_float("exponent_scalar");
                  DF_CHECK(
                      e.defined() != s.has_value(), ConfigError,
                      "[pow] give exactly one of the input tensor 'exponent' and the attribute "
                      "'exponent_scalar'");
                  return OpOutputs{{"output", e.defined() ? pow(c.input("input"), e)
                                                          : pow(c.input("input"), *s)}};
                },
                "input ** exponent. The exponent is either the tensor input 'exponent' (broadcast, "
                "torch.pow(Tensor, Tensor)) or the float attribute 'exponent_scalar' "
                "(torch.pow(Tensor, Scalar)); exactly one must be given"});
DF_REGISTER_OP({"clamp",
                {{"input"}},
                {{"min", AttrType::Float, "", true}, {"max", AttrType::Float, "", true}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", clamp(c.input("input"), c.get_optional_float("min"),
                                                    c.get_optional_float("max"))}};
                },
                "min(max(input, min), max); min and max optional (at least one)"});
DF_REGISTER_OP(
    {"leaky_relu",
     {{"input"}},
     {{"negative_slope", AttrType::Float, "0.01"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", leaky_relu(c.input("input"), c.get_float("negative_slope"))}};
     },
     "input if input > 0 else negative_slope * input"});
DF_REGISTER_OP({"gelu",
                {{"input"}},
                {{"approximate", AttrType::String, "none"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", gelu(c.input("input"), c.get_string("approximate"))}};
                },
                "GELU; approximate none (erf) | tanh"});
DF_REGISTER_OP({"where",
                {{"condition", false, false}, {"input"}, {"other"}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", where(c.input("condition"), c.input("input"), c.input("other"))}};
                },
                "condition ? input : other (broadcasting all three; condition bool)"});

static OpRegistrar r_mul(binary_schema("mul", static_cast<BinFn>(&mul), "input * other"));
static OpRegistrar r_minimum(binary_schema("minimum", &minimum,
                                           "elementwise min (NaN propagates)"));
static OpRegistrar r_maximum(binary_schema("maximum", &maximum,
                                           "elementwise max (NaN propagates)"));
static OpRegistrar r_eq(binary_schema("eq", &eq, "input == other (bool)", false));
static OpRegistrar r_ne(binary_schema("ne", &ne, "input != other (bool)", false));
static OpRegistrar r_lt(binary_schema("lt", &lt, "input < other (bool)", false));
static OpRegistrar r_le(binary_schema("le", &le, "input <= other (bool)", false));
static OpRegistrar r_gt(binary_schema("gt", &gt, "input > other (bool)", false));
static OpRegistrar r_ge(binary_schema("ge", &ge, "input >= other (bool)", false));

static OpRegistrar r_neg(unary_schema("neg", &neg, "-input"));
static OpRegistrar r_abs(unary_schema("abs", &abs, "|input|"));
static OpRegistrar r_sign(unary_schema("sign", &sign, "-1, 0 or 1"));
static OpRegistrar r_exp(unary_schema("exp", &exp, "e ** input"));
static OpRegistrar r_log(unary_schema("log", &log, "natural logarithm"));
static OpRegistrar r_sqrt(unary_schema("sqrt", &sqrt, "square root"));
static OpRegistrar r_rsqrt(unary_schema("rsqrt", &rsqrt, "1 / sqrt(input)"));
static OpRegistrar r_relu(unary_schema("relu", &relu, "max(input, 0)"));
static OpRegistrar r_relu6(unary_schema("relu6", &relu6, "min(max(input, 0), 6)"));
static OpRegistrar r_sigmoid(unary_schema("sigmoid", &sigmoid, "1 / (1 + exp(-input))"));
static OpRegistrar r_tanh(unary_schema("tanh", &tanh, "hyperbolic tangent"));
static OpRegistrar r_silu(unary_schema("silu", &silu, "input * sigmoid(input)"));
static OpRegistrar r_hardswish(unary_schema("hardswish", &hardswish,
                                            "input * relu6(input + 3) / 6"));

}  // namespace
}  // namespace detforge
