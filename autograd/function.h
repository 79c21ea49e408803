// How an op records itself in the graph:
//
//   Tensor out = kernels::mul(a, b);
//   if (needs_grad({a, b}))
//     record("mul", {a, b}, {out}, [a = a.detach(), b = b.detach()](auto& g, auto& needs) {
//       return std::vector<Tensor>{needs[0] ? mul(g[0], b) : Tensor(), ...};
//     });
//
// Backward closures run with grad mode off and capture detached tensors (capturing an output
// without detach() would make a reference cycle).
#pragma once
#include <initializer_list>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace detforge {

DETFORGE_API bool needs_grad(std::initializer_list<Tensor> inputs);
DETFORGE_API bool needs_grad(const std::vector<Tensor>& inputs);
// Creates the node, wires edges from inputs, and makes outputs non-leaf results of it.
DETFORGE_API std::shared_ptr<Node> record(const char* name, const std::vector<Tensor>& inputs,
                                          const std::vector<Tensor>& outputs, BackwardFn fn);

}  // namespace detforge
