#!/usr/bin/env python3
"""Writes a tiny MNIST-format dataset (gzip IDX files) for command-line tests.

Class k is a bright square in one of ten places over faint clutter, so a
small network learns it in one epoch.
"""
import gzip
import struct
import sys


def images(n, seed):
    state = seed
    out = bytearray()
    labels = bytearray()
    for i in range(n):
        label = i % 10
        labels.append(label)
        img = bytearray(28 * 28)
        for p in range(28 * 28):
            state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
            img[p] = (state >> 24) & 31
        y0, x0 = (label // 5) * 12 + 2, (label % 5) * 5 + 1
        for y in range(y0, y0 + 8):
            for x in range(x0, x0 + 4):
                img[y * 28 + x] = 240
        out += img
    return bytes(out), bytes(labels)


def write(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(payload)


def main():
    out = sys.argv[1]
    for split, n, seed in (("train", 256, 1), ("t10k", 100, 2)):
        pix, lab = images(n, seed)
        write(f"{out}/{split}-images-idx3-ubyte.gz", 0x803, (n, 28, 28), pix)
        write(f"{out}/{split}-labels-idx1-ubyte.gz", 0x801, (n,), lab)


if __name__ == "__main__":
    main()
