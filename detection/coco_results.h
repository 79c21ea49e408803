// COCO detection results files (a JSON array of {image_id, category_id, bbox [x,y,w,h], score}) and
// the text/JSON forms of COCOeval's summary (docs/coco_eval.md).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detection/coco_eval.h"

namespace detforge::detection {

// Parses a results JSON text; `source` names it in errors ("[coco results] dt.json: [12].bbox:
// expected 4 numbers"). Other keys (segmentation, id, area, ...) are ignored: loadRes recomputes
// area and id. Throws IOError.
std::vector<CocoDetection> parse_coco_results(const std::string& text,
                                              const std::string& source = "results");
std::vector<CocoDetection> read_coco_results(const std::string& path);

nlohmann::json coco_results_to_json(const std::vector<CocoDetection>& dets);
void write_coco_results(const std::string& path, const std::vector<CocoDetection>& dets);

// The 12 lines COCOeval.summarize() prints, e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.372",
// '\n'-terminated.
std::string format_coco_summary(const CocoEvalSummary& s, const CocoEvalParams& params = {});
// {"AP": ..., "AP50": ..., ..., "ARl": ...} in that order
nlohmann::ordered_json coco_summary_to_json(const CocoEvalSummary& s);
void write_coco_summary_json(const std::string& path, const CocoEvalSummary& s);

}  // namespace detforge::detection
