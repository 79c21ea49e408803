// Element types, their C++ types, promotion rules (PyTorch's) and the dtype dispatch macros.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/error.h"
#include "tensor/half.h"

namespace detforge {

// f64 is beyond the design's list: gradcheck and reference math need double (docs/DECISIONS.md).
enum class DType : uint8_t { f32, f16, bf16, f64, i32, i64, u8, b8 };
constexpr int kNumDTypes = 8;

DETFORGE_API const char* dtype_name(DType t);     // "float32", "float16", ... (PyTorch's names)
DETFORGE_API const char* safetensors_name(DType t);  // "F32", "F16", "BF16", "F64", "I32", "I64", "U8", "BOOL"
DETFORGE_API DType dtype_from_name(const std::string& s);  // accepts both spellings; throws DTypeError

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16: return 2;
    case DType::bf16: return 2;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
    case DType::b8: return 1;
  }
  return 0;
}
inline bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}
inline bool is_integral(DType t, bool include_bool = false) {
  return t == DType::i32 || t == DType::i64 || t == DType::u8 || (include_bool && t == DType::b8);
}

// PyTorch's promote_types for two dtypes.
DETFORGE_API DType promote_types(DType a, DType b);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };

// The type arithmetic is carried out in: float for 16-bit floats, the type itself otherwise.
template <class T> struct acc_type { using type = T; };
template <> struct acc_type<Half> { using type = float; };
template <> struct acc_type<BFloat16> { using type = float; };
template <class T> using acc_t = typename acc_type<T>::type;

}  // namespace detforge

// ---- dispatch: DF_DISPATCH_*(dtype, "op", [&] { ... scalar_t ... }) ----------------------------
#define DF_DTYPE_CASE(DT, T, ...) \
  case DT: {                      \
    using scalar_t = T;           \
    return __VA_ARGS__();         \
  }

#define DF_DTYPE_FAIL(DTYPE, NAME, WHAT)                                                          \
  default:                                                                                         \
    throw ::detforge::DTypeError(::detforge::str_cat("[", NAME, "] dtype ",                        \
                                                     ::detforge::dtype_name(DTYPE),               \
                                                     " is not supported (expected " WHAT ")"));

#define DF_DISPATCH_FLOATING(DTYPE, NAME, ...)                          \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::f32, float, __VA_ARGS__)         \
      DF_DTYPE_CASE(::detforge::DType::f64, double, __VA_ARGS__)        \
      DF_DTYPE_CASE(::detforge::DType::f16, ::detforge::Half, __VA_ARGS__) \
      DF_DTYPE_CASE(::detforge::DType::bf16, ::detforge::BFloat16, __VA_ARGS__) \
      DF_DTYPE_FAIL(DTYPE, NAME, "a floating type")                     \
    }                                                                   \
  }()

#define DF_DISPATCH_INTEGRAL(DTYPE, NAME, ...)                          \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::i32, int32_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::i64, int64_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::u8, uint8_t, __VA_ARGS__)        \
      DF_DTYPE_FAIL(DTYPE, NAME, "an integral type")                    \
    }                                                                   \
  }()

#define DF_DISPATCH_INDEX(DTYPE, NAME, ...)                             \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::i32, int32_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::i64, int64_t, __VA_ARGS__)       \
      DF_DTYPE_FAIL(DTYPE, NAME, "int32 or int64")                      \
    }                                                                   \
  }()

// Numeric types without bool (arithmetic).
#define DF_DISPATCH_NUMERIC(DTYPE, NAME, ...)                           \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::f32, float, __VA_ARGS__)         \
      DF_DTYPE_CASE(::detforge::DType::f64, double, __VA_ARGS__)        \
      DF_DTYPE_CASE(::detforge::DType::f16, ::detforge::Half, __VA_ARGS__) \
      DF_DTYPE_CASE(::detforge::DType::bf16, ::detforge::BFloat16, __VA_ARGS__) \
      DF_DTYPE_CASE(::detforge::DType::i32, int32_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::i64, int64_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::u8, uint8_t, __VA_ARGS__)        \
      DF_DTYPE_FAIL(DTYPE, NAME, "a numeric type")                      \
    }                                                                   \
  }()

#define DF_DISPATCH_ALL(DTYPE, NAME, ...)                               \
  [&] {                                                                 \
    switch (DTYPE) {                                                    \
      DF_DTYPE_CASE(::detforge::DType::f32, float, __VA_ARGS__)         \
      DF_DTYPE_CASE(::detforge::DType::f64, double, __VA_ARGS__)        \
      DF_DTYPE_CASE(::detforge::DType::f16, ::detforge::Half, __VA_ARGS__) \
      DF_DTYPE_CASE(::detforge::DType::bf16, ::detforge::BFloat16, __VA_ARGS__) \
      DF_DTYPE_CASE(::detforge::DType::i32, int32_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::i64, int64_t, __VA_ARGS__)       \
      DF_DTYPE_CASE(::detforge::DType::u8, uint8_t, __VA_ARGS__)        \
      DF_DTYPE_CASE(::detforge::DType::b8, bool, __VA_ARGS__)           \
      DF_DTYPE_FAIL(DTYPE, NAME, "any type")                            \
    }                                                                   \
  }()
