#include "kernels/cuda/loops.cuh"
#include "kernels/elementwise/elementwise_impl.h"

namespace detforge::kernels {
namespace {
struct CudaBackend {
  template <class OutT, class... InTs, class F>
  static void map(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f) {
    cuda::map<OutT, InTs...>(out, ins, f);
  }
};
void unary_cuda(UnaryOp op, const Tensor& out, const Tensor& x, const UnaryParams& p) {
  unary_impl<CudaBackend>(op, out, x, p);
}
void binary_cuda(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const BinaryParams& p) {
  binary_impl<CudaBackend>(op, out, a, b, p);
}
void compare_cuda(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  compare_impl<CudaBackend>(op, out, a, b);
}
void where_cuda(const Tensor& out, const Tensor& c, const Tensor& a, const Tensor& b) {
  where_impl<CudaBackend>(out, c, a, b);
}
}  // namespace
DF_REGISTER_DISPATCH(unary_stub, CUDA, &unary_cuda);
DF_REGISTER_DISPATCH(binary_stub, CUDA, &binary_cuda);
DF_REGISTER_DISPATCH(compare_stub, CUDA, &compare_cuda);
DF_REGISTER_DISPATCH(where_stub, CUDA, &where_cuda);
}  // namespace detforge::kernels
