// CPU NMS: one sort (score descending, index ascending on ties: a stable order), the boxes and
// their areas gathered once into structure-of-arrays in that order, then the greedy pass: for each
// surviving box, one branch-free (omp simd) sweep marks the lower-ranked boxes it suppresses.
// Suppressed boxes are compacted away once they make up half of the remaining tail, so later
// sweeps shrink. batched_nms runs the exact per-class computation on each class's boxes.
#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/detection/nms.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class A>
struct SortedBoxes {
  std::vector<A> x1, y1, x2, y2, area;
  std::vector<int64_t> index;  // original box index
  void reserve(size_t n) {
    for (auto* v : {&x1, &y1, &x2, &y2, &area}) v->resize(n);
    index.resize(n);
  }
};

// Greedy NMS over `s` (already in rank order); appends the kept original indices to `keep`.
template <class A>
void nms_sorted(SortedBoxes<A>& s, int64_t n, A cut, std::vector<int64_t>& keep) {
  using Flag = std::conditional_t<sizeof(A) == 4, int32_t, int64_t>;  // lane width of A
  std::vector<Flag> sup(static_cast<size_t>(n), 0);
  A *x1 = s.x1.data(), *y1 = s.y1.data(), *x2 = s.x2.data(), *y2 = s.y2.data(), *ar = s.area.data();
  int64_t* idx = s.index.data();
  Flag* sp = sup.data();
  int64_t dead = 0;  // suppressed entries after the current one since the last compaction
  for (int64_t i = 0; i < n; ++i) {
    if (sp[i]) {
      --dead;
      continue;
    }
    keep.push_back(idx[i]);
    const A ax1 = x1[i], ay1 = y1[i], ax2 = x2[i], ay2 = y2[i], aa = ar[i];
    int64_t newly = 0;
#pragma omp simd reduction(+ : newly)
    for (int64_t j = i + 1; j < n; ++j) {
      const Flag hit =
          nms_suppresses<A>(ax1, ay1, ax2, ay2, aa, x1[j], y1[j], x2[j], y2[j], ar[j], cut) ? 1 : 0;
      newly += hit & (1 - sp[j]);
      sp[j] |= hit;
    }
    dead += newly;
    const int64_t tail = n - i - 1;
    if (tail > 256 && 2 * dead > tail) {  // compact the tail in place (order kept)
      int64_t w = i + 1;
      for (int64_t j = i + 1; j < n; ++j) {
        if (sp[j]) continue;
        x1[w] = x1[j], y1[w] = y1[j], x2[w] = x2[j], y2[w] = y2[j], ar[w] = ar[j], idx[w] = idx[j];
        sp[w] = 0;
        ++w;
      }
      n = w;
      dead = 0;
    }
  }
}

// Rank order: descending score, ascending index on ties (what a stable descending sort gives).
template <class A>
std::vector<int64_t> rank_order(const A* sc, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  // NaN ranks first, as in PyTorch's descending sort; a strict weak order even with NaNs.
  auto before = [](A x, A y) { return x != x ? y == y : x > y; };
  std::sort(order.begin(), order.end(), [sc, before](int64_t a, int64_t b) {
    if (before(sc[a], sc[b])) return true;
    if (before(sc[b], sc[a])) return false;
    return a < b;
  });
  return order;
}

template <class A>
void gather(SortedBoxes<A>& s, const A* b, const int64_t* order, int64_t n) {
  s.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = order[k];
    const A* p = b + i * 4;
    s.x1[k] = p[0], s.y1[k] = p[1], s.x2[k] = p[2], s.y2[k] = p[3];
    s.area[k] = (p[2] - p[0]) * (p[3] - p[1]);
    s.index[k] = i;
  }
}

Tensor to_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

template <class A>
Tensor nms_typed(const Tensor& boxes, const Tensor& scores, double thr) {
  const int64_t n = boxes.size(0);
  const A* b = static_cast<const A*>(boxes.data_ptr());
  const A* sc = static_cast<const A*>(scores.data_ptr());
  std::vector<int64_t> order = rank_order(sc, n);
  SortedBoxes<A> s;
  gather(s, b, order.data(), n);
  std::vector<int64_t> keep;
  nms_sorted(s, n, nms_cut<A>(thr), keep);
  return to_tensor(keep);
}

template <class A>
Tensor batched_typed(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double thr) {
  const int64_t n = boxes.size(0);
  const A* b = static_cast<const A*>(boxes.data_ptr());
  const A* sc = static_cast<const A*>(scores.data_ptr());
  const int64_t* cls = static_cast<const int64_t*>(idxs.data_ptr());
  std::vector<int64_t> order = rank_order(sc, n);
  // Group by class, each group keeping the rank order.
  std::vector<int64_t> by_class(order);
  std::stable_sort(by_class.begin(), by_class.end(),
                   [cls](int64_t a, int64_t c) { return cls[a] < cls[c]; });
  std::vector<std::pair<int64_t, int64_t>> groups;  // [lo, hi) in by_class
  for (int64_t lo = 0; lo < n;) {
    int64_t hi = lo + 1;
    while (hi < n && cls[by_class[hi]] == cls[by_class[lo]]) ++hi;
    groups.emplace_back(lo, hi);
    lo = hi;
  }
  // Classes are independent: in parallel when there is enough work (each box's flag is written by
  // its own class only).
  std::vector<uint8_t> kept(static_cast<size_t>(n), 0);
  const int64_t ng = static_cast<int64_t>(groups.size());
  parallel_for(0, ng, n >= 4096 ? 1 : ng, [&](int64_t gb, int64_t ge) {
    SortedBoxes<A> s;
    std::vector<int64_t> k;
    for (int64_t gi = gb; gi < ge; ++gi) {
      auto [lo, hi] = groups[static_cast<size_t>(gi)];
      gather(s, b, by_class.data() + lo, hi - lo);
      k.clear();
      nms_sorted(s, hi - lo, nms_cut<A>(thr), k);
      for (int64_t i : k) kept[static_cast<size_t>(i)] = 1;
    }
  });
  std::vector<int64_t> keep;
  for (int64_t i : order)
    if (kept[static_cast<size_t>(i)]) keep.push_back(i);
  return to_tensor(keep);
}

Tensor nms_cpu(const Tensor& boxes, const Tensor& scores, double thr) {
  if (boxes.dtype() == DType::f64) return nms_typed<double>(boxes, scores, thr);
  return nms_typed<float>(boxes, scores, thr);
}

Tensor batched_nms_cpu(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double thr) {
  if (boxes.dtype() == DType::f64) return batched_typed<double>(boxes, scores, idxs, thr);
  return batched_typed<float>(boxes, scores, idxs, thr);
}

}  // namespace
DF_REGISTER_DISPATCH(nms_stub, CPU, &nms_cpu);
DF_REGISTER_DISPATCH(batched_nms_stub, CPU, &batched_nms_cpu);
}  // namespace detforge::kernels
