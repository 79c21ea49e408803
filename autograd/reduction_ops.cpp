// run-op registrations of the reduction family (PyTorch functional names and arguments).
#include "autograd/op_registry.h"
#include "autograd/reduction.h"

namespace detforge {
namespace {

Shape dims_attr(const OpContext& c) {
  if (!c.has_attr("dim")) return {};
  auto v = c.get_ints("dim");
  return Shape(v.begin(), v.end());
}

// var/std: `unbiased` (bool) or `correction` (int), PyTorch 1.13 accepts either; default unbiased.
double correction_attr(const OpContext& c) {
  auto corr = c.get_optional_int("correction");
  bool has_unbiased = c.has_attr("unbiased");
  DF_CHECK(!(corr && has_unbiased), ConfigError, "[", c.op(),
           "] give either 'unbiased' or 'correction', not both");
  if (corr) return static_cast<double>(*corr);
  return has_unbiased ? (c.get_bool("unbiased") ? 1.0 : 0.0) : 1.0;
}

#define DF_DIMS_KEEPDIM                \
  {"dim", AttrType::Ints, "", true}, { \
    "keepdim", AttrType::Bool, "false" \
  }

DF_REGISTER_OP(
    {"sum",
     {{"input"}},
     {DF_DIMS_KEEPDIM},
     [](const OpContext& c) {
       return OpOutputs{{"output", sum(c.input("input"), dims_attr(c), c.get_bool("keepdim"))}};
     },
     "sum over dim (all dims when absent); integer inputs sum to int64"});
DF_REGISTER_OP(
    {"mean",
     {{"input"}},
     {DF_DIMS_KEEPDIM},
     [](const OpContext& c) {
       return OpOutputs{{"output", mean(c.input("input"), dims_attr(c), c.get_bool("keepdim"))}};
     },
     "mean over dim (all dims when absent)"});
DF_REGISTER_OP({"var",
                {{"input"}},
                {DF_DIMS_KEEPDIM,
                 {"unbiased", AttrType::Bool, "", true},
                 {"correction", AttrType::Int, "", true}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", var(c.input("input"), dims_attr(c),
                                                  correction_attr(c), c.get_bool("keepdim"))}};
                },
                "variance over dim; unbiased (bool) or correction (int), default unbiased"});
DF_REGISTER_OP(
    {"std",
     {{"input"}},
     {DF_DIMS_KEEPDIM,
      {"unbiased", AttrType::Bool, "", true},
      {"correction", AttrType::Int, "", true}},
     [](const OpContext& c) {
       return OpOutputs{{"output", std(c.input("input"), dims_attr(c), correction_attr(c),
                                       c.get_bool("keepdim"))}};
     },
     "standard deviation over dim; unbiased (bool) or correction (int), default unbiased"});
DF_REGISTER_OP(
    {"max",
     {{"input"}},
     {{"dim", AttrType::Int, "", true}, {"keepdim", AttrType::Bool, "false"}},
     [](const OpContext& c) {
       auto d = c.get_optional_int("dim");
       if (!d) return OpOutputs{{"output", amax(c.input("input"))}};
       auto [v, i] = max(c.input("input"), *d, c.get_bool("keepdim"));
       return OpOutputs{{"output", v}, {"indices", i}};
     },
     "torch.max(input, dim, keepdim): output = values, second output 'indices'; without dim the "
     "maximum of all elements"});
DF_REGISTER_OP(
    {"min",
     {{"input"}},
     {{"dim", AttrType::Int, "", true}, {"keepdim", AttrType::Bool, "false"}},
     [](const OpContext& c) {
       auto d = c.get_optional_int("dim");
       if (!d) return OpOutputs{{"output", amin(c.input("input"))}};
       auto [v, i] = min(c.input("input"), *d, c.get_bool("keepdim"));
       return OpOutputs{{"output", v}, {"indices", i}};
     },
     "torch.min(input, dim, keepdim): output = values, second output 'indices'; without dim the "
     "minimum of all elements"});
DF_REGISTER_OP(
    {"amax",
     {{"input"}},
     {DF_DIMS_KEEPDIM},
     [](const OpContext& c) {
       return OpOutputs{{"output", amax(c.input("input"), dims_attr(c), c.get_bool("keepdim"))}};
     },
     "maximum over dim; the gradient is split evenly among ties"});
DF_REGISTER_OP(
    {"amin",
     {{"input"}},
     {DF_DIMS_KEEPDIM},
     [](const OpContext& c) {
       return OpOutputs{{"output", amin(c.input("input"), dims_attr(c), c.get_bool("keepdim"))}};
     },
     "minimum over dim; the gradient is split evenly among ties"});
DF_REGISTER_OP(
    {"argmax",
     {{"input", false, false}},
     {{"dim", AttrType::Int, "", true}, {"keepdim", AttrType::Bool, "false"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", argmax(c.input("input"), c.get_optional_int("dim"), c.get_bool("keepdim"))}};
     },
     "index of the maximum along dim (flattened input when absent); first index on ties"});
DF_REGISTER_OP(
    {"argmin",
     {{"input", false, false}},
     {{"dim", AttrType::Int, "", true}, {"keepdim", AttrType::Bool, "false"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", argmin(c.input("input"), c.get_optional_int("dim"), c.get_bool("keepdim"))}};
     },
     "index of the minimum along dim (flattened input when absent); first index on ties"});
DF_REGISTER_OP({"logsumexp",
                {{"input"}},
                {{"dim", AttrType::Ints, ""}, {"keepdim", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", logsumexp(c.input("input"), dims_attr(c), c.get_bool("keepdim"))}};
                },
                "log(sum(exp(input))) over dim, computed with a max shift"});
DF_REGISTER_OP({"norm",
                {{"input"}},
                {{"p", AttrType::Float, "2"}, DF_DIMS_KEEPDIM},
                [](const OpContext& c) {
                  return OpOutputs{{"output", norm(c.input("input"), c.get_float("p"), dims_attr(c),
                                                   c.get_bool("keepdim"))}};
                },
                "vector p-norm (p = 1 or 2) over dim (all dims when absent)"});
DF_REGISTER_OP({"softmax",
                {{"input"}},
                {{"dim", AttrType::Int, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", softmax(c.input("input"), c.get_int("dim"))}};
                },
                "exp(x - max) / sum(exp(x - max)) along dim, fused per row"});
DF_REGISTER_OP({"log_softmax",
                {{"input"}},
                {{"dim", AttrType::Int, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", log_softmax(c.input("input"), c.get_int("dim"))}};
                },
                "x - max - log(sum(exp(x - max))) along dim, fused per row"});

}  // namespace
}  // namespace detforge
