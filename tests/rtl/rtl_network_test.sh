#!/bin/bash
# Replays every crossbar layer of the checked-in network golden sets
# (tests/golden: VGG-8 width 1/32 with an 8-bit ADC, with a saturating 4-bit
# unipolar ADC and with saturating 16-bit accumulators; a ResNet-18 with a
# lossless ADC, sigma 0.1) through the periphery model with Icarus Verilog,
# and, when Verilator is installed, two layers of the first set through a
# Verilator build of the same testbench. Every tile output, accumulation,
# requantizer t and output is checked bit for bit; the last layer of each
# set is the signed int32 logits path (OUT_SIGNED).
#   rtl_network_test.sh golden_tb.v FIRST_SET [MORE_SETS...]
set -euo pipefail
RTL_DIR="$(dirname "$1")"
SET="$2"
shift
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
command -v iverilog >/dev/null || { echo "iverilog not installed (tools/setup.sh)"; exit 1; }
layers=0
total_start=$(date +%s.%N)
for set_dir in "$@"; do
set_layers=0
for dir in "$set_dir"/layer*; do
  [ -f "$dir/golden_params.vh" ] || continue   # pooling / flatten: no crossbar
  name="$(basename "$(dirname "$set_dir")")/$(basename "$dir")"
  mkdir -p "$TMP/$name"
  iverilog -g2005 -Wall -I "$dir" -o "$TMP/$name/tb.vvp" "$RTL_DIR/golden_tb.v" "$RTL_DIR/cim_periphery.v" \
    2> "$TMP/$name/iverilog.log" || { cat "$TMP/$name/iverilog.log"; exit 1; }
  if grep -q warning "$TMP/$name/iverilog.log"; then cat "$TMP/$name/iverilog.log"; echo "FAIL: iverilog warnings"; exit 1; fi
  vvp -n "$TMP/$name/tb.vvp" +dir="$dir" > "$TMP/$name/sim.log" 2>&1 \
    || { cat "$TMP/$name/sim.log"; echo "FAIL: $name: vvp exit"; exit 1; }
  grep -q '^PASS' "$TMP/$name/sim.log" || { cat "$TMP/$name/sim.log"; echo "FAIL: $name: no PASS line"; exit 1; }
  echo "icarus $name: $(grep '^PASS' "$TMP/$name/sim.log")"
  layers=$((layers + 1))
  set_layers=$((set_layers + 1))
done
[ "$set_layers" -ge 1 ] || { echo "FAIL: $set_dir has no crossbar layer"; exit 1; }
done
total_end=$(date +%s.%N)
[ "$layers" -ge 8 ] || { echo "FAIL: expected at least 8 crossbar layers, found $layers"; exit 1; }
awk -v n="$layers" -v a="$total_start" -v b="$total_end" \
  'BEGIN { printf "icarus: %d layers in %.2f s (compile + simulation)\n", n, b - a }'

if command -v verilator >/dev/null && [ -z "${NFTCIM_SKIP_VERILATOR:-}" ]; then
  # One model per layer (its parameters are compile-time `defines).
  for dir in "$SET"/layer07_* "$SET"/layer11_*; do   # two row tiles; the signed logits
    name=$(basename "$dir")
    obj="$TMP/verilator_$name"
    verilator --binary --timing -Wno-fatal -Wno-lint -Wno-style -I"$dir" --top-module golden_tb \
      -Mdir "$obj" -o tb "$RTL_DIR/golden_tb.v" "$RTL_DIR/cim_periphery.v" > "$obj.log" 2>&1 \
      || { tail -30 "$obj.log"; echo "FAIL: verilator build of $name"; exit 1; }
    "$obj/tb" +dir="$dir" > "$obj.sim.log" 2>&1 || { cat "$obj.sim.log"; echo "FAIL: verilator $name"; exit 1; }
    grep -q '^PASS' "$obj.sim.log" || { cat "$obj.sim.log"; echo "FAIL: verilator $name: no PASS"; exit 1; }
    echo "verilator $name: $(grep '^PASS' "$obj.sim.log")"
  done
else
  echo "verilator not installed (or NFTCIM_SKIP_VERILATOR set): Verilator run skipped"
fi
echo "ALL PASS"
