// CUDA batched matmul through cuBLAS (cublasGemmEx / cublasGemmStridedBatchedEx). Row-major
// C = A B is computed as column-major C^T = B^T A^T, so no operand is copied when its rows or its
// columns are contiguous. float32 uses exact FP32 math (no TF32); 16-bit floats accumulate in
// float.
#include <mutex>
#include <vector>

#include "kernels/linalg/cuda/cublas_util.h"
#include "kernels/linalg/gemm_layout.h"
#include "kernels/linalg/matmul.h"
#include "tensor/view_ops.h"

namespace detforge::kernels {
namespace cuda_blas {

cublasHandle_t handle(int device, cudaStream_t stream) {
  static std::mutex mu;
  static std::vector<cublasHandle_t> handles;
  cublasHandle_t h;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1, nullptr);
    if (!handles[device]) {
      int prev = 0;
      DF_CUDA_CHECK(cudaGetDevice(&prev));
      DF_CUDA_CHECK(cudaSetDevice(device));
      DF_CUBLAS_CHECK(cublasCreate(&handles[device]));
      DF_CUBLAS_CHECK(cublasSetPointerMode(handles[device], CUBLAS_POINTER_MODE_HOST));
      DF_CUDA_CHECK(cudaSetDevice(prev));
    }
    h = handles[device];
  }
  DF_CUBLAS_CHECK(cublasSetStream(h, stream));
  return h;
}

}  // namespace cuda_blas

namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f64:
      return CUDA_R_64F;
    case DType::f16:
      return CUDA_R_16F;
    case DType::bf16:
      return CUDA_R_16BF;
    default:
      throw DTypeError(str_cat("[matmul] dtype ", dtype_name(t),
                               " is not supported on CUDA (expected a floating type)"));
  }
}

cublasOperation_t op_of(char trans) {
  return trans == 'N' ? CUBLAS_OP_N : CUBLAS_OP_T;
}

void matmul_cuda(const Tensor& out, const Tensor& a_in, const Tensor& b_in) {
  int dev = out.device().index;
  cudaStream_t stream = cuda::current_stream(dev);
  if (out.numel() == 0) return;
  int64_t nd = a_in.dim();
  int64_t M = a_in.size(nd - 2), K = a_in.size(nd - 1), N = b_in.size(nd - 1);
  if (K == 0) {
    DF_CUDA_CHECK(
        cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), stream));  // 0.0 is all-zero bits
    return;
  }
  Tensor a = a_in, b = b_in;
  char ta = 'N', tb = 'N';
  int64_t lda = 1, ldb = 1;
  if (!blas_layout(M, K, a.stride(nd - 2), a.stride(nd - 1), ta, lda)) {
    a = raw::contiguous(a);
    blas_layout(M, K, a.stride(nd - 2), a.stride(nd - 1), ta, lda);
  }
  if (!blas_layout(K, N, b.stride(nd - 2), b.stride(nd - 1), tb, ldb)) {
    b = raw::contiguous(b);
    blas_layout(K, N, b.stride(nd - 2), b.stride(nd - 1), tb, ldb);
  }
  cudaDataType_t type = cuda_type(out.dtype());
  bool dbl = out.dtype() == DType::f64;
  cublasComputeType_t compute = dbl ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F;
  float alpha_f = 1.f, beta_f = 0.f;
  double alpha_d = 1.0, beta_d = 0.0;
  const void* alpha = dbl ? static_cast<const void*>(&alpha_d) : static_cast<const void*>(&alpha_f);
  const void* beta = dbl ? static_cast<const void*>(&beta_d) : static_cast<const void*>(&beta_f);
  size_t isz = out.itemsize();
  const char* pa = static_cast<const char*>(a.data_ptr());
  const char* pb = static_cast<const char*>(b.data_ptr());
  char* po = static_cast<char*>(out.data_ptr());
  auto oa = batch_offsets(a), ob = batch_offsets(b);
  int64_t sa = uniform_stride(oa), sb = uniform_stride(ob);
  int64_t nbatch = static_cast<int64_t>(oa.size());
  cublasHandle_t h = cuda_blas::handle(dev, stream);
  // Column-major: C^T [N x M] = op(B)^T-view [N x K] * op(A)^T-view [K x M].
  if (sa >= 0 && sb >= 0 && nbatch > 1) {
    DF_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        h, op_of(tb), op_of(ta), N, M, K, alpha, pb + ob[0] * isz, type, ldb, sb, pa + oa[0] * isz,
        type, lda, sa, beta, po, type, N, M * N, nbatch, compute, CUBLAS_GEMM_DEFAULT));
  } else {
    for (int64_t i = 0; i < nbatch; ++i)
      DF_CUBLAS_CHECK(cublasGemmEx(h, op_of(tb), op_of(ta), N, M, K, alpha, pb + ob[i] * isz, type,
                                   ldb, pa + oa[i] * isz, type, lda, beta, po + i * M * N * isz,
                                   type, N, compute, CUBLAS_GEMM_DEFAULT));
  }
}

}  // namespace

DF_REGISTER_DISPATCH(matmul_stub, CUDA, &matmul_cuda);

}  // namespace detforge::kernels
