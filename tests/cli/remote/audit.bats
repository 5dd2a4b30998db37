#!/usr/bin/env bats
# fpga-remote as a demanding user meets it (the acceptance audit of issue
# 10, docs/ISSUE-10-CHECKLIST.md): the commands its man page shows, run as
# written; what a wrong CA file, a token or hosts file that is not what it
# should be, and a host that fails the same way each time look like; the
# hosts file's syntax; completions of the served tool options. Each case
# here failed before its fix, or pins a behaviour the checklist relies on.

load ../helpers
load helpers

# The options fpga-remote refuses for fpga-gzip (fpga-remote(1), LIMITS),
# --alias (the entry name of zip output, refused), and those that only
# print (help, version, license).
REFUSED=" --device --engine --list-devices --xclbin --zip --zlib --alias --help --version --license "

served_gzip_options() {
  "$OURS" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | while read -r o; do
    [[ $REFUSED == *" $o "* ]] || echo "$o"
  done
}

@test "--cacert: a missing file, or one without certificates, is one line naming it before any work" {
  start_server s1
  make_text f 20
  run "$R" --cacert nope.pem https://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: nope.pem: No such file or directory" ]
  [ -e f ]
  [ ! -e f.gz ]
  echo 'not a certificate' > junk.pem
  run "$R" --cacert junk.pem https://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: junk.pem: "* ]]
  [[ "$output" != *"no host could do the work"* ]]
  [ -e f ]
  [ ! -e f.gz ]
  # No request reached the server.
  ! grep -q 'POST' "$SLOG"
}

@test "a host that fails the same way each time is named once, with the count" {
  start_server gone; P=$PORT; kill "$SPID"; wait "$SPID" || true
  make_text f 20
  run "$R" http://127.0.0.1:$P fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: f: no host could do the work; tried http://127.0.0.1:$P ("*") 3 times" ]]
  [ "$(grep -o "http://127.0.0.1:$P" <<< "$output" | wc -l)" -eq 1 ]
  # Two dead hosts, tried in turn: each named once, in the order tried.
  start_server gone2; Q=$PORT; kill "$SPID"; wait "$SPID" || true
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$P" "$Q" > hosts
  run "$R" --hosts hosts fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"tried http://127.0.0.1:$P ("*") 3 times, http://127.0.0.1:$Q ("*") 2 times" ]]
}

@test "SSH: what ssh said is quoted once" {
  start_sshd
  make_text f 20
  run "$R" --retries 1 ssh://nobody@testhost fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"Permission denied"* ]]
  [ "$(grep -o 'Permission denied' <<< "$output" | wc -l)" -eq 1 ]
}

@test "a token file or hosts file that is a directory says so" {
  mkdir d
  make_text f 20
  run "$R" --token-file d http://127.0.0.1:1 fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: d: Is a directory" ]
  run "$R" --hosts d fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: d: "*"Is a directory" ]]
  run "$R" serve --token-file d
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: d: Is a directory" ]
}

@test "token files: a trailing newline or CRLF is not part of the token; an empty file is an error" {
  echo tok > t
  start_server s1 --token-file t
  make_text f 30
  "$OURS" -c f > want.gz
  printf 'tok' > t1; printf 'tok\n' > t2; printf 'tok\r\n' > t3; printf 'tok\nsecond line\n' > t4
  for t in t1 t2 t3 t4; do
    "$R" --token-file $t http://127.0.0.1:$PORT fpga-gzip -c f | cmp - want.gz
  done
  : > empty; printf '\n' > blank
  for t in empty blank; do
    run "$R" --token-file $t http://127.0.0.1:$PORT fpga-gzip -c f
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: $t: the token file is empty" ]
  done
  run "$R" serve --token-file empty
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: empty: the token file is empty" ]
}

@test "hosts files: comments, blank lines, CRLF, tabs, N/ prefixes and duplicates; bad lines name the line" {
  start_server a; PA=$PORT; LA=$SLOG
  start_server b; PB=$PORT; LB=$SLOG
  make_text f 30
  "$OURS" -c f > want.gz
  printf '# the fleet\r\n\r\n  \t\r\n2/http://127.0.0.1:%s   # two slots\r\n\thttp://127.0.0.1:%s\r\nhttp://127.0.0.1:%s' "$PA" "$PB" "$PA" > hosts
  # Slots 1 and 2 are a's, 3 is b's, 4 is a's (a duplicate line), 5 wraps to a.
  for slot in 1 2 3 4 5; do
    before_a=$(grep -c 'POST /v1/gzip/compress' "$LA" || true)
    before_b=$(grep -c 'POST /v1/gzip/compress' "$LB" || true)
    PARALLEL_JOBSLOT=$slot "$R" --hosts hosts fpga-gzip -c f | cmp - want.gz
    after_a=$(grep -c 'POST /v1/gzip/compress' "$LA" || true)
    after_b=$(grep -c 'POST /v1/gzip/compress' "$LB" || true)
    case $slot in
      3) [ "$after_b" -gt "$before_b" ]; [ "$after_a" -eq "$before_a" ] ;;
      *) [ "$after_a" -gt "$before_a" ]; [ "$after_b" -eq "$before_b" ] ;;
    esac
  done
  # --slot wins over PARALLEL_JOBSLOT.
  before_b=$(grep -c 'POST /v1/gzip/compress' "$LB")
  PARALLEL_JOBSLOT=1 "$R" --slot 3 --hosts hosts fpga-gzip -c f | cmp - want.gz
  [ "$(grep -c 'POST /v1/gzip/compress' "$LB")" -gt "$before_b" ]
  # Mistakes name the file and the line; nothing is written.
  printf 'http://127.0.0.1:%s\n\nx/http://127.0.0.1:%s\n' "$PA" "$PA" > bad
  run "$R" --hosts bad fpga-gzip f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: bad: line 3: "* ]]
  [ ! -e f.gz ]
  printf '# nothing\n\n' > none
  run "$R" --hosts none fpga-gzip f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: none: no hosts in the file" ]
}

@test "GNU parallel: {%} and PARALLEL_JOBSLOT spread jobs over the hosts of --hosts" {
  command -v parallel >/dev/null || skip "no GNU parallel"
  start_server a; LA=$SLOG; PA=$PORT
  start_server b; LB=$SLOG; PB=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
  for i in 1 2 3 4; do make_text in$i 40; touch -d '2020-05-05' in$i; "$OURS" -c in$i > want$i.gz; done
  # {%} given explicitly ...
  parallel -j 2 "$R" --slot {%} --hosts hosts.txt fpga-gzip -k {} ::: in1 in2 in3 in4
  for i in 1 2 3 4; do cmp want$i.gz in$i.gz; done
  grep -q 'POST /v1/gzip/compress' "$LA"
  grep -q 'POST /v1/gzip/compress' "$LB"
  # ... or taken from PARALLEL_JOBSLOT, which parallel sets.
  rm in?.gz; : > "$LA"; : > "$LB"
  parallel -j 2 "$R" --hosts hosts.txt fpga-gzip -k ::: in1 in2 in3 in4
  for i in 1 2 3 4; do cmp want$i.gz in$i.gz; done
  grep -q 'POST /v1/gzip/compress' "$LA"
  grep -q 'POST /v1/gzip/compress' "$LB"
}

# The SECURITY section's commands as the page prints them, with the
# server's address put in a network namespace of its own (else a free port
# on 127.0.0.1).
@test "man fpga-remote, SECURITY: the openssl commands and the two fpga-remote commands run as written" {
  command -v openssl >/dev/null || skip "no openssl"
  MANWIDTH=200 man -l "$FPGA_SOURCE_DIR/man/fpga-remote.1" 2>/dev/null | col -bx |
    sed -n '/^ *[a-z]*openssl \|^ *fpga-remote \|^ *printf \|^  *-\|^  *https:/p' |
    sed -n '/openssl req -x509/,/https:/p' |
    sed -e :a -e '/\\$/N; s/\\\n//; ta' | sed 's/^ *//; s/  */ /g; /^$/d' > cmds
  cat cmds
  grep -q '^openssl' cmds
  grep -q '^fpga-remote serve' cmds
  grep -q '^fpga-remote .*https://' cmds
  addr=$(grep -o 'https://[0-9.]*:[0-9]*' cmds | sed 's|https://||')
  [ -n "$addr" ]
  new=""
  if [ "$(id -u)" -eq 0 ] && ip netns add "frprobe$$" 2>/dev/null; then
    ip netns del "frprobe$$"
    make_netns 47
    new=10.231.47.2:8437
    prefix="ip netns exec $NS"
  else
    new=127.0.0.1:$(( 20000 + RANDOM % 20000 ))
    prefix=""
  fi
  sed -i "s/${addr%:*}/${new%:*}/g; s/:${addr#*:}/:${new#*:}/g; s|^fpga-remote |$R |" cmds
  make_text big.log 300
  touch -d '2021-01-01' big.log
  "$OURS" -c big.log > want.gz
  while read -r line; do
    case $line in
      "$R serve"*)
        eval "exec $prefix $line" > /dev/null 2> serve.log 3>&- &
        echo $! >> "$BATS_TEST_TMPDIR/servers"
        for _ in $(seq 100); do grep -q 'listening on' serve.log && break; sleep 0.05; done
        cat serve.log
        grep -q "listening on $new" serve.log ;;
      *) eval "$line" ;;
    esac
  done < cmds
  cmp want.gz big.log.gz
  [ ! -e big.log ]
}

@test "completions: every fpga-gzip option fpga-remote serves completes after the tool, in bash, zsh and fish" {
  C=$FPGA_SOURCE_DIR/completions
  served=$(served_gzip_options)
  [ -n "$served" ]
  missing=""
  # bash: what the function offers after "fpga-remote HOST fpga-gzip --".
  got=$(bash -c 'source "$1/bash/fpga-remote"; COMP_WORDS=(fpga-remote h:1 fpga-gzip --); COMP_CWORD=3; _fpga_remote; printf "%s\n" "${COMPREPLY[@]}"' _ "$C")
  for o in $served; do grep -qx -- "$o" <<< "$got" || missing="$missing bash:$o"; done
  # fish: the same, with --hosts (no HOST operand).
  if command -v fish >/dev/null; then
    got=$(HOME=$PWD XDG_CONFIG_HOME=$PWD/cfg XDG_DATA_HOME=$PWD/data fish -c 'source $argv[1]; complete -C"fpga-remote --hosts h fpga-zcat --"' "$C/fish/fpga-remote.fish" | cut -f1)
    for o in $served; do grep -qx -- "$o" <<< "$got" || missing="$missing fish:$o"; done
  fi
  # zsh: each option in the tool's specs; one completed through a pty, with
  # --hosts, where the tool is the first operand.
  for o in $served; do grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$C/zsh/_fpga-remote" || missing="$missing zsh:$o"; done
  echo "missing:$missing"
  [ -z "$missing" ]
  command -v zsh >/dev/null || skip "no zsh"
  run timeout 30 zsh -f -c '
    zmodload zsh/zpty
    zpty z zsh -f -i
    zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -d $2; PS1=\">\""
    zpty -w z "fpga-remote --hosts h fpga-zcat --rsyn"$'"'"'\t'"'"'
    all=""
    for i in {1..200}; do
      zpty -r -t z chunk && all+=$chunk
      [[ $all == *"fpga-zcat --rsyncable"* ]] && break
      sleep 0.05
    done
    zpty -d z
    [[ $all == *"fpga-zcat --rsyncable"* ]]' _ "$C/zsh" "$PWD/zcompdump"
  [ "$status" -eq 0 ]
}

# The unit as `make install` installs it, and run as systemd runs it: the
# environment file the README writes, $FPGA_REMOTE_OPTS split at blanks,
# SIGTERM to stop. (No systemd here: what systemctl would do is done by
# hand; systemd-analyze checks the file.)
@test "systemd unit: names the installed fpga-remote whatever the install prefix, verifies, serves as the README sets it up" {
  BUILD_DIR=${FPGA_BUILD_DIR:-$FPGA_BIN/..}
  cmake --install "$BUILD_DIR" --prefix "$PWD/root/usr" > install.log 2>&1 || { cat install.log; false; }
  unit=$PWD/root/usr/lib/systemd/system/fpga-remote.service
  [ -f "$unit" ]
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  echo "ExecStart=$exec_start"
  [ "$exec_start" = "$PWD/root/usr/bin/fpga-remote serve \$FPGA_REMOTE_OPTS" ]
  [ -x "${exec_start%% *}" ]
  if command -v systemd-analyze >/dev/null; then
    # (verify runs man for Documentation=: the page as installed here)
    run env MANPATH="$PWD/root/usr/share/man:" systemd-analyze verify "$unit"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
  fi
  grep -qx 'EnvironmentFile=-/etc/default/fpga-remote' "$unit"
  grep -qx 'KillSignal=SIGTERM' "$unit"
  # The README's server set-up, writing here instead of /etc/default.
  sed -n "/^ *printf 'FPGA_REMOTE_OPTS=/,/fpga-remote >\/dev\/null/p" "$FPGA_SOURCE_DIR/README.md" |
    sed -e :a -e '/\\$/N; s/\\\n//; ta' | sed "s|sudo tee /etc/default/fpga-remote|tee $PWD/default|" > setup.sh
  cat setup.sh
  [ "$(wc -l < setup.sh)" -eq 1 ]
  bash setup.sh
  grep -q '^FPGA_REMOTE_OPTS="--listen 0.0.0.0:8437"$' default
  tok=$(sed -n 's/^FPGA_REMOTE_TOKEN=//p' default)
  [ -n "$tok" ]
  # 0.0.0.0 only in a namespace of our own.
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
  ip netns add "frprobe$$" 2>/dev/null || skip "ip netns not allowed here"
  ip netns del "frprobe$$"
  make_netns 48
  ( set -a; . ./default; set +a; set -f
    exec ip netns exec "$NS" env -i FPGA_REMOTE_OPTS="$FPGA_REMOTE_OPTS" FPGA_REMOTE_TOKEN="$FPGA_REMOTE_TOKEN" \
      ${exec_start%% *} serve $FPGA_REMOTE_OPTS ) 2> unit.log &
  UPID=$!
  echo "$UPID" >> "$BATS_TEST_TMPDIR/servers"
  for _ in $(seq 100); do grep -q 'listening on' unit.log && break; sleep 0.05; done
  grep -q 'listening on 0.0.0.0:8437 (http' unit.log
  make_text f 100
  "$OURS" -c f > want.gz
  FPGA_REMOTE_TOKEN=$tok "$R" http://10.231.48.2:8437 fpga-gzip -c f | cmp - want.gz
  run "$R" --retries 1 http://10.231.48.2:8437 fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"a token is required"* ]]
  # One log line a request; SIGTERM (the unit's KillSignal) ends it with 0.
  grep -q 'POST /v1/gzip/compress 200' unit.log
  grep -q 'POST /v1/gzip/compress 401' unit.log
  kill -TERM "$UPID"
  rc=0; wait "$UPID" || rc=$?
  [ "$rc" -eq 0 ]
}

# The package's own words: a fleet installs it for fpga-remote, so its
# description names the tool, and the README's list of what it depends on
# is the package's Depends.
@test "package: the description names fpga-remote; the README lists every package it depends on" {
  command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-dev"
  BUILD_DIR=${FPGA_BUILD_DIR:-$FPGA_BIN/..}
  DESTDIR=$PWD/stage cmake --install "$BUILD_DIR" --prefix /usr > install.log 2>&1 || { cat install.log; false; }
  LINTIAN=0 DEB_VERSION=0.0.1 DEB_MAINTAINER="t <t@example.org>" "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage out > pkg.log 2>&1 || { cat pkg.log; false; }
  deb=$(ls out/*.deb)
  dpkg-deb -f "$deb" Description | tee desc
  grep -q 'fpga-remote' desc
  # (The XRT plugin's libxrt1 and libuuid1 are only suggested in the package
  # make deb builds; this build's libdir may not be the multiarch one that
  # make-deb.sh recognises plugins by, so they are left out here.)
  depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/ //g' | grep -v '^libxrt\|^libuuid')
  echo "Depends: $depends"
  sed -n '/^## Installing on a fleet/,/^## /p' "$FPGA_SOURCE_DIR/README.md" | tr '\n' ' ' > fleet
  missing=""
  for p in $depends; do grep -q -- "$p" fleet || missing="$missing $p"; done
  echo "not in the README:$missing"
  [ -z "$missing" ]
}

# fpga-remote(1)'s RECIPES as the page prints them, each block of commands
# in a directory of its own, hosts.txt naming this test's servers: two
# `fpga-remote serve` on loopback ports (HTTP blocks) or the test's sshd
# (the SSH block). Each ends in a file identical to the local tool's.
@test "man fpga-remote, RECIPES: every block runs as written and joins to the local tool's output" {
  command -v parallel >/dev/null || skip "no GNU parallel"
  MANWIDTH=200 man -l "$FPGA_SOURCE_DIR/man/fpga-remote.1" 2>/dev/null | col -bx |
    sed -n '/^RECIPES/,/^ENVIRONMENT/p' > recipes
  # Blocks: runs of lines indented as examples; a line ending in | goes on.
  awk '/^           [^ ]/ || /^               [^ ]/ { sub(/^ +/, ""); cmd = cmd $0; if ($0 ~ /\|$/) { cmd = cmd " "; next } print cmd > ("block" n); cmd = ""; inblock = 1; next }
       { if (inblock) { n++; inblock = 0 } }' n=1 recipes
  ls block*
  [ "$(ls block* | wc -l)" -ge 4 ]
  mkdir -p models
  have_cnv=""
  # The fpga-infer block needs BNN-PYNQ's weights and images (../shared/data);
  # without them it is left out, as the other suites skip.
  if [ -d "$DATA/bnn-pynq" ] && [ -f "$DATA/images/deer.bin" ] && [ -f "$DATA/images/cifar10-test-0000.bin" ]; then
    "$FPGA_BIN/fpga-infer" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o models/cnv.fbnn 2>/dev/null && have_cnv=1
  fi
  start_server a --models "$PWD/models"; PA=$PORT
  start_server b --models "$PWD/models"; PB=$PORT
  ssh_ok=""
  if sshd_possible; then start_sshd; ssh_ok=1; fi
  make_text big 17000
  touch -d '2022-02-02' big
  if [ -n "$have_cnv" ]; then
    for i in 1 2 3 4 5; do cat "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin"; done > batch
  fi
  ran=0
  for b in block*; do
    cat "$b"
    mkdir "$PWD/run-$b"
    (
      cd "$PWD/run-$b"
      if grep -q 'test_batch.bin' "../$b"; then
        [ -n "$have_cnv" ] || exit 77
        cp -p ../batch test_batch.bin
        "$FPGA_BIN/fpga-infer" -q --model ../models/cnv.fbnn test_batch.bin > want
        printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
      else
        cp -p ../big big.log
        "$OURS" -c big.log > want
        if grep -q 'SSH' <(grep -B3 -F "$(head -c 40 "../$b")" ../recipes); then
          [ -n "$ssh_ok" ] || exit 77
          printf 'testhost\nssh://%s@testhost\n' "$(id -un)" > hosts.txt
        else
          printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
        fi
      fi
      PATH=$FPGA_BIN:$PATH bash -e "../$b" 2> err || { cat err; exit 1; }
      if [ -e results.tsv ]; then cmp want results.tsv; else cmp want big.log.gz; fi
    ) && ran=$((ran + 1)) || { rc=$?; [ "$rc" -eq 77 ] || false; echo "(skipped: no data or sshd)"; }
  done
  echo "ran $ran of $(ls block* | wc -l)"
  [ "$ran" -ge 2 ]
  if [ -n "$have_cnv" ] && [ -n "$ssh_ok" ]; then [ "$ran" -eq "$(ls block* | wc -l)" ]; fi
}

# ---- Requirements of issue 10 that no test checked before the audit -------

@test "metrics: requests, bytes in and out, busy slots, queue depth, errors and latency, each counting what happened" {
  start_server s1
  make_text f 50
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > f.gz
  run "$R" http://127.0.0.1:$PORT fpga-gzip -t f       # not gzip: an error answer
  [ "$status" -eq 1 ]
  curl -sf "http://127.0.0.1:$PORT/metrics" > m
  cat m
  v() { awk -v k="$1" '$1 == k { print $2 }' m; }
  [ "$(v 'fpga_remote_requests_total{path="/v1/gzip/compress",status="200"}')" = 1 ]
  [ "$(v 'fpga_remote_requests_total{path="/v1/gzip/test",status="422"}')" = 1 ]
  # Bytes: at least the file in, at least the answer out.
  [ "$(v fpga_remote_received_bytes_total)" -ge $(( 2 * $(stat -c %s f) )) ]
  [ "$(v fpga_remote_sent_bytes_total)" -ge "$(stat -c %s f.gz)" ]
  [ "$(v fpga_remote_errors_total)" = 1 ]
  [ "$(v fpga_remote_busy_slots)" = 0 ]
  [ "$(v fpga_remote_queue_depth)" = 0 ]
  [ "$(v fpga_remote_request_seconds_count)" -ge 2 ]
  [ -n "$(v fpga_remote_request_seconds_sum)" ]
  grep -q '^fpga_remote_request_seconds_bucket{le="+Inf"} ' m
  # Each family has its HELP and TYPE lines (Prometheus text format).
  for fam in requests_total received_bytes_total sent_bytes_total errors_total busy_slots queue_depth request_seconds; do
    grep -q "^# TYPE fpga_remote_$fam " m
    grep -q "^# HELP fpga_remote_$fam " m
  done
}

@test "connections: over --max-per-address from one address is closed, over --max-connections in all waits until one ends" {
  start_server s1 --max-connections 3 --max-per-address 2 --timeout 10
  # Idle connections from three loopback addresses; a connection turned away
  # is closed at once (recv sees the end), one let in stays open.
  run timeout 30 "$PY" - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(1.0)
    return s
def closed(s):
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
a1, a2 = conn("127.0.0.1"), conn("127.0.0.1")
time.sleep(0.2)
a3 = conn("127.0.0.1")
print("third from one address closed:", closed(a3))
b1 = conn("127.0.0.2")
time.sleep(0.2)
print("first from another address open:", not closed(b1))
# Over the limit in all, a connection waits (the server does not take it)
# until one of the others ends: its request gets no answer before that.
c1 = conn("127.0.0.3")
c1.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
try:
    early = c1.recv(100)
except socket.timeout:
    early = b""
print("fourth in all waits:", early == b"")
print("first two still open:", not closed(a1) and not closed(a2))
a1.close()
c1.settimeout(10)
late = c1.recv(100)
print("fourth answered once one ended:", late.startswith(b"HTTP/1.1 200"))
PY
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"third from one address closed: True"* ]]
  [[ "$output" == *"first from another address open: True"* ]]
  [[ "$output" == *"fourth in all waits: True"* ]]
  [[ "$output" == *"first two still open: True"* ]]
  [[ "$output" == *"fourth answered once one ended: True"* ]]
  make_text f 10
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
}

@test "credentials never on a command line: no --token option; the token is in no process's arguments" {
  echo 'tok-in-a-file' > tok
  make_text f 30
  run "$R" --token tok-in-a-file http://127.0.0.1:1 fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown option '--token'"* ]]
  run "$R" serve --token tok-in-a-file
  [ "$status" -eq 1 ]
  FPGA_REMOTE_TEST_JOB_DELAY_MS=800 start_server s1 --token-file tok
  # While a request is in flight, neither process shows the token.
  "$R" --token-file tok http://127.0.0.1:$PORT fpga-gzip -c f > r.gz &
  cpid=$!
  for _ in $(seq 100); do curl -s -H 'Authorization: Bearer tok-in-a-file' "http://127.0.0.1:$PORT/metrics" | grep -q '^fpga_remote_busy_slots 1' && break; sleep 0.05; done
  ! tr '\0' ' ' < /proc/$cpid/cmdline | grep -q tok-in-a-file
  ! tr '\0' ' ' < /proc/$SPID/cmdline | grep -q tok-in-a-file
  wait "$cpid"
  "$OURS" -dc r.gz | cmp - f
}

@test "SSH: ssh runs in BatchMode (never a prompt), on one connection, with the remote command" {
  start_sshd
  make_text f 30
  printf '#!/bin/sh\necho "$*" >> %s/ssh-runs\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$FPGA_REMOTE_SSH" > "$BATS_TEST_TMPDIR/logssh"
  chmod +x "$BATS_TEST_TMPDIR/logssh"
  FPGA_REMOTE_SSH=$BATS_TEST_TMPDIR/logssh "$R" testhost fpga-gzip -c f | "$OURS" -dc | cmp - f
  cat "$BATS_TEST_TMPDIR/ssh-runs"
  run grep -vE -- '(^| )-G ' "$BATS_TEST_TMPDIR/ssh-runs"
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"-o BatchMode=yes"* ]]
  [[ "$output" == *"testhost -- $R serve --stdio"* ]]
}

@test "client memory stays bounded: 200 MB through fpga-remote fpga-gzip -c and -dc" {
  start_server s1
  yes 'a line of a log that repeats, with some words in it 0123456789' | head -c 200M > big
  /usr/bin/time -f '%M' -o rss.c "$R" http://127.0.0.1:$PORT fpga-gzip -c big > big.gz
  /usr/bin/time -f '%M' -o rss.d "$R" http://127.0.0.1:$PORT fpga-gzip -dc big.gz | cmp - big
  echo "client peak RSS: $(cat rss.c) KiB compressing, $(cat rss.d) KiB decompressing"
  [ "$(tail -1 rss.c)" -lt $(( 96 * 1024 )) ]
  [ "$(tail -1 rss.d)" -lt $(( 96 * 1024 )) ]
}

@test "docs: {%} across -S hosts, ControlMaster, the protocol's versioned paths, CLI11 and fmt decisions are written down" {
  S=$FPGA_SOURCE_DIR
  render() { MANWIDTH=200 man -l "$1" 2>/dev/null | col -bx | tr -s ' \n' '  '; }
  render "$S/man/fpga-tools.7" | grep -q "{%} numbers slots across all hosts of a -S run, so it cannot pick a device on a remote host"
  render "$S/man/fpga-remote.1" | grep -q "{%} counts slots across all hosts of a -S run"
  render "$S/man/fpga-remote.1" | grep -q "ControlMaster auto"
  render "$S/man/fpga-remote.1" | grep -q "ControlPath"
  for p in /v1/gzip/compress /v1/gzip/decompress /v1/gzip/test /v1/health /v1/devices /v1/models /v1/infer /metrics; do
    grep -q -- "$p" "$S/docs/PROTOCOL.md"
  done
  grep -qi 'content-type' "$S/docs/PROTOCOL.md"
  grep -q '"error"' "$S/docs/PROTOCOL.md"
  grep -q 'CLI11' "$S/docs/ARCHITECTURE.md"
  grep -qw 'fmt' "$S/docs/ARCHITECTURE.md"
}

# libcurl would offer HTTP/2 in the TLS handshake (ALPN) by default; the
# client pins HTTP/1.1, so a server that would pick h2 is offered only
# http/1.1 and gets HTTP/1.1 requests.
@test "libcurl: HTTP/1.1 pinned: an https server that prefers h2 is offered only http/1.1" {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  "$PY" - c.pem k.pem > alpn.out 2> alpn.err <<'PY' &
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.set_alpn_protocols(["h2", "http/1.1"])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
t = ctx.wrap_socket(c, server_side=True)
print("alpn:", t.selected_alpn_protocol(), flush=True)
line = t.recv(4096).split(b"\r\n")[0]
print("request:", line.decode(), flush=True)
t.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
t.close()
PY
  ppid=$!
  for _ in $(seq 100); do [ -s alpn.out ] && break; sleep 0.05; done
  port=$(head -1 alpn.out)
  make_text f 10
  run timeout 30 "$R" --retries 1 --cacert c.pem "https://127.0.0.1:$port" fpga-gzip -c f
  wait "$ppid" || true
  cat alpn.out alpn.err
  grep -qx 'alpn: http/1.1' alpn.out
  grep -qx 'request: GET /v1/health HTTP/1.1' alpn.out
}

# The README's example as written: its commands and its hosts.txt (an HTTP
# server, a bare SSH host, ssh://user@host:port), host names mapped to this
# test's server and sshd (node2 and node3 are Host entries of the test's
# ssh_config, me is this user, 2222 the sshd's port).
@test "README: the multi-host example with its hosts.txt runs as written and joins to fpga-gzip's bytes" {
  command -v parallel >/dev/null || skip "no GNU parallel"
  start_server node1; P1=$PORT; L1=$SLOG
  start_sshd
  sed -n '/^## fpga-remote: one stage on another host/,/^### /p' "$FPGA_SOURCE_DIR/README.md" > section
  sed -n '/^hosts.txt has one host a line/,/^The job slot/p' section | sed -n 's/^    //p' > hosts.txt
  sed -n '/^    fpga-split -n 16 big.log/,/^    fpga-cat/p' section | sed 's/^    //' > commands
  cat hosts.txt commands
  [ "$(wc -l < hosts.txt)" -eq 3 ]
  [ "$(wc -l < commands)" -eq 2 ]
  grep -q 'http://node1:8437' hosts.txt
  sed -i "s|node1:8437|127.0.0.1:$P1|; s|me@node3:2222|$(id -un)@node3:$SSHPORT|" hosts.txt
  printf 'Host node2 node3\n  HostName 127.0.0.1\n  Port %s\n  IdentityFile %s/userkey\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n' \
    "$SSHPORT" "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >> "$BATS_TEST_TMPDIR/ssh_config"
  make_text big.log 17000
  touch -d '2023-03-03' big.log
  "$OURS" -c big.log > want.gz
  # Every ssh started is logged: both SSH lines must be used.
  printf '#!/bin/sh\necho "$*" >> %s/ssh-runs\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$FPGA_REMOTE_SSH" > "$BATS_TEST_TMPDIR/logssh"
  chmod +x "$BATS_TEST_TMPDIR/logssh"
  FPGA_REMOTE_SSH=$BATS_TEST_TMPDIR/logssh PATH=$FPGA_BIN:$PATH bash -e commands
  cmp want.gz big.log.gz
  grep -q 'POST /v1/gzip/compress 200' "$L1"
  grep -v -- '-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -q ' node2 -- '
  grep -v -- '-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -q -- "-p $SSHPORT .*$(id -un)@node3 -- "
}

# A file option given an empty value (--token-file="$UNSET") was silently
# no option at all: no token sent, the HOST operand used instead of --hosts.
@test "an empty value for an option is a usage error naming the option, not the option left out" {
  make_text f 10
  for opt in --hosts --token-file --cacert --cert --key --remote-command; do
    for form in "$opt=" "$opt ''"; do
      eval "run \"\$R\" $form http://127.0.0.1:1 fpga-gzip -c f"
      echo "$form: $status $output"
      [ "$status" -eq 1 ]
      [ "${lines[0]}" = "fpga-remote: option '$opt' needs a value" ]
      [[ "${lines[1]}" == "Try 'fpga-remote --help'"* ]]
    done
  done
  for opt in --token-file --models --tls-cert --listen; do
    run "$R" serve "$opt="
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "fpga-remote: option '$opt' needs a value" ]
  done
}

@test "fpga-tools(7) introduces every tool, fpga-remote included, in its DESCRIPTION" {
  MANWIDTH=120 man -l "$FPGA_SOURCE_DIR/man/fpga-tools.7" 2>/dev/null | col -bx |
    sed -n '/^DESCRIPTION/,/^OPTIONS THE TOOLS SHARE/p' > desc
  for t in fpga-split fpga-gzip fpga-cat fpga-infer fpga-remote; do
    [ -x "$FPGA_BIN/$t" ]
    grep -q "^ *$t(1)" desc || { echo "$t missing"; false; }
  done
}

# As root every file is readable: the test runs the client and the server
# as nobody (what the unit's DynamicUser is) against a root-only file.
@test "a token file the user cannot read is one line naming it, client and server, nothing sent" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
  command -v setpriv >/dev/null || skip "no setpriv"
  d=$(mktemp -d /tmp/fr-audit.XXXXXX)
  cp "$R" "$d/fpga-remote"
  chmod 755 "$d" "$d/fpga-remote"
  echo tok > "$d/tok"
  chmod 600 "$d/tok"
  echo data > "$d/in"
  chmod 644 "$d/in"
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  run as_nobody "$d/fpga-remote" serve --listen 127.0.0.1:0 --token-file "$d/tok"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $d/tok: Permission denied" ]
  run as_nobody "$d/fpga-remote" --token-file "$d/tok" http://127.0.0.1:1 fpga-gzip -c "$d/in"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $d/tok: Permission denied" ]
  rm -rf "$d"
}
