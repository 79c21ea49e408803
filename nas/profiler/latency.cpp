#include "nas/profiler/latency.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/stream.h"

namespace detforge::nas {

double median_of(std::vector<double> s) {
  DF_CHECK(!s.empty(), ConfigError, "[latency] median of an empty sample");
  std::sort(s.begin(), s.end());
  size_t n = s.size();
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double percentile_of(std::vector<double> s, double q) {
  DF_CHECK(!s.empty(), ConfigError, "[latency] percentile of an empty sample");
  DF_CHECK(q > 0 && q <= 1, ConfigError, "[latency] percentile ", q, " is not in (0, 1]");
  std::sort(s.begin(), s.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(s.size())));
  return s[std::max<size_t>(rank, 1) - 1];
}

LatencyStats measure_latency(const std::function<void()>& fn, Device device, int warmup,
                             int repeats) {
  DF_CHECK(warmup >= 0 && repeats > 0, ConfigError,
           "[latency] need warmup >= 0 and repeats > 0, got ", warmup, " and ", repeats);
  DF_CHECK(device.is_cpu() || cuda_available(), DeviceError, "[latency] ", device.str(),
           " is not usable: ", cuda_unavailable_reason());
  for (int i = 0; i < warmup; ++i) fn();
  if (device.is_cuda()) synchronize(device);

  LatencyStats st;
  st.warmup = warmup;
  st.repeats = repeats;
  st.samples_ms.reserve(static_cast<size_t>(repeats));
  if (device.is_cuda()) {
    Event start(device, true), end(device, true);
    for (int i = 0; i < repeats; ++i) {
      start.record();
      fn();
      end.record();
      end.synchronize();  // host sync per timed run: runs must not overlap
      st.samples_ms.push_back(static_cast<double>(start.elapsed_ms(end)));
    }
  } else {
    for (int i = 0; i < repeats; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      auto t1 = std::chrono::steady_clock::now();
      st.samples_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }
  st.median_ms = median_of(st.samples_ms);
  st.p90_ms = percentile_of(st.samples_ms, 0.9);
  st.mean_ms = std::accumulate(st.samples_ms.begin(), st.samples_ms.end(), 0.0) / repeats;
  auto [mn, mx] = std::minmax_element(st.samples_ms.begin(), st.samples_ms.end());
  st.min_ms = *mn;
  st.max_ms = *mx;
  return st;
}

LatencyStats measure_latency(nn::Module& model, const Shape& sample_shape,
                             const LatencyOptions& options) {
  DF_CHECK(options.batch > 0, ConfigError, "[latency] batch must be positive, got ", options.batch);
  Shape shape{options.batch};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  for (int64_t s : shape)
    DF_CHECK(s > 0, ShapeError, "[latency] input shape ", shape_str(shape),
             " must have positive sizes");
  DF_CHECK(options.device.is_cpu() || cuda_available(), DeviceError, "[latency] ",
           options.device.str(), " is not usable: ", cuda_unavailable_reason());

  auto modules = model.named_modules();
  std::vector<std::pair<nn::Module*, bool>> modes;
  for (auto& pm : modules) modes.emplace_back(pm.second, pm.second->is_training());
  auto restore = [&] {
    for (auto& [m, training] : modes) m->train(training);
  };

  model.to(options.device);
  DType dtype = DType::f32;
  auto params = model.parameters();
  if (!params.empty()) dtype = params.front().dtype();
  LatencyStats st;
  try {
    model.eval();
    NoGradGuard no_grad;
    Tensor x = Tensor::zeros(shape, dtype, options.device);
    st =
        measure_latency([&] { model.forward(x); }, options.device, options.warmup, options.repeats);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  st.batch = options.batch;
  return st;
}

}  // namespace detforge::nas
