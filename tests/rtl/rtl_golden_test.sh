#!/bin/bash
# Exports golden vectors (2 row tiles x 2 column tiles, sigma 0.1) in several
# variants, compiles the periphery model + testbench with Icarus Verilog and
# checks that every intermediate matches bit for bit.
set -euo pipefail
GOLDEN="$1"; RTL_DIR="$(dirname "$2")"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
command -v iverilog >/dev/null || { echo "iverilog not installed (tools/setup.sh)"; exit 1; }

run_variant() {  # name, exporter flags...
  local name="$1"; shift
  local dir="$TMP/$name"; mkdir -p "$dir"
  "$GOLDEN" --out="$dir" --rows=200 --outputs=48 --batch=4 --sigma=0.1 --seed=3 "$@"
  iverilog -g2005 -Wall -I "$dir" -o "$dir/tb.vvp" "$RTL_DIR/golden_tb.v" "$RTL_DIR/cim_periphery.v" \
    2> "$dir/iverilog.log" || { cat "$dir/iverilog.log"; exit 1; }
  if grep -q warning "$dir/iverilog.log"; then cat "$dir/iverilog.log"; echo "FAIL: iverilog warnings"; exit 1; fi
  local start end
  start=$(date +%s.%N)
  vvp -n "$dir/tb.vvp" +dir="$dir" > "$dir/sim.log" 2>&1 || { cat "$dir/sim.log"; echo "FAIL: $name: vvp exit"; exit 1; }
  end=$(date +%s.%N)
  cat "$dir/sim.log"
  grep -q '^PASS' "$dir/sim.log" || { echo "FAIL: $name: no PASS line"; exit 1; }
  if grep -q 'FAIL' "$dir/sim.log"; then echo "FAIL: $name"; exit 1; fi
  awk -v n="$name" -v a="$start" -v b="$end" 'BEGIN { printf "%s: simulation %.2f s\n", n, b - a }'
}

run_variant lossless --adc_bits=0
run_variant adc8 --adc_bits=8
run_variant adc8_w20_saturating --adc_bits=8 --accumulator_bits=20
run_variant lossless_signed_w24 --adc_bits=0 --signed_inputs --accumulator_bits=24

# Same command twice: byte-identical sets.
mkdir -p "$TMP/again"
"$GOLDEN" --out="$TMP/again" --rows=200 --outputs=48 --batch=4 --sigma=0.1 --seed=3 --adc_bits=8
for f in "$TMP/adc8"/*.hex "$TMP/adc8/manifest.textproto" "$TMP/adc8/golden_params.vh"; do
  cmp "$f" "$TMP/again/$(basename "$f")"
done
grep -q 'accumulator_saturations' "$TMP/adc8_w20_saturating/manifest.textproto" \
  || { echo "FAIL: the W=20 variant should saturate the accumulator"; exit 1; }
# Optional: Verilator lint of the synthesizable modules (skipped when absent).
if command -v verilator >/dev/null; then
  for top in cim_shift_add cim_row_accumulate cim_requantize; do
    verilator --lint-only -Wall -Wno-DECLFILENAME --top-module "$top" "$RTL_DIR/cim_periphery.v" \
      || { echo "FAIL: verilator lint of $top"; exit 1; }
  done
  echo "verilator lint: clean"
else
  echo "verilator not installed: lint skipped"
fi
echo "ALL PASS"
