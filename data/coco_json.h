// COCO instances JSON <-> CocoDataset (nlohmann/json). Policy (docs/data.md):
// - a missing/unreadable file or malformed JSON -> IOError naming the file and the position
//   (line, column, byte offset);
// - a missing or wrongly typed required key -> ConfigError naming the file and the key path
//   ("annotations[12].bbox"); "images" and "categories" are required arrays, "annotations" may be
//   absent (image-info files); per image: id, file_name, width, height (> 0); per annotation: id,
//   image_id, category_id, bbox (4 numbers); optional area (default w*h), iscrowd (0/1 or bool,
//   default 0); per category: id, name, optional supercategory; other keys are ignored;
// - duplicate image/annotation/category ids, annotations naming an unknown image_id or
//   category_id -> ConfigError naming the key path;
// - otherwise ground truth is kept exactly as written (degenerate, crowd and out-of-image boxes
//   too: the COCO evaluator must see every GT, as pycocotools does); training_annotations()
//   (data/coco.h) is the separate filter for training.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "data/coco.h"

namespace detforge::data {

// Reads and validates a COCO instances file.
DETFORGE_API CocoDataset load_coco_json(const std::string& path);
// Same from text; `origin` names the source in errors (a path or "<string>").
DETFORGE_API CocoDataset parse_coco_json(const std::string& text, const std::string& origin);
// Validates already parsed JSON.
DETFORGE_API CocoDataset coco_from_json(const nlohmann::json& j, const std::string& origin);

// {"images", "annotations", "categories"} with the COCO keys (annotations without segmentation).
DETFORGE_API nlohmann::ordered_json coco_to_json(const CocoDataset& ds);
// Writes coco_to_json(ds) compactly (written to "<path>.tmp", then renamed: a failed write never
// leaves a truncated file). IOError naming the file on failure.
DETFORGE_API void save_coco_json(const CocoDataset& ds, const std::string& path);

}  // namespace detforge::data
