#!/usr/bin/env python3
"""PyTorch side of the GPU comparison (DESIGN.md section 8), run by scripts/gpu_verify.sh on the GPU
machine in the same call as detforge_bench, so both are timed on one device on one day.

Times, with CUDA events after warm-up and an L2 flush between repetitions (median of N), the shapes
detforge_bench uses: elementwise add and sigmoid, sum over the last dim, softmax rows, batch_norm
training forward+backward, matmul, and conv2d forward+backward on the ResNet-18 layer shapes at
batch 8, 128x128. Also device-copy bandwidth (the reference for the >= 70% targets) and host
overhead per op (small add, no sync). Prints one line per case: name, median ms, GB/s or GFLOP/s.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F


def timed(fn, reps=50, warmup=10):
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        flush.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None, help="folder with detforge_bench (runs its CUDA benchmarks too)")
    args = ap.parse_args()
    dev = "cuda"
    rows = []
    n = 1 << 24
    a = torch.randn(n, device=dev)
    b = torch.randn(n, device=dev)
    out = torch.empty_like(a)
    ms = timed(lambda: out.copy_(a))
    rows.append(("copy f32 16M", ms, 2 * n * 4 / ms / 1e6, "GB/s"))
    ms = timed(lambda: torch.add(a, b, out=out))
    rows.append(("add f32 16M", ms, 3 * n * 4 / ms / 1e6, "GB/s"))
    ms = timed(lambda: torch.sigmoid(a, out=out))
    rows.append(("sigmoid f32 16M", ms, 2 * n * 4 / ms / 1e6, "GB/s"))
    x = torch.randn(4096, 4096, device=dev)
    ms = timed(lambda: x.sum(dim=-1))
    rows.append(("sum last dim 4096x4096", ms, x.numel() * 4 / ms / 1e6, "GB/s"))
    ms = timed(lambda: torch.softmax(x, dim=-1))
    rows.append(("softmax rows 4096x4096", ms, 2 * x.numel() * 4 / ms / 1e6, "GB/s"))
    for shape in [(8, 64, 32, 32), (8, 256, 8, 8)]:
        xb = torch.randn(*shape, device=dev, requires_grad=True)
        w = torch.randn(shape[1], device=dev, requires_grad=True)
        bb = torch.randn(shape[1], device=dev, requires_grad=True)
        rm, rv = torch.zeros(shape[1], device=dev), torch.ones(shape[1], device=dev)
        g = torch.randn(*shape, device=dev)

        def bn():
            y = F.batch_norm(xb, rm, rv, w, bb, training=True)
            y.backward(g)
        ms = timed(bn)
        rows.append((f"batch_norm fwd+bwd {shape}", ms, 5 * xb.numel() * 4 / ms / 1e6, "GB/s"))
    for m in (1024, 4096):
        p, q = torch.randn(m, m, device=dev), torch.randn(m, m, device=dev)
        torch.backends.cuda.matmul.allow_tf32 = False
        ms = timed(lambda: p @ q)
        rows.append((f"matmul f32 {m}^3", ms, 2 * m ** 3 / ms / 1e9, "TFLOP/s"))
    convs = [("conv1 7x7/2", 3, 64, 7, 2, 3, 128), ("layer1 3x3", 64, 64, 3, 1, 1, 32),
             ("layer2 3x3/2", 64, 128, 3, 2, 1, 32), ("layer2 3x3", 128, 128, 3, 1, 1, 16),
             ("layer3 3x3", 256, 256, 3, 1, 1, 8), ("layer4 3x3", 512, 512, 3, 1, 1, 4)]
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    for name, ci, co, k, s, pad, hw in convs:
        xi = torch.randn(8, ci, hw, hw, device=dev, requires_grad=True)
        wi = torch.randn(co, ci, k, k, device=dev, requires_grad=True)
        y = F.conv2d(xi, wi, stride=s, padding=pad)
        gy = torch.randn_like(y)
        flops = 2 * y.numel() * ci * k * k

        def fb():
            yy = F.conv2d(xi, wi, stride=s, padding=pad)
            yy.backward(gy)
        ms = timed(fb)
        rows.append((f"conv2d fwd+bwd {name} b8", ms, 3 * flops / ms / 1e9, "TFLOP/s"))
    small = torch.randn(16, device=dev)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10000):
        small = small + 1
    torch.cuda.synchronize()
    rows.append(("host overhead: small add, per op", (time.perf_counter() - t0) / 10000 * 1e3, 0, "-"))
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name, ms, rate, unit in rows:
        print(f"{name:45s} {ms:10.4f} ms  {rate:10.2f} {unit}")
    if args.bin:
        r = subprocess.run([f"{args.bin}/detforge_bench", "--benchmark_filter=CUDA|Cuda",
                            "--benchmark_format=json", "--benchmark_min_time=0.2"],
                           capture_output=True, text=True)
        try:
            for bm in json.loads(r.stdout)["benchmarks"]:
                print(f"detforge {bm['name']:45s} {bm['real_time']:12.3f} {bm['time_unit']}",
                      {k: v for k, v in bm.items() if k.endswith("/s")})
        except (ValueError, KeyError):
            print("detforge_bench produced no JSON:", r.stderr[-2000:])


if __name__ == "__main__":
    main()
