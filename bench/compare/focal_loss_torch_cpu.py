#!/usr/bin/python3
"""torchvision's side of bench/loss/sigmoid_focal_loss_bench.cpp: torchvision.ops.sigmoid_focal_loss
(CPU, 2 threads) on RetinaNet-like [anchors, classes] logits, same shapes, value ranges and byte
counts (GB/s = bytes of operands read + written per second, best of 10 calls).
Run: /usr/bin/python3 bench/compare/focal_loss_torch_cpu.py
"""
import time

import torch
from torchvision.ops import sigmoid_focal_loss

torch.set_num_threads(2)


def best(f, reps=10):
    f()
    b = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - t0)
    return b


for n, c in ((49104, 80), (98208, 80)):
    x = torch.rand(n, c) * 8 - 6
    y = (torch.rand(n, c) < 0.01).float()
    o = torch.empty_like(x)
    e = n * c * 4
    xg = x.clone().requires_grad_(True)

    def fwdbwd():
        sigmoid_focal_loss(xg, y, reduction="sum").backward()
        xg.grad = None

    print(f"[{n}, {c}] copy {2 * e / best(lambda: o.copy_(x)) / 1e9:.1f} GB/s",
          f"fwd(sum) {2 * e / best(lambda: sigmoid_focal_loss(x, y, reduction='sum')) / 1e9:.2f} GB/s",
          f"fwd(none) {3 * e / best(lambda: sigmoid_focal_loss(x, y)) / 1e9:.2f} GB/s",
          f"fwd+bwd {5 * e / best(fwdbwd) / 1e9:.2f} GB/s")
