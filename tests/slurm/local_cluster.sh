# A real one-node Slurm cluster on localhost for tests: munged, slurmctld and
# slurmd from Debian's munge and slurm-wlm, with a generated munge key and
# slurm.conf; every state, spool, log and socket file lives under one folder,
# and the ports are chosen away from the defaults (6817/6818) so that a
# cluster of the machine, or a second test, does not clash.
#
#   source tests/slurm/local_cluster.sh
#   slurm_cluster_start   # exports SLURM_CONF and SLURM_CLUSTER_DIR; waits for an idle node
#   sbatch --wrap=...; squeue; ...
#   (an EXIT trap stops the daemons; slurm_cluster_stop does it earlier)
#
# No cgroups (proctrack/linuxproc, task/none), no accounting daemon; finished
# jobs are kept by slurmctld for MinJobAge seconds so that `sacct`-like
# questions are answered by `scontrol show job`, and jobcomp/filetxt writes
# one line per finished job to $SLURM_CLUSTER_DIR/jobcomp.txt.

SLURM_CLUSTER_DIR=""
SLURM_CLUSTER_PIDS=()

_slurm_cluster_log() { echo "local_cluster: $*" >&2; }

# Prints the last lines of every daemon log (for a failing test).
slurm_cluster_dump_logs() {
  local f
  for f in "$SLURM_CLUSTER_DIR"/log/*.log; do
    [ -f "$f" ] || continue
    echo "==== $f" >&2
    tail -n 30 "$f" >&2
  done
}

slurm_cluster_stop() {
  local pid
  # Jobs first, and wait for them to end, so that no step outlives the
  # daemons (proctrack/linuxproc does not kill steps when slurmd stops).
  if [ -n "$SLURM_CLUSTER_DIR" ] && [ -n "${SLURM_CONF:-}" ] && [ ${#SLURM_CLUSTER_PIDS[@]} -gt 0 ]; then
    timeout 10 scancel --quiet --user="$(id -un)" >/dev/null 2>&1 || true
    for _ in $(seq 40); do
      [ -z "$(timeout 5 squeue --noheader --user="$(id -un)" 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for pid in "${SLURM_CLUSTER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SLURM_CLUSTER_PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  SLURM_CLUSTER_PIDS=()
  if [ -n "$SLURM_CLUSTER_DIR" ] && [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    mkdir -p "$TEST_UNDECLARED_OUTPUTS_DIR/slurm"
    cp -r "$SLURM_CLUSTER_DIR/log" "$SLURM_CLUSTER_DIR/slurm.conf" \
      "$TEST_UNDECLARED_OUTPUTS_DIR/slurm/" 2>/dev/null || true
  fi
  if [ -n "$SLURM_CLUSTER_DIR" ] && [ "${SLURM_CLUSTER_KEEP:-0}" != 1 ]; then
    rm -rf "$SLURM_CLUSTER_DIR"
  fi
  SLURM_CLUSTER_DIR=""
}

# A free TCP port in [lo, lo+span), starting from a per-process offset.
_slurm_free_port() {
  local lo="$1" span="$2" i p
  for i in $(seq 0 $((span - 1))); do
    p=$((lo + ($$ + i) % span))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# slurm_cluster_start [wait_seconds]: the cluster's files go to a fresh
# /tmp/nftcim-slurm.XXXXXX (unix socket paths must stay under 108 bytes, which
# a Bazel TEST_TMPDIR exceeds); it is removed at stop unless
# SLURM_CLUSTER_KEEP=1 (the daemon logs are copied to
# $TEST_UNDECLARED_OUTPUTS_DIR/slurm when Bazel runs the test).
slurm_cluster_start() {
  local wait_s="${1:-60}" dir
  local need
  for need in munged slurmctld slurmd sinfo sbatch squeue scancel scontrol; do
    if ! command -v "$need" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$need" ]; then
      _slurm_cluster_log "$need not found: install the Debian packages munge and slurm-wlm (tools/setup.sh)"
      return 1
    fi
  done
  export PATH="$PATH:/usr/sbin"
  dir="$(mktemp -d /tmp/nftcim-slurm.XXXXXX)" || return 1
  mkdir -p "$dir"/{munge,state,spool,log,run}
  # munged refuses group- or world-writable folders on the way to its socket.
  chmod 0700 "$dir" "$dir/munge"
  SLURM_CLUSTER_DIR="$dir"
  trap slurm_cluster_stop EXIT

  # ---- munge: a fresh key, a private socket ----
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$dir/munge/munge.key"
  local socket="$dir/munge/munge.socket"
  munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$socket" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
    --log-file="$dir/log/munged.log" >>"$dir/log/munged.log" 2>&1 &
  SLURM_CLUSTER_PIDS+=($!)
  local i
  for i in $(seq 100); do
    [ -S "$socket" ] && break
    sleep 0.1
  done
  if [ ! -S "$socket" ]; then
    _slurm_cluster_log "munged did not start"
    slurm_cluster_dump_logs
    return 1
  fi

  # ---- slurm.conf ----
  local ctld_port slurmd_port user node
  ctld_port="$(_slurm_free_port 26817 400)" || { _slurm_cluster_log "no free port"; return 1; }
  slurmd_port="$(_slurm_free_port $((ctld_port + 1)) 400)" || { _slurm_cluster_log "no free port"; return 1; }
  user="$(id -un)"
  # The node's real CPUs and memory, as slurmd measures them.
  node="$(slurmd -C 2>/dev/null | head -n 1 | sed -e 's/^NodeName=[^ ]*//')"
  if [ -z "$node" ]; then
    node="CPUs=$(nproc) RealMemory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))"
  fi
  cat > "$dir/slurm.conf" <<CONF
ClusterName=nftcimtest
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobRequeue=1
MaxArraySize=10001
MinJobAge=600
DefMemPerCPU=1024
KillWait=5
SchedulerParameters=sched_interval=2
SlurmdTimeout=30
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF="$dir/slurm.conf"

  /usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
  SLURM_CLUSTER_PIDS+=($!)
  /usr/sbin/slurmd -D -N localhost -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
  SLURM_CLUSTER_PIDS+=($!)

  local state=""
  for i in $(seq $((wait_s * 2))); do
    state="$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null | head -n 1)"
    [ "$state" = "idle" ] && break
    sleep 0.5
  done
  if [ "$state" != "idle" ]; then
    _slurm_cluster_log "node not idle after ${wait_s}s (state '$state')"
    cat "$dir"/log/*.out >&2 2>/dev/null || true
    slurm_cluster_dump_logs
    return 1
  fi
  _slurm_cluster_log "up: $SLURM_CONF (slurmctld port $ctld_port, slurmd port $slurmd_port, $node)"
}
