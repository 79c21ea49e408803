// A small raster line plot (training loss curves, Joint-DetNAS search plots): axes with "nice"
// ticks and numeric labels, one polyline (or point markers) per series, a title, axis labels and a
// legend, drawn with data/draw.h onto a u8 [H, W, 3] image.
#pragma once
#include <string>
#include <vector>

#include "data/draw.h"

namespace detforge::data {

struct PlotSeries {
  std::string label;  // legend entry ("" = none)
  std::vector<double> x, y;
  Rgb color{31, 119, 180};
  bool lines = true;     // a polyline through the points
  bool markers = false;  // a 3x3 square at each point
};

struct PlotOptions {
  int64_t width = 640, height = 400;
  std::string title, xlabel, ylabel;
  bool log_y = false;  // non-positive y values are left out
};

// Tick positions covering [lo, hi] with about `target` steps of 1, 2 or 5 x 10^k (lo == hi widens
// the range).
DETFORGE_API std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// "0.5", "1.2e-05", "1000": %g with 4 significant digits.
DETFORGE_API std::string tick_label(double v);

// The plot area of a width x height plot: pixels [left, right) x [top, bottom).
struct PlotArea {
  int64_t left, top, right, bottom;
};
DETFORGE_API PlotArea plot_area(const PlotOptions& opt);

// Renders the series (non-finite points are skipped). ConfigError for mismatched x/y lengths or a
// size under 120x80.
DETFORGE_API Tensor plot_lines(const std::vector<PlotSeries>& series, const PlotOptions& opt = {});

}  // namespace detforge::data
