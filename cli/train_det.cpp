// detforge train: trains a detector from a JSON config (docs/train_det.md); the loop lives in
// detection/det_train.h.
#include "cli/commands.h"
#include "detection/det_train.h"

namespace detforge::cli {

void add_train_det(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a detector (config: docs/train_det.md)");
  auto a = std::make_shared<detection::DetTrainArgs>();
  cmd->add_option("--config", a->config, "JSON config (optional with --resume: the checkpoint's)");
  cmd->add_option("--resume", a->resume, "Checkpoint directory <out>/ckpt_iter<N> to continue");
  cmd->add_option("--out", a->out, "Output directory (log, checkpoints, model, loss.png)");
  cmd->add_option("--stop-at", a->stop_at,
                  "Stop after this iteration, writing a checkpoint (resume later)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--set", a->sets,
                  "Override a config value: KEY.PATH=VALUE (JSON or a bare string), repeatable, "
                  "e.g. --set train.iterations=500 --set optim.lr=0.01");
  cmd->callback([a] { detection::run_det_training(*a); });
}

}  // namespace detforge::cli
