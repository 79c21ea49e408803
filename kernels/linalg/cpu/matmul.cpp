// CPU batched matmul: oneDNN's sgemm (jit, threaded by OpenMP) for float, the reference GEMM for
// float64, float16/bfloat16 through float.
#include <oneapi/dnnl/dnnl.h>

#include <vector>

#include "kernels/linalg/cpu/gemm_ref.h"
#include "kernels/linalg/gemm_layout.h"
#include "kernels/linalg/matmul.h"
#include "tensor/view_ops.h"

namespace detforge::kernels {
namespace {

void matmul_float(const Tensor& out, Tensor a, Tensor b) {
  int64_t nd = a.dim();
  int64_t M = a.size(nd - 2), K = a.size(nd - 1), N = b.size(nd - 1);
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
  auto oa = batch_offsets(a), ob = batch_offsets(b);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* po = out.data<float>();
  int64_t nbatch = static_cast<int64_t>(oa.size());
  auto one = [&](int64_t i) {
    dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, 1.0f, pa + oa[i], lda, pb + ob[i], ldb, 0.0f,
                                  po + i * M * N, N);
    DF_CHECK(st == dnnl_success, Error, "[matmul] dnnl_sgemm failed with status ",
             static_cast<int>(st));
  };
  // Small matrices: one GEMM per thread; large ones: oneDNN threads each GEMM.
  if (nbatch > 1 && M * N * K < (1 << 18)) {
    parallel_for(0, nbatch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) one(i);
    });
  } else {
    for (int64_t i = 0; i < nbatch; ++i) one(i);
  }
}

void matmul_double(const Tensor& out, const Tensor& a, const Tensor& b) {
  int64_t nd = a.dim();
  int64_t M = a.size(nd - 2), K = a.size(nd - 1), N = b.size(nd - 1);
  auto oa = batch_offsets(a), ob = batch_offsets(b);
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  double* po = out.data<double>();
  for (size_t i = 0; i < oa.size(); ++i)
    cpu::gemm_ref<double>(M, N, K, pa + oa[i], a.stride(nd - 2), a.stride(nd - 1), pb + ob[i],
                          b.stride(nd - 2), b.stride(nd - 1), po + i * M * N, N, false);
}

void matmul_cpu(const Tensor& out, const Tensor& a, const Tensor& b) {
  if (out.numel() == 0) return;
  int64_t K = a.size(-1);
  if (K == 0) {
    raw::fill(out, 0.0);
    return;
  }
  switch (out.dtype()) {
    case DType::f32:
      return matmul_float(out, a, b);
    case DType::f64:
      return matmul_double(out, a, b);
    case DType::f16:
    case DType::bf16: {
      Tensor tmp = Tensor::empty(out.shape(), DType::f32, kCPU);
      matmul_float(tmp, raw::to(a, kCPU, DType::f32), raw::to(b, kCPU, DType::f32));
      raw::copy(out, tmp);
      return;
    }
    default:
      throw DTypeError(str_cat("[matmul] dtype ", dtype_name(out.dtype()),
                               " is not supported (expected a floating type)"));
  }
}

}  // namespace

DF_REGISTER_DISPATCH(matmul_stub, CPU, &matmul_cpu);

}  // namespace detforge::kernels
