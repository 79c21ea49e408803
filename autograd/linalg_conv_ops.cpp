// run-op registrations of the linalg/conv family (PyTorch functional names and arguments).
#include "autograd/conv.h"
#include "autograd/linalg.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

DF_REGISTER_OP({"matmul",
                {{"input"}, {"other"}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{{"output", matmul(c.input("input"), c.input("other"))}};
                },
                "torch.matmul: 1-D/2-D/batched with broadcast batch dims"});
DF_REGISTER_OP({"linear",
                {{"input"}, {"weight"}, {"bias", true}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{{"output", linear(c.input("input"), c.input("weight"),
                                                     c.optional_input("bias"))}};
                },
                "input @ weight^T + bias"});
DF_REGISTER_OP({"conv2d",
                {{"input"}, {"weight"}, {"bias", true}},
                {{"stride", AttrType::Ints, "1"},
                 {"padding", AttrType::Ints, "0"},
                 {"dilation", AttrType::Ints, "1"},
                 {"groups", AttrType::Int, "1"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", conv2d(c.input("input"), c.input("weight"),
                                                     c.optional_input("bias"), c.get_ints("stride"),
                                                     c.get_ints("padding"), c.get_ints("dilation"),
                                                     c.get_int("groups"))}};
                },
                "NCHW input, OIHW weight; stride/padding/dilation take one int or two"});

}  // namespace
}  // namespace detforge
