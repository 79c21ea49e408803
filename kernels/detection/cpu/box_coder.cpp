// CPU box coder: rows in parallel over the DETFORGE_HD element math of box_coder.h.
#include "kernels/detection/box_coder.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

constexpr int64_t kGrain = 4096;

template <class T, class A>
inline void load4(const T* s, A* d) {
  for (int k = 0; k < 4; ++k) d[k] = static_cast<A>(s[k]);
}

template <class T>
void encode_typed(const BoxCoderParams& p, const Tensor& out, const Tensor& ref,
                  const Tensor& prop) {
  using A = acc_t<T>;
  const T* g = static_cast<const T*>(ref.data_ptr());
  const T* e = static_cast<const T*>(prop.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  parallel_for(0, ref.size(0), kGrain, [&](int64_t b, int64_t en) {
    for (int64_t i = b; i < en; ++i) {
      A gv[4], ev[4], t[4];
      load4(g + 4 * i, gv);
      load4(e + 4 * i, ev);
      box_encode(gv, ev, p, t);
      for (int k = 0; k < 4; ++k) o[4 * i + k] = cast_to<T>(t[k]);
    }
  });
}

template <class T>
void decode_typed(const BoxCoderParams& p, const Tensor& out, const Tensor& codes,
                  const Tensor& boxes) {
  using A = acc_t<T>;
  const int64_t n = boxes.size(0), k4 = codes.numel() / std::max<int64_t>(n, 1);
  const T* t = static_cast<const T*>(codes.data_ptr());
  const T* bx = static_cast<const T*>(boxes.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  parallel_for(0, n, std::max<int64_t>(1, kGrain * 4 / std::max<int64_t>(k4, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   A bv[4];
                   load4(bx + 4 * i, bv);
                   for (int64_t j = 0; j < k4; j += 4) {
                     A tv[4], ov[4];
                     load4(t + i * k4 + j, tv);
                     box_decode(tv, bv, p, ov);
                     for (int k = 0; k < 4; ++k) o[i * k4 + j + k] = cast_to<T>(ov[k]);
                   }
                 }
               });
}

template <class T>
void decode_backward_typed(const BoxCoderParams& p, const Tensor& gct, const Tensor& gbt,
                           const Tensor& got, const Tensor& codes, const Tensor& boxes) {
  using A = acc_t<T>;
  const int64_t n = boxes.size(0), k4 = codes.numel() / std::max<int64_t>(n, 1);
  const T* t = static_cast<const T*>(codes.data_ptr());
  const T* bx = static_cast<const T*>(boxes.data_ptr());
  const T* go = static_cast<const T*>(got.data_ptr());
  T* gc = gct.defined() ? static_cast<T*>(gct.data_ptr()) : nullptr;
  T* gb = gbt.defined() ? static_cast<T*>(gbt.data_ptr()) : nullptr;
  parallel_for(0, n, std::max<int64_t>(1, kGrain * 4 / std::max<int64_t>(k4, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   A bv[4], db[4] = {A(0), A(0), A(0), A(0)};
                   load4(bx + 4 * i, bv);
                   for (int64_t j = 0; j < k4; j += 4) {
                     A tv[4], gv[4], dt[4];
                     load4(t + i * k4 + j, tv);
                     load4(go + i * k4 + j, gv);
                     box_decode_backward(tv, bv, gv, p, gc ? dt : nullptr, gb ? db : nullptr);
                     if (gc)
                       for (int k = 0; k < 4; ++k) gc[i * k4 + j + k] = cast_to<T>(dt[k]);
                   }
                   if (gb)
                     for (int k = 0; k < 4; ++k) gb[4 * i + k] = cast_to<T>(db[k]);
                 }
               });
}

void encode_cpu(const BoxCoderParams& p, const Tensor& out, const Tensor& ref, const Tensor& prop) {
  DF_DISPATCH_FLOATING(ref.dtype(), "box_coder_encode",
                       [&] { encode_typed<scalar_t>(p, out, ref, prop); });
}
void decode_cpu(const BoxCoderParams& p, const Tensor& out, const Tensor& codes,
                const Tensor& boxes) {
  DF_DISPATCH_FLOATING(codes.dtype(), "box_coder_decode",
                       [&] { decode_typed<scalar_t>(p, out, codes, boxes); });
}
void decode_backward_cpu(const BoxCoderParams& p, const Tensor& gc, const Tensor& gb,
                         const Tensor& go, const Tensor& codes, const Tensor& boxes) {
  DF_DISPATCH_FLOATING(codes.dtype(), "box_coder_decode_backward",
                       [&] { decode_backward_typed<scalar_t>(p, gc, gb, go, codes, boxes); });
}

}  // namespace
DF_REGISTER_DISPATCH(box_encode_stub, CPU, &encode_cpu);
DF_REGISTER_DISPATCH(box_decode_stub, CPU, &decode_cpu);
DF_REGISTER_DISPATCH(box_decode_backward_stub, CPU, &decode_backward_cpu);
}  // namespace detforge::kernels
