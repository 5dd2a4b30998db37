#!/usr/bin/env bash
# fpga-remote against local compression, side by side on the same input in
# one run: fpga-gzip -p 2 here, fpga-remote to an `fpga-remote serve` on
# 127.0.0.1, fpga-remote over SSH to an sshd on 127.0.0.1, and plain
# `ssh HOST fpga-gzip -c`. Every remote output is checked to be byte-identical
# to the local one. Prints a Markdown table (MB/s of input over wall time,
# ratio to local, peak RSS of the client and of the server) and appends it to
# bench/RESULTS.md. The server and the client share this machine's cores, so
# the remote rows pay for both sides: a lower bound for two hosts. The
# client's own CPU seconds (its check of every answer included: it inflates
# each compress answer and compares it with the chunk) have a column.
#
#   bench/remote.sh [BUILD_DIR]   environment: BENCH_DIR (corpus, default
#                                 /var/tmp/fpga-bench), REMOTE_MB (1024),
#                                 LEVEL (6), REPEAT (3 rounds),
#                                 BENCH_RESULTS (file the table is appended
#                                 to; default bench/RESULTS.md),
#                                 REMOTE_BEFORE (another build directory:
#                                 its client gets an HTTP row of its own,
#                                 against the same server, in the same
#                                 rounds; a before/after of the client)
# The SSH rows need root (an sshd on a loopback port with keys made here);
# elsewhere they are left out.
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
OUT=${BENCH_OUT:-/dev/shm/fpga-remote-bench}
MB=${REMOTE_MB:-1024}
LEVEL=${LEVEL:-6}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR" "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$OUT/sshd.pid" ] && kill "$(cat "$OUT/sshd.pid")" 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT

. "$HERE/lib.sh"
need /usr/bin/time time

cp "$(linux_slice "$MB")" "$OUT/big.tar"
in=$OUT/big.tar
bytes=$(stat -c %s "$in")

# The server, on a free loopback port.
"$BIN/fpga-remote" serve --listen 127.0.0.1:0 2> "$OUT/server.log" &
spid=$!
pids+=("$spid")
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/server.log" || true)
  [ -n "$port" ] && break
  sleep 0.05
done

# An sshd for the SSH rows.
ssh_ok=""
if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ]; then
  ssh-keygen -q -t ed25519 -N '' -f "$OUT/hostkey"
  ssh-keygen -q -t ed25519 -N '' -f "$OUT/userkey"
  cp "$OUT/userkey.pub" "$OUT/authorized_keys"
  mkdir -p /run/sshd
  sport=$((20000 + RANDOM % 20000))
  printf 'ListenAddress 127.0.0.1\nPort %s\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n' \
    "$sport" "$OUT/hostkey" "$OUT/authorized_keys" "$OUT/sshd.pid" > "$OUT/sshd_config"
  /usr/sbin/sshd -f "$OUT/sshd_config" -E "$OUT/sshd.log"
  printf 'Host benchhost\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n' \
    "$sport" "$(id -un)" "$OUT/userkey" "$OUT/known_hosts" > "$OUT/ssh_config"
  sleep 0.3
  ssh -F "$OUT/ssh_config" benchhost true && ssh_ok=1
fi
export FPGA_REMOTE_SSH="ssh -F $OUT/ssh_config" FPGA_REMOTE_COMMAND="$BIN/fpga-remote"

server_peak() { awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$spid/status"; }
# CPU seconds (user + system) a process and its reaped children have used.
cpu_of() { awk '{printf "%.2f", ($14 + $15 + $16 + $17) / 100}' "/proc/$1/stat"; }
sshd_pid() { cat "$OUT/sshd.pid" 2>/dev/null || echo 0; }

# The rows, measured in rounds (local, http, ssh, plain, local, ...) so that
# the load of a shared machine falls on every row alike. Per row: the best
# wall time, the peak RSS of that run, and the least CPU seconds of all
# parties (client and its ssh, and the server: serve, or sshd with the
# session and the remote tool under it).
names=(local http)
cmds=("$BIN/fpga-gzip -$LEVEL -p 2 -c '$in'" "$BIN/fpga-remote http://127.0.0.1:$port fpga-gzip -$LEVEL -c '$in'")
servers=(0 "$spid")
labels=("fpga-gzip -p 2 (local)" "fpga-remote http://127.0.0.1 fpga-gzip")
if [ -n "${REMOTE_BEFORE:-}" ]; then
  names+=(before)
  cmds+=("$(cd "$REMOTE_BEFORE/tools" && pwd)/fpga-remote http://127.0.0.1:$port fpga-gzip -$LEVEL -c '$in'")
  servers+=("$spid")
  labels+=("the same, client of REMOTE_BEFORE")
fi
if [ -n "$ssh_ok" ]; then
  names+=(ssh plain)
  cmds+=("$BIN/fpga-remote ssh://benchhost fpga-gzip -$LEVEL -c '$in'"
         "ssh -F '$OUT/ssh_config' benchhost '$BIN/fpga-gzip' -$LEVEL -p 2 -c < '$in'")
  # ssh alone (the cipher fpga-remote picks) carrying the input there and the
  # compressed output (the local row's) back, computing nothing: what the
  # SSH transport costs on this host for these bytes (its CPU s bound what
  # any client over ssh can reach here).
  names+=(carry)
  cmds+=("ssh -F '$OUT/ssh_config' -c aes128-gcm@openssh.com benchhost 'cat > /dev/null && cat $OUT/local.gz' < '$in'")
  servers+=("$(sshd_pid)" "$(sshd_pid)" "$(sshd_pid)")
  labels+=("fpga-remote ssh://localhost fpga-gzip" "ssh localhost fpga-gzip -c (no name/time)"
           "ssh -c aes128-gcm: input there, .gz back")
fi
declare -A best rss cpu ccpu
for round in $(seq "$REPEAT"); do
  for k in "${!names[@]}"; do
    n=${names[$k]} srv=${servers[$k]}
    s0=0; [ "$srv" != 0 ] && s0=$(cpu_of "$srv")
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S' -o "$OUT/time" bash -c "${cmds[$k]}" > "$OUT/$n.gz"
    t1=$EPOCHREALTIME
    if [ "$srv" != 0 ] && [ "$n" != http ]; then
      # sshd counts a session's CPU once it has reaped it.
      for _ in $(seq 40); do pgrep -P "$srv" > /dev/null || break; sleep 0.05; done
    fi
    s1=0; [ "$srv" != 0 ] && s1=$(cpu_of "$srv")
    read -r m u sy < "$OUT/time"
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b - a}')
    c=$(awk -v u="$u" -v s="$sy" -v a="$s0" -v b="$s1" 'BEGIN{printf "%.2f", u + s + b - a}')
    cc=$(awk -v u="$u" -v s="$sy" 'BEGIN{printf "%.2f", u + s}')
    case $n in http|ssh|before) cmp "$OUT/local.gz" "$OUT/$n.gz" ;; esac
    if [ -z "${best[$n]:-}" ] || awk -v a="$t" -v b="${best[$n]}" 'BEGIN{exit !(a<b)}'; then best[$n]=$t; rss[$n]=$m; fi
    if [ -z "${cpu[$n]:-}" ] || awk -v a="$c" -v b="${cpu[$n]}" 'BEGIN{exit !(a<b)}'; then cpu[$n]=$c; fi
    if [ -z "${ccpu[$n]:-}" ] || awk -v a="$cc" -v b="${ccpu[$n]}" 'BEGIN{exit !(a<b)}'; then ccpu[$n]=$cc; fi
  done
done

{
echo "## fpga-remote benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). $((bytes >> 20)) MiB of the Linux 6.1 source tar, level $LEVEL, on tmpfs;"
echo "client and server on this machine. MB/s is input bytes over wall time; best of $REPEAT rounds, the"
echo "rows interleaved. CPU s: user + system seconds of client and server together; client CPU s: the"
echo "command's own (for ssh rows, its ssh too); each the least of the rounds."
echo "Every remote output was compared with the local one (cmp)."
[ -n "${REMOTE_BEFORE:-}" ] && echo "REMOTE_BEFORE: $REMOTE_BEFORE."
echo
echo "| command | MB/s | x local | CPU s | client CPU s | client RSS MiB | server peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for k in "${!names[@]}"; do
  n=${names[$k]}
  peak="-"; [ "$n" = http ] && peak=$(server_peak)
  # The transport-only row compresses nothing: no ratio to local.
  awk -v n="${labels[$k]}" -v b="$bytes" -v t="${best[$n]}" -v l="${best[local]}" -v r="${rss[$n]}" -v s="$peak" -v c="${cpu[$n]}" -v cc="${ccpu[$n]}" -v x="$n" \
    'BEGIN { if (t < 0.01) t = 0.01; ratio = x == "carry" ? "-" : sprintf("%.2f", l / t)
             printf "| %-44s | %7.1f | %5s | %5.2f | %5.2f | %6.1f | %6s |\n", n, b / t / 1e6, ratio, c, cc, r / 1024, s }'
done
if [ -n "${cpu[carry]:-}" ]; then
  echo
  # Both cores busy throughout: throughput is bounded by CPU seconds, so
  # compression plus ssh's own cost for the same bytes bounds any SSH client.
  awk -v l="${cpu[local]}" -v c="${cpu[carry]}" 'BEGIN { printf "SSH ceiling on this host: ssh alone took %.2f CPU s to carry the input there and the .gz back, so a client over ssh can reach at most %.2f / (%.2f + %.2f) = %.2fx of local here.\n", c, l, l, c, l / (l + c) }'
fi
echo
} | tee -a "${BENCH_RESULTS:-$HERE/RESULTS.md}"
