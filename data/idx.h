// IDX files (the MNIST / Fashion-MNIST container), gzip-compressed or plain, read through zlib.
// Layout: magic 0x00 0x00 <type> <ndims>, ndims big-endian uint32 sizes, then the big-endian data.
// Types read: 0x08 u8 -> u8, 0x0C int32 -> i32, 0x0D float32 -> f32, 0x0E float64 -> f64
// (0x09 int8 and 0x0B int16 have no detforge dtype and are rejected).
#pragma once
#include <cstddef>
#include <string>

#include "tensor/tensor.h"

namespace detforge::data {

// Reads an IDX file (gzip or plain: zlib detects which) into a contiguous CPU tensor of the stored
// shape. Throws IOError naming the path and the byte offset (in the decompressed stream) for a
// missing/unreadable file, a bad magic, an unsupported type, truncated data or trailing bytes.
DETFORGE_API Tensor read_idx(const std::string& path);

// Writes `t` (u8, i32, f32 or f64; any device/layout, at least one dim) as an IDX file, gzip
// compressed when `gzip`. Throws DTypeError/ShapeError for tensors IDX cannot hold, IOError on I/O.
DETFORGE_API void write_idx(const std::string& path, const Tensor& t, bool gzip);

// Writes raw bytes to `path`, gzip compressed (zlib gzopen "wb") when `gzip`. Used to build
// synthetic (also deliberately corrupt) data files. Throws IOError.
DETFORGE_API void write_file_bytes(const std::string& path, const std::string& bytes, bool gzip);

}  // namespace detforge::data
