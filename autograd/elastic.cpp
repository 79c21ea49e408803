#include "autograd/elastic.h"

#include <algorithm>

#include "autograd/conv.h"
#include "autograd/function.h"
#include "autograd/indexing.h"
#include "kernels/elastic/elastic_weight.h"
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

}  // namespace

bool elastic_weight_is_view(const Tensor& weight, const ElasticWeightConfig& cfg) {
  return cfg.out_index.empty() && cfg.in_index.empty() &&
         cfg.in_channels_per_group == weight.size(1) && cfg.kernel_size == weight.size(2);
}

Tensor elastic_weight(const Tensor& weight, const Tensor& t75, const Tensor& t53,
                      const ElasticWeightConfig& cfg) {
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
  if (elastic_weight_is_view(weight, cfg)) return weight.narrow(0, 0, cfg.out_channels);

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
  Tensor out = Tensor::empty({p.out, p.in_pg, k, k}, weight.dtype(), weight.device());
  kernels::elastic_gather_stub(weight.device(), "elastic_weight")(p, out, raw::detach(weight), m[0],
                                                                  m[1]);
  if (needs_grad({weight, t75, t53})) {
    record("elastic_weight", {weight, t75, t53}, {out},
           [p, oi, ii, m0 = m[0], m1 = m[1], which0 = which[0], which1 = which[1],
            w = raw::contiguous(raw::detach(weight)),
            wshape = weight.shape()](const std::vector<Tensor>& g, const std::vector<bool>& needs) {
             std::vector<Tensor> res(3);
             if (!g[0].defined()) return res;
             kernels::ElasticWeightParams q = p;
             for (int d = 0; d < 4; ++d) q.ws[d] = w.stride(d);
             const bool want_m =
                 (which0 >= 0 && needs[1 + which0]) || (which1 >= 0 && needs[1 + which1]);
             Tensor gm[2];
             if (want_m)
               for (int j = 0; j < q.n_mat; ++j)
                 gm[j] = Tensor::zeros((j == 0 ? m0 : m1).shape(), w.dtype(), w.device());
             Tensor gw = Tensor::zeros(wshape, w.dtype(), w.device());
             kernels::elastic_scatter_stub(w.device(), "elastic_weight_backward")(
                 q, gw, raw::contiguous(g[0]), w, m0, m1, gm[0], gm[1]);
             if (needs[0]) res[0] = gw;
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
                      const std::vector<int64_t>& out_index, const std::vector<int64_t>& in_index) {
  DF_CHECK(groups >= 1 && active_in % groups == 0 && active_out % groups == 0, ShapeError, kOp,
           " active channels (in ", active_in, ", out ", active_out,
           ") must be divisible by groups ", groups);
  ElasticWeightConfig cfg{active_out, active_in / groups, k, out_index, in_index};
  Tensor w = elastic_weight(weight, t75, t53, cfg);
  Tensor b;
  if (bias.defined()) {
    DF_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), ShapeError, kOp, " bias ",
             shape_str(bias.shape()), " does not match weight ", shape_str(weight.shape()));
    b = out_index.empty()
            ? bias.narrow(0, 0, active_out)
            : index_select(bias, 0, Tensor::from_vector(out_index, {active_out}).to(bias.device()));
  }
  if (padding.empty()) padding = {k / 2};
  return conv2d(input, w, b, stride, padding, dilation, groups);
}

}  // namespace detforge
