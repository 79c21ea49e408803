#!/usr/bin/python3
"""OFA-style elastic convolution in PyTorch on the CPU (2 threads), the baseline of
bench/elastic_conv_bench.cpp: forward + backward of a slice of a 256x256x7x7 max weight (OFA's
DynamicConv2d.get_active_filter: slice [:out, :in], centre crop 7->5->3 through the learned 25x25 /
9x9 kernel transform matrices (F.linear on the flattened kernels), .contiguous(), conv2d), whose
autograd materialises a full-size zero-filled weight gradient per call. Same configurations as the
C++ benchmark: out / in at 25, 50, 75, 100 % of 256 and kernel 3, 5, 7; batch 8, 32x32. Also a
static conv2d of the sliced shape for reference.

  OMP_NUM_THREADS=2 /usr/bin/python3 bench/compare/elastic_torch_cpu.py \
      [--detforge-bench build/bench/detforge_bench] [--rounds 2] [--configs 50,75,3 ...]

With --detforge-bench the script alternates rounds of detforge's BM_ElasticVsStaticCPU (a
subprocess, JSON output) and PyTorch's timings and keeps the best of each side per configuration
(alternating exposes both to the same load on a shared machine), then prints one side-by-side
markdown table. Times are the best single call (ms): PyTorch over >= `--calls` calls, detforge
over its benchmark iterations (elastic_best_ms / static_best_ms counters), best over rounds.
"""
import argparse
import json
import subprocess
import time

import torch
import torch.nn.functional as F

from conv_torch_cpu import timeit  # best single call (ms): timeit(fn, min_time, min_calls)

MAX, BATCH, HW = 256, 8, 32
KS = [3, 5, 7]
PCTS = [25, 50, 75, 100]


def all_configs():
    return [(po, pi, k) for k in KS for po in PCTS for pi in PCTS]


class OfaConv:
    """The max-size parameters of one OFA DynamicConv2d with kernel sizes {3, 5, 7}."""

    def __init__(self, device="cpu"):
        g = torch.Generator().manual_seed(0)
        self.weight = torch.randn(MAX, MAX, 7, 7, generator=g).to(device).requires_grad_(True)
        self.m75 = torch.randn(25, 25, generator=g).to(device).requires_grad_(True)
        self.m53 = torch.randn(9, 9, generator=g).to(device).requires_grad_(True)

    def active_filter(self, out, inp, k):
        f = self.weight[:out, :inp, :, :]
        for src, dst, m in ((7, 5, self.m75), (5, 3, self.m53)):
            if k > dst:
                break
            s = (src - dst) // 2
            t = f[:, :, s:s + dst, s:s + dst].contiguous()
            t = t.view(out * inp, dst * dst)
            t = F.linear(t, m)
            f = t.view(out, inp, dst, dst)
        return f.contiguous()

    def step(self, x, g, out, inp, k):
        y = F.conv2d(x, self.active_filter(out, inp, k), None, 1, k // 2)
        y.backward(g)
        # The weight .grad persists (accumulated in place by AccumulateGrad, like a sandwich
        # step); the input's / matrices' are dropped.
        x.grad = None
        self.m75.grad = None
        self.m53.grad = None


def torch_times(configs, calls, device="cpu"):
    conv = OfaConv(device)
    res = {}
    for po, pi, k in configs:
        out, inp = MAX * po // 100, MAX * pi // 100
        x = torch.randn(BATCH, inp, HW, HW, device=device).requires_grad_(True)
        g = torch.randn(BATCH, out, HW, HW, device=device)
        ofa = timeit(lambda: conv.step(x, g, out, inp, k), 0.3, calls)
        ws = torch.randn(out, inp, k, k, device=device).requires_grad_(True)

        def static():
            y = F.conv2d(x, ws, None, 1, k // 2)
            y.backward(g)
            ws.grad = None
            x.grad = None

        res[(po, pi, k)] = (ofa, timeit(static, 0.3, calls))
    return res


def detforge_times_named(bench, configs, name, keys=("elastic_ms", "static_ms")):
    pattern = "|".join(name + "/out%%:%d/in%%:%d/k:%d/" % c for c in configs)
    out = subprocess.run([bench, "--benchmark_filter=" + pattern, "--benchmark_format=json",
                          "--benchmark_min_time=0.3"], check=True, capture_output=True, text=True)
    res = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        parts = dict(p.split(":") for p in b["name"].split("/")[1:] if ":" in p)
        key = (int(parts["out%"]), int(parts["in%"]), int(parts["k"]))
        res[key] = (b[keys[0]], b[keys[1]])
    return res


def detforge_times(bench, configs):
    # Best single calls, like the PyTorch side here.
    return detforge_times_named(bench, configs, "BM_ElasticVsStaticCPU",
                                ("elastic_best_ms", "static_best_ms"))


def best(a, b):
    return {k: tuple(min(x, y) for x, y in zip(a[k], b[k])) if k in a else b[k] for k in b}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detforge-bench")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", nargs="*", help="out%%,in%%,k triples (default: all 48)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    configs = ([tuple(int(v) for v in c.split(",")) for c in args.configs] if args.configs
               else all_configs())
    tt, dt = {}, {}
    for _ in range(args.rounds):
        if args.detforge_bench:
            dt = best(dt, detforge_times(args.detforge_bench, configs))
        tt = best(tt, torch_times(configs, args.calls))
    print("torch %s, %d threads; ms per forward+backward, best over %d round(s)"
          % (torch.__version__, args.threads, args.rounds))
    hdr = "| out | in | k | torch OFA-style | torch static |"
    sep = "|---|---|---|---|---|"
    if dt:
        hdr += " detforge elastic | detforge static | elastic/static | torch OFA / detforge |"
        sep += "---|---|---|---|"
    print(hdr)
    print(sep)
    for c in configs:
        po, pi, k = c
        row = "| %d | %d | %d | %.2f | %.2f |" % (MAX * po // 100, MAX * pi // 100, k, *tt[c])
        if c in dt:
            e, s = dt[c]
            row += " %.2f | %.2f | %.2f | %.2f |" % (e, s, e / s, tt[c][0] / e)
        print(row)


if __name__ == "__main__":
    main()
