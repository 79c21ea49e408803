#!/usr/bin/python3
"""Times conv2d on the ResNet-18 shapes of bench/conv_bench.cpp with Debian's PyTorch on the CPU
(2 threads), forward and forward+backward (grad input except conv1, grad weight), and prints a
side-by-side markdown table with detforge's numbers when given its Google Benchmark JSON:

  OMP_NUM_THREADS=2 ./build/bench/detforge_bench --benchmark_filter=Conv2d \
      --benchmark_format=json --benchmark_out=conv.json
  /usr/bin/python3 bench/compare/conv_torch_cpu.py --detforge-json conv.json
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

SHAPES = [  # name, n, c, h, w, o, k, stride, pad  (same order as kShapes in conv_bench.cpp)
    ("conv1_7x7s2_3-64_128", 8, 3, 128, 128, 64, 7, 2, 3),
    ("layer1_3x3_64-64_32", 8, 64, 32, 32, 64, 3, 1, 1),
    ("layer2_3x3s2_64-128_32", 8, 64, 32, 32, 128, 3, 2, 1),
    ("layer2_3x3_128-128_16", 8, 128, 16, 16, 128, 3, 1, 1),
    ("layer2_1x1s2_64-128_32", 8, 64, 32, 32, 128, 1, 2, 0),
    ("layer3_3x3s2_128-256_16", 8, 128, 16, 16, 256, 3, 2, 1),
    ("layer3_3x3_256-256_8", 8, 256, 8, 8, 256, 3, 1, 1),
    ("layer4_3x3s2_256-512_8", 8, 256, 8, 8, 512, 3, 2, 1),
    ("layer4_3x3_512-512_4", 8, 512, 4, 4, 512, 3, 1, 1),
]


def timeit(fn, min_time):
    for _ in range(3):
        fn()
    reps, t0 = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        el = time.perf_counter() - t0
        if el >= min_time and reps >= 5:
            return el / reps * 1e3  # ms


def torch_times(min_time):
    res = {}
    for name, n, c, h, w, o, k, s, p in SHAPES:
        x = torch.full((n, c, h, w), 0.5)
        wt = torch.full((o, c, k, k), 0.01)
        with torch.no_grad():
            fwd = timeit(lambda: F.conv2d(x, wt, None, s, p), min_time)
        xg = x.clone().requires_grad_(c != 3)
        wg = wt.clone().requires_grad_(True)

        def fb():
            y = F.conv2d(xg, wg, None, s, p)
            torch.autograd.grad(y, [t for t in (xg, wg) if t.requires_grad], y.detach())

        res[name] = (fwd, timeit(fb, min_time))
    return res


def detforge_times(path):
    res = {}
    with open(path) as f:
        data = json.load(f)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        kind = "fwd" if b["name"].startswith("BM_Conv2dForward/") else "fb"
        t = b["real_time"]
        ms = t if b["time_unit"] == "ms" else t / 1e3 if b["time_unit"] == "us" else t / 1e6
        res.setdefault(b["label"], {})[kind] = ms
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detforge-json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tt = torch_times(a.min_time)
    dt = detforge_times(a.detforge_json) if a.detforge_json else {}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn={torch.backends.mkldnn.is_available()}")
    print("| shape | torch fwd ms | detforge fwd ms | ratio | torch fwd+bwd ms | detforge fwd+bwd ms | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, *_ in SHAPES:
        tf, tb = tt[name]
        d = dt.get(name, {})
        df, db = d.get("fwd"), d.get("fb")
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"
        rf = f"{df / tf:.2f}x" if df else "-"
        rb = f"{db / tb:.2f}x" if db else "-"
        print(f"| {name} | {tf:.2f} | {fmt(df)} | {rf} | {tb:.2f} | {fmt(db)} | {rb} |")


if __name__ == "__main__":
    main()
