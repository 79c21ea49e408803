#include "nn/elastic/elastic_layers.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/elastic.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/linalg.h"
#include "autograd/norm_pool.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

namespace {
bool has(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
// dst <- src without autograd (dst is a parameter or buffer).
void assign(const Tensor& dst, const Tensor& src) {
  NoGradGuard ng;
  raw::copy(dst, src);
}
}  // namespace

// ---------------------------------------------------------------- ElasticConv2d
ElasticConv2d::ElasticConv2d(const ElasticConv2dOptions& o) : opt_(o) {
  DF_CHECK(o.max_in_channels > 0 && o.max_out_channels > 0 && !o.kernel_sizes.empty(), ConfigError,
           "[nn.ElasticConv2d] channels must be positive and kernel_sizes non-empty");
  for (int64_t k : o.kernel_sizes)
    DF_CHECK(k >= 1 && k % 2 == 1, ConfigError, "[nn.ElasticConv2d] kernel sizes must be odd, got ",
             k);
  max_k_ = *std::max_element(o.kernel_sizes.begin(), o.kernel_sizes.end());
  int64_t in_pg;
  if (o.depthwise) {
    DF_CHECK(o.max_in_channels == o.max_out_channels, ConfigError,
             "[nn.ElasticConv2d] depthwise needs in == out channels, got ", o.max_in_channels,
             " and ", o.max_out_channels);
    in_pg = 1;
  } else {
    DF_CHECK(
        o.groups >= 1 && o.max_in_channels % o.groups == 0 && o.max_out_channels % o.groups == 0,
        ConfigError, "[nn.ElasticConv2d] channels must be divisible by groups ", o.groups);
    in_pg = o.max_in_channels / o.groups;
  }
  Tensor w = Tensor::empty({o.max_out_channels, in_pg, max_k_, max_k_});
  Tensor b = o.bias ? Tensor::empty({o.max_out_channels}) : Tensor();
  init::default_layer_init(w, b);
  register_parameter("weight", w);
  if (o.bias) register_parameter("bias", b);
  if (has(o.kernel_sizes, 7) && has(o.kernel_sizes, 5)) {
    Tensor m = Tensor::zeros({25, 25});
    for (int i = 0; i < 25; ++i) raw::fill(m.narrow(0, i, 1).narrow(1, i, 1), 1.0);
    register_parameter("kernel_transform_7to5", m);
  }
  if (has(o.kernel_sizes, 3) && max_k_ >= 5) {
    Tensor m = Tensor::zeros({9, 9});
    for (int i = 0; i < 9; ++i) raw::fill(m.narrow(0, i, 1).narrow(1, i, 1), 1.0);
    register_parameter("kernel_transform_5to3", m);
  }
  active_out_ = o.max_out_channels;
  active_k_ = max_k_;
}

void ElasticConv2d::set_active(int64_t out_channels, int64_t kernel_size,
                               std::vector<int64_t> out_index) {
  DF_CHECK(out_channels >= 1 && out_channels <= opt_.max_out_channels, ConfigError,
           "[nn.ElasticConv2d] active out channels ", out_channels, " not in [1, ",
           opt_.max_out_channels, "]");
  DF_CHECK(has(opt_.kernel_sizes, kernel_size), ConfigError, "[nn.ElasticConv2d] kernel size ",
           kernel_size, " not among the layer's kernel sizes");
  DF_CHECK(out_index.empty() || static_cast<int64_t>(out_index.size()) == out_channels, ConfigError,
           "[nn.ElasticConv2d] out_index has ", out_index.size(), " entries for ", out_channels,
           " channels");
  active_out_ = out_channels;
  active_k_ = kernel_size;
  out_index_ = std::move(out_index);
}

Tensor ElasticConv2d::transform(int64_t from) const {
  // Only the matrices the active kernel applies (7->5 when K == 7 and k <= 5; 5->3 when K >= 5
  // and k <= 3), so no unused transform that requires grad enters the graph: the autograd engine
  // runs AccumulateGrad with an undefined gradient for a leaf that receives only undefined ones
  // (elastic_weight returns none for an unapplied matrix) and Tensor::is_contiguous() throws.
  const char* name = from == 7 ? "kernel_transform_7to5" : "kernel_transform_5to3";
  const bool used = from == 7 ? (max_k_ == 7 && active_k_ <= 5) : (max_k_ >= 5 && active_k_ <= 3);
  return used && has_param(name) ? param(name) : Tensor();
}

int64_t ElasticConv2d::groups_for(int64_t in_channels) const {
  return opt_.depthwise ? in_channels : opt_.groups;
}

Tensor ElasticConv2d::active_weight(int64_t in) const {
  const int64_t g = groups_for(in);
  const int64_t out = opt_.depthwise ? in : active_out_;
  ElasticWeightConfig cfg{
      out, in / g, active_k_, opt_.depthwise ? std::vector<int64_t>{} : out_index_, {}};
  return elastic_weight(param("weight"), transform(7), transform(5), cfg);
}

Tensor ElasticConv2d::forward(const Tensor& x) {
  DF_CHECK(x.dim() == 4, ShapeError, "[nn.ElasticConv2d] expects NCHW input, got ",
           shape_str(x.shape()));
  const int64_t in = x.size(1), g = groups_for(in);
  const int64_t out = opt_.depthwise ? in : active_out_;
  return elastic_conv2d(x, param("weight"), has_param("bias") ? param("bias") : Tensor(),
                        transform(7), transform(5), out, in, active_k_, {opt_.stride},
                        {active_k_ / 2 * opt_.dilation}, {opt_.dilation}, g,
                        opt_.depthwise ? std::vector<int64_t>{} : out_index_, {}, &packed_);
}

std::shared_ptr<Conv2d> ElasticConv2d::extract(int64_t in) const {
  const int64_t g = groups_for(in), out = opt_.depthwise ? in : active_out_;
  auto conv = std::make_shared<Conv2d>(in, out, active_k_, opt_.stride,
                                       active_k_ / 2 * opt_.dilation, opt_.dilation, g, opt_.bias);
  NoGradGuard ng;
  assign(conv->param("weight"), active_weight(in));
  if (opt_.bias) {
    Tensor b = param("bias");
    if (out_index_.empty() || opt_.depthwise)
      b = b.narrow(0, 0, out);
    else
      b = index_select(b, 0, Tensor::from_vector(out_index_, {out}).to(b.device()));
    assign(conv->param("bias"), b);
  }
  conv->train(is_training());
  return conv;
}

// ---------------------------------------------------------------- ElasticBatchNorm2d
ElasticBatchNorm2d::ElasticBatchNorm2d(int64_t n, double eps, double momentum)
    : max_(n), eps_(eps), momentum_(momentum) {
  DF_CHECK(n > 0, ConfigError, "[nn.ElasticBatchNorm2d] num_features must be positive, got ", n);
  register_parameter("weight", Tensor::ones({n}));
  register_parameter("bias", Tensor::zeros({n}));
  register_buffer("running_mean", Tensor::zeros({n}));
  register_buffer("running_var", Tensor::ones({n}));
  register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
}

void ElasticBatchNorm2d::reset_running_stats() {
  raw::fill(buffer("running_mean"), 0.0);
  raw::fill(buffer("running_var"), 1.0);
  raw::fill(buffer("num_batches_tracked"), 0.0);
}

Tensor ElasticBatchNorm2d::forward(const Tensor& x) {
  DF_CHECK(x.dim() >= 2 && x.size(1) <= max_, ShapeError, "[nn.ElasticBatchNorm2d] input ",
           shape_str(x.shape()), " has more than ", max_, " channels");
  const int64_t c = x.size(1);
  Tensor w = param("weight").narrow(0, 0, c), b = param("bias").narrow(0, 0, c);
  Tensor rm = buffer("running_mean").narrow(0, 0, c), rv = buffer("running_var").narrow(0, 0, c);
  if (!is_training()) return batch_norm(x, rm, rv, w, b, false, momentum_, eps_);
  if (recal_) {
    // Exact merge of this batch's per-channel mean and sum of squared deviations (double).
    DF_CHECK(recal_channels_ == 0 || recal_channels_ == c, ShapeError,
             "[nn.ElasticBatchNorm2d] recalibration batches with ", recal_channels_, " and ", c,
             " channels");
    recal_channels_ = c;
    recal_mean_.resize(c, 0.0);
    recal_m2_.resize(c, 0.0);
    const std::vector<double> v = raw::contiguous(raw::detach(x)).to_vector<double>();  // host sync
    const int64_t n = x.size(0), hw = x.numel() / std::max<int64_t>(1, n * c);
    const double nb = static_cast<double>(n * hw);
    if (nb > 0) {
      for (int64_t ch = 0; ch < c; ++ch) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < hw; ++j) s += v[(i * c + ch) * hw + j];
        const double mb = s / nb;
        double m2 = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < hw; ++j) {
            const double d = v[(i * c + ch) * hw + j] - mb;
            m2 += d * d;
          }
        const double na = recal_count_, tot = na + nb, delta = mb - recal_mean_[ch];
        recal_mean_[ch] += delta * nb / tot;
        recal_m2_[ch] += m2 + delta * delta * na * nb / tot;
      }
      recal_count_ += nb;
    }
    return batch_norm(x, Tensor(), Tensor(), w, b, true, momentum_, eps_);
  }
  count_batch(buffer("num_batches_tracked"));
  return batch_norm(x, rm, rv, w, b, true, momentum_, eps_);
}

void ElasticBatchNorm2d::begin_recalibration() {
  reset_running_stats();
  recal_ = true;
  recal_channels_ = 0;
  recal_count_ = 0;
  recal_mean_.clear();
  recal_m2_.clear();
}

void ElasticBatchNorm2d::end_recalibration() {
  recal_ = false;
  if (recal_channels_ == 0 || recal_count_ == 0) return;
  const int64_t c = recal_channels_;
  std::vector<double> var(c);
  for (int64_t i = 0; i < c; ++i)
    var[i] = recal_count_ > 1 ? recal_m2_[i] / (recal_count_ - 1) : recal_m2_[i];
  Tensor rm = buffer("running_mean"), rv = buffer("running_var");
  raw::copy(rm.narrow(0, 0, c), Tensor::from_vector(recal_mean_, {c}));
  raw::copy(rv.narrow(0, 0, c), Tensor::from_vector(var, {c}));
  raw::fill(buffer("num_batches_tracked"), 1.0);
}

std::shared_ptr<BatchNorm2d> ElasticBatchNorm2d::extract(int64_t c) const {
  DF_CHECK(c >= 1 && c <= max_, ConfigError, "[nn.ElasticBatchNorm2d] extract ", c, " channels of ",
           max_);
  auto bn = std::make_shared<BatchNorm2d>(c, eps_, momentum_);
  for (const char* n : {"weight", "bias"}) assign(bn->param(n), param(n).narrow(0, 0, c));
  for (const char* n : {"running_mean", "running_var"})
    assign(bn->buffer(n), buffer(n).narrow(0, 0, c));
  assign(bn->buffer("num_batches_tracked"), buffer("num_batches_tracked"));
  bn->train(is_training());
  return bn;
}

// ---------------------------------------------------------------- ElasticGroupNorm
ElasticGroupNorm::ElasticGroupNorm(int64_t g, int64_t c, double eps)
    : groups_(g), max_(c), eps_(eps) {
  DF_CHECK(g > 0 && c > 0 && c % g == 0, ConfigError, "[nn.ElasticGroupNorm] ", c,
           " channels not divisible into ", g, " groups");
  register_parameter("weight", Tensor::ones({c}));
  register_parameter("bias", Tensor::zeros({c}));
}

Tensor ElasticGroupNorm::forward(const Tensor& x) {
  const int64_t c = x.size(1);
  DF_CHECK(c <= max_ && c % groups_ == 0, ShapeError, "[nn.ElasticGroupNorm] ", c,
           " active channels must be <= ", max_, " and divisible by ", groups_, " groups");
  return group_norm(x, groups_, param("weight").narrow(0, 0, c), param("bias").narrow(0, 0, c),
                    eps_);
}

std::shared_ptr<GroupNorm> ElasticGroupNorm::extract(int64_t c) const {
  auto gn = std::make_shared<GroupNorm>(groups_, c, eps_);
  for (const char* n : {"weight", "bias"}) assign(gn->param(n), param(n).narrow(0, 0, c));
  return gn;
}

// ---------------------------------------------------------------- ElasticLinear
ElasticLinear::ElasticLinear(int64_t in, int64_t out, bool bias)
    : max_in_(in), max_out_(out), active_out_(out), bias_(bias) {
  Tensor w = Tensor::empty({out, in});
  Tensor b = bias ? Tensor::empty({out}) : Tensor();
  init::default_layer_init(w, b);
  register_parameter("weight", w);
  if (bias) register_parameter("bias", b);
}

Tensor ElasticLinear::forward(const Tensor& x) {
  const int64_t in = x.size(-1);
  DF_CHECK(in <= max_in_ && active_out_ <= max_out_, ShapeError, "[nn.ElasticLinear] ", in, " -> ",
           active_out_, " exceeds ", max_in_, " -> ", max_out_);
  Tensor w = param("weight").narrow(0, 0, active_out_).narrow(1, 0, in);
  return linear(x, w, bias_ ? param("bias").narrow(0, 0, active_out_) : Tensor());
}

std::shared_ptr<Linear> ElasticLinear::extract(int64_t in) const {
  auto l = std::make_shared<Linear>(in, active_out_, bias_);
  assign(l->param("weight"), param("weight").narrow(0, 0, active_out_).narrow(1, 0, in));
  if (bias_) assign(l->param("bias"), param("bias").narrow(0, 0, active_out_));
  return l;
}

// ---------------------------------------------------------------- channel sorting
std::vector<int64_t> sort_channels_by_importance(ElasticConv2d& conv, ElasticBatchNorm2d* bn,
                                                 ElasticConv2d& next) {
  const auto& o = next.options();
  DF_CHECK(!o.depthwise && o.groups == 1 && !conv.options().depthwise, ConfigError,
           "[nn.sort_channels_by_importance] needs a non-depthwise conv and a groups=1 next conv");
  const Tensor nw = next.param("weight");
  const int64_t c = conv.options().max_out_channels;
  DF_CHECK(nw.size(1) == c && (!bn || bn->max_features() == c), ShapeError,
           "[nn.sort_channels_by_importance] next conv has ", nw.size(1), " input channels, conv ",
           c, " outputs");
  const std::vector<double> v = raw::contiguous(nw).to_vector<double>();
  const int64_t out = nw.size(0), kk = nw.size(2) * nw.size(3);
  std::vector<double> imp(c, 0.0);
  for (int64_t r = 0; r < out; ++r)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t j = 0; j < kk; ++j) imp[ch] += std::fabs(v[(r * c + ch) * kk + j]);
  std::vector<int64_t> perm(c);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return imp[a] > imp[b]; });
  NoGradGuard ng;
  auto permute = [&](const Tensor& t, int64_t dim) {
    Tensor idx = Tensor::from_vector(perm, {c}).to(t.device());
    assign(t, index_select(t, dim, idx));
  };
  permute(conv.param("weight"), 0);
  if (conv.has_param("bias")) permute(conv.param("bias"), 0);
  if (bn) {
    for (const char* n : {"weight", "bias"}) permute(bn->param(n), 0);
    for (const char* n : {"running_mean", "running_var"}) permute(bn->buffer(n), 0);
  }
  permute(nw, 1);
  return perm;
}

}  // namespace detforge::nn
