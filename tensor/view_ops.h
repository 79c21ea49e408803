// Graph-free view and copy primitives. Tensor's methods wrap these with autograd recording;
// library code below autograd (copy kernels, allocators) calls these directly.
#pragma once
#include "tensor/tensor.h"

namespace detforge::raw {

DETFORGE_API Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, int64_t offset);
DETFORGE_API Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
DETFORGE_API Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step);
DETFORGE_API Tensor select(const Tensor& t, int64_t dim, int64_t index);
DETFORGE_API Tensor permute(const Tensor& t, const Shape& dims);
DETFORGE_API Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
// Returns an undefined Tensor when the strides do not allow a view.
DETFORGE_API Tensor try_view(const Tensor& t, const Shape& shape);
DETFORGE_API Tensor expand(const Tensor& t, const Shape& shape);
DETFORGE_API Tensor squeeze(const Tensor& t, int64_t dim);  // dim == INT64_MIN: all size-1 dims
DETFORGE_API Tensor unsqueeze(const Tensor& t, int64_t dim);
DETFORGE_API Tensor detach(const Tensor& t);
// Resolves one -1 in `shape` against numel; ShapeError otherwise.
DETFORGE_API Shape infer_shape(const Shape& shape, int64_t numel, const char* op);

// dst <- src: broadcasts src to dst's shape, converts dtype, crosses devices. Any layouts.
DETFORGE_API void copy(const Tensor& dst, const Tensor& src);
DETFORGE_API void fill(const Tensor& dst, double value);
DETFORGE_API Tensor contiguous(const Tensor& t);
DETFORGE_API Tensor to(const Tensor& t, Device device, DType dtype);

// Per-device copy/fill entry points (tensor/copy.cpp, tensor/cuda/copy.cu). Same device only.
void copy_cpu(const Tensor& dst, const Tensor& src);
void fill_cpu(const Tensor& dst, double value);
void copy_cuda(const Tensor& dst, const Tensor& src);
void fill_cuda(const Tensor& dst, double value);
// Contiguous same-dtype transfer between host and device (cudaMemcpyAsync on the current stream,
// then a stream sync when the destination is host memory).
void copy_between_devices(const Tensor& dst, const Tensor& src);

}  // namespace detforge::raw
