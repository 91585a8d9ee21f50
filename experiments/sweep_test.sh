#!/usr/bin/env bash
# The sweep with a fake trainer (testdata/fake_trainer.sh): config errors,
# a sweep killed mid-training and restarted (no job runs twice, the killed
# training resumes from its checkpoint), failure recording and --retry_failed,
# a beta search whose candidates all fail, the records lock, a torn record.
set -euo pipefail

sweep="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
fake="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
tmp="${TEST_TMPDIR:-$(mktemp -d)}/sweep_test"
rm -rf "$tmp"
mkdir -p "$tmp"
cd "$tmp"

fail() { echo "FAIL: $*" >&2; exit 1; }
export FAKE_LOG="$tmp/invocations.log" FAKE_SLEEP=0.02 FAKE_BEST_BETA=0.01
run_sweep() { "$sweep" --train_bin="$fake" --evaluate_bin="$fake" --jobs=2 "$@"; }

cat > exp.textproto <<CFG
format_version: 1
name: "fake"
dataset: "fashion_mnist"
train_limit: 100
model: "vgg8"
width: 0.25
epochs: 2
methods: ["vanilla", "noise", "ovf"]
train_sigmas: [0.1, 0.2]
seeds: [1, 2]
beta_search { betas: [0.1, 0.01] validation_images: 10 runs: 2 }
evaluation { sigma_range { start: 0 stop: 0.2 step: 0.1 } runs: 3 seed: 1 test_limit: 50 }
ablations { name: "ovf_n1" group: "feedbacks" method: "ovf" sigma: 0.2 feedbacks: 1 }
emulator { enabled: true train_sigma: 0.2 emulate_command: "$fake --checkpoint={checkpoint} --sigmas={sigmas} --runs={runs} --json={json}" }
CFG
# 4 search + 10 final (vanilla once per seed) + 2 ablation + 3 emulator.
njobs=19

# ---- 1. Flags and configuration errors ----
expect_error() {
  local pattern="$1"; shift
  local code=0
  "$@" > err.log 2>&1 || code=$?
  [ "$code" -eq 2 ] || { cat err.log; fail "expected exit 2, got $code: $*"; }
  grep -q -- "$pattern" err.log || { cat err.log; fail "message lacks '$pattern'"; }
}
expect_error "--config is required" run_sweep --records=r.jsonl
expect_error "--records is required" run_sweep --config=exp.textproto
sed 's/"noise", "ovf"/"noise", "magic"/' exp.textproto > bad.textproto
expect_error "bad.textproto: methods: unknown method 'magic'" run_sweep --config=bad.textproto --records=r.jsonl
sed 's/train_sigmas: \[0.1, 0.2\]/train_sigmas: [0.1, -0.2]/' exp.textproto > bad.textproto
expect_error "train_sigmas\[1\]: must be a sigma in \[0, 10\], got -0.2" run_sweep --config=bad.textproto --records=r.jsonl
sed 's/epochs: 2/epochs: 0/' exp.textproto > bad.textproto
expect_error "epochs: must be >= 1, got 0" run_sweep --config=bad.textproto --records=r.jsonl
sed 's/seeds: \[1, 2\]/seeds: []/' exp.textproto > bad.textproto
expect_error "seeds: empty" run_sweep --config=bad.textproto --records=r.jsonl
sed 's/"fashion_mnist"/"svhn"/' exp.textproto > bad.textproto
expect_error "dataset: unknown 'svhn'" run_sweep --config=bad.textproto --records=r.jsonl
printf 'format_version: 1\nname: "x"\nepochz: 3\n' > bad.textproto
expect_error "bad.textproto.*line 3" run_sweep --config=bad.textproto --records=r.jsonl
expect_error "not found or not executable" "$sweep" --config=exp.textproto --records=r.jsonl \
  --train_bin=/no/such/train --evaluate_bin="$fake"
[ ! -e r.jsonl ] || fail "a rejected sweep wrote records"

"$sweep" --config=exp.textproto --dry_run > dry.txt || fail "--dry_run"
[ "$(grep -c '#' dry.txt)" -eq "$njobs" ] || { cat dry.txt; fail "dry run should list $njobs jobs"; }
[ ! -e "$FAKE_LOG" ] || fail "dry run ran something"

# --max_jobs stops after that many jobs.
run_sweep --config=exp.textproto --records=partial/records.jsonl --max_jobs=3 > partial.log 2>&1 \
  || { cat partial.log; fail "--max_jobs run failed"; }
[ "$(grep -c '"type":"job"' partial/records.jsonl)" -eq 3 ] || fail "--max_jobs=3 should record 3 jobs"
grep -q "stopping after --max_jobs=3; $((njobs - 3)) jobs left" partial.log || { cat partial.log; fail "no --max_jobs message"; }
rm -f "$FAKE_LOG"

# ---- 2. Kill the sweep while a training runs; restart ----
export FAKE_BLOCK="ovf_sigma0.2_beta0.01_seed1-" FAKE_GATE="$tmp/gate"
# Not through run_sweep: $! must be the sweep itself, not a subshell.
"$sweep" --train_bin="$fake" --evaluate_bin="$fake" --jobs=2 --config=exp.textproto \
  --records=runs/records.jsonl > first.log 2>&1 &
pid=$!
blocked=""
for _ in $(seq 1 300); do
  blocked=$(ls -d runs/jobs/ovf_sigma0.2_beta0.01_seed1-* 2>/dev/null | head -1 || true)
  if [ -n "$blocked" ] && [ -f "$blocked/pid" ] && [ "$(grep -c '"type":"job"' runs/records.jsonl || true)" -ge 2 ]; then
    break
  fi
  sleep 0.05
done
[ -n "$blocked" ] && [ -f "$blocked/pid" ] || { cat first.log; fail "the blocked training never started"; }
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
child=$(cat "$blocked/pid")
# Alive = exists and not a zombie (an orphan's parent may never reap it).
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
for _ in $(seq 1 100); do alive "$child" || break; sleep 0.05; done
alive "$child" && fail "the training of a killed sweep is still running (pid $child)"
grep -q '"monte_carlo"' "$blocked/metrics.json" && fail "blocked training should be unfinished"
first_records=$(grep -c '"type":"job"' runs/records.jsonl)
[ "$first_records" -lt "$njobs" ] || fail "the first sweep should not have finished"
echo "killed the sweep after $first_records job records"

touch "$FAKE_GATE"
run_sweep --config=exp.textproto --records=runs/records.jsonl > second.log 2>&1 \
  || { cat second.log; fail "restarted sweep exited non-zero"; }
grep -q "$first_records already recorded" second.log || { cat second.log; fail "restart did not skip the recorded jobs"; }
grep -q "start train $blocked resume=1" "$FAKE_LOG" || { cat "$FAKE_LOG"; fail "the killed training was not resumed"; }
python3 - runs/records.jsonl "$FAKE_LOG" "$njobs" <<'PY'
import collections, json, sys
records, log, njobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
jobs = [json.loads(l)["job"] for l in open(records) if '"type":"job"' in l]
keys = [j["key"] for j in jobs]
dup = [k for k, n in collections.Counter(keys).items() if n > 1]
assert not dup, f"jobs recorded twice: {dup}"
assert len(keys) == njobs, (len(keys), njobs)
bad = [(j["key"], j["error"]) for j in jobs if j["status"] != "ok"]
assert not bad, bad
done = collections.Counter(l.split()[1] + " " + l.split()[2] for l in open(log) if l.startswith("done "))
twice = [k for k, n in done.items() if n > 1]
assert not twice, f"run to completion twice: {twice}"
by_stage = collections.Counter(j["stage"] for j in jobs)
assert by_stage == {"search": 4, "final": 10, "ablation": 2, "emulator": 3}, by_stage
for j in jobs:
    assert j["results"], j["key"]
    if j["stage"] in ("final", "ablation") and j["method"] == "ovf":
        # FAKE_BEST_BETA=0.01 scores 10 points more on validation.
        assert j["beta"] == 0.01, (j["key"], j["beta"])
        assert j["beta_rule"].startswith("highest validation"), j
        assert len(j["beta_candidates"]) == 2, j
    if j["stage"] == "final" and j["method"] == "ovf" and j["seed"] == 1:
        assert j["reused_training"], f"the search model should be reused: {j['key']}"
    if j["stage"] == "search":
        assert j["eval_split"] == "validation" and "--split=validation" in j["eval_command"], j
        assert [p["sigma"] for p in j["results"]] == [j["sigma"]], j["results"]
    if j["stage"] == "final":
        assert [p["sigma"] for p in j["results"]] == [0, 0.1, 0.2], j["results"]
        assert j["train_seconds"] == 3.0 and len(j["history"]) == 2, j
    if j["stage"] == "emulator":
        assert len(j["float_results"]) == 3, j
    if j["method"] == "vanilla":
        assert j["sigma"] == 0, j
PY

# A third run has nothing to do.
lines=$(wc -l < "$FAKE_LOG")
run_sweep --config=exp.textproto --records=runs/records.jsonl > third.log 2>&1 || fail "third run"
grep -q "$njobs already recorded" third.log || { cat third.log; fail "third run did not skip everything"; }
[ "$(wc -l < "$FAKE_LOG")" -eq "$lines" ] || fail "third run started a process"
unset FAKE_BLOCK

# ---- 3. Failures are recorded and the sweep goes on ----
code=0
FAKE_FAIL="--method=noise" run_sweep --config=exp.textproto --records=failing/records.jsonl \
  > failing.log 2>&1 || code=$?
[ "$code" -eq 1 ] || { cat failing.log; fail "a sweep with failed jobs should exit 1, got $code"; }
grep -q "5 job(s) of this experiment are recorded as failed" failing.log || { cat failing.log; fail "no failure summary"; }
python3 - failing/records.jsonl <<'PY'
import json, sys
jobs = [json.loads(l)["job"] for l in open(sys.argv[1]) if '"type":"job"' in l]
failed = [j for j in jobs if j["status"] == "failed"]
assert len(failed) == 5 and all(j["method"] == "noise" for j in failed), [j["key"] for j in failed]
emulator = [j for j in failed if j["stage"] == "emulator"]
assert len(emulator) == 1 and emulator[0]["error"].startswith("its final job failed: final/noise/sigma=0.2/seed=1#"), emulator
for j in failed:
    if j["stage"] == "emulator":
        continue
    assert j["error"] == "training failed: exit status 2", j["error"]
    assert "fake failure because the arguments contain --method=noise" in j["log_tail"], j["log_tail"]
    assert j["log_path"].endswith("/train.log"), j["log_path"]
assert sum(j["status"] == "ok" for j in jobs) == len(jobs) - 5
PY
# Without --retry_failed the failures stay recorded; with it they run again.
code=0
run_sweep --config=exp.textproto --records=failing/records.jsonl > again.log 2>&1 || code=$?
[ "$code" -eq 1 ] && grep -q "$njobs already recorded" again.log || { cat again.log; fail "failed jobs should stay done"; }
run_sweep --config=exp.textproto --records=failing/records.jsonl --retry_failed > retry.log 2>&1 \
  || { cat retry.log; fail "--retry_failed should succeed"; }
grep -q "$((njobs - 5)) already recorded" retry.log || { cat retry.log; fail "retry should rerun only the 5 failed"; }
python3 - failing/records.jsonl <<'PY'
import json, sys
last = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "job":
        last[r["job"]["key"]] = r["job"]["status"]
assert all(s == "ok" for s in last.values()), last
PY

# ---- 4. A beta search whose candidates all fail blocks its final jobs ----
code=0
FAKE_FAIL="--method=ovf" run_sweep --config=exp.textproto --records=nosearch/records.jsonl \
  > nosearch.log 2>&1 || code=$?
[ "$code" -eq 1 ] || { cat nosearch.log; fail "expected exit 1"; }
python3 - nosearch/records.jsonl <<'PY'
import json, sys
jobs = [json.loads(l)["job"] for l in open(sys.argv[1]) if '"type":"job"' in l]
final = [j for j in jobs if j["method"] == "ovf" and j["stage"] in ("final", "ablation")]
assert len(final) == 6, [j["key"] for j in final]
for j in final:
    assert j["status"] == "failed", j
    assert "beta search for ovf at sigma" in j["error"] and "no beta candidate succeeded" in j["error"], j["error"]
emu = [j for j in jobs if j["stage"] == "emulator" and j["method"] == "ovf"]
assert emu and emu[0]["status"] == "failed" and "final job failed" in emu[0]["error"], emu
PY

# ---- 5. One sweep per records file ----
export FAKE_BLOCK="noise_sigma0.1_seed1-" FAKE_GATE="$tmp/gate2"
"$sweep" --train_bin="$fake" --evaluate_bin="$fake" --jobs=2 --config=exp.textproto \
  --records=locked/records.jsonl > locked1.log 2>&1 &
pid=$!
for _ in $(seq 1 200); do ls locked/jobs/noise_sigma0.1_seed1-*/pid > /dev/null 2>&1 && break; sleep 0.05; done
expect_error "is in use by another sweep" run_sweep --config=exp.textproto --records=locked/records.jsonl
touch "$FAKE_GATE"
wait "$pid" || { cat locked1.log; fail "the locked sweep failed"; }
unset FAKE_BLOCK

# ---- 6. A record torn by a kill is skipped with a warning ----
printf '{"type":"job","job":{"key":"final/x' >> locked/records.jsonl
run_sweep --config=exp.textproto --records=locked/records.jsonl > torn.log 2>&1 || { cat torn.log; fail "torn"; }
grep -q "warning: .*records.jsonl:.*skipped, not a record" torn.log || { cat torn.log; fail "no warning for the torn line"; }
tail -c 1 locked/records.jsonl | od -c | grep -q '\\n' || fail "records must end with a newline"
python3 -c "
import json, sys
n = 0
for l in open('locked/records.jsonl'):
    try: json.loads(l); n += 1
    except ValueError: pass
assert n >= $njobs, n
"
echo "PASS"
