#include "data/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "tensor/error.h"

// stb_easy_font is header-only with static functions (no symbol clashes).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace detforge::data {
namespace {

void check_canvas(const Tensor& c, const char* who) {
  DF_CHECK(c.defined() && c.dtype() == DType::u8 && c.dim() == 3 && c.size(2) == 3 &&
               c.is_contiguous() && !c.is_cuda(),
           ShapeError, "[", who, "] expected a contiguous CPU u8 [H, W, 3] canvas, got ",
           c.defined() ? shape_str(c.shape()) : std::string("an undefined tensor"));
}

}  // namespace

Tensor new_canvas(int64_t height, int64_t width, Rgb fill) {
  DF_CHECK(height >= 0 && width >= 0, ShapeError, "[new_canvas] negative size ", height, "x",
           width);
  Tensor t = Tensor::empty({height, width, 3}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < height * width; ++i) {
    p[3 * i] = fill.r;
    p[3 * i + 1] = fill.g;
    p[3 * i + 2] = fill.b;
  }
  return t;
}

Tensor to_rgb_canvas(const Tensor& image) {
  DF_CHECK(image.defined() && image.dtype() == DType::u8, DTypeError,
           "[to_rgb_canvas] expected a u8 image");
  DF_CHECK(image.dim() == 3 && (image.size(2) == 3 || image.size(2) == 1), ShapeError,
           "[to_rgb_canvas] expected [H, W, 3] or [H, W, 1], got ", shape_str(image.shape()));
  Tensor src = image.contiguous();
  const int64_t h = src.size(0), w = src.size(1), c = src.size(2);
  Tensor out = Tensor::empty({h, w, 3}, DType::u8);
  const uint8_t* s = src.data<uint8_t>();
  uint8_t* d = out.data<uint8_t>();
  for (int64_t i = 0; i < h * w; ++i)
    for (int k = 0; k < 3; ++k) d[3 * i + k] = s[c == 3 ? 3 * i + k : i];
  return out;
}

Rgb get_pixel(const Tensor& canvas, int64_t x, int64_t y) {
  check_canvas(canvas, "get_pixel");
  DF_CHECK(x >= 0 && y >= 0 && x < canvas.size(1) && y < canvas.size(0), ShapeError,
           "[get_pixel] (", x, ", ", y, ") outside ", canvas.size(1), "x", canvas.size(0));
  const uint8_t* p = canvas.data<uint8_t>() + 3 * (y * canvas.size(1) + x);
  return {p[0], p[1], p[2]};
}

void set_pixel(Tensor& canvas, int64_t x, int64_t y, Rgb c) {
  if (x < 0 || y < 0 || x >= canvas.size(1) || y >= canvas.size(0)) return;
  uint8_t* p = canvas.data<uint8_t>() + 3 * (y * canvas.size(1) + x);
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void fill_rect(Tensor& canvas, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c) {
  check_canvas(canvas, "fill_rect");
  const int64_t H = canvas.size(0), W = canvas.size(1);
  x0 = std::max<int64_t>(x0, 0);
  y0 = std::max<int64_t>(y0, 0);
  x1 = std::min(x1, W);
  y1 = std::min(y1, H);
  uint8_t* base = canvas.data<uint8_t>();
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      uint8_t* p = base + 3 * (y * W + x);
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
}

namespace {
// Integer pixel extent of an xyxy box: columns [l, r], rows [t, b] inclusive.
struct PixBox {
  int64_t l, t, r, b;
};
PixBox pix_box(double x1, double y1, double x2, double y2) {
  PixBox p;
  p.l = static_cast<int64_t>(std::floor(x1));
  p.t = static_cast<int64_t>(std::floor(y1));
  p.r = std::max(p.l, static_cast<int64_t>(std::ceil(x2)) - 1);
  p.b = std::max(p.t, static_cast<int64_t>(std::ceil(y2)) - 1);
  return p;
}
}  // namespace

void draw_box(Tensor& canvas, double x1, double y1, double x2, double y2, Rgb c, int thickness) {
  check_canvas(canvas, "draw_box");
  const PixBox p = pix_box(x1, y1, x2, y2);
  const int64_t t = std::max(1, thickness);
  fill_rect(canvas, p.l, p.t, p.r + 1, p.t + t, c);
  fill_rect(canvas, p.l, p.b - t + 1, p.r + 1, p.b + 1, c);
  fill_rect(canvas, p.l, p.t, p.l + t, p.b + 1, c);
  fill_rect(canvas, p.r - t + 1, p.t, p.r + 1, p.b + 1, c);
}

void draw_dashed_box(Tensor& canvas, double x1, double y1, double x2, double y2, Rgb c,
                     int thickness, int dash) {
  check_canvas(canvas, "draw_dashed_box");
  const PixBox p = pix_box(x1, y1, x2, y2);
  const int64_t t = std::max(1, thickness), d = std::max(1, dash);
  for (int64_t x = p.l; x <= p.r; ++x) {
    if (((x - p.l) / d) % 2) continue;
    fill_rect(canvas, x, p.t, x + 1, p.t + t, c);
    fill_rect(canvas, x, p.b - t + 1, x + 1, p.b + 1, c);
  }
  for (int64_t y = p.t; y <= p.b; ++y) {
    if (((y - p.t) / d) % 2) continue;
    fill_rect(canvas, p.l, y, p.l + t, y + 1, c);
    fill_rect(canvas, p.r - t + 1, y, p.r + 1, y + 1, c);
  }
}

void draw_line(Tensor& canvas, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c,
               int thickness) {
  check_canvas(canvas, "draw_line");
  const int64_t dx = std::llabs(x1 - x0), dy = -std::llabs(y1 - y0);
  const int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  const int64_t t = std::max(1, thickness), lo = (t - 1) / 2;
  int64_t err = dx + dy;
  while (true) {
    fill_rect(canvas, x0 - lo, y0 - lo, x0 - lo + t, y0 - lo + t, c);
    if (x0 == x1 && y0 == y1) break;
    const int64_t e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

namespace {
std::string printable(const std::string& text) {
  std::string s;
  for (char ch : text) s += (ch == '\n' || (ch >= 32 && ch < 127)) ? ch : '?';
  return s;
}
}  // namespace

void draw_text(Tensor& canvas, int64_t x, int64_t y, const std::string& text, Rgb c, int scale) {
  check_canvas(canvas, "draw_text");
  if (text.empty()) return;
  std::string s = printable(text);
  // stb_easy_font emits axis-aligned quads on integer coordinates (4 vertices of 16 bytes each).
  std::vector<char> buf(s.size() * 270 + 1024);
  unsigned char color[4] = {255, 255, 255, 255};
  const int quads =
      stb_easy_font_print(0, 0, s.data(), color, buf.data(), static_cast<int>(buf.size()));
  const int64_t k = std::max(1, scale);
  for (int q = 0; q < quads; ++q) {
    const float* v = reinterpret_cast<const float*>(buf.data() + q * 64);
    float minx = v[0], maxx = v[0], miny = v[1], maxy = v[1];
    for (int i = 1; i < 4; ++i) {
      const float* p = reinterpret_cast<const float*>(buf.data() + q * 64 + i * 16);
      minx = std::min(minx, p[0]);
      maxx = std::max(maxx, p[0]);
      miny = std::min(miny, p[1]);
      maxy = std::max(maxy, p[1]);
    }
    fill_rect(canvas, x + static_cast<int64_t>(std::lround(minx)) * k,
              y + static_cast<int64_t>(std::lround(miny)) * k,
              x + static_cast<int64_t>(std::lround(maxx)) * k,
              y + static_cast<int64_t>(std::lround(maxy)) * k, c);
  }
}

int64_t text_width(const std::string& text, int scale) {
  std::string s = printable(text);
  return static_cast<int64_t>(stb_easy_font_width(s.data())) * std::max(1, scale);
}

int64_t text_height(const std::string& text, int scale) {
  std::string s = printable(text);
  return static_cast<int64_t>(stb_easy_font_height(s.data())) * std::max(1, scale);
}

int64_t draw_label(Tensor& canvas, int64_t x, int64_t y, const std::string& text, Rgb fg, Rgb bg,
                   int scale) {
  const int64_t k = std::max(1, scale);
  const int64_t w = text_width(text, scale) + 2 * k, h = 10 * k;
  fill_rect(canvas, x, y, x + w, y + h, bg);
  draw_text(canvas, x + k, y + k, text, fg, scale);
  return w;
}

Tensor resize_nearest(const Tensor& image, int64_t height, int64_t width) {
  DF_CHECK(image.defined() && image.dtype() == DType::u8 && image.dim() == 3, ShapeError,
           "[resize_nearest] expected a u8 [H, W, C] image");
  DF_CHECK(height > 0 && width > 0, ShapeError, "[resize_nearest] bad size ", height, "x", width);
  Tensor src = image.contiguous();
  const int64_t H = src.size(0), W = src.size(1), C = src.size(2);
  Tensor out = Tensor::empty({height, width, C}, DType::u8);
  const uint8_t* s = src.data<uint8_t>();
  uint8_t* d = out.data<uint8_t>();
  for (int64_t y = 0; y < height; ++y) {
    const int64_t sy = std::min(H - 1, y * H / height);
    for (int64_t x = 0; x < width; ++x) {
      const int64_t sx = std::min(W - 1, x * W / width);
      for (int64_t k = 0; k < C; ++k) d[(y * width + x) * C + k] = s[(sy * W + sx) * C + k];
    }
  }
  return out;
}

void paste(Tensor& canvas, const Tensor& src, int64_t x, int64_t y) {
  check_canvas(canvas, "paste");
  Tensor s = to_rgb_canvas(src);
  const int64_t H = canvas.size(0), W = canvas.size(1), h = s.size(0), w = s.size(1);
  const uint8_t* sp = s.data<uint8_t>();
  uint8_t* dp = canvas.data<uint8_t>();
  for (int64_t r = std::max<int64_t>(0, -y); r < h && y + r < H; ++r)
    for (int64_t c = std::max<int64_t>(0, -x); c < w && x + c < W; ++c)
      for (int k = 0; k < 3; ++k) dp[((y + r) * W + x + c) * 3 + k] = sp[(r * w + c) * 3 + k];
}

Rgb palette_color(int64_t index) {
  static const Rgb kPalette[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
  const int64_t n = static_cast<int64_t>(sizeof(kPalette) / sizeof(kPalette[0]));
  return kPalette[((index % n) + n) % n];
}

}  // namespace detforge::data
