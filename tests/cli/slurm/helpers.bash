# A real Slurm (Debian's slurm-wlm 22.05 and munge) for the suites of
# tests/cli/slurm: munged and slurmctld here, one slurmd in each of two
# network namespaces (n1 at 10.231.B.2, n2 at 10.231.B.3, on a bridge at
# 10.231.B.1, each with its own hostname in a UTS namespace), so that Slurm
# sees two hosts. Everything lives in one temporary directory named by
# SLURM_CONF; nothing goes to /etc. Start it once a file (slurm_up from
# setup_file: it takes some seconds), stop it in teardown_file (slurm_down).
#
# The nodes' fpga GRES are count-only (gres.conf "Name=fpga Count=2", no
# File=): Slurm requires File= to name character or block devices, and no
# device file stands behind a card here (csim is host threads, XRT's noop
# driver has no /dev node). Counting is what Slurm does with a generic
# resource anyway (it sets no per-card variable for one): jobs wait for free
# cards, and a task finds its card from SLURM_LOCALID, as on a real site.

load ../helpers
load ../remote/helpers

# One suite a bridge number, so that suites run side by side (ctest -j)
# never share addresses; set SLURM_NET before loading this file.
SLURM_NET=${SLURM_NET:-81}
# Lines a suite adds to slurm.conf (settings the common file leaves at
# Slurm's defaults, such as SlurmdTimeout); set before slurm_up.
SLURM_CONF_EXTRA=${SLURM_CONF_EXTRA:-}

slurm_possible() {
  [ "$(id -u)" -eq 0 ] || return 1
  local c
  for c in munged slurmctld slurmd srun sbatch scontrol sinfo nsenter unshare; do
    command -v "$c" >/dev/null || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null || return 1
  done
}

# Polls (every 0.1 s, at most $1 seconds) until the command succeeds.
wait_for() { # seconds command...
  local n=$(( $1 * 10 )) _
  shift
  for _ in $(seq "$n"); do
    "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  "$@"
}

nodes_idle() { [ "$(sinfo -h -N -o '%N %T' | sort | tr '\n' ' ')" = "n1 idle n2 idle " ]; }

# Brings the cluster up; sets SLURM_CONF (exported, so that srun, sbatch and
# the jobs find it) and SLURM_DIR. Fails with the daemons' logs on stderr
# when it does not come up within 30 s, having stopped what it started.
# The suites' input and its answer, in the current folder: big.log (12 MiB:
# six 2 MiB blocks, so -n 4 and the recipe's -n 6 cut on them; a fixed mtime) and want.gz, one local run.
# Each case's set-up in a suite of the cluster: skipped without Slurm; the
# cluster's configuration, our tools first on PATH, none of the device
# choices of the caller's environment; the case's own folder.
slurm_case() {
  slurm_possible || skip "a Slurm cluster needs root, slurm-wlm and munge (scripts/install-deps.sh)"
  [ -n "${SLURM_CONF:-}" ] || SLURM_CONF=$(cat "$BATS_FILE_TMPDIR/slurm-dir")/slurm.conf
  export SLURM_CONF PATH=$FPGA_BIN:$PATH:/usr/sbin
  unset FPGA_DEVICE PARALLEL_JOBSLOT XILINX_XRT FPGA_XCLBIN SBATCH_WAIT
  cd "$BATS_TEST_TMPDIR"
}

slurm_input() {
  seq 1 2000000 | head -c 12582912 > big.log
  touch -d '2021-03-04 05:06:07' big.log
  "$OURS" -c big.log > want.gz
}

slurm_up() {
  start_cluster && return 0
  slurm_logs
  slurm_down
  return 1
}
start_cluster() {
  export PATH=$PATH:/usr/sbin
  # munged wants every directory on its socket's path searchable by all.
  SLURM_DIR=$(mktemp -d /tmp/fpga-slurm.XXXXXX)
  chmod 755 "$SLURM_DIR"
  echo "$SLURM_DIR" > "$BATS_FILE_TMPDIR/slurm-dir"
  local D=$SLURM_DIR B=$SLURM_NET
  mkdir -p "$D/munge" "$D/state" "$D/spool"
  chmod 755 "$D/munge"
  head -c 1024 /dev/urandom > "$D/munge/key"
  chmod 600 "$D/munge/key"
  munged --key-file="$D/munge/key" --socket="$D/munge/socket" --pid-file="$D/munge/pid" \
    --log-file="$D/munge/log" --seed-file="$D/munge/seed" </dev/null >/dev/null 2>&1 3>&- || return 1
  # Ports of our own: another suite's cluster (or a real Slurm) may hold 6817.
  local ctl=$(( 21000 + RANDOM % 20000 ))
  export SLURM_CONF=$D/slurm.conf
  cat > "$SLURM_CONF" <<EOF
ClusterName=fpgatest
MailProg=/bin/true
SlurmctldHost=$(hostname -s)(10.231.$B.1)
SlurmctldPort=$ctl
SlurmdPort=$(( ctl + 1 ))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.%n.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
# Schedule at once: a dependent job otherwise waits up to 3 s more (the
# default batch_sched_delay) after what it depends on has ended.
SchedulerParameters=batch_sched_delay=0,sched_interval=1,sched_min_interval=0
KillWait=2
MinJobAge=300
InactiveLimit=0
GresTypes=fpga
NodeName=n1 NodeAddr=10.231.$B.2 CPUs=2 RealMemory=1000 Gres=fpga:2 State=UNKNOWN
NodeName=n2 NodeAddr=10.231.$B.3 CPUs=2 RealMemory=1000 Gres=fpga:2 State=UNKNOWN
PartitionName=fpga Nodes=n1,n2 Default=YES MaxTime=10 State=UP
$SLURM_CONF_EXTRA
EOF
  printf 'NodeName=n1 Name=fpga Count=2\nNodeName=n2 Name=fpga Count=2\n' > "$D/gres.conf"
  make_bridge "$B" || return 1
  slurmctld -f "$SLURM_CONF" -i </dev/null >/dev/null 2>&1 3>&- || return 1
  local n
  for n in 1 2; do
    make_bridged_netns "$B" $(( n + 1 )) || return 1
    echo "$NS" > "$D/netns.n$n"
    start_slurmd "n$n" || return 1
  done
  wait_for 30 nodes_idle || return 1
}

# Starts node NAME's slurmd in its namespace (again, after kill_node).
start_slurmd() { # n1|n2
  local D
  D=$(cat "$BATS_FILE_TMPDIR/slurm-dir")
  # nsenter, not `ip netns exec`: that one remounts /sys, where slurmd
  # 22.05 then finds no cgroup file system and stops.
  nsenter --net="/run/netns/$(cat "$D/netns.$1")" unshare --uts sh -c 'hostname "$1" && exec slurmd -f "$2" -N "$1"' \
    - "$1" "$D/slurm.conf" </dev/null >/dev/null 2>&1 3>&-
}

# A host goes down: SIGKILL to everything in node NAME's namespace (its
# slurmd, the slurmstepd of its job steps, their tasks).
kill_node() { # n1|n2
  local D ns
  D=$(cat "$BATS_FILE_TMPDIR/slurm-dir")
  ns=$(cat "$D/netns.$1")
  # Again while anything is left (a process may end, or start, meanwhile).
  node_empty() { ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null; [ -z "$(ip netns pids "$ns")" ]; }
  wait_for 10 node_empty
  rm -f "$D/slurmd.$1.pid"
}

slurm_logs() {
  local f
  for f in "$SLURM_DIR"/*.log "$SLURM_DIR/munge/log"; do
    [ -f "$f" ] && { echo "== $f" >&2; tail -n 20 "$f" >&2; }
  done
  sinfo -N >&2 2>/dev/null || true
}

# Stops every daemon slurm_up started (their pid files; bounded), then the
# namespaces and the bridge, then removes the directory.
slurm_down() {
  [ -f "$BATS_FILE_TMPDIR/slurm-dir" ] || return 0
  local D p f _
  D=$(cat "$BATS_FILE_TMPDIR/slurm-dir")
  export PATH=$PATH:/usr/sbin SLURM_CONF=$D/slurm.conf
  local pids=""
  for f in "$D"/slurmd.n*.pid "$D/slurmctld.pid" "$D/munge/pid"; do
    [ -s "$f" ] && p=$(cat "$f") && kill "$p" 2>/dev/null && pids="$pids $p"
  done
  for p in $pids; do
    for _ in $(seq 100); do running "$p" || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # What still runs in the nodes' namespaces (slurmstepd outlives slurmd,
  # a job's tasks outlive a killed step): only what this cluster started.
  local ns _v
  if [ -f "$BATS_FILE_TMPDIR/netns" ]; then
    while read -r ns _v; do
      [ "$ns" = - ] || ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done < "$BATS_FILE_TMPDIR/netns"
  fi
  remote_teardown
  case $D in /tmp/fpga-slurm.*) rm -rf "$D" ;; esac
  rm -f "$BATS_FILE_TMPDIR/slurm-dir"
}

# True while process $1 runs: a daemon's parent here may be an init that
# does not reap, and kill -0 succeeds on a zombie.
running() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

# The state and exit code of a job ("COMPLETED 0:0"), from scontrol (no
# accounting database here).
job_state() { # jobid
  scontrol show job "$1" | tr ' ' '\n' | sed -n 's/^JobState=//p; s/^ExitCode=//p' | tr '\n' ' ' | sed 's/ $//'
}

# Waits until job $1 (every task of an array) has left the queue (polling
# every 0.1 s, at most 120 s: sbatch --wait polls every few seconds), then
# prints its state and exit code ("COMPLETED 0:0"); fails unless it
# completed.
wait_job() { # jobid
  local _ s
  for _ in $(seq 1200); do
    [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && break
    sleep 0.1
  done
  s=$(job_state "$1")
  echo "$s"
  [ "$s" = "COMPLETED 0:0" ]
}
