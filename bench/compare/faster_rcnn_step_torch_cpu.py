#!/usr/bin/python3
"""torchvision 0.14 twin of bench/detection/faster_rcnn_step_bench.cpp: one Faster R-CNN training
step (resnet_fpn_backbone('resnet18', weights=None, trainable_layers=5, norm_layer=BatchNorm2d in
train mode), default RPN / RoI settings, 91 classes incl. background; forward of backbone, rpn
and roi_heads with an ImageList (no GeneralizedRCNNTransform), losses summed, backward, SGD
momentum 0.9) on 8 x 3 x 128 x 128 with the same 3 boxes per image, timed on the CPU.
Usage: /usr/bin/python3 bench/compare/faster_rcnn_step_torch_cpu.py [--batch 8] [--size 128]
       [--threads 2] [--steps 10] [--warmup 2]
"""
import argparse
import statistics
import time

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.image_list import ImageList


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5,
                                   norm_layer=nn.BatchNorm2d)
    model = FasterRCNN(backbone, num_classes=91).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    x = torch.randn(a.batch, 3, a.size, a.size)
    sizes = [(a.size, a.size)] * a.batch
    targets = []
    for i in range(a.batch):
        o = float(4 * (i % 5))
        targets.append({"boxes": torch.tensor([[8 + o, 10, 60 + o, 70], [50, 40 + o, 120, 110],
                                               [20, 80, 50 + o, 120]]),
                        "labels": torch.tensor([1 + i % 90, 7, 42])})
    il = ImageList(x, sizes)
    times = []
    for step in range(a.steps + a.warmup):
        t0 = time.perf_counter()
        feats = model.backbone(x)
        proposals, rpn_losses = model.rpn(il, feats, targets)
        _, roi_losses = model.roi_heads(feats, proposals, sizes, targets)
        loss = sum(rpn_losses.values()) + sum(roi_losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        float(loss)
        dt = time.perf_counter() - t0
        print(f"step {step}: {dt * 1e3:.0f} ms", flush=True)
        if step >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(f"torch {torch.__version__} threads {a.threads}: batch {a.batch} size {a.size}: "
          f"median {med * 1e3:.1f} ms/step, {a.batch / med:.1f} img/s (min {min(times) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
