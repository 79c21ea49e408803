#include "data/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tensor/error.h"

namespace detforge::data {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(std::isfinite(lo) && std::isfinite(hi))) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

PlotArea plot_area(const PlotOptions& opt) {
  return {64, 24, opt.width - 16, opt.height - 40};
}

Tensor plot_lines(const std::vector<PlotSeries>& series, const PlotOptions& opt) {
  DF_CHECK(opt.width >= 120 && opt.height >= 80, ConfigError, "[plot] size ", opt.width, "x",
           opt.height, " is too small (>= 120x80)");
  const Rgb black{0, 0, 0}, grid{225, 225, 225};
  Tensor img = new_canvas(opt.height, opt.width);
  const PlotArea a = plot_area(opt);
  auto ty = [&](double y) { return opt.log_y ? std::log10(y) : y; };
  auto ok = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!opt.log_y || y > 0);
  };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    DF_CHECK(s.x.size() == s.y.size(), ConfigError, "[plot] series '", s.label, "' has ",
             s.x.size(), " x but ", s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!ok(s.x[i], s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
    }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::vector<double> xt = nice_ticks(x0, x1), yt = nice_ticks(y0, y1);
  // y: the range widened to whole tick steps (so the lowest and highest ticks are labelled).
  if (yt.size() >= 2) {
    const double step = yt[1] - yt[0];
    const double lo = std::floor(y0 / step + 1e-9) * step, hi = std::ceil(y1 / step - 1e-9) * step;
    yt.clear();
    for (double v = lo; v <= hi + step * 1e-9; v += step)
      yt.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  // The axis range: the data range widened to the outer ticks.
  if (!xt.empty()) x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back());
  if (!yt.empty()) y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= 1, y1 += 1;
  const double pw = static_cast<double>(a.right - a.left - 1),
               ph = static_cast<double>(a.bottom - a.top - 1);
  auto px = [&](double x) {
    return a.left + static_cast<int64_t>(std::lround((x - x0) / (x1 - x0) * pw));
  };
  auto py = [&](double y) {
    return a.bottom - 1 - static_cast<int64_t>(std::lround((ty(y) - y0) / (y1 - y0) * ph));
  };
  auto py_t = [&](double t) {  // t already transformed
    return a.bottom - 1 - static_cast<int64_t>(std::lround((t - y0) / (y1 - y0) * ph));
  };
  // Grid, ticks and labels.
  for (double t : xt) {
    const int64_t x = px(t);
    fill_rect(img, x, a.top, x + 1, a.bottom, grid);
    fill_rect(img, x, a.bottom, x + 1, a.bottom + 4, black);
    const std::string s = tick_label(t);
    draw_text(img, x - text_width(s) / 2, a.bottom + 6, s, black);
  }
  for (double t : yt) {
    const int64_t y = py_t(t);
    fill_rect(img, a.left, y, a.right, y + 1, grid);
    fill_rect(img, a.left - 4, y, a.left, y + 1, black);
    const std::string s = tick_label(opt.log_y ? std::pow(10.0, t) : t);
    draw_text(img, a.left - 6 - text_width(s), y - 4, s, black);
  }
  // Axes (left and bottom edges of the plot area).
  fill_rect(img, a.left - 1, a.top, a.left, a.bottom + 1, black);
  fill_rect(img, a.left - 1, a.bottom, a.right, a.bottom + 1, black);
  // Series.
  for (const auto& s : series) {
    bool have_prev = false;
    int64_t qx = 0, qy = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!ok(s.x[i], s.y[i])) {
        have_prev = false;
        continue;
      }
      const int64_t cx = px(s.x[i]), cy = py(s.y[i]);
      if (s.lines && have_prev) draw_line(img, qx, qy, cx, cy, s.color);
      if (s.markers) fill_rect(img, cx - 1, cy - 1, cx + 2, cy + 2, s.color);
      qx = cx;
      qy = cy;
      have_prev = true;
    }
  }
  // Title, axis labels, legend (top right, inside the plot area).
  if (!opt.title.empty())
    draw_text(img, (opt.width - text_width(opt.title)) / 2, 6, opt.title, black);
  if (!opt.xlabel.empty())
    draw_text(img, a.left + (a.right - a.left - text_width(opt.xlabel)) / 2, a.bottom + 22,
              opt.xlabel, black);
  if (!opt.ylabel.empty()) draw_text(img, 4, 6, opt.ylabel, black);
  int64_t ly = a.top + 4;
  for (const auto& s : series) {
    if (s.label.empty()) continue;
    const int64_t w = text_width(s.label);
    const int64_t lx = a.right - w - 24;
    fill_rect(img, lx - 2, ly - 2, a.right - 2, ly + 10, {255, 255, 255});
    fill_rect(img, lx, ly + 3, lx + 14, ly + 5, s.color);
    draw_text(img, lx + 18, ly, s.label, black);
    ly += 13;
  }
  return img;
}

}  // namespace detforge::data
