#!/usr/bin/env bash
# One job four ways, side by side in one run: a generated access log
# compressed (a) by one local fpga-gzip, and in four byte-range chunks on two
# hosts joined by fpga-cat, (b) by GNU parallel over SSH, (c) by fpga-remote
# over HTTP, (d) by Slurm (one srun of four tasks, two a node). The two hosts
# are the Slurm cluster of the tests (tests/cli/slurm/helpers.bash: munged
# and slurmctld here, one slurmd in each of two network namespaces); the
# same namespaces run an sshd and `fpga-remote serve`. Every output is
# compared with (a)'s (cmp). Prints a Markdown table (wall seconds, MB/s of
# input, ratio to (a)) and Slurm's own cost: the wall time of steps that run
# `true`, one task and the job's four, and appends it to bench/RESULTS.md.
# All hosts are this machine: the figures show the overhead of each way of
# spreading a job, not scaling.
#
#   bench/cluster.sh [BUILD_DIR]   environment: CLUSTER_MB (1024), REPEAT
#                                  (1 round; the best wall time is kept),
#                                  STEPS (10 `srun true` of each kind),
#                                  BENCH_DIR (corpus, /var/tmp/fpga-bench),
#                                  BENCH_RESULTS (file the table is
#                                  appended to; default bench/RESULTS.md)
# Needs root (namespaces, daemons), slurm-wlm, munge, openssh-server and GNU
# parallel (scripts/install-deps.sh).
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
MB=${CLUSTER_MB:-1024}
REPEAT=${REPEAT:-1}
STEPS=${STEPS:-10}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
. "$HERE/lib.sh"
need parallel parallel; need /usr/sbin/sshd openssh-server
[ "$(id -u)" -eq 0 ] || { echo "bench: cluster.sh needs root (network namespaces, slurmd, sshd)" >&2; exit 1; }

# The cluster of the tests, brought up by their helpers (bats' load and
# state directory stood in for), on a bridge of its own (10.231.91.0/24).
load() { . "$HERE/../tests/cli/slurm/$1.bash"; }
export FPGA_BIN=$BIN FPGA_SOURCE_DIR=$HERE/..
BATS_FILE_TMPDIR=$(mktemp -d /dev/shm/fpga-cluster-bench.XXXXXX)
OUT=$BATS_FILE_TMPDIR/w
mkdir -p "$DIR" "$OUT"
SLURM_NET=91
load helpers
slurm_possible || { echo "bench: no slurm-wlm or munge (scripts/install-deps.sh)" >&2; exit 1; }
cleanup() {
  set +e
  local f
  for f in "$BATS_FILE_TMPDIR"/sshd.n*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  if [ -f "$BATS_FILE_TMPDIR/servers" ]; then
    while read -r p; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done < "$BATS_FILE_TMPDIR/servers"
    rm -f "$BATS_FILE_TMPDIR/servers"
  fi
  slurm_down
  case $BATS_FILE_TMPDIR in /dev/shm/fpga-cluster-bench.*) rm -rf "$BATS_FILE_TMPDIR" ;; esac
}
trap cleanup EXIT
slurm_up
D=$(cat "$BATS_FILE_TMPDIR/slurm-dir")
hostaddr() { echo "10.231.$SLURM_NET.$(( ${1#n} + 1 ))"; }

# An sshd and an fpga-remote server in each node's namespace.
T=$BATS_FILE_TMPDIR
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
cp "$T/userkey.pub" "$T/authorized_keys"
mkdir -p /run/sshd
# fpga-remote serves an address other than loopback only with a token.
head -c 24 /dev/urandom | base64 > "$T/token"
chmod 600 "$T/token"
export FPGA_REMOTE_TOKEN
FPGA_REMOTE_TOKEN=$(cat "$T/token")
: > "$T/ssh_config"
: > "$OUT/hosts.txt"
for n in n1 n2; do
  a=$(hostaddr $n)
  printf 'ListenAddress %s\nPort 22\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n' \
    "$a" "$T/hostkey" "$T/authorized_keys" "$T/sshd.$n.pid" > "$T/sshd_config.$n"
  nsenter --net="/run/netns/$(cat "$D/netns.$n")" /usr/sbin/sshd -f "$T/sshd_config.$n" -E "$T/sshd.$n.log"
  printf 'Host %s\n  HostName %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n' \
    "$n" "$a" "$(id -un)" "$T/userkey" "$T/known_hosts" >> "$T/ssh_config"
  nsenter --net="/run/netns/$(cat "$D/netns.$n")" "$BIN/fpga-remote" serve --listen "$a:8437" --token-file "$T/token" 2> "$T/serve.$n.log" &
  echo $! >> "$T/servers"
  echo "2/http://$a:8437" >> "$OUT/hosts.txt"
done
wait_for 10 ssh -F "$T/ssh_config" n1 true
wait_for 10 ssh -F "$T/ssh_config" n2 true
for n in n1 n2; do
  wait_for 10 grep -q 'listening on' "$T/serve.$n.log" || { cat "$T/serve.$n.log" >&2; exit 1; }
done

# The input, on tmpfs, where every host (all this machine) reads it.
log=$DIR/access-${MB}M.log
[ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }
cp "$log" "$OUT/big.log"
touch -d '2021-03-04 05:06:07' "$OUT/big.log"
bytes=$(stat -c %s "$OUT/big.log")
cd "$OUT"
export PATH=$BIN:$PATH

# Each way ends with big.log.gz (the local row writes it with -c).
names=(local ssh http slurm)
labels=("(a) fpga-gzip, one local process"
        "(b) GNU parallel -S 2/n1,2/n2 (SSH), fpga-cat"
        "(c) fpga-remote --hosts (HTTP), fpga-cat"
        "(d) srun -N2 --ntasks-per-node=2, fpga-cat")
join='fpga-cat --rm -o big.log.gz big.log.*.gz'
cmds=("fpga-gzip -c big.log > big.log.gz"
      "fpga-split --ranges -n 4 big.log | parallel -S 2/n1,2/n2 --ssh 'ssh -F $T/ssh_config' --workdir '$OUT' '$BIN/fpga-gzip' && $join"
      "fpga-split --ranges -n 4 big.log | parallel -j 4 fpga-remote --hosts hosts.txt fpga-gzip && $join"
      "srun -N2 --ntasks-per-node=2 sh -c 'fpga-gzip \"\$(fpga-split --ranges -n \$((SLURM_PROCID + 1))/\$SLURM_NTASKS big.log)\"' && $join")
declare -A best
for round in $(seq "$REPEAT"); do
  for k in "${!names[@]}"; do
    n=${names[$k]}
    rm -f big.log.gz
    t0=$EPOCHREALTIME
    bash -c "${cmds[$k]}"
    t1=$EPOCHREALTIME
    if [ "$n" = local ]; then mv big.log.gz local.gz; else cmp local.gz big.log.gz; fi
    [ -z "$(ls big.log.*.gz 2>/dev/null)" ]
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
    if [ -z "${best[$n]:-}" ] || awk -v a="$t" -v b="${best[$n]}" 'BEGIN{exit !(a<b)}'; then best[$n]=$t; fi
  done
done
size=$(stat -c %s local.gz)

# Slurm's own cost: the mean wall time of a step that runs `true`, of one
# task on one node, and of the job's shape (four tasks on two nodes).
step_mean() { # srun options...
  local t0 t1
  t0=$EPOCHREALTIME
  for _ in $(seq "$STEPS"); do srun "$@" true; done
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" -v n="$STEPS" 'BEGIN{printf "%.3f", (b - a) / n}'
}
one=$(step_mean -N1 -n1)
four=$(step_mean -N2 --ntasks-per-node=2)

{
echo "## cluster benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Command: \`CLUSTER_MB=$MB bench/cluster.sh $BUILD\` (REPEAT=$REPEAT, STEPS=$STEPS), run on $(date -u '+%Y-%m-%d at %H:%M') UTC."
echo "Machine: $(machine); load average before the run: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "$((bytes >> 20)) MiB generated access log (bench/make_access_log.py), default level, on tmpfs; 4 byte-range"
echo "chunks (fpga-split --ranges) on two hosts that are network namespaces of this machine (Slurm 22.05 nodes,"
echo "each also running sshd and fpga-remote serve), joined by fpga-cat. Every output was compared with (a)'s"
echo "(cmp; ratio $(awk -v s="$size" -v b="$bytes" 'BEGIN{printf "%.4f", s / b}')). Wall seconds from the command's start to the joined file; best of $REPEAT."
echo
echo "| path | wall s | MB/s | x (a) |"
echo "|---|---:|---:|---:|"
for k in "${!names[@]}"; do
  n=${names[$k]}
  awk -v n="${labels[$k]}" -v b="$bytes" -v t="${best[$n]}" -v l="${best[local]}" \
    'BEGIN { printf "| %-46s | %6.2f | %7.1f | %5.2f |\n", n, t, b / t / 1e6, l / t }'
done
echo
echo "Slurm's overhead: \`srun -N1 -n1 true\` takes $one s (mean of $STEPS), what each chunk pays when it is a step"
echo "of its own (array tasks, parallel driving srun); \`srun -N2 --ntasks-per-node=2 true\` takes $four s, the"
echo "job's shape: $(awk -v f="$four" 'BEGIN{printf "%.3f", f / 4}') s a chunk."
echo
} | tee -a "${BENCH_RESULTS:-$HERE/RESULTS.md}"
