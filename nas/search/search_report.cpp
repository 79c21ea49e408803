#include "nas/search/search_report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "autograd/grad_mode.h"
#include "data/image_io.h"
#include "data/plot.h"
#include "detection/det_train.h"
#include "detection/faster_rcnn.h"
#include "nas/profiler/flops.h"
#include "nas/profiler/latency.h"
#include "nas/search/student.h"
#include "nn/checkpoint.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::nas {
namespace {
constexpr const char* kWho = "search";

std::vector<json> read_lines(const std::string& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

struct Row {
  std::string name;
  data::ResizeSize res;
  double ap = 0, ap50 = 0, latency_ms = 0;
  int64_t macs = 0, backbone_macs = 0, params = 0;
};

// AP / AP50 from the candidates log (the search's own evaluation), MACs at the row's resolution
// and latency (batch 1, median) measured now.
Row measure(const std::string& name, const json& model, const std::string& weights,
            const data::ResizeSize& res, double ap, double ap50, int repeats) {
  Row r{name, res, ap, ap50};
  Student s = load_student(model, weights);
  detection::Detector& det = *s.detector;
  const StudentMacs m = student_macs(det, res);
  r.macs = m.macs;
  r.backbone_macs = m.backbone_macs;
  r.params = det.num_parameters();
  // A fixed random image: zeros would give degenerate proposals (all scores equal).
  Generator gen;
  gen.manual_seed(1234);
  Tensor x = rand({1, 3, res.short_side, res.long_side}, gen);
  const detection::ImageSizes sizes{{res.short_side, res.long_side}};
  det.eval();
  NoGradGuard ng;
  const LatencyStats st = measure_latency([&] { det.forward_eval(x, sizes); }, kCPU, 3, repeats);
  r.latency_ms = st.median_ms;
  return r;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

void plot_search(const std::string& out) {
  const auto lines = read_lines((fs::path(out) / "candidates.jsonl").string());
  if (lines.empty()) return;
  data::PlotSeries score{"candidate score", {}, {}, {31, 119, 180}, false, true};
  data::PlotSeries best{"best so far", {}, {}, {214, 39, 40}, true, false};
  data::PlotSeries all{"candidates", {}, {}, {31, 119, 180}, false, true};
  data::PlotSeries top{"entered the top-k", {}, {}, {214, 39, 40}, false, true};
  double best_score = -1;
  for (const auto& l : lines) {
    const double it = l.at("iteration").get<double>(), sc = l.at("score").get<double>();
    score.x.push_back(it);
    score.y.push_back(sc);
    best_score = std::max(best_score, sc);
    best.x.push_back(it);
    best.y.push_back(best_score);
    auto& s = l.value("in_topk", false) ? top : all;
    s.x.push_back(l.at("macs").get<double>() * 1e-6);
    s.y.push_back(l.at("AP").get<double>());
  }
  data::PlotOptions o;
  o.title = "Joint-DetNAS hill climbing: score H per candidate";
  o.xlabel = "iteration";
  o.ylabel = "H";
  data::write_png((fs::path(out) / "score.png").string(), data::plot_lines({score, best}, o));
  o.title = "candidates: backbone + FPN MMACs (at the base resolution) vs AP (best resolution)";
  o.xlabel = "MMACs";
  o.ylabel = "AP";
  data::write_png((fs::path(out) / "flops_map.png").string(), data::plot_lines({all, top}, o));
  const fs::path state = fs::path(out) / "state.json";
  if (!fs::exists(state)) return;
  const json hist = nn::read_json_file(state.string(), kWho).at("history");
  data::PlotSeries st{"student (best pair)", {}, {}, {31, 119, 180}, true, true};
  data::PlotSeries te{"teacher (best pair)", {}, {}, {255, 127, 14}, true, true};
  for (const auto& h : hist) {
    st.x.push_back(h.at("iteration").get<double>());
    st.y.push_back(h.value("backbone_macs", h.at("macs").get<double>()) * 1e-6);
    te.x.push_back(h.at("iteration").get<double>());
    te.y.push_back(h.at("teacher_backbone_macs").get<double>() * 1e-6);
  }
  o.title = "backbone MMACs of the best student-teacher pair (at the base resolution)";
  o.xlabel = "iteration";
  o.ylabel = "MMACs";
  data::write_png((fs::path(out) / "capacity.png").string(), data::plot_lines({st, te}, o));
}

void write_search_report(const SearchSummaryInput& in) {
  const fs::path out(in.out);
  const auto lines = read_lines((out / "candidates.jsonl").string());
  DF_CHECK(!lines.empty(), ConfigError, "[", kWho, "] ", (out / "candidates.jsonl").string(),
           ": no candidates");
  const json& base = lines.front();
  // The base's AP at its own resolution: the entry of its results list at base_resolution (the
  // config requires it among the resolutions).
  double base_ap = base.at("AP").get<double>(), base_ap50 = base.at("AP50").get<double>();
  for (const auto& r : base.at("results"))
    if (r.at("resolution")[0].get<int64_t>() == in.base_resolution.short_side &&
        r.at("resolution")[1].get<int64_t>() == in.base_resolution.long_side) {
      base_ap = r.at("AP").get<double>();
      base_ap50 = r.at("AP50").get<double>();
    }
  const json* best = nullptr;
  for (const auto& l : lines)
    if (l.at("id").get<int64_t>() == in.best_id) best = &l;
  DF_CHECK(best != nullptr, ConfigError, "[", kWho, "] candidate ", in.best_id,
           " is missing from candidates.jsonl");
  const int reps = static_cast<int>(in.latency_repeats);
  const Row b =
      measure("base", in.base_model, in.base_weights, in.base_resolution, base_ap, base_ap50, reps);
  const Row s = measure(str_cat("searched (candidate ", in.best_id, ")"), in.best_model,
                        in.best_weights, in.best_resolution, best->at("AP").get<double>(),
                        best->at("AP50").get<double>(), reps);
  std::ostringstream md;
  md << "| detector | resolution | AP | AP50 | MACs (backbone + FPN) | backbone MACs | params | "
        "latency (CPU, batch 1, median) |\n|---|---|---|---|---|---|---|---|\n";
  json rows = json::array();
  for (const Row* r : {&b, &s}) {
    md << "| " << r->name << " | " << r->res.short_side << "x" << r->res.long_side << " | "
       << fmt("%.4f", r->ap) << " | " << fmt("%.4f", r->ap50) << " | " << human_count(r->macs)
       << " | " << human_count(r->backbone_macs) << " | " << human_count(r->params) << " | "
       << fmt("%.1f ms", r->latency_ms) << " |\n";
    rows.push_back({{"name", r->name},
                    {"resolution", {r->res.short_side, r->res.long_side}},
                    {"AP", r->ap},
                    {"AP50", r->ap50},
                    {"macs", r->macs},
                    {"backbone_macs", r->backbone_macs},
                    {"params", r->params},
                    {"latency_ms", r->latency_ms}});
  }
  const double dmacs = 100.0 * (static_cast<double>(s.macs) / b.macs - 1.0);
  md << "\nMACs " << fmt("%+.1f%%", dmacs) << ", AP " << fmt("%+.4f", s.ap - b.ap) << ", latency "
     << fmt("%+.1f%%", 100.0 * (s.latency_ms / b.latency_ms - 1.0)) << "; score H "
     << fmt("%.4f", in.best_score) << "; teacher " << in.best_teacher.dump() << "\n";
  const json& st = in.stages;
  md << "\nwall seconds: base training " << fmt("%.0f", st.value("base_training_s", 0.0))
     << ", ETP training " << fmt("%.0f", st.value("etp_training_s", 0.0)) << ", "
     << st.value("candidates", 0) << " candidates " << fmt("%.0f", st.value("candidates_s", 0.0))
     << " (training " << fmt("%.0f", st.value("candidate_train_s", 0.0)) << ", evaluation "
     << fmt("%.0f", st.value("candidate_eval_s", 0.0)) << ", teacher sampling "
     << fmt("%.0f", st.value("teacher_sampling_s", 0.0)) << ")\n";
  std::ofstream(out / "summary.md") << md.str();
  nn::write_json_file((out / "summary.json").string(),
                      {{"rows", rows},
                       {"macs_change_percent", dmacs},
                       {"ap_change", s.ap - b.ap},
                       {"best_id", in.best_id},
                       {"best_score", in.best_score},
                       {"teacher", in.best_teacher},
                       {"stages", st}},
                      kWho);
  plot_search(in.out);
  std::printf("\n%s\nfinal student: %s (config.json, arch.json)\nplots: %s, %s, %s\n",
              md.str().c_str(), (out / "final").string().c_str(),
              (out / "score.png").string().c_str(), (out / "flops_map.png").string().c_str(),
              (out / "capacity.png").string().c_str());
  std::fflush(stdout);
}

}  // namespace detforge::nas
