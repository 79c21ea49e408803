#!/usr/bin/python3
"""Times conv2d on the ResNet-18 shapes of bench/conv_bench.cpp with Debian's PyTorch on the CPU
(2 threads), forward and forward+backward (grad input except conv1, grad weight), and prints a
side-by-side markdown table with detforge's numbers.

  OMP_NUM_THREADS=2 /usr/bin/python3 bench/compare/conv_torch_cpu.py \
      --detforge-bench build/bench/detforge_bench --rounds 3

With --detforge-bench the script alternates rounds of detforge's benchmark (a subprocess, JSON
output) and PyTorch's timings, and keeps the best time of each side per shape: on a shared machine
the minimum is the least noisy estimate and alternating exposes both to the same load. detforge's
side is the best of 30 single-call repetitions, PyTorch's the best of at least 30 single calls.
--detforge-json FILE (repeatable) reads saved Google Benchmark JSON instead.
"""
import argparse
import json
import os
import subprocess
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


def timeit(fn, min_time, min_calls=30):
    """Best single-call time (ms) over at least `min_calls` calls and `min_time` seconds: on a
    shared, oversubscribed machine the fastest call is the least disturbed estimate."""
    for _ in range(2):
        fn()
    best, calls, t_start = float("inf"), 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - t_start < min_time:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return best * 1e3


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


def run_detforge(bench):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    out = subprocess.run([bench, "--benchmark_filter=Conv2d", "--benchmark_format=json",
                          "--benchmark_min_time=0.000001",
                          "--benchmark_repetitions=30"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def detforge_times(data, res):
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        kind = "fwd" if b["name"].startswith("BM_Conv2dForward/") else "fb"
        t = b["real_time"]
        ms = t if b["time_unit"] == "ms" else t / 1e3 if b["time_unit"] == "us" else t / 1e6
        d = res.setdefault(b["label"], {})
        d[kind] = min(d.get(kind, float("inf")), ms)  # best repetition, as for torch
    return res


def merge_min(into, new):
    for k, v in new.items():
        into[k] = tuple(min(a, b) for a, b in zip(into[k], v)) if k in into else v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detforge-json", action="append", default=[])
    ap.add_argument("--detforge-bench")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tt, dt = {}, {}
    for path in a.detforge_json:
        with open(path) as f:
            detforge_times(json.load(f), dt)
    for _ in range(a.rounds):
        if a.detforge_bench:
            detforge_times(run_detforge(a.detforge_bench), dt)
        merge_min(tt, torch_times(a.min_time))
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
