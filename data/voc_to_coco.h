// Pascal VOC (VOC2007 / VOC2012 layout) XML annotations -> a COCO dataset (docs/data.md).
// VOC boxes are 1-based inclusive pixel indices; COCO boxes are continuous 0-based coordinates:
// x = xmin - 1, y = ymin - 1, w = xmax - xmin + 1, h = ymax - ymin + 1 (mmdetection's and
// Detectron's conversion).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/coco.h"

namespace detforge::data {

// The 20 VOC classes in the standard order; category ids are index + 1.
DETFORGE_API const std::array<const char*, 20>& voc_class_names();

enum class VocDifficult {
  crowd,
  keep,
  drop
};  // "difficult" objects -> iscrowd 1 / iscrowd 0 / left out

struct VocToCocoOptions {
  VocDifficult difficult = VocDifficult::crowd;  // crowd: ignored by COCO evaluation and training
};

// Reads <voc_dir>/ImageSets/Main/<split>.txt and <voc_dir>/Annotations/<id>.xml for each listed
// id. Image ids are 1.. in split-file order, file_name the XML's <filename> (relative to
// <voc_dir>/JPEGImages), annotation ids 1.. in order. IOError naming the file for missing
// files and malformed XML (with the byte offset); ConfigError naming the file and the element
// path for missing or non-numeric elements and unknown class names.
DETFORGE_API CocoDataset voc_to_coco(const std::string& voc_dir, const std::string& split,
                                     const VocToCocoOptions& options = {});

// One annotation file's objects appended to `ds` (an image with id `image_id` is added).
DETFORGE_API void append_voc_xml(CocoDataset& ds, const std::string& xml_path, int64_t image_id,
                                 const VocToCocoOptions& options = {});

}  // namespace detforge::data
