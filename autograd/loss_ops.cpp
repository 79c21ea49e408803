// run-op registrations of the losses (torch.nn.functional names and arguments).
#include "autograd/loss.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

const AttrSpec kReduction{"reduction", AttrType::String, "mean"};

DF_REGISTER_OP(
    {"cross_entropy",
     {{"input"}, {"target"}, {"weight", true, false}},
     {{"ignore_index", AttrType::Int, "-100"},
      kReduction,
      {"label_smoothing", AttrType::Float, "0"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", cross_entropy(c.input("input"), c.input("target"), c.optional_input("weight"),
                                    c.get_int("ignore_index"), c.get_string("reduction"),
                                    c.get_float("label_smoothing"))}};
     },
     "log_softmax + nll_loss with label smoothing; target: int64 class indices or probabilities"});

DF_REGISTER_OP({"binary_cross_entropy_with_logits",
                {{"input"}, {"target"}, {"weight", true, false}, {"pos_weight", true, false}},
                {kReduction},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output",
                       binary_cross_entropy_with_logits(
                           c.input("input"), c.input("target"), c.optional_input("weight"),
                           c.get_string("reduction"), c.optional_input("pos_weight"))}};
                },
                "sigmoid + binary cross entropy, numerically stable"});

DF_REGISTER_OP({"smooth_l1_loss",
                {{"input"}, {"target"}},
                {kReduction, {"beta", AttrType::Float, "1"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", smooth_l1_loss(c.input("input"), c.input("target"),
                                                c.get_string("reduction"), c.get_float("beta"))}};
                },
                "Huber-style loss; beta 0 is l1_loss"});

DF_REGISTER_OP({"l1_loss",
                {{"input"}, {"target"}},
                {kReduction},
                [](const OpContext& c) {
                  return OpOutputs{{"output", l1_loss(c.input("input"), c.input("target"),
                                                      c.get_string("reduction"))}};
                },
                "mean/sum of |input - target|"});

DF_REGISTER_OP({"mse_loss",
                {{"input"}, {"target"}},
                {kReduction},
                [](const OpContext& c) {
                  return OpOutputs{{"output", mse_loss(c.input("input"), c.input("target"),
                                                       c.get_string("reduction"))}};
                },
                "mean/sum of (input - target)^2"});

DF_REGISTER_OP({"kl_div",
                {{"input"}, {"target"}},
                {kReduction, {"log_target", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", kl_div(c.input("input"), c.input("target"),
                                        c.get_string("reduction"), c.get_bool("log_target"))}};
                },
                "KL divergence; input log-probabilities; reduction also batchmean"});

}  // namespace
}  // namespace detforge
