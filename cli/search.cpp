// detforge search joint: the Joint-DetNAS search end to end (docs/search_joint.md); the driver
// lives in nas/search/joint_search.h.
#include "cli/commands.h"
#include "nas/search/joint_search.h"
#include "nas/search/student.h"

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

  auto* morph = search->add_subcommand(
      "morph",
      "Apply student morphism actions (weight inheritance) to a trained faster_rcnn student: "
      "prune channels / layers, add or move blocks");
  auto m = std::make_shared<nas::MorphStudentArgs>();
  morph->add_option("--config", m->config, "The student's det-train config")->required();
  morph->add_option("--weights", m->weights, "The student's weights (.safetensors)")->required();
  morph
      ->add_option("--action", m->actions,
                   "A morphism action as JSON, repeatable (applied in order), e.g. "
                   "'{\"type\": \"channel_prune\", \"percent\": 0.3}'")
      ->required();
  morph->add_option("--out", m->out,
                    "Output directory (model.safetensors, config.json, morph.json)");
  morph->callback([m] { nas::run_morph_student(*m); });
}

}  // namespace detforge::cli
