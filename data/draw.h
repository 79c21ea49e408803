// Raster drawing on u8 RGB images (u8 [H, W, 3], contiguous, CPU): filled and outlined rectangles,
// lines, text in a tiny bitmap font (stb_easy_font's segment font rasterised pixel-exactly: about
// 6 px per character, 12 px per line at scale 1), nearest-neighbour resizing and pasting. Shared by
// the box visualiser (detforge visualize) and the plot helper (data/plot.h). Everything clips to
// the image: coordinates outside it are fine.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace detforge::data {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

// A new u8 [height, width, 3] image filled with `fill`.
DETFORGE_API Tensor new_canvas(int64_t height, int64_t width, Rgb fill = {255, 255, 255});
// A contiguous u8 [H, W, 3] copy of a u8 [H, W, 3] or [H, W, 1] image (grey replicated).
// ShapeError/DTypeError for anything else.
DETFORGE_API Tensor to_rgb_canvas(const Tensor& image);

DETFORGE_API Rgb get_pixel(const Tensor& canvas, int64_t x, int64_t y);
DETFORGE_API void set_pixel(Tensor& canvas, int64_t x, int64_t y, Rgb c);
// Pixels x in [x0, x1), y in [y0, y1).
DETFORGE_API void fill_rect(Tensor& canvas, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c);
// The outline of the box xyxy (COCO-style exclusive x2/y2: the right edge is column
// floor(x2) - 1), drawn `thickness` pixels inwards.
DETFORGE_API void draw_box(Tensor& canvas, double x1, double y1, double x2, double y2, Rgb c,
                           int thickness = 1);
// A dashed outline (dash and gap of `dash` pixels), same geometry as draw_box.
DETFORGE_API void draw_dashed_box(Tensor& canvas, double x1, double y1, double x2, double y2, Rgb c,
                                  int thickness = 1, int dash = 4);
// Bresenham line between pixel centres (both ends included).
DETFORGE_API void draw_line(Tensor& canvas, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c,
                            int thickness = 1);

// Text with its top-left corner at (x, y); each font pixel becomes a scale x scale block.
// ASCII 32..126 ('\n' starts a new line).
DETFORGE_API void draw_text(Tensor& canvas, int64_t x, int64_t y, const std::string& text, Rgb c,
                            int scale = 1);
DETFORGE_API int64_t text_width(const std::string& text, int scale = 1);
DETFORGE_API int64_t text_height(const std::string& text, int scale = 1);
// Text on a filled background box (padding 1 px * scale); returns the box width.
DETFORGE_API int64_t draw_label(Tensor& canvas, int64_t x, int64_t y, const std::string& text,
                                Rgb fg, Rgb bg, int scale = 1);

// Nearest-neighbour resize of a u8 [H, W, C] image to [height, width, C].
DETFORGE_API Tensor resize_nearest(const Tensor& image, int64_t height, int64_t width);
// Copies src (u8 [h, w, 3]) into canvas with its top-left corner at (x, y), clipped.
DETFORGE_API void paste(Tensor& canvas, const Tensor& src, int64_t x, int64_t y);

// A fixed palette of distinguishable colours (index modulo its size).
DETFORGE_API Rgb palette_color(int64_t index);

}  // namespace detforge::data
