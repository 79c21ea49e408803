#!/usr/bin/python3
"""PyTorch's side of the KD loss benchmarks (bench/kd/kd_losses_bench.cpp, bench/kd/kd_fused_bench.cpp):
each fused detforge KD loss's formula composed from torch ops (CPU, 2 threads), the same shapes,
value ranges and byte counts (GB/s = student + teacher bytes read (+ 3x for the backward: both
read again, grad_s written) per second, best of 5 calls).
Run: /usr/bin/python3 bench/compare/kd_torch_cpu.py [--quick]
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
QUICK = "--quick" in sys.argv


def best(f, reps=3 if QUICK else 5):
    f()
    b = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


def soft_ce(s, t, T=4.0):
    return -(F.softmax(t / T, 1) * F.log_softmax(s / T, 1)).sum(1).mean()


def pearson(s, t, eps=1e-8):
    s, t = s.flatten(1), t.flatten(1)
    sc, tc = s - s.mean(1, keepdim=True), t - t.mean(1, keepdim=True)
    return (1 - (sc * tc).mean(1) / torch.sqrt(((sc * sc).mean(1) + eps) * ((tc * tc).mean(1) + eps))).mean()


def nsr(s, t, eps=1e-8):
    return (((t - s) ** 2).mean((0, 2, 3)) / (t.var((0, 2, 3), unbiased=False) + eps)).mean()


def ssim(s, t, c1=1e-4, c2=9e-4):
    ms, mt = s.mean((2, 3)), t.mean((2, 3))
    ds, dt = s - ms[..., None, None], t - mt[..., None, None]
    vs, vt, cov = (ds * ds).mean((2, 3)), (dt * dt).mean((2, 3)), (ds * dt).mean((2, 3))
    v = ((2 * ms * mt + c1) * (2 * cov + c2)) / ((ms * ms + mt * mt + c1) * (vs + vt + c2))
    return 1 - v.mean()


def att(x, kind, tau=0.5):
    n, c, h, w = x.shape
    if kind == "satt":
        return x * (F.softmax(x.abs().mean(1).reshape(n, -1) / tau, 1) * (h * w)).reshape(n, 1, h, w)
    return x * (F.softmax(x.abs().mean((2, 3)) / tau, 1) * c).reshape(n, c, 1, 1)


def norm(x, dims):
    mu = x.mean(dims, keepdim=True)
    return (x - mu) * torch.rsqrt(x.var(dims, unbiased=False, keepdim=True) + 1e-5)


def l2(s, t):
    return torch.sqrt(((s - t) ** 2).flatten(1).sum(1) + 1e-12).mean()


def kl(s, t):
    ls, lt = F.log_softmax(s.flatten(2), 2), F.log_softmax(t.flatten(2), 2)
    return (lt.exp() * (lt - ls)).sum(2).mean()


def cosine(s, t):
    s, t = s.flatten(1), t.flatten(1)
    ns, nt = torch.sqrt((s * s).sum(1) + 1e-12), torch.sqrt((t * t).sum(1) + 1e-12)
    return 1 - ((s * t).sum(1) / (ns * nt + 1e-8)).mean()


def chain(a, nd, dist):
    def f(s, t):
        g = lambda x: norm(att(x, a) if a else x, nd) if nd else (att(x, a) if a else x)
        return dist(g(s), g(t))
    return f


def u(shape, lo, hi):
    return torch.rand(*shape) * (hi - lo) + lo


feat_big, feat = (8, 256, 64, 64), (4, 256, 32, 32)
cases = [
    ("kd_soft_ce [512, 1000]", (512, 1000), soft_ce),
    ("kd_pearson " + str(list(feat_big)), feat_big, pearson),
    ("kd_bkd_nsr " + str(list(feat_big)), feat_big, nsr),
    ("SSIM " + str(list(feat)), feat, ssim),
    ("catt -> norm_C -> L2", feat, chain("catt", (1,), l2)),
    ("satt -> norm_HW -> KL", feat, chain("satt", (2, 3), kl)),
    ("norm_HW -> cosine", feat, chain(None, (2, 3), cosine)),
    ("catt -> smooth-L1", feat, chain("catt", None, lambda s, t: F.smooth_l1_loss(s, t))),
]
if QUICK:
    cases = cases[3:]
for name, shape, fn in cases:
    s, t = u(shape, -3, 3), u(shape, -3, 3)
    e = s.numel() * 4
    sg = s.clone().requires_grad_(True)

    def fwdbwd():
        fn(sg, t).backward()
        sg.grad = None

    with torch.no_grad():
        fwd = best(lambda: fn(s, t))
    fb = best(fwdbwd)
    print(f"{name}: fwd {fwd * 1e3:.2f} ms {2 * e / fwd / 1e9:.2f} GB/s, "
          f"fwd+bwd {fb * 1e3:.2f} ms {5 * e / fb / 1e9:.2f} GB/s")
