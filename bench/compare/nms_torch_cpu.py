#!/usr/bin/python3
"""torchvision 0.14 CPU timings for the shapes of bench/detection/nms_bench.cpp (same box
distribution: centres uniform in 800 x 800, sizes uniform in [16, 256), scores uniform, 10 classes).
Run: OMP_NUM_THREADS=2 /usr/bin/python3 bench/compare/nms_torch_cpu.py"""
import time

import torch
import torchvision
from torchvision.ops import batched_nms, box_iou, generalized_box_iou, nms


def make_boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    c = torch.rand(n, 2, generator=g) * 800
    wh = 16 + torch.rand(n, 2, generator=g) * 240
    boxes = torch.cat([c - wh / 2, c + wh / 2], 1)
    return boxes, torch.rand(n, generator=g), torch.randint(0, 10, (n,), generator=g)


def bench(name, fn, min_time=1.0):
    fn()
    n, t0 = 0, time.perf_counter()
    times = []
    c0 = time.process_time()
    while time.perf_counter() - t0 < min_time or n < 5:
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        n += 1
    mean, best = sum(times) / n, min(times)
    med = sorted(times)[n // 2]
    cpu = (time.process_time() - c0) / n  # all threads: compare with single-threaded ops only
    extra = f" kept={out.numel()}" if out is not None and out.dim() == 1 else ""
    print(f"{name:34s} mean {mean * 1e3:9.3f} ms  median {med * 1e3:9.3f} ms  best {best * 1e3:9.3f} ms  cpu {cpu * 1e3:9.3f} ms"
          f"  ({n} runs){extra}")


def main():
    print(f"torch {torch.__version__} torchvision {torchvision.__version__} threads {torch.get_num_threads()}")
    for n in (4000, 20000):
        b, s, k = make_boxes(n, 1)
        bench(f"nms/{n}", lambda: nms(b, s, 0.5))
    for n in (4000, 20000):
        b, s, k = make_boxes(n, 2)
        bench(f"batched_nms/{n}", lambda: batched_nms(b, s, k, 0.5))
    a, _, _ = make_boxes(1000, 3)
    c, _, _ = make_boxes(1000, 4)
    bench("box_iou/1000", lambda: box_iou(a, c))
    a.requires_grad_(True)
    c.requires_grad_(True)
    g = torch.ones(1000, 1000)

    def giou_fwd_bwd():
        a.grad = c.grad = None
        generalized_box_iou(a, c).backward(g)

    bench("generalized_box_iou_fwd_bwd/1000", giou_fwd_bwd)


if __name__ == "__main__":
    main()
