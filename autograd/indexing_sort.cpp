// sort, argsort, topk and cumsum (autograd/indexing.h). The kernels work on contiguous rows, so
// the op's dim is moved last (a transposed contiguous copy) and moved back afterwards.
#include "autograd/function.h"
#include "autograd/indexing.h"
#include "kernels/indexing/cumsum.h"
#include "kernels/indexing/sort.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

Tensor dim_last(const Tensor& x, int64_t d) {
  return raw::contiguous(raw::transpose(x, d, -1));
}
Tensor dim_back(const Tensor& y, int64_t d) {
  return raw::contiguous(raw::transpose(y, d, -1));
}

// values = input gathered at indices along d: the gradient scatters back.
void record_select_backward(const char* name, const Tensor& input, const Tensor& values,
                            const Tensor& indices, int64_t d) {
  if (needs_grad({input}))
    record(name, {input}, {values},
           [shape = input.shape(), d, idx = indices.detach()](auto& g, auto&) {
             Tensor z = Tensor::zeros(shape, g[0].dtype(), g[0].device());
             return std::vector<Tensor>{scatter_add(z, d, idx, g[0])};
           });
}
}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& input, int64_t dim, bool descending, bool stable) {
  (void)stable;  // the kernels are always stable (a valid order for stable=false too)
  Tensor x = input.dim() == 0 ? raw::try_view(input, {1}) : input;
  int64_t d = x.wrap_dim(dim);
  Tensor xt = dim_last(x, d);
  Tensor v = Tensor::empty(xt.shape(), x.dtype(), x.device());
  Tensor i = Tensor::empty(xt.shape(), DType::i64, x.device());
  if (xt.numel() > 0) kernels::sort_stub(x.device(), "sort")(v, i, xt, descending);
  v = dim_back(v, d);
  i = dim_back(i, d);
  if (input.dim() == 0) v = raw::try_view(v, {}), i = raw::try_view(i, {});
  record_select_backward("sort", input, v, i, input.dim() == 0 ? 0 : d);
  return {v, i};
}

Tensor argsort(const Tensor& input, int64_t dim, bool descending) {
  NoGradGuard ng;
  return sort(input, dim, descending, false).second;
}

std::pair<Tensor, Tensor> topk(const Tensor& input, int64_t k, int64_t dim, bool largest,
                               bool sorted) {
  (void)
      sorted;  // results are always sorted (PyTorch leaves the order unspecified when sorted=false)
  Tensor x = input.dim() == 0 ? raw::try_view(input, {1}) : input;
  int64_t d = x.wrap_dim(dim);
  DF_CHECK(k >= 0 && k <= x.size(d), ShapeError, "[topk] k (", k,
           ") is out of range for dimension ", d, " of size ", x.size(d), " of input ",
           shape_str(input.shape()));
  Tensor xt = dim_last(x, d);
  Shape s = xt.shape();
  s.back() = k;
  Tensor v = Tensor::empty(s, x.dtype(), x.device());
  Tensor i = Tensor::empty(s, DType::i64, x.device());
  if (v.numel() > 0) kernels::topk_stub(x.device(), "topk")(v, i, xt, k, largest);
  v = dim_back(v, d);
  i = dim_back(i, d);
  if (input.dim() == 0) v = raw::try_view(v, {}), i = raw::try_view(i, {});
  record_select_backward("topk", input, v, i, input.dim() == 0 ? 0 : d);
  return {v, i};
}

namespace {
Tensor cumsum_dir(const Tensor& input, int64_t dim, bool reverse) {
  Tensor x = is_floating(input.dtype()) || input.dtype() == DType::i64
                 ? input
                 : raw::to(input, input.device(), DType::i64);
  Tensor xc = raw::contiguous(x.dim() == 0 ? raw::try_view(x, {1}) : x);
  int64_t d = xc.wrap_dim(dim);
  kernels::CumsumParams p;
  p.n = xc.size(d);
  for (int64_t k = 0; k < d; ++k) p.outer *= xc.size(k);
  for (int64_t k = d + 1; k < xc.dim(); ++k) p.inner *= xc.size(k);
  p.reverse = reverse;
  Tensor out = Tensor::empty(input.shape(), x.dtype(), x.device());
  if (out.numel() > 0) kernels::cumsum_stub(x.device(), "cumsum")(out, xc, p);
  if (needs_grad({input}))
    record("cumsum", {input}, {out}, [dim, reverse](auto& g, auto&) {
      return std::vector<Tensor>{cumsum_dir(g[0], dim, !reverse)};
    });
  return out;
}
}  // namespace

Tensor cumsum(const Tensor& input, int64_t dim) {
  return cumsum_dir(input, dim, false);
}

}  // namespace detforge
