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

DF_REGISTER_OP(
    {"kd_pearson",
     {{"student"}, {"teacher", false, false}},
     {{"eps", AttrType::Float, "1e-08"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", kd_pearson(c.input("student"), c.input("teacher"), c.get_float("eps"))}};
     },
     "DetKDS Pearson distance: mean_n (1 - r_n) of flattened samples; grad to student only"});

DF_REGISTER_OP(
    {"kd_ssim",
     {{"student"}, {"teacher", false, false}},
     {{"c1", AttrType::Float, "0.0001"}, {"c2", AttrType::Float, "0.0009"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", kd_ssim(c.input("student"), c.input("teacher"),
                                           c.get_float("c1"), c.get_float("c2"))}};
     },
     "DetKDS SSIM distance, global stats per (n, c) map: 1 - mean SSIM; grad to student only"});

DF_REGISTER_OP({"kd_att_norm_dist",
                {{"student"}, {"teacher", false, false}},
                {{"attention", AttrType::String, "none"},
                 {"tau", AttrType::Float, "0.5"},
                 {"norm", AttrType::String, "none"},
                 {"distance", AttrType::String, "L1"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", kd_att_norm_dist(c.input("student"), c.input("teacher"),
                                                  c.get_string("attention"), c.get_float("tau"),
                                                  c.get_string("norm"), c.get_string("distance"))}};
                },
                "DetKDS chain attention (none|satt|catt) -> norm (none|norm_HW|norm_C) -> distance "
                "(L1|L2|smooth-L1|KL|cosine) fused; grad to student only"});

DF_REGISTER_OP(
    {"kd_bkd_nsr",
     {{"student"}, {"target", false, false}},
     {{"eps", AttrType::Float, "1e-08"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", kd_bkd_nsr(c.input("student"), c.input("target"), c.get_float("eps"))}};
     },
     "DONNA noise-to-signal ratio: mean_c mse_c / (var_c(target) + eps); grad to student only"});

DF_REGISTER_OP(
    {"kd_masked_mse",
     {{"student"}, {"teacher", false, false}, {"mask", false, false}},
     {{"alpha_fg", AttrType::Float, "1"}, {"alpha_bg", AttrType::Float, "1"}},
     [](const OpContext& c) {
       return OpOutputs{
           {"output", kd_masked_mse(c.input("student"), c.input("teacher"), c.input("mask"),
                                    c.get_float("alpha_fg"), c.get_float("alpha_bg"))}};
     },
     "DetKDS fgbg L2: alpha_fg/bg region sums over max(1, C * area); grad to student only"});

}  // namespace
}  // namespace detforge
