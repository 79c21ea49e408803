#!/usr/bin/python3
"""PyTorch twin of the supernet training step (bench/supernet_step_bench.cpp): DetOFA's OFA-ResNet50
supernet written OFA-style (max-size parameters; each forward slices them with [:out, :in] +
contiguous, running BN on the sliced statistics, as once-for-all's Dynamic* layers do), one random
subnet per step from the committed list configs/bench/ofa_resnet50_subnets.json, SGD step.

Architecture (same rules as nn/elastic/elastic_resnet.h, ofa_resnet50 preset):
  stem: 3x3 s2 conv 3->32 + BN + ReLU; y + ReLU(BN(3x3 conv 32->32)); 3x3 conv 32->64 + BN + ReLU;
        3x3 s2 max pool
  stages: planes (64, 128, 256, 512), out = make_divisible(4 * planes * W), mid =
        make_divisible(round(out * E)); depth = (2, 2, 4, 2) + D (first blocks run); stride 2 on
        the first block of stages 2-4 (on the 3x3 conv); 1x1 conv + BN shortcut when stride != 1
        or in != out; head: global average pool + linear.
Usage: /usr/bin/python3 bench/compare/supernet_step_torch_cpu.py [--batch 8] [--size 128]
       [--threads 2] [--steps 3]   (also --gen-configs N to rewrite the committed subnet list)
"""
import argparse
import json
import os
import random
import statistics
import time

import torch
import torch.nn.functional as F

PLANES = (64, 128, 256, 512)
BASE_DEPTH = (2, 2, 4, 2)
D_CHOICES, W_CHOICES, E_CHOICES = (0, 1, 2), (0.65, 0.8, 1.0), (0.2, 0.25, 0.35)
HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "..", "..", "configs", "bench", "ofa_resnet50_subnets.json")


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def stage_out(s, w):
    return make_divisible(PLANES[s] * 4 * w)


def mid_ch(out, e):
    return make_divisible(round(out * e))


def gen_configs(n, res):
    rng = random.Random(0)
    cfgs = []
    for _ in range(n):
        stages = []
        for s in range(4):
            depth = BASE_DEPTH[s] + rng.choice(D_CHOICES)
            stages.append({"depth": depth, "width_mult": rng.choice(W_CHOICES),
                           "expand_ratios": [rng.choice(E_CHOICES) for _ in range(depth)]})
        cfgs.append({"block_type": "bottleneck", "input_resolution": res, "stages": stages})
    return cfgs


class Supernet:
    def __init__(self, classes):
        self.p, self.bn = {}, {}
        def conv(name, cout, cin, k):
            w = torch.empty(cout, cin, k, k)
            torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
            self.p[name] = w.requires_grad_()
        def bn(name, c):
            self.p[name + ".w"] = torch.ones(c, requires_grad=True)
            self.p[name + ".b"] = torch.zeros(c, requires_grad=True)
            self.bn[name] = (torch.zeros(c), torch.ones(c))
        conv("conv1", 32, 3, 3); bn("bn1", 32)
        conv("conv2", 32, 32, 3); bn("bn2", 32)
        conv("conv3", 64, 32, 3); bn("bn3", 64)
        cin = 64
        for s in range(4):
            out = stage_out(s, max(W_CHOICES))
            mid = mid_ch(out, max(E_CHOICES))
            for b in range(BASE_DEPTH[s] + max(D_CHOICES)):
                n = "layer%d.%d" % (s + 1, b)
                conv(n + ".conv1", mid, cin, 1); bn(n + ".bn1", mid)
                conv(n + ".conv2", mid, mid, 3); bn(n + ".bn2", mid)
                conv(n + ".conv3", out, mid, 1); bn(n + ".bn3", out)
                if b == 0:
                    conv(n + ".ds", out, cin, 1); bn(n + ".dsbn", out)
                cin = out
        self.p["fc.w"] = ((torch.rand(classes, cin) * 2 - 1) / cin ** 0.5).requires_grad_()
        self.p["fc.b"] = ((torch.rand(classes) * 2 - 1) / cin ** 0.5).requires_grad_()

    def cbr(self, x, conv, bnn, cout, stride=1, relu=True):
        w = self.p[conv][:cout, :x.shape[1]].contiguous()  # OFA: slice + contiguous
        k = w.shape[-1]
        y = F.conv2d(x, w, None, stride, k // 2)
        rm, rv = self.bn[bnn]
        y = F.batch_norm(y, rm[:cout], rv[:cout], self.p[bnn + ".w"][:cout],
                         self.p[bnn + ".b"][:cout], True, 0.1, 1e-5)
        return F.relu(y) if relu else y

    def forward(self, x, cfg):
        y = self.cbr(x, "conv1", "bn1", 32, 2)
        y = y + self.cbr(y, "conv2", "bn2", 32)
        y = self.cbr(y, "conv3", "bn3", 64)
        y = F.max_pool2d(y, 3, 2, 1)
        for s, st in enumerate(cfg["stages"]):
            out = stage_out(s, st["width_mult"])
            for b in range(st["depth"]):
                n = "layer%d.%d" % (s + 1, b)
                stride = 2 if s > 0 and b == 0 else 1
                mid = mid_ch(out, st["expand_ratios"][b])
                z = self.cbr(y, n + ".conv1", n + ".bn1", mid)
                z = self.cbr(z, n + ".conv2", n + ".bn2", mid, stride)
                z = self.cbr(z, n + ".conv3", n + ".bn3", out, relu=False)
                sc = (self.cbr(y, n + ".ds", n + ".dsbn", out, stride, relu=False)
                      if stride != 1 or y.shape[1] != out else y)
                y = F.relu(z + sc)
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return F.linear(y, self.p["fc.w"][:, :y.shape[1]], self.p["fc.b"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed passes over the subnet list")
    ap.add_argument("--gen-configs", type=int, default=0)
    a = ap.parse_args()
    if a.gen_configs:
        with open(CONFIGS, "w") as f:
            json.dump(gen_configs(a.gen_configs, a.size), f, indent=1)
            f.write("\n")
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfgs = json.load(open(CONFIGS))
    net = Supernet(1000)
    x = torch.randn(a.batch, 3, a.size, a.size)
    t = torch.randint(0, 1000, (a.batch,))
    opt = torch.optim.SGD(list(net.p.values()), lr=0.01, momentum=0.9)

    def step(cfg):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net.forward(x, cfg), t).backward()
        opt.step()

    for cfg in cfgs:  # warm-up: one step per subnet
        step(cfg)
    per_pass = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        for cfg in cfgs:
            step(cfg)
        per_pass.append(time.perf_counter() - t0)
    best, med = min(per_pass), statistics.median(per_pass)
    n_img = a.batch * len(cfgs)
    print("torch %s, %d threads, batch %d at %d, %d subnets: %.1f images/s (best pass %.3f s, "
          "median %.3f s)" % (torch.__version__, a.threads, a.batch, a.size, len(cfgs),
                              n_img / best, best, med))


if __name__ == "__main__":
    main()
