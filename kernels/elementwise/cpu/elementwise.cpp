// FP exceptions are not used: without trapping math GCC if-converts the selects in the element
// functors (NaN checks, clamps in dmath::exp_fast) and vectorises these loops (built with
// -fno-thread-jumps under GCC: CMakeLists.txt says why).
#include "kernels/cpu/loops.h"
#include "kernels/elementwise/elementwise_impl.h"

namespace detforge::kernels {
namespace {
struct CpuBackend {
  template <class OutT, class... InTs, class F>
  static void map(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f) {
    cpu::map<OutT, InTs...>(out, ins, f);
  }
};
void unary_cpu(UnaryOp op, const Tensor& out, const Tensor& x, const UnaryParams& p) {
  unary_impl<CpuBackend>(op, out, x, p);
}
void binary_cpu(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const BinaryParams& p) {
  binary_impl<CpuBackend>(op, out, a, b, p);
}
void compare_cpu(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  compare_impl<CpuBackend>(op, out, a, b);
}
void where_cpu(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b) {
  where_impl<CpuBackend>(out, c, a, b);
}
}  // namespace
DF_REGISTER_DISPATCH(unary_stub, CPU, &unary_cpu);
DF_REGISTER_DISPATCH(binary_stub, CPU, &binary_cpu);
DF_REGISTER_DISPATCH(compare_stub, CPU, &compare_cpu);
DF_REGISTER_DISPATCH(where_stub, CPU, &where_cpu);
}  // namespace detforge::kernels
