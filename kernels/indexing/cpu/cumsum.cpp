#include <vector>

#include "kernels/indexing/cumsum.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// Floats accumulate in double (as PyTorch's CPU cumsum); the inner dim is the vectorisable loop.
template <class T>
void cumsum_typed(const Tensor& out, const Tensor& in, const CumsumParams& p) {
  using acc = std::conditional_t<std::is_floating_point_v<acc_t<T>>, double, acc_t<T>>;
  const T* src = static_cast<const T*>(in.data_ptr());
  T* dst = static_cast<T*>(out.data_ptr());
  const int64_t n = p.n, inner = p.inner;
  parallel_for(0, p.outer, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(n * inner, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<acc> run(inner);
                 for (int64_t o = b; o < e; ++o) {
                   std::fill(run.begin(), run.end(), acc(0));
                   const T* s = src + o * n * inner;
                   T* d = dst + o * n * inner;
                   for (int64_t jj = 0; jj < n; ++jj) {
                     int64_t j = p.reverse ? n - 1 - jj : jj;
                     for (int64_t i = 0; i < inner; ++i) {
                       run[i] += static_cast<acc>(s[j * inner + i]);
                       d[j * inner + i] = static_cast<T>(run[i]);
                     }
                   }
                 }
               });
}

void cumsum_cpu(const Tensor& out, const Tensor& in, const CumsumParams& p) {
  DF_DISPATCH_NUMERIC(in.dtype(), "cumsum", [&] { cumsum_typed<scalar_t>(out, in, p); });
}

Tensor flat_nonzero_cpu(const Tensor& mask) {
  const uint8_t* m = static_cast<const uint8_t*>(mask.data_ptr());
  const int64_t n = mask.numel();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += m[i] != 0;
  Tensor out = Tensor::empty({count}, DType::i64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0, k = 0; i < n; ++i)
    if (m[i]) o[k++] = i;
  return out;
}

}  // namespace
DF_REGISTER_DISPATCH(cumsum_stub, CPU, &cumsum_cpu);
DF_REGISTER_DISPATCH(flat_nonzero_stub, CPU, &flat_nonzero_cpu);
}  // namespace detforge::kernels
