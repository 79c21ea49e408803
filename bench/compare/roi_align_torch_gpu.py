#!/usr/bin/env python3
"""Times torchvision's roi_align on the GPU (CUDA events) on the shape of
bench/detection/roi_align_bench.cpp (BM_RoiAlignFwd_CUDA / BM_RoiAlignFwdBwd_CUDA): features
2x256x64x64, the same 512 deterministic ROIs, output 7x7, spatial_scale 0.25, sampling_ratio 2,
aligned=True; forward and forward+backward (grad w.r.t. the features; torchvision's backward uses
atomicAdd). For the GPU machine, in the same call as detforge_bench:

  python3 bench/compare/roi_align_torch_gpu.py --bin build-cuda/bench --dtype float32

--bin FOLDER runs detforge_bench's BM_RoiAlign*_CUDA from that folder too (scripts/gpu_verify.sh
passes it), so both sides are measured in the same call.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import torch
from torchvision.ops import roi_align

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roi_align_torch_cpu import C, H, K, N, P, SCALE, SR, W, make_rois


def time_cuda(fn, iters, warmup=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e3)  # us
    return min(ts), statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16"])
    ap.add_argument("--bin", default=None, help="folder with detforge_bench (runs BM_RoiAlign*_CUDA)")
    a = ap.parse_args()
    dt = getattr(torch, a.dtype)
    dev = torch.device("cuda")
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, C, H, W, generator=g).to(dev, dt)
    rois = make_rois().to(dev, dt)
    go = torch.randn(K, C, P, P, generator=g).to(dev, dt)
    with torch.no_grad():
        fwd = time_cuda(lambda: roi_align(x, rois, P, SCALE, SR, True), a.iters)
    xg = x.clone().requires_grad_(True)

    def fb():
        y = roi_align(xg, rois, P, SCALE, SR, True)
        y.backward(go)
        xg.grad = None

    fwdbwd = time_cuda(fb, a.iters)
    byte_floor = (N * C * H * W + K * C * P * P) * x.element_size()
    print(f"{torch.cuda.get_device_name()} torch {torch.__version__} dtype {a.dtype}")
    for name, (best, med) in (("fwd", fwd), ("fwd+bwd", fwdbwd)):
        print(f"roi_align {name:8s} best {best:9.1f} us  median {med:9.1f} us  "
              f"({byte_floor / best * 1e-3:.0f} GB/s of the forward byte floor)")
    if a.bin:
        r = subprocess.run([os.path.join(a.bin, "detforge_bench"), "--benchmark_filter=RoiAlign.*_CUDA",
                            "--benchmark_format=json", "--benchmark_min_time=0.2"],
                           capture_output=True, text=True)
        try:
            for bm in json.loads(r.stdout)["benchmarks"]:
                print(f"detforge {bm['name']:40s} {bm['real_time']:10.1f} {bm['time_unit']}",
                      {k: f"{v:.3g}" for k, v in bm.items() if k.endswith("/s")})
        except (ValueError, KeyError):
            print("detforge_bench produced no JSON:", r.stderr[-2000:])


if __name__ == "__main__":
    main()
