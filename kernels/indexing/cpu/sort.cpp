#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/indexing/sort.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// Stable sort of one row's (value, index) pairs. A long row with spare threads is cut into
// blocks sorted in parallel and merged (std::inplace_merge keeps stability: blocks are in order).
template <class T, class Cmp>
void sort_pairs(std::vector<std::pair<T, int64_t>>& buf, const Cmp& cmp, bool split_row) {
  const int64_t n = static_cast<int64_t>(buf.size());
  const int nt = split_row ? num_threads() : 1;
  if (nt <= 1 || n < 65536) {
    std::stable_sort(buf.begin(), buf.end(), cmp);
    return;
  }
  int64_t blocks = 1;
  while (blocks < nt) blocks *= 2;
  const int64_t len = (n + blocks - 1) / blocks;
  parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k)
      std::stable_sort(buf.begin() + std::min(n, k * len), buf.begin() + std::min(n, (k + 1) * len),
                       cmp);
  });
  for (int64_t w = len; w < n; w *= 2) {
    const int64_t pairs = (n + 2 * w - 1) / (2 * w);
    parallel_for(0, pairs, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        int64_t lo = k * 2 * w, mid = std::min(n, lo + w), hi = std::min(n, lo + 2 * w);
        if (mid < hi)
          std::inplace_merge(buf.begin() + lo, buf.begin() + mid, buf.begin() + hi, cmp);
      }
    });
  }
}

// Rows are independent: parallel over rows (or within the row when there is only one); each row
// is sorted as (value, index) pairs so that the comparisons touch one contiguous buffer.
template <class T>
void sort_typed(const Tensor& values, const Tensor& indices, const Tensor& in, bool descending) {
  const int64_t n = in.size(-1), rows = n == 0 ? 0 : in.numel() / n;
  const T* src = static_cast<const T*>(in.data_ptr());
  T* vo = static_cast<T*>(values.data_ptr());
  int64_t* io = static_cast<int64_t*>(indices.data_ptr());
  using P = std::pair<T, int64_t>;
  auto less = [](const P& a, const P& b) { return sort_less(a.first, b.first); };
  auto greater = [](const P& a, const P& b) { return sort_greater(a.first, b.first); };
  const bool split_row = rows == 1;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<P> buf(n);
                 for (int64_t r = b; r < e; ++r) {
                   const T* row = src + r * n;
                   for (int64_t j = 0; j < n; ++j) buf[j] = {row[j], j};
                   if (descending)
                     sort_pairs(buf, greater, split_row);
                   else
                     sort_pairs(buf, less, split_row);
                   for (int64_t j = 0; j < n; ++j) {
                     vo[r * n + j] = buf[j].first;
                     io[r * n + j] = buf[j].second;
                   }
                 }
               });
}

// Ties broken by the lower index, so the result is one total order. Small k (k * 16 <= n): one
// pass keeping a k-element heap whose top is the worst kept element (most candidates are rejected
// by one comparison); otherwise nth_element on all (value, index) pairs. Then the k are sorted.
template <class T>
void topk_typed(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t k,
                bool largest) {
  const int64_t n = in.size(-1), rows = n == 0 ? 0 : in.numel() / n;
  const T* src = static_cast<const T*>(in.data_ptr());
  T* vo = static_cast<T*>(values.data_ptr());
  int64_t* io = static_cast<int64_t*>(indices.data_ptr());
  if (k == 0) return;
  using P = std::pair<T, int64_t>;
  auto better = [largest](const P& a, const P& b) {
    if (largest)
      return sort_greater(a.first, b.first) ||
             (!sort_greater(b.first, a.first) && a.second < b.second);
    return sort_less(a.first, b.first) || (!sort_less(b.first, a.first) && a.second < b.second);
  };
  const bool use_heap = k * 16 <= n;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<P> buf(use_heap ? k : n);
                 for (int64_t r = b; r < e; ++r) {
                   const T* row = src + r * n;
                   if (use_heap) {
                     for (int64_t j = 0; j < k; ++j) buf[j] = {row[j], j};
                     std::make_heap(buf.begin(), buf.end(), better);  // front = worst kept
                     for (int64_t j = k; j < n; ++j) {
                       P c{row[j], j};
                       if (!better(c, buf.front())) continue;
                       std::pop_heap(buf.begin(), buf.end(), better);
                       buf.back() = c;
                       std::push_heap(buf.begin(), buf.end(), better);
                     }
                     std::sort(buf.begin(), buf.end(), better);
                   } else {
                     for (int64_t j = 0; j < n; ++j) buf[j] = {row[j], j};
                     std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), better);
                     std::sort(buf.begin(), buf.begin() + k, better);
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
