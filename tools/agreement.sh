#!/usr/bin/env bash
# Agreement of the bit-accurate emulator with the float trainer (the emulator
# issue's acceptance criteria), end to end through the front doors:
#
#   for each method: //trainer:train -> //firmware_model:compile ->
#     //trainer:evaluate (float Monte Carlo) and //emulator:emulate (integer
#     Monte Carlo on the paper's accelerator, lossless ADC) at the same sigmas
#
# and prints the table: float mean +- ci95, emulator mean +- ci95, their gap,
# the allowed gap and whether it holds:
#   sigma 0:  |emulator - float| <= 1 point
#   sigma > 0: |emulator - float| <= float ci95 + |gap at sigma 0|
#             (the float 95% interval widened by the quantization gap)
#
# Usage (defaults in brackets):
#   tools/agreement.sh [--out=DIR (runs/agreement)] [--methods=noise,ovf,irs]
#       [--dataset=fashion_mnist] [--model=vgg8] [--width=0.25] [--sigma=0.2]
#       [--epochs=2] [--train_limit=0] [--test_limit=0] [--runs=20]
#       [--sigmas=0,0.1,0.2] [--threads=2] [--adc_bits=0] [--calibration_images=512]
# A method whose checkpoint already exists in DIR is not retrained (delete it
# to retrain); evaluations are always rerun. The table is also written to
# DIR/agreement.txt and DIR/agreement.json.
set -euo pipefail

out=runs/agreement
methods=noise,ovf,irs
dataset=fashion_mnist
model=vgg8
width=0.25
sigma=0.2
epochs=2
train_limit=0
test_limit=0
runs=20
sigmas=0,0.1,0.2
threads=2
adc_bits=0
calibration_images=512
for arg in "$@"; do
  case "$arg" in
    --out=*) out="${arg#*=}" ;;
    --methods=*) methods="${arg#*=}" ;;
    --dataset=*) dataset="${arg#*=}" ;;
    --model=*) model="${arg#*=}" ;;
    --width=*) width="${arg#*=}" ;;
    --sigma=*) sigma="${arg#*=}" ;;
    --epochs=*) epochs="${arg#*=}" ;;
    --train_limit=*) train_limit="${arg#*=}" ;;
    --test_limit=*) test_limit="${arg#*=}" ;;
    --runs=*) runs="${arg#*=}" ;;
    --sigmas=*) sigmas="${arg#*=}" ;;
    --threads=*) threads="${arg#*=}" ;;
    --adc_bits=*) adc_bits="${arg#*=}" ;;
    --calibration_images=*) calibration_images="${arg#*=}" ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "agreement.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
mkdir -p "$out"
out="$(cd "$out" && pwd)"
targets=(//trainer:train //trainer:evaluate //firmware_model:compile //emulator:emulate)
bazel build "${targets[@]}"
# Copies, so that another build in this workspace cannot swap bazel-bin
# under a long run.
bin="$out/bin"
mkdir -p "$bin"
for t in train evaluate; do cp -f "bazel-bin/trainer/$t" "$bin/$t"; done
cp -f bazel-bin/firmware_model/compile "$bin/compile"
cp -f bazel-bin/firmware_model/emulate "$bin/emulate"  # //emulator:emulate is an alias of it

IFS=',' read -r -a method_list <<< "$methods"
for m in "${method_list[@]}"; do
  dir="$out/$m"
  if [ ! -s "$dir/checkpoint.pb" ]; then
    echo "== training $model width $width, $m, sigma $sigma, $epochs epochs"
    "$bin/train" --dataset="$dataset" --model="$model" --width="$width" --method="$m" \
      --sigma="$sigma" --epochs="$epochs" --train_limit="$train_limit" --test_limit="$test_limit" \
      --threads="$threads" --eval_runs=1 --out="$dir"
  fi
  echo "== compiling $m"
  "$bin/compile" --checkpoint="$dir/checkpoint.pb" --out="$dir/model.pb" \
    --calibration_images="$calibration_images" | tee "$dir/compile.txt"
  echo "== float Monte Carlo, $m"
  "$bin/evaluate" --checkpoint="$dir/checkpoint.pb" --sigmas="$sigmas" --runs="$runs" --seed=1 \
    --test_limit="$test_limit" --threads="$threads" --json="$dir/float.json"
  echo "== emulator Monte Carlo, $m"
  "$bin/emulate" --model="$dir/model.pb" --sigmas="$sigmas" --runs="$runs" --seed=1 \
    --adc_bits="$adc_bits" --test_limit="$test_limit" --threads="$threads" \
    --json="$dir/emulator.json"
done

python3 - "$out" "$methods" <<'PY'
import json, sys
out, methods = sys.argv[1], sys.argv[2].split(",")
rows, ok_all = [], True
lines = ["%-6s %5s  %-16s %-16s %7s %7s  %s" % ("method", "sigma", "float (ci95)",
         "emulator (ci95)", "gap", "allowed", "within?")]
for m in methods:
    f = {r["sigma"]: r for r in json.load(open(f"{out}/{m}/float.json"))["results"]}
    e = {r["sigma"]: r for r in json.load(open(f"{out}/{m}/emulator.json"))["results"]}
    gap0 = e[0]["mean_accuracy"] - f[0]["mean_accuracy"] if 0 in f and 0 in e else 0.0
    for s in sorted(f):
        if s not in e:
            continue
        gap = e[s]["mean_accuracy"] - f[s]["mean_accuracy"]
        allowed = 1.0 if s == 0 else f[s]["ci95"] + abs(gap0)
        ok = abs(gap) <= allowed
        ok_all &= ok
        rows.append({"method": m, "sigma": s, "float": f[s]["mean_accuracy"],
                     "float_ci95": f[s]["ci95"], "emulator": e[s]["mean_accuracy"],
                     "emulator_ci95": e[s]["ci95"], "gap": gap, "allowed": allowed,
                     "within": ok, "runs": f[s]["runs"], "images": f[s]["images"],
                     "adc_saturations": e[s].get("adc_saturations", 0)})
        lines.append("%-6s %5.2f  %6.2f +- %-6.2f %6.2f +- %-6.2f %+7.2f %7.2f  %s" % (
            m, s, f[s]["mean_accuracy"], f[s]["ci95"], e[s]["mean_accuracy"], e[s]["ci95"],
            gap, allowed, "yes" if ok else "NO"))
lines.append("all within: %s" % ("yes" if ok_all else "NO"))
text = "\n".join(lines) + "\n"
print(text, end="")
open(f"{out}/agreement.txt", "w").write(text)
json.dump({"rows": rows, "all_within": ok_all}, open(f"{out}/agreement.json", "w"), indent=1)
PY
