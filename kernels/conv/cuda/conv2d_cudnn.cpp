// CUDA convolution through cuDNN's legacy API (cuDNN 8.9 and 9): cudnnConvolutionForward,
// BackwardData and BackwardFilter (+ BackwardBias). Descriptors and the algorithm are built once
// per unique (direction, dtype, shapes, params) key and cached: the algorithm comes from the
// cudnnGet*Algorithm_v7 heuristics (no trial runs, so no hidden allocations or syncs), taking the
// first one whose workspace fits kMaxWorkspace. The workspace is a Tensor from the caching
// allocator on the current stream. float32/float64 use FMA math (no TF32) to match the CPU path.
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/conv/conv2d.h"
#include "kernels/conv/cuda/cudnn_util.h"

namespace detforge::kernels {
namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;

cudnnHandle_t cudnn_handle(int device, cudaStream_t stream) {
  static std::mutex mu;
  static std::vector<cudnnHandle_t> handles;
  cudnnHandle_t h;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1, nullptr);
    if (!handles[device]) {
      int prev = 0;
      DF_CUDA_CHECK(cudaGetDevice(&prev));
      DF_CUDA_CHECK(cudaSetDevice(device));
      DF_CUDNN_CHECK(cudnnCreate(&handles[device]));
      DF_CUDA_CHECK(cudaSetDevice(prev));
    }
    h = handles[device];
  }
  DF_CUDNN_CHECK(cudnnSetStream(h, stream));
  return h;
}

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::f64:
      return CUDNN_DATA_DOUBLE;
    case DType::f16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    default:
      throw DTypeError(str_cat("[conv2d] dtype ", dtype_name(t),
                               " is not supported on CUDA (expected a floating type)"));
  }
}

// Descriptors and the chosen algorithm for one problem.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
  ~Plan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

template <class Perf, class GetFn>
void pick(Plan& plan, GetFn get, int max_algos) {
  std::vector<Perf> perf(max_algos);
  int found = 0;
  DF_CUDNN_CHECK(get(max_algos, &found, perf.data()));
  for (int i = 0; i < found; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxWorkspace) {
      plan.algo = static_cast<int>(perf[i].algo);
      plan.workspace = perf[i].memory;
      return;
    }
  throw CudaError("[conv2d] cuDNN found no algorithm within the workspace limit");
}

std::shared_ptr<Plan> get_plan(cudnnHandle_t h, ConvDirection dir, DType dtype, const Shape& in,
                               const Shape& w, const Shape& out, const Conv2dParams& p) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<Plan>> cache;
  int dev = 0;
  DF_CUDA_CHECK(cudaGetDevice(&dev));
  std::string key =
      str_cat(dev, "|", static_cast<int>(dir), "|", static_cast<int>(dtype), shape_str(in),
              shape_str(w), p.stride[0], ",", p.stride[1], ",", p.padding[0], ",", p.padding[1],
              ",", p.dilation[0], ",", p.dilation[1], ",", p.groups);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;

  auto plan = std::make_shared<Plan>();
  cudnnDataType_t t = data_type(dtype);
  cudnnDataType_t compute = dtype == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  DF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  DF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  DF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->bias));
  DF_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  DF_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  DF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, t, int(in[0]), int(in[1]),
                                            int(in[2]), int(in[3])));
  DF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, t, int(out[0]), int(out[1]),
                                            int(out[2]), int(out[3])));
  DF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->bias, CUDNN_TENSOR_NCHW, t, 1, int(w[0]), 1, 1));
  DF_CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w, t, CUDNN_TENSOR_NCHW, int(w[0]), int(w[1]),
                                            int(w[2]), int(w[3])));
  DF_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      plan->conv, int(p.padding[0]), int(p.padding[1]), int(p.stride[0]), int(p.stride[1]),
      int(p.dilation[0]), int(p.dilation[1]), CUDNN_CROSS_CORRELATION, compute));
  DF_CUDNN_CHECK(cudnnSetConvolutionGroupCount(plan->conv, int(p.groups)));
  bool half = dtype == DType::f16 || dtype == DType::bf16;
  DF_CUDNN_CHECK(
      cudnnSetConvolutionMathType(plan->conv, half ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));

  if (dir == ConvDirection::forward) {
    pick<cudnnConvolutionFwdAlgoPerf_t>(
        *plan,
        [&](int n, int* found, cudnnConvolutionFwdAlgoPerf_t* perf) {
          return cudnnGetConvolutionForwardAlgorithm_v7(h, plan->x, plan->w, plan->conv, plan->y, n,
                                                        found, perf);
        },
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  } else if (dir == ConvDirection::backward_data) {
    pick<cudnnConvolutionBwdDataAlgoPerf_t>(
        *plan,
        [&](int n, int* found, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, plan->w, plan->y, plan->conv,
                                                             plan->x, n, found, perf);
        },
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
  } else {
    pick<cudnnConvolutionBwdFilterAlgoPerf_t>(
        *plan,
        [&](int n, int* found, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
          return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, plan->x, plan->y, plan->conv,
                                                               plan->w, n, found, perf);
        },
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
  }
  cache[key] = plan;
  return plan;
}

// alpha/beta scalars: double for double data, float otherwise.
struct Scalars {
  float f1 = 1.f, f0 = 0.f;
  double d1 = 1.0, d0 = 0.0;
  bool dbl;
  explicit Scalars(DType t) : dbl(t == DType::f64) {}
  const void* one() const {
    return dbl ? static_cast<const void*>(&d1) : static_cast<const void*>(&f1);
  }
  const void* zero() const {
    return dbl ? static_cast<const void*>(&d0) : static_cast<const void*>(&f0);
  }
};

Tensor workspace(size_t bytes, Device dev) {
  return Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, dev);
}
void* ws_ptr(const Tensor& ws) {
  return ws.numel() ? ws.data_ptr() : nullptr;
}

void fwd_cuda(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& p) {
  int dev = out.device().index;
  cudaStream_t stream = cuda::current_stream(dev);
  if (out.numel() == 0) return;
  cudnnHandle_t h = cudnn_handle(dev, stream);
  auto plan = get_plan(h, ConvDirection::forward, out.dtype(), input.shape(), weight.shape(),
                       out.shape(), p);
  Tensor ws = workspace(plan->workspace, out.device());
  Scalars s(out.dtype());
  DF_CUDNN_CHECK(
      cudnnConvolutionForward(h, s.one(), plan->x, input.data_ptr(), plan->w, weight.data_ptr(),
                              plan->conv, static_cast<cudnnConvolutionFwdAlgo_t>(plan->algo),
                              ws_ptr(ws), plan->workspace, s.zero(), plan->y, out.data_ptr()));
  if (bias.defined())
    DF_CUDNN_CHECK(
        cudnnAddTensor(h, s.one(), plan->bias, bias.data_ptr(), s.one(), plan->y, out.data_ptr()));
}

void bwd_data_cuda(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                   const Conv2dParams& p) {
  int dev = grad_input.device().index;
  cudaStream_t stream = cuda::current_stream(dev);
  if (grad_input.numel() == 0) return;
  if (grad_output.numel() == 0) {
    DF_CUDA_CHECK(cudaMemsetAsync(grad_input.data_ptr(), 0, grad_input.nbytes(), stream));
    return;
  }
  cudnnHandle_t h = cudnn_handle(dev, stream);
  auto plan = get_plan(h, ConvDirection::backward_data, grad_input.dtype(), grad_input.shape(),
                       weight.shape(), grad_output.shape(), p);
  Tensor ws = workspace(plan->workspace, grad_input.device());
  Scalars s(grad_input.dtype());
  DF_CUDNN_CHECK(cudnnConvolutionBackwardData(
      h, s.one(), plan->w, weight.data_ptr(), plan->y, grad_output.data_ptr(), plan->conv,
      static_cast<cudnnConvolutionBwdDataAlgo_t>(plan->algo), ws_ptr(ws), plan->workspace, s.zero(),
      plan->x, grad_input.data_ptr()));
}

void bwd_weight_cuda(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_output,
                     const Tensor& input, const Conv2dParams& p) {
  int dev = grad_weight.device().index;
  cudaStream_t stream = cuda::current_stream(dev);
  if (grad_output.numel() == 0) {
    DF_CUDA_CHECK(cudaMemsetAsync(grad_weight.data_ptr(), 0, grad_weight.nbytes(), stream));
    if (grad_bias.defined())
      DF_CUDA_CHECK(cudaMemsetAsync(grad_bias.data_ptr(), 0, grad_bias.nbytes(), stream));
    return;
  }
  cudnnHandle_t h = cudnn_handle(dev, stream);
  auto plan = get_plan(h, ConvDirection::backward_weight, grad_weight.dtype(), input.shape(),
                       grad_weight.shape(), grad_output.shape(), p);
  Tensor ws = workspace(plan->workspace, grad_weight.device());
  Scalars s(grad_weight.dtype());
  DF_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      h, s.one(), plan->x, input.data_ptr(), plan->y, grad_output.data_ptr(), plan->conv,
      static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan->algo), ws_ptr(ws), plan->workspace,
      s.zero(), plan->w, grad_weight.data_ptr()));
  if (grad_bias.defined())
    DF_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, s.one(), plan->y, grad_output.data_ptr(),
                                                s.zero(), plan->bias, grad_bias.data_ptr()));
}

}  // namespace

DF_REGISTER_DISPATCH(conv2d_fwd_stub, CUDA, &fwd_cuda);
DF_REGISTER_DISPATCH(conv2d_bwd_data_stub, CUDA, &bwd_data_cuda);
DF_REGISTER_DISPATCH(conv2d_bwd_weight_stub, CUDA, &bwd_weight_cuda);

}  // namespace detforge::kernels
