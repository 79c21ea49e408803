#include "autograd/reduction.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "kernels/reduction/arg_reduce.h"
#include "kernels/reduction/moments.h"
#include "kernels/reduction/reduce.h"
#include "kernels/reduction/softmax.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

// Normalised, sorted, unique reduced dims (all dims when `dims` is empty).
std::vector<int64_t> reduced_dims(const Tensor& x, const Shape& dims) {
  std::vector<int64_t> r;
  if (dims.empty()) {
    for (int64_t d = 0; d < x.dim(); ++d) r.push_back(d);
  } else {
    for (int64_t d : dims) r.push_back(x.wrap_dim(d));
  }
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

// Output shape with or without kept dims.
Shape reduced_shape(const Tensor& x, const std::vector<int64_t>& rd, bool keepdim) {
  Shape s;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool red = std::binary_search(rd.begin(), rd.end(), d);
    if (!red)
      s.push_back(x.size(d));
    else if (keepdim)
      s.push_back(1);
  }
  return s;
}

}  // namespace

// Reduces with `op` (raw, no graph). out dtype = acc dtype rules are the caller's.
Tensor raw_reduce(kernels::ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim,
                  DType out_dtype) {
  auto rd = reduced_dims(x, dims);
  Shape perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rd.begin(), rd.end(), d)) perm.push_back(d);
  for (int64_t d : rd) perm.push_back(d);
  Tensor xin = raw::to(x, x.device(), out_dtype);
  Tensor permuted = raw::permute(xin, perm);
  Shape out_shape = reduced_shape(x, rd, keepdim);
  Tensor out = Tensor::empty(out_shape, out_dtype, x.device());
  if (out.numel() == 0) return out;
  kernels::reduce_stub(x.device(), "reduce")(op, out, permuted, static_cast<int>(rd.size()));
  return out;
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::i64;
  Tensor out = raw_reduce(kernels::ReduceOp::sum, x, dims, keepdim, dt);
  if (needs_grad({x})) {
    auto rd = reduced_dims(x, dims);
    record("sum", {x}, {out}, [shape = x.shape(), rd, keepdim](auto& g, auto&) {
      Tensor gk = g[0];
      if (!keepdim)
        for (int64_t d : rd) gk = raw::unsqueeze(gk, d);
      return std::vector<Tensor>{raw::expand(gk, shape)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  DF_CHECK(is_floating(x.dtype()), DTypeError, "[mean] needs a floating input, got ",
           dtype_name(x.dtype()));
  Tensor out = raw_reduce(kernels::ReduceOp::mean, x, dims, keepdim, x.dtype());
  if (needs_grad({x})) {
    auto rd = reduced_dims(x, dims);
    int64_t n = 1;
    for (int64_t d : rd) n *= x.size(d);
    record("mean", {x}, {out}, [shape = x.shape(), rd, keepdim, n](auto& g, auto&) {
      Tensor gk = mul(g[0], 1.0 / static_cast<double>(n));
      if (!keepdim)
        for (int64_t d : rd) gk = raw::unsqueeze(gk, d);
      return std::vector<Tensor>{raw::expand(gk, shape)};
    });
  }
  return out;
}

namespace {
int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& rd) {
  int64_t n = 1;
  for (int64_t d : rd) n *= x.size(d);
  return n;
}
// g (reduced shape) with the reduced dims back as size 1, so it broadcasts against x.
Tensor unsqueeze_reduced(const Tensor& g, const std::vector<int64_t>& rd, bool keepdim) {
  Tensor gk = g;
  if (!keepdim)
    for (int64_t d : rd) gk = gk.unsqueeze(d);
  return gk;
}
void check_floating(const char* op, const Tensor& x) {
  DF_CHECK(is_floating(x.dtype()), DTypeError, "[", op, "] needs a floating input, got ",
           dtype_name(x.dtype()));
}
void check_nonempty(const char* op, const Tensor& x, const std::vector<int64_t>& rd) {
  DF_CHECK(x.numel() > 0 || reduced_count(x, rd) > 0, ShapeError, "[", op,
           "] cannot reduce over an empty dim of ", shape_str(x.shape()));
  for (int64_t d : rd)
    DF_CHECK(x.size(d) > 0, ShapeError, "[", op, "] cannot reduce over dim ", d, " of size 0 in ",
             shape_str(x.shape()));
}
// The input as a view with the reduced dims last, and the output shape.
Tensor permuted_for(const Tensor& x, const std::vector<int64_t>& rd) {
  Shape perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rd.begin(), rd.end(), d)) perm.push_back(d);
  for (int64_t d : rd) perm.push_back(d);
  return raw::permute(x, perm);
}
}  // namespace

namespace {
Tensor var_std(const char* name, const Tensor& x, const Shape& dims, double correction,
               bool keepdim, bool take_sqrt) {
  check_floating(name, x);
  auto rd = reduced_dims(x, dims);
  Tensor out = Tensor::empty(reduced_shape(x, rd, keepdim), x.dtype(), x.device());
  if (out.numel() > 0)
    kernels::var_stub(x.device(), name)(out, permuted_for(x, rd), static_cast<int>(rd.size()),
                                        correction, take_sqrt);
  if (needs_grad({x})) {
    double n = static_cast<double>(reduced_count(x, rd));
    record(
        name, {x}, {out},
        [x = x.detach(), o = out.detach(), rd, keepdim, correction, take_sqrt, n](auto& g, auto&) {
          Tensor dev = sub(x, mean(x, Shape(rd.begin(), rd.end()), true));
          double den = std::max(0.0, n - correction);
          Tensor gk = unsqueeze_reduced(g[0], rd, keepdim);
          Tensor r = take_sqrt ? div(mul(gk, dev), mul(unsqueeze_reduced(o, rd, keepdim), den))
                               : mul(mul(gk, dev), 2.0 / den);
          return std::vector<Tensor>{r};
        });
  }
  return out;
}
}  // namespace
Tensor var(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return var_std("var", x, dims, correction, keepdim, false);
}
Tensor std(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return var_std("std", x, dims, correction, keepdim, true);
}

namespace {
std::pair<Tensor, Tensor> max_min_dim(const char* name, bool is_max, const Tensor& x, int64_t dim,
                                      bool keepdim) {
  int64_t d = x.dim() == 0 ? 0 : x.wrap_dim(dim);
  Tensor xv = x.dim() == 0 ? raw::unsqueeze(x, 0) : x;
  DF_CHECK(xv.size(d) > 0, ShapeError, "[", name, "] cannot reduce over dim ", dim,
           " of size 0 in ", shape_str(x.shape()));
  std::vector<int64_t> rd{d};
  Shape oshape = reduced_shape(xv, rd, keepdim || x.dim() == 0);
  if (x.dim() == 0) oshape = {};
  Tensor values = Tensor::empty(oshape, x.dtype(), x.device());
  Tensor indices = Tensor::empty(oshape, DType::i64, x.device());
  kernels::arg_reduce_stub(x.device(), name)(is_max, values, indices, permuted_for(xv, rd));
  if (needs_grad({x})) {
    record(name, {x}, {values},  // indices are not differentiable
           [shape = x.shape(), xd = xv.dim(), idx = indices.detach(), d, keepdim](auto& g, auto&) {
             // one-hot of the index along d, then the gradient where it is set
             Shape ar(static_cast<size_t>(xd), 1);
             int64_t L = xd == 0 ? 1 : (shape.empty() ? 1 : shape[static_cast<size_t>(d)]);
             ar[static_cast<size_t>(d)] = L;
             Tensor pos = Tensor::arange(L, DType::i64, g[0].device()).reshape(ar);
             Tensor ik = shape.empty() ? idx.unsqueeze(0) : (keepdim ? idx : idx.unsqueeze(d));
             Tensor gk = shape.empty() ? g[0].unsqueeze(0) : (keepdim ? g[0] : g[0].unsqueeze(d));
             Tensor r = where(eq(pos, ik), gk, Tensor::scalar(0, g[0].dtype(), g[0].device()));
             return std::vector<Tensor>{r.reshape(shape)};
           });
  }
  return {values, indices};
}

Tensor amax_amin(const char* name, kernels::ReduceOp op, const Tensor& x, const Shape& dims,
                 bool keepdim) {
  auto rd = reduced_dims(x, dims);
  check_nonempty(name, x, rd);
  Tensor out = raw_reduce(op, x, dims, keepdim, x.dtype());
  if (needs_grad({x}))
    record(name, {x}, {out}, [x = x.detach(), o = out.detach(), rd, keepdim](auto& g, auto&) {
      Tensor mask = eq(x, unsqueeze_reduced(o, rd, keepdim)).to(g[0].dtype());
      Tensor count = sum(mask, Shape(rd.begin(), rd.end()), true);
      return std::vector<Tensor>{mul(mask, div(unsqueeze_reduced(g[0], rd, keepdim), count))};
    });
  return out;
}

Tensor arg_only(const char* name, bool is_max, const Tensor& x, std::optional<int64_t> dim,
                bool keepdim) {
  if (dim) return max_min_dim(name, is_max, x.detach(), *dim, keepdim).second;
  DF_CHECK(x.numel() > 0, ShapeError, "[", name, "] cannot reduce an empty tensor ",
           shape_str(x.shape()));
  Tensor flat = x.dim() == 0 ? x.detach().unsqueeze(0) : x.detach().reshape({x.numel()});
  // keepdim on the flat view first: reshaping a 0-dim tensor to [1, 1] fails in raw::try_view
  Tensor idx = max_min_dim(name, is_max, flat, 0, keepdim).second;
  if (keepdim) idx = idx.reshape(Shape(static_cast<size_t>(x.dim()), 1));
  return idx;
}
}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return max_min_dim("max", true, x, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return max_min_dim("min", false, x, dim, keepdim);
}
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) {
  return amax_amin("amax", kernels::ReduceOp::amax, x, dims, keepdim);
}
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) {
  return amax_amin("amin", kernels::ReduceOp::amin, x, dims, keepdim);
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_only("argmax", true, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_only("argmin", false, x, dim, keepdim);
}

Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim) {
  Tensor xf = is_floating(x.dtype()) ? x : x.to(DType::f32);
  Tensor out = raw_reduce(kernels::ReduceOp::logsumexp, xf, dims, keepdim, xf.dtype());
  if (needs_grad({xf})) {
    auto rd = reduced_dims(xf, dims);
    record("logsumexp", {xf}, {out},
           [x = xf.detach(), o = out.detach(), rd, keepdim](auto& g, auto&) {
             Tensor p = exp(sub(x, unsqueeze_reduced(o, rd, keepdim)));
             return std::vector<Tensor>{mul(unsqueeze_reduced(g[0], rd, keepdim), p)};
           });
  }
  return out;
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  check_floating("norm", x);
  DF_CHECK(p == 1 || p == 2, ConfigError, "[norm] p must be 1 or 2, got ", p);
  Tensor out = raw_reduce(p == 1 ? kernels::ReduceOp::norm1 : kernels::ReduceOp::norm2, x, dims,
                          keepdim, x.dtype());
  if (needs_grad({x})) {
    auto rd = reduced_dims(x, dims);
    record("norm", {x}, {out}, [x = x.detach(), o = out.detach(), rd, keepdim, p](auto& g, auto&) {
      Tensor gk = unsqueeze_reduced(g[0], rd, keepdim);
      if (p == 1) return std::vector<Tensor>{mul(gk, sign(x))};
      Tensor ok = unsqueeze_reduced(o, rd, keepdim);
      Tensor zero = Tensor::scalar(0, x.dtype(), x.device());
      // d||x|| / dx = x / ||x||, masked to 0 where the norm is 0 (PyTorch's subgradient)
      Tensor r = where(eq(ok, zero), zero, div(mul(gk, x), ok));
      return std::vector<Tensor>{r};
    });
  }
  return out;
}

namespace {
Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  Tensor xf = is_floating(x.dtype()) ? x : x.to(DType::f32);
  int64_t d = xf.dim() == 0 ? 0 : xf.wrap_dim(dim);
  Tensor xc = raw::contiguous(xf);
  Tensor out = Tensor::empty(xf.shape(), xf.dtype(), xf.device());
  kernels::softmax_stub(xf.device(), name)(out, xc, d, log);
  if (needs_grad({xf}))
    record(name, {xf}, {out}, [o = out.detach(), d, log, name](auto& g, auto&) {
      Tensor gc = raw::contiguous(g[0]);
      Tensor gi = Tensor::empty(o.shape(), o.dtype(), o.device());
      kernels::softmax_backward_stub(o.device(), name)(gi, gc, o, d, log);
      return std::vector<Tensor>{gi};
    });
  return out;
}
}  // namespace
Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("softmax", x, dim, false);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("log_softmax", x, dim, true);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  DF_CHECK(lead >= 0, ShapeError, "[sum_to] cannot sum ", shape_str(x.shape()), " to ",
           shape_str(shape));
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.size(d) != 1) {
      dims.push_back(d);
    } else {
      DF_CHECK(shape[d - lead] == x.size(d), ShapeError, "[sum_to] cannot sum ",
               shape_str(x.shape()), " to ", shape_str(shape));
    }
  }
  Tensor r = dims.empty() ? x : sum(x, dims, true);
  return r.reshape(shape);
}

}  // namespace detforge
