// The one translation unit holding stb_image's and stb_image_write's implementations (static
// linkage: no symbol clashes with other copies of stb in a host application).
#include "data/image_io.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "tensor/error.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include <stb_image.h>

namespace {
// The zlib level of the current encode_png call (stb's own level is a process-wide global).
thread_local int png_zlib_level = 6;

// stb_image_write's PNG deflate replaced by zlib (faster, smaller files).
unsigned char* zlib_compress(unsigned char* data, int len, int* out_len, int /*quality*/) {
  uLongf cap = compressBound(static_cast<uLong>(len));
  auto* out = static_cast<unsigned char*>(std::malloc(cap));
  if (!out) return nullptr;
  if (compress2(out, &cap, data, static_cast<uLong>(len), png_zlib_level) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_len = static_cast<int>(cap);
  return out;
}
}  // namespace

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ZLIB_COMPRESS zlib_compress
#include <stb_image_write.h>

// (No pop: stb's code is inlined into decode_image below, where GCC would warn again.)

namespace detforge::data {

Tensor decode_image(const void* data, size_t size, const std::string& origin) {
  DF_CHECK(size > 0, IOError, "[read_image] ", origin, ": empty file");
  DF_CHECK(size <= static_cast<size_t>(INT32_MAX), IOError, "[read_image] ", origin,
           ": file too large (", size, " bytes)");
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load_from_memory(static_cast<const stbi_uc*>(data),
                                            static_cast<int>(size), &w, &h, &c, 3);
  if (!px) {
    const char* why = stbi_failure_reason();
    throw IOError(str_cat("[read_image] ", origin, ": cannot decode (", size, " bytes): ",
                          why ? why : "unknown error", " (JPEG, PNG and BMP are supported)"));
  }
  Tensor out = Tensor::empty({h, w, 3}, DType::u8);
  std::memcpy(out.data<uint8_t>(), px, static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  return out;
}

Tensor read_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DF_CHECK(f.good(), IOError, "[read_image] cannot open ", path, ": ", std::strerror(errno));
  std::string bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  DF_CHECK(!f.bad(), IOError, "[read_image] error reading ", path);
  return decode_image(bytes.data(), bytes.size(), path);
}

namespace {

void stb_sink(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), size);
}

// Checks a u8 [H, W] / [H, W, C] image for the encoders; returns {h, w, c}.
std::array<int, 3> check_encodable(const Tensor& image, const char* who) {
  DF_CHECK(image.dtype() == DType::u8, DTypeError, "[", who, "] expected a u8 image, got ",
           dtype_name(image.dtype()));
  const int64_t d = image.dim();
  DF_CHECK(d == 2 || (d == 3 && (image.size(2) == 1 || image.size(2) == 3 || image.size(2) == 4)),
           ShapeError, "[", who, "] expected [H, W] or [H, W, C] with C in {1, 3, 4}, got ",
           shape_str(image.shape()));
  const int64_t h = image.size(0), w = image.size(1), c = d == 2 ? 1 : image.size(2);
  DF_CHECK(h > 0 && w > 0 && h < (1 << 24) && w < (1 << 24), ShapeError, "[", who,
           "] cannot encode an image of shape ", shape_str(image.shape()));
  return {static_cast<int>(h), static_cast<int>(w), static_cast<int>(c)};
}

}  // namespace

std::string encode_jpeg(const Tensor& image, int quality) {
  const auto [h, w, c] = check_encodable(image, "encode_jpeg");
  DF_CHECK(quality >= 1 && quality <= 100, ConfigError, "[encode_jpeg] quality ", quality,
           " outside 1..100");
  Tensor img = image.to(kCPU).contiguous();
  std::string out;
  DF_CHECK(stbi_write_jpg_to_func(stb_sink, &out, w, h, c, img.data<uint8_t>(), quality), IOError,
           "[encode_jpeg] JPEG encoding failed for ", shape_str(image.shape()));
  return out;
}

std::string encode_png(const Tensor& image, int level) {
  const auto [h, w, c] = check_encodable(image, "write_png");
  DF_CHECK(level >= 0 && level <= 9, ConfigError, "[write_png] zlib level ", level,
           " outside 0..9");
  Tensor img = image.to(kCPU).contiguous();
  png_zlib_level = level;
  std::string out;
  const int ok = stbi_write_png_to_func(stb_sink, &out, w, h, c, img.data<uint8_t>(), w * c);
  DF_CHECK(ok, IOError, "[write_png] PNG encoding failed for ", shape_str(image.shape()));
  return out;
}

void write_png(const std::string& path, const Tensor& image, int level) {
  const std::string bytes = encode_png(image, level);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  DF_CHECK(f.good(), IOError, "[write_png] cannot write ", path, ": ", std::strerror(errno));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  DF_CHECK(f.good(), IOError, "[write_png] error writing ", path);
}

}  // namespace detforge::data
