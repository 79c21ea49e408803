// detforge profile: parameters, multiply-accumulates (nas/profiler/flops.h states the convention)
// and forward latency of a named backbone at a given input size.
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "nas/profiler/flops.h"
#include "nas/profiler/latency.h"
#include "nn/mobilenet_v2.h"
#include "nn/resnet.h"
#include "tensor/error.h"

namespace detforge::cli {
namespace {

const std::map<std::string, std::function<std::shared_ptr<nn::Module>(int64_t)>>& architectures() {
  static const std::map<std::string, std::function<std::shared_ptr<nn::Module>(int64_t)>> archs = {
      {"resnet18", [](int64_t c) { return nn::resnet18(c); }},
      {"resnet34", [](int64_t c) { return nn::resnet34(c); }},
      {"resnet50", [](int64_t c) { return nn::resnet50(c); }},
      {"resnet101", [](int64_t c) { return nn::resnet101(c); }},
      {"resnext50_32x4d", [](int64_t c) { return nn::resnext50_32x4d(c); }},
      {"resnext101_32x8d", [](int64_t c) { return nn::resnext101_32x8d(c); }},
      {"mobilenet_v2", [](int64_t c) { return nn::mobilenet_v2(c); }},
  };
  return archs;
}

std::string grouped(int64_t v) {  // 11689512 -> "11,689,512"
  std::string s = std::to_string(v), out;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

}  // namespace

void add_profile(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Parameters, MACs and forward latency of a backbone");
  struct Args {
    std::string arch = "resnet18", device = "cpu";
    int64_t size = 224, batch = 1, classes = 1000;
    int warmup = 3, repeats = 10;
    bool no_latency = false, layers = false;
  };
  auto a = std::make_shared<Args>();
  std::vector<std::string> names;
  for (const auto& kv : architectures()) names.push_back(kv.first);
  cmd->add_option("--arch", a->arch, "Architecture")->check(CLI::IsMember(names));
  cmd->add_option("--size", a->size, "Input side in pixels (square input)")
      ->check(CLI::Range(8, 4096));
  cmd->add_option("--batch", a->batch, "Batch size for the latency measurement")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--classes", a->classes, "Classifier outputs")->check(CLI::PositiveNumber);
  cmd->add_option("--device", a->device, "cpu or cuda[:i]");
  cmd->add_option("--warmup", a->warmup, "Untimed runs before timing")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", a->repeats, "Timed runs")->check(CLI::PositiveNumber);
  cmd->add_flag("--no-latency", a->no_latency, "Only count parameters and MACs");
  cmd->add_flag("--layers", a->layers, "Also print every layer's shapes and MACs");
  cmd->callback([a] {
    Device dev = Device::parse(a->device);
    auto model = architectures().at(a->arch)(a->classes);
    const Shape input{1, 3, a->size, a->size};
    nas::ModelCost cost = nas::profile_cost(*model, input);
    std::printf("arch       %s (%lld classes), input 3x%lldx%lld\n", a->arch.c_str(),
                static_cast<long long>(a->classes), static_cast<long long>(a->size),
                static_cast<long long>(a->size));
    std::printf("params     %s (%s)\n", grouped(cost.params).c_str(),
                nas::human_count(cost.params).c_str());
    std::printf("MACs       %s (%sMAC per image; conv + linear)\n", grouped(cost.macs).c_str(),
                nas::human_count(cost.macs).c_str());
    std::printf("other ops  %s (bias, norm, activation and pooling modules; not in MACs)\n",
                grouped(cost.other_ops).c_str());
    if (!cost.uncounted.empty())
      std::printf("warning    %zu module(s) with uncounted compute\n", cost.uncounted.size());
    if (a->layers)
      for (const auto& l : cost.layers)
        std::printf("  %-28s %-12s %-20s -> %-20s %15s MACs\n", l.path.c_str(), l.type.c_str(),
                    shape_str(l.input_shape).c_str(), shape_str(l.output_shape).c_str(),
                    grouped(l.macs).c_str());
    if (a->no_latency) return;
    nas::LatencyOptions opt;
    opt.batch = a->batch;
    opt.device = dev;
    opt.warmup = a->warmup;
    opt.repeats = a->repeats;
    nas::LatencyStats st = nas::measure_latency(*model, {3, a->size, a->size}, opt);
    std::printf(
        "latency    median %.3f ms  p90 %.3f ms  mean %.3f ms  (batch %lld on %s, %d warm-up, %d "
        "timed)\n",
        st.median_ms, st.p90_ms, st.mean_ms, static_cast<long long>(st.batch), dev.str().c_str(),
        st.warmup, st.repeats);
  });
}

}  // namespace detforge::cli
