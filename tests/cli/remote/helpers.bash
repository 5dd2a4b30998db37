# Shared set-up for the fpga-remote suites (fpga-remote.bats and the
# suites of its stages): `fpga-remote serve` on loopback ports, a real sshd
# with keys made in the test, hosts in network namespaces. Load after
# helpers; a suite's own teardown() must call remote_teardown.

R=$FPGA_BIN/fpga-remote

# The default per-test set-up (a suite may define its own after loading
# this): tests work in w/; server logs and pids stay beside it.
setup() {
  mkdir -p "$BATS_TEST_TMPDIR/w"
  cd "$BATS_TEST_TMPDIR/w"
}
teardown() { remote_teardown; }

# Where state (logs, pids, keys) goes: the test's directory, or the file's
# when called from setup_file (one server for a whole suite).
remote_state_dir() { echo "${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}"; }

# Starts `fpga-remote serve` with extra options; sets PORT and SPID (and
# SLOG, its stderr). Waits for its "listening on" line.
start_server() { # name [options...]
  local name=$1 T; shift
  T=$(remote_state_dir)
  SLOG=$T/$name.log
  : > "$SLOG"
  "$R" serve --listen 127.0.0.1:0 "$@" 2> "$SLOG" &
  SPID=$!
  echo "$SPID" >> "$T/servers"
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$SLOG" || true)
    [ -n "$PORT" ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$SLOG" >&2
  return 1
}

# Stops what the test started: servers, sshd, network namespaces.
# (From teardown_file, what setup_file started.)
remote_teardown() {
  local T
  T=$(remote_state_dir)
  if [ -f "$T/servers" ]; then
    while read -r p; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done < "$T/servers"
    while read -r p; do wait "$p" 2>/dev/null || true; done < "$T/servers"
    rm -f "$T/servers"
  fi
  if [ -f "$T/sshd.pid" ]; then kill "$(cat "$T/sshd.pid")" 2>/dev/null || true; rm -f "$T/sshd.pid"; fi
  if [ -f "$T/netns" ]; then
    while read -r ns veth; do
      [ "$ns" = - ] || ip netns del "$ns" 2>/dev/null || true
      ip link del "$veth" 2>/dev/null || true
    done < "$T/netns"
    rm -f "$T/netns"
  fi
}

# True when sshd can be started here (openssh-server, root).
sshd_possible() {
  command -v /usr/sbin/sshd >/dev/null && [ "$(id -u)" -eq 0 ]
}

# ---- SSH: a real sshd on a loopback port, keys made here ------------------

start_sshd() {
  command -v /usr/sbin/sshd >/dev/null || skip "no sshd (openssh-server)"
  [ "$(id -u)" -eq 0 ] || skip "sshd for a test needs root here (CI runs as root)"
  local T
  T=$(remote_state_dir)
  ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
  ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
  cp "$T/userkey.pub" "$T/authorized_keys"
  mkdir -p /run/sshd
  # A random loopback port; others on this machine may hold it, so a
  # daemon that does not come up is tried again on another. SetEnv SHLVL=1:
  # bash run by sshd reads the account's ~/.bashrc only as a top-level shell
  # (SHLVL unset); a shell set-up such as pyenv's init there costs some
  # 2.5 s of every connection on a loaded machine (0.2 s without), and no
  # test needs the account's shell set-up (the commands are absolute paths).
  local try
  for try in 1 2 3 4 5; do
    SSHPORT=$(( 20000 + RANDOM % 20000 ))
    rm -f "$T/sshd.pid"
    cat > "$T/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSHPORT
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
SetEnv SHLVL=1
EOF
    /usr/sbin/sshd -f "$T/sshd_config" -E "$T/sshd.log" || continue
    for _ in $(seq 100); do [ -s "$T/sshd.pid" ] && break; sleep 0.05; done
    [ -s "$T/sshd.pid" ] && kill -0 "$(cat "$T/sshd.pid")" 2>/dev/null && (exec 9<>"/dev/tcp/127.0.0.1/$SSHPORT") 2>/dev/null && break
  done
  cat > "$T/ssh_config" <<EOF
Host testhost
  HostName 127.0.0.1
  Port $SSHPORT
  User $(id -un)
  IdentityFile $T/userkey
  IdentitiesOnly yes
  UserKnownHostsFile $T/known_hosts
  StrictHostKeyChecking accept-new
  LogLevel ERROR
  ControlMaster auto
  ControlPath $T/cm-%C
  ControlPersist 5
EOF
  export FPGA_REMOTE_SSH="ssh -F $T/ssh_config"
  export FPGA_REMOTE_COMMAND="$R"
}

# ---- Separate hosts: network namespaces joined to this one by veth pairs --

# make_netns N: a namespace whose address is 10.231.N.2 (ours 10.231.N.1).
make_netns() {
  local n=$1
  netns_with_veth "frt$$n$1" "frv$$n$1" || return 1
  ip addr add "10.231.$n.1/24" dev "frv$$n$1"
  ip link set "frv$$n$1" up
  netns_address "10.231.$n.2/24"
}

# netns_with_veth NS VETH: namespace NS (recorded for remote_teardown) and a
# veth pair, VETH here and VETHp in NS; NS and VETH set for netns_address.
netns_with_veth() {
  NS=$1 VETH=$2
  ip netns add "$NS" || return 1
  echo "$NS $VETH" >> "$(remote_state_dir)/netns"
  ip link add "$VETH" type veth peer name "${VETH}p" || return 1
  ip link set "${VETH}p" netns "$NS"
}
# netns_address ADDR/LEN: the namespace's end of the pair gets ADDR, and it
# and the namespace's loopback go up.
netns_address() {
  ip netns exec "$NS" ip addr add "$1" dev "${VETH}p"
  ip netns exec "$NS" ip link set "${VETH}p" up
  ip netns exec "$NS" ip link set lo up
}

# Hosts that reach each other, not only this one (a Slurm cluster's nodes):
# make_bridge B puts a bridge here at 10.231.B.1/24; make_bridged_netns B N
# a namespace at 10.231.B.N on it (N from 2). Removed by remote_teardown.
make_bridge() {
  local br=fbr$$-$1
  ip link add "$br" type bridge || return 1
  echo "- $br" >> "$(remote_state_dir)/netns"
  ip addr add "10.231.$1.1/24" dev "$br"
  ip link set "$br" up
}
make_bridged_netns() { # B N
  netns_with_veth "frt$$b$1n$2" "fb$$-$1-$2" || return 1
  ip link set "$VETH" master "fbr$$-$1"
  ip link set "$VETH" up
  netns_address "10.231.$1.$2/24"
}

# Four POSTs of FILE to the server on $PORT at once, as four clients would:
# c1..c4 get their HTTP status codes, h1..h4 their response headers.
post_four_at_once() { # file
  local pids="" i
  for i in 1 2 3 4; do
    curl -s -o /dev/null -D h$i -w '%{http_code}\n' -X POST --data-binary "@$1" "http://127.0.0.1:$PORT/v1/gzip/compress" > c$i &
    pids="$pids $!"
  done
  wait $pids
}

# ---- Shared by the suites of fpga-remote's features ------------------------

# Two inputs with the same name and time in two directories: one for the
# local run, one for the remote run.
make_pair() { # name kib
  mkdir -p here there
  make_text "here/$1" "$2"
  touch -d '2021-03-04 05:06:07' "here/$1"
  cp -p "here/$1" "there/$1"
}

# The options fpga-remote refuses for fpga-gzip (fpga-remote(1), LIMITS),
# --alias (the entry name of zip output, refused), and those that only
# print (help, version, license).
REFUSED=" --device --engine --list-devices --xclbin --zip --zlib --alias --help --version --license "

served_gzip_options() {
  "$OURS" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | while read -r o; do
    [[ $REFUSED == *" $o "* ]] || echo "$o"
  done
}

U() { echo "http://127.0.0.1:$PORT$1"; }
# The status of a request: code [curl options...] path
code() { local p=$1; shift; curl -s -o out.body -w '%{http_code}' --path-as-is "$@" "$(U "$p")"; }
hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SPID/status"; }
# Every slot free, nothing waiting, and the server still answers a job.
all_free() {
  curl -s "$(U /v1/devices)" > dev.json
  grep -q '"busy":0,"waiting":0' dev.json || { cat dev.json >&2; return 1; }
  curl -s "$(U /metrics)" | grep -qx 'fpga_remote_busy_slots 0'
  curl -s "$(U /metrics)" | grep -qx 'fpga_remote_queue_depth 0'
  printf 'still here\n' | gzip -c > ok.gz
  [ "$(curl -s --data-binary @ok.gz "$(U /v1/gzip/decompress)")" = "still here" ]
}

# A root CA, an intermediate, and client certificates: via the intermediate
# (sent as a chain, and alone), with keyUsage keyEncipherment only, and
# signed by a certificate that is not a CA.
make_pki() {
  local ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  sign() { openssl x509 -req -in "$1" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$3" -days 2 ${4:+-extfile "$4"} 2>/dev/null; }
  openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=root 2>/dev/null
  openssl req $ec -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > srv.ext
  sign srv.csr ca srv.pem srv.ext
  openssl req $ec -keyout int.key -out int.csr -subj /CN=intermediate 2>/dev/null
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > int.ext
  sign int.csr ca int.pem int.ext
  openssl req $ec -keyout nca.key -out nca.csr -subj /CN=notaca 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\n' > nca.ext
  sign nca.csr ca nca.pem nca.ext
  openssl req $ec -keyout cli.key -out cli.csr -subj /CN=client1 2>/dev/null
  sign cli.csr int leaf.pem
  cat leaf.pem int.pem > chain.pem
  printf 'keyUsage=critical,keyEncipherment\n' > ku.ext
  sign cli.csr ca ku.pem ku.ext
  sign cli.csr nca via-nca.pem
  cat via-nca.pem nca.pem > nca-chain.pem
  chmod 600 ./*.key
}

tls_code() { # cert path
  curl -s -o out.body -w '%{http_code}' --cacert ca.pem --cert "$1" --key cli.key "https://127.0.0.1:$PORT$2" || true
}

# A lying proxy (tests/cli/fixtures/hostile_server.py MODE) in front of the
# server on UPSTREAM; sets HPORT.
start_hostile() { # mode upstream-port
  local T pf
  T=$(remote_state_dir)
  pf=$T/hostile.$RANDOM
  "$PY" "$FIXTURES/hostile_server.py" "$pf" "$2" "$1" 2>> "$T/hostile.log" &
  echo $! >> "$T/servers"
  for _ in $(seq 100); do
    [ -f "$pf" ] && { HPORT=$(cat "$pf"); return 0; }
    sleep 0.05
  done
  return 1
}

# start_hostile for several modes at once: their python3s start side by
# side (each start is some 0.1 s of CPU but 0.5-1 s of waiting on a loaded
# machine); HPORTS[MODE] is each one's port.
start_hostiles() { # upstream-port mode...
  local T up=$1 m pf
  shift
  T=$(remote_state_dir)
  declare -gA HPORTS=()
  for m; do
    "$PY" "$FIXTURES/hostile_server.py" "$T/hostile.$m.port" "$up" "$m" 2>> "$T/hostile.log" &
    echo $! >> "$T/servers"
  done
  for m; do
    pf=$T/hostile.$m.port
    for _ in $(seq 200); do [ -f "$pf" ] && break; sleep 0.05; done
    [ -f "$pf" ] || return 1
    HPORTS[$m]=$(<"$pf")
  done
}

# ---- Boards: fpga-remote serve in namespaces, as a cluster of Pynq-Z1s ----

# Skips unless network namespaces can be made here (root, ip netns allowed).
need_netns() {
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
  ip netns add "frprobe$$" 2>/dev/null || skip "ip netns not allowed here"
  ip netns del "frprobe$$"
}

# make_netns on a 10.231.N subnet (N from 100) that no interface of this
# host holds yet: other suites, and other checkouts' tests on the same
# machine, make namespaces too, and two links on one subnet break routing.
# Chosen and made under a lock; sets NS and NET (N).
make_free_netns() {
  local n fd rc=1
  exec {fd}> /run/lock/fpga-tools-netns.lock
  flock "$fd"
  for n in $(seq 100 250); do
    ip -o -4 addr show | grep -q " 10\.231\.$n\.[0-9]*/" && continue
    make_netns "$n" && rc=0
    NET=$n
    break
  done
  exec {fd}>&-
  return $rc
}

# What the boards run (sets BOARD_BIN, BOARD_RUN, BOARD_ENV, BOARD_OVERLAY
# and BOARD_WHAT): the armhf build under qemu-user where `make armhf` made
# one (FPGA_ARMHF_BIN, default build-armhf/tools), else this host's
# binaries; BNN-PYNQ's cnvW1A1 overlay emulated (this host's fpga-infer
# pynq-emu: it stands for the FPGA fabric, not the board's CPU) where
# fpga-infer has the emulator, else the board's CPU engine.
board_programs() {
  local armhf=${FPGA_ARMHF_BIN:-$FPGA_SOURCE_DIR/build-armhf/tools}
  BOARD_ENV=()
  if [ -x "$armhf/fpga-remote" ] && command -v qemu-arm-static >/dev/null; then
    BOARD_BIN=$armhf
    BOARD_RUN=qemu-arm-static
    # A dynamic build finds its libraries where Debian's cross packages are.
    if LC_ALL=C readelf -l "$armhf/fpga-remote" 2>/dev/null | grep -q 'program interpreter'; then
      BOARD_ENV=(QEMU_LD_PREFIX=/usr/arm-linux-gnueabihf)
    fi
    BOARD_WHAT="armhf under qemu-arm-static"
  else
    BOARD_BIN=$FPGA_BIN
    BOARD_RUN=""
    BOARD_WHAT="this host's binaries"
  fi
  # (fpga-infer without the emulator reads "pynq-emu" as an input and
  # prints its own help, which does not name it.)
  if "$INFER" pynq-emu --help 2>/dev/null | grep -q 'pynq-emu'; then
    BOARD_OVERLAY=cnvW1A1
    BOARD_WHAT="$BOARD_WHAT, the $BOARD_OVERLAY overlay emulated (pynq:0)"
  else
    BOARD_OVERLAY=""
    BOARD_WHAT="$BOARD_WHAT, no overlay (the CPU engine)"
  fi
}

# Runs a board's program (fpga-infer, fpga-remote) as a board would.
board_exec() { # program [args...]
  local p=$1; shift
  env "${BOARD_ENV[@]}" $BOARD_RUN "$BOARD_BIN/$p" "$@"
}

# The emulated overlay's file (docs/PYNQ-EMULATION.md) once its emulator
# serves it: header word `state` (offset 20) is 1.
emu_serving() { [ "$(od -An -tu4 -j20 -N4 "$1" 2>/dev/null | tr -d ' ')" = 1 ]; }

# start_board NAME SERVE-OPTIONS...: a board in a namespace of its own:
# the overlay's emulator (NAME.emu) when there is one, then `fpga-remote
# serve` with the options given (their --listen ADDR:PORT is taken in the
# namespace; the board is reached at its address, 10.231.N.2:PORT). With
# the overlay, the options should name pynq:0 as the only device, so that a
# board that cannot open it fails here and never falls back; without it,
# `--device pynq:0` becomes `--device cpu --slots 1`, the board's CPU
# standing in for its one overlay. Its card lock is its own (the boards
# share this host's /run/lock). Sets BOARD_NS, BOARD_URL, BOARD_PID,
# BOARD_LOG, BOARD_EMU; board_up waits for it to listen.
start_board() { # name serve-options...
  local name=$1 T env=() opts=() listen="" prev="" o
  shift
  T=$(remote_state_dir)
  for o in "$@"; do
    [ "$prev" = --listen ] && listen=$o
    if [ -z "$BOARD_OVERLAY" ] && [ "$prev" = --device ] && [ "$o" = pynq:0 ]; then
      opts+=(cpu --slots 1)
    else
      opts+=("$o")
    fi
    prev=$o
  done
  [ -n "$listen" ] || { echo "start_board: no --listen" >&2; return 1; }
  make_free_netns || return 1
  BOARD_NS=$NS
  BOARD_URL=http://10.231.$NET.2:${listen##*:}
  BOARD_LOG=$T/$name.log
  BOARD_EMU=""
  mkdir -p "$T/$name.locks"
  env=(FPGA_LOCK_DIR="$T/$name.locks")
  if [ -n "$BOARD_OVERLAY" ]; then
    BOARD_EMU=$T/$name.emu
    ip netns exec "$NS" "$INFER" pynq-emu --overlay "$BOARD_OVERLAY" "$BOARD_EMU" 2> "$T/$name.emu.log" &
    local epid=$!
    echo "$epid" >> "$T/servers"
    for _ in $(seq 200); do
      emu_serving "$BOARD_EMU" && break
      kill -0 "$epid" 2>/dev/null || break
      sleep 0.05
    done
    emu_serving "$BOARD_EMU" || { cat "$T/$name.emu.log" >&2; return 1; }
    env+=(FPGAIO_PYNQ_EMU="$BOARD_EMU")
  fi
  : > "$BOARD_LOG"
  ip netns exec "$NS" env "${env[@]}" "${BOARD_ENV[@]}" $BOARD_RUN "$BOARD_BIN/fpga-remote" serve \
    "${opts[@]}" 2> "$BOARD_LOG" &
  BOARD_PID=$!
  echo "$BOARD_PID" >> "$T/servers"
}

# Waits until a board started by start_board listens (qemu-user starts
# slowly: up to 30 s), so that several boards start at once.
board_up() { # log pid
  for _ in $(seq 600); do
    grep -q 'listening on' "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  cat "$1" >&2
  return 1
}

# ---- Models made with numpy, once a file ------------------------------------

# Importing numpy costs 0.2-0.3 s of CPU a python3: need_numpy asks once a
# file (the answer kept in the file's directory), and fbnn_cache, called from
# setup_file, makes random_fbnn.py's models and images for every "SPEC SEED N"
# given in one python3 (and answers need_numpy's question); random_fbnn
# (random_fbnn.py's arguments) copies one from there, or runs random_fbnn.py
# when the cache has none. The bytes are random_fbnn.py's: it draws from
# numpy's generator seeded with SEED alone.
need_numpy() {
  local f=$BATS_FILE_TMPDIR/numpy
  [ -f "$f" ] || { "$PY" -c 'import numpy' 2>/dev/null && echo yes > "$f" || echo no > "$f"; }
  [ "$(<"$f")" = yes ] || skip "python3-numpy is not installed"
}
fbnn_cache() { # "SPEC SEED N"...
  mkdir -p "$BATS_FILE_TMPDIR/fbnn"
  "$PY" - "$RANDOM_MODEL" "$BATS_FILE_TMPDIR/fbnn" "$@" 2>/dev/null <<'EOF' || true
import os, runpy, sys
script, d = sys.argv[1], sys.argv[2]
try:
    import numpy
except ImportError:
    open(os.path.join(d, "../numpy"), "w").write("no\n")
    sys.exit(0)
open(os.path.join(d, "../numpy"), "w").write("yes\n")
for spec in sys.argv[3:]:
    s, seed, n = spec.split()
    k = "%s/%s-%s-%s" % (d, s, seed, n)
    sys.argv = [script, s, seed, k + ".fbnn", k + ".idx", n]
    runpy.run_path(script, run_name="__main__")
EOF
}
random_fbnn() { # spec seed model images n
  local k=$BATS_FILE_TMPDIR/fbnn/$1-$2-$5
  if [ -f "$k.fbnn" ] && [ -f "$k.idx" ]; then
    cp "$k.fbnn" "$3"
    [ "$4" = /dev/null ] || cp "$k.idx" "$4"
  else
    "$PY" "$RANDOM_MODEL" "$@"
  fi
}
