#!/bin/sh
echo "nftcim: coverage needs Bazel's remote coverage tools, which need the network" >&2
exit 1
