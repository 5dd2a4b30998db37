#!/usr/bin/env bats
# fpga-remote over SSH: a real sshd on a loopback port with keys made here;
# byte-identical output, one connection a host, failover when it dies, the
# cipher choice, BatchMode and what ssh said.

load ../helpers
load helpers

@test "SSH: compress, -d and -t through a real sshd are byte-identical" {
  start_sshd
  make_pair big 1500
  "$OURS" -k -b 128K here/big
  "$R" --chunk 300K testhost fpga-gzip -b 128K there/big
  cmp here/big.gz there/big.gz
  [ ! -e there/big ]
  "$R" ssh://testhost fpga-gzip -t there/big.gz
  "$R" --chunk 100K testhost fpga-gzip -d there/big.gz
  cmp here/big there/big
  "$R" testhost fpga-gzip -c < here/big | "$OURS" -dc | cmp - here/big
}

@test "SSH: one connection a host carries every request in flight, answers in order" {
  start_sshd
  make_pair big 3000
  "$OURS" -k -b 64K here/big
  # Every ssh started is logged: four requests in flight share one.
  printf '#!/bin/sh\necho "$*" >> %s/ssh-runs\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$FPGA_REMOTE_SSH" > "$BATS_TEST_TMPDIR/logssh"
  chmod +x "$BATS_TEST_TMPDIR/logssh"
  FPGA_REMOTE_SSH=$BATS_TEST_TMPDIR/logssh "$R" --jobs 4 --chunk 128K testhost fpga-gzip -b 64K there/big
  cmp here/big.gz there/big.gz
  # (ssh -G runs only print the configuration: no connection.)
  [ "$(grep -vcE -- '(^| )-G ' "$BATS_TEST_TMPDIR/ssh-runs")" -eq 1 ]
}

@test "SSH: a connection that dies with requests in flight fails them all over to the next host" {
  start_sshd
  start_server s1
  make_pair big 4000
  "$OURS" -k -b 64K here/big
  # The remote side holds each job 200 ms (two slots, 16 chunks: at least
  # 1.6 s of work) and is killed after 1 s, with requests in flight.
  printf '#!/bin/sh\nexec 3<&0\nFPGA_REMOTE_TEST_JOB_DELAY_MS=200 "%s" "$@" <&3 &\nsleep 1\nkill -9 $!\n' "$R" > "$BATS_TEST_TMPDIR/cut"
  chmod +x "$BATS_TEST_TMPDIR/cut"
  printf 'testhost\nhttp://127.0.0.1:%s\n' "$PORT" > hosts
  # A connection of its own, not a ControlMaster's: the kill ends it.
  sed -i 's/^  ControlMaster auto/  ControlMaster no/' "$BATS_TEST_TMPDIR/ssh_config"
  FPGA_REMOTE_COMMAND=$BATS_TEST_TMPDIR/cut "$R" --hosts hosts --jobs 4 --chunk 256K fpga-gzip -b 64K there/big
  # What the dead connection had in flight went to the HTTP server.
  cmp here/big.gz there/big.gz
  grep -q 'POST /v1/gzip/compress 200' "$SLOG"
}

@test "SSH: AES-GCM first where the CPU has AES, unless ssh_config chooses the ciphers" {
  start_sshd
  grep -qw aes /proc/cpuinfo || skip "no AES instructions here"
  make_pair f 300
  "$OURS" -k here/f
  printf '#!/bin/sh\necho "$*" >> %s/ssh-runs\nexec %s "$@"\n' "$BATS_TEST_TMPDIR" "$FPGA_REMOTE_SSH" > "$BATS_TEST_TMPDIR/logssh"
  chmod +x "$BATS_TEST_TMPDIR/logssh"
  export FPGA_REMOTE_SSH=$BATS_TEST_TMPDIR/logssh
  # ssh's defaults: the same list with AES-GCM first.
  "$R" testhost fpga-gzip -k there/f
  cmp here/f.gz there/f.gz
  grep -vE -- '(^| )-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -q -- '-o Ciphers=aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,'
  # The user's Ciphers line stands (and a new connection, no master).
  : > "$BATS_TEST_TMPDIR/ssh-runs"
  sed -i 's/^  ControlMaster auto/  ControlMaster no/; /^Host testhost/a\  Ciphers aes256-ctr' "$BATS_TEST_TMPDIR/ssh_config"
  rm -f there/f.gz
  "$R" testhost fpga-gzip -k there/f
  cmp here/f.gz there/f.gz
  [ "$(grep -vE -- '(^| )-G ' "$BATS_TEST_TMPDIR/ssh-runs" | grep -c -- 'Ciphers=' || true)" -eq 0 ]
  [ "$(grep -vcE -- '(^| )-G ' "$BATS_TEST_TMPDIR/ssh-runs")" -eq 1 ]
  grep -q 'Ciphers aes256-ctr' "$BATS_TEST_TMPDIR/ssh_config"
}

@test "SSH: a missing remote tool or a refused login is a clear error, with failover to HTTP" {
  start_sshd
  make_text f 100
  run env FPGA_REMOTE_COMMAND=/nonexistent/fpga-remote "$R" --retries 1 testhost fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"/nonexistent/fpga-remote not found on the remote host"* ]]
  run "$R" --retries 1 ssh://nobody@testhost fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"testhost"*"Permission denied"* ]]
  start_server s1
  printf 'ssh://nobody@testhost\nhttp://127.0.0.1:%s\n' "$PORT" > hosts
  "$R" --hosts hosts fpga-gzip -c f | "$OURS" -dc | cmp - f
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
