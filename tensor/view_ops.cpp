#include "tensor/view_ops.h"

#include <algorithm>
#include <climits>
#include <numeric>

namespace detforge::raw {

Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->sizes = sizes;
  impl->strides = strides;
  impl->dtype = base.dtype();
  impl->device = base.device();
  return Tensor(std::move(impl));
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  dim = t.wrap_dim(dim);
  int64_t n = t.size(dim);
  if (start < 0) start += n;
  DF_CHECK(start >= 0 && length >= 0 && start + length <= n, ShapeError, "[narrow] start ", start,
           " length ", length, " out of range for dim ", dim, " of size ", n, " (shape ",
           shape_str(t.shape()), ")");
  Shape sizes = t.shape();
  sizes[dim] = length;
  return make_view(t, sizes, t.strides(), t.offset() + start * t.stride(dim));
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  dim = t.wrap_dim(dim);
  DF_CHECK(step > 0, ShapeError, "[slice] step must be positive, got ", step);
  int64_t n = t.size(dim);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sizes = t.shape(), strides = t.strides();
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return make_view(t, sizes, strides, t.offset() + start * t.stride(dim));
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  dim = t.wrap_dim(dim);
  int64_t n = t.size(dim);
  if (index < 0) index += n;
  DF_CHECK(index >= 0 && index < n, ShapeError, "[select] index ", index, " out of range for dim ",
           dim, " of size ", n);
  Shape sizes = t.shape(), strides = t.strides();
  int64_t off = t.offset() + index * strides[dim];
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return make_view(t, sizes, strides, off);
}

Tensor permute(const Tensor& t, const Shape& dims) {
  DF_CHECK(static_cast<int64_t>(dims.size()) == t.dim(), ShapeError, "[permute] got ", dims.size(),
           " dims for a tensor of rank ", t.dim());
  Shape sizes(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = t.wrap_dim(dims[i]);
    DF_CHECK(!seen[d], ShapeError, "[permute] dim ", d, " repeated in ", shape_str(dims));
    seen[d] = true;
    sizes[i] = t.size(d);
    strides[i] = t.stride(d);
  }
  return make_view(t, sizes, strides, t.offset());
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  d0 = t.wrap_dim(d0);
  d1 = t.wrap_dim(d1);
  Shape sizes = t.shape(), strides = t.strides();
  std::swap(sizes[d0], sizes[d1]);
  std::swap(strides[d0], strides[d1]);
  return make_view(t, sizes, strides, t.offset());
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      DF_CHECK(infer < 0, ShapeError, "[", op, "] only one dim may be -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      DF_CHECK(out[i] >= 0, ShapeError, "[", op, "] invalid size in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    DF_CHECK(known != 0 && numel % known == 0, ShapeError, "[", op, "] shape ", shape_str(shape),
             " is invalid for ", numel, " elements");
    out[infer] = numel / known;
  }
  DF_CHECK(shape_numel(out) == numel, ShapeError, "[", op, "] shape ", shape_str(shape),
           " is invalid for input of ", numel, " elements");
  return out;
}

// PyTorch's computeStride: groups of old dims that are contiguous among themselves map onto
// groups of new dims; a view exists iff every new group lies inside one old group.
Tensor try_view(const Tensor& t, const Shape& shape_in) {
  Shape shape = infer_shape(shape_in, t.numel(), "view");
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  Shape nst(shape.size(), 0);
  if (t.numel() == 0 || t.dim() == 0) {  // nothing to keep consistent: any shape is a view
    return make_view(t, shape, contiguous_strides(shape), t.offset());
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = ost.empty() ? 1 : ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t td = static_cast<int64_t>(os.size()) - 1; td >= 0; --td) {
    tensor_numel *= os[td];
    if (td == 0 || (os[td - 1] != 1 && ost[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        nst[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return Tensor();
      if (td > 0) {
        chunk_base_stride = ost[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return Tensor();
  return make_view(t, shape, nst, t.offset());
}

Tensor expand(const Tensor& t, const Shape& shape) {
  DF_CHECK(static_cast<int64_t>(shape.size()) >= t.dim(), ShapeError, "[expand] target ",
           shape_str(shape), " has fewer dims than ", shape_str(t.shape()));
  size_t lead = shape.size() - t.shape().size();
  Shape sizes(shape.size()), strides(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      DF_CHECK(shape[i] >= 0, ShapeError, "[expand] -1 not allowed for new leading dim in ",
               shape_str(shape));
      sizes[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t s = t.shape()[i - lead];
    int64_t want = shape[i] == -1 ? s : shape[i];
    if (s == want) {
      sizes[i] = s;
      strides[i] = t.strides()[i - lead];
    } else {
      DF_CHECK(s == 1, ShapeError, "[expand] cannot expand ", shape_str(t.shape()), " to ",
               shape_str(shape));
      sizes[i] = want;
      strides[i] = 0;
    }
  }
  return make_view(t, sizes, strides, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  Shape sizes, strides;
  int64_t wd = dim == INT64_MIN ? -1 : t.wrap_dim(dim);
  for (int64_t d = 0; d < t.dim(); ++d) {
    bool drop = t.size(d) == 1 && (dim == INT64_MIN || d == wd);
    if (!drop) {
      sizes.push_back(t.size(d));
      strides.push_back(t.stride(d));
    }
  }
  return make_view(t, sizes, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int64_t n = t.dim() + 1;
  if (dim < 0) dim += n;
  DF_CHECK(dim >= 0 && dim < n, ShapeError, "[unsqueeze] dim ", dim, " out of range for rank ", t.dim());
  Shape sizes = t.shape(), strides = t.strides();
  int64_t st = dim < t.dim() ? t.stride(dim) * t.size(dim) : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return make_view(t, sizes, strides, t.offset());
}

Tensor detach(const Tensor& t) { return make_view(t, t.shape(), t.strides(), t.offset()); }

}  // namespace detforge::raw
