// Finite-difference gradient check in double precision: compares the analytic vector-Jacobian
// product v^T J (one backward pass with a fixed random v) against central differences
// (<f(x + eps e_i), v> - <f(x - eps e_i), v>) / 2 eps for every element i of every input.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  uint64_t seed = 0;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // first mismatch: input, element, analytic, numerical
};

// `inputs` must be float64; those with requires_grad are checked. f returns one tensor.
DETFORGE_API GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                       const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});

}  // namespace detforge
