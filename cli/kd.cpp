// detforge kd: the DetKDS distiller search space (docs/kd_space.md).
//   detforge kd space [--count]                      per-input and total size of the space
//   detforge kd space --sample N [--seed S] [--input I]   N uniform random valid specs, JSON lines
//   detforge kd space --validate FILE                validates a distiller spec file
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "kd/distiller_spec.h"
#include "tensor/error.h"

namespace detforge::cli {
namespace {

void add_space(CLI::App& parent) {
  auto* cmd = parent.add_subcommand("space",
                                    "Size, random samples and validation of the DetKDS "
                                    "distiller search space");
  struct Args {
    bool count = false;
    int64_t sample = 0;
    uint64_t seed = 0;
    std::string input, validate;
  };
  auto a = std::make_shared<Args>();
  cmd->add_flag("--count", a->count, "print the size of the space per input and in total");
  cmd->add_option("--sample", a->sample, "print N random valid specs (one JSON object a line)");
  cmd->add_option("--seed", a->seed, "seed of --sample")->capture_default_str();
  cmd->add_option("--input", a->input,
                  "restrict --sample to one input (global, fgbg, instance, logits, loc)");
  cmd->add_option("--validate", a->validate, "validate a distiller spec JSON file");
  cmd->callback([a]() {
    const bool none = !a->count && a->sample == 0 && a->validate.empty();
    if (a->count || none) {
      for (int i = 0; i < kd::kNumInputs; ++i) {
        const auto in = static_cast<kd::Input>(i);
        std::printf("%-8s %6zu chains x %zu distances x %zu weights = %lld\n", kd::input_name(in),
                    kd::valid_chains(in).size(), kd::distance_names(in).size(),
                    kd::weight_values().size(), static_cast<long long>(kd::space_size(in)));
      }
      std::printf("total    %lld\n", static_cast<long long>(kd::space_size()));
    }
    if (a->sample > 0) {
      const auto specs = a->input.empty() ? kd::sample_specs(a->sample, a->seed)
                                          : kd::sample_specs(kd::parse_input(a->input, "--input"),
                                                             a->sample, a->seed);
      for (const auto& s : specs) std::printf("%s\n", kd::to_json(s).dump().c_str());
    }
    if (!a->validate.empty()) {
      const auto specs = kd::load_distillers(a->validate);
      std::printf("%s: %zu valid distiller(s)\n", a->validate.c_str(), specs.size());
      for (const auto& s : specs) std::printf("  %s\n", kd::to_string(s).c_str());
    }
  });
}

}  // namespace

void add_kd(CLI::App& app) {
  auto* cmd = app.add_subcommand("kd", "Knowledge distillation tools (DetKDS search space)");
  cmd->require_subcommand(1);
  add_space(*cmd);
}

}  // namespace detforge::cli
