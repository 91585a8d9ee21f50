#!/usr/bin/env bash
# Stands in for //trainer:train and //trainer:evaluate (and an emulator) in
# the sweep's tests: same flags, same output files, no data, milliseconds.
#
# Training (no --checkpoint flag): writes OUT/checkpoint.pb (holding the
# method and beta) and an unfinished OUT/metrics.json, then the finished one.
# Evaluation (--checkpoint): writes the {"results": [...]} JSON; accuracy is
# 60 - 50 * sigma, plus 10 when the checkpoint's beta is $FAKE_BEST_BETA, plus
# 5 for ovf.
#
# Environment:
#   FAKE_LOG        every invocation appends "start|done|fail MODE PATH ..." here
#   FAKE_FAIL       exit 2 with an error when the arguments contain this text
#   FAKE_BLOCK      training whose --out contains this text stops after its
#                   checkpoint until the file $FAKE_GATE exists
#   FAKE_SLEEP      seconds per step (default 0.05)
#   FAKE_BEST_BETA  see above
set -u
log="${FAKE_LOG:-/dev/null}"
mode=train out="" json="" resume=0 sigmas="" runs=1 beta=0 method=""
checkpoint=""
for a in "$@"; do
  case "$a" in
    --checkpoint=*) mode=eval; checkpoint="${a#--checkpoint=}" ;;
    --out=*) out="${a#--out=}" ;;
    --json=*) json="${a#--json=}" ;;
    --resume) resume=1 ;;
    --sigmas=*) sigmas="${a#--sigmas=}" ;;
    --runs=*) runs="${a#--runs=}" ;;
    --beta=*) beta="${a#--beta=}" ;;
    --method=*) method="${a#--method=}" ;;
  esac
done
target="$out$json"
echo "start $mode $target resume=$resume" >> "$log"
if [[ -n "${FAKE_FAIL:-}" && "$*" == *"$FAKE_FAIL"* ]]; then
  echo "loading ..."
  echo "error: fake failure because the arguments contain $FAKE_FAIL" >&2
  echo "fail $mode $target" >> "$log"
  exit 2
fi
nap() { sleep "${FAKE_SLEEP:-0.05}"; }

if [[ "$mode" == train ]]; then
  if [[ "$resume" == 1 ]]; then
    [[ -f "$out/checkpoint.pb" ]] || { echo "error: --resume: no checkpoint" >&2; exit 2; }
    read -r method beta < "$out/checkpoint.pb"
    echo "resuming after epoch 1 of 2"
  else
    mkdir -p "$out"
    echo "$method $beta" > "$out/checkpoint.pb"
    echo "$$" > "$out/pid"
    printf '{"method": "%s", "history": [\n  {"epoch": 1, "train_loss": 2, "clean_test_accuracy": 50, "noisy_test_accuracy": 40, "images_per_second": 100, "seconds": 1.5}\n]}\n' \
      "$method" > "$out/metrics.json"
    echo "epoch 1/2 done"
    if [[ -n "${FAKE_BLOCK:-}" && "$out" == *"$FAKE_BLOCK"* ]]; then
      while [[ ! -f "${FAKE_GATE:-/nonexistent}" ]]; do sleep 0.05; done
    fi
  fi
  nap
  printf '{"method": "%s", "history": [\n  {"epoch": 1, "train_loss": 2, "clean_test_accuracy": 50, "noisy_test_accuracy": 40, "images_per_second": 100, "seconds": 1.5},\n  {"epoch": 2, "train_loss": 1, "clean_test_accuracy": 60, "noisy_test_accuracy": 50, "images_per_second": 100, "seconds": 1.5}\n],\n"monte_carlo": {"results": [{"sigma": 0, "runs": 1, "mean_accuracy": 60, "std": 0, "ci95": 0, "ekl": 0.1}]}}\n' \
    "$method" > "$out/metrics.json.tmp"
  mv "$out/metrics.json.tmp" "$out/metrics.json"
  echo "epoch 2/2 done"
else
  [[ -f "$checkpoint" ]] || { echo "error: $checkpoint: not found" >&2; exit 2; }
  read -r method beta < "$checkpoint"
  nap
  bonus=0
  [[ "$beta" == "${FAKE_BEST_BETA:-none}" ]] && bonus=10
  [[ "$method" == ovf ]] && bonus=$((bonus + 5))
  python3 - "$sigmas" "$runs" "$bonus" "$json" <<'PY'
import json, sys
sigmas = [float(s) for s in sys.argv[1].split(",")]
runs, bonus, path = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
res = [{"sigma": s, "runs": 1 if s == 0 else runs, "mean_accuracy": 60 - 50 * s + bonus,
        "std": 1.0, "ci95": 0.5, "ekl": 0.1 + s} for s in sigmas]
with open(path + ".tmp", "w") as f:
    json.dump({"results": res}, f)
import os
os.rename(path + ".tmp", path)
PY
  echo "monte carlo done"
fi
echo "done $mode $target" >> "$log"
