// The IoU family of two xyxy boxes, once for the CPU and CUDA kernels (torchvision 0.14 semantics).
//
// Pairwise metrics (torchvision.ops.box_iou & co., boxes1 [N, 4] x boxes2 [M, 4] -> [N, M]):
//   inter = clamp(min(a.x2, b.x2) - max(a.x1, b.x1), 0) * clamp(min(a.y2, b.y2) - max(a.y1, b.y1),
//   0) union = area(a) + area(b) - inter,  iou = inter / union           (no eps: 0/0 = NaN) cw, ch
//   = clamp(enclosing box width/height, 0) giou = iou - (cw ch - union) / (cw ch) diou = iou -
//   rho^2 / (cw^2 + ch^2 + eps),   rho = distance of the two centres ciou = diou - alpha v,  v =
//   4/pi^2 (atan(wa/ha) - atan(wb/hb))^2,
//          alpha = v / (1 - iou + v + eps), a constant for the gradient (torch.no_grad)
// Paired losses (torchvision.ops.*_box_iou_loss, boxes [..., 4] -> [...]):
//   inter = (xk2 - xk1)(yk2 - yk1) only where both differences are > 0 (else 0, no gradient),
//   iou = inter / (union + eps), cw, ch = enclosing width/height (not clamped)
//   giou_loss = 1 - iou + (cw ch - union) / (cw ch + eps)
//   diou_loss = 1 - iou + rho^2 / (cw^2 + ch^2 + eps)
//   ciou_loss = diou_loss (its eps fixed at 1e-7, as torchvision) + alpha v  (alpha with eps)
//   eiou_loss = diou_loss + (wa - wb)^2 / (cw^2 + eps) + (ha - hb)^2 / (ch^2 + eps)
//     (Zhang et al. 2021, "Focal and Efficient IOU Loss for Accurate Bounding Box Regression",
//      eq. L_EIOU = 1 - IOU + rho^2(b, b_gt)/c^2 + rho^2(w, w_gt)/C_w^2 + rho^2(h, h_gt)/C_h^2)
// Gradients are derived by hand (reverse mode through the formulas above) with PyTorch's rules at
// kinks: max/min ties split the gradient in halves, clamp(min=0) passes it at exactly 0.
#pragma once
#include <cmath>
#include <type_traits>

#include "kernels/dispatch.h"
#include "tensor/macros.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

enum class BoxIouKind { iou, giou, diou, ciou, eiou };

namespace boxmath {

DETFORGE_HD inline float atan_(float x) {
  return ::atanf(x);
}
DETFORGE_HD inline double atan_(double x) {
  return ::atan(x);
}
template <class A>
DETFORGE_HD inline A mx(A x, A y) {
  return x > y ? x : y;
}
template <class A>
DETFORGE_HD inline A mn(A x, A y) {
  return x < y ? x : y;
}
// Share of d max(x, y) that goes to x (PyTorch: a tie splits it in halves); likewise for min.
template <class A>
DETFORGE_HD inline A max_share(A x, A y) {
  return x > y ? A(1) : (x == y ? A(0.5) : A(0));
}
template <class A>
DETFORGE_HD inline A min_share(A x, A y) {
  return x < y ? A(1) : (x == y ? A(0.5) : A(0));
}
template <class A>
constexpr A kFourOverPiSq = A(0.40528473456935108577551785283891);

}  // namespace boxmath

// The value of one pair (the metric for pairwise kinds, the loss for kLoss) and, when kGrad,
// the gradient of g * value w.r.t. a[0..3] and b[0..3] written to ga / gb.
// eps: the user's eps; eps_d: the eps of the loss's iou and distance terms (ciou_loss: 1e-7,
// else eps; torchvision's complete_box_iou_loss passes its eps to alpha only).
template <BoxIouKind K, bool kLoss, bool kGrad, class A>
DETFORGE_HD inline A box_pair(A a0, A a1, A a2, A a3, A b0, A b1, A b2, A b3, A eps, A eps_d, A g,
                              A* ga, A* gb) {
  using namespace boxmath;
  const A wa = a2 - a0, ha = a3 - a1, wb = b2 - b0, hb = b3 - b1;
  const A ltx = mx(a0, b0), lty = mx(a1, b1), rbx = mn(a2, b2), rby = mn(a3, b3);
  const A ix = rbx - ltx, iy = rby - lty;
  A inter;
  bool pass_x, pass_y;  // does the gradient flow through ix / iy
  if constexpr (kLoss) {
    const bool m = iy > A(0) && ix > A(0);
    inter = m ? ix * iy : A(0);
    pass_x = pass_y = m;
  } else {
    inter = mx(ix, A(0)) * mx(iy, A(0));
    pass_x = ix >= A(0);
    pass_y = iy >= A(0);
  }
  const A uni = wa * ha + wb * hb - inter;
  const A den = kLoss ? uni + eps_d : uni;
  const A iou = inter / den;
  A out = kLoss ? A(1) - iou : iou;
  // enclosing box
  const A cx1 = mn(a0, b0), cy1 = mn(a1, b1), cx2 = mx(a2, b2), cy2 = mx(a3, b3);
  const A cw_raw = cx2 - cx1, ch_raw = cy2 - cy1;
  const A cw = kLoss ? cw_raw : mx(cw_raw, A(0)), ch = kLoss ? ch_raw : mx(ch_raw, A(0));
  // centres
  const A dx = (a0 + a2) / A(2) - (b0 + b2) / A(2), dy = (a1 + a3) / A(2) - (b1 + b3) / A(2);
  const A cd2 = dx * dx + dy * dy;
  const A diag = cw * cw + ch * ch + eps_d;
  A v = A(0), alpha = A(0), t = A(0);
  A ac = A(0);
  if constexpr (K == BoxIouKind::giou) {
    ac = cw * ch;
    if constexpr (kLoss)
      out += (ac - uni) / (ac + eps);
    else
      out -= (ac - uni) / ac;
  }
  if constexpr (K == BoxIouKind::diou || K == BoxIouKind::ciou || K == BoxIouKind::eiou)
    out += kLoss ? cd2 / diag : -(cd2 / diag);
  if constexpr (K == BoxIouKind::ciou) {
    t = atan_(wa / ha) - atan_(wb / hb);
    v = kFourOverPiSq<A> * t * t;
    alpha = v / (A(1) - iou + v + eps);
    out += kLoss ? alpha * v : -(alpha * v);
  }
  A cw2e = A(0), ch2e = A(0), dw = A(0), dh = A(0);
  if constexpr (K == BoxIouKind::eiou) {
    cw2e = cw * cw + eps;
    ch2e = ch * ch + eps;
    dw = wa - wb;
    dh = ha - hb;
    out += dw * dw / cw2e + dh * dh / ch2e;
  }
  if constexpr (kGrad) {
    const A s = kLoss ? A(1) : A(-1);  // sign of the penalty terms in `out`
    A g_iou = kLoss ? -g : g, g_uni = A(0), g_inter = A(0);
    A g_cw = A(0), g_ch = A(0), g_dx = A(0), g_dy = A(0);
    A g_wa = A(0), g_ha = A(0), g_wb = A(0), g_hb = A(0);
    if constexpr (K == BoxIouKind::giou) {
      if constexpr (kLoss) {
        const A d = ac + eps;
        const A g_ac = g * (uni + eps) / (d * d);
        g_uni -= g / d;
        g_cw += g_ac * ch;
        g_ch += g_ac * cw;
      } else {
        const A g_ac = -g * uni / (ac * ac);
        g_uni += g / ac;
        g_cw += g_ac * ch;
        g_ch += g_ac * cw;
      }
    }
    if constexpr (K == BoxIouKind::diou || K == BoxIouKind::ciou || K == BoxIouKind::eiou) {
      const A g_cd2 = s * g / diag;
      const A g_diag = -s * g * cd2 / (diag * diag);
      g_cw += g_diag * A(2) * cw;
      g_ch += g_diag * A(2) * ch;
      g_dx += g_cd2 * A(2) * dx;
      g_dy += g_cd2 * A(2) * dy;
    }
    if constexpr (K == BoxIouKind::ciou) {
      const A g_t = s * alpha * g * kFourOverPiSq<A> * A(2) * t;
      const A ra = wa / ha, rb = wb / hb;
      const A g_ra = g_t / (A(1) + ra * ra), g_rb = -g_t / (A(1) + rb * rb);
      g_wa += g_ra / ha;
      g_ha -= g_ra * ra / ha;
      g_wb += g_rb / hb;
      g_hb -= g_rb * rb / hb;
    }
    if constexpr (K == BoxIouKind::eiou) {
      const A g_dw = g * A(2) * dw / cw2e, g_dh = g * A(2) * dh / ch2e;
      g_wa += g_dw;
      g_wb -= g_dw;
      g_ha += g_dh;
      g_hb -= g_dh;
      g_cw -= g * dw * dw / (cw2e * cw2e) * A(2) * cw;
      g_ch -= g * dh * dh / (ch2e * ch2e) * A(2) * ch;
    }
    // iou = inter / den, den = union (+ eps)
    g_inter += g_iou / den;
    g_uni -= g_iou * inter / (den * den);
    // union = wa ha + wb hb - inter
    g_wa += g_uni * ha;
    g_ha += g_uni * wa;
    g_wb += g_uni * hb;
    g_hb += g_uni * wb;
    g_inter -= g_uni;
    const A wx = kLoss ? ix : mx(ix, A(0)), wy = kLoss ? iy : mx(iy, A(0));
    const A g_ix = pass_x ? g_inter * wy : A(0), g_iy = pass_y ? g_inter * wx : A(0);
    // ix = min(a2, b2) - max(a0, b0); likewise y
    ga[0] = -g_ix * max_share(a0, b0);
    gb[0] = -g_ix * max_share(b0, a0);
    ga[2] = g_ix * min_share(a2, b2);
    gb[2] = g_ix * min_share(b2, a2);
    ga[1] = -g_iy * max_share(a1, b1);
    gb[1] = -g_iy * max_share(b1, a1);
    ga[3] = g_iy * min_share(a3, b3);
    gb[3] = g_iy * min_share(b3, a3);
    // enclosing box: cw = max(a2, b2) - min(a0, b0) (clamped at 0 for the pairwise kinds)
    const A gcw = (kLoss || cw_raw >= A(0)) ? g_cw : A(0);
    const A gch = (kLoss || ch_raw >= A(0)) ? g_ch : A(0);
    ga[2] += gcw * max_share(a2, b2);
    gb[2] += gcw * max_share(b2, a2);
    ga[0] -= gcw * min_share(a0, b0);
    gb[0] -= gcw * min_share(b0, a0);
    ga[3] += gch * max_share(a3, b3);
    gb[3] += gch * max_share(b3, a3);
    ga[1] -= gch * min_share(a1, b1);
    gb[1] -= gch * min_share(b1, a1);
    // centres and sizes
    ga[0] += g_dx / A(2) - g_wa;
    ga[2] += g_dx / A(2) + g_wa;
    gb[0] += -g_dx / A(2) - g_wb;
    gb[2] += -g_dx / A(2) + g_wb;
    ga[1] += g_dy / A(2) - g_ha;
    ga[3] += g_dy / A(2) + g_ha;
    gb[1] += -g_dy / A(2) - g_hb;
    gb[3] += -g_dy / A(2) + g_hb;
  }
  return out;
}

// f(std::integral_constant<BoxIouKind, K>) for a runtime kind.
template <class F>
void visit_box_iou_kind(BoxIouKind k, const F& f) {
  switch (k) {
    case BoxIouKind::iou:
      return f(std::integral_constant<BoxIouKind, BoxIouKind::iou>{});
    case BoxIouKind::giou:
      return f(std::integral_constant<BoxIouKind, BoxIouKind::giou>{});
    case BoxIouKind::diou:
      return f(std::integral_constant<BoxIouKind, BoxIouKind::diou>{});
    case BoxIouKind::ciou:
      return f(std::integral_constant<BoxIouKind, BoxIouKind::ciou>{});
    case BoxIouKind::eiou:
      return f(std::integral_constant<BoxIouKind, BoxIouKind::eiou>{});
  }
}

// ---- pairwise metrics: boxes1 [N, 4], boxes2 [M, 4] -> out [N, M] -------------------------------
// All tensors contiguous, one dtype (f32 or f64), one device; kind is not eiou.
struct BoxIouParams {
  BoxIouKind kind = BoxIouKind::iou;
  double eps = 1e-7;
};
using BoxIouForwardFn = void (*)(const BoxIouParams& p, const Tensor& out, const Tensor& boxes1,
                                 const Tensor& boxes2);
// grad1 [N, 4] / grad2 [M, 4]: written when defined. grad_out: [N, M].
using BoxIouBackwardFn = void (*)(const BoxIouParams& p, const Tensor& grad1, const Tensor& grad2,
                                  const Tensor& grad_out, const Tensor& boxes1,
                                  const Tensor& boxes2);
DF_DECLARE_DISPATCH(BoxIouForwardFn, box_iou_forward_stub);
DF_DECLARE_DISPATCH(BoxIouBackwardFn, box_iou_backward_stub);

}  // namespace detforge::kernels
