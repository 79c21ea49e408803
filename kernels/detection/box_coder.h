// torchvision 0.14 BoxCoder element math (models/detection/_utils.py), x1y1x2y2 boxes, widths
// x2 - x1 (no +1), weights (wx, wy, ww, wh):
//   encode(reference g, proposal e):
//     ew = e.x2 - e.x1, ecx = e.x1 + 0.5 ew (same for y/h and for g)
//     t = (wx (gcx - ecx) / ew, wy (gcy - ecy) / eh, ww log(gw / ew), wh log(gh / eh))
//   decode(code t, box b):
//     dx = t0 / wx, dy = t1 / wy, dw = min(t2 / ww, clip), dh = min(t3 / wh, clip)
//     pcx = dx bw + bcx, pw = exp(dw) bw (same for y/h)
//     out = (pcx - 0.5 pw, pcy - 0.5 ph, pcx + 0.5 pw, pcy + 0.5 ph)
// clip = bbox_xform_clip = log(1000 / 16) by default. Decode is differentiable in the codes and
// the boxes (clamp passes the gradient where t/w <= clip, as torch.clamp); encode is not.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct BoxCoderParams {
  double wx = 1, wy = 1, ww = 1, wh = 1;
  double clip = 4.135166556742356;  // log(1000 / 16)
};

template <class A>
DETFORGE_HD inline void box_encode(const A* g, const A* e, const BoxCoderParams& p, A* t) {
  A ew = e[2] - e[0], eh = e[3] - e[1];
  A ecx = e[0] + A(0.5) * ew, ecy = e[1] + A(0.5) * eh;
  A gw = g[2] - g[0], gh = g[3] - g[1];
  A gcx = g[0] + A(0.5) * gw, gcy = g[1] + A(0.5) * gh;
  t[0] = static_cast<A>(p.wx) * (gcx - ecx) / ew;
  t[1] = static_cast<A>(p.wy) * (gcy - ecy) / eh;
  t[2] = static_cast<A>(p.ww) * dmath::log(gw / ew);
  t[3] = static_cast<A>(p.wh) * dmath::log(gh / eh);
}

template <class A>
DETFORGE_HD inline A clamp_max(A v, A hi) {
  return v > hi ? hi : v;  // NaN stays NaN
}

template <class A>
DETFORGE_HD inline void box_decode(const A* t, const A* b, const BoxCoderParams& p, A* out) {
  A w = b[2] - b[0], h = b[3] - b[1];
  A cx = b[0] + A(0.5) * w, cy = b[1] + A(0.5) * h;
  A clip = static_cast<A>(p.clip);
  A dx = t[0] / static_cast<A>(p.wx), dy = t[1] / static_cast<A>(p.wy);
  A dw = clamp_max(t[2] / static_cast<A>(p.ww), clip);
  A dh = clamp_max(t[3] / static_cast<A>(p.wh), clip);
  A pcx = dx * w + cx, pcy = dy * h + cy;
  A hw = A(0.5) * (dmath::exp(dw) * w), hh = A(0.5) * (dmath::exp(dh) * h);
  out[0] = pcx - hw;
  out[1] = pcy - hh;
  out[2] = pcx + hw;
  out[3] = pcy + hh;
}

// Gradient of box_decode: g = dL/dout; dt = dL/dt (may be null); db accumulates dL/db (may be
// null; += so one box can serve several codes).
template <class A>
DETFORGE_HD inline void box_decode_backward(const A* t, const A* b, const A* g,
                                            const BoxCoderParams& p, A* dt, A* db) {
  A w = b[2] - b[0], h = b[3] - b[1];
  A clip = static_cast<A>(p.clip);
  A wx = static_cast<A>(p.wx), wy = static_cast<A>(p.wy);
  A ww = static_cast<A>(p.ww), wh = static_cast<A>(p.wh);
  A dx = t[0] / wx, dy = t[1] / wy;
  A rw = t[2] / ww, rh = t[3] / wh;
  A ew = dmath::exp(clamp_max(rw, clip)), eh = dmath::exp(clamp_max(rh, clip));
  A gcx = g[0] + g[2], gcy = g[1] + g[3];                        // dL/dpcx, dL/dpcy
  A gpw = A(0.5) * (g[2] - g[0]), gph = A(0.5) * (g[3] - g[1]);  // dL/dpw, dL/dph
  if (dt) {
    dt[0] = gcx * w / wx;
    dt[1] = gcy * h / wy;
    dt[2] = rw <= clip ? gpw * ew * w / ww : A(0);
    dt[3] = rh <= clip ? gph * eh * h / wh : A(0);
  }
  if (db) {
    // pcx = dx w + x1 + 0.5 w, pw = e w, w = x2 - x1.
    A gw = gcx * (dx + A(0.5)) + gpw * ew;
    A gh = gcy * (dy + A(0.5)) + gph * eh;
    db[0] += gcx - gw;
    db[1] += gcy - gh;
    db[2] += gw;
    db[3] += gh;
  }
}

// encode: targets [N, 4] from reference_boxes [N, 4] and proposals [N, 4] (contiguous, one
// floating dtype).
using BoxEncodeFn = void (*)(const BoxCoderParams& p, const Tensor& targets,
                             const Tensor& reference_boxes, const Tensor& proposals);
// decode: out [N, 4K] from rel_codes [N, 4K] and boxes [N, 4] (contiguous, one floating dtype).
using BoxDecodeFn = void (*)(const BoxCoderParams& p, const Tensor& out, const Tensor& rel_codes,
                             const Tensor& boxes);
// grad_codes [N, 4K] / grad_boxes [N, 4] (contiguous, or undefined when not wanted; grad_boxes
// sums over the K codes of a box).
using BoxDecodeBackwardFn = void (*)(const BoxCoderParams& p, const Tensor& grad_codes,
                                     const Tensor& grad_boxes, const Tensor& grad_out,
                                     const Tensor& rel_codes, const Tensor& boxes);
DF_DECLARE_DISPATCH(BoxEncodeFn, box_encode_stub);
DF_DECLARE_DISPATCH(BoxDecodeFn, box_decode_stub);
DF_DECLARE_DISPATCH(BoxDecodeBackwardFn, box_decode_backward_stub);

}  // namespace detforge::kernels
