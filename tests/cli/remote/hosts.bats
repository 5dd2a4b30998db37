#!/usr/bin/env bats
# Several hosts: --hosts files and their syntax, job slots and GNU parallel's
# {%}, failover when a host dies or fails, hosts in network namespaces, and
# the split | parallel fpga-remote | cat recipes.

load ../helpers
load helpers

@test "--hosts: the job slot picks the host, a dead host fails over, all down is exit 1 naming each" {
  start_server a; PA=$PORT; LA=$SLOG
  start_server b; PB=$PORT; LB=$SLOG
  # A port nobody listens on (the kernel gave it to a server that ended).
  start_server c; PC=$PORT; kill "$SPID"; wait "$SPID" || true
  printf '# three hosts\nhttp://127.0.0.1:%s\n2/http://127.0.0.1:%s\n\nhttp://127.0.0.1:%s\n' "$PA" "$PB" "$PC" > hosts
  make_pair f 300
  "$OURS" -c here/f > l.gz
  PARALLEL_JOBSLOT=2 "$R" --hosts hosts fpga-gzip -c there/f > r.gz
  cmp l.gz r.gz
  grep -q 'POST /v1/gzip/compress' "$LB"
  ! grep -q 'POST /v1/gzip/compress' "$LA"
  # Slot 4 is the dead host: the work goes on to the next (a).
  "$R" --slot 4 --hosts hosts fpga-gzip -c there/f > r.gz
  cmp l.gz r.gz
  grep -q 'POST /v1/gzip/compress' "$LA"
  # Every host down.
  printf 'http://127.0.0.1:%s\nssh://nosuchhost.invalid\n' "$PC" > down
  run env FPGA_REMOTE_SSH="ssh -o ConnectTimeout=2" "$R" --hosts down fpga-gzip there/f
  [ "$status" -eq 1 ]
  [[ "$output" == *"tried http://127.0.0.1:$PC ("*"ssh://nosuchhost.invalid ("* ]]
  [ -e there/f ]
  [ ! -e there/f.gz ]
}

@test "failover: a server killed between requests, and one that stops answering" {
  start_server a; PA=$PORT; AP=$SPID; LA=$SLOG
  start_server b; PB=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts
  make_pair f 2000
  "$OURS" -c -b 64K here/f > l.gz
  # The input comes through a FIFO: a kills after its first request.
  mkfifo in
  "$R" --jobs 1 --chunk 64K --hosts hosts fpga-gzip -b 64K -c < in > r.gz 2> err &
  cpid=$!
  exec 8> in
  head -c 200000 here/f >&8
  for _ in $(seq 200); do grep -q 'POST /v1/gzip/compress' "$LA" && break; sleep 0.05; done
  kill -9 "$AP"; wait "$AP" || true
  tail -c +200001 here/f >&8
  exec 8>&-
  wait "$cpid"
  # A pipe has no time to store (a regular file on stdin has).
  cat here/f | "$OURS" -c -b 64K > l.gz
  cmp l.gz r.gz
  # A server stopped (SIGSTOP) mid-run: the stalled request times out and
  # goes to the other host.
  start_server c; PCC=$PORT; CP=$SPID
  start_server d; PD=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PCC" "$PD" > hosts2
  kill -STOP "$CP"
  "$R" --timeout 2 --hosts hosts2 fpga-gzip -c -b 64K < here/f > r2.gz
  kill -CONT "$CP"
  "$OURS" -c -b 64K < here/f > l2.gz
  cmp l2.gz r2.gz
}

@test "a host that fails the same way each time is named once, with the count" {
  # Both ports taken before either is freed, so the kernel cannot hand the
  # second server the first one's port.
  start_server gone; P=$PORT; local gone=$SPID
  start_server gone2; Q=$PORT
  kill "$gone" "$SPID"; wait "$gone" "$SPID" || true
  make_text f 20
  run "$R" http://127.0.0.1:$P fpga-gzip -c f
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: f: no host could do the work; tried http://127.0.0.1:$P ("*") 3 times" ]]
  [ "$(grep -o "http://127.0.0.1:$P" <<< "$output" | wc -l)" -eq 1 ]
  # Two dead hosts, tried in turn: each named once, in the order tried.
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$P" "$Q" > hosts
  run "$R" --hosts hosts fpga-gzip -c f
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"tried http://127.0.0.1:$P ("*") 3 times, http://127.0.0.1:$Q ("*") 2 times" ]]
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

@test "hosts in network namespaces: byte-identical through each, failover when one goes away" {
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
  ip netns add "frprobe$$" 2>/dev/null || skip "ip netns not allowed here"
  ip netns del "frprobe$$"
  echo tok-ns > tok
  make_netns 41; NA=$NS
  make_netns 42; NB=$NS
  for ns in "$NA" "$NB"; do
    addr=$([ "$ns" = "$NA" ] && echo 10.231.41.2 || echo 10.231.42.2)
    # Not loopback: refused without a token, served with one.
    run ip netns exec "$ns" "$R" serve --listen "$addr:8437"
    [ "$status" -eq 1 ]
    [[ "$output" == *"without a token"* ]]
    ip netns exec "$ns" "$R" serve --listen "$addr:8437" --token-file tok 2> "$BATS_TEST_TMPDIR/$ns.log" &
    echo $! >> "$BATS_TEST_TMPDIR/servers"
  done
  APID=$(sed -n 1p "$BATS_TEST_TMPDIR/servers")
  for _ in $(seq 100); do
    grep -q listening "$BATS_TEST_TMPDIR/$NA.log" && grep -q listening "$BATS_TEST_TMPDIR/$NB.log" && break
    sleep 0.05
  done
  printf 'http://10.231.41.2:8437\nhttp://10.231.42.2:8437\n' > hosts
  make_pair f 3000
  "$OURS" -c here/f > l.gz
  "$R" --token-file tok --slot 1 --hosts hosts fpga-gzip -c there/f > a.gz
  "$R" --token-file tok --slot 2 --hosts hosts fpga-gzip -c there/f > b.gz
  cmp l.gz a.gz
  cmp l.gz b.gz
  grep -q 'POST /v1/gzip/compress' "$BATS_TEST_TMPDIR/$NA.log"
  grep -q 'POST /v1/gzip/compress' "$BATS_TEST_TMPDIR/$NB.log"
  # The first host's link goes down: its requests time out and move on.
  ip link set "frv$$n41" down
  "$R" --timeout 2 --token-file tok --slot 1 --hosts hosts fpga-gzip -c there/f > c.gz
  cmp l.gz c.gz
  kill "$APID"
}

@test "recipe: fpga-split | parallel fpga-remote --hosts | fpga-cat is byte-identical to fpga-gzip" {
  command -v parallel >/dev/null || skip "no GNU parallel"
  start_server a; PA=$PORT
  start_server b; PB=$PORT
  printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
  # Big enough that fpga-split cuts at whole 1 MiB blocks (as in pipeline.bats).
  make_text big.log 9000   # five 2 MiB blocks: -n 4 cuts on them
  touch -d '2022-02-02' big.log
  "$OURS" -c big.log > want.gz
  "$FPGA_BIN/fpga-split" -n 4 big.log | parallel -j 4 "$R" --hosts hosts.txt fpga-gzip
  # The chunks' part counts reach the server, so the join is checked complete.
  run "$FPGA_BIN/fpga-cat" -o big.log.gz big.log.*.gz
  [ "$status" -eq 0 ] && [ -z "$output" ]
  [ -s big.log.gz ]
  cmp want.gz big.log.gz
}

@test "recipe over SSH: parallel fpga-remote --hosts with ssh hosts is byte-identical" {
  start_sshd
  command -v parallel >/dev/null || skip "no GNU parallel"
  printf '2/testhost\n' > hosts.txt
  make_text big.log 9000   # five 2 MiB blocks: -n 4 cuts on them
  touch -d '2022-02-02' big.log
  "$OURS" -c big.log > want.gz
  "$FPGA_BIN/fpga-split" -n 4 big.log | parallel -j 2 "$R" --hosts hosts.txt fpga-gzip
  # The chunks' part counts reach the server, so the join is checked complete.
  run "$FPGA_BIN/fpga-cat" -o big.log.gz big.log.*.gz
  [ "$status" -eq 0 ] && [ -z "$output" ]
  [ -s big.log.gz ]
  cmp want.gz big.log.gz
}

@test "recipe: parallel -S --transferfile --return is byte-identical only with times kept by rsync" {
  start_sshd
  command -v parallel >/dev/null || skip "no GNU parallel"
  command -v rsync >/dev/null || skip "no rsync"
  make_text big.log 9000   # five 2 MiB blocks: -n 4 cuts on them
  touch -d '2022-02-02' big.log
  "$OURS" -c big.log > want.gz
  mkdir -p "$BATS_TEST_TMPDIR/remote"
  "$FPGA_BIN/fpga-split" -n 4 big.log
  ls big.log.0* > chunks
  # As fpga-tools(7) says: times kept (t), chunk files removed there.
  PARALLEL_RSYNC_OPTS=-rlDzRtX parallel -S 2/testhost --ssh "ssh -F $BATS_TEST_TMPDIR/ssh_config" \
    --wd "$BATS_TEST_TMPDIR/remote" --transferfile {} --return {}.gz --cleanup \
    "$FPGA_BIN/fpga-gzip" {} < chunks
  # X keeps the chunks' part counts (extended attributes): the join is checked complete.
  run "$FPGA_BIN/fpga-cat" -o big.log.gz big.log.0*.gz
  [ "$status" -eq 0 ] && [ -z "$output" ]
  cmp want.gz big.log.gz
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/remote")" ]
  # Without it the first chunk's time is the copy's: not identical.
  rm big.log.gz big.log.0*.gz
  parallel -S 2/testhost --ssh "ssh -F $BATS_TEST_TMPDIR/ssh_config" \
    --wd "$BATS_TEST_TMPDIR/remote" --transferfile {} --return {}.gz --cleanup \
    "$FPGA_BIN/fpga-gzip" {} < chunks
  "$FPGA_BIN/fpga-cat" -q -o big.log.gz big.log.0*.gz || [ $? -eq 2 ]  # rsync without X: no part count, exit 2
  [ -s big.log.gz ]
  ! cmp -s want.gz big.log.gz
}
