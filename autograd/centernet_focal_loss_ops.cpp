// run-op registration of centernet_heatmap_focal_loss (no PyTorch functional: the reference is
// the official CenterNet code's _neg_loss on clamped sigmoid, scripts/fixtures/centernet_loss.py).
#include "autograd/centernet_focal_loss.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"centernet_heatmap_focal_loss",
                {{"logits"}, {"target", false, false}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{{"output", centernet_heatmap_focal_loss(c.input("logits"),
                                                                           c.input("target"))}};
                },
                "CenterNet penalty-reduced focal loss on sigmoid(logits) clamped to [1e-4, "
                "1-1e-4], alpha 2, beta 4, / max(#(target == 1), 1)"});

}  // namespace
}  // namespace detforge
