#include "autograd/indexing.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "kernels/indexing/cumsum.h"
#include "kernels/indexing/gather.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

void check_index_dtype(const char* op, const Tensor& index) {
  DF_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, DTypeError, "[", op,
           "] index must be int64 or int32, got ", dtype_name(index.dtype()));
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  DF_CHECK(a.device() == b.device(), DeviceError, "[", op,
           "] tensors on different devices: ", a.device().str(), " and ", b.device().str());
}

// A 1-D (or 0-dim) index viewed with `shape`, its values running along `dim`, stride 0 elsewhere.
Tensor index_along(const Tensor& index, const Shape& shape, int64_t dim) {
  Shape strides(shape.size(), 0);
  strides[dim] = index.dim() == 0 ? 0 : index.stride(0);
  return raw::make_view(index, shape, strides, index.offset());
}

Tensor raw_gather(const Tensor& input, int64_t dim, const Tensor& index) {
  Tensor out = Tensor::empty(index.shape(), input.dtype(), input.device());
  kernels::gather_stub(input.device(), "gather")(out, input, index, dim);
  return out;
}

// input viewed as at least 1-D (PyTorch treats a 0-dim tensor as one element along dim 0/-1).
Tensor at_least_1d(const Tensor& t) {
  return t.dim() == 0 ? t.reshape({1}) : t;
}
}  // namespace

// ---- cat / stack ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  DF_CHECK(!tensors.empty(), ShapeError, "[cat] expected a non-empty list of tensors");
  // Legacy rule: 1-D tensors of shape [0] are ignored (when another tensor decides the shape).
  const Tensor* ref = nullptr;
  DType dt = tensors[0].dtype();
  for (auto& t : tensors) {
    dt = promote_types(dt, t.dtype());
    check_same_device("cat", tensors[0], t);
    if (!ref && !(t.dim() == 1 && t.numel() == 0)) ref = &t;
  }
  if (!ref) ref = &tensors[0];
  DF_CHECK(ref->dim() > 0, ShapeError, "[cat] zero-dimensional tensor cannot be concatenated");
  int64_t d = ref->wrap_dim(dim);
  Shape shape = ref->shape();
  int64_t total = 0;
  std::vector<bool> used(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.dim() == 1 && t.numel() == 0 && ref->dim() != 1) continue;
    DF_CHECK(t.dim() == ref->dim(), ShapeError,
             "[cat] tensors must have the same number of dimensions: got ", shape_str(ref->shape()),
             " and ", shape_str(t.shape()), " (tensor ", i, ")");
    for (int64_t k = 0; k < t.dim(); ++k)
      DF_CHECK(k == d || t.size(k) == shape[k], ShapeError,
               "[cat] sizes of tensors must match except in dimension ", d, ": got ",
               shape_str(ref->shape()), " and ", shape_str(t.shape()), " (tensor ", i, ")");
    used[i] = true;
    total += t.size(d);
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, dt, ref->device());
  std::vector<int64_t> starts(tensors.size(), 0);
  for (size_t i = 0, off = 0; i < tensors.size(); ++i) {
    if (!used[i]) continue;
    starts[i] = off;
    if (tensors[i].size(d) > 0) raw::copy(raw::narrow(out, d, off, tensors[i].size(d)), tensors[i]);
    off += tensors[i].size(d);
  }
  if (needs_grad(tensors)) {
    std::vector<Shape> shapes;
    std::vector<DType> dts;
    for (auto& t : tensors) shapes.push_back(t.shape()), dts.push_back(t.dtype());
    record("cat", tensors, {out}, [=](auto& g, auto& needs) {
      std::vector<Tensor> r(shapes.size());
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (!needs[i]) continue;
        if (!used[i]) {
          r[i] = Tensor::zeros(shapes[i], dts[i], g[0].device());
          continue;
        }
        Tensor gi = g[0].narrow(d, starts[i], shapes[i][d]);
        r[i] = gi.dtype() == dts[i] ? gi : gi.to(dts[i]);
      }
      return r;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  DF_CHECK(!tensors.empty(), ShapeError, "[stack] expected a non-empty list of tensors");
  int64_t nd = tensors[0].dim() + 1;
  int64_t d = dim < 0 ? dim + nd : dim;
  DF_CHECK(d >= 0 && d < nd, ShapeError, "[stack] dim ", dim, " out of range for ", nd - 1,
           "-d tensors");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    DF_CHECK(tensors[i].shape() == tensors[0].shape(), ShapeError,
             "[stack] stack expects each tensor to be equal size, but got ",
             shape_str(tensors[0].shape()), " at entry 0 and ", shape_str(tensors[i].shape()),
             " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

// ---- split / chunk (views) ----
std::vector<Tensor> split(const Tensor& input, int64_t split_size, int64_t dim) {
  DF_CHECK(input.dim() > 0, ShapeError, "[split] expects at least a 1-dimensional tensor");
  int64_t d = input.wrap_dim(dim), n = input.size(d);
  DF_CHECK(split_size > 0 || (split_size == 0 && n == 0), ShapeError,
           "[split] split_size must be positive, got ", split_size, " for size ", n);
  std::vector<Tensor> r;
  if (n == 0) return {input.narrow(d, 0, 0)};
  for (int64_t s = 0; s < n; s += split_size)
    r.push_back(input.narrow(d, s, std::min(split_size, n - s)));
  return r;
}

std::vector<Tensor> split(const Tensor& input, const std::vector<int64_t>& sections, int64_t dim) {
  DF_CHECK(input.dim() > 0, ShapeError, "[split] expects at least a 1-dimensional tensor");
  int64_t d = input.wrap_dim(dim), sum = 0;
  for (int64_t s : sections) {
    DF_CHECK(s >= 0, ShapeError, "[split] split sizes must be non-negative, got ", s);
    sum += s;
  }
  DF_CHECK(sum == input.size(d), ShapeError, "[split] split sizes sum to ", sum, " but dimension ",
           d, " of input ", shape_str(input.shape()), " has size ", input.size(d));
  std::vector<Tensor> r;
  int64_t off = 0;
  for (int64_t s : sections) r.push_back(input.narrow(d, off, s)), off += s;
  return r;
}

std::vector<Tensor> chunk(const Tensor& input, int64_t chunks, int64_t dim) {
  DF_CHECK(input.dim() > 0, ShapeError, "[chunk] expects at least a 1-dimensional tensor");
  DF_CHECK(chunks > 0, ShapeError, "[chunk] number of chunks must be positive, got ", chunks);
  int64_t d = input.wrap_dim(dim), n = input.size(d);
  int64_t size = (n + chunks - 1) / chunks;
  if (size == 0) {  // PyTorch: `chunks` empty pieces when the dim is empty
    std::vector<Tensor> r;
    for (int64_t i = 0; i < chunks; ++i) r.push_back(input.narrow(d, 0, 0));
    return r;
  }
  return split(input, size, d);
}

// ---- gather family ----
Tensor gather(const Tensor& input, int64_t dim, const Tensor& index) {
  check_index_dtype("gather", index);
  check_same_device("gather", input, index);
  Tensor in = at_least_1d(input), idx = at_least_1d(index);
  int64_t d = in.wrap_dim(dim);
  DF_CHECK(idx.dim() == in.dim(), ShapeError, "[gather] index ", shape_str(index.shape()),
           " must have as many dims as input ", shape_str(input.shape()));
  for (int64_t k = 0; k < in.dim(); ++k)
    DF_CHECK(k == d || idx.size(k) <= in.size(k), ShapeError, "[gather] size of index ",
             shape_str(index.shape()), " exceeds input ", shape_str(input.shape()),
             " in dimension ", k);
  Tensor out = raw_gather(in, d, idx);
  if (input.dim() == 0 && index.dim() == 0) out = raw::try_view(out, {});
  if (needs_grad({input}))
    record("gather", {input}, {out},
           [in_shape = input.shape(), d, index = index.detach()](auto& g, auto&) {
             Tensor z = Tensor::zeros(in_shape, g[0].dtype(), g[0].device());
             return std::vector<Tensor>{scatter_add(z, d, index, g[0])};
           });
  return out;
}

Tensor scatter_add(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index_dtype("scatter_add", index);
  check_same_device("scatter_add", input, index);
  check_same_device("scatter_add", input, src);
  DF_CHECK(src.dtype() == input.dtype(), DTypeError, "[scatter_add] src dtype ",
           dtype_name(src.dtype()), " must equal input dtype ", dtype_name(input.dtype()));
  Tensor in = at_least_1d(input), idx = at_least_1d(index), s = at_least_1d(src);
  int64_t d = in.wrap_dim(dim);
  DF_CHECK(idx.dim() == in.dim() && s.dim() == in.dim(), ShapeError, "[scatter_add] index ",
           shape_str(index.shape()), ", src ", shape_str(src.shape()), " and input ",
           shape_str(input.shape()), " must have the same number of dims");
  for (int64_t k = 0; k < in.dim(); ++k)
    DF_CHECK(idx.size(k) <= s.size(k) && (k == d || idx.size(k) <= in.size(k)), ShapeError,
             "[scatter_add] index ", shape_str(index.shape()), " exceeds src ",
             shape_str(src.shape()), " or input ", shape_str(input.shape()), " in dimension ", k);
  Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
  raw::copy(out, input);
  Tensor out_v = at_least_1d(out);
  kernels::scatter_add_stub(input.device(), "scatter_add")(out_v, idx, s, d);
  if (needs_grad({input, src}))
    record("scatter_add", {input, src}, {out},
           [d, index = index.detach(), ss = src.shape()](auto& g, auto& needs) {
             Tensor gs;
             if (needs[1]) {
               Tensor gathered = gather(g[0], d, index);
               if (gathered.shape() == ss) {
                 gs = gathered;
               } else {  // index smaller than src: the rest of src gets no gradient
                 gs = Tensor::zeros(ss, g[0].dtype(), g[0].device());
                 Tensor region = gs;
                 for (int64_t k = 0; k < index.dim(); ++k)
                   region = raw::narrow(region, k, 0, index.size(k));
                 raw::copy(region, gathered);
               }
             }
             return std::vector<Tensor>{needs[0] ? g[0] : Tensor(), gs};
           });
  return out;
}

Tensor index_select(const Tensor& input, int64_t dim, const Tensor& index) {
  check_index_dtype("index_select", index);
  check_same_device("index_select", input, index);
  DF_CHECK(index.dim() <= 1, ShapeError, "[index_select] index must be 0-D or 1-D, got ",
           shape_str(index.shape()));
  Tensor in = at_least_1d(input);
  int64_t d = in.wrap_dim(dim);
  Shape shape = in.shape();
  shape[d] = index.numel();
  Tensor out = raw_gather(in, d, index_along(index, shape, d));
  if (input.dim() == 0) out = raw::try_view(out, {});
  if (needs_grad({input}))
    record("index_select", {input}, {out},
           [ish = input.shape(), d, index = index.detach()](auto& g, auto&) {
             Tensor z = Tensor::zeros(ish, g[0].dtype(), g[0].device());
             Tensor g1 = at_least_1d(g[0]);
             return std::vector<Tensor>{
                 scatter_add(z, d, index_along(index, g1.shape(), d), g1).view(ish)};
           });
  return out;
}

Tensor masked_fill(const Tensor& input, const Tensor& mask, double value) {
  DF_CHECK(mask.dtype() == DType::b8, DTypeError, "[masked_fill] mask must be bool, got ",
           dtype_name(mask.dtype()));
  Shape shape = broadcast_shapes(input.shape(), mask.shape(), "masked_fill");
  DF_CHECK(shape == input.shape(), ShapeError, "[masked_fill] mask ", shape_str(mask.shape()),
           " must broadcast to input ", shape_str(input.shape()));
  return where(mask, Tensor::scalar(value, input.dtype(), input.device()), input);
}

Tensor masked_select(const Tensor& input, const Tensor& mask) {
  DF_CHECK(mask.dtype() == DType::b8, DTypeError, "[masked_select] mask must be bool, got ",
           dtype_name(mask.dtype()));
  check_same_device("masked_select", input, mask);
  Shape shape = broadcast_shapes(input.shape(), mask.shape(), "masked_select");
  Tensor m = raw::contiguous(raw::expand(mask, shape));
  Tensor idx = kernels::flat_nonzero_stub(input.device(), "masked_select")(m);
  return index_select(input.expand(shape).reshape({-1}), 0, idx);
}

// ---- one_hot / embedding ----
Tensor one_hot(const Tensor& tensor, int64_t num_classes) {
  DF_CHECK(tensor.dtype() == DType::i64, DTypeError,
           "[one_hot] is only applicable to index tensor (int64), got ",
           dtype_name(tensor.dtype()));
  if (num_classes == -1 || tensor.numel() > 0) {
    // Range check / class count: a device->host copy of the indices when on CUDA.
    DF_CHECK(tensor.numel() > 0, ShapeError,
             "[one_hot] can not infer total number of classes from empty tensor");
    auto v = tensor.to_vector<int64_t>();
    int64_t lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    DF_CHECK(lo >= 0, ShapeError, "[one_hot] class values must be non-negative, got ", lo);
    if (num_classes == -1) num_classes = hi + 1;
    DF_CHECK(hi < num_classes, ShapeError,
             "[one_hot] class values must be smaller than num_classes (", num_classes, "), got ",
             hi);
  }
  Shape shape = tensor.shape();
  shape.push_back(num_classes);
  Tensor out = Tensor::zeros(shape, DType::i64, tensor.device());
  if (tensor.numel() == 0) return out;
  Shape ishape = tensor.shape();
  ishape.push_back(1);
  Tensor idx = raw::unsqueeze(tensor, -1);
  Tensor ones = raw::expand(
      Tensor::ones({1}, DType::i64, tensor.device()).view(Shape(ishape.size(), 1)), ishape);
  kernels::scatter_add_stub(tensor.device(), "one_hot")(out, idx, ones, out.dim() - 1);
  return out;
}

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  check_index_dtype("embedding", input);
  check_same_device("embedding", input, weight);
  DF_CHECK(weight.dim() == 2, ShapeError, "[embedding] weight must be 2-D, got ",
           shape_str(weight.shape()));
  int64_t num = weight.size(0), dimw = weight.size(1);
  if (padding_idx) {
    DF_CHECK(*padding_idx < num && *padding_idx >= -num, ShapeError, "[embedding] padding_idx ",
             *padding_idx, " out of range for ", num, " embeddings");
    if (*padding_idx < 0) *padding_idx += num;
  }
  Tensor flat = raw::contiguous(input).reshape({-1});
  Tensor out2 = raw_gather(weight, 0, index_along(flat, {flat.numel(), dimw}, 0));
  Shape shape = input.shape();
  shape.push_back(dimw);
  Tensor out = raw::try_view(out2, shape);
  if (needs_grad({weight}))
    record("embedding", {weight}, {out},
           [ws = weight.shape(), flat = flat.detach(), padding_idx](auto& g, auto&) {
             Tensor gw = Tensor::zeros(ws, g[0].dtype(), g[0].device());
             Tensor g2 = raw::contiguous(g[0]).reshape({-1, ws[1]});
             kernels::scatter_add_stub(gw.device(), "embedding_backward")(
                 gw, index_along(flat, g2.shape(), 0), g2, 0);
             if (padding_idx) raw::fill(raw::select(gw, 0, *padding_idx), 0.0);
             return std::vector<Tensor>{gw};
           });
  return out;
}

}  // namespace detforge
