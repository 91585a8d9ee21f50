#!/usr/bin/python3
"""PyTorch side of the throughput comparison with //trainer:bench.

Same network (VGG-8 at a width multiplier, 1x32x32 input, 10 classes), batch,
and method; a training step is: draw the variation, all forward passes,
backward, Adam step. Inference is an eval-mode forward with one variation
instance. No data loading on either side. Set up as ../shared/docs/measuring.md
says: Debian's python3-torch with OpenBLAS (libopenblas0-openmp), two threads,
channels_last. Prints one JSON line per method, like //trainer:bench.

  /usr/bin/python3 tools/pytorch_bench.py --width 0.25 --batch 128 --threads 2
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled(c, width):
    return max(1, round(c * width))


class Vgg8(nn.Module):
    def __init__(self, width, in_ch=1, classes=10):
        super().__init__()
        ch = [scaled(c, width) for c in (64, 128, 256, 256, 512, 512)]
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        prev = in_ch
        for c in ch:
            self.convs.append(nn.Conv2d(prev, c, 3, padding=1, bias=False))
            self.bns.append(nn.BatchNorm2d(c))
            prev = c
        hidden = scaled(1024, width)
        self.fc1 = nn.Linear(ch[-1] * 16, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.snap_channels = [ch[0], ch[1], ch[3]]

    def weights(self):
        return [c.weight for c in self.convs] + [self.fc1.weight, self.fc2.weight]

    def forward(self, x, noisy=None, snapshots=False):
        ws = noisy if noisy is not None else self.weights()
        snaps = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            x = F.relu(bn(F.conv2d(x, ws[i], padding=1)))
            if i == 0:
                snaps.append(x)
            if i in (1, 3, 5):
                x = F.max_pool2d(x, 2)
                if i in (1, 3):
                    snaps.append(x)
        x = torch.flatten(x, 1)
        x = F.relu(F.linear(x, ws[6], self.fc1.bias))
        x = F.linear(x, ws[7], self.fc2.bias)
        return (x, snaps) if snapshots else x


class Head(nn.Module):
    def __init__(self, c, s, hidden, classes):
        super().__init__()
        self.s = s
        self.fc1 = nn.Linear(c * s * s, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def weights(self):
        return [self.fc1.weight, self.fc2.weight]

    def forward(self, x, noisy):
        x = torch.flatten(F.adaptive_avg_pool2d(x, self.s), 1)
        x = F.relu(F.linear(x, noisy[0], self.fc1.bias))
        return F.linear(x, noisy[1], self.fc2.bias)


def noisy(weights, sigma):
    # The closed form of the device model for a level-independent device:
    # std = 0.77763 * sigma * W_max per layer; the noise is not differentiated.
    out = []
    for w in weights:
        std = 0.77763 * sigma * w.detach().abs().max()
        out.append(w + torch.randn_like(w) * std)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default="vanilla,noise,ovf,irs")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--channels_last", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    x = (torch.rand(args.batch, 1, 32, 32) * 2 - 1).to(memory_format=fmt)
    y = torch.arange(args.batch) % 10
    sigma, beta = 0.2, 1e-3
    for method in args.methods.split(","):
        model = Vgg8(args.width).to(memory_format=fmt)
        heads = nn.ModuleList(
            Head(c, s, scaled(512, args.width), 10)
            for c, s in zip(model.snap_channels, (6, 4, 3)))
        params = list(model.parameters()) + (list(heads.parameters()) if method == "irs" else [])
        opt = torch.optim.Adam(params, lr=1e-3)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            if method == "vanilla":
                loss = F.cross_entropy(model(x), y)
            elif method == "noise":
                loss = F.cross_entropy(model(x, noisy(model.weights(), sigma)), y)
            elif method == "ovf":
                ob = model(x, noisy(model.weights(), sigma))
                fb = [model(x, noisy(model.weights(), sigma + k * 0.05)) for k in (3, 2, 1)]
                f = sum(a * o for a, o in zip((1, 0.1, 0.01), fb))
                loss = F.cross_entropy((ob - beta * f) / 4, y)
            else:
                ob, snaps = model(x, noisy(model.weights(), sigma), snapshots=True)
                fb = [h(s, noisy(h.weights(), sigma)) for h, s in zip(heads, snaps)]
                f = sum(a * o for a, o in zip((1, 0.1, 0.01), fb))
                loss = F.cross_entropy((ob - beta * f) / 4, y)
            loss.backward()
            opt.step()

        train = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            step()
            if i >= args.warmup:
                train.append(time.perf_counter() - t0)
        model.eval()
        infer = []
        with torch.no_grad():
            w = noisy(model.weights(), sigma)
            for i in range(args.warmup + args.steps):
                t0 = time.perf_counter()
                model(x, w)
                if i >= args.warmup:
                    infer.append(time.perf_counter() - t0)
        print(json.dumps({
            "framework": "pytorch " + torch.__version__, "width": args.width,
            "method": method, "batch": args.batch, "threads": args.threads,
            "train_images_per_second": round(args.batch / statistics.median(train), 1),
            "infer_images_per_second": round(args.batch / statistics.median(infer), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }), flush=True)


if __name__ == "__main__":
    main()
