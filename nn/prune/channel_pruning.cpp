#include "nn/prune/channel_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/prune/block_surgery.h"
#include "tensor/error.h"

namespace detforge::nn::prune {

namespace {

constexpr const char* kWho = "prune.channels";

enum class SetKind { kBn1, kBn2, kGrouped, kResidual };

struct Unit {
  int set = 0;
  // bn1 channels (kBn1, kGrouped: also bn2), bn2 channels (kBn2), block outputs (kResidual)
  std::vector<int64_t> channels;
  double score = 0.0;
  bool pruned = false;
};

struct PruneSet {
  BlockRef ref;
  size_t first = 0, last = 0;  // block index; kResidual: first..last member
  SetKind kind = SetKind::kBn1;
  std::string name;
  std::vector<int> units;
  int64_t channels = 0;
  int64_t alive = 0;  // units not pruned
};

std::vector<double> abs_gamma(const Module& bn, const std::string& path) {
  DF_CHECK(bn.has_param("weight"), ConfigError, "[", kWho, "] ", path,
           " has no affine weight (gamma); channel pruning needs affine BatchNorm2d");
  std::vector<double> g = bn.param("weight").to_vector<double>();
  for (double& v : g) v = std::fabs(v);
  return g;
}

void check_supported(const BlockRef& r) {
  const ResNetBlock& b = *r.block;
  const int n = b.bottleneck() ? 3 : 2;
  for (int i = 1; i <= n; ++i) {
    const Module& c = b.child("conv" + std::to_string(i));
    const Module& bn = b.child("bn" + std::to_string(i));
    DF_CHECK(c.type_name() == "Conv2d", ConfigError, "[", kWho, "] ", r.path, ".conv", i, " is a ",
             c.type_name(),
             "; channel pruning supports plain Conv2d only (WSConv2d standardizes "
             "over the input channels, so removing them changes the outputs)");
    DF_CHECK(bn.type_name() == "BatchNorm2d", ConfigError, "[", kWho, "] ", r.path, ".bn", i,
             " is a ", bn.type_name(), "; channel pruning needs BatchNorm2d (gamma per channel)");
  }
  if (b.named_children().back().first == "downsample") {
    const Module& ds = b.child("downsample");
    DF_CHECK(ds.child("0").type_name() == "Conv2d" && ds.child("1").type_name() == "BatchNorm2d",
             ConfigError, "[", kWho, "] ", r.path, ".downsample must be Conv2d + BatchNorm2d, got ",
             ds.child("0").type_name(), " + ", ds.child("1").type_name());
  }
}

std::shared_ptr<Conv2d> sliced_conv(const Conv2d& old, const std::vector<int64_t>* keep_out,
                                    const std::vector<int64_t>* keep_in, int64_t groups) {
  Tensor w = old.param("weight");
  const bool grad = w.requires_grad();
  if (keep_out) w = index_channels(w, 0, *keep_out);
  if (keep_in) w = index_channels(w, 1, *keep_in);
  Conv2dOptions o = old.options();
  o.out_channels = w.size(0);
  o.in_channels = w.size(1) * groups;
  o.groups = groups;
  o.bias = old.has_param("bias");
  auto c = std::make_shared<Conv2d>(o);
  c->set_parameter("weight", w, grad);
  if (o.bias) {
    Tensor b = old.param("bias");
    c->set_parameter("bias", keep_out ? index_channels(b, 0, *keep_out) : b.clone().detach(),
                     b.requires_grad());
  }
  c->train(old.is_training());
  return c;
}

std::shared_ptr<BatchNorm2d> sliced_bn(const BatchNorm2d& old, const std::vector<int64_t>& keep) {
  auto bn = std::make_shared<BatchNorm2d>(static_cast<int64_t>(keep.size()), old.eps(),
                                          old.momentum(), old.affine(), old.track_running_stats());
  const int64_t n = old.num_features();
  for (auto& [name, t] : old.named_parameters(false))
    bn->set_parameter(
        name, t.dim() == 1 && t.size(0) == n ? index_channels(t, 0, keep) : t.clone().detach(),
        t.requires_grad());
  for (auto& [name, t] : old.named_buffers(false))
    bn->set_buffer(
        name, t.dim() == 1 && t.size(0) == n ? index_channels(t, 0, keep) : t.clone().detach());
  bn->train(old.is_training());
  return bn;
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> k(static_cast<size_t>(n));
  std::iota(k.begin(), k.end(), 0);
  return k;
}

// The channels a block keeps: its input, bn1, bn2 (bottleneck) and output channels.
struct BlockKeep {
  std::vector<int64_t> in, k1, k2, out;
  bool changed = false;
};

// Rebuilds one block with the kept channels (grouped conv2: k1 == k2 are whole groups).
void rebuild(ResNetBlock& b, const BlockKeep& k) {
  const BlockSpec s = b.spec();
  const auto& c2 = b.child<Conv2d>("conv2");
  auto new_c1 = sliced_conv(b.child<Conv2d>("conv1"), &k.k1, &k.in, 1);
  auto new_bn1 = sliced_bn(b.child<BatchNorm2d>("bn1"), k.k1);
  std::shared_ptr<Conv2d> new_c2, new_c3;
  std::shared_ptr<BatchNorm2d> new_bn2, new_bn3;
  if (!s.bottleneck) {
    new_c2 = sliced_conv(c2, &k.out, &k.k1, 1);
    new_bn2 = sliced_bn(b.child<BatchNorm2d>("bn2"), k.out);
  } else {
    if (s.groups > 1) {
      const int64_t per = s.mid_channels / s.groups;
      new_c2 = sliced_conv(c2, &k.k1, nullptr, static_cast<int64_t>(k.k1.size()) / per);
    } else {
      new_c2 = sliced_conv(c2, &k.k2, &k.k1, 1);
    }
    new_bn2 = sliced_bn(b.child<BatchNorm2d>("bn2"), k.k2);
    new_c3 = sliced_conv(b.child<Conv2d>("conv3"), &k.out, &k.k2, 1);
    new_bn3 = sliced_bn(b.child<BatchNorm2d>("bn3"), k.out);
  }
  if (b.named_children().back().first == "downsample") {
    Module& ds = b.child("downsample");
    auto new_dc = sliced_conv(ds.child<Conv2d>("0"), &k.out, &k.in, 1);
    auto new_dbn = sliced_bn(ds.child<BatchNorm2d>("1"), k.out);
    ds.replace_module("0", new_dc);
    ds.replace_module("1", new_dbn);
  }
  b.replace_module("conv1", new_c1);
  b.replace_module("bn1", new_bn1);
  b.replace_module("conv2", new_c2);
  b.replace_module("bn2", new_bn2);
  if (s.bottleneck) {
    b.replace_module("conv3", new_c3);
    b.replace_module("bn3", new_bn3);
  }
}

// Prunes the units of one ranking (ascending score) while `want(unit)` and the set keeps more than
// min_units; stops when `done()` says so.
template <class Want, class Done>
void select(std::vector<Unit>& units, std::vector<PruneSet>& sets, std::vector<int> order,
            int64_t min_units, Want want, Done done) {
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return units[a].score < units[b].score; });
  for (int u : order) {
    if (done()) break;
    Unit& unit = units[u];
    PruneSet& set = sets[unit.set];
    if (set.alive <= min_units || !want(unit)) continue;
    unit.pruned = true;
    --set.alive;
  }
}

}  // namespace

nlohmann::json ChannelPruneReport::to_json() const {
  nlohmann::json j;
  j["channels_before"] = channels_before;
  j["channels_after"] = channels_after;
  j["sets"] = nlohmann::json::array();
  for (const auto& s : sets)
    j["sets"].push_back({{"name", s.name}, {"before", s.before}, {"after", s.after}});
  return j;
}

ChannelPruneReport prune_channels(Module& model, const ChannelPruneOptions& opt) {
  if (opt.use_threshold)
    DF_CHECK(opt.threshold >= 0.0 && std::isfinite(opt.threshold), ConfigError, "[", kWho,
             "] threshold must be finite and >= 0, got ", opt.threshold);
  else
    DF_CHECK(opt.percent >= 0.0 && opt.percent < 1.0, ConfigError, "[", kWho,
             "] percent must be in [0, 1), got ", opt.percent);
  DF_CHECK(opt.min_units >= 1, ConfigError, "[", kWho, "] min_units must be >= 1, got ",
           opt.min_units);

  std::vector<BlockRef> blocks = resnet_blocks(model, kWho);
  std::vector<PruneSet> sets;
  std::vector<Unit> units;
  auto add_set = [&](size_t bi, SetKind kind, const std::string& name) {
    const BlockRef& r = blocks[bi];
    PruneSet s;
    s.ref = r;
    s.first = s.last = bi;
    s.kind = kind;
    s.name = r.path + "." + name;
    sets.push_back(s);
    return static_cast<int>(sets.size()) - 1;
  };
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const BlockRef& r = blocks[bi];
    check_supported(r);
    const BlockSpec spec = r.block->spec();
    const auto g1 = abs_gamma(r.block->child("bn1"), r.path + ".bn1");
    if (spec.bottleneck && spec.groups > 1) {
      const auto g2 = abs_gamma(r.block->child("bn2"), r.path + ".bn2");
      const int si = add_set(bi, SetKind::kGrouped, "bn1+bn2");
      const int64_t per = spec.mid_channels / spec.groups;
      for (int64_t k = 0; k < spec.groups; ++k) {
        Unit u;
        u.set = si;
        for (int64_t c = k * per; c < (k + 1) * per; ++c) {
          u.channels.push_back(c);
          u.score = std::max({u.score, g1[c], g2[c]});
        }
        units.push_back(u);
        sets[si].units.push_back(static_cast<int>(units.size()) - 1);
      }
      sets[si].channels = spec.mid_channels;
      continue;
    }
    const int n_sets = spec.bottleneck ? 2 : 1;
    for (int k = 0; k < n_sets; ++k) {
      const std::string bn = k == 0 ? "bn1" : "bn2";
      const auto g = k == 0 ? g1 : abs_gamma(r.block->child(bn), r.path + "." + bn);
      const int si = add_set(bi, k == 0 ? SetKind::kBn1 : SetKind::kBn2, bn);
      for (size_t c = 0; c < g.size(); ++c) {
        Unit u;
        u.set = si;
        u.channels = {static_cast<int64_t>(c)};
        u.score = g[c];
        units.push_back(u);
        sets[si].units.push_back(static_cast<int>(units.size()) - 1);
      }
      sets[si].channels = static_cast<int64_t>(g.size());
    }
  }
  if (opt.prune_residual) {
    // Residual groups: a block with a downsample branch and the identity blocks after it.
    for (size_t i = 0; i < blocks.size();) {
      if (!has_downsample(*blocks[i].block)) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j + 1 < blocks.size() && !has_downsample(*blocks[j + 1].block)) ++j;
      auto score = abs_gamma(blocks[i].block->child("downsample").child("1"),
                             blocks[i].path + ".downsample.1");
      for (size_t m = i; m <= j; ++m) {
        const std::string bn = blocks[m].block->bottleneck() ? "bn3" : "bn2";
        const auto g = abs_gamma(blocks[m].block->child(bn), blocks[m].path + "." + bn);
        for (size_t c = 0; c < g.size(); ++c) score[c] = std::max(score[c], g[c]);
      }
      const int si = add_set(i, SetKind::kResidual, "");
      sets[si].name = blocks[i].path + "-" + blocks[j].path + ".out";
      sets[si].last = j;
      for (size_t c = 0; c < score.size(); ++c) {
        Unit u;
        u.set = si;
        u.channels = {static_cast<int64_t>(c)};
        u.score = score[c];
        units.push_back(u);
        sets[si].units.push_back(static_cast<int>(units.size()) - 1);
      }
      sets[si].channels = static_cast<int64_t>(score.size());
      i = j + 1;
    }
  }
  for (auto& s : sets) s.alive = static_cast<int64_t>(s.units.size());

  if (!opt.per_layer) {
    std::vector<int> everyone(units.size());
    std::iota(everyone.begin(), everyone.end(), 0);
    if (opt.use_threshold) {
      select(
          units, sets, everyone, opt.min_units,
          [&](const Unit& u) { return u.score <= opt.threshold; }, [] { return false; });
    } else {
      int64_t total = 0, removed = 0;
      for (auto& s : sets) total += s.channels;
      const auto target =
          static_cast<int64_t>(std::floor(opt.percent * static_cast<double>(total)));
      select(
          units, sets, everyone, opt.min_units,
          [&](const Unit& u) {
            removed += static_cast<int64_t>(u.channels.size());
            return true;
          },
          [&] { return removed >= target; });
    }
  } else {
    for (auto& s : sets) {
      if (opt.use_threshold) {
        double mx = 0.0;
        for (int u : s.units) mx = std::max(mx, units[u].score);
        const double t = opt.threshold * mx;
        select(
            units, sets, s.units, opt.min_units, [&](const Unit& u) { return u.score <= t; },
            [] { return false; });
      } else {
        int64_t removed = 0;
        const auto target =
            static_cast<int64_t>(std::floor(opt.percent * static_cast<double>(s.channels)));
        select(
            units, sets, s.units, opt.min_units,
            [&](const Unit& u) {
              removed += static_cast<int64_t>(u.channels.size());
              return true;
            },
            [&] { return removed >= target; });
      }
    }
  }

  // Kept channels per block, then rebuild the blocks that changed (and a ResNet's fc).
  std::vector<BlockKeep> keep(blocks.size());
  for (size_t b = 0; b < blocks.size(); ++b) {
    const BlockSpec spec = blocks[b].block->spec();
    keep[b].in = all(spec.in_channels);
    keep[b].k1 = keep[b].k2 = all(spec.mid_channels);
    keep[b].out = all(spec.out_channels);
  }
  std::vector<int64_t> fc_keep;
  ChannelPruneReport report;
  for (const PruneSet& s : sets) {
    std::vector<int64_t> kept_channels;
    for (int u : s.units)
      if (!units[u].pruned)
        kept_channels.insert(kept_channels.end(), units[u].channels.begin(),
                             units[u].channels.end());
    std::sort(kept_channels.begin(), kept_channels.end());
    const auto after = static_cast<int64_t>(kept_channels.size());
    report.sets.push_back({s.name, s.channels, after});
    report.channels_before += s.channels;
    report.channels_after += after;
    if (after == s.channels) continue;
    BlockKeep& k = keep[s.first];
    k.changed = true;
    switch (s.kind) {
      case SetKind::kBn1:
        k.k1 = kept_channels;
        break;
      case SetKind::kBn2:
        k.k2 = kept_channels;
        break;
      case SetKind::kGrouped:
        k.k1 = k.k2 = kept_channels;
        break;
      case SetKind::kResidual:
        for (size_t m = s.first; m <= s.last; ++m) {
          keep[m].changed = true;
          keep[m].out = kept_channels;
          if (m > s.first) keep[m].in = kept_channels;
        }
        if (s.last + 1 < blocks.size()) {
          keep[s.last + 1].changed = true;
          keep[s.last + 1].in = kept_channels;
        } else {
          fc_keep = kept_channels;
        }
        break;
    }
  }
  for (size_t b = 0; b < blocks.size(); ++b)
    if (keep[b].changed) rebuild(*blocks[b].block, keep[b]);
  if (!fc_keep.empty()) {
    for (auto& [name, child] : model.named_children()) {
      auto* fc = dynamic_cast<Linear*>(child.get());
      if (name != "fc" || !fc) continue;
      const Tensor& w = fc->param("weight");
      auto nfc = std::make_shared<Linear>(static_cast<int64_t>(fc_keep.size()), w.size(0),
                                          fc->has_param("bias"));
      nfc->set_parameter("weight", index_channels(w, 1, fc_keep), w.requires_grad());
      if (fc->has_param("bias"))
        nfc->set_parameter("bias", fc->param("bias").clone().detach(),
                           fc->param("bias").requires_grad());
      nfc->train(fc->is_training());
      model.replace_module("fc", nfc);
      break;
    }
  }
  return report;
}

}  // namespace detforge::nn::prune
