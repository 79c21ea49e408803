#!/usr/bin/python3
"""torchvision 0.14 twin of bench/detection/retinanet_step_bench.cpp, timed on the CPU with the same thread
count, to compare with `detforge_bench --benchmark_filter=RetinaNetStep_CPU`.

Same model and step: resnet_fpn_backbone("resnet18") with trainable BatchNorm2d (train mode, all layers
trainable), returned_layers [2, 3, 4], LastLevelP6P7(256, 256), RetinaNet head for 80 classes with the
default anchors; model.backbone / model.head / anchor_generator / compute_loss on an ImageList (the
GeneralizedRCNNTransform is bypassed, as detforge's loader already resizes and pads), backward, SGD
(lr 0.01, momentum 0.9). Batch 8 x 3 x 128 x 128, 3 boxes per image.
Usage: /usr/bin/python3 bench/compare/retinanet_step_torch_cpu.py [--batch 8] [--size 128] [--threads 2]
"""
import argparse
import statistics
import time

import torch
from torch import nn
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import RetinaNet
from torchvision.ops.feature_pyramid_network import LastLevelP6P7


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, norm_layer=nn.BatchNorm2d,
                                   trainable_layers=5, returned_layers=[2, 3, 4],
                                   extra_blocks=LastLevelP6P7(256, 256))
    model = RetinaNet(backbone, 80).train()
    b, s = args.batch, float(args.size)
    images = ImageList(torch.randn(b, 3, args.size, args.size), [(args.size, args.size)] * b)
    targets = []
    for i in range(b):
        o = (i % 4) * 0.05 * s
        boxes = torch.tensor([[o, o, o + 0.4 * s, o + 0.5 * s], [0.5 * s, 0.1 * s, 0.9 * s, 0.6 * s],
                              [0.2 * s, 0.6 * s, 0.35 * s, 0.8 * s]])
        # detforge labels 1..80 are torchvision columns 0..79
        targets.append({"boxes": boxes, "labels": torch.tensor([i % 80, 6, 41])})
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        feats = list(model.backbone(images.tensors).values())
        head = model.head(feats)
        anchors = model.anchor_generator(images, feats)
        losses = model.compute_loss(targets, head, anchors)
        loss = losses["classification"] + losses["bbox_regression"]
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(2):
        step()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"torch {torch.__version__} threads={args.threads} batch={b} size={args.size}: "
          f"median {med * 1e3:.1f} ms/step ({b / med:.1f} img/s), min {min(times) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
