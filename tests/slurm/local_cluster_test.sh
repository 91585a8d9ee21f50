#!/usr/bin/env bash
# The test cluster itself: it comes up with an idle node of the machine's
# CPUs, runs a job array and a job that depends on it in the right order,
# and leaves no daemon behind when stopped.
set -euo pipefail
source "$1"
fail() { echo "FAIL: $*" >&2; slurm_cluster_dump_logs; exit 1; }

slurm_cluster_start 90 || fail "cluster did not start"
cpus="$(sinfo --noheader --nodes=localhost --format=%c)"
[ "$cpus" -ge 1 ] || fail "node has no CPUs: '$cpus'"
out="$SLURM_CLUSTER_DIR/out"
mkdir -p "$out"

array="$(sbatch --parsable --array=0-2 --cpus-per-task=1 --mem=64M --output=/dev/null \
  --wrap="echo \$SLURM_ARRAY_TASK_ID > $out/task.\$SLURM_ARRAY_TASK_ID; sleep 1")"
after="$(sbatch --parsable --dependency=afterok:$array --mem=64M --output=/dev/null \
  --wrap="ls $out > $out/after.txt")"
for _ in $(seq 120); do
  [ -z "$(squeue --noheader --jobs="$array,$after" 2>/dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue --noheader --jobs="$array,$after" 2>/dev/null)" ] || fail "jobs did not finish"
for t in 0 1 2; do
  [ "$(cat "$out/task.$t")" = "$t" ] || fail "array task $t did not run"
done
# The dependent job saw all three outputs of the array.
[ "$(grep -c '^task\.' "$out/after.txt")" -eq 3 ] || fail "dependent job ran before the array ended"
grep -q "JobId=$after .*JobState=COMPLETED" "$SLURM_CLUSTER_DIR/jobcomp.txt" || fail "no completion record"

pids=("${SLURM_CLUSTER_PIDS[@]}")
slurm_cluster_stop
for p in "${pids[@]}"; do
  if kill -0 "$p" 2>/dev/null; then fail "daemon $p still running after stop"; fi
done
echo PASS
