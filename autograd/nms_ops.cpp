// run-op registrations of nms / batched_nms (torchvision.ops names; output: kept indices).
#include "autograd/nms.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"nms",
                {{"boxes", false, false}, {"scores", false, false}},
                {{"iou_threshold", AttrType::Float, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", nms(c.input("boxes"), c.input("scores"),
                                                  c.get_float("iou_threshold"))}};
                },
                "non-maximum suppression; int64 kept indices by descending score"});

DF_REGISTER_OP({"batched_nms",
                {{"boxes", false, false}, {"scores", false, false}, {"idxs", false, false}},
                {{"iou_threshold", AttrType::Float, ""}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", batched_nms(c.input("boxes"), c.input("scores"), c.input("idxs"),
                                             c.get_float("iou_threshold"))}};
                },
                "per-class NMS (idxs: class of each box); kept indices by descending score"});

}  // namespace
}  // namespace detforge
