// CPU kernels of the pairwise IoU family: rows of boxes1 in parallel, the inner loop over boxes2
// reads structure-of-arrays copies of the coordinates so that it vectorises (omp simd).
// The backward runs two passes (grad of boxes1 by rows, grad of boxes2 by columns), each
// recomputing the pair gradient: no atomics, no per-thread buffers, deterministic.
#include <vector>

#include "kernels/detection/box_iou.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class A>
struct Soa {
  std::vector<A> c[4];
  explicit Soa(const Tensor& boxes) {
    const int64_t n = boxes.size(0);
    const A* p = static_cast<const A*>(boxes.data_ptr());
    for (auto& v : c) v.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      for (int k = 0; k < 4; ++k) c[k][static_cast<size_t>(i)] = p[i * 4 + k];
  }
};

int64_t row_grain(int64_t cols) {
  return std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1));
}

template <BoxIouKind K, class A>
void forward_typed(const BoxIouParams& p, const Tensor& out, const Tensor& b1, const Tensor& b2) {
  const int64_t N = b1.size(0), M = b2.size(0);
  if (N == 0 || M == 0) return;
  const A* a = static_cast<const A*>(b1.data_ptr());
  Soa<A> s(b2);
  const A *x1 = s.c[0].data(), *y1 = s.c[1].data(), *x2 = s.c[2].data(), *y2 = s.c[3].data();
  A* o = static_cast<A*>(out.data_ptr());
  const A eps = static_cast<A>(p.eps);
  parallel_for(0, N, row_grain(M), [&](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const A a0 = a[i * 4], a1 = a[i * 4 + 1], a2 = a[i * 4 + 2], a3 = a[i * 4 + 3];
      A* orow = o + i * M;
#pragma omp simd
      for (int64_t j = 0; j < M; ++j)
        orow[j] = box_pair<K, false, false, A>(a0, a1, a2, a3, x1[j], y1[j], x2[j], y2[j], eps, eps,
                                               A(0), nullptr, nullptr);
    }
  });
}

template <BoxIouKind K, class A>
void backward_typed(const BoxIouParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                    const Tensor& b1, const Tensor& b2) {
  const int64_t N = b1.size(0), M = b2.size(0);
  const A* a = static_cast<const A*>(b1.data_ptr());
  const A* b = static_cast<const A*>(b2.data_ptr());
  const A* g = static_cast<const A*>(go.data_ptr());
  const A eps = static_cast<A>(p.eps);
  if (g1.defined()) {
    A* out = static_cast<A*>(g1.data_ptr());
    parallel_for(0, N, row_grain(M), [&](int64_t rb, int64_t re) {
      for (int64_t i = rb; i < re; ++i) {
        const A* ai = a + i * 4;
        A acc[4] = {A(0), A(0), A(0), A(0)};
        for (int64_t j = 0; j < M; ++j) {
          const A* bj = b + j * 4;
          A ga[4], gb[4];
          box_pair<K, false, true, A>(ai[0], ai[1], ai[2], ai[3], bj[0], bj[1], bj[2], bj[3], eps,
                                      eps, g[i * M + j], ga, gb);
          for (int k = 0; k < 4; ++k) acc[k] += ga[k];
        }
        for (int k = 0; k < 4; ++k) out[i * 4 + k] = acc[k];
      }
    });
  }
  if (g2.defined()) {
    A* out = static_cast<A*>(g2.data_ptr());
    parallel_for(0, M, row_grain(N), [&](int64_t cb, int64_t ce) {
      for (int64_t j = cb; j < ce; ++j) {
        const A* bj = b + j * 4;
        A acc[4] = {A(0), A(0), A(0), A(0)};
        for (int64_t i = 0; i < N; ++i) {
          const A* ai = a + i * 4;
          A ga[4], gb[4];
          box_pair<K, false, true, A>(ai[0], ai[1], ai[2], ai[3], bj[0], bj[1], bj[2], bj[3], eps,
                                      eps, g[i * M + j], ga, gb);
          for (int k = 0; k < 4; ++k) acc[k] += gb[k];
        }
        for (int k = 0; k < 4; ++k) out[j * 4 + k] = acc[k];
      }
    });
  }
}

template <class F>
void dispatch_f32_f64(DType dt, const char* op, const F& f) {
  if (dt == DType::f32) return f(float{});
  if (dt == DType::f64) return f(double{});
  throw DTypeError(str_cat("[", op, "] dtype ", dtype_name(dt), " is not supported (f32, f64)"));
}

void forward_cpu(const BoxIouParams& p, const Tensor& out, const Tensor& b1, const Tensor& b2) {
  dispatch_f32_f64(b1.dtype(), "box_iou", [&](auto z) {
    using A = decltype(z);
    visit_box_iou_kind(p.kind,
                       [&](auto k) { forward_typed<decltype(k)::value, A>(p, out, b1, b2); });
  });
}

void backward_cpu(const BoxIouParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                  const Tensor& b1, const Tensor& b2) {
  dispatch_f32_f64(b1.dtype(), "box_iou_backward", [&](auto z) {
    using A = decltype(z);
    visit_box_iou_kind(
        p.kind, [&](auto k) { backward_typed<decltype(k)::value, A>(p, g1, g2, go, b1, b2); });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(box_iou_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(box_iou_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels
