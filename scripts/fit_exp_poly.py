#!/usr/bin/env python3
"""Coefficients of dmath::exp_fast's polynomial (kernels/math.h).

e^r ~ 1 + c1 r + c2 r^2 + ... + c5 r^5 on the reduced range |r| <= ln2/2, minimising the maximum
*relative* error (the constant term stays exactly 1 so exp_fast(0) == 1). Lawson's algorithm
(iteratively reweighted least squares) converges to the minimax solution; the range is widened by
0.05% because the float range reduction can leave |r| a few ulp over ln2/2.

Prints the float coefficients and the relative error they reach (in double, before the float
evaluation's rounding; kernels' max error with rounding is checked by tests/kernels/math_fast_test.cpp).
Needs numpy (Debian python3-numpy): /usr/bin/python3 scripts/fit_exp_poly.py
"""
import numpy as np

DEGREE = 5
HALF_LN2 = np.log(2.0) / 2

g = np.linspace(-HALF_LN2 * 1.0005, HALF_LN2 * 1.0005, 20001)
f = np.exp(g)
# relative error of 1 + sum c_j r^j: (1 + A c - f) / f, so solve A' c ~ b with rows scaled by 1/f
design = np.stack([g**j for j in range(1, DEGREE + 1)], axis=1) / f[:, None]
target = (f - 1.0) / f
weights = np.full(g.shape, 1.0 / g.size)
for _ in range(3000):
    s = np.sqrt(weights)
    c, *_ = np.linalg.lstsq(design * s[:, None], target * s, rcond=None)
    err = np.abs(design @ c - target)
    weights *= err
    weights /= weights.sum()

c32 = c.astype(np.float32).astype(np.float64)
r = np.linspace(-HALF_LN2, HALF_LN2, 1000001)
p = 1.0 + sum(c32[j] * r ** (j + 1) for j in range(DEGREE))
print("max relative error, float coefficients: %.3g" % np.max(np.abs(p - np.exp(r)) / np.exp(r)))
for j, v in enumerate(c32, start=1):
    print("c%d = %.9ef" % (j, v))
