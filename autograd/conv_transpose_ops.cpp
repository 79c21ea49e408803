// run-op registration of conv_transpose2d (torch.nn.functional.conv_transpose2d's names).
#include "autograd/conv_transpose.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"conv_transpose2d",
                {{"input"}, {"weight"}, {"bias", true}},
                {{"stride", AttrType::Ints, "1"},
                 {"padding", AttrType::Ints, "0"},
                 {"output_padding", AttrType::Ints, "0"},
                 {"groups", AttrType::Int, "1"},
                 {"dilation", AttrType::Ints, "1"}},
                [](const OpContext& c) {
                  return OpOutputs{
                      {"output",
                       conv_transpose2d(c.input("input"), c.input("weight"),
                                        c.optional_input("bias"), c.get_ints("stride"),
                                        c.get_ints("padding"), c.get_ints("output_padding"),
                                        c.get_int("groups"), c.get_ints("dilation"))}};
                },
                "NCHW (or CHW) input, weight [C_in, C_out / groups, KH, KW]; stride / padding / "
                "output_padding / dilation take one int or two"});

}  // namespace
}  // namespace detforge
