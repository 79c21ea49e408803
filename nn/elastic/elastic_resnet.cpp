#include "nn/elastic/elastic_resnet.h"

#include <algorithm>
#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/norm_pool.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/init.h"
#include "nn/sequential.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

int64_t make_divisible(double v, int64_t divisor) {
  const double d = static_cast<double>(divisor);
  int64_t nv =
      std::max<int64_t>(divisor, static_cast<int64_t>(std::floor((v + d / 2) / d)) * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

namespace {
std::shared_ptr<ElasticConv2d> econv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  ElasticConv2dOptions o;
  o.max_in_channels = in;
  o.max_out_channels = out;
  o.kernel_sizes = {k};
  o.stride = stride;
  return std::make_shared<ElasticConv2d>(o);
}
template <class T>
T max_of(const std::vector<T>& v, T dflt) {
  return v.empty() ? dflt : *std::max_element(v.begin(), v.end());
}
}  // namespace

// ---------------------------------------------------------------- ElasticResNetBlock
ElasticResNetBlock::ElasticResNetBlock(bool bottleneck, int64_t in, int64_t mid, int64_t out,
                                       int64_t stride, bool has_downsample)
    : bottleneck_(bottleneck), stride_(stride) {
  if (!bottleneck) {
    register_module("conv1", econv(in, mid, 3, stride));
    register_module("bn1", std::make_shared<ElasticBatchNorm2d>(mid));
    register_module("conv2", econv(mid, out, 3, 1));
    register_module("bn2", std::make_shared<ElasticBatchNorm2d>(out));
  } else {
    register_module("conv1", econv(in, mid, 1, 1));
    register_module("bn1", std::make_shared<ElasticBatchNorm2d>(mid));
    register_module("conv2", econv(mid, mid, 3, stride));
    register_module("bn2", std::make_shared<ElasticBatchNorm2d>(mid));
    register_module("conv3", econv(mid, out, 1, 1));
    register_module("bn3", std::make_shared<ElasticBatchNorm2d>(out));
  }
  if (has_downsample) {
    auto ds = std::make_shared<Sequential>();
    ds->push_back(econv(in, out, 1, stride));
    ds->push_back(std::make_shared<ElasticBatchNorm2d>(out));
    register_module("downsample", ds);
  }
}

void ElasticResNetBlock::set_active(int64_t mid, int64_t out) {
  if (!bottleneck_) {
    child<ElasticConv2d>("conv1").set_active(mid, 3);
    child<ElasticConv2d>("conv2").set_active(out, 3);
  } else {
    child<ElasticConv2d>("conv1").set_active(mid, 1);
    child<ElasticConv2d>("conv2").set_active(mid, 3);
    child<ElasticConv2d>("conv3").set_active(out, 1);
  }
  if (named_children().back().first == "downsample")
    dynamic_cast<ElasticConv2d&>(child<Sequential>("downsample")[0]).set_active(out, 1);
}

Tensor ElasticResNetBlock::forward(const Tensor& x) {
  Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
  y = child("bn2").forward(child("conv2").forward(y));
  if (bottleneck_) y = child("bn3").forward(child("conv3").forward(relu(y)));
  const bool project = stride_ != 1 || x.size(1) != y.size(1);
  if (!project) return relu(add(y, x));
  DF_CHECK(named_children().back().first == "downsample", ShapeError,
           "[nn.ElasticResNetBlock] input has ", x.size(1), " channels, output ", y.size(1),
           ", and the block has no downsample");
  return relu(add(y, child("downsample").forward(x)));
}

// ---------------------------------------------------------------- rules
namespace {
int64_t expansion_of(const ElasticResNetOptions& o) {
  return o.bottleneck ? 4 : 1;
}
void validate(const ElasticResNetOptions& o) {
  const char* who = "[nn.ElasticResNet]";
  DF_CHECK(!o.stages.empty() && o.planes.size() == o.stages.size(), ConfigError, who,
           " needs one planes entry per stage, got ", o.planes.size(), " planes for ",
           o.stages.size(), " stages");
  DF_CHECK(o.stem == "torchvision" || o.stem == "ofa" || o.stem == "small", ConfigError, who,
           " stem must be torchvision, ofa or small, got ", o.stem);
  DF_CHECK(o.stem_channels > 0 && o.in_channels > 0 && o.num_classes >= 0, ConfigError, who,
           " stem_channels and in_channels must be positive, num_classes >= 0");
  for (size_t s = 0; s < o.stages.size(); ++s) {
    const StageChoices& sc = o.stages[s];
    DF_CHECK(o.planes[s] > 0, ConfigError, who, " planes[", s, "] must be positive");
    DF_CHECK(sc.kernel_sizes.empty(), ConfigError, who, " stages[", s,
             "]: kernel sizes are not searchable in a ResNet");
    DF_CHECK(o.bottleneck || sc.expand_ratios.empty(), ConfigError, who, " stages[", s,
             "]: expand ratios need bottleneck blocks");
    for (int64_t d : sc.depths)
      DF_CHECK(d >= 1, ConfigError, who, " stages[", s, "]: depth choices must be >= 1, got ", d);
    for (double w : sc.width_mults)
      DF_CHECK(w > 0, ConfigError, who, " stages[", s, "]: width_mult must be > 0, got ", w);
    for (double e : sc.expand_ratios)
      DF_CHECK(e > 0, ConfigError, who, " stages[", s, "]: expand ratio must be > 0, got ", e);
  }
}
}  // namespace

SearchSpace elastic_resnet_space(const ElasticResNetOptions& o) {
  validate(o);
  SearchSpace sp;
  sp.block_type = o.bottleneck ? "bottleneck" : "basic";
  sp.input_resolution = o.input_resolution;
  sp.stages = o.stages;
  return sp;
}

ResNetStemSpec elastic_resnet_stem(const ElasticResNetOptions& o) {
  ResNetStemSpec st;
  st.kind = o.stem;
  st.in_channels = o.in_channels;
  st.channels = o.stem_channels;
  // OFA: mid = make_divisible(stem // 2, 8).
  st.mid_channels =
      o.stem == "ofa" ? make_divisible(static_cast<double>(o.stem_channels / 2), 8) : 32;
  return st;
}

int64_t elastic_resnet_stage_channels(const ElasticResNetOptions& o, size_t s, double w) {
  return make_divisible(static_cast<double>(o.planes.at(s) * expansion_of(o)) * w, 8);
}

int64_t elastic_resnet_mid_channels(int64_t out, double e) {
  // Python's round(): half to even (the default floating-point rounding mode).
  return make_divisible(std::nearbyint(static_cast<double>(out) * e), 8);
}

namespace {
std::vector<std::vector<BlockSpec>> specs_of(const ElasticResNetOptions& o, const SearchSpace& sp,
                                             const ArchConfig& cfg) {
  sp.check(cfg, "nn.ElasticResNet");
  std::vector<std::vector<BlockSpec>> out;
  int64_t in = o.stem_channels;
  for (size_t s = 0; s < cfg.stages.size(); ++s) {
    const StageConfig& st = cfg.stages[s];
    const int64_t c = elastic_resnet_stage_channels(o, s, st.width_mult);
    DF_CHECK(st.channels == 0 || st.channels == c, ConfigError, "[nn.ElasticResNet] stages[", s,
             "].channels: ", st.channels, " disagrees with width_mult ", st.width_mult, " (", c,
             " channels)");
    std::vector<BlockSpec> blocks;
    for (int64_t b = 0; b < st.depth; ++b) {
      BlockSpec bs;
      bs.bottleneck = o.bottleneck;
      bs.in_channels = in;
      bs.out_channels = c;
      bs.stride = (b == 0 && s > 0) ? 2 : 1;
      const double e = st.expand_ratios.empty() ? 1.0 / expansion_of(o) : st.expand_ratios[b];
      bs.mid_channels = o.bottleneck ? elastic_resnet_mid_channels(c, e) : c;
      blocks.push_back(bs);
      in = c;
    }
    out.push_back(std::move(blocks));
  }
  return out;
}
}  // namespace

std::vector<std::vector<BlockSpec>> elastic_resnet_block_specs(const ElasticResNetOptions& o,
                                                               const ArchConfig& cfg) {
  return specs_of(o, elastic_resnet_space(o), cfg);
}

// ---------------------------------------------------------------- ElasticResNet
ElasticResNet::ElasticResNet(const ElasticResNetOptions& o)
    : opt_(o), space_(elastic_resnet_space(o)) {
  const int64_t expansion = expansion_of(o);
  const ResNetStemSpec st = stem_spec();
  if (o.stem == "ofa") {
    register_module("conv1", econv(o.in_channels, st.mid_channels, 3, 2));
    register_module("bn1", std::make_shared<ElasticBatchNorm2d>(st.mid_channels));
    register_module("conv2", econv(st.mid_channels, st.mid_channels, 3, 1));
    register_module("bn2", std::make_shared<ElasticBatchNorm2d>(st.mid_channels));
    register_module("conv3", econv(st.mid_channels, st.channels, 3, 1));
    register_module("bn3", std::make_shared<ElasticBatchNorm2d>(st.channels));
  } else {
    const bool tv = o.stem == "torchvision";
    register_module("conv1", econv(o.in_channels, st.channels, tv ? 7 : 3, tv ? 2 : 1));
    register_module("bn1", std::make_shared<ElasticBatchNorm2d>(st.channels));
  }
  std::vector<int64_t> prev{st.channels};
  for (size_t s = 0; s < o.stages.size(); ++s) {
    const StageChoices& sc = o.stages[s];
    std::vector<int64_t> outs;
    for (double w : sc.width_mults.empty() ? std::vector<double>{1.0} : sc.width_mults)
      outs.push_back(stage_out_channels(s, w));
    const int64_t max_out = max_of<int64_t>(outs, 0);
    int64_t max_mid = max_out;
    if (o.bottleneck) {
      max_mid = 0;
      for (int64_t out : outs) {
        for (double e :
             sc.expand_ratios.empty() ? std::vector<double>{1.0 / expansion} : sc.expand_ratios)
          max_mid = std::max(max_mid, elastic_resnet_mid_channels(out, e));
      }
    }
    const int64_t n = max_of<int64_t>(sc.depths, 1);
    auto layer = std::make_shared<Sequential>();
    for (int64_t b = 0; b < n; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      // Block 0's in and out widths are chosen independently; later blocks' in == out.
      bool ds = stride != 1;
      if (b == 0)
        for (int64_t i : prev)
          for (int64_t out : outs) ds = ds || i != out;
      const int64_t max_in = b == 0 ? max_of<int64_t>(prev, 0) : max_out;
      layer->push_back(
          std::make_shared<ElasticResNetBlock>(o.bottleneck, max_in, max_mid, max_out, stride, ds));
    }
    register_module("layer" + std::to_string(s + 1), layer);
    prev = outs;
  }
  if (o.num_classes > 0)
    register_module("fc", std::make_shared<ElasticLinear>(max_of<int64_t>(prev, 0), o.num_classes));
  // torchvision's init: convs kaiming_normal(fan_out, relu); norms 1 / 0; fc default.
  apply([&](Module& m) {
    if (auto* c = dynamic_cast<ElasticConv2d*>(&m))
      init::kaiming_normal_(c->param("weight"), "fan_out");
  });
  active_depth_.assign(o.stages.size(), 1);
  set_active(space_.largest());
}

ResNetStemSpec ElasticResNet::stem_spec() const {
  return elastic_resnet_stem(opt_);
}

int64_t ElasticResNet::stage_out_channels(size_t s, double w) const {
  return elastic_resnet_stage_channels(opt_, s, w);
}

std::vector<std::vector<BlockSpec>> ElasticResNet::block_specs(const ArchConfig& cfg) const {
  return specs_of(opt_, space_, cfg);
}

void ElasticResNet::set_active(const ArchConfig& cfg) {
  const auto specs = block_specs(cfg);  // checks cfg
  for (size_t s = 0; s < specs.size(); ++s) {
    auto& layer = child<Sequential>("layer" + std::to_string(s + 1));
    for (size_t b = 0; b < specs[s].size(); ++b)
      dynamic_cast<ElasticResNetBlock&>(layer[b]).set_active(specs[s][b].mid_channels,
                                                             specs[s][b].out_channels);
    active_depth_[s] = static_cast<int64_t>(specs[s].size());
  }
  active_ = cfg;
}

void ElasticResNet::reorganize_channels() {
  for (size_t s = 0; s < opt_.stages.size(); ++s) {
    auto& layer = child<Sequential>("layer" + std::to_string(s + 1));
    for (size_t b = 0; b < layer.size(); ++b) {
      Module& blk = layer[b];
      auto conv = [&](const char* n) -> ElasticConv2d& { return blk.child<ElasticConv2d>(n); };
      auto bn = [&](const char* n) { return &blk.child<ElasticBatchNorm2d>(n); };
      if (opt_.bottleneck) sort_channels_by_importance(conv("conv2"), bn("bn2"), conv("conv3"));
      sort_channels_by_importance(conv("conv1"), bn("bn1"), conv("conv2"));
    }
  }
}

std::vector<Tensor> ElasticResNet::forward_features(const Tensor& x) {
  Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
  if (opt_.stem == "ofa") {
    y = add(y, relu(child("bn2").forward(child("conv2").forward(y))));
    y = relu(child("bn3").forward(child("conv3").forward(y)));
  }
  if (opt_.stem != "small") y = max_pool2d(y, {3}, {2}, {1});
  std::vector<Tensor> out;
  out.reserve(active_depth_.size());
  for (size_t s = 0; s < active_depth_.size(); ++s) {
    const auto& layer = child<Sequential>("layer" + std::to_string(s + 1));
    for (int64_t b = 0; b < active_depth_[s]; ++b) y = layer[static_cast<size_t>(b)].forward(y);
    out.push_back(y);
  }
  return out;
}

Tensor ElasticResNet::forward(const Tensor& x) {
  Tensor c5 = forward_features(x).back();
  if (opt_.num_classes == 0) return c5;
  return child("fc").forward(adaptive_avg_pool2d(c5, {1, 1}).flatten(1));
}

std::shared_ptr<StaticResNet> ElasticResNet::extract(const ArchConfig& cfg) const {
  auto net = std::make_shared<StaticResNet>(stem_spec(), block_specs(cfg), opt_.num_classes,
                                            /*init_weights=*/false);
  // Every slice is a prefix of the same-named max-size tensor (fixed kernels, no index lists).
  const StateDict src = state_dict();
  NoGradGuard ng;
  for (auto& [name, dst] : net->state_dict()) {
    auto it = src.find(name);
    DF_CHECK(it != src.end(), ConfigError, "[nn.ElasticResNet] extract: no supernet tensor ", name);
    Tensor v = it->second;
    DF_CHECK(v.dim() == dst.dim(), ShapeError, "[nn.ElasticResNet] extract: ", name, " is ",
             shape_str(v.shape()), " in the supernet, ", shape_str(dst.shape()), " in the subnet");
    for (int64_t d = 0; d < v.dim(); ++d) {
      DF_CHECK(v.size(d) >= dst.size(d), ShapeError, "[nn.ElasticResNet] extract: ", name, " is ",
               shape_str(v.shape()), " in the supernet, ", shape_str(dst.shape()),
               " in the subnet");
      v = v.narrow(d, 0, dst.size(d));
    }
    raw::copy(dst, v);
  }
  net->train(is_training());
  return net;
}

std::shared_ptr<Module> ElasticResNet::extract_subnet(const ArchConfig& cfg) const {
  return extract(cfg);
}

// ---------------------------------------------------------------- MACs
int64_t elastic_resnet_macs(const ElasticResNetOptions& o, const ArchConfig& cfg, int64_t h,
                            int64_t w) {
  const auto specs = elastic_resnet_block_specs(o, cfg);
  const ResNetStemSpec st = elastic_resnet_stem(o);
  auto out_size = [](int64_t x, int64_t k, int64_t s, int64_t p) {
    return (x + 2 * p - k) / s + 1;
  };
  int64_t macs = 0;
  // A conv of k x k from cin to cout with stride s and padding k / 2 on the current h x w.
  auto conv = [&](int64_t& ch, int64_t& cw, int64_t cin, int64_t cout, int64_t k, int64_t s) {
    ch = out_size(ch, k, s, k / 2);
    cw = out_size(cw, k, s, k / 2);
    macs += ch * cw * cout * cin * k * k;
  };
  if (st.kind == "torchvision") {
    conv(h, w, st.in_channels, st.channels, 7, 2);
  } else if (st.kind == "small") {
    conv(h, w, st.in_channels, st.channels, 3, 1);
  } else {
    conv(h, w, st.in_channels, st.mid_channels, 3, 2);
    conv(h, w, st.mid_channels, st.mid_channels, 3, 1);
    conv(h, w, st.mid_channels, st.channels, 3, 1);
  }
  if (st.kind != "small") {
    h = out_size(h, 3, 2, 1);
    w = out_size(w, 3, 2, 1);
  }
  int64_t c = st.channels;
  for (const auto& stage : specs)
    for (const BlockSpec& b : stage) {
      if (b.has_downsample()) {
        int64_t dh = h, dw = w;
        conv(dh, dw, b.in_channels, b.out_channels, 1, b.stride);
      }
      if (!b.bottleneck) {
        conv(h, w, b.in_channels, b.mid_channels, 3, b.stride);
        conv(h, w, b.mid_channels, b.out_channels, 3, 1);
      } else {
        conv(h, w, b.in_channels, b.mid_channels, 1, 1);
        conv(h, w, b.mid_channels, b.mid_channels, 3, b.stride);
        conv(h, w, b.mid_channels, b.out_channels, 1, 1);
      }
      c = b.out_channels;
    }
  if (o.num_classes > 0) macs += c * o.num_classes;
  return macs;
}

// ---------------------------------------------------------------- presets
ElasticResNetOptions joint_detnas_resnet_options(bool bottleneck, int64_t num_classes) {
  ElasticResNetOptions o;
  o.bottleneck = bottleneck;
  o.num_classes = num_classes;
  std::vector<int64_t> d3;
  for (int64_t d = 2; d <= 23; ++d) d3.push_back(d);
  const std::vector<std::vector<int64_t>> depths{{2, 3}, {2, 3, 4}, d3, {2, 3}};
  for (const auto& d : depths) o.stages.push_back(StageChoices{d, {1.0, 1.25, 1.5}, {}, {}});
  return o;
}

ElasticResNetOptions ofa_resnet50_options(int64_t num_classes) {
  ElasticResNetOptions o;
  o.bottleneck = true;
  o.num_classes = num_classes;
  o.stem = "ofa";
  o.stem_channels = 64;
  for (int64_t base : {2, 2, 4, 2})
    o.stages.push_back(
        StageChoices{{base, base + 1, base + 2}, {0.65, 0.8, 1.0}, {0.2, 0.25, 0.35}, {}});
  return o;
}

ElasticResNetOptions small_resnet_options(int64_t num_classes, int64_t in_channels) {
  ElasticResNetOptions o;
  o.stem = "small";
  o.stem_channels = 16;
  o.in_channels = in_channels;
  o.num_classes = num_classes;
  o.planes = {16, 32, 64};
  o.input_resolution = 28;
  for (int s = 0; s < 3; ++s) o.stages.push_back(StageChoices{{1, 2, 3}, {0.5, 0.75, 1.0}, {}, {}});
  return o;
}

std::shared_ptr<ElasticResNet> joint_detnas_resnet(bool bottleneck, int64_t num_classes) {
  return std::make_shared<ElasticResNet>(joint_detnas_resnet_options(bottleneck, num_classes));
}

std::shared_ptr<ElasticResNet> ofa_resnet50(int64_t num_classes) {
  return std::make_shared<ElasticResNet>(ofa_resnet50_options(num_classes));
}

}  // namespace detforge::nn
