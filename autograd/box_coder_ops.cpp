// run-op registrations of the box coder (torchvision BoxCoder.encode_single / decode_single).
#include "autograd/box_coder.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

std::array<double, 4> weights4(const OpContext& c) {
  std::vector<double> w = c.get_floats("weights");
  DF_CHECK(w.size() == 4, ConfigError, "[", c.op(), "] weights must have 4 values, got ", w.size());
  return {w[0], w[1], w[2], w[3]};
}

DF_REGISTER_OP({"box_coder_encode",
                {{"reference_boxes", false, false}, {"proposals", false, false}},
                {{"weights", AttrType::Floats, "1,1,1,1"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", box_coder_encode(c.input("reference_boxes"),
                                                               c.input("proposals"), weights4(c))}};
                },
                "torchvision BoxCoder.encode_single: (dx, dy, dw, dh) targets of reference_boxes "
                "relative to proposals; not differentiable"});

DF_REGISTER_OP({"box_coder_decode",
                {{"rel_codes"}, {"boxes"}},
                {{"weights", AttrType::Floats, "1,1,1,1"},
                 {"bbox_xform_clip", AttrType::Float, "4.135166556742356"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output", box_coder_decode(c.input("rel_codes"), c.input("boxes"),
                                                  weights4(c), c.get_float("bbox_xform_clip"))}};
                },
                "torchvision BoxCoder.decode_single: x1y1x2y2 boxes [N, 4K] from codes [N, 4K] and "
                "boxes [N, 4]; dw, dh clamped at bbox_xform_clip"});

}  // namespace
}  // namespace detforge
