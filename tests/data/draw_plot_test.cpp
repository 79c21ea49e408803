// data/draw.h and data/plot.h: pixel-level checks of rectangles, lines, text, paste/resize and the
// line plot (axes, ticks, series colours, log scale, errors).
#include <gtest/gtest.h>

#include "data/draw.h"
#include "data/plot.h"
#include "tensor/error.h"

using namespace detforge;
using namespace detforge::data;

namespace {

int64_t count_color(const Tensor& img, Rgb c, int64_t x0 = 0, int64_t y0 = 0, int64_t x1 = -1,
                    int64_t y1 = -1) {
  if (x1 < 0) x1 = img.size(1);
  if (y1 < 0) y1 = img.size(0);
  int64_t n = 0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) n += get_pixel(img, x, y) == c;
  return n;
}

const Rgb kWhite{255, 255, 255}, kRed{255, 0, 0}, kBlack{0, 0, 0};

}  // namespace

TEST(Draw, CanvasAndFillRectClip) {
  Tensor c = new_canvas(10, 20, {1, 2, 3});
  ASSERT_EQ(c.shape(), (Shape{10, 20, 3}));
  EXPECT_TRUE((get_pixel(c, 19, 9) == Rgb{1, 2, 3}));
  fill_rect(c, -5, -5, 3, 2, kRed);  // clipped to [0, 3) x [0, 2)
  EXPECT_EQ(count_color(c, kRed), 6);
  fill_rect(c, 18, 8, 100, 100, kRed);
  EXPECT_EQ(count_color(c, kRed), 10);
  set_pixel(c, -1, 50, kBlack);  // outside: ignored
  EXPECT_EQ(count_color(c, kBlack), 0);
  EXPECT_THROW(fill_rect(c = Tensor::zeros({4, 4, 1}, DType::u8), 0, 0, 1, 1, kRed), ShapeError);
}

TEST(Draw, BoxOutlineGeometry) {
  Tensor c = new_canvas(20, 20);
  draw_box(c, 2, 3, 12, 8, kRed);  // columns 2..11, rows 3..7
  EXPECT_EQ(count_color(c, kRed), 2 * 10 + 2 * 3);
  EXPECT_TRUE(get_pixel(c, 2, 3) == kRed);
  EXPECT_TRUE(get_pixel(c, 11, 7) == kRed);
  EXPECT_TRUE(get_pixel(c, 12, 7) == kWhite);
  EXPECT_TRUE(get_pixel(c, 5, 5) == kWhite);  // inside stays
  Tensor t = new_canvas(20, 20);
  draw_box(t, 2, 3, 12, 8, kRed, 2);
  EXPECT_EQ(count_color(t, kRed), 10 * 5 - 6 * 1);
  Tensor d = new_canvas(20, 20);
  draw_dashed_box(d, 0, 0, 16, 16, kRed, 1, 4);
  EXPECT_LT(count_color(d, kRed), 60);
  EXPECT_GT(count_color(d, kRed), 20);
  EXPECT_TRUE(get_pixel(d, 0, 0) == kRed);
  EXPECT_TRUE(get_pixel(d, 5, 0) == kWhite);  // a gap
}

TEST(Draw, Lines) {
  Tensor c = new_canvas(10, 10);
  draw_line(c, 0, 0, 9, 9, kRed);
  EXPECT_EQ(count_color(c, kRed), 10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(get_pixel(c, i, i) == kRed);
  Tensor h = new_canvas(10, 10);
  draw_line(h, 8, 4, 1, 4, kRed);
  EXPECT_EQ(count_color(h, kRed), 8);
  Tensor s = new_canvas(10, 10);
  draw_line(s, 0, 0, 9, 3, kRed);  // steep-free slope: one pixel per column
  EXPECT_EQ(count_color(s, kRed), 10);
  EXPECT_TRUE(get_pixel(s, 9, 3) == kRed);
}

TEST(Draw, TextInsideItsExtent) {
  const std::string text = "AP 0.37 loss_box";
  const int64_t w = text_width(text), h = text_height(text);
  EXPECT_GT(w, 5 * static_cast<int64_t>(text.size()) - 10);
  EXPECT_LT(w, 8 * static_cast<int64_t>(text.size()));
  EXPECT_GE(h, 7);
  EXPECT_LE(h, 14);
  Tensor c = new_canvas(30, 120);
  draw_text(c, 3, 4, text, kBlack);
  const int64_t inside = count_color(c, kBlack, 3, 4, 3 + w, 4 + h);
  EXPECT_GT(inside, 40);
  EXPECT_EQ(count_color(c, kBlack), inside);  // nothing outside the extent
  Tensor c2 = new_canvas(60, 240);
  draw_text(c2, 0, 0, text, kBlack, 2);
  EXPECT_EQ(count_color(c2, kBlack), 4 * inside);
  EXPECT_EQ(text_width(text, 2), 2 * w);
  // different strings draw differently
  Tensor a = new_canvas(20, 20), b = new_canvas(20, 20);
  draw_text(a, 0, 0, "1", kBlack);
  draw_text(b, 0, 0, "8", kBlack);
  EXPECT_LT(count_color(a, kBlack), count_color(b, kBlack));
  Tensor l = new_canvas(20, 60);
  const int64_t lw = draw_label(l, 1, 1, "cat", kWhite, kRed);
  EXPECT_EQ(lw, text_width("cat") + 2);
  EXPECT_TRUE(get_pixel(l, 1, 1) == kRed);
}

TEST(Draw, ResizePasteRgb) {
  Tensor g = Tensor::zeros({2, 3, 1}, DType::u8);
  g.data<uint8_t>()[4] = 200;  // (y=1, x=1)
  Tensor rgb = to_rgb_canvas(g);
  EXPECT_TRUE((get_pixel(rgb, 1, 1) == Rgb{200, 200, 200}));
  Tensor big = resize_nearest(rgb, 4, 6);
  ASSERT_EQ(big.shape(), (Shape{4, 6, 3}));
  EXPECT_EQ(count_color(big, Rgb{200, 200, 200}), 4);
  EXPECT_TRUE((get_pixel(big, 3, 3) == Rgb{200, 200, 200}));
  Tensor c = new_canvas(5, 5);
  paste(c, big, 3, -1);  // clipped on two sides
  EXPECT_TRUE((get_pixel(c, 3, 0) == Rgb{0, 0, 0}));
  EXPECT_EQ(count_color(c, kWhite), 25 - 2 * 3);
  EXPECT_FALSE(palette_color(0) == palette_color(1));
  EXPECT_TRUE(palette_color(3) == palette_color(13));
}

TEST(Plot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  auto t = nice_ticks(3, 97, 5);
  EXPECT_EQ(t.front(), 20);
  EXPECT_EQ(t.back(), 80);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(nice_ticks(5, 5).empty());
  EXPECT_EQ(tick_label(0.25), "0.25");
  EXPECT_EQ(tick_label(1e-5), "1e-05");
}

TEST(Plot, LinesAxesLegend) {
  PlotSeries a{"loss", {0, 1, 2, 3}, {4, 3, 2, 1}, {200, 0, 0}};
  PlotSeries b{"loss_box", {0, 3}, {1, 1}, {0, 0, 200}, false, true};
  PlotOptions opt;
  opt.width = 300;
  opt.height = 200;
  opt.title = "training loss";
  opt.xlabel = "iteration";
  Tensor img = plot_lines({a, b}, opt);
  ASSERT_EQ(img.shape(), (Shape{200, 300, 3}));
  const PlotArea pa = plot_area(opt);
  // axes
  EXPECT_TRUE(get_pixel(img, pa.left - 1, (pa.top + pa.bottom) / 2) == kBlack);
  EXPECT_TRUE(get_pixel(img, (pa.left + pa.right) / 2, pa.bottom) == kBlack);
  // the first point of "loss" (x=0 at the left edge, y=4 at the top of the range)
  EXPECT_TRUE((get_pixel(img, pa.left, pa.top) == Rgb{200, 0, 0}));
  EXPECT_GT(count_color(img, Rgb{200, 0, 0}), pa.right - pa.left - 10);
  // markers only for b: 2 points of 3x3, plus its legend swatch 14x2
  EXPECT_EQ(count_color(img, Rgb{0, 0, 200}), 2 * 9 + 28);
  // labels were drawn: black pixels outside the plot area (ticks, title)
  EXPECT_GT(count_color(img, kBlack, 0, 0, pa.left - 1, pa.bottom), 20);
  EXPECT_GT(count_color(img, kBlack, 0, 0, 300, pa.top), 20);
  // log scale leaves out non-positive points; mismatched series and tiny sizes throw
  opt.log_y = true;
  PlotSeries z{"z", {0, 1, 2}, {0, 10, 100}};
  EXPECT_NO_THROW(plot_lines({z}, opt));
  PlotSeries bad{"bad", {0, 1}, {1}};
  EXPECT_THROW(plot_lines({bad}), ConfigError);
  opt.width = 50;
  EXPECT_THROW(plot_lines({a}, opt), ConfigError);
}
