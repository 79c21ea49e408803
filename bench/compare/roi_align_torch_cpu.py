#!/usr/bin/python3
"""Times torchvision 0.14's roi_align on the CPU (Debian python3-torchvision) on the shape of
bench/detection/roi_align_bench.cpp: features 2x256x64x64, 512 ROIs (the same deterministic boxes),
output 7x7, spatial_scale 0.25, sampling_ratio 2, aligned=True; forward and forward+backward
(grad w.r.t. the features).

  OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/compare/roi_align_torch_cpu.py

Prints the best and median single-call wall time of --calls calls (on a shared machine the minimum
is the least disturbed estimate) and the median process CPU time of all threads.
"""
import argparse
import statistics
import time

import torch
from torchvision.ops import roi_align

N, C, H, W, K, P, SCALE, SR = 2, 256, 64, 64, 512, 7, 0.25, 2


def make_rois(k=K):
    """Deterministic boxes in image coordinates (image 256x256), as roi_align_bench.cpp makes them."""
    r = torch.empty(k, 5)
    for i in range(k):
        x1, y1 = (i * 53) % 192, (i * 97) % 192
        w, h = 16 + (i * 29) % 112, 16 + (i * 41) % 112
        r[i] = torch.tensor([i % N, x1, y1, min(x1 + w, 255), min(y1 + h, 255)], dtype=torch.float32)
    return r


def features():
    g = torch.Generator().manual_seed(1)
    return torch.randn(N, C, H, W, generator=g)


def timeit(fn, calls):
    """(best wall ms, median wall ms, median process CPU ms of all threads)."""
    for _ in range(2):
        fn()
    ts, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return min(ts), statistics.median(ts), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10)
    a = ap.parse_args()
    x, rois = features(), make_rois()
    go = torch.randn(K, C, P, P, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        fwd = timeit(lambda: roi_align(x, rois, P, SCALE, SR, True), a.calls)
    xg = x.clone().requires_grad_(True)

    def fb():
        y = roi_align(xg, rois, P, SCALE, SR, True)
        y.backward(go)
        xg.grad = None

    fwdbwd = timeit(fb, a.calls)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for name, t in (("fwd", fwd), ("fwd+bwd", fwdbwd)):
        print(f"roi_align {name:8s} best {t[0]:8.2f} ms  median {t[1]:8.2f} ms  "
              f"process CPU (median) {t[2]:8.2f} ms")


if __name__ == "__main__":
    main()
