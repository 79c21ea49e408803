// File access of the detection commands (train / eval / visualize): images, PNGs, COCO JSON.
// Thin entry points so the commands do not depend on where the decoders live.
#pragma once
#include <string>

#include "data/coco.h"
#include "tensor/tensor.h"

namespace detforge::detection {

// Decoded image u8 [H, W, 3] (PNG, JPEG, BMP); IOError naming the path on failure.
DETFORGE_API Tensor load_image_file(const std::string& path);
// Writes a u8 [H, W, 3] image as PNG; IOError on failure.
DETFORGE_API void save_png_file(const std::string& path, const Tensor& hwc_u8);
// A COCO instances JSON file (images, annotations, categories).
DETFORGE_API data::CocoDataset load_coco_file(const std::string& path);

}  // namespace detforge::detection
