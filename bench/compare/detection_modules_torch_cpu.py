#!/usr/bin/python3
"""Times the cases of bench/detection_modules_bench.cpp with Debian's PyTorch / torchvision on the CPU
(2 threads) and prints a side-by-side markdown table with detforge's numbers (best single call of
each side; rounds alternate the two so both see the same machine load).

  OMP_NUM_THREADS=2 /usr/bin/python3 bench/compare/detection_modules_torch_cpu.py \
      --detforge-bench build/bench/detforge_bench --rounds 2
"""
import argparse
import json
import os
import subprocess
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

DECONV = [("deconv1_512-256_16", 2, 512, 16, 16, 256), ("deconv2_256-128_32", 2, 256, 32, 32, 128),
          ("deconv3_128-64_64", 2, 128, 64, 64, 64)]


def timeit(fn, min_time, min_calls=5):
    for _ in range(2):
        fn()
    best, calls, t0 = float("inf"), 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - t0 < min_time:
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        calls += 1
    return best * 1e3


class CenterNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layers, c = [], 512
        for o in (256, 128, 64):
            layers += [torch.nn.ConvTranspose2d(c, o, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(o),
                       torch.nn.ReLU()]
            c = o
        self.deconv_layers = torch.nn.Sequential(*layers)
        br = lambda k: torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
                                           torch.nn.Conv2d(64, k, 1))
        self.hm, self.wh, self.reg = br(80), br(2), br(2)

    def forward(self, x):
        x = self.deconv_layers(x)
        return self.hm(x), self.wh(x), self.reg(x)


def torch_times(min_time):
    res = {}
    for name, n, c, h, w, o in DECONV:
        x, wt = torch.full((n, c, h, w), 0.5), torch.full((c, o, 4, 4), 0.01)
        with torch.no_grad():
            res[("BM_ConvTranspose2dForward", name)] = timeit(
                lambda: F.conv_transpose2d(x, wt, None, 2, 1), min_time)
        xg, wg = x.clone().requires_grad_(), wt.clone().requires_grad_()

        def fb():
            y = F.conv_transpose2d(xg, wg, None, 2, 1)
            torch.autograd.grad(y, [xg, wg], y.detach())
        res[("BM_ConvTranspose2dForwardBackward", name)] = timeit(fb, min_time)
    fpn = FeaturePyramidNetwork([256, 512, 1024, 2048], 256, LastLevelMaxPool()).eval()
    feats = OrderedDict((str(i), torch.full((1, c, 64 >> i, 64 >> i), 0.1))
                        for i, c in enumerate([256, 512, 1024, 2048]))
    head = RetinaNetHead(256, 9, 80).eval()
    levels = [torch.full((1, 256, s, s), 0.1) for s in (32, 16, 8, 4, 2)]
    cn, c5 = CenterNet().eval(), torch.full((1, 512, 16, 16), 0.1)
    with torch.no_grad():
        res[("BM_FpnForward", "")] = timeit(lambda: fpn(feats), min_time)
        res[("BM_RetinaNetHeadForward", "")] = timeit(lambda: head(levels), min_time)
        res[("BM_CenterNetHeadForward", "")] = timeit(lambda: cn(c5), min_time)
    return res


def detforge_times(bench, res):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    out = subprocess.run([bench, "--benchmark_filter=ConvTranspose2d|Fpn|RetinaNetHead|CenterNetHead",
                          "--benchmark_format=json", "--benchmark_min_time=0.000001",
                          "--benchmark_repetitions=5"], env=env, check=True, capture_output=True, text=True)
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        key = (b["name"].split("/")[0], b.get("label", ""))
        t = b["real_time"]
        ms = t if b["time_unit"] == "ms" else t / 1e3 if b["time_unit"] == "us" else t / 1e6
        res[key] = min(res.get(key, float("inf")), ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--detforge-bench")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=0.5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tt, dt = {}, {}
    for _ in range(a.rounds):
        if a.detforge_bench:
            detforge_times(a.detforge_bench, dt)
        for k, v in torch_times(a.min_time).items():
            tt[k] = min(tt.get(k, float("inf")), v)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| case | torch ms | detforge ms | ratio |")
    print("|---|---:|---:|---:|")
    for k, v in tt.items():
        d = dt.get(k)
        print(f"| {k[0]} {k[1]} | {v:.2f} | {d:.2f} | {d / v:.2f}x |" if d else f"| {k[0]} {k[1]} | {v:.2f} | - | - |")


if __name__ == "__main__":
    main()
