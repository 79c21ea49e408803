// CPU arg_reduce_stub: max/min with indices along the last dim of a (possibly strided) view.
// Rows (stride 1) are scanned per output; when the outputs are contiguous in memory (reducing dim 0
// of [N, C]) whole vectors of outputs are updated per input row.
#include <vector>

#include "kernels/reduction/arg_reduce.h"
#include "kernels/reduction/cpu/reduce_core.h"

namespace detforge::kernels {
namespace {

template <class T, bool IsMax>
void arg_typed(const Tensor& values, const Tensor& indices, const Tensor& in) {
  using A = acc_t<T>;
  int64_t L = in.size(-1), s = in.stride(-1);
  cpu_reduce::Layout l = cpu_reduce::make_layout(in, 1);
  const T* src = static_cast<const T*>(in.data_ptr());
  T* vals = values.defined() ? static_cast<T*>(values.data_ptr()) : nullptr;
  int64_t* idx = static_cast<int64_t*>(indices.data_ptr());
  const int64_t n_out = l.n_out;
  const auto& O = l.outer;
  if (O.ndim > 0 && O.strides[0][0] == 1 && s != 1) {  // column mode
    const int64_t B = O.sizes[0], P = n_out / B;
    parallel_for(0, P, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, B * L)),
                 [&](int64_t b, int64_t e) {
                   std::vector<A> best(B);
                   std::vector<int64_t> bi(B);
                   for (int64_t p = b; p < e; ++p) {
                     int64_t base;
                     O.offsets(p * B, &base);
                     for (int64_t j = 0; j < B; ++j)
                       best[j] = static_cast<A>(src[base + j]), bi[j] = 0;
                     for (int64_t r = 1; r < L; ++r) {
                       const T* q = src + base + r * s;
                       for (int64_t j = 0; j < B; ++j) {
                         A v = static_cast<A>(q[j]);
                         bool t = arg_better<IsMax>(v, best[j]);
                         best[j] = t ? v : best[j];
                         bi[j] = t ? r : bi[j];
                       }
                     }
                     for (int64_t j = 0; j < B; ++j) {
                       if (vals) vals[p * B + j] = static_cast<T>(best[j]);
                       idx[p * B + j] = bi[j];
                     }
                   }
                 });
    return;
  }
  parallel_for(0, n_out, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, L)),
               [&](int64_t b, int64_t e) {
                 cpu_reduce::Walker w(O, b);
                 for (int64_t o = b; o < e; ++o, w.next()) {
                   const T* q = src + w.off;
                   A best = static_cast<A>(q[0]);
                   int64_t bi = 0;
                   for (int64_t r = 1; r < L; ++r) {
                     A v = static_cast<A>(q[r * s]);
                     if (arg_better<IsMax>(v, best)) best = v, bi = r;
                   }
                   if (vals) vals[o] = static_cast<T>(best);
                   idx[o] = bi;
                 }
               });
}

void arg_reduce_cpu(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in) {
  if (indices.numel() == 0) return;
  DF_DISPATCH_NUMERIC(in.dtype(), is_max ? "max" : "min", [&] {
    if (is_max)
      arg_typed<scalar_t, true>(values, indices, in);
    else
      arg_typed<scalar_t, false>(values, indices, in);
  });
}

}  // namespace
DF_REGISTER_DISPATCH(arg_reduce_stub, CPU, &arg_reduce_cpu);
}  // namespace detforge::kernels
