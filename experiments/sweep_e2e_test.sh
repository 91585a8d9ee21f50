#!/usr/bin/env bash
# The sweep with the real trainer binaries (found in the runfiles, as under
# bazel run) on a tiny generated MNIST-format dataset: the validation-split
# flags, search -> final with the search model reused, an ablation, then the
# report built from the records.
set -euo pipefail

sweep="$PWD/$1"
make_idx="$PWD/$2"
report="$PWD/$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}/sweep_e2e"
rm -rf "$tmp"
mkdir -p "$tmp/data"
python3 "$make_idx" "$tmp/data"
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$tmp/tiny.textproto" <<CFG
format_version: 1
name: "tiny"
description: "256 generated training images (56 held out), 100 test images."
dataset: "mnist"
data_dir: "$tmp/data"
train_limit: 0
monitor_test_limit: 50
model: "vgg8"
width: 0.125
epochs: 1
batch: 32
methods: ["noise", "ovf"]
train_sigmas: [0.1]
seeds: [1]
beta_search { betas: [0.1, 0.01] validation_images: 56 runs: 2 }
evaluation { sigmas: [0, 0.1] runs: 2 seed: 1 test_limit: 0 }
ablations { name: "ovf_n1" group: "feedbacks" label: "OVF N=1" method: "ovf" sigma: 0.1 feedbacks: 1 }
CFG

cd "$tmp"
"$sweep" --config=tiny.textproto --records=runs/records.jsonl --jobs=2 > sweep.log 2>&1 \
  || { cat sweep.log; for f in runs/jobs/*/*.log; do echo "== $f"; tail -5 "$f"; done; fail "sweep failed"; }
python3 - runs/records.jsonl <<'PY'
import json, sys
jobs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "job":
        jobs[r["job"]["key"]] = r["job"]
assert len(jobs) == 5, list(jobs)
for j in jobs.values():
    assert j["status"] == "ok", (j["key"], j["error"], j["log_tail"])
    assert j["history"] and j["history"][0]["epoch"] == 1, j["key"]
    assert j["train_seconds"] > 0, j["key"]
search = [j for j in jobs.values() if j["stage"] == "search"]
assert len(search) == 2 and all(j["eval_split"] == "validation" for j in search)
for j in search:
    assert "--split=validation --validation_split=56" in j["eval_command"], j["eval_command"]
    assert "--validation_split=56" in j["train_command"], j["train_command"]
    assert [p["sigma"] for p in j["results"]] == [0.1] and j["results"][0]["runs"] == 2, j["results"]
final = {j["method"]: j for j in jobs.values() if j["stage"] == "final"}
assert set(final) == {"noise", "ovf"}
assert final["ovf"]["reused_training"], "the chosen search model should be the final seed-1 model"
assert final["ovf"]["beta"] in (0.1, 0.01) and len(final["ovf"]["beta_candidates"]) == 2
best = max(final["ovf"]["beta_candidates"], key=lambda c: (c["validation_accuracy"], -c["beta"]))
assert best["beta"] == final["ovf"]["beta"], (best, final["ovf"]["beta"])
for j in final.values():
    assert [p["sigma"] for p in j["results"]] == [0, 0.1], j["results"]
    assert 0 <= j["results"][1]["mean_accuracy"] <= 100
abl = [j for j in jobs.values() if j["stage"] == "ablation"]
assert len(abl) == 1 and abl[0]["feedbacks"] == 1 and "--feedbacks=1" in abl[0]["train_command"]
PY
# The training directory holds what the trainer wrote.
ls runs/jobs/ovf_sigma0.1_beta*_seed1-*/checkpoint.pb > /dev/null || fail "no checkpoint in the job directory"

python3 "$report" --records=runs/records.jsonl --out=docs/results.md > report.log 2>&1 \
  || { cat report.log; fail "report failed"; }
grep -q "^## Beta search" docs/results.md || fail "report lacks the beta search"
grep -q "^| 0.1 | .* ± .* | .* ± .* |$" docs/results.md || fail "report lacks the accuracy table"
grep -q "OVF N=1" docs/results.md || fail "report lacks the ablation"
[ -s docs/results/records/records.jsonl ] || fail "records not copied beside the report"
echo PASS
