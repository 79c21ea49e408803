#include "data/det_transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "tensor/error.h"

namespace detforge::data {
namespace {

// Source indices and weights of linear interpolation along one axis, as torch's CPU upsample
// (align_corners=False): scale = in / out in float, the source position in double (torch's CPU
// acc_type of float), src = scale * (dst + 0.5) - 0.5 clamped at 0, i0 = trunc(src),
// i1 = i0 + (i0 < in - 1), l1 = float(src - i0), l0 = 1 - l1. Equal sizes copy (i0 = i1 = dst,
// l0 = 1). `reverse` lists the entries for dst = out-1 .. 0.
struct AxisTable {
  std::vector<int32_t> i0, i1;
  std::vector<float> l0, l1;
};

void linear_table(int64_t in, int64_t out, bool reverse, AxisTable& t) {
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0, i1;
    float l1;
    if (in == out) {
      i0 = i1 = o;
      l1 = 0.f;
    } else {
      double real = static_cast<double>(scale) * (static_cast<double>(o) + 0.5) - 0.5;
      if (real < 0.0) real = 0.0;
      i0 = std::min<int64_t>(static_cast<int64_t>(real), in - 1);
      l1 = static_cast<float>(real - static_cast<double>(i0));
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
    }
    const int64_t k = reverse ? out - 1 - o : o;
    t.i0[k] = static_cast<int32_t>(i0);
    t.i1[k] = static_cast<int32_t>(i1);
    t.l1[k] = l1;
    t.l0[k] = 1.f - l1;
  }
}

// Horizontal pass of one source row into 3 planar float rows (c * ow + x). `row` must have 4
// readable bytes after its last pixel's first byte + 3 (the AVX2 path gathers 32-bit words).
void horizontal(const uint8_t* DETFORGE_RESTRICT row, int64_t channels, const AxisTable& tx,
                int64_t ow, float* DETFORGE_RESTRICT out) {
  const int32_t* i0 = tx.i0.data();
  const int32_t* i1 = tx.i1.data();
  const float* l0 = tx.l0.data();
  const float* l1 = tx.l1.data();
  if (channels == 3) {  // the 3 interleaved bytes of a pixel together
    float* DETFORGE_RESTRICT o0 = out;
    float* DETFORGE_RESTRICT o1 = out + ow;
    float* DETFORGE_RESTRICT o2 = out + 2 * ow;
    int64_t x = 0;
#ifdef __AVX2__
    // 8 outputs at a time: gather the 4 bytes at each source pixel (RGB + one spare), split
    // the channels with shifts, blend with mul + add (the scalar tail's rounding).
    const __m256i mask = _mm256_set1_epi32(0xff);
    for (; x + 8 <= ow; x += 8) {
      __m256i j0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0 + x));
      __m256i j1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i1 + x));
      j0 = _mm256_add_epi32(j0, _mm256_slli_epi32(j0, 1));
      j1 = _mm256_add_epi32(j1, _mm256_slli_epi32(j1, 1));
      const __m256i p0 = _mm256_i32gather_epi32(reinterpret_cast<const int*>(row), j0, 1);
      const __m256i p1 = _mm256_i32gather_epi32(reinterpret_cast<const int*>(row), j1, 1);
      const __m256 w0 = _mm256_loadu_ps(l0 + x), w1 = _mm256_loadu_ps(l1 + x);
      float* o[3] = {o0, o1, o2};
      for (int c = 0; c < 3; ++c) {
        const __m256 a = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(p0, 8 * c), mask));
        const __m256 b = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(p1, 8 * c), mask));
        _mm256_storeu_ps(o[c] + x, _mm256_add_ps(_mm256_mul_ps(a, w0), _mm256_mul_ps(b, w1)));
      }
    }
#endif
    for (; x < ow; ++x) {
      const uint8_t* a = row + 3 * static_cast<int64_t>(i0[x]);
      const uint8_t* b = row + 3 * static_cast<int64_t>(i1[x]);
      const float w0 = l0[x], w1 = l1[x];
      o0[x] = static_cast<float>(a[0]) * w0 + static_cast<float>(b[0]) * w1;
      o1[x] = static_cast<float>(a[1]) * w0 + static_cast<float>(b[1]) * w1;
      o2[x] = static_cast<float>(a[2]) * w0 + static_cast<float>(b[2]) * w1;
    }
  } else {
    for (int64_t x = 0; x < ow; ++x)
      out[x] = static_cast<float>(row[i0[x]]) * l0[x] + static_cast<float>(row[i1[x]]) * l1[x];
    std::memcpy(out + ow, out, sizeof(float) * ow);
    std::memcpy(out + 2 * ow, out, sizeof(float) * ow);
  }
}

void check_boxes(const Tensor& boxes, const char* op) {
  DF_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.size(1) == 4 &&
               boxes.dtype() == DType::f32 && !boxes.is_cuda(),
           ShapeError, "[", op, "] expected CPU f32 boxes [n, 4], got ",
           boxes.defined() ? dtype_name(boxes.dtype()) : "undefined", " ",
           boxes.defined() ? shape_str(boxes.shape()) : "");
}

void check_image(const Tensor& image, const char* op) {
  DF_CHECK(image.defined() && image.dtype() == DType::u8 && image.dim() == 3 &&
               (image.size(2) == 3 || image.size(2) == 1) && !image.is_cuda(),
           ShapeError, "[", op, "] expected a CPU u8 image [H, W, 3] (or [H, W, 1]), got ",
           image.defined() ? dtype_name(image.dtype()) : "undefined", " ",
           image.defined() ? shape_str(image.shape()) : "");
  DF_CHECK(image.size(0) > 0 && image.size(1) > 0, ShapeError, "[", op, "] empty image ",
           shape_str(image.shape()));
}

}  // namespace

std::array<int64_t, 2> keep_ratio_size(int64_t height, int64_t width, ResizeSize size,
                                       ResizeRounding rounding) {
  DF_CHECK(height > 0 && width > 0 && size.short_side > 0 && size.long_side > 0, ConfigError,
           "[keep_ratio_size] image ", height, "x", width, " to (short ", size.short_side,
           ", long ", size.long_side, "): sizes must be positive");
  const int64_t mn = std::min(height, width), mx = std::max(height, width);
  if (rounding == ResizeRounding::torchvision) {
    // torchvision divides a Python float by a float32 tensor: torch evaluates that as
    // reciprocal(tensor) * scalar, in float32 (so 61 -> short 61 gives 0.99999994 and 60 pixels).
    const float scale =
        std::min(static_cast<float>(size.short_side) * (1.f / static_cast<float>(mn)),
                 static_cast<float>(size.long_side) * (1.f / static_cast<float>(mx)));
    const double s = scale;
    return {static_cast<int64_t>(std::floor(static_cast<double>(height) * s)),
            static_cast<int64_t>(std::floor(static_cast<double>(width) * s))};
  }
  const double s = std::min(static_cast<double>(size.long_side) / static_cast<double>(mx),
                            static_cast<double>(size.short_side) / static_cast<double>(mn));
  return {static_cast<int64_t>(static_cast<double>(height) * s + 0.5),
          static_cast<int64_t>(static_cast<double>(width) * s + 0.5)};
}

void resize_flip_normalize_u8(const uint8_t* src, int64_t ih, int64_t iw, int64_t channels,
                              float* dst, int64_t oh, int64_t ow, int64_t row_stride,
                              int64_t plane_stride, bool flip, const Normalize& norm) {
  DF_CHECK(ih > 0 && iw > 0 && oh > 0 && ow > 0 && (channels == 1 || channels == 3) &&
               row_stride >= ow && plane_stride >= (oh - 1) * row_stride + ow,
           ShapeError, "[resize_normalize] bad geometry: input ", ih, "x", iw, "x", channels,
           ", output ", oh, "x", ow, ", row stride ", row_stride, ", plane stride ", plane_stride);
  AxisTable tx, ty;
  linear_table(iw, ow, flip, tx);
  linear_table(ih, oh, false, ty);
  float mean[3], inv[3];
  for (int c = 0; c < 3; ++c) {
    mean[c] = norm.mean[c];
    inv[c] = 1.f / norm.std[c];
  }
  // Two cached horizontally-interpolated source rows (planar), reused while y advances.
  std::vector<float> buf(static_cast<size_t>(6 * ow));
  float* rows[2] = {buf.data(), buf.data() + 3 * ow};
  int64_t cached[2] = {-1, -1};
  const int64_t src_row = iw * channels;
  // The last source row is copied into a buffer with slack for the 32-bit gathers.
  std::vector<uint8_t> last(static_cast<size_t>(src_row + 4), 0);
  std::memcpy(last.data(), src + (ih - 1) * src_row, static_cast<size_t>(src_row));
  auto get_row = [&](int64_t r, int avoid) -> const float* {
    for (int s = 0; s < 2; ++s)
      if (cached[s] == r) return rows[s];
    const int s = avoid == 0 ? 1 : 0;  // the slot not holding the row still needed
    horizontal(r == ih - 1 ? last.data() : src + r * src_row, channels, tx, ow, rows[s]);
    cached[s] = r;
    return rows[s];
  };
  for (int64_t y = 0; y < oh; ++y) {
    const int64_t keep = cached[0] == ty.i1[y] ? 0 : cached[1] == ty.i1[y] ? 1 : -1;
    const float* a = get_row(ty.i0[y], static_cast<int>(keep));
    const int slot_a = a == rows[0] ? 0 : 1;
    const float* b = ty.i1[y] == ty.i0[y] ? a : get_row(ty.i1[y], slot_a);
    const float w0 = ty.l0[y], w1 = ty.l1[y];
    for (int64_t c = 0; c < 3; ++c) {
      const float* DETFORGE_RESTRICT pa = a + c * ow;
      const float* DETFORGE_RESTRICT pb = b + c * ow;
      float* DETFORGE_RESTRICT o = dst + c * plane_stride + y * row_stride;
      const float m = mean[c], s = inv[c];
      for (int64_t x = 0; x < ow; ++x) o[x] = (pa[x] * w0 + pb[x] * w1 - m) * s;
    }
  }
}

void zero_padding(float* dst, int64_t planes, int64_t H, int64_t W, int64_t oh, int64_t ow) {
  for (int64_t p = 0; p < planes; ++p) {
    float* plane = dst + p * H * W;
    if (ow < W)
      for (int64_t y = 0; y < oh; ++y) std::memset(plane + y * W + ow, 0, sizeof(float) * (W - ow));
    if (oh < H) std::memset(plane + oh * W, 0, sizeof(float) * (H - oh) * W);
  }
}

Tensor resize_normalize(const Tensor& image, int64_t oh, int64_t ow, bool flip,
                        const Normalize& norm) {
  check_image(image, "resize_normalize");
  const Tensor src = image.contiguous();
  Tensor out = Tensor::empty({3, oh, ow}, DType::f32);
  resize_flip_normalize_u8(src.data<uint8_t>(), src.size(0), src.size(1), src.size(2),
                           out.data<float>(), oh, ow, ow, oh * ow, flip, norm);
  return out;
}

Tensor scale_boxes(const Tensor& boxes, float scale_x, float scale_y) {
  check_boxes(boxes, "scale_boxes");
  Tensor out = boxes.contiguous().clone();
  float* p = out.data<float>();
  for (int64_t i = 0; i < out.size(0); ++i) {
    p[4 * i] *= scale_x;
    p[4 * i + 1] *= scale_y;
    p[4 * i + 2] *= scale_x;
    p[4 * i + 3] *= scale_y;
  }
  return out;
}

Tensor hflip_boxes(const Tensor& boxes, int64_t width) {
  check_boxes(boxes, "hflip_boxes");
  Tensor out = boxes.contiguous().clone();
  float* p = out.data<float>();
  const float w = static_cast<float>(width);
  for (int64_t i = 0; i < out.size(0); ++i) {
    const float x1 = p[4 * i], x2 = p[4 * i + 2];
    p[4 * i] = w - x2;
    p[4 * i + 2] = w - x1;
  }
  return out;
}

Tensor clip_boxes(const Tensor& boxes, int64_t height, int64_t width) {
  check_boxes(boxes, "clip_boxes");
  Tensor out = boxes.contiguous().clone();
  float* p = out.data<float>();
  const float w = static_cast<float>(width), h = static_cast<float>(height);
  for (int64_t i = 0; i < out.size(0); ++i) {
    p[4 * i] = std::min(std::max(p[4 * i], 0.f), w);
    p[4 * i + 1] = std::min(std::max(p[4 * i + 1], 0.f), h);
    p[4 * i + 2] = std::min(std::max(p[4 * i + 2], 0.f), w);
    p[4 * i + 3] = std::min(std::max(p[4 * i + 3], 0.f), h);
  }
  return out;
}

DetTarget transform_target(const Tensor& boxes, const Tensor& labels, int64_t orig_h,
                           int64_t orig_w, int64_t h, int64_t w, bool flip,
                           const TransformConfig& cfg) {
  check_boxes(boxes, "transform_target");
  DF_CHECK(labels.defined() && labels.dtype() == DType::i64 && labels.dim() == 1 &&
               labels.size(0) == boxes.size(0),
           ShapeError, "[transform_target] expected i64 labels [", boxes.size(0), "], got ",
           labels.defined() ? dtype_name(labels.dtype()) : "undefined", " ",
           labels.defined() ? shape_str(labels.shape()) : "");
  DetTarget t;
  t.orig_height = orig_h;
  t.orig_width = orig_w;
  t.height = h;
  t.width = w;
  t.scale_x = static_cast<float>(w) / static_cast<float>(orig_w);
  t.scale_y = static_cast<float>(h) / static_cast<float>(orig_h);
  t.flipped = flip;
  t.boxes = scale_boxes(boxes, t.scale_x, t.scale_y);
  if (cfg.clip_boxes) t.boxes = clip_boxes(t.boxes, h, w);
  if (flip) t.boxes = hflip_boxes(t.boxes, w);
  t.labels = labels.contiguous().clone();
  return t;
}

DetSample transform_sample(const Tensor& image, const Tensor& boxes, const Tensor& labels,
                           ResizeSize size, bool flip, const TransformConfig& cfg, int64_t image_id,
                           const std::string& file_name) {
  check_image(image, "transform_sample");
  const auto hw = keep_ratio_size(image.size(0), image.size(1), size, cfg.rounding);
  DetSample s;
  s.image = resize_normalize(image, hw[0], hw[1], flip, cfg.normalize);
  s.target = transform_target(boxes, labels, image.size(0), image.size(1), hw[0], hw[1], flip, cfg);
  s.target.image_id = image_id;
  s.target.file_name = file_name;
  return s;
}

std::array<int64_t, 2> padded_size(const std::vector<std::array<int64_t, 2>>& sizes,
                                   int64_t divisor) {
  DF_CHECK(divisor >= 1, ConfigError, "[padded_size] size divisor must be >= 1, got ", divisor);
  int64_t H = 0, W = 0;
  for (const auto& s : sizes) {
    H = std::max(H, s[0]);
    W = std::max(W, s[1]);
  }
  return {(H + divisor - 1) / divisor * divisor, (W + divisor - 1) / divisor * divisor};
}

DetBatch collate(const std::vector<DetSample>& samples, int64_t size_divisor) {
  DF_CHECK(!samples.empty(), ShapeError, "[collate] no samples");
  DetBatch b;
  for (const auto& s : samples) {
    DF_CHECK(s.image.defined() && s.image.dtype() == DType::f32 && s.image.dim() == 3 &&
                 s.image.size(0) == 3,
             ShapeError, "[collate] expected f32 images [3, h, w], got ",
             s.image.defined() ? dtype_name(s.image.dtype()) : "undefined", " ",
             s.image.defined() ? shape_str(s.image.shape()) : "");
    b.image_sizes.push_back({s.image.size(1), s.image.size(2)});
    b.targets.push_back(s.target);
  }
  const auto HW = padded_size(b.image_sizes, size_divisor);
  const int64_t B = static_cast<int64_t>(samples.size()), H = HW[0], W = HW[1];
  b.images = Tensor::empty({B, 3, H, W}, DType::f32);
  float* dst = b.images.data<float>();
  for (int64_t i = 0; i < B; ++i) {
    const Tensor img = samples[i].image.contiguous();
    const int64_t h = img.size(1), w = img.size(2);
    const float* src = img.data<float>();
    float* d = dst + i * 3 * H * W;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < h; ++y)
        std::memcpy(d + (c * H + y) * W, src + (c * h + y) * w, sizeof(float) * w);
    zero_padding(d, 3, H, W, h, w);
  }
  return b;
}

}  // namespace detforge::data
