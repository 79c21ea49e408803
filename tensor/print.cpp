// Tensor printing in PyTorch's spirit: nested brackets, elided middles, dtype and device.
#include <iomanip>
#include <sstream>

#include "tensor/view_ops.h"

namespace detforge {

namespace {
void print_rec(std::ostringstream& os, const std::vector<double>& v, const Shape& shape,
               const Shape& strides, int64_t dim, int64_t off, int64_t maxn, bool integral, int indent) {
  if (dim == static_cast<int64_t>(shape.size())) {
    if (integral)
      os << static_cast<int64_t>(v[off]);
    else
      os << std::setprecision(4) << std::fixed << v[off];
    return;
  }
  os << "[";
  int64_t n = shape[dim];
  for (int64_t i = 0; i < n; ++i) {
    if (n > maxn && i == maxn / 2) {
      os << "...";
      i = n - maxn / 2 - 1;
      if (i + 1 < n) os << (dim + 1 == static_cast<int64_t>(shape.size()) ? ", " : ",\n" + std::string(indent + 1, ' '));
      continue;
    }
    print_rec(os, v, shape, strides, dim + 1, off + i * strides[dim], maxn, integral, indent + 1);
    if (i + 1 < n) os << (dim + 1 == static_cast<int64_t>(shape.size()) ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
}  // namespace

std::string Tensor::str(int64_t max_per_dim) const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  std::vector<double> v = to_vector<double>();
  print_rec(os, v, shape(), contiguous_strides(shape()), 0, 0, max_per_dim,
            !is_floating(dtype()), 7);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype())
     << ", device=" << device().str() << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace detforge
