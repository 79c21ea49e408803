#!/usr/bin/python3
"""PyTorch's side of BM_CenterNetTrainStep (bench/detection/centernet_step_bench.cpp): the
CenterNet ResNet-18 variant (torchvision resnet18 body, 3 up-convolutions 256/128/64 with BN-ReLU,
hm/wh/reg branches with head_conv 64, 80 classes), 128x128 inputs, batch 8, 3 random boxes per
image; one step = zero_grad, forward, targets (numpy, the official ctdet code's semantics, from
scripts/fixtures/gen_centernet_fixtures.py), losses (focal + 0.1 wh L1 + offset L1), backward, AdamW.
Run: /usr/bin/python3 bench/compare/centernet_step_torch_cpu.py [--steps 5]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixtures"))
from gen_centernet_fixtures import targets as build_targets  # noqa: E402

torch.set_num_threads(2)


class CenterNet(nn.Module):
    def __init__(self, num_classes=80, head_conv=64):
        super().__init__()
        r = torchvision.models.resnet18()
        self.body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
        layers, c = [], 512
        for out in (256, 128, 64):
            layers += [nn.ConvTranspose2d(c, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            c = out
        self.deconv = nn.Sequential(*layers)

        def branch(o):
            return nn.Sequential(nn.Conv2d(c, head_conv, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(head_conv, o, 1))
        self.hm, self.wh, self.reg = branch(num_classes), branch(2), branch(2)
        self.hm[-1].bias.data.fill_(-2.19)

    def forward(self, x):
        f = self.deconv(self.body(x))
        return self.hm(f), self.wh(f), self.reg(f)


def neg_loss(logits, gt):
    pred = torch.clamp(logits.sigmoid(), min=1e-4, max=1 - 1e-4)
    pos = gt.eq(1).float()
    neg = gt.lt(1).float()
    pl = (torch.log(pred) * torch.pow(1 - pred, 2) * pos).sum()
    nl = (torch.log(1 - pred) * torch.pow(pred, 2) * torch.pow(1 - gt, 4) * neg).sum()
    n = pos.sum()
    return -nl if n == 0 else -(pl + nl) / n


def reg_l1(out, ind, mask, target):
    b, d = out.shape[:2]
    pred = out.view(b, d, -1).gather(2, ind.unsqueeze(1).expand(b, d, ind.shape[1])).permute(0, 2, 1)
    m = mask.unsqueeze(2).expand_as(pred)
    return torch.nn.functional.l1_loss(pred * m, target * m, reduction="sum") / (m.sum() + 1e-4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.manual_seed(1)
    B, S = 8, 128
    model = CenterNet()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1.25e-4)
    x = torch.randn(B, 3, S, S)
    rng = np.random.RandomState(9)
    boxes, labels = [], []
    for _ in range(B):
        x1, y1 = rng.uniform(0, S * 0.6, 3), rng.uniform(0, S * 0.6, 3)
        boxes.append(np.stack([x1, y1, x1 + rng.uniform(8, S * 0.4, 3), y1 + rng.uniform(8, S * 0.4, 3)], 1)
                     .astype(np.float32))
        labels.append(rng.randint(1, 81, 3))

    def step():
        opt.zero_grad()
        hm, wh, reg = model(x)
        t = [torch.from_numpy(a) for a in build_targets(boxes, labels, 80, S // 4, S // 4, 4, 128)]
        loss = neg_loss(hm, t[0]) + 0.1 * reg_l1(wh, t[3], t[4], t[1]) + reg_l1(reg, t[3], t[4], t[2])
        loss.backward()
        opt.step()

    step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(f"PyTorch CenterNet step: best {B / min(times):.2f} img/s, median {B / sorted(times)[len(times) // 2]:.2f} img/s"
          f" ({min(times) * 1e3:.0f} ms best)")


if __name__ == "__main__":
    main()
