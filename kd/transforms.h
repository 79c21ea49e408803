// DetKDS transforms (Sec. 3.1 Eqs. 4-6, Appendix D.0.1) as differentiable functions composed from
// autograd ops. Every transform is applied to the student and the teacher alike ("<f_S, f_T>"),
// except `mask`, which covers the student only (Appendix D Eq. 10).
//
// Tensor layouts (docs/kd_space.md):
//  features  [N, C, H, W] (global FPN level, fg/bg-masked features, or per-instance crops);
//  logits    [N, C] or dense [N, C, H, W]; dense maps become rows [N*H*W, C] first;
//  loc       [N, 4]: non-negative-after-transform side distances (l, t, r, b) from a common point
//            (the LD / GFL "localization output"), compared as boxes (-l, -t, r, b).
#pragma once
#include <cstdint>
#include <utility>

#include "kd/distiller_spec.h"
#include "tensor/tensor.h"

namespace detforge::kd {

// satt: A_S = H*W * softmax_HW(G_S / tau) with G_S = mean_C |f| (FGD; Appendix D Eq. 9 is the
// channel twin); returns A_S[n, 1, h, w] * f.
DETFORGE_API Tensor spatial_attention(const Tensor& f, double tau);
// catt: A_C = C * softmax_C(G_C / tau) with G_C = mean_HW |f| (Appendix D Eq. 9); A_C[n,c,1,1]*f.
DETFORGE_API Tensor channel_attention(const Tensor& f, double tau);
// The mask of Appendix D Eq. 10: [N, 1, H, W], 0 where a uniform R in [0, 1) is < ratio, else 1.
// Deterministic per seed (mt19937_64); a constant (no gradient), on f's device and dtype.
DETFORGE_API Tensor random_mask(const Tensor& f, double ratio, uint64_t seed);
// scale_n (Eq. 5): average pooling to [N, C, max(1, H/n), max(1, W/n)] (adaptive; identity n=1).
DETFORGE_API Tensor scale_pool(const Tensor& f, int64_t n);
// local_n (Eq. 5): n x n patches as samples: [n*n*N, C, H/n, W/n], patch (i, j) of sample b at
// row (i*n + j)*N + b. H and W are cropped to multiples of n (ShapeError when H or W < n).
DETFORGE_API Tensor local_split(const Tensor& f, int64_t n);
// norm (Eq. 6): (x - mean) / sqrt(var + eps) over `dims` (biased variance).
DETFORGE_API Tensor standardize(const Tensor& x, const Shape& dims, double eps = 1e-5);
// min-max: (x - min) / (max - min + eps) over `dims`.
DETFORGE_API Tensor min_max(const Tensor& x, const Shape& dims, double eps = 1e-6);
// Logits as rows: [N, C] unchanged, [N, C, H, W] -> [N*H*W, C].
DETFORGE_API Tensor logits_rows(const Tensor& p);

// One transform of `in` on the (student, teacher) pair; `seed` feeds `mask`.
DETFORGE_API std::pair<Tensor, Tensor> apply_transform(const Transform& t, Input in,
                                                       const Tensor& s, const Tensor& t_,
                                                       uint64_t seed = 0);
// The spec's whole chain (logits are made rows first). Checks shapes: ShapeError "[kd] ...".
DETFORGE_API std::pair<Tensor, Tensor> apply_chain(const DistillerSpec& spec, const Tensor& s,
                                                   const Tensor& t, uint64_t seed = 0);

}  // namespace detforge::kd
