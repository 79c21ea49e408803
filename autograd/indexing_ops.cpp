// run-op registrations of the indexing family (PyTorch functional names and arguments).
// Multi-piece results (split, chunk) are "output" (the first piece), "output.1", "output.2", ...;
// sort/topk return "output" (values) and "indices". --backward differentiates "output".
#include "autograd/indexing.h"
#include "autograd/op_registry.h"

namespace detforge {
namespace {

OpOutputs pieces(const std::vector<Tensor>& ts) {
  OpOutputs r;
  for (size_t i = 0; i < ts.size(); ++i)
    r[i == 0 ? "output" : "output." + std::to_string(i)] = ts[i];
  return r;
}

const InputSpec kTensors{"tensors", false, true, true};  // variadic: tensors.0, tensors.1, ...
const InputSpec kIndex{"index", false, false};

DF_REGISTER_OP({"cat",
                {kTensors},
                {{"dim", AttrType::Int, "0"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", cat(c.input_list("tensors"), c.get_int("dim"))}};
                },
                "concatenate tensors.0, tensors.1, ... along dim"});
DF_REGISTER_OP({"stack",
                {kTensors},
                {{"dim", AttrType::Int, "0"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", stack(c.input_list("tensors"), c.get_int("dim"))}};
                },
                "stack tensors.0, tensors.1, ... along a new dim"});
DF_REGISTER_OP({"split",
                {{"input"}},
                {{"split_size_or_sections", AttrType::Ints, ""}, {"dim", AttrType::Int, "0"}},
                [](const OpContext& c) {
                  auto s = c.get_ints("split_size_or_sections");
                  // One value = a split size (PyTorch's int form); a list = section sizes.
                  std::string raw = c.get_string("split_size_or_sections");
                  bool list =
                      raw.find(',') != std::string::npos || raw.find('[') != std::string::npos;
                  return pieces(list ? split(c.input("input"), s, c.get_int("dim"))
                                     : split(c.input("input"), s.at(0), c.get_int("dim")));
                },
                "views: output (first piece), output.1, ...; a list attr like [3] gives sections"});
DF_REGISTER_OP({"chunk",
                {{"input"}},
                {{"chunks", AttrType::Int, ""}, {"dim", AttrType::Int, "0"}},
                [](const OpContext& c) {
                  return pieces(chunk(c.input("input"), c.get_int("chunks"), c.get_int("dim")));
                },
                "views: output (first piece), output.1, ..."});
DF_REGISTER_OP({"index_select",
                {{"input"}, kIndex},
                {{"dim", AttrType::Int, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", index_select(c.input("input"), c.get_int("dim"),
                                                           c.input("index"))}};
                },
                "input indexed along dim by a 1-D index"});
DF_REGISTER_OP(
    {"gather",
     {{"input"}, kIndex},
     {{"dim", AttrType::Int, ""}},
     [](const OpContext& c) {
       return OpOutputs{{"output", gather(c.input("input"), c.get_int("dim"), c.input("index"))}};
     },
     "out[p] = input[p with p[dim] = index[p]]"});
DF_REGISTER_OP({"scatter_add",
                {{"input"}, kIndex, {"src"}},
                {{"dim", AttrType::Int, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", scatter_add(c.input("input"), c.get_int("dim"),
                                                          c.input("index"), c.input("src"))}};
                },
                "input with src added at index along dim"});
DF_REGISTER_OP({"masked_fill",
                {{"input"}, {"mask", false, false}},
                {{"value", AttrType::Float, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", masked_fill(c.input("input"), c.input("mask"),
                                                          c.get_float("value"))}};
                },
                "value where mask (broadcast to input), else input"});
DF_REGISTER_OP({"masked_select",
                {{"input"}, {"mask", false, false}},
                {},
                [](const OpContext& c) {
                  return OpOutputs{{"output", masked_select(c.input("input"), c.input("mask"))}};
                },
                "1-D tensor of input's elements where mask (one device->host sync on CUDA)"});
DF_REGISTER_OP({"sort",
                {{"input"}},
                {{"dim", AttrType::Int, "-1"},
                 {"descending", AttrType::Bool, "false"},
                 {"stable", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  auto [v, i] = sort(c.input("input"), c.get_int("dim"), c.get_bool("descending"),
                                     c.get_bool("stable"));
                  return OpOutputs{{"output", v}, {"indices", i}};
                },
                "output (values) and indices; always stable; NaN sorts as the largest value"});
DF_REGISTER_OP({"argsort",
                {{"input", false, false}},
                {{"dim", AttrType::Int, "-1"}, {"descending", AttrType::Bool, "false"}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", argsort(c.input("input"), c.get_int("dim"),
                                                      c.get_bool("descending"))}};
                },
                "indices that sort input along dim"});
DF_REGISTER_OP(
    {"topk",
     {{"input"}},
     {{"k", AttrType::Int, ""},
      {"dim", AttrType::Int, "-1"},
      {"largest", AttrType::Bool, "true"},
      {"sorted", AttrType::Bool, "true"}},
     [](const OpContext& c) {
       auto [v, i] = topk(c.input("input"), c.get_int("k"), c.get_int("dim"), c.get_bool("largest"),
                          c.get_bool("sorted"));
       return OpOutputs{{"output", v}, {"indices", i}};
     },
     "output (values) and indices of the k largest (smallest) along dim; always sorted"});
DF_REGISTER_OP({"cumsum",
                {{"input"}},
                {{"dim", AttrType::Int, ""}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", cumsum(c.input("input"), c.get_int("dim"))}};
                },
                "inclusive prefix sum along dim (integers give int64)"});
DF_REGISTER_OP(
    {"one_hot",
     {{"tensor", false, false}},
     {{"num_classes", AttrType::Int, "-1"}},
     [](const OpContext& c) {
       return OpOutputs{{"output", one_hot(c.input("tensor"), c.get_int("num_classes"))}};
     },
     "int64 [..., num_classes]"});
DF_REGISTER_OP({"embedding",
                {{"input", false, false}, {"weight"}},
                {{"padding_idx", AttrType::Int, "", true}},
                [](const OpContext& c) {
                  return OpOutputs{{"output", embedding(c.input("input"), c.input("weight"),
                                                        c.get_optional_int("padding_idx"))}};
                },
                "weight rows at input; the padding_idx row gets no gradient"});

}  // namespace
}  // namespace detforge
