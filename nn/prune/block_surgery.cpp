#include "nn/prune/block_surgery.h"

#include <map>

#include "nn/conv.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace detforge::nn::prune {

std::vector<Sequential*> resnet_stages(Module& model, const std::string& who) {
  std::map<int, Sequential*> found;
  for (auto& [name, child] : model.named_children()) {
    if (name.size() <= 5 || name.compare(0, 5, "layer") != 0) continue;
    const std::string digits = name.substr(5);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    auto* seq = dynamic_cast<Sequential*>(child.get());
    DF_CHECK(seq != nullptr, ConfigError, "[", who, "] child \"", name, "\" is a ",
             child->type_name(), ", expected a Sequential of ResNetBlock");
    for (size_t i = 0; i < seq->size(); ++i)
      DF_CHECK(dynamic_cast<ResNetBlock*>(&(*seq)[i]) != nullptr, ConfigError, "[", who, "] ", name,
               ".", i, " is a ", (*seq)[i].type_name(), ", expected a ResNetBlock");
    found[std::stoi(digits)] = seq;
  }
  DF_CHECK(!found.empty(), ConfigError, "[", who, "] model ", model.type_name(),
           " has no stages \"layer1\"..\"layerN\" of ResNetBlock");
  std::vector<Sequential*> out;
  for (auto& [idx, seq] : found) {
    DF_CHECK(idx == static_cast<int>(out.size()) + 1, ConfigError, "[", who,
             "] stages must be layer1..layerN without gaps; found layer", idx, " after layer",
             out.size());
    out.push_back(seq);
  }
  return out;
}

std::vector<BlockRef> resnet_blocks(Module& model, const std::string& who) {
  std::vector<BlockRef> out;
  auto stages = resnet_stages(model, who);
  for (size_t s = 0; s < stages.size(); ++s)
    for (size_t i = 0; i < stages[s]->size(); ++i) {
      BlockRef r;
      r.path = "layer" + std::to_string(s + 1) + "." + std::to_string(i);
      r.stage = static_cast<int>(s);
      r.index = i;
      r.layer = stages[s];
      r.block = dynamic_cast<ResNetBlock*>(&(*stages[s])[i]);
      out.push_back(r);
    }
  return out;
}

bool has_downsample(const ResNetBlock& block) {
  return !block.named_children().empty() && block.named_children().back().first == "downsample";
}

Tensor index_channels(const Tensor& t, int64_t dim, const std::vector<int64_t>& keep) {
  dim = t.wrap_dim(dim);
  const int64_t n = t.size(dim);
  for (int64_t k : keep)
    DF_CHECK(k >= 0 && k < n, ShapeError, "[prune.index_channels] index ", k,
             " out of range for size ", n, " of dim ", dim);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= t.size(d);
  for (int64_t d = dim + 1; d < t.dim(); ++d) inner *= t.size(d);
  std::vector<double> src = t.to_vector<double>();  // row-major whatever the layout
  std::vector<double> dst;
  dst.reserve(static_cast<size_t>(outer * static_cast<int64_t>(keep.size()) * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) {
      const double* p = src.data() + (o * n + k) * inner;
      dst.insert(dst.end(), p, p + inner);
    }
  Shape shape = t.shape();
  shape[static_cast<size_t>(dim)] = static_cast<int64_t>(keep.size());
  return Tensor::from_vector(dst, shape).to(t.device(), t.dtype());
}

ResNetConfig block_config(const ResNetBlock& block) {
  ResNetConfig cfg;
  cfg.bottleneck = block.bottleneck();
  cfg.weight_standardization = dynamic_cast<const WSConv2d*>(&block.child("conv1")) != nullptr;
  const Module& norm = block.child("bn1");
  if (auto* bn = dynamic_cast<const BatchNorm2d*>(&norm)) {
    double eps = bn->eps();
    std::optional<double> momentum = bn->momentum();
    bool affine = bn->affine(), track = bn->track_running_stats();
    cfg.norm_layer = [=](int64_t c) -> std::shared_ptr<Module> {
      return std::make_shared<BatchNorm2d>(c, eps, momentum, affine, track);
    };
  } else if (auto* gn = dynamic_cast<const GroupNorm*>(&norm)) {
    int64_t groups = gn->num_groups();
    double eps = gn->eps();
    bool affine = gn->affine();
    cfg.norm_layer = [=](int64_t c) -> std::shared_ptr<Module> {
      return std::make_shared<GroupNorm>(groups, c, eps, affine);
    };
  } else {
    throw ConfigError(str_cat("[prune.block_config] unsupported norm layer ", norm.type_name(),
                              " in a ", block.type_name()));
  }
  return cfg;
}

std::vector<std::string> inherit_matching(const Module& src, Module& dst) {
  std::map<std::string, Tensor> from;
  for (auto& [k, v] : src.named_parameters()) from[k] = v;
  for (auto& [k, v] : src.named_buffers()) from[k] = v;
  std::vector<std::string> copied;
  for (auto& [path, m] : dst.named_modules()) {
    const std::string prefix = path.empty() ? "" : path + ".";
    for (auto& [name, t] : m->named_parameters(false)) {
      auto it = from.find(prefix + name);
      if (it == from.end() || it->second.shape() != t.shape()) continue;
      m->set_parameter(name, it->second.clone().detach().to(t.device(), t.dtype()),
                       t.requires_grad());
      copied.push_back(prefix + name);
    }
    for (auto& [name, t] : m->named_buffers(false)) {
      auto it = from.find(prefix + name);
      if (it == from.end() || it->second.shape() != t.shape()) continue;
      m->set_buffer(name, it->second.clone().detach().to(t.device(), t.dtype()));
      copied.push_back(prefix + name);
    }
  }
  return copied;
}

}  // namespace detforge::nn::prune
