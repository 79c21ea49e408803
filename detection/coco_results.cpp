#include "detection/coco_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace detforge::detection {

namespace {

using nlohmann::json;

int64_t get_id(const json& el, const char* key, const std::string& where) {
  auto it = el.find(key);
  DF_CHECK(it != el.end(), IOError, where, key, ": missing");
  if (it->is_number_integer()) return it->get<int64_t>();
  // JSON writers sometimes emit 42.0; Python's dict lookup treats it as 42, so do we.
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
      return static_cast<int64_t>(v);
  }
  throw IOError(str_cat(where, key, ": expected an integer, got ", it->dump()));
}

}  // namespace

std::vector<CocoDetection> parse_coco_results(const std::string& text, const std::string& source) {
  const std::string head = str_cat("[coco results] ", source, ": ");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw IOError(str_cat(head, "invalid JSON: ", e.what()));
  }
  DF_CHECK(j.is_array(), IOError, head, "expected a JSON array of detections, got ", j.type_name());
  std::vector<CocoDetection> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const json& el = j[i];
    const std::string where = str_cat(head, "[", i, "].");
    DF_CHECK(el.is_object(), IOError, head, "[", i, "]: expected an object, got ", el.type_name());
    CocoDetection d;
    d.image_id = get_id(el, "image_id", where);
    d.category_id = get_id(el, "category_id", where);
    auto bb = el.find("bbox");
    DF_CHECK(bb != el.end(), IOError, where, "bbox: missing");
    DF_CHECK(bb->is_array() && bb->size() == 4, IOError, where, "bbox: expected 4 numbers, got ",
             bb->dump());
    for (int c = 0; c < 4; ++c) {
      DF_CHECK((*bb)[c].is_number(), IOError, where, "bbox: expected 4 numbers, got ", bb->dump());
      d.bbox[c] = (*bb)[c].get<double>();
    }
    auto sc = el.find("score");
    DF_CHECK(sc != el.end(), IOError, where, "score: missing");
    DF_CHECK(sc->is_number(), IOError, where, "score: expected a number, got ", sc->dump());
    d.score = sc->get<double>();
    out.push_back(d);
  }
  return out;
}

std::vector<CocoDetection> read_coco_results(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DF_CHECK(f.good(), IOError, "[coco results] ", path, ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_coco_results(ss.str(), path);
}

nlohmann::json coco_results_to_json(const std::vector<CocoDetection>& dets) {
  json arr = json::array();
  for (const auto& d : dets)
    arr.push_back({{"image_id", d.image_id},
                   {"category_id", d.category_id},
                   {"bbox", {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]}},
                   {"score", d.score}});
  return arr;
}

void write_coco_results(const std::string& path, const std::vector<CocoDetection>& dets) {
  std::ofstream f(path, std::ios::binary);
  DF_CHECK(f.good(), IOError, "[coco results] ", path, ": cannot open for writing");
  f << coco_results_to_json(dets).dump() << '\n';
  DF_CHECK(f.good(), IOError, "[coco results] ", path, ": write failed");
}

std::string format_coco_summary(const CocoEvalSummary& s, const CocoEvalParams& params) {
  // iStr = ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
  DF_CHECK(params.max_dets.size() >= 3 && !params.iou_thresholds.empty(), ConfigError,
           "[coco results] format_coco_summary needs 3 max_dets");
  std::vector<int> md = params.max_dets;
  std::sort(md.begin(), md.end());
  char all_iou[32];
  std::snprintf(all_iou, sizeof all_iou, "%0.2f:%0.2f", params.iou_thresholds.front(),
                params.iou_thresholds.back());
  struct Row {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  const Row rows[12] = {{true, all_iou, "all", md[2]},     {true, "0.50", "all", md[2]},
                        {true, "0.75", "all", md[2]},      {true, all_iou, "small", md[2]},
                        {true, all_iou, "medium", md[2]},  {true, all_iou, "large", md[2]},
                        {false, all_iou, "all", md[0]},    {false, all_iou, "all", md[1]},
                        {false, all_iou, "all", md[2]},    {false, all_iou, "small", md[2]},
                        {false, all_iou, "medium", md[2]}, {false, all_iou, "large", md[2]}};
  std::string out;
  char line[160];
  for (int i = 0; i < 12; ++i) {
    const Row& r = rows[i];
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  r.ap ? "Average Precision" : "Average Recall", r.ap ? "(AP)" : "(AR)", r.iou,
                  r.area, r.max_dets, s.stats[i]);
    out += line;
  }
  return out;
}

nlohmann::ordered_json coco_summary_to_json(const CocoEvalSummary& s) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (int i = 0; i < 12; ++i) j[CocoEvalSummary::keys()[i]] = s.stats[i];
  return j;
}

void write_coco_summary_json(const std::string& path, const CocoEvalSummary& s) {
  std::ofstream f(path, std::ios::binary);
  DF_CHECK(f.good(), IOError, "[coco results] ", path, ": cannot open for writing");
  f << coco_summary_to_json(s).dump(2) << '\n';
  DF_CHECK(f.good(), IOError, "[coco results] ", path, ": write failed");
}

}  // namespace detforge::detection
