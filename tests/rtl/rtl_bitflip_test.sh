#!/bin/bash
# Flips one bit in one golden file and checks that the testbench fails,
# naming the first mismatch with its coordinates.
set -euo pipefail
GOLDEN="$1"; RTL_DIR="$(dirname "$2")"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"

flip() {  # file, 0-based line: flips the lowest bit of that line's value
  python3 - "$1" "$2" <<'PY'
import sys
path, line = sys.argv[1], int(sys.argv[2])
lines = open(path).read().split("\n")
v = lines[line]
lines[line] = format(int(v, 16) ^ 1, "0%dx" % len(v))
open(path, "w").write("\n".join(lines))
PY
}

expect_fail() {  # name, file, line, expected message
  local name="$1" file="$2" line="$3" want="$4"
  local dir="$TMP/$name"; mkdir -p "$dir"
  "$GOLDEN" --out="$dir" --rows=200 --outputs=48 --batch=4 --sigma=0.1 --seed=3 --adc_bits=8 > /dev/null
  iverilog -g2005 -I "$dir" -o "$dir/tb.vvp" "$RTL_DIR/golden_tb.v" "$RTL_DIR/cim_periphery.v"
  vvp -n "$dir/tb.vvp" +dir="$dir" | grep -q '^PASS' || { echo "FAIL: unmodified set does not pass"; exit 1; }
  flip "$dir/$file" "$line"
  local rc=0
  vvp -n "$dir/tb.vvp" +dir="$dir" > "$dir/sim.log" 2>&1 || rc=$?
  cat "$dir/sim.log"
  [ "$rc" -ne 0 ] || { echo "FAIL: $name: vvp exited 0 on a corrupted set"; exit 1; }
  grep -q "$want" "$dir/sim.log" || { echo "FAIL: $name: expected '$want'"; exit 1; }
  if grep -q '^PASS' "$dir/sim.log"; then echo "FAIL: $name: PASS on a corrupted set"; exit 1; fi
  echo "$name: caught (exit $rc)"
}

# B=4, N=48, P=4, J=8: acc.hex line (t*B + b)*N + n; adc.hex line
# (((t*B + b)*J + j)*2 + a)*N*P + n*P + i.
expect_fail acc acc.hex 10 "FAIL: acc mismatch at t=0 b=0 n=10"
expect_fail adc adc.hex 13 "FAIL: tile_y mismatch at t=0 b=0 n=3"
expect_fail adc_tile1 adc.hex $(( (((1*4 + 2)*8 + 5)*2 + 1)*192 + 7*4 + 2 )) "FAIL: tile_y mismatch at t=1 b=2 n=7"
expect_fail out out.hex $(( 3*48 + 20 )) "FAIL: out mismatch at b=3 n=20"
echo "ALL PASS"
