#!/usr/bin/env bash
# fpga-remote against local compression, side by side on the same input in
# one run: fpga-gzip -p 2 here, fpga-remote to an `fpga-remote serve` on
# 127.0.0.1, fpga-remote over SSH to an sshd on 127.0.0.1, and plain
# `ssh HOST fpga-gzip -c`. Every remote output is checked to be byte-identical
# to the local one. Prints a Markdown table (MB/s of input over wall time,
# ratio to local, peak RSS of the client and of the server) and appends it to
# bench/RESULTS.md. The server and the client share this machine's cores, so
# the remote rows pay for both sides: a lower bound for two hosts.
#
#   bench/remote.sh [BUILD_DIR]   environment: BENCH_DIR (corpus, default
#                                 /var/tmp/fpga-bench), REMOTE_MB (1024),
#                                 LEVEL (6), REPEAT (3)
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

{
echo "## fpga-remote benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). $((bytes >> 20)) MiB of the Linux 6.1 source tar, level $LEVEL, on tmpfs;"
echo "client and server on this machine. MB/s is input bytes over wall time; best of $REPEAT."
echo "Every remote output was compared with the local one (cmp)."
echo
echo "| command | MB/s | x local | client RSS MiB | server peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
measure "$OUT/local.gz" "$BIN/fpga-gzip -$LEVEL -p 2 -c '$in'"
local_t=$T
rowr() { awk -v n="$1" -v b="$bytes" -v t="$T" -v l="$local_t" -v r="$RSS" -v s="$2" \
  'BEGIN { if (t < 0.01) t = 0.01; printf "| %-44s | %7.1f | %5.2f | %6.1f | %6s |\n", n, b / t / 1e6, l / t, r / 1024, s }'; }
rowr "fpga-gzip -p 2 (local)" "-"
measure "$OUT/http.gz" "$BIN/fpga-remote http://127.0.0.1:$port fpga-gzip -$LEVEL -c '$in'"
cmp "$OUT/local.gz" "$OUT/http.gz"
rowr "fpga-remote http://127.0.0.1 fpga-gzip" "$(server_peak)"
if [ -n "$ssh_ok" ]; then
  measure "$OUT/ssh.gz" "$BIN/fpga-remote ssh://benchhost fpga-gzip -$LEVEL -c '$in'"
  cmp "$OUT/local.gz" "$OUT/ssh.gz"
  rowr "fpga-remote ssh://localhost fpga-gzip" "-"
  measure "$OUT/plain.gz" "ssh -F '$OUT/ssh_config' benchhost '$BIN/fpga-gzip' -$LEVEL -p 2 -c < '$in'"
  rowr "ssh localhost fpga-gzip -c (no name/time)" "-"
fi
echo
} | tee -a "$HERE/RESULTS.md"
