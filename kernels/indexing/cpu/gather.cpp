#include <atomic>

#include "kernels/indexing/gather.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

[[noreturn]] void throw_bad_index(const char* op, int64_t v, int64_t size, int64_t dim) {
  throw ShapeError(str_cat("[", op, "] index ", v, " is out of bounds for dimension ", dim,
                           " with size ", size));
}

template <class T, class I>
void gather_typed(const Tensor& out, const Tensor& in, const Tensor& index, int64_t dim) {
  StridedIndex<3> it = make_gather_index(out, index, in, dim);
  const int64_t n = index.numel(), size = in.size(dim), stride = in.stride(dim);
  T* o = static_cast<T*>(out.data_ptr());
  const T* src = static_cast<const T*>(in.data_ptr());
  const I* idx = static_cast<const I*>(index.data_ptr());
  // Rows of the innermost (merged) dim: offsets computed once per row, then stepped by strides.
  const int64_t inner = it.ndim > 0 ? it.sizes[0] : 1, rows = n / inner;
  const int64_t so = it.ndim > 0 ? it.strides[0][0] : 0, si = it.ndim > 0 ? it.strides[1][0] : 0,
                sn = it.ndim > 0 ? it.strides[2][0] : 0;
  std::atomic<int64_t> bad{INT64_MIN};
  parallel_for(0, rows, std::max<int64_t>(1, kDefaultGrain / 4 / inner), [&](int64_t b, int64_t e) {
    int64_t off[3];
    for (int64_t r = b; r < e; ++r) {
      it.offsets(r * inner, off);
      for (int64_t l = 0; l < inner; ++l) {
        I raw = idx[off[1] + l * si];
        int64_t j = checked_index(raw, size);
        if (j < 0) {
          bad = static_cast<int64_t>(raw);
          return;
        }
        o[off[0] + l * so] = src[off[2] + l * sn + j * stride];
      }
    }
  });
  if (bad != INT64_MIN) throw_bad_index("gather", bad, size, dim);
}

// Race-free on the CPU: parallel over the positions outside `dim`, the dim loop innermost, so two
// threads never touch one row of self.
template <class T, class I>
void scatter_add_typed(const Tensor& self, const Tensor& index, const Tensor& src, int64_t dim) {
  Shape osz = index.shape();
  std::vector<int64_t> st[3] = {src.strides(), index.strides(), self.strides()};
  const int64_t len = osz[dim], s_src = st[0][dim], s_idx = st[1][dim], s_self = st[2][dim];
  osz.erase(osz.begin() + dim);
  for (auto& v : st) v.erase(v.begin() + dim);
  StridedIndex<3> it = make_strided_index<3>(osz, st);
  const int64_t outer = shape_numel(osz), size = self.size(dim);
  T* dst = static_cast<T*>(self.data_ptr());
  const T* s = static_cast<const T*>(src.data_ptr());
  const I* idx = static_cast<const I*>(index.data_ptr());
  std::atomic<int64_t> bad{INT64_MIN};
  parallel_for(0, outer, std::max<int64_t>(1, kDefaultGrain / 4 / std::max<int64_t>(len, 1)),
               [&](int64_t b, int64_t e) {
                 int64_t off[3];
                 for (int64_t o = b; o < e; ++o) {
                   it.offsets(o, off);
                   for (int64_t l = 0; l < len; ++l) {
                     I raw = idx[off[1] + l * s_idx];
                     int64_t j = checked_index(raw, size);
                     if (j < 0) {
                       bad = static_cast<int64_t>(raw);
                       return;
                     }
                     T& d = dst[off[2] + j * s_self];
                     d = static_cast<T>(static_cast<acc_t<T>>(d) +
                                        static_cast<acc_t<T>>(s[off[0] + l * s_src]));
                   }
                 }
               });
  if (bad != INT64_MIN) throw_bad_index("scatter_add", bad, size, dim);
}

void gather_cpu(const Tensor& out, const Tensor& in, const Tensor& index, int64_t dim) {
  if (index.numel() == 0) return;
  DF_DISPATCH_ALL(in.dtype(), "gather", [&] {
    using T = scalar_t;
    DF_DISPATCH_INDEX(index.dtype(), "gather",
                      [&] { gather_typed<T, scalar_t>(out, in, index, dim); });
  });
}

void scatter_add_cpu(const Tensor& self, const Tensor& index, const Tensor& src, int64_t dim) {
  if (index.numel() == 0) return;
  DF_DISPATCH_NUMERIC(self.dtype(), "scatter_add", [&] {
    using T = scalar_t;
    DF_DISPATCH_INDEX(index.dtype(), "scatter_add",
                      [&] { scatter_add_typed<T, scalar_t>(self, index, src, dim); });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(gather_stub, CPU, &gather_cpu);
DF_REGISTER_DISPATCH(scatter_add_stub, CPU, &scatter_add_cpu);
}  // namespace detforge::kernels
