#include "tensor/tensor.h"

#include <cstring>
#include <sstream>

#include "tensor/view_ops.h"

namespace detforge {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    DF_CHECK(sa == sb || sa == 1 || sb == 1, ShapeError, "[", op, "] shapes ", shape_str(a), " and ",
             shape_str(b), " cannot be broadcast together");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

TensorImpl& Tensor::impl() const {
  DF_CHECK(impl_ != nullptr, Error, "[tensor] operation on an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return empty_strided(shape, contiguous_strides(shape), dtype, device);
}

Tensor Tensor::empty_strided(const Shape& shape, const Shape& strides, DType dtype, Device device) {
  DF_CHECK(shape.size() == strides.size(), ShapeError, "[empty_strided] shape ", shape_str(shape),
           " and strides ", shape_str(strides), " differ in rank");
  int64_t extent = 1;  // largest offset + 1
  for (size_t i = 0; i < shape.size(); ++i) {
    DF_CHECK(shape[i] >= 0, ShapeError, "[empty] negative size in ", shape_str(shape));
    if (shape[i] == 0) extent = 0;
  }
  if (extent != 0)
    for (size_t i = 0; i < shape.size(); ++i) extent += (shape[i] - 1) * strides[i];
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(extent) * dtype_size(dtype), device);
  impl->sizes = shape;
  impl->strides = strides;
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  raw::fill(t, value);
  return t;
}
Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::arange(int64_t end, DType dtype, Device device) {
  std::vector<int64_t> v(static_cast<size_t>(std::max<int64_t>(end, 0)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
  Tensor t = from_vector(v, {static_cast<int64_t>(v.size())}, device);
  return dtype == DType::i64 ? t : raw::to(t, device, dtype);
}

Tensor Tensor::from_blob(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, kCPU);
  if (host.nbytes()) std::memcpy(host.data_ptr(), data, host.nbytes());
  return device.is_cpu() ? host : raw::to(host, device, dtype);
}

int64_t Tensor::wrap_dim(int64_t dim) const {
  int64_t n = this->dim();
  int64_t d = dim < 0 ? dim + n : dim;
  DF_CHECK(d >= 0 && d < std::max<int64_t>(n, 1), ShapeError, "[tensor] dim ", dim,
           " out of range for a tensor of rank ", n, " (shape ", shape_str(shape()), ")");
  return d;
}

int64_t Tensor::size(int64_t dim) const { return impl().sizes[wrap_dim(dim)]; }
int64_t Tensor::stride(int64_t dim) const { return impl().strides[wrap_dim(dim)]; }
int64_t Tensor::numel() const { return shape_numel(impl().sizes); }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const auto& s = impl().sizes;
  const auto& st = impl().strides;
  for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) {
    if (s[i] == 1) continue;
    if (s[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

bool Tensor::shares_storage(const Tensor& o) const {
  return defined() && o.defined() && storage()->data() == o.storage()->data();
}

void* Tensor::data_ptr() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<int64_t>(itemsize());
}

Tensor& Tensor::fill_(double value) {
  raw::fill(*this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  raw::copy(*this, src);
  return *this;
}

double Tensor::item() const {
  DF_CHECK(numel() == 1, ShapeError, "[item] tensor of shape ", shape_str(shape()),
           " has ", numel(), " elements, expected 1");
  return to_vector<double>()[0];
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = raw::to(*this, kCPU, dtype_of<T>::value);
  host = raw::contiguous(host);
  std::vector<T> out(static_cast<size_t>(numel()));
  if constexpr (std::is_same_v<T, bool>) {
    const uint8_t* p = static_cast<const uint8_t*>(host.data_ptr());
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i] != 0;
  } else {
    if (!out.empty()) std::memcpy(out.data(), host.data_ptr(), out.size() * sizeof(T));
  }
  return out;
}

template DETFORGE_API std::vector<float> Tensor::to_vector<float>() const;
template DETFORGE_API std::vector<double> Tensor::to_vector<double>() const;
template DETFORGE_API std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template DETFORGE_API std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template DETFORGE_API std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;
template DETFORGE_API std::vector<bool> Tensor::to_vector<bool>() const;
template DETFORGE_API std::vector<Half> Tensor::to_vector<Half>() const;
template DETFORGE_API std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;

}  // namespace detforge
