// run-op registrations of the knowledge-distillation losses (autograd/kd_losses.h). The teacher /
// target inputs are not differentiable (no grad_<name> is written for them).
#include "autograd/kd_losses.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP(
    {"kd_soft_ce",
     {{"student_logits"}, {"teacher_logits", false, false}},
     {{"temperature", AttrType::Float, "1"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", kd_soft_ce(c.input("student_logits"), c.input("teacher_logits"),
                                              c.get_float("temperature"))}};
     },
     "mean_n -sum_c softmax(t/T) log_softmax(s/T) (no T^2 factor); grad to student only"});

}  // namespace
}  // namespace detforge
