#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"

namespace detforge::kernels {

DF_DEFINE_DISPATCH(unary_stub);
DF_DEFINE_DISPATCH(binary_stub);
DF_DEFINE_DISPATCH(compare_stub);
DF_DEFINE_DISPATCH(where_stub);

const char* unary_op_name(UnaryOp op) {
  switch (op) {
#define DF_X(name, F) case UnaryOp::name: return #name;
    DF_UNARY_OPS(DF_X)
#undef DF_X
  }
  return "?";
}

const char* binary_op_name(BinaryOp op) {
  switch (op) {
#define DF_X(name, F) case BinaryOp::name: return #name;
    DF_BINARY_OPS(DF_X)
#undef DF_X
  }
  return "?";
}

}  // namespace detforge::kernels
