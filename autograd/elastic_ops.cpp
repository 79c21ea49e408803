// run-op registration of elastic_conv2d (detforge's own op; the fixtures compute it in PyTorch from
// the sliced / transformed weight and F.conv2d).
#include "autograd/elastic.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"elastic_conv2d",
                {{"input"},
                 {"weight"},
                 {"bias", true},
                 {"kernel_transform_7to5", true},
                 {"kernel_transform_5to3", true}},
                {{"active_out_channels", AttrType::Int, ""},
                 {"active_in_channels", AttrType::Int, ""},
                 {"active_kernel_size", AttrType::Int, ""},
                 {"stride", AttrType::Ints, "1"},
                 {"padding", AttrType::Ints, "", true},
                 {"dilation", AttrType::Ints, "1"},
                 {"groups", AttrType::Int, "1"}},
                [](const OpContext& c) {
                  std::vector<int64_t> pad;
                  if (c.has_attr("padding")) pad = c.get_ints("padding");
                  return OpOutputs{
                      {"output",
                       elastic_conv2d(c.input("input"), c.input("weight"), c.optional_input("bias"),
                                      c.optional_input("kernel_transform_7to5"),
                                      c.optional_input("kernel_transform_5to3"),
                                      c.get_int("active_out_channels"),
                                      c.get_int("active_in_channels"),
                                      c.get_int("active_kernel_size"), c.get_ints("stride"), pad,
                                      c.get_ints("dilation"), c.get_int("groups"))}};
                },
                "conv2d with the active slice of a max-size KCRS weight: first "
                "active_out_channels rows, first active_in_channels/groups columns, centre crop "
                "to active_kernel_size through the optional OFA kernel transforms (crop -> "
                "flatten -> x M^T); padding defaults to k//2"});

}  // namespace
}  // namespace detforge
