#!/usr/bin/python3
"""PyTorch's side of bench/loss/centernet_focal_loss_bench.cpp: the official CenterNet heatmap loss
(_sigmoid's clamp + _neg_loss, unfused PyTorch ops, CPU, 2 threads) on the same shapes, value
ranges and byte counts (GB/s = bytes of operands read + written per second, best of 10 calls).
Run: /usr/bin/python3 bench/compare/centernet_loss_torch_cpu.py
"""
import time

import torch

torch.set_num_threads(2)


def neg_loss(logits, gt):
    pred = torch.clamp(logits.sigmoid(), min=1e-4, max=1 - 1e-4)
    pos_inds = gt.eq(1).float()
    neg_inds = gt.lt(1).float()
    neg_weights = torch.pow(1 - gt, 4)
    pos_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * pos_inds).sum()
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg_inds).sum()
    num_pos = pos_inds.float().sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


def best(f, reps=10):
    f()
    b = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


for bsz, hw in ((8, 32), (2, 128)):
    shape = (bsz, 80, hw, hw)
    x = torch.rand(shape) * 8 - 6
    r = torch.randint(0, 10000, shape)
    y = torch.where(r < 2, torch.ones(shape), torch.where(r < 1200, r.float() / 1200, torch.zeros(shape)))
    o = torch.empty_like(x)
    e = x.numel() * 4
    xg = x.clone().requires_grad_(True)

    def fwdbwd():
        neg_loss(xg, y).backward()
        xg.grad = None

    with torch.no_grad():
        fwd = best(lambda: neg_loss(x, y))
    print(f"{list(shape)} copy {2 * e / best(lambda: o.copy_(x)) / 1e9:.1f} GB/s",
          f"fwd {2 * e / fwd / 1e9:.2f} GB/s ({fwd * 1e3:.2f} ms)",
          f"fwd+bwd {5 * e / best(fwdbwd) / 1e9:.2f} GB/s ({best(fwdbwd) * 1e3:.2f} ms)")
