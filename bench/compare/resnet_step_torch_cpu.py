#!/usr/bin/python3
"""PyTorch twin of nn/functional_resnet.cpp's training step, timed on the CPU with the same thread
count, to compare with `detforge_bench --benchmark_filter=ResNetStep`.

Same ops in the same order: conv (no bias) -> batch_norm(train) -> relu, maxpool 3x3/2, BasicBlocks
with 1x1 downsample, adaptive avg pool, linear, cross_entropy, backward, plain SGD update.
Usage: /usr/bin/python3 bench/compare/resnet_step_torch_cpu.py [--batch 8] [--size 128] [--threads 2]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def make_params(classes, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2)):
    params, running = [], []

    def conv(cout, cin, k):
        w = torch.empty(cout, cin, k, k)
        torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
        params.extend([w.requires_grad_(), torch.ones(cout, requires_grad=True), torch.zeros(cout, requires_grad=True)])
        running.append((torch.zeros(cout), torch.ones(cout)))

    conv(widths[0], 3, 7)
    cin = widths[0]
    for s, wd in enumerate(widths):
        for b in range(blocks[s]):
            stride = 2 if s > 0 and b == 0 else 1
            conv(wd, cin, 3)
            conv(wd, wd, 3)
            if stride != 1 or cin != wd:
                conv(wd, cin, 1)
            cin = wd
    params.append((torch.rand(classes, cin) * 2 - 1).div_(cin ** 0.5).requires_grad_())
    params.append((torch.rand(classes) * 2 - 1).div_(cin ** 0.5).requires_grad_())
    return params, running


def forward(x, params, running, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2)):
    it, rit = iter(params), iter(running)

    def conv_bn(x, stride, pad, relu):
        w, g, b = next(it), next(it), next(it)
        rm, rv = next(rit)
        y = F.batch_norm(F.conv2d(x, w, stride=stride, padding=pad), rm, rv, g, b, training=True)
        return F.relu(y) if relu else y

    x = conv_bn(x, 2, 3, True)
    x = F.max_pool2d(x, 3, 2, 1)
    cin = widths[0]
    for s, wd in enumerate(widths):
        for b in range(blocks[s]):
            stride = 2 if s > 0 and b == 0 else 1
            y = conv_bn(x, stride, 1, True)
            y = conv_bn(y, 1, 1, False)
            sc = conv_bn(x, stride, 0, False) if (stride != 1 or cin != wd) else x
            x = F.relu(y + sc)
            cin = wd
    x = F.adaptive_avg_pool2d(x, 1).flatten(1)
    return F.linear(x, next(it), next(it))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    params, running = make_params(10)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.arange(a.batch) % 10
    times = []
    for step in range(a.steps + 2):
        t0 = time.perf_counter()
        loss = F.cross_entropy(forward(x, params, running), y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=0.05)
                p.grad = None
        if step >= 2:
            times.append(time.perf_counter() - t0)
    print(f"torch {torch.__version__} threads {a.threads}: ResNet-18 stack train step, batch {a.batch} x 3 x "
          f"{a.size} x {a.size}: median {statistics.median(times) * 1e3:.1f} ms over {len(times)} steps")


if __name__ == "__main__":
    main()
