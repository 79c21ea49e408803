// var/std over trailing dims (same [outer, reduced] presentation as reduce.h). Welford/Chan
// merging is the single-source math: the CPU loops and the CUDA kernel combine partial
// (count, mean, M2) triples with welford_merge.
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct WelfordState {
  double n = 0, mean = 0, m2 = 0;
};

DETFORGE_HD inline void welford_add(WelfordState& s, double x) {
  s.n += 1;
  double d = x - s.mean;
  s.mean += d / s.n;
  s.m2 += d * (x - s.mean);
}

DETFORGE_HD inline void welford_merge(WelfordState& a, const WelfordState& b) {
  if (b.n == 0) return;
  if (a.n == 0) {
    a = b;
    return;
  }
  double n = a.n + b.n, d = b.mean - a.mean;
  a.mean += d * (b.n / n);
  a.m2 += b.m2 + d * d * (a.n * b.n / n);
  a.n = n;
}

// M2 / max(0, n - correction): 0/0 gives NaN and x/0 inf, as PyTorch.
DETFORGE_HD inline double welford_var(const WelfordState& s, double correction) {
  double den = s.n - correction;
  den = den > 0 ? den : 0.0;
  return s.m2 / den;
}

// out: contiguous (numel == outer), dtype of in (floating). take_sqrt: std instead of var.
using VarFn = void (*)(const Tensor& out, const Tensor& in, int n_reduced, double correction,
                       bool take_sqrt);
DF_DECLARE_DISPATCH(VarFn, var_stub);

}  // namespace detforge::kernels
