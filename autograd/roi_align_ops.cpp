// run-op registration of ROI Align under torchvision's names (torchvision.ops.roi_align).
#include "autograd/op_registry.h"
#include "autograd/roi_align.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"roi_align",
                {{"input"}, {"rois", false, false}},
                {{"output_size", AttrType::Ints, ""},
                 {"spatial_scale", AttrType::Float, "1.0"},
                 {"sampling_ratio", AttrType::Int, "-1"},
                 {"aligned", AttrType::Bool, "false"},
                 {"deterministic", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  auto os = c.get_ints("output_size");
                  return OpOutputs{
                      {"output",
                       roi_align(c.input("input"), c.input("rois"), Shape(os.begin(), os.end()),
                                 c.get_float("spatial_scale"), c.get_int("sampling_ratio"),
                                 c.get_bool("aligned"), c.get_bool("deterministic"))}};
                },
                "torchvision.ops.roi_align(input, rois [K, 5], output_size, spatial_scale, "
                "sampling_ratio, aligned); grad w.r.t. input only; deterministic: CUDA backward "
                "without atomics"});

}  // namespace
}  // namespace detforge
