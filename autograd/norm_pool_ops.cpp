// run-op registrations of the normalisation / pooling / resampling / padding family
// (PyTorch functional names and arguments).
#include "autograd/norm_pool.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

Shape ints(const OpContext& c, const char* name) {
  if (!c.has_attr(name)) return {};
  auto v = c.get_ints(name);
  return Shape(v.begin(), v.end());
}
std::vector<double> floats(const OpContext& c, const char* name) {
  if (!c.has_attr(name)) return {};
  return c.get_floats(name);
}

DF_REGISTER_OP({"batch_norm",
                {{"input"},
                 {"running_mean", true, false},
                 {"running_var", true, false},
                 {"weight", true},
                 {"bias", true}},
                {{"training", AttrType::Bool, "false"},
                 {"momentum", AttrType::Float, "0.1"},
                 {"eps", AttrType::Float, "1e-05"}},
                [](const OpContext& c) {
                  // run-op updates copies of the running stats (the caller's tensors stay as
                  // given: CUDA-vs-CPU replays the same inputs) and returns the updated copies.
                  Tensor rm = c.optional_input("running_mean"),
                         rv = c.optional_input("running_var");
                  if (rm.defined()) rm = rm.detach().clone();
                  if (rv.defined()) rv = rv.detach().clone();
                  OpOutputs o{
                      {"output", batch_norm(c.input("input"), rm, rv, c.optional_input("weight"),
                                            c.optional_input("bias"), c.get_bool("training"),
                                            c.get_float("momentum"), c.get_float("eps"))}};
                  if (rm.defined()) o["running_mean"] = rm;
                  if (rv.defined()) o["running_var"] = rv;
                  return o;
                },
                "F.batch_norm; outputs the (updated) running_mean / running_var too"});

DF_REGISTER_OP({"group_norm",
                {{"input"}, {"weight", true}, {"bias", true}},
                {{"num_groups", AttrType::Int, ""}, {"eps", AttrType::Float, "1e-05"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", group_norm(c.input("input"), c.get_int("num_groups"),
                                            c.optional_input("weight"), c.optional_input("bias"),
                                            c.get_float("eps"))}};
                },
                "F.group_norm"});

DF_REGISTER_OP({"layer_norm",
                {{"input"}, {"weight", true}, {"bias", true}},
                {{"normalized_shape", AttrType::Ints, ""}, {"eps", AttrType::Float, "1e-05"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", layer_norm(c.input("input"), ints(c, "normalized_shape"),
                                            c.optional_input("weight"), c.optional_input("bias"),
                                            c.get_float("eps"))}};
                },
                "F.layer_norm"});

DF_REGISTER_OP({"max_pool2d",
                {{"input"}},
                {{"kernel_size", AttrType::Ints, ""},
                 {"stride", AttrType::Ints, "", true},
                 {"padding", AttrType::Ints, "0"},
                 {"dilation", AttrType::Ints, "1"},
                 {"ceil_mode", AttrType::Bool, "false"},
                 {"return_indices", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  auto [out, idx] = max_pool2d_with_indices(
                      c.input("input"), ints(c, "kernel_size"), ints(c, "stride"),
                      ints(c, "padding"), ints(c, "dilation"), c.get_bool("ceil_mode"));
                  return OpOutputs{{"output", out}, {"indices", idx}};
                },
                "F.max_pool2d; 'indices' (flat h*W+w per plane) is always written"});

DF_REGISTER_OP({"avg_pool2d",
                {{"input"}},
                {{"kernel_size", AttrType::Ints, ""},
                 {"stride", AttrType::Ints, "", true},
                 {"padding", AttrType::Ints, "0"},
                 {"ceil_mode", AttrType::Bool, "false"},
                 {"count_include_pad", AttrType::Bool, "true"},
                 {"divisor_override", AttrType::Int, "", true}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", avg_pool2d(c.input("input"), ints(c, "kernel_size"),
                                                         ints(c, "stride"), ints(c, "padding"),
                                                         c.get_bool("ceil_mode"),
                                                         c.get_bool("count_include_pad"),
                                                         c.get_optional_int("divisor_override"))}};
                },
                "F.avg_pool2d"});

DF_REGISTER_OP(
    {"adaptive_avg_pool2d",
     {{"input"}},
     {{"output_size", AttrType::Ints, ""}},
     [](const OpContext& c) {
       return OpOutputs{{"output", adaptive_avg_pool2d(c.input("input"), ints(c, "output_size"))}};
     },
     "F.adaptive_avg_pool2d"});

DF_REGISTER_OP(
    {"upsample_nearest2d",
     {{"input"}},
     {{"output_size", AttrType::Ints, "", true}, {"scale_factors", AttrType::Floats, "", true}},
     [](const OpContext& c) {
       return OpOutputs{{"output", upsample_nearest2d(c.input("input"), ints(c, "output_size"),
                                                      floats(c, "scale_factors"))}};
     },
     "nearest upsampling (F.interpolate mode='nearest'); one of output_size, scale_factors"});

DF_REGISTER_OP(
    {"upsample_bilinear2d",
     {{"input"}},
     {{"output_size", AttrType::Ints, "", true},
      {"align_corners", AttrType::Bool, "false"},
      {"scale_factors", AttrType::Floats, "", true}},
     [](const OpContext& c) {
       return OpOutputs{{"output", upsample_bilinear2d(c.input("input"), ints(c, "output_size"),
                                                       c.get_bool("align_corners"),
                                                       floats(c, "scale_factors"))}};
     },
     "bilinear upsampling (F.interpolate mode='bilinear'); one of output_size, scale_factors"});

DF_REGISTER_OP({"pad",
                {{"input"}},
                {{"pad", AttrType::Ints, ""},
                 {"mode", AttrType::String, "constant"},
                 {"value", AttrType::Float, "0"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", pad(c.input("input"), ints(c, "pad"),
                                                  c.get_string("mode"), c.get_float("value"))}};
                },
                "F.pad (pairs from the last dim); constant, reflect, replicate"});

}  // namespace
}  // namespace detforge
