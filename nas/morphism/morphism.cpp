#include "nas/morphism/morphism.h"

#include "nas/profiler/flops.h"
#include "nn/norm.h"
#include "nn/prune/block_surgery.h"
#include "nn/prune/layer_pruning.h"
#include "tensor/error.h"

namespace detforge::nas {

using nn::BlockSpec;
using nn::ResNetBlock;
using nn::Sequential;

namespace {
constexpr const char* kWho = "morphism";

// Rebuilds `src` with `spec`, inheriting every tensor whose name and shape match; the downsample
// branch comes from `ds_donor` when given (and shapes match).
std::shared_ptr<ResNetBlock> rebuild(const ResNetBlock& src, const BlockSpec& spec,
                                     const ResNetBlock* ds_donor, nlohmann::json& inherited) {
  auto b = std::make_shared<ResNetBlock>(nn::prune::block_config(src), spec);
  const auto params = src.named_parameters();
  if (!params.empty()) b->to(params.front().second.device());
  auto names = nn::prune::inherit_matching(src, *b);
  if (ds_donor && ds_donor->named_children().back().first == "downsample" &&
      b->named_children().back().first == "downsample") {
    auto ds_names =
        nn::prune::inherit_matching(ds_donor->child("downsample"), b->child("downsample"));
    for (auto& n : ds_names) names.push_back("downsample." + n);
  }
  b->train(src.is_training());
  inherited = names;
  return b;
}

Sequential& stage_of(std::vector<Sequential*>& stages, int stage, const std::string& what) {
  DF_CHECK(stage >= 1 && stage <= static_cast<int>(stages.size()), ConfigError, "[", kWho, "] ",
           what, ": stage ", stage, " does not exist (the model has layer1..layer", stages.size(),
           ")");
  return *stages[static_cast<size_t>(stage - 1)];
}

void add_layer(nn::Module& m, const MorphAction& a, nlohmann::json& rec) {
  auto stages = nn::prune::resnet_stages(m, kWho);
  Sequential& layer = stage_of(stages, a.stage, "add_layer");
  const auto n = static_cast<int64_t>(layer.size());
  const int64_t pos = a.position < 0 ? n : a.position;
  DF_CHECK(a.position >= -1 && pos <= n, ConfigError, "[", kWho, "] add_layer: position ",
           a.position, " out of range for layer", a.stage, " with ", n, " blocks (0..", n,
           " or -1)");
  const auto& nb =
      dynamic_cast<const ResNetBlock&>(layer[static_cast<size_t>(pos > 0 ? pos - 1 : 0)]);
  const BlockSpec ns = nb.spec();
  BlockSpec s = ns;  // the neighbour's mid width and groups
  s.in_channels = s.out_channels = pos > 0 ? ns.out_channels : ns.in_channels;
  s.stride = 1;
  nlohmann::json inherited;
  auto b = rebuild(nb, s, nullptr, inherited);
  nn::Module& last = b->child(ns.bottleneck ? "bn3" : "bn2");
  DF_CHECK(last.has_param("weight") && last.has_param("bias"), ConfigError, "[", kWho,
           "] add_layer: the last norm layer of the new block has no affine parameters, so it "
           "cannot be zeroed to keep the network function");
  last.set_parameter("weight", last.param("weight").detach().clone().fill_(0.0));
  last.set_parameter("bias", last.param("bias").detach().clone().fill_(0.0));
  layer.insert(static_cast<size_t>(pos), b);
  rec["new_block"] = "layer" + std::to_string(a.stage) + "." + std::to_string(pos);
  rec["inherited_from"] =
      "layer" + std::to_string(a.stage) + "." + std::to_string(pos > 0 ? pos - 1 : 0);
  rec["inherited"] = inherited;
}

void rearrange(nn::Module& m, const MorphAction& a, nlohmann::json& rec) {
  auto stages = nn::prune::resnet_stages(m, kWho);
  const int src_stage = a.stage, dst_stage = a.to_next ? a.stage + 1 : a.stage - 1;
  Sequential& src = stage_of(stages, src_stage, "rearrange source");
  Sequential& dst = stage_of(stages, dst_stage,
                             a.to_next ? "rearrange to_next target" : "rearrange to_prev target");
  DF_CHECK(src.size() >= 2, ConfigError, "[", kWho, "] rearrange: layer", src_stage,
           " has only one block; moving it would leave the stage empty");
  const std::string src_name = "layer" + std::to_string(src_stage);
  const std::string dst_name = "layer" + std::to_string(dst_stage);
  nlohmann::json inh_moved, inh_displaced;
  if (a.to_next) {
    // The last block M of src (an identity block) becomes the first block of dst and takes over
    // the first position's spec (input channels, output channels, stride of the old first block F,
    // and F's downsample branch); F becomes an identity block at F's output channels.
    const size_t mi = src.size() - 1;
    auto& M = dynamic_cast<const ResNetBlock&>(src[mi]);
    auto& F = dynamic_cast<const ResNetBlock&>(dst[0]);
    const BlockSpec fs = F.spec(), ms = M.spec();
    DF_CHECK(!nn::prune::has_downsample(M), ConfigError, "[", kWho, "] rearrange: ", src_name, ".",
             mi,
             " has a downsample branch (stride or channel change); only an identity block can "
             "leave the end of a stage");
    BlockSpec m2 = ms;
    m2.in_channels = fs.in_channels;
    m2.out_channels = fs.out_channels;
    m2.stride = fs.stride;
    BlockSpec f2 = fs;
    f2.in_channels = fs.out_channels;
    f2.stride = 1;
    auto newM = rebuild(M, m2, &F, inh_moved);
    auto newF = rebuild(F, f2, nullptr, inh_displaced);
    src.erase(mi);
    dst.replace_module("0", newF);
    dst.insert(0, newM);
    rec["moved"] = {{"from", src_name + "." + std::to_string(mi)}, {"to", dst_name + ".0"}};
    rec["displaced"] = {{"from", dst_name + ".0"}, {"to", dst_name + ".1"}};
  } else {
    // The first block F of src becomes the last block of dst, an identity block at F's input
    // channels (= dst's output channels); the second block S of src becomes its first and takes
    // over F's input channels, stride (times its own, 1 in every nn family) and downsample branch.
    auto& F = dynamic_cast<const ResNetBlock&>(src[0]);
    auto& S = dynamic_cast<const ResNetBlock&>(src[1]);
    const BlockSpec fs = F.spec(), ss = S.spec();
    BlockSpec f2 = fs;
    f2.out_channels = fs.in_channels;
    f2.stride = 1;
    BlockSpec s2 = ss;
    s2.in_channels = fs.in_channels;
    s2.stride = fs.stride * ss.stride;
    auto newF = rebuild(F, f2, nullptr, inh_moved);
    auto newS = rebuild(S, s2, &F, inh_displaced);
    src.erase(0);
    src.replace_module("0", newS);
    dst.insert(dst.size(), newF);
    rec["moved"] = {{"from", src_name + ".0"},
                    {"to", dst_name + "." + std::to_string(dst.size() - 1)}};
    rec["displaced"] = {{"from", src_name + ".1"}, {"to", src_name + ".0"}};
  }
  rec["moved"]["inherited"] = inh_moved;
  rec["displaced"]["inherited"] = inh_displaced;
}

MorphActionType type_from(const std::string& s) {
  if (s == "add_layer") return MorphActionType::kAddLayer;
  if (s == "rearrange") return MorphActionType::kRearrange;
  if (s == "layer_prune") return MorphActionType::kLayerPrune;
  if (s == "channel_prune") return MorphActionType::kChannelPrune;
  throw ConfigError(str_cat("[", kWho, ".action] key 'type': unknown action \"", s,
                            "\" (add_layer, rearrange, layer_prune, channel_prune)"));
}

template <class T>
T get(const nlohmann::json& j, const char* key, const T& def) {
  if (!j.contains(key)) return def;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat("[", kWho, ".action] key '", key, "': ", e.what()));
  }
}
}  // namespace

const char* action_type_name(MorphActionType t) {
  switch (t) {
    case MorphActionType::kAddLayer:
      return "add_layer";
    case MorphActionType::kRearrange:
      return "rearrange";
    case MorphActionType::kLayerPrune:
      return "layer_prune";
    case MorphActionType::kChannelPrune:
      return "channel_prune";
  }
  return "?";
}

MorphAction MorphAction::add_layer(int stage, int64_t position) {
  MorphAction a;
  a.type = MorphActionType::kAddLayer;
  a.stage = stage;
  a.position = position;
  return a;
}
MorphAction MorphAction::rearrange(int stage, bool to_next) {
  MorphAction a;
  a.type = MorphActionType::kRearrange;
  a.stage = stage;
  a.to_next = to_next;
  return a;
}
MorphAction MorphAction::layer_prune(const std::string& block) {
  MorphAction a;
  a.type = MorphActionType::kLayerPrune;
  a.block = block;
  return a;
}
MorphAction MorphAction::channel_prune(double percent, bool per_layer) {
  MorphAction a;
  a.type = MorphActionType::kChannelPrune;
  a.channel.percent = percent;
  a.channel.per_layer = per_layer;
  return a;
}
MorphAction MorphAction::channel_prune_threshold(double threshold, bool per_layer) {
  MorphAction a = channel_prune(0.0, per_layer);
  a.channel.use_threshold = true;
  a.channel.threshold = threshold;
  return a;
}

nlohmann::json MorphAction::to_json() const {
  nlohmann::json j;
  j["type"] = action_type_name(type);
  switch (type) {
    case MorphActionType::kAddLayer:
      j["stage"] = stage;
      j["position"] = position;
      break;
    case MorphActionType::kRearrange:
      j["stage"] = stage;
      j["direction"] = to_next ? "to_next" : "to_prev";
      break;
    case MorphActionType::kLayerPrune:
      j["block"] = block;
      break;
    case MorphActionType::kChannelPrune:
      if (channel.use_threshold)
        j["threshold"] = channel.threshold;
      else
        j["percent"] = channel.percent;
      j["per_layer"] = channel.per_layer;
      j["min_units"] = channel.min_units;
      j["prune_residual"] = channel.prune_residual;
      break;
  }
  return j;
}

MorphAction MorphAction::from_json(const nlohmann::json& j) {
  DF_CHECK(j.is_object(), ConfigError, "[", kWho, ".action] expected a JSON object, got ",
           j.type_name());
  DF_CHECK(j.contains("type"), ConfigError, "[", kWho, ".action] key 'type' is missing");
  MorphAction a;
  a.type = type_from(get<std::string>(j, "type", ""));
  switch (a.type) {
    case MorphActionType::kAddLayer:
      DF_CHECK(j.contains("stage"), ConfigError, "[", kWho, ".action] key 'stage' is missing");
      a.stage = get<int>(j, "stage", 1);
      a.position = get<int64_t>(j, "position", -1);
      break;
    case MorphActionType::kRearrange: {
      DF_CHECK(j.contains("stage"), ConfigError, "[", kWho, ".action] key 'stage' is missing");
      a.stage = get<int>(j, "stage", 1);
      const auto d = get<std::string>(j, "direction", "to_next");
      DF_CHECK(d == "to_next" || d == "to_prev", ConfigError, "[", kWho,
               ".action] key 'direction': expected \"to_next\" or \"to_prev\", got \"", d, "\"");
      a.to_next = d == "to_next";
      break;
    }
    case MorphActionType::kLayerPrune:
      a.block = get<std::string>(j, "block", "");
      break;
    case MorphActionType::kChannelPrune:
      DF_CHECK(j.contains("percent") != j.contains("threshold"), ConfigError, "[", kWho,
               ".action] channel_prune needs exactly one of 'percent' and 'threshold'");
      a.channel.use_threshold = j.contains("threshold");
      a.channel.percent = get<double>(j, "percent", 0.0);
      a.channel.threshold = get<double>(j, "threshold", 0.0);
      a.channel.per_layer = get<bool>(j, "per_layer", false);
      a.channel.min_units = get<int64_t>(j, "min_units", 1);
      a.channel.prune_residual = get<bool>(j, "prune_residual", false);
      break;
  }
  return a;
}

std::shared_ptr<nn::Module> f_evolve(const nn::Module& model, const MorphAction& a,
                                     nlohmann::json* record) {
  std::shared_ptr<nn::Module> m = model.clone();
  nlohmann::json rec;
  rec["action"] = a.to_json();
  switch (a.type) {
    case MorphActionType::kAddLayer:
      add_layer(*m, a, rec);
      break;
    case MorphActionType::kRearrange:
      rearrange(*m, a, rec);
      break;
    case MorphActionType::kLayerPrune: {
      auto r = a.block.empty() ? nn::prune::prune_layer(*m) : nn::prune::prune_layer(*m, a.block);
      rec["layer_prune"] = r.to_json();
      break;
    }
    case MorphActionType::kChannelPrune:
      rec["channel_prune"] = nn::prune::prune_channels(*m, a.channel).to_json();
      break;
  }
  rec["params_before"] = count_parameters(model);
  rec["params_after"] = count_parameters(*m);
  rec["depths_after"] = nlohmann::json::array();
  for (auto* stage : nn::prune::resnet_stages(*m, kWho))
    rec["depths_after"].push_back(stage->size());
  if (record) *record = rec;
  return m;
}

}  // namespace detforge::nas
