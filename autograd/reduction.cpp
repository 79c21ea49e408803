#include "autograd/reduction.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "kernels/reduction/reduce.h"
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
Tensor raw_reduce(kernels::ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim, DType out_dtype) {
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
  DF_CHECK(is_floating(x.dtype()), DTypeError, "[mean] needs a floating input, got ", dtype_name(x.dtype()));
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

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  DF_CHECK(lead >= 0, ShapeError, "[sum_to] cannot sum ", shape_str(x.shape()), " to ", shape_str(shape));
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.size(d) != 1) {
      dims.push_back(d);
    } else {
      DF_CHECK(shape[d - lead] == x.size(d), ShapeError, "[sum_to] cannot sum ", shape_str(x.shape()),
               " to ", shape_str(shape));
    }
  }
  Tensor r = dims.empty() ? x : sum(x, dims, true);
  return r.reshape(shape);
}

}  // namespace detforge
