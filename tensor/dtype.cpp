#include "tensor/dtype.h"

namespace detforge {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::b8: return "bool";
  }
  return "?";
}

const char* safetensors_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
    case DType::b8: return "BOOL";
  }
  return "?";
}

DType dtype_from_name(const std::string& s) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    if (s == dtype_name(t) || s == safetensors_name(t)) return t;
  }
  if (s == "float" || s == "f32") return DType::f32;
  if (s == "double" || s == "f64") return DType::f64;
  if (s == "half" || s == "f16") return DType::f16;
  if (s == "bf16") return DType::bf16;
  if (s == "int" || s == "i32") return DType::i32;
  if (s == "long" || s == "i64") return DType::i64;
  if (s == "u8") return DType::u8;
  throw DTypeError("[dtype] unknown dtype '" + s + "'");
}

namespace {
// Rank within PyTorch's lattice: bool < u8 < i32 < i64 < (f16 | bf16) < f32 < f64.
int rank(DType t) {
  switch (t) {
    case DType::b8: return 0;
    case DType::u8: return 1;
    case DType::i32: return 2;
    case DType::i64: return 3;
    case DType::f16: return 4;
    case DType::bf16: return 4;
    case DType::f32: return 5;
    case DType::f64: return 6;
  }
  return 0;
}
}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if ((a == DType::f16 && b == DType::bf16) || (a == DType::bf16 && b == DType::f16)) return DType::f32;
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace detforge
