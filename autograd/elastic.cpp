#include "autograd/elastic.h"

#include <algorithm>

#include "autograd/autograd_meta.h"
#include "autograd/conv.h"
#include "autograd/engine.h"
#include "autograd/function.h"
#include "autograd/indexing.h"
#include "kernels/elastic/elastic_weight.h"
#include "kernels/elementwise/binary.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

constexpr const char* kOp = "[elastic_conv2d]";

// Host-checked index list (range, distinct) as an int64 tensor on `dev`; undefined when empty.
Tensor index_tensor(const std::vector<int64_t>& idx, int64_t count, int64_t size, const char* what,
                    Device dev) {
  if (idx.empty()) {
    DF_CHECK(count <= size, ShapeError, kOp, " ", count, " active ", what, " but the weight has ",
             size);
    return Tensor();
  }
  DF_CHECK(static_cast<int64_t>(idx.size()) == count, ShapeError, kOp, " ", what, " index has ",
           idx.size(), " entries for ", count, " active");
  std::vector<char> seen(static_cast<size_t>(size), 0);
  for (int64_t v : idx) {
    DF_CHECK(v >= 0 && v < size, ShapeError, kOp, " ", what, " index ", v,
             " out of range for size ", size);
    DF_CHECK(!seen[v], ShapeError, kOp, " ", what, " index ", v, " repeated (must be distinct)");
    seen[v] = 1;
  }
  return raw::to(Tensor::from_vector(idx, {count}), dev, DType::i64);
}

void check_matrix(const Tensor& m, int64_t n, const Tensor& w, const char* name) {
  if (!m.defined()) return;
  DF_CHECK(m.dim() == 2 && m.size(0) == n && m.size(1) == n, ShapeError, kOp, " ", name,
           " must be [", n, ", ", n, "], got ", shape_str(m.shape()));
  DF_CHECK(m.dtype() == w.dtype(), DTypeError, kOp, " ", name, " dtype ", dtype_name(m.dtype()),
           " differs from weight's ", dtype_name(w.dtype()));
  DF_CHECK(m.device() == w.device(), DeviceError, kOp, " ", name, " on ", m.device().str(),
           ", weight on ", w.device().str());
}

// `t` when it is a leaf that requires grad (captured by a backward that may add into its .grad).
Tensor leaf_or_none(const Tensor& t) {
  AutogradMeta* m = autograd_meta_if(t);
  return m && m->requires_grad && !m->grad_fn ? t : Tensor();
}

// The .grad of `leaf` to add into in place, or undefined when the gradient must travel through
// the engine: under autograd::grad (capture), for a non-leaf, a leaf with hooks (they must see the
// whole gradient) or an unusual .grad (other shape / dtype / device, not contiguous). A leaf
// without .grad gets a zero one here (once per step with set_to_none zero_grad, never with
// zero_grad(false)).
Tensor leaf_grad_target(const Tensor& leaf) {
  if (!leaf.defined() || !autograd::leaf_grads_accumulating()) return Tensor();
  AutogradMeta* m = autograd_meta_if(leaf);
  if (!m || !m->requires_grad || m->grad_fn || !m->hooks.empty()) return Tensor();
  if (!m->grad.defined()) m->grad = Tensor::zeros(leaf.shape(), leaf.dtype(), leaf.device());
  const Tensor& g = m->grad;
  if (g.shape() != leaf.shape() || g.dtype() != leaf.dtype() || g.device() != leaf.device() ||
      !g.is_contiguous())
    return Tensor();
  return g;
}

// dst += g in place (one elementwise pass over the active region only).
void add_into(const Tensor& dst, const Tensor& g) {
  Tensor src = raw::to(g, dst.device(), dst.dtype());
  kernels::binary_stub(dst.device(), "elastic_grad_accumulate")(kernels::BinaryOp::add, dst, dst,
                                                                src, kernels::BinaryParams{});
}

// t[0:n] as a zero-copy view whose backward adds into t's .grad view directly (see
// leaf_grad_target), else scatters into a zero t-sized gradient like Tensor::narrow.
Tensor prefix_view(const Tensor& t, int64_t n) {
  Tensor out = raw::narrow(t, 0, 0, n);
  if (needs_grad({t}))
    record("elastic_prefix_view", {t}, {out},
           [leaf = leaf_or_none(t), shape = t.shape(), dtype = t.dtype(), device = t.device(), n](
               const std::vector<Tensor>& g, const std::vector<bool>&) {
             Tensor target = leaf_grad_target(leaf);
             if (target.defined()) {
               add_into(raw::narrow(target, 0, 0, n), g[0]);
               return std::vector<Tensor>{Tensor()};
             }
             Tensor gi = Tensor::zeros(shape, dtype, device);
             raw::copy(raw::narrow(gi, 0, 0, n), g[0]);
             return std::vector<Tensor>{gi};
           });
  return out;
}

}  // namespace

Tensor ElasticPackedBuffer::acquire(const Shape& shape, DType dtype, Device device) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  const bool same_kind = flat_.defined() && flat_.dtype() == dtype && flat_.device() == device;
  const bool reusable = same_kind && flat_.numel() >= n && flat_.storage().use_count() == 1;
  if (!reusable) {
    const int64_t cap = same_kind ? std::max(n, flat_.numel()) : n;
    flat_ = Tensor::empty({std::max<int64_t>(cap, 1)}, dtype, device);
    ++blocks_;
  }
  return raw::make_view(flat_, shape, contiguous_strides(shape), flat_.offset());
}

bool elastic_weight_is_view(const Tensor& weight, const ElasticWeightConfig& cfg) {
  return cfg.out_index.empty() && cfg.in_index.empty() &&
         cfg.in_channels_per_group == weight.size(1) && cfg.kernel_size == weight.size(2);
}

Tensor elastic_weight(const Tensor& weight, const Tensor& t75, const Tensor& t53,
                      const ElasticWeightConfig& cfg, ElasticPackedBuffer* packed) {
  DF_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3), ShapeError, kOp,
           " weight must be [Cout, Cin/groups, K, K], got ", shape_str(weight.shape()));
  DF_CHECK(weight.dtype() == DType::f32 || weight.dtype() == DType::f64, DTypeError, kOp,
           " supports float32/float64 weights, got ", dtype_name(weight.dtype()));
  const int64_t K = weight.size(2), k = cfg.kernel_size;
  DF_CHECK(k >= 1 && k <= K && (K - k) % 2 == 0, ShapeError, kOp, " active kernel size ", k,
           " must be <= ", K, " with an even difference (centre crop)");
  DF_CHECK(cfg.out_channels >= 0 && cfg.in_channels_per_group >= 0, ShapeError, kOp,
           " negative active channel count");
  check_matrix(t75, 25, weight, "kernel_transform_7to5");
  check_matrix(t53, 9, weight, "kernel_transform_5to3");
  Tensor oi =
      index_tensor(cfg.out_index, cfg.out_channels, weight.size(0), "out channel", weight.device());
  Tensor ii = index_tensor(cfg.in_index, cfg.in_channels_per_group, weight.size(1),
                           "in channel (per group)", weight.device());
  if (elastic_weight_is_view(weight, cfg)) return prefix_view(weight, cfg.out_channels);

  kernels::ElasticWeightParams p;
  p.out = cfg.out_channels;
  p.in_pg = cfg.in_channels_per_group;
  p.K = K;
  p.k = k;
  for (int d = 0; d < 4; ++d) p.ws[d] = weight.stride(d);
  p.out_idx = oi.defined() ? static_cast<const int64_t*>(oi.data_ptr()) : nullptr;
  p.in_idx = ii.defined() ? static_cast<const int64_t*>(ii.data_ptr()) : nullptr;
  kernels::elastic_plan_steps(p, t75.defined(), t53.defined());
  // The matrices actually applied, in chain order (slot 0, slot 1), and which input each is.
  Tensor m[2];
  int which[2] = {-1, -1};  // 0 = t75, 1 = t53
  for (int j = 0; j < p.n_mat; ++j) {
    which[j] = p.mat_d[j] == 5 ? 0 : 1;
    m[j] = raw::contiguous(raw::detach(which[j] == 0 ? t75 : t53));
  }
  const Shape packed_shape{p.out, p.in_pg, k, k};
  Tensor out = packed ? packed->acquire(packed_shape, weight.dtype(), weight.device())
                      : Tensor::empty(packed_shape, weight.dtype(), weight.device());
  kernels::elastic_gather_stub(weight.device(), "elastic_weight")(p, out, raw::detach(weight), m[0],
                                                                  m[1]);
  if (needs_grad({weight, t75, t53})) {
    record("elastic_weight", {weight, t75, t53}, {out},
           [p, oi, ii, m0 = m[0], m1 = m[1], which0 = which[0], which1 = which[1],
            w = raw::contiguous(raw::detach(weight)), leaf = leaf_or_none(weight),
            wshape = weight.shape()](const std::vector<Tensor>& g, const std::vector<bool>& needs) {
             std::vector<Tensor> res(3);
             if (!g[0].defined()) return res;
             kernels::ElasticWeightParams q = p;
             for (int d = 0; d < 4; ++d) q.ws[d] = w.stride(d);  // w and its gradient: contiguous
             const bool want_m =
                 (which0 >= 0 && needs[1 + which0]) || (which1 >= 0 && needs[1 + which1]);
             Tensor gm[2];
             if (want_m)
               for (int j = 0; j < q.n_mat; ++j)
                 gm[j] = Tensor::zeros((j == 0 ? m0 : m1).shape(), w.dtype(), w.device());
             // Scatter straight into weight's .grad when allowed, else into a zero weight-sized
             // gradient handed to the engine (also when only the matrices need a gradient).
             Tensor gw = needs[0] ? leaf_grad_target(leaf) : Tensor();
             const bool direct = gw.defined();
             if (!direct) gw = Tensor::zeros(wshape, w.dtype(), w.device());
             kernels::elastic_scatter_stub(w.device(), "elastic_weight_backward")(
                 q, gw, raw::contiguous(g[0]), w, m0, m1, gm[0], gm[1]);
             if (needs[0] && !direct) res[0] = gw;
             if (which0 >= 0 && needs[1 + which0]) res[1 + which0] = gm[0];
             if (which1 >= 0 && needs[1 + which1]) res[1 + which1] = gm[1];
             (void)oi;
             (void)ii;  // keep the device index lists alive for the backward
             return res;
           });
  }
  return out;
}

Tensor elastic_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                      const Tensor& t75, const Tensor& t53, int64_t active_out, int64_t active_in,
                      int64_t k, std::vector<int64_t> stride, std::vector<int64_t> padding,
                      std::vector<int64_t> dilation, int64_t groups,
                      const std::vector<int64_t>& out_index, const std::vector<int64_t>& in_index,
                      ElasticPackedBuffer* packed) {
  DF_CHECK(groups >= 1 && active_in % groups == 0 && active_out % groups == 0, ShapeError, kOp,
           " active channels (in ", active_in, ", out ", active_out,
           ") must be divisible by groups ", groups);
  ElasticWeightConfig cfg{active_out, active_in / groups, k, out_index, in_index};
  Tensor w = elastic_weight(weight, t75, t53, cfg, packed);
  Tensor b;
  if (bias.defined()) {
    DF_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), ShapeError, kOp, " bias ",
             shape_str(bias.shape()), " does not match weight ", shape_str(weight.shape()));
    b = out_index.empty()
            ? prefix_view(bias, active_out)
            : index_select(bias, 0, Tensor::from_vector(out_index, {active_out}).to(bias.device()));
  }
  if (padding.empty()) padding = {k / 2};
  return conv2d(input, w, b, stride, padding, dilation, groups);
}

}  // namespace detforge
