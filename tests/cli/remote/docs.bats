#!/usr/bin/env bats
# fpga-remote's documentation run as written: man page SECURITY and RECIPES,
# the README's multi-host example, completions of the served options, the
# systemd unit, the package description, fpga-tools(7) and the design notes.

load ../helpers
load helpers

# The 33,000 KiB log of the RECIPES and README cases (big enough that
# fpga-split -n 16 cuts at whole 2 MiB blocks) and fpga-gzip's output for
# it, made once for the file.
setup_file() {
  mkdir -p "$BATS_FILE_TMPDIR/big"
  make_text "$BATS_FILE_TMPDIR/big/big.log" 33000
  touch -d '2022-02-02' "$BATS_FILE_TMPDIR/big/big.log"
  "$OURS" -c "$BATS_FILE_TMPDIR/big/big.log" > "$BATS_FILE_TMPDIR/big/want.gz"
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
  cp -p "$BATS_FILE_TMPDIR/big/big.log" big
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
        cp "$BATS_FILE_TMPDIR/big/want.gz" want
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
  cp -p "$BATS_FILE_TMPDIR/big/big.log" big.log
  cp "$BATS_FILE_TMPDIR/big/want.gz" want.gz
  # Every ssh started is logged: both SSH lines must be used.
  printf '#!/bin/sh\necho "$*" >> %s/ssh-runs\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$FPGA_REMOTE_SSH" > "$BATS_TEST_TMPDIR/logssh"
  chmod +x "$BATS_TEST_TMPDIR/logssh"
  FPGA_REMOTE_SSH=$BATS_TEST_TMPDIR/logssh PATH=$FPGA_BIN:$PATH bash -e commands
  cmp want.gz big.log.gz
  grep -q 'POST /v1/gzip/compress 200' "$L1"
  grep -v -- '-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -q ' node2 -- '
  grep -v -- '-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -q -- "-p $SSHPORT .*$(id -un)@node3 -- "
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
  LINTIAN=0 DEB_XZ_LEVEL=0 DEB_VERSION=0.0.1 DEB_MAINTAINER="t <t@example.org>" "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage out > pkg.log 2>&1 || { cat pkg.log; false; }
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

@test "fpga-tools(7) introduces every tool, fpga-remote included, in its DESCRIPTION" {
  MANWIDTH=120 man -l "$FPGA_SOURCE_DIR/man/fpga-tools.7" 2>/dev/null | col -bx |
    sed -n '/^DESCRIPTION/,/^OPTIONS THE TOOLS SHARE/p' > desc
  for t in fpga-split fpga-gzip fpga-cat fpga-infer fpga-remote; do
    [ -x "$FPGA_BIN/$t" ]
    grep -q "^ *$t(1)" desc || { echo "$t missing"; false; }
  done
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
