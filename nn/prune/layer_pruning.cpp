#include "nn/prune/layer_pruning.h"

#include <cmath>

#include "nn/prune/block_surgery.h"
#include "tensor/error.h"

namespace detforge::nn::prune {

namespace {
constexpr const char* kWho = "prune.layer";

bool removable(const BlockRef& r) {
  return !has_downsample(*r.block) && r.layer->size() > 1;
}
}  // namespace

nlohmann::json LayerPruneResult::to_json() const {
  nlohmann::json j;
  j["removed"] = removed;
  j["score"] = score;
  j["candidates"] = nlohmann::json::array();
  for (auto& [p, s] : candidates) j["candidates"].push_back({{"block", p}, {"score", s}});
  return j;
}

double block_l1_score(const ResNetBlock& block) {
  double sum = 0.0;
  int64_t count = 0;
  for (int i = 1; i <= (block.bottleneck() ? 3 : 2); ++i) {
    const Tensor& w = block.child("conv" + std::to_string(i)).param("weight");
    for (double v : w.to_vector<double>()) sum += std::fabs(v);
    count += w.numel();
  }
  return count ? sum / static_cast<double>(count) : 0.0;
}

std::vector<std::string> removable_blocks(Module& model) {
  std::vector<std::string> out;
  for (const BlockRef& r : resnet_blocks(model, kWho))
    if (removable(r)) out.push_back(r.path);
  return out;
}

LayerPruneResult prune_layer(Module& model) {
  LayerPruneResult res;
  const BlockRef* best = nullptr;
  auto blocks = resnet_blocks(model, kWho);
  for (const BlockRef& r : blocks) {
    if (!removable(r)) continue;
    const double s = block_l1_score(*r.block);
    res.candidates.emplace_back(r.path, s);
    if (!best || s < res.score) {
      best = &r;
      res.score = s;
    }
  }
  DF_CHECK(best != nullptr, ConfigError, "[", kWho, "] no removable block in ", model.type_name(),
           ": every block has a downsample branch or is the only block of its stage");
  res.removed = best->path;
  best->layer->erase(best->index);
  return res;
}

LayerPruneResult prune_layer(Module& model, const std::string& path) {
  for (const BlockRef& r : resnet_blocks(model, kWho)) {
    if (r.path != path) continue;
    DF_CHECK(r.layer->size() > 1, ConfigError, "[", kWho, "] cannot remove ", path,
             ": it is the only block of layer", r.stage + 1);
    DF_CHECK(!has_downsample(*r.block), ConfigError, "[", kWho, "] cannot remove ", path,
             ": it has a downsample branch (stride or channel change)");
    LayerPruneResult res;
    res.removed = path;
    res.score = block_l1_score(*r.block);
    res.candidates.emplace_back(path, res.score);
    r.layer->erase(r.index);
    return res;
  }
  throw ConfigError(str_cat("[", kWho, "] no block \"", path, "\" in ", model.type_name()));
}

}  // namespace detforge::nn::prune
