// Detection samples and batches: what the transforms produce and the loader yields.
// Coordinates are pixels of the RESIZED (and possibly flipped) image, boxes are xyxy (x1, y1, x2,
// y2; x2/y2 exclusive edges as in COCO's x+w), labels are contiguous class indices 1..C (0 is
// reserved for background, torchvision's convention). See docs/data.md, "Transforms and loader".
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::data {

// Per-image ground truth and bookkeeping (everything a detector's loss and the evaluator need).
struct DetTarget {
  Tensor boxes;   // f32 [n, 4] xyxy, resized-image pixels (clipped to it when the transform clips)
  Tensor labels;  // i64 [n], 1..C
  int64_t image_id = 0;
  std::string file_name;
  int64_t orig_height = 0, orig_width = 0;  // decoded image size before resizing
  int64_t height = 0, width = 0;            // after resizing, before padding
  // new/old per axis (width / orig_width, height / orig_height): boxes_resized = boxes_orig * scale
  // (mmdetection's scale_factor; torchvision's postprocess divides by the same ratios).
  float scale_x = 1.f, scale_y = 1.f;
  bool flipped = false;  // horizontally, after resizing: x' = width - x
};

// One transformed image: f32 [3, height, width] (normalised, CHW, not padded) and its target.
struct DetSample {
  Tensor image;
  DetTarget target;
};

// A collated batch: images zero-padded bottom/right to a common size that is a multiple of the
// size divisor (torchvision's ImageList / mmdetection's Pad + collate).
struct DetBatch {
  Tensor images;                                    // f32 [B, 3, H, W], CPU, contiguous
  std::vector<DetTarget> targets;                   // B entries
  std::vector<std::array<int64_t, 2>> image_sizes;  // (height, width) before padding, B entries
  int64_t epoch = 0, iteration = 0;  // position in the loader's sequence (0 when collated by hand)
  std::vector<int64_t> indices;      // dataset indices of the B images
  std::vector<int64_t> skipped;      // dataset indices dropped by the skip policy
  int64_t size() const { return static_cast<int64_t>(targets.size()); }
};

}  // namespace detforge::data
