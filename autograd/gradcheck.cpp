#include "autograd/gradcheck.h"

#include <cmath>
#include <random>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "tensor/view_ops.h"

namespace detforge {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  GradcheckResult res;
  std::vector<Tensor> leaves;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    DF_CHECK(inputs[i].dtype() == DType::f64, DTypeError, "[gradcheck] input ", i, " is ",
             dtype_name(inputs[i].dtype()), "; gradcheck needs float64");
    leaves.push_back(inputs[i]);
    which.push_back(i);
  }
  DF_CHECK(!leaves.empty(), Error, "[gradcheck] no input requires grad");
  Tensor out;
  {
    EnableGradGuard on(true);
    out = f(inputs);
  }
  DF_CHECK(out.dtype() == DType::f64, DTypeError, "[gradcheck] output is ", dtype_name(out.dtype()));
  std::mt19937_64 rng(opt.seed);
  std::normal_distribution<double> nd;
  std::vector<double> v(static_cast<size_t>(out.numel()));
  for (auto& x : v) x = nd(rng);
  Tensor vt = Tensor::from_vector(v, out.shape(), out.device());
  auto analytic = autograd::grad({out}, leaves, {vt}, false, true);

  NoGradGuard no_grad;
  auto dot_v = [&](const std::vector<Tensor>& in) {
    Tensor o = f(in);
    auto ov = o.to_vector<double>();
    double s = 0;
    for (size_t k = 0; k < ov.size(); ++k) s += ov[k] * v[k];
    return s;
  };
  for (size_t li = 0; li < leaves.size(); ++li) {
    // Perturb a private contiguous copy so views of other inputs stay untouched.
    std::vector<Tensor> in = inputs;
    Tensor x = raw::contiguous(inputs[which[li]].detach().clone());
    in[which[li]] = x;
    double* p = x.data<double>();
    std::vector<double> a = analytic[li].defined() ? analytic[li].to_vector<double>()
                                                   : std::vector<double>(static_cast<size_t>(x.numel()), 0.0);
    for (int64_t e = 0; e < x.numel(); ++e) {
      double orig = p[e];
      p[e] = orig + opt.eps;
      double fp = dot_v(in);
      p[e] = orig - opt.eps;
      double fm = dot_v(in);
      p[e] = orig;
      double num = (fp - fm) / (2 * opt.eps);
      double err = std::fabs(num - a[e]);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::fabs(num))) {  // NaN fails
        if (res.ok)
          res.message = str_cat("input ", which[li], " element ", e, ": analytic ", a[e], " numerical ", num);
        res.ok = false;
      }
    }
  }
  return res;
}

}  // namespace detforge
