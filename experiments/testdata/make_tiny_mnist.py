#!/usr/bin/env python3
"""Writes a tiny MNIST-format dataset (gzip IDX) into the folder argv[1]:
256 training and 100 test images where class k is a bright bar at one of ten
places over faint clutter, so a small network learns it in an epoch. (Like
tests/e2e/make_idx.py, which is not visible outside its package.)"""
import gzip
import struct
import sys


def split(n, seed):
    state, pixels, labels = seed, bytearray(), bytearray()
    for i in range(n):
        label = (i * 7) % 10
        labels.append(label)
        img = bytearray(28 * 28)
        for p in range(len(img)):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            img[p] = (state >> 16) & 31
        y0, x0 = (label // 5) * 13 + 1, (label % 5) * 5 + 2
        for y in range(y0, y0 + 10):
            for x in range(x0, x0 + 3):
                img[y * 28 + x] = 250
        pixels += img
    return bytes(pixels), bytes(labels)


def write(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(payload)


def main():
    out = sys.argv[1]
    for name, n, seed in (("train", 256, 3), ("t10k", 100, 4)):
        pixels, labels = split(n, seed)
        write(f"{out}/{name}-images-idx3-ubyte.gz", 0x803, (n, 28, 28), pixels)
        write(f"{out}/{name}-labels-idx1-ubyte.gz", 0x801, (n,), labels)


if __name__ == "__main__":
    main()
