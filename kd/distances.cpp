#include "kd/distances.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/box_iou.h"
#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "autograd/kd_losses.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "kd/transforms.h"
#include "tensor/error.h"

namespace detforge::kd {
namespace {

Tensor rows(const Tensor& x) {
  return x.dim() == 2 ? x : x.reshape({x.size(0), -1});
}

}  // namespace

Tensor l2_distance(const Tensor& s, const Tensor& t) {
  Tensor d = rows(s) - rows(t);
  return mean(sqrt(sum(d * d, {1}) + 1e-12));
}

Tensor kl_distance(const Tensor& s, const Tensor& t) {
  Tensor ls = log_softmax(s, 1), lt = log_softmax(t, 1);
  return mean(sum(exp(lt) * (lt - ls), {1}));
}

Tensor cosine_distance(const Tensor& s, const Tensor& t) {
  Tensor dot = sum(s * t, {1});
  Tensor ns = sqrt(sum(s * s, {1}) + 1e-12), nt = sqrt(sum(t * t, {1}) + 1e-12);
  return 1.0 + neg(mean(dot / (ns * nt + 1e-8)));
}

Tensor pearson_distance(const Tensor& s, const Tensor& t) {
  return cosine_distance(s - mean(s, {1}, true), t - mean(t, {1}, true));
}

Tensor ssim_distance(const Tensor& s, const Tensor& t) {
  DF_CHECK(s.dim() == 4, ShapeError, "[kd SSIM] expected [N, C, H, W], got ", shape_str(s.shape()));
  if (!needs_grad({t}) && s.shape() == t.shape()) return kd_ssim(s, t, 0.01 * 0.01, 0.03 * 0.03);
  return ssim_distance_composed(s, t);
}

Tensor ssim_distance_composed(const Tensor& s, const Tensor& t) {
  DF_CHECK(s.dim() == 4, ShapeError, "[kd SSIM] expected [N, C, H, W], got ", shape_str(s.shape()));
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const Shape hw = {2, 3};
  Tensor ms = mean(s, hw, true), mt = mean(t, hw, true);
  Tensor ds = s - ms, dt = t - mt;
  Tensor vs = mean(ds * ds, hw), vt = mean(dt * dt, hw), cov = mean(ds * dt, hw);
  Tensor mus = ms.reshape(vs.shape()), mut = mt.reshape(vt.shape());
  Tensor ssim =
      ((2.0 * mus * mut + c1) * (2.0 * cov + c2)) / ((mus * mus + mut * mut + c1) * (vs + vt + c2));
  return 1.0 + neg(mean(ssim));
}

Tensor correlation_distance(const Tensor& s, const Tensor& t) {
  auto standardize_cols = [](const Tensor& x) {
    return (x - mean(x, {0}, true)) * rsqrt(var(x, {0}, 0, true) + 1e-5);
  };
  Tensor v = mean(standardize_cols(s) * standardize_cols(t), {0});  // diag(P^T Q / n)
  Tensor e = v - 1.0;
  return log(sum(e * e) + 1e-8) / std::log(2.0);
}

Tensor ltrb_to_boxes(const Tensor& d) {
  DF_CHECK(d.dim() == 2 && d.size(1) == 4, ShapeError, "[kd loc] expected [N, 4], got ",
           shape_str(d.shape()));
  Tensor sign =
      Tensor::from_vector(std::vector<double>{-1, -1, 1, 1}, {1, 4}).to(d.device(), d.dtype());
  return d * sign;
}

Tensor iou_distance(const Tensor& s, const Tensor& t) {
  // Both boxes share the origin: inter = (min l + min r) * (min t + min b).
  auto col = [](const Tensor& x, int64_t i) { return x.narrow(1, i, 1); };
  Tensor iw = minimum(col(s, 0), col(t, 0)) + minimum(col(s, 2), col(t, 2));
  Tensor ih = minimum(col(s, 1), col(t, 1)) + minimum(col(s, 3), col(t, 3));
  Tensor inter = iw * ih;
  Tensor as = (col(s, 0) + col(s, 2)) * (col(s, 1) + col(s, 3));
  Tensor at = (col(t, 0) + col(t, 2)) * (col(t, 1) + col(t, 3));
  return 1.0 + neg(mean(inter / (as + at - inter + 1e-7)));
}

Tensor distance(const std::string& name, Input in, const Tensor& s, const Tensor& t) {
  const auto& allowed = distance_names(in);
  DF_CHECK(std::find(allowed.begin(), allowed.end(), name) != allowed.end(), ConfigError,
           "[kd] distance '", name, "' does not apply to input '", input_name(in), "'");
  if (in == Input::loc) {
    if (name == "IoU") return iou_distance(s, t);
    Tensor bs = ltrb_to_boxes(s), bt = ltrb_to_boxes(t);
    if (name == "G-IoU") return generalized_box_iou_loss(bs, bt, "mean");
    if (name == "D-IoU") return distance_box_iou_loss(bs, bt, "mean");
    if (name == "C-IoU") return complete_box_iou_loss(bs, bt, "mean");
    return efficient_box_iou_loss(bs, bt, "mean");  // E-IoU
  }
  if (name == "smooth-L1") return smooth_l1_loss(s, t, "mean", 1.0);
  if (name == "L1") return l1_loss(s, t, "mean");
  if (name == "L2") return l2_distance(s, t);
  if (name == "KL") {
    if (s.dim() == 4) {
      const Shape m = {s.size(0) * s.size(1), s.size(2) * s.size(3)};
      return kl_distance(s.reshape(m), t.reshape(m));
    }
    return kl_distance(s, t);
  }
  if (name == "cosine") return cosine_distance(rows(s), rows(t));
  if (name == "Pearson") return pearson_distance(rows(s), rows(t));
  if (name == "SSIM") return ssim_distance(s, t);
  return correlation_distance(rows(s), rows(t));  // Cor
}

namespace {

// The fused kd_att_norm_dist arguments of a chain, or false when it is not one.
bool fused_args(const DistillerSpec& spec, std::string* att, double* tau, std::string* norm) {
  static const char* kDists[] = {"L1", "L2", "smooth-L1", "KL", "cosine"};
  if (!is_feature(spec.input) ||
      std::find(std::begin(kDists), std::end(kDists), spec.distance) == std::end(kDists))
    return false;
  *att = "none";
  *norm = "none";
  *tau = 0.5;
  for (const auto& tr : spec.transforms) {
    const std::string& n = tr.name;
    if (n == "satt" || n == "catt") {
      *att = n;
      *tau = tr.param;
    } else if (n == "norm_HW" || n == "norm_C") {
      *norm = n;
    } else if (n != "scale_1" && n != "local_1") {  // identities
      return false;
    }
  }
  return true;
}

}  // namespace

bool fused_chain_applies(const DistillerSpec& spec, const Tensor& s, const Tensor& t) {
  std::string att, norm;
  double tau;
  return fused_args(spec, &att, &tau, &norm) && s.dim() == 4 && s.shape() == t.shape() &&
         !needs_grad({t});
}

Tensor distiller_loss(const DistillerSpec& spec, const Tensor& s, const Tensor& t, uint64_t seed) {
  std::string att, norm;
  double tau;
  if (fused_chain_applies(spec, s, t) && fused_args(spec, &att, &tau, &norm))
    return kd_att_norm_dist(s, t, att, tau, norm, spec.distance) * spec.weight;
  return distiller_loss_composed(spec, s, t, seed);
}

Tensor distiller_loss_composed(const DistillerSpec& spec, const Tensor& s, const Tensor& t,
                               uint64_t seed) {
  auto st = apply_chain(spec, s, t, seed);
  return distance(spec.distance, spec.input, st.first, st.second) * spec.weight;
}

}  // namespace detforge::kd
