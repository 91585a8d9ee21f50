#!/usr/bin/env bash
# End-to-end test of the trainer's front doors on a tiny generated dataset:
# train writes a checkpoint and metrics, --resume continues a run, evaluate
# prints and writes the Monte Carlo JSON, and bad flags fail clearly.
set -euo pipefail

train="$1"
evaluate="$2"
make_idx="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
data="$tmp/data"
mkdir -p "$data"
python3 "$make_idx" "$data"

fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--dataset=mnist --data_dir="$data" --train_limit=0 --test_limit=0 --width=0.125
        --batch=32 --threads=2 --eval_runs=2)

# 1. Train two epochs in one go.
"$train" "${common[@]}" --method=irs --epochs=2 --out="$tmp/straight" > "$tmp/straight.log" 2>&1 \
  || { cat "$tmp/straight.log"; fail "train exited non-zero"; }
[ -s "$tmp/straight/checkpoint.pb" ] || fail "no checkpoint.pb"
grep -q '"monte_carlo"' "$tmp/straight/metrics.json" || fail "metrics.json lacks monte_carlo"
grep -q '"epoch": 2' "$tmp/straight/metrics.json" || fail "metrics.json lacks epoch 2"
grep -q "Monte Carlo inference" "$tmp/straight.log" || fail "no table printed"

# 2. Stop after the first epoch (as a killed run), resume to two: the model
#    must be the one the uninterrupted run made (same Monte Carlo JSON).
code=0
"$train" "${common[@]}" --method=irs --epochs=2 --stop_after_epoch=1 --out="$tmp/resumed" \
  > /dev/null 2>&1 || code=$?
[ "$code" -eq 3 ] || fail "--stop_after_epoch should exit 3, got $code"
grep -q '"epoch": 2' "$tmp/resumed/metrics.json" && fail "stopped run already has epoch 2"
"$train" --resume --out="$tmp/resumed" --threads=2 --eval_runs=2 > "$tmp/resume.log" 2>&1 \
  || { cat "$tmp/resume.log"; fail "resume exited non-zero"; }
grep -q "resuming after epoch 1 of 2" "$tmp/resume.log" || fail "resume did not start at epoch 2"
grep -q '"epoch": 2' "$tmp/resumed/metrics.json" || fail "resumed metrics.json lacks epoch 2"
for run in straight resumed; do
  "$evaluate" --checkpoint="$tmp/$run/checkpoint.pb" --data_dir="$data" --sigmas=0,0.2 \
    --runs=2 --json="$tmp/$run.json" > /dev/null 2>&1 || fail "evaluate $run"
done
sed -i 's/"checkpoint": "[^"]*", //' "$tmp/straight.json" "$tmp/resumed.json"
cmp -s "$tmp/straight.json" "$tmp/resumed.json" \
  || { diff "$tmp/straight.json" "$tmp/resumed.json"; fail "resumed model differs"; }

# 3. Evaluate writes the documented JSON shape.
"$evaluate" --checkpoint="$tmp/straight/checkpoint.pb" --data_dir="$data" --sigmas=0,0.1 \
  --runs=3 --seed=1 --json="$tmp/eval.json" > "$tmp/eval.log" 2>&1 \
  || { cat "$tmp/eval.log"; fail "evaluate exited non-zero"; }
python3 - "$tmp/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
assert [x["sigma"] for x in r] == [0, 0.1], r
assert r[1]["runs"] == 3 and r[0]["runs"] == 1, r
for x in r:
    for k in ("mean_accuracy", "std", "ci95", "ekl"):
        assert k in x, (k, x)
    assert 0 <= x["mean_accuracy"] <= 100
PY

# 4. Bad input: clear message, non-zero exit, nothing overwritten.
expect_error() {
  local pattern="$1"; shift
  if "$@" > "$tmp/err.log" 2>&1; then fail "expected failure: $*"; fi
  grep -q -- "$pattern" "$tmp/err.log" || { cat "$tmp/err.log"; fail "message lacks '$pattern'"; }
}
expect_error "unknown method" "$train" "${common[@]}" --method=magic --out="$tmp/x"
expect_error "--sigma must be >= 0" "$train" "${common[@]}" --sigma=-0.1 --out="$tmp/x"
expect_error "--width must be > 0" "$train" "${common[@]}" --width=0 --out="$tmp/x"
expect_error "--beta must be in \[0, 1\]" "$train" "${common[@]}" --beta=2 --out="$tmp/x"
echo "not a checkpoint" > "$tmp/garbage.pb"
expect_error "garbage.pb" "$evaluate" --checkpoint="$tmp/garbage.pb" --data_dir="$data"
expect_error "missing.pb" "$evaluate" --checkpoint="$tmp/missing.pb"
expect_error "--sigmas" "$evaluate" --checkpoint="$tmp/straight/checkpoint.pb" --sigmas=0,abc

# 5. Validation split: train holds out the last V training images, evaluate
#    --split=validation measures on exactly those.
"$train" "${common[@]}" --method=ovf --epochs=1 --validation_split=56 --out="$tmp/val" \
  > "$tmp/val.log" 2>&1 || { cat "$tmp/val.log"; fail "train --validation_split exited non-zero"; }
grep -q "200 train, 56 held out for validation" "$tmp/val.log" \
  || { cat "$tmp/val.log"; fail "train did not hold out 56 images"; }
"$evaluate" --checkpoint="$tmp/val/checkpoint.pb" --data_dir="$data" --sigmas=0,0.1 --runs=2 \
  --split=validation --validation_split=56 --json="$tmp/val.json" > "$tmp/val_eval.log" 2>&1 \
  || { cat "$tmp/val_eval.log"; fail "evaluate --split=validation exited non-zero"; }
grep -q "56 validation images" "$tmp/val_eval.log" || { cat "$tmp/val_eval.log"; fail "not 56 validation images"; }
grep -q '"split": "validation"' "$tmp/val.json" || fail "validation JSON lacks the split"
grep -q '"split"' "$tmp/eval.json" && fail "test JSON should keep its old shape"
expect_error "--validation_split must be in \[0, 256)" "$train" "${common[@]}" --validation_split=256 \
  --out="$tmp/x"
expect_error "--split: unknown 'dev'" "$evaluate" --checkpoint="$tmp/val/checkpoint.pb" \
  --data_dir="$data" --split=dev
expect_error "--split=validation needs --validation_split > 0" "$evaluate" \
  --checkpoint="$tmp/val/checkpoint.pb" --data_dir="$data" --split=validation
expect_error "--validation_split only applies with --split=validation" "$evaluate" \
  --checkpoint="$tmp/val/checkpoint.pb" --data_dir="$data" --validation_split=56
expect_error "--validation_split must be below the 256 training images" "$evaluate" \
  --checkpoint="$tmp/val/checkpoint.pb" --data_dir="$data" --split=validation --validation_split=300
echo "PASS"
