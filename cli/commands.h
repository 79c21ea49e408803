#pragma once
#include <CLI/CLI.hpp>

namespace detforge::cli {
// Each adds its subcommand; the callback runs it and throws detforge::Error on failure.
void add_run_op(CLI::App& app);
void add_demo(CLI::App& app);
void add_profile(CLI::App& app);
void add_train_cls(CLI::App& app);
void add_data(CLI::App& app);
void add_train_det(CLI::App& app);
void add_eval_det(CLI::App& app);
void add_visualize(CLI::App& app);
void add_kd(CLI::App& app);
void add_distill(CLI::App& app);
void add_etp(CLI::App& app);
void add_search(CLI::App& app);
}  // namespace detforge::cli
