// Tensor's view, copy and conversion members with graph recording.
#include <climits>

#include "autograd/function.h"
#include "autograd/reduction.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {
// Gradient of a view: scatter g into zeros shaped like the base through the same view.
using ViewFn = std::function<Tensor(const Tensor&)>;
BackwardFn view_backward(const Tensor& base, ViewFn make_view) {
  return [shape = base.shape(), dtype = base.dtype(), device = base.device(), make_view](
             const std::vector<Tensor>& g, const std::vector<bool>&) {
    Tensor gi = Tensor::zeros(shape, dtype, device);
    raw::copy(make_view(gi), g[0]);
    return std::vector<Tensor>{gi};
  };
}
}  // namespace

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  Tensor out = raw::narrow(*this, dim, start, length);
  if (needs_grad({*this}))
    record("narrow", {*this}, {out}, view_backward(*this, [=](const Tensor& b) {
             return raw::narrow(b, dim, start, length);
           }));
  return out;
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  Tensor out = raw::slice(*this, dim, start, end, step);
  if (needs_grad({*this}))
    record("slice", {*this}, {out}, view_backward(*this, [=](const Tensor& b) {
             return raw::slice(b, dim, start, end, step);
           }));
  return out;
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  Tensor out = raw::select(*this, dim, index);
  if (needs_grad({*this}))
    record("select", {*this}, {out}, view_backward(*this, [=](const Tensor& b) {
             return raw::select(b, dim, index);
           }));
  return out;
}

Tensor Tensor::permute(const Shape& dims) const {
  Tensor out = raw::permute(*this, dims);
  if (needs_grad({*this})) {
    Shape inv(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inv[wrap_dim(dims[i])] = static_cast<int64_t>(i);
    record("permute", {*this}, {out}, [inv](const std::vector<Tensor>& g, const std::vector<bool>&) {
      return std::vector<Tensor>{raw::permute(g[0], inv)};
    });
  }
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  Tensor out = raw::transpose(*this, d0, d1);
  if (needs_grad({*this}))
    record("transpose", {*this}, {out}, [d0, d1](const std::vector<Tensor>& g, const std::vector<bool>&) {
      return std::vector<Tensor>{raw::transpose(g[0], d0, d1)};
    });
  return out;
}

namespace {
// Reshape-like ops: the gradient is g reshaped back to the input's shape.
void record_reshape(const char* name, const Tensor& in, const Tensor& out) {
  if (needs_grad({in}))
    record(name, {in}, {out}, [shape = in.shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g[0].reshape(shape)};
    });
}
}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  Tensor out = raw::try_view(*this, shape);
  DF_CHECK(out.defined(), ShapeError, "[view] shape ", shape_str(shape),
           " is not compatible with the input's size ", shape_str(this->shape()), " and strides ",
           shape_str(strides()), "; use reshape()");
  record_reshape("view", *this, out);
  return out;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Tensor out = raw::try_view(*this, shape);
  if (!out.defined()) out = raw::try_view(raw::contiguous(*this), shape);
  DF_CHECK(out.defined(), ShapeError, "[reshape] cannot reshape ", shape_str(this->shape()), " to ",
           shape_str(shape));
  record_reshape("reshape", *this, out);
  return out;
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start);
  end = wrap_dim(end);
  Shape s;
  for (int64_t d = 0; d < start; ++d) s.push_back(size(d));
  int64_t m = 1;
  for (int64_t d = start; d <= end; ++d) m *= size(d);
  s.push_back(m);
  for (int64_t d = end + 1; d < dim(); ++d) s.push_back(size(d));
  return reshape(s);
}

Tensor Tensor::squeeze() const {
  Tensor out = raw::squeeze(*this, INT64_MIN);
  record_reshape("squeeze", *this, out);
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  Tensor out = raw::squeeze(*this, d);
  record_reshape("squeeze", *this, out);
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  Tensor out = raw::unsqueeze(*this, d);
  record_reshape("unsqueeze", *this, out);
  return out;
}

Tensor Tensor::expand(const Shape& shape) const {
  Tensor out = raw::expand(*this, shape);
  if (needs_grad({*this}))
    record("expand", {*this}, {out}, [s = this->shape()](const std::vector<Tensor>& g, const std::vector<bool>&) {
      return std::vector<Tensor>{sum_to(g[0], s)};
    });
  return out;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  raw::copy(out, *this);
  if (needs_grad({*this}))
    record("clone", {*this}, {out}, [](const std::vector<Tensor>& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g[0]};
    });
  return out;
}

Tensor Tensor::to(Device device) const { return to(device, dtype()); }
Tensor Tensor::to(DType dtype) const { return to(device(), dtype); }
Tensor Tensor::to(Device dev, DType dt) const {
  if (dev == device() && dt == dtype()) return *this;
  Tensor out = raw::to(*this, dev, dt);
  if (needs_grad({*this}) && is_floating(dt))
    record("to", {*this}, {out}, [src_dev = device(), src_dt = dtype()](const std::vector<Tensor>& g,
                                                                        const std::vector<bool>&) {
      return std::vector<Tensor>{raw::to(g[0], src_dev, src_dt)};
    });
  return out;
}

Tensor Tensor::detach() const { return raw::detach(*this); }

}  // namespace detforge
