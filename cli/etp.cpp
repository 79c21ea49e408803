// detforge etp train / etp sample: the Elastic Teacher Pool of Joint-DetNAS (docs/etp.md); the
// training step lives in nas/etp_train.h, the loop is detforge train's.
#include "cli/commands.h"
#include "nas/etp_train.h"

namespace detforge::cli {

void add_etp(CLI::App& app) {
  auto* etp = app.add_subcommand("etp", "Elastic teacher pool (Joint-DetNAS): train, sample");
  etp->require_subcommand(1);

  auto* train = etp->add_subcommand(
      "train", "Train the ETP supernet with IPS (config: docs/etp.md; outputs as detforge train)");
  auto a = std::make_shared<detection::DetTrainArgs>();
  a->out = "etp_out";
  train->add_option("--config", a->config, "JSON config (optional with --resume)");
  train->add_option("--resume", a->resume, "Checkpoint directory <out>/ckpt_iter<N> to continue");
  train->add_option("--out", a->out, "Output directory (log, checkpoints, model, loss.png)");
  train->add_option("--stop-at", a->stop_at, "Stop after this iteration, writing a checkpoint")
      ->check(CLI::PositiveNumber);
  train->add_option("--set", a->sets, "Override a config value: KEY.PATH=VALUE, repeatable");
  train->callback([a] { nas::run_etp_training(*a); });

  auto* sample = etp->add_subcommand(
      "sample", "Extract a teacher (BN recalibrated) as a static detector + eval/train config");
  auto s = std::make_shared<nas::EtpSampleArgs>();
  sample->add_option("--config", s->config, "The ETP training config (e.g. <out>/config.json)")
      ->required();
  sample->add_option("--weights", s->weights,
                     "Supernet weights (default: model.safetensors beside the config)");
  sample->add_option("--arch", s->arch,
                     "largest | smallest | {\"backbone\": ArchConfig, \"fpn_width\": w} | a JSON "
                     "file");
  sample->add_option("--out", s->out,
                     "Output directory (model.safetensors, config.json, arch.json)");
  sample->add_option("--batches", s->batches,
                     "BN recalibration batches (default: etp.recalib_batches; 0: none)");
  sample->add_option("--set", s->sets, "Override a config value: KEY.PATH=VALUE, repeatable");
  sample->callback([s] { nas::run_etp_sample(*s); });
}

}  // namespace detforge::cli
