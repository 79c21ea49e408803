#!/usr/bin/env python3
"""Polynomial coefficients of the vectorisable float bodies in kernels/math.h.

- exp_fast: e^r ~ 1 + c1 r + ... + c5 r^5 on the reduced range |r| <= ln2/2 (widened by 0.05%:
  the float range reduction can leave |r| a few ulp over). The constant term stays exactly 1 so
  exp_fast(0) == 1.
- tanh_fast: tanh(a) ~ a + a^3 (p1 + p2 a^2 + p3 a^4 + p4 a^6) on [0, 0.55] (above it the body
  uses 1 - 2 / (e^(2a) + 1)).

Both minimise the maximum *relative* error with Lawson's algorithm (iteratively reweighted least
squares, which converges to the minimax solution). Prints the float32 coefficients and the error
they reach in double, before the float evaluation's rounding; the kernels' max error with
rounding is checked by tests/kernels/math_fast_test.cpp.
Needs numpy (Debian python3-numpy): /usr/bin/python3 scripts/fit_fast_math.py
"""
import numpy as np


def lawson(x, f, basis, offset):
    """Coefficients c minimising max |offset + sum c_j basis_j - f| / |f| over the grid x."""
    design = np.stack([b(x) for b in basis], axis=1) / f[:, None]
    target = (f - offset) / f
    weights = np.full(x.shape, 1.0 / x.size)
    for _ in range(3000):
        s = np.sqrt(weights)
        c, *_ = np.linalg.lstsq(design * s[:, None], target * s, rcond=None)
        err = np.abs(design @ c - target)
        weights *= err
        weights /= weights.sum()
    c32 = c.astype(np.float32).astype(np.float64)
    return c32, np.max(np.abs(design @ c32 - target))


def report(name, coeffs, err):
    print("%s: max relative error with float coefficients %.3g" % (name, err))
    for j, v in enumerate(coeffs, start=1):
        print("  c%d = %.9ef" % (j, v))


half_ln2 = np.log(2.0) / 2
r = np.linspace(-half_ln2 * 1.0005, half_ln2 * 1.0005, 20001)
report("exp_fast", *lawson(r, np.exp(r), [lambda t, j=j: t**j for j in range(1, 6)], 1.0))

a = np.linspace(1e-4, 0.55, 20001)
report("tanh_fast", *lawson(a, np.tanh(a), [lambda t, j=j: t ** (3 + 2 * j) for j in range(4)], a))
