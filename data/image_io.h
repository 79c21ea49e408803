// Image files through stb (Debian libstb-dev): decoding JPEG / PNG / BMP into u8 HWC tensors and
// writing PNG. Thread-safe (stb's failure reason is thread-local), so loader threads may decode in
// parallel.
#pragma once
#include <cstddef>
#include <string>

#include "tensor/tensor.h"

namespace detforge::data {

// Reads a JPEG, PNG or BMP file into a contiguous CPU u8 tensor [H, W, 3] (RGB: grey is
// replicated, alpha is dropped). IOError naming the file for a missing/unreadable file and for
// bytes stb cannot decode (with stb's reason).
DETFORGE_API Tensor read_image(const std::string& path);
// Same from bytes in memory; `origin` names the source in errors.
DETFORGE_API Tensor decode_image(const void* data, size_t size, const std::string& origin);

// Encodes a u8 tensor [H, W] (grey) or [H, W, C] with C in {1, 3, 4} (any layout, CPU or CUDA)
// as PNG bytes (zlib deflate at `level` 0..9; 1 is faster and as small on noisy images).
// DTypeError / ShapeError for other tensors.
DETFORGE_API std::string encode_png(const Tensor& image, int level = 6);
// Baseline JPEG bytes (stb_image_write, quality 1..100) of a u8 [H, W] or [H, W, C] (C = 1, 3, 4:
// alpha is dropped) tensor; for test fixtures and previews.
DETFORGE_API std::string encode_jpeg(const Tensor& image, int quality = 90);
// Writes encode_png(image, level) to `path`; IOError naming the file on failure.
DETFORGE_API void write_png(const std::string& path, const Tensor& image, int level = 6);

}  // namespace detforge::data
