#include "kd/taps.h"

#include <cmath>

#include "detection/roi_pooler.h"
#include "tensor/error.h"

namespace detforge::kd {
namespace {
thread_local TapRecorder* g_current = nullptr;
}

TapRecorder::TapRecorder(std::function<bool(const std::string&)> filter)
    : filter_(std::move(filter)), prev_(g_current) {
  g_current = this;
}

TapRecorder::~TapRecorder() {
  g_current = prev_;
}

TapRecorder* TapRecorder::current() {
  return g_current;
}

void TapRecorder::record(const std::string& name, const Tensor& t) {
  if (filter_ && !filter_(name)) return;
  taps_[name] = t;
}

const Tensor& TapRecorder::get(const std::string& name) const {
  auto it = taps_.find(name);
  if (it == taps_.end()) {
    std::string have;
    for (const auto& [k, v] : taps_) have += (have.empty() ? "" : ", ") + k;
    throw ConfigError(
        str_cat("[kd.taps] no tap \"", name, "\"; recorded: ", have.empty() ? "(none)" : have));
  }
  return it->second;
}

std::vector<std::string> TapRecorder::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : taps_) out.push_back(k);
  return out;
}

std::vector<std::pair<std::string, Tensor>> TapRecorder::with_prefix(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto it = taps_.lower_bound(prefix);
       it != taps_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.emplace_back(*it);
  return out;
}

void tap_backbone(const std::vector<Tensor>& c) {
  TapRecorder* r = TapRecorder::current();
  if (!r) return;
  for (size_t i = 0; i < c.size(); ++i) r->record(str_cat("backbone.c", i + 2), c[i]);
}

void tap_pyramid(const std::vector<std::pair<std::string, Tensor>>& levels, int64_t image_h) {
  TapRecorder* r = TapRecorder::current();
  if (!r || levels.empty()) return;
  // The first level from its stride; the pyramid's levels are consecutive (a stride from the
  // feature size would be wrong for the coarsest levels of small images, where sizes are ceiled).
  const int64_t k0 = static_cast<int64_t>(std::lround(
      std::log2(static_cast<double>(image_h) / static_cast<double>(levels[0].second.size(2)))));
  for (size_t i = 0; i < levels.size(); ++i)
    r->record(str_cat("fpn.p", k0 + static_cast<int64_t>(i)), levels[i].second);
}

void tap_boxes(const char* name, const std::vector<Tensor>& boxes) {
  TapRecorder* r = TapRecorder::current();
  if (!r || boxes.empty()) return;
  r->record(name, detection::boxes_to_rois(boxes));
}

}  // namespace detforge::kd
