// run-op registration of sigmoid_focal_loss (torchvision.ops names and defaults).
#include "autograd/op_registry.h"
#include "autograd/sigmoid_focal_loss.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"sigmoid_focal_loss",
                {{"inputs"}, {"targets"}},
                {{"alpha", AttrType::Float, "0.25"},
                 {"gamma", AttrType::Float, "2"},
                 {"reduction", AttrType::String, "none"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", sigmoid_focal_loss(c.input("inputs"), c.input("targets"),
                                                    c.get_float("alpha"), c.get_float("gamma"),
                                                    c.get_string("reduction"))}};
                },
                "torchvision.ops.sigmoid_focal_loss (RetinaNet); alpha < 0: no alpha weighting"});

}  // namespace
}  // namespace detforge
