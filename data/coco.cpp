#include "data/coco.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "tensor/error.h"

namespace detforge::data {

CocoCategoryMap::CocoCategoryMap(const std::vector<CocoCategory>& categories) {
  std::vector<const CocoCategory*> sorted;
  for (const auto& c : categories) sorted.push_back(&c);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const CocoCategory* a, const CocoCategory* b) { return a->id < b->id; });
  for (const CocoCategory* c : sorted) {
    DF_CHECK(label_of_.emplace(c->id, static_cast<int64_t>(ids_.size()) + 1).second, ConfigError,
             "[coco] duplicate category id ", c->id);
    ids_.push_back(c->id);
    names_.push_back(c->name);
  }
}

int64_t CocoCategoryMap::label(int64_t category_id) const {
  auto it = label_of_.find(category_id);
  DF_CHECK(it != label_of_.end(), ConfigError, "[coco] unknown category id ", category_id, " (",
           ids_.size(), " categories)");
  return it->second;
}

int64_t CocoCategoryMap::category_id(int64_t label) const {
  DF_CHECK(label >= 1 && label <= num_classes(), ConfigError, "[coco] label ", label,
           " outside 1..", num_classes(), " (0 is the background)");
  return ids_[label - 1];
}

const std::string& CocoCategoryMap::name(int64_t label) const {
  static const std::string background = "background";
  if (label == 0) return background;
  DF_CHECK(label >= 1 && label <= num_classes(), ConfigError, "[coco] label ", label,
           " outside 0..", num_classes());
  return names_[label - 1];
}

std::string TrainingFilterReport::str() const {
  return str_cat("kept ", kept, "/", total, " (dropped: crowd ", crowd, ", degenerate ", degenerate,
                 ", outside ", outside, ", too small ", too_small, "; clipped ", clipped, ")");
}

namespace {

std::unordered_map<int64_t, size_t> image_index(const std::vector<CocoImage>& images) {
  std::unordered_map<int64_t, size_t> idx;
  idx.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) idx.emplace(images[i].id, i);
  return idx;
}

}  // namespace

std::vector<CocoAnnotation> training_annotations(const CocoDataset& ds,
                                                 TrainingFilterReport* report_out,
                                                 const TrainingFilterOptions& options) {
  const auto img_of = image_index(ds.images);
  TrainingFilterReport r;
  std::vector<CocoAnnotation> kept;
  kept.reserve(ds.annotations.size());
  for (size_t i = 0; i < ds.annotations.size(); ++i) {
    const CocoAnnotation& a = ds.annotations[i];
    ++r.total;
    auto it = img_of.find(a.image_id);
    DF_CHECK(it != img_of.end(), ConfigError, "[coco] annotations[", i,
             "].image_id: unknown image id ", a.image_id);
    const CocoImage& img = ds.images[it->second];
    auto skip = [&](int64_t& counter, const char* reason) {
      ++counter;
      spdlog::debug("[coco] training: skipped annotation {} (image {}): {}, bbox [{}, {}, {}, {}]",
                    a.id, a.image_id, reason, a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]);
    };
    if (a.iscrowd) {
      skip(r.crowd, "crowd");
      continue;
    }
    const double x = a.bbox[0], y = a.bbox[1], w = a.bbox[2], h = a.bbox[3];
    if (!(w > 0) || !(h > 0)) {
      skip(r.degenerate, "zero or negative size");
      continue;
    }
    const double x0 = std::max(x, 0.0), y0 = std::max(y, 0.0);
    const double x1 = std::min(x + w, static_cast<double>(img.width));
    const double y1 = std::min(y + h, static_cast<double>(img.height));
    if (!(x1 > x0) || !(y1 > y0)) {
      skip(r.outside, "entirely outside the image");
      continue;
    }
    if (x1 - x0 < options.min_size || y1 - y0 < options.min_size) {
      skip(r.too_small, "smaller than min_size after clipping");
      continue;
    }
    CocoAnnotation k = a;
    if (x0 != x || y0 != y || x1 != x + w || y1 != y + h) {
      ++r.clipped;
      k.bbox = {x0, y0, x1 - x0, y1 - y0};
      k.area = (x1 - x0) * (y1 - y0);
      spdlog::debug("[coco] training: clipped annotation {} (image {}) to the {}x{} image", a.id,
                    a.image_id, img.width, img.height);
    }
    kept.push_back(k);
  }
  r.kept = static_cast<int64_t>(kept.size());
  if (r.kept != r.total || r.clipped) spdlog::info("[coco] training annotations: {}", r.str());
  if (report_out) *report_out = r;
  return kept;
}

std::vector<std::vector<size_t>> annotations_by_image(
    const std::vector<CocoImage>& images, const std::vector<CocoAnnotation>& annotations) {
  const auto img_of = image_index(images);
  std::vector<std::vector<size_t>> out(images.size());
  for (size_t i = 0; i < annotations.size(); ++i) {
    auto it = img_of.find(annotations[i].image_id);
    DF_CHECK(it != img_of.end(), ConfigError, "[coco] annotations[", i,
             "].image_id: unknown image id ", annotations[i].image_id);
    out[it->second].push_back(i);
  }
  return out;
}

}  // namespace detforge::data
