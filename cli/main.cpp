// The detforge command line. Each subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "tensor/error.h"

int main(int argc, char** argv) {
  CLI::App app{"detforge: object detector search, pruning and distillation engine"};
  app.require_subcommand(1);
  detforge::cli::add_run_op(app);
  detforge::cli::add_demo(app);
  detforge::cli::add_profile(app);
  detforge::cli::add_train_cls(app);
  detforge::cli::add_data(app);
  detforge::cli::add_train_det(app);
  detforge::cli::add_eval_det(app);
  detforge::cli::add_visualize(app);
  detforge::cli::add_kd(app);
  detforge::cli::add_distill(app);
  detforge::cli::add_etp(app);
  detforge::cli::add_search(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const detforge::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
