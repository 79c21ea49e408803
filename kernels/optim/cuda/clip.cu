// CUDA gradient clipping: per-chunk partial norms (one launch), a one-block finish that writes the
// total norm and the clip coefficient to device memory, and one scaling launch reading it: no host
// sync anywhere.
#include "kernels/math.h"
#include "kernels/optim/clip.h"
#include "kernels/optim/cuda/multi_tensor.cuh"

namespace detforge::kernels {
namespace {

__device__ float combine(float a, float b, bool inf_norm) {
  return inf_norm ? dmath::max<float>(a, b) : a + b;
}

// Block-wide reduction of one value per thread; valid in thread 0.
__device__ float block_reduce(float v, bool inf_norm) {
  __shared__ float warp_vals[32];
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int d = 16; d > 0; d >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, d), inf_norm);
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  int nwarps = (blockDim.x + 31) >> 5;
  if (warp == 0) {
    v = lane < nwarps ? warp_vals[lane] : 0.f;
    for (int d = 16; d > 0; d >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, d), inf_norm);
  }
  return v;
}

__global__ void partial_norm_kernel(const ClipEntry* __restrict__ entries,
                                    const OptimChunk* __restrict__ chunks, bool inf_norm,
                                    float* __restrict__ partial) {
  const OptimChunk c = chunks[blockIdx.x];
  const ClipEntry e = entries[c.tensor];
  int64_t end = c.begin + kOptimChunk < e.numel ? c.begin + kOptimChunk : e.numel;
  float acc = 0.f;
  for (int64_t i = c.begin + threadIdx.x; i < end; i += blockDim.x) {
    float g = e.param[i];
    acc = inf_norm ? dmath::max<float>(acc, dmath::fabs(g)) : acc + g * g;
  }
  acc = block_reduce(acc, inf_norm);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// out[0] = total norm, out[1] = min(1, max_norm / (total + 1e-6)).
__global__ void finish_norm_kernel(const float* __restrict__ partial, int64_t n, bool inf_norm,
                                   float max_norm, float* __restrict__ total,
                                   float* __restrict__ coef) {
  float acc = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc = combine(acc, partial[i], inf_norm);
  acc = block_reduce(acc, inf_norm);
  if (threadIdx.x == 0) {
    float t = inf_norm ? acc : sqrtf(acc);
    *total = t;
    float k = max_norm / (t + 1e-6f);
    *coef = k < 1.f ? k : (k != k ? k : 1.f);
  }
}

struct ScaleOp {
  const float* coef;
  __device__ void operator()(const ClipEntry& e, int64_t i) const {
    float k = *coef;
    if (k != 1.f) e.param[i] *= k;
  }
};

struct ClampOp {
  __device__ void operator()(const ClipEntry& e, int64_t i) const {
    float x = e.param[i], v = e.h.value;
    e.param[i] = x != x ? x : (x < -v ? -v : (x > v ? v : x));
  }
};

void clip_grad_norm_cuda(Device device, const std::vector<ClipEntry>& entries, bool inf_norm,
                         double max_norm, const Tensor& total) {
  OptimDeviceGuard guard(device.index);
  cudaStream_t stream = cuda::current_stream(device.index);
  DeviceOptimTable<ClipHyper> t = make_device_table(device, entries, stream);
  if (t.num_chunks == 0) {
    DF_CUDA_CHECK(cudaMemsetAsync(total.data_ptr(), 0, sizeof(float), stream));
    return;
  }
  Tensor scratch = Tensor::empty({t.num_chunks + 1}, DType::f32, device);
  float* partial = scratch.data<float>();
  float* coef = partial + t.num_chunks;
  partial_norm_kernel<<<static_cast<unsigned>(t.num_chunks), kOptimThreads, 0, stream>>>(
      t.entries, t.chunks, inf_norm, partial);
  DF_CUDA_KERNEL_CHECK();
  finish_norm_kernel<<<1, 1024, 0, stream>>>(
      partial, t.num_chunks, inf_norm, static_cast<float>(max_norm), total.data<float>(), coef);
  DF_CUDA_KERNEL_CHECK();
  multi_tensor_kernel<ClipHyper, ScaleOp>
      <<<static_cast<unsigned>(t.num_chunks), kOptimThreads, 0, stream>>>(t.entries, t.chunks,
                                                                          ScaleOp{coef});
  DF_CUDA_KERNEL_CHECK();
}

void clip_grad_value_cuda(Device device, const std::vector<ClipEntry>& entries) {
  launch_multi_tensor(device, entries, ClampOp{});
}

}  // namespace
DF_REGISTER_DISPATCH(clip_grad_norm_stub, CUDA, &clip_grad_norm_cuda);
DF_REGISTER_DISPATCH(clip_grad_value_stub, CUDA, &clip_grad_value_cuda);
}  // namespace detforge::kernels
