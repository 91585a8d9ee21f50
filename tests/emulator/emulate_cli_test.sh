#!/usr/bin/env bash
# End-to-end test of the emulator's front doors on a tiny generated dataset:
# //trainer:train -> //firmware_model:compile -> //emulator:emulate. Checks
# the JSON shape, byte-identical results for the same seed and for 1 vs 2
# threads, reference path == fast path, the --adc_bits override, and clear
# errors (non-zero exit, a message naming the problem) for bad input.
set -euo pipefail

train="$1"
compile="$2"
emulate="$3"
make_idx="$4"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
data="$tmp/data"
mkdir -p "$data"
python3 "$make_idx" "$data"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train" --dataset=mnist --data_dir="$data" --train_limit=0 --test_limit=0 --width=0.125 \
  --method=noise --sigma=0.1 --epochs=1 --batch=32 --threads=2 --eval_runs=1 --out="$tmp/run" \
  > "$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; fail "train exited non-zero"; }

# 1. Compile: the model file, the layer table, the agreement line.
"$compile" --checkpoint="$tmp/run/checkpoint.pb" --out="$tmp/model.pb" --calibration_images=64 \
  > "$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; fail "compile exited non-zero"; }
[ -s "$tmp/model.pb" ] || fail "no model.pb"
grep -q "conv1 .*CONV" "$tmp/compile.log" || { cat "$tmp/compile.log"; fail "no layer table"; }
grep -q "agrees with the float model" "$tmp/compile.log" || fail "no agreement line"

# 2. Emulate: the table and the documented JSON.
em=(--model="$tmp/model.pb" --data_dir="$data" --sigmas=0,0.2 --runs=3 --seed=7)
"$emulate" "${em[@]}" --threads=1 --json="$tmp/t1.json" > "$tmp/t1.log" 2>&1 \
  || { cat "$tmp/t1.log"; fail "emulate exited non-zero"; }
grep -q "ADC sat." "$tmp/t1.log" || { cat "$tmp/t1.log"; fail "no table with ADC saturations"; }
python3 - "$tmp/t1.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j["results"]
assert [x["sigma"] for x in r] == [0, 0.2], r
assert r[0]["runs"] == 1 and r[1]["runs"] == 3, r
for x in r:
    for k in ("mean_accuracy", "std", "ci95", "ekl", "images", "adc_saturations"):
        assert k in x, (k, x)
    assert 0 <= x["mean_accuracy"] <= 100
assert j["adc_bits"] == 0 and j["path"] == "fast", j
assert len(j["emulator"]["programming_checksums"][1]) == 3, j
PY

# 3. Determinism: same seed again, and two threads, byte-identical.
"$emulate" "${em[@]}" --threads=1 --json="$tmp/t1b.json" > /dev/null 2>&1 || fail "rerun"
"$emulate" "${em[@]}" --threads=2 --batch=5 --json="$tmp/t2.json" > /dev/null 2>&1 || fail "2 threads"
cmp -s "$tmp/t1.json" "$tmp/t1b.json" || { diff "$tmp/t1.json" "$tmp/t1b.json"; fail "same seed differs"; }
cmp -s "$tmp/t1.json" "$tmp/t2.json" || { diff "$tmp/t1.json" "$tmp/t2.json"; fail "1 vs 2 threads differ"; }

# 4. The reference path gives the same results (on a few images).
few=(--model="$tmp/model.pb" --data_dir="$data" --sigmas=0.3 --runs=1 --test_limit=3)
"$emulate" "${few[@]}" --path=reference --json="$tmp/ref.json" > /dev/null 2>&1 || fail "reference"
"$emulate" "${few[@]}" --path=fast --json="$tmp/fast.json" > /dev/null 2>&1 || fail "fast"
sed -i 's/"path": "[a-z]*", //' "$tmp/ref.json" "$tmp/fast.json"
cmp -s "$tmp/ref.json" "$tmp/fast.json" || { diff "$tmp/ref.json" "$tmp/fast.json"; fail "paths differ"; }

# 5. An 8-bit ADC re-targeted at run time.
"$emulate" "${few[@]}" --adc_bits=8 --json="$tmp/adc8.json" > /dev/null 2>&1 || fail "--adc_bits=8"
grep -q '"adc_bits": 8' "$tmp/adc8.json" || fail "adc_bits not recorded"

# 6. Bad input: a clear message and a non-zero exit.
expect_error() {
  local pattern="$1"; shift
  if "$@" > "$tmp/err.log" 2>&1; then fail "expected failure: $*"; fi
  grep -q -- "$pattern" "$tmp/err.log" || { cat "$tmp/err.log"; fail "message lacks '$pattern'"; }
}
echo "not a model" > "$tmp/garbage.pb"
expect_error "garbage.pb" "$emulate" --model="$tmp/garbage.pb" --data_dir="$data"
expect_error "missing.pb" "$emulate" --model="$tmp/missing.pb" --data_dir="$data"
expect_error "--model is required" "$emulate" --data_dir="$data"
expect_error "--sigmas" "$emulate" --model="$tmp/model.pb" --sigmas=0,abc
expect_error "--path" "$emulate" --model="$tmp/model.pb" --path=quick
expect_error "--runs must be >= 1" "$emulate" --model="$tmp/model.pb" --runs=0
expect_error "--device" "$emulate" --model="$tmp/model.pb" --device=unobtainium
# A checkpoint is not a deployable model.
expect_error "not a valid binary nftcim.formats.DeployableModel" "$emulate" --model="$tmp/run/checkpoint.pb" \
  --data_dir="$data"
# A lossless ADC into a 32-bit accumulator cannot be proven (hardware-spec 6.3).
cat > "$tmp/w32.textproto" <<'EOF'
format_version: 1
array_rows: 128 array_cols: 128 weight_bits: 8 cell_bits: 2
conductance_frac_bits: 8 conductance_code_bits: 16
dac_bits: 1 activation_bits: 8 adc_bits: 0 accumulator_bits: 32
EOF
expect_error "can saturate the 32-bit accumulator" "$compile" --checkpoint="$tmp/run/checkpoint.pb" \
  --hw="$tmp/w32.textproto" --out="$tmp/w32.pb" --calibration_images=8
[ ! -e "$tmp/w32.pb" ] || fail "a failed compile wrote its output"
expect_error "--hw" "$compile" --checkpoint="$tmp/run/checkpoint.pb" --hw="$tmp/none.textproto" \
  --out="$tmp/x.pb"
expect_error "garbage.pb" "$compile" --checkpoint="$tmp/garbage.pb" --out="$tmp/x.pb"
echo "PASS"
