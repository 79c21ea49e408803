// detforge distill: teacher-student detector training (docs/distill.md); the trainer lives in
// kd/distill_train.h on top of the det-train loop.
#include "cli/commands.h"
#include "kd/distill_train.h"

namespace detforge::cli {

void add_distill(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "distill", "Train a student detector with a teacher's knowledge (config: docs/distill.md)");
  auto a = std::make_shared<detection::DetTrainArgs>();
  a->out = "distill_out";
  cmd->add_option("--config", a->config, "JSON config (optional with --resume: the checkpoint's)");
  cmd->add_option("--resume", a->resume, "Checkpoint directory <out>/ckpt_iter<N> to continue");
  cmd->add_option("--out", a->out, "Output directory (log, checkpoints, model, loss.png)");
  cmd->add_option("--stop-at", a->stop_at,
                  "Stop after this iteration, writing a checkpoint (resume later)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--set", a->sets, "Override a config value: KEY.PATH=VALUE (as train --set)");
  cmd->callback([a] { kd::run_distill_training(*a); });
}

}  // namespace detforge::cli
