// Tensor: shared storage + element offset + shape + element strides + dtype + device.
// View methods (narrow, transpose, ...) never copy and are differentiable: their graph recording
// lives in autograd/view_ops.cpp; the raw, graph-free versions are in tensor/view_ops.h.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/storage.h"

namespace detforge {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3, 4]"

struct AutogradMeta;  // autograd/autograd_meta.h
class Node;           // autograd/node.h
class Tensor;
using GradHook = std::function<Tensor(const Tensor&)>;  // returns a replacement grad or undefined

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape sizes;
  Shape strides;  // in elements
  DType dtype = DType::f32;
  Device device;
  std::shared_ptr<AutogradMeta> autograd;  // null for tensors that never took part in autograd
};

class DETFORGE_API Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (uninitialised, filled, from host data) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
  static Tensor empty_strided(const Shape& shape, const Shape& strides, DType dtype = DType::f32,
                              Device device = kCPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = kCPU);
  static Tensor scalar(double value, DType dtype = DType::f32, Device device = kCPU);  // 0-dim
  static Tensor arange(int64_t end, DType dtype = DType::i64, Device device = kCPU);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = kCPU);
  static Tensor from_blob(const void* data, const Shape& shape, DType dtype, Device device = kCPU);  // copies

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().sizes; }
  const Shape& sizes() const { return impl().sizes; }
  const Shape& strides() const { return impl().strides; }
  int64_t size(int64_t dim) const;    // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(impl().sizes.size()); }
  int64_t numel() const;
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().device; }
  bool is_cuda() const { return device().is_cuda(); }
  int64_t offset() const { return impl().offset; }
  size_t itemsize() const { return dtype_size(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * itemsize(); }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  bool is_contiguous() const;
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  bool shares_storage(const Tensor& o) const;
  void* data_ptr() const;
  template <class T>
  T* data() const;  // checks that T matches dtype
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  int64_t wrap_dim(int64_t dim) const;  // normalises a possibly negative dim; ShapeError when out of range

  // ---- views (no copy; differentiable) ----
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // python-style bounds
  Tensor select(int64_t dim, int64_t index) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor permute(const Shape& dims) const;
  Tensor view(const Shape& shape) const;     // one dim may be -1; ShapeError if strides forbid a view
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a contiguous copy
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor expand(const Shape& shape) const;   // -1 keeps a size
  Tensor expand_as(const Tensor& o) const { return expand(o.shape()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;

  // ---- copies and conversions (differentiable) ----
  Tensor contiguous() const;  // self if already contiguous
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor to(Device device, DType dtype) const;
  Tensor detach() const;  // shares storage, no autograd history

  // ---- in-place (not recorded by autograd; throw on leaves that require grad in grad mode) ----
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // broadcasts src to self's shape, converts dtype and device

  // ---- host access ----
  double item() const;  // single-element tensors
  template <class T>
  std::vector<T> to_vector() const;  // any device, any layout; converts to T
  std::string str(int64_t max_per_dim = 6) const;

  // ---- autograd (autograd/tensor_autograd.cpp) ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires = true);
  const Tensor& grad() const;  // undefined Tensor when none
  Tensor& mutable_grad();
  void set_grad(const Tensor& g);
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  void register_hook(GradHook hook) const;
  void retain_grad() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Contiguous (row-major) strides for a shape.
DETFORGE_API Shape contiguous_strides(const Shape& shape);
DETFORGE_API int64_t shape_numel(const Shape& shape);
// Broadcast two shapes as numpy/PyTorch do; ShapeError naming `op` when incompatible.
DETFORGE_API Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

template <class T>
T* Tensor::data() const {
  DF_CHECK(dtype_of<T>::value == dtype(), DTypeError, "[tensor] data<", dtype_name(dtype_of<T>::value),
           ">() on a tensor of dtype ", dtype_name(dtype()));
  return static_cast<T*>(data_ptr());
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  DF_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), ShapeError,
           "[from_vector] ", values.size(), " values for shape ", shape_str(shape));
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return from_blob(bytes.data(), shape, DType::b8, device);
  } else {
    return from_blob(values.data(), shape, dtype_of<T>::value, device);
  }
}

}  // namespace detforge
