#!/usr/bin/env python3
"""Writes a small MNIST-format dataset (gzip IDX files) for the emulator's
command-line test: class k is a bright 6x6 block at one of ten places over
faint clutter, learnable by a small VGG-8 in one epoch."""
import gzip
import struct
import sys


def images(n, seed):
    state = seed
    pixels, labels = bytearray(), bytearray()

    def rand(k):
        nonlocal state
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        return (state >> 8) % k

    for i in range(n):
        label = rand(10)
        labels.append(label)
        img = bytearray(rand(48) for _ in range(28 * 28))
        y0, x0 = (label // 5) * 13 + 2 + rand(3), (label % 5) * 5 + rand(2)
        value = 160 + rand(96)
        for y in range(y0, y0 + 6):
            for x in range(x0, x0 + 6):
                img[y * 28 + x] = value
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
    for split, n, seed in (("train", 320, 11), ("t10k", 60, 12)):
        pix, lab = images(n, seed)
        write(f"{out}/{split}-images-idx3-ubyte.gz", 0x803, (n, 28, 28), pix)
        write(f"{out}/{split}-labels-idx1-ubyte.gz", 0x801, (n,), lab)


if __name__ == "__main__":
    main()
