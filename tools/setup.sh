#!/usr/bin/env bash
# Installs every Debian package nftcim needs. Idempotent; works as root or
# through sudo. Nothing else is downloaded: Bazel builds offline from these.
set -euo pipefail

PACKAGES=(
  # Build
  bazel-bootstrap bazel-rules-cc bazel-rules-java g++ pkg-config python3
  # Libraries
  libeigen3-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # Default dataset
  dataset-fashion-mnist
  # RTL simulation of the golden vectors (Verilator only lints)
  iverilog verilator
  # Plots of the experiment report
  gnuplot-nox
  # Sweeps on Slurm, and the test that starts a one-node cluster
  slurm-wlm munge
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "setup.sh: run as root or install sudo (apt-get needs root)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq || echo "setup.sh: apt-get update failed; trying the cached package lists" >&2
for p in "${missing[@]}"; do
  if ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "setup.sh: Debian package '$p' is not available from the configured archive" >&2
    exit 1
  fi
done
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "setup.sh: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi
echo "setup.sh: done"
