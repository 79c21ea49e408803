// CUDA NMS, torchvision-style: (1) CUB radix sort of the scores (descending, stable: ties keep
// index order) and a gather of the boxes and areas into that order; (2) the bitmask kernel: the
// sorted boxes in 64-box blocks, block (row r, column c) with c >= r has 64 threads, thread t
// writing the 64-bit word "which boxes of column block c does box 64 r + t suppress" (only
// later-ranked boxes); (3) one block walks the masks on the device: per 64-box word it loads the
// diagonal words to shared memory, one thread resolves the word's own boxes in rank order, then
// all threads OR the kept boxes' rows into the `removed` words to the right; (4) CUB
// DeviceSelect::Flagged compacts the kept original indices. The kept count is then copied to the
// host: the one unavoidable device-to-host sync (it sizes the output).
// batched_nms: torchvision's coordinate trick, on the device: boxes + idx * (max coordinate + 1)
// (the max by a CUB reduction, read by the offset kernel from device memory), then the same NMS.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_select.cuh>

#include "kernels/detection/nms.h"
#include "tensor/cuda/cuda_check.h"

namespace detforge::kernels {
namespace {

constexpr int kBits = 64;
constexpr int kWalkThreads = 256;

__global__ void iota_kernel(int64_t n, int64_t* v) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) v[i] = i;
}

template <class A>
__global__ void gather_kernel(int64_t n, const A* __restrict__ boxes,
                              const int64_t* __restrict__ order, A* __restrict__ sorted,
                              A* __restrict__ area) {
  int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= n) return;
  const A* p = boxes + order[k] * 4;
  for (int c = 0; c < 4; ++c) sorted[k * 4 + c] = p[c];
  area[k] = (p[2] - p[0]) * (p[3] - p[1]);
}

template <class A>
__global__ void mask_kernel(int64_t n, int64_t words, const A* __restrict__ sb,
                            const A* __restrict__ area, A cut, uint64_t* __restrict__ mask) {
  const int64_t rb = blockIdx.y, cb = blockIdx.x;
  if (rb > cb) return;  // only later-ranked boxes can be suppressed
  const int rows = static_cast<int>(n - rb * kBits < kBits ? n - rb * kBits : kBits);
  const int cols = static_cast<int>(n - cb * kBits < kBits ? n - cb * kBits : kBits);
  __shared__ A col[kBits][5];
  if (threadIdx.x < cols) {
    const int64_t j = cb * kBits + threadIdx.x;
    for (int c = 0; c < 4; ++c) col[threadIdx.x][c] = sb[j * 4 + c];
    col[threadIdx.x][4] = area[j];
  }
  __syncthreads();
  if (threadIdx.x >= rows) return;
  const int64_t i = rb * kBits + threadIdx.x;
  const A x1 = sb[i * 4], y1 = sb[i * 4 + 1], x2 = sb[i * 4 + 2], y2 = sb[i * 4 + 3], ai = area[i];
  uint64_t bits = 0;
  for (int k = rb == cb ? threadIdx.x + 1 : 0; k < cols; ++k)
    if (nms_suppresses<A>(x1, y1, x2, y2, ai, col[k][0], col[k][1], col[k][2], col[k][3], col[k][4],
                          cut))
      bits |= uint64_t(1) << k;
  mask[i * words + cb] = bits;
}

// One block. removed: `words` zeroed words (global scratch). keep: n flags.
__global__ void walk_kernel(int64_t n, int64_t words, const uint64_t* __restrict__ mask,
                            uint64_t* __restrict__ removed, uint8_t* __restrict__ keep) {
  __shared__ uint64_t diag[kBits];
  __shared__ uint64_t kept_word;
  for (int64_t w = 0; w < words; ++w) {
    const int64_t base = w * kBits;
    const int rows = static_cast<int>(n - base < kBits ? n - base : kBits);
    if (threadIdx.x < rows) diag[threadIdx.x] = mask[(base + threadIdx.x) * words + w];
    __syncthreads();
    if (threadIdx.x == 0) {
      uint64_t rem = removed[w], kept = 0;
      for (int b = 0; b < rows; ++b) {
        if ((rem >> b) & 1) continue;
        kept |= uint64_t(1) << b;
        rem |= diag[b];
      }
      kept_word = kept;
    }
    __syncthreads();
    const uint64_t kept = kept_word;
    if (threadIdx.x < rows) keep[base + threadIdx.x] = (kept >> threadIdx.x) & 1;
    for (int64_t k = w + 1 + threadIdx.x; k < words; k += blockDim.x) {
      uint64_t acc = removed[k];
      for (uint64_t m = kept; m; m &= m - 1) acc |= mask[(base + __ffsll(m) - 1) * words + k];
      removed[k] = acc;
    }
    __syncthreads();
  }
}

template <class A>
__global__ void offset_kernel(int64_t n, const A* __restrict__ boxes,
                              const int64_t* __restrict__ idxs, const A* __restrict__ max_coord,
                              A* __restrict__ out) {
  int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * 4) return;
  const A off = static_cast<A>(idxs[t / 4]) * (max_coord[0] + A(1));
  out[t] = boxes[t] + off;
}

template <class A>
Tensor nms_typed(const Tensor& boxes, const Tensor& scores, double thr) {
  const int64_t n = boxes.size(0);
  const Device dev = boxes.device();
  cudaStream_t stream = detforge::cuda::current_stream(dev.index);
  const int threads = detforge::cuda::kThreads;
  const int nb = detforge::cuda::blocks_for(n, threads, 1 << 30);
  // (1) sort
  Tensor iota = Tensor::empty({n}, DType::i64, dev), order = Tensor::empty({n}, DType::i64, dev);
  Tensor skeys = Tensor::empty({n}, scores.dtype(), dev);
  iota_kernel<<<nb, threads, 0, stream>>>(n, static_cast<int64_t*>(iota.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
  const A* kin = static_cast<const A*>(scores.data_ptr());
  A* kout = static_cast<A*>(skeys.data_ptr());
  const int64_t* vin = static_cast<const int64_t*>(iota.data_ptr());
  int64_t* vout = static_cast<int64_t*>(order.data_ptr());
  size_t sort_bytes = 0;
  DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
      nullptr, sort_bytes, kin, kout, vin, vout, static_cast<int>(n), 0, sizeof(A) * 8, stream));
  Tensor sort_tmp = Tensor::empty({static_cast<int64_t>(sort_bytes) + 1}, DType::u8, dev);
  DF_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(sort_tmp.data_ptr(), sort_bytes, kin,
                                                          kout, vin, vout, static_cast<int>(n), 0,
                                                          sizeof(A) * 8, stream));
  Tensor sorted = Tensor::empty({n, 4}, boxes.dtype(), dev),
         area = Tensor::empty({n}, boxes.dtype(), dev);
  gather_kernel<A><<<nb, threads, 0, stream>>>(n, static_cast<const A*>(boxes.data_ptr()), vout,
                                               static_cast<A*>(sorted.data_ptr()),
                                               static_cast<A*>(area.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
  // (2) masks
  const int64_t words = (n + kBits - 1) / kBits;
  Tensor mask = Tensor::empty({n * words}, DType::i64, dev);
  uint64_t* m = static_cast<uint64_t*>(mask.data_ptr());
  dim3 grid(static_cast<unsigned>(words), static_cast<unsigned>(words));
  mask_kernel<A><<<grid, kBits, 0, stream>>>(n, words, static_cast<const A*>(sorted.data_ptr()),
                                             static_cast<const A*>(area.data_ptr()),
                                             nms_cut<A>(thr), m);
  DF_CUDA_KERNEL_CHECK();
  // (3) walk
  Tensor removed = Tensor::zeros({words}, DType::i64, dev);
  Tensor keep = Tensor::empty({n}, DType::u8, dev);
  uint8_t* kp = static_cast<uint8_t*>(keep.data_ptr());
  walk_kernel<<<1, kWalkThreads, 0, stream>>>(n, words, m,
                                              static_cast<uint64_t*>(removed.data_ptr()), kp);
  DF_CUDA_KERNEL_CHECK();
  // (4) compaction of the kept original indices (already in rank order)
  Tensor picked = Tensor::empty({n}, DType::i64, dev);
  Tensor count = Tensor::empty({1}, DType::i32, dev);
  int64_t* po = static_cast<int64_t*>(picked.data_ptr());
  int* cnt = static_cast<int*>(count.data_ptr());
  size_t sel_bytes = 0;
  DF_CUDA_CHECK(cub::DeviceSelect::Flagged(nullptr, sel_bytes, vout, kp, po, cnt,
                                           static_cast<int>(n), stream));
  Tensor sel_tmp = Tensor::empty({static_cast<int64_t>(sel_bytes) + 1}, DType::u8, dev);
  DF_CUDA_CHECK(cub::DeviceSelect::Flagged(sel_tmp.data_ptr(), sel_bytes, vout, kp, po, cnt,
                                           static_cast<int>(n), stream));
  // The one device-to-host sync of NMS: the kept count sizes the output tensor.
  int kept = 0;
  DF_CUDA_CHECK(cudaMemcpyAsync(&kept, cnt, sizeof(int), cudaMemcpyDeviceToHost, stream));
  DF_CUDA_CHECK(cudaStreamSynchronize(stream));
  return picked.narrow(0, 0, kept).clone();
}

template <class A>
Tensor batched_typed(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double thr) {
  const int64_t n = boxes.size(0);
  const Device dev = boxes.device();
  cudaStream_t stream = detforge::cuda::current_stream(dev.index);
  Tensor mx = Tensor::empty({1}, boxes.dtype(), dev);
  const A* in = static_cast<const A*>(boxes.data_ptr());
  A* mp = static_cast<A*>(mx.data_ptr());
  size_t bytes = 0;
  DF_CUDA_CHECK(cub::DeviceReduce::Max(nullptr, bytes, in, mp, static_cast<int>(n * 4), stream));
  Tensor tmp = Tensor::empty({static_cast<int64_t>(bytes) + 1}, DType::u8, dev);
  DF_CUDA_CHECK(
      cub::DeviceReduce::Max(tmp.data_ptr(), bytes, in, mp, static_cast<int>(n * 4), stream));
  Tensor shifted = Tensor::empty({n, 4}, boxes.dtype(), dev);
  offset_kernel<A><<<detforge::cuda::blocks_for(n * 4, detforge::cuda::kThreads, 1 << 30),
                     detforge::cuda::kThreads, 0, stream>>>(
      n, in, static_cast<const int64_t*>(idxs.data_ptr()), mp, static_cast<A*>(shifted.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
  return nms_typed<A>(shifted, scores, thr);
}

Tensor nms_cuda(const Tensor& boxes, const Tensor& scores, double thr) {
  if (boxes.dtype() == DType::f64) return nms_typed<double>(boxes, scores, thr);
  return nms_typed<float>(boxes, scores, thr);
}

Tensor batched_nms_cuda(const Tensor& boxes, const Tensor& scores, const Tensor& idxs, double thr) {
  if (boxes.dtype() == DType::f64) return batched_typed<double>(boxes, scores, idxs, thr);
  return batched_typed<float>(boxes, scores, idxs, thr);
}

}  // namespace
DF_REGISTER_DISPATCH(nms_stub, CUDA, &nms_cuda);
DF_REGISTER_DISPATCH(batched_nms_stub, CUDA, &batched_nms_cuda);
}  // namespace detforge::kernels
