// Forward latency of a model (or any callable) on the CPU or a GPU.
//
// Each timed run is one forward on a batch: on the CPU timed with std::chrono::steady_clock, on
// CUDA with a pair of timing events recorded on the device's current stream around the run (the
// end event is synchronised after every run, so runs do not overlap and the figure is the
// device-side time of one forward). `warmup` untimed runs come first (allocator caches, cuDNN
// algorithm choice, OpenMP thread start-up); the statistics are over `repeats` timed runs.
// Models are measured in eval mode under NoGradGuard; each module's mode is restored afterwards.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "nn/module.h"

namespace detforge::nas {

struct LatencyStats {
  double median_ms = 0, p90_ms = 0, mean_ms = 0, min_ms = 0, max_ms = 0;
  int64_t batch = 0;  // 0 for measure_latency(fn, ...)
  int warmup = 0, repeats = 0;
  std::vector<double> samples_ms;  // the timed runs in order
};

struct LatencyOptions {
  int64_t batch = 1;
  Device device = kCPU;
  int warmup = 5;
  int repeats = 20;
};

// Times model.forward on zeros of [batch, sample_shape...] (e.g. sample_shape {3, 224, 224}).
// The model is moved to options.device first (it stays there).
DETFORGE_API LatencyStats measure_latency(nn::Module& model, const Shape& sample_shape,
                                          const LatencyOptions& options = {});
// Times fn(): warmup untimed calls, then repeats timed ones (fn is called warmup + repeats times).
DETFORGE_API LatencyStats measure_latency(const std::function<void()>& fn, Device device,
                                          int warmup, int repeats);

// Median (mean of the two middle values for an even count) and nearest-rank percentile (q in
// (0, 1]) of unsorted samples; ConfigError on an empty sample.
DETFORGE_API double median_of(std::vector<double> samples);
DETFORGE_API double percentile_of(std::vector<double> samples, double q);

}  // namespace detforge::nas
