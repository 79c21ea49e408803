#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/indexing/sort.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// Rows are independent: parallel over rows; each row is sorted as (value, index) pairs so that
// the comparisons touch one contiguous buffer.
template <class T>
void sort_typed(const Tensor& values, const Tensor& indices, const Tensor& in, bool descending) {
  const int64_t n = in.size(-1), rows = n == 0 ? 0 : in.numel() / n;
  const T* src = static_cast<const T*>(in.data_ptr());
  T* vo = static_cast<T*>(values.data_ptr());
  int64_t* io = static_cast<int64_t*>(indices.data_ptr());
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<std::pair<T, int64_t>> buf(n);
                 for (int64_t r = b; r < e; ++r) {
                   const T* row = src + r * n;
                   for (int64_t j = 0; j < n; ++j) buf[j] = {row[j], j};
                   if (descending)
                     std::stable_sort(buf.begin(), buf.end(), [](const auto& a, const auto& b) {
                       return sort_greater(a.first, b.first);
                     });
                   else
                     std::stable_sort(buf.begin(), buf.end(), [](const auto& a, const auto& b) {
                       return sort_less(a.first, b.first);
                     });
                   for (int64_t j = 0; j < n; ++j) {
                     vo[r * n + j] = buf[j].first;
                     io[r * n + j] = buf[j].second;
                   }
                 }
               });
}

// partial_sort of (value, index) pairs; ties broken by the lower index.
template <class T>
void topk_typed(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t k,
                bool largest) {
  const int64_t n = in.size(-1), rows = n == 0 ? 0 : in.numel() / n;
  const T* src = static_cast<const T*>(in.data_ptr());
  T* vo = static_cast<T*>(values.data_ptr());
  int64_t* io = static_cast<int64_t*>(indices.data_ptr());
  if (k == 0) return;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<std::pair<T, int64_t>> buf(n);
                 auto greater = [](const auto& a, const auto& b) {
                   return sort_greater(a.first, b.first) ||
                          (!sort_greater(b.first, a.first) && a.second < b.second);
                 };
                 auto less = [](const auto& a, const auto& b) {
                   return sort_less(a.first, b.first) ||
                          (!sort_less(b.first, a.first) && a.second < b.second);
                 };
                 for (int64_t r = b; r < e; ++r) {
                   const T* row = src + r * n;
                   for (int64_t j = 0; j < n; ++j) buf[j] = {row[j], j};
                   if (largest) {
                     std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), greater);
                     std::sort(buf.begin(), buf.begin() + k, greater);
                   } else {
                     std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), less);
                     std::sort(buf.begin(), buf.begin() + k, less);
                   }
                   for (int64_t j = 0; j < k; ++j) {
                     vo[r * k + j] = buf[j].first;
                     io[r * k + j] = buf[j].second;
                   }
                 }
               });
}

void sort_cpu(const Tensor& values, const Tensor& indices, const Tensor& in, bool descending) {
  DF_DISPATCH_NUMERIC(in.dtype(), "sort",
                      [&] { sort_typed<scalar_t>(values, indices, in, descending); });
}
void topk_cpu(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t k,
              bool largest) {
  DF_DISPATCH_NUMERIC(in.dtype(), "topk",
                      [&] { topk_typed<scalar_t>(values, indices, in, k, largest); });
}

}  // namespace
DF_REGISTER_DISPATCH(sort_stub, CPU, &sort_cpu);
DF_REGISTER_DISPATCH(topk_stub, CPU, &topk_cpu);
}  // namespace detforge::kernels
