// run-op registrations of the IoU family (torchvision.ops names and arguments).
#include "autograd/box_iou.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

const AttrSpec kEps{"eps", AttrType::Float, "1e-07"};
const AttrSpec kReduction{"reduction", AttrType::String, "none"};

DF_REGISTER_OP({"box_iou",
                {{"boxes1"}, {"boxes2"}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{{"output", box_iou(c.input("boxes1"), c.input("boxes2"))}};
                },
                "pairwise IoU of xyxy boxes [N, 4] x [M, 4] -> [N, M]"});

DF_REGISTER_OP(
    {"generalized_box_iou",
     {{"boxes1"}, {"boxes2"}},
     {},
     [](const OpContext& c) {
       return OpOutputs{{"output", generalized_box_iou(c.input("boxes1"), c.input("boxes2"))}};
     },
     "pairwise generalized IoU (GIoU) of xyxy boxes -> [N, M]"});

DF_REGISTER_OP({"distance_box_iou",
                {{"boxes1"}, {"boxes2"}},
                {kEps},
                [](const OpContext& c) {
                  return OpOutputs{{"output", distance_box_iou(c.input("boxes1"), c.input("boxes2"),
                                                               c.get_float("eps"))}};
                },
                "pairwise distance IoU (DIoU) of xyxy boxes -> [N, M]"});

DF_REGISTER_OP({"complete_box_iou",
                {{"boxes1"}, {"boxes2"}},
                {kEps},
                [](const OpContext& c) {
                  return OpOutputs{{"output", complete_box_iou(c.input("boxes1"), c.input("boxes2"),
                                                               c.get_float("eps"))}};
                },
                "pairwise complete IoU (CIoU) of xyxy boxes -> [N, M]"});

#define DF_BOX_LOSS(NAME, FN, DOC)                                                      \
  DF_REGISTER_OP({NAME,                                                                 \
                  {{"boxes1"}, {"boxes2"}},                                             \
                  {kReduction, kEps},                                                   \
                  [](const OpContext& c) {                                              \
                    return OpOutputs{                                                   \
                        {"output", FN(c.input("boxes1"), c.input("boxes2"),             \
                                      c.get_string("reduction"), c.get_float("eps"))}}; \
                  },                                                                    \
                  DOC})

DF_BOX_LOSS("generalized_box_iou_loss", generalized_box_iou_loss,
            "1 - GIoU of paired xyxy boxes [..., 4]; reduction none/mean/sum");
DF_BOX_LOSS("distance_box_iou_loss", distance_box_iou_loss,
            "1 - DIoU of paired xyxy boxes [..., 4]; reduction none/mean/sum");
DF_BOX_LOSS("complete_box_iou_loss", complete_box_iou_loss,
            "1 - CIoU of paired xyxy boxes [..., 4]; reduction none/mean/sum");
DF_BOX_LOSS(
    "efficient_box_iou_loss", efficient_box_iou_loss,
    "E-IoU loss (Zhang et al. 2021) of paired xyxy boxes [..., 4]; reduction none/mean/sum");
#undef DF_BOX_LOSS

}  // namespace
}  // namespace detforge
