// detforge search joint: the Joint-DetNAS search end to end (docs/search_joint.md); the driver
// lives in nas/search/joint_search.h.
#include "cli/commands.h"
#include "nas/search/joint_search.h"

namespace detforge::cli {

void add_search(CLI::App& app) {
  auto* search = app.add_subcommand("search", "Architecture searches");
  search->require_subcommand(1);
  auto* joint = search->add_subcommand(
      "joint",
      "Joint-DetNAS: base detector + elastic teacher pool -> hill-climbing student-teacher "
      "search (config: docs/search_joint.md); an --out holding a search resumes it");
  auto a = std::make_shared<nas::JointSearchArgs>();
  joint->add_option("--config", a->config,
                    "Search config (optional when --out holds a search to resume)");
  joint->add_option("--out", a->out, "Output directory (state, candidates, final student, plots)");
  joint->add_option("--set", a->sets, "Override a config value: KEY.PATH=VALUE, repeatable");
  joint->callback([a] { nas::run_joint_search(*a); });
}

}  // namespace detforge::cli
