#!/usr/bin/python3
"""GPU side by side in one call: OFA-style elastic convolution in PyTorch (slice + crop through the
7->5->3 transforms + contiguous + conv2d, full-size zero-filled weight gradient per call; see
elastic_torch_cpu.py) vs detforge's elastic_conv2d (BM_ElasticVsStaticCUDA of
bench/elastic_conv_bench.cpp, run as a subprocess), forward + backward, same configurations (out /
in 25..100 % of 256, kernel 3 / 5 / 7, batch 8, 32x32, float32).

  /usr/bin/python3 bench/compare/elastic_torch_gpu.py \
      --detforge-bench build-cuda/bench/detforge_bench [--rounds 3] [--configs 50,75,3 ...]

PyTorch is timed with CUDA events around each call (median of --calls calls after warm-up; cuDNN
benchmark mode on so each shape gets its best algorithm, as detforge's per-shape algorithm cache
does). detforge reports the median per call (device synchronize after each). The issue's bound:
detforge elastic >= 1.5x faster than PyTorch OFA-style (column "torch OFA / detforge").
"""
import argparse
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elastic_torch_cpu import MAX, BATCH, HW, OfaConv, all_configs, best, detforge_times_named  # noqa: E402


def cuda_time(fn, calls):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(calls):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def torch_times(configs, calls):
    conv = OfaConv("cuda")
    res = {}
    for po, pi, k in configs:
        out, inp = MAX * po // 100, MAX * pi // 100
        x = torch.randn(BATCH, inp, HW, HW, device="cuda").requires_grad_(True)
        g = torch.randn(BATCH, out, HW, HW, device="cuda")
        ofa = cuda_time(lambda: conv.step(x, g, out, inp, k), calls)
        ws = torch.randn(out, inp, k, k, device="cuda").requires_grad_(True)

        def static():
            F.conv2d(x, ws, None, 1, k // 2).backward(g)
            ws.grad = None
            x.grad = None

        res[(po, pi, k)] = (ofa, cuda_time(static, calls))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detforge-bench", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--configs", nargs="*", help="out%%,in%%,k triples (default: all 48)")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    configs = ([tuple(int(v) for v in c.split(",")) for c in args.configs] if args.configs
               else all_configs())
    tt, dt = {}, {}
    for _ in range(args.rounds):
        dt = best(dt, detforge_times_named(args.detforge_bench, configs, "BM_ElasticVsStaticCUDA"))
        tt = best(tt, torch_times(configs, args.calls))
    print("torch %s on %s; ms per forward+backward (medians), best over %d round(s)"
          % (torch.__version__, torch.cuda.get_device_name(), args.rounds))
    print("| out | in | k | torch OFA-style | torch static | detforge elastic | detforge static |"
          " elastic/static | torch OFA / detforge |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        po, pi, k = c
        e, s = dt.get(c, (float("nan"), float("nan")))
        print("| %d | %d | %d | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f |"
              % (MAX * po // 100, MAX * pi // 100, k, tt[c][0], tt[c][1], e, s, e / s,
                 tt[c][0] / e))


if __name__ == "__main__":
    main()
