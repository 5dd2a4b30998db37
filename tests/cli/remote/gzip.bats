#!/usr/bin/env bats
# fpga-remote: output byte-identical to a local fpga-gzip over HTTP(S) and
# SSH (a real sshd started here), failover across hosts, and the server's
# limits. Servers listen on loopback ports chosen by the kernel.

load ../helpers
load helpers

# Two inputs with the same name and time in two directories: one for the
# local run, one for the remote run.
make_pair() { # name kib
  mkdir -p here there
  make_text "here/$1" "$2"
  touch -d '2021-03-04 05:06:07' "here/$1"
  cp -p "here/$1" "there/$1"
}

@test "--help and --version" {
  run "$R" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-remote"* ]]
  [[ "$output" == *"serve"* ]]
  run "$R" --version
  [[ "$output" == "fpga-remote (fpga-tools) "* ]]
  run "$R" serve --version
  [[ "$output" == "fpga-remote (fpga-tools) "* ]]
}

@test "usage errors: missing host, unknown tool, bad host, options not served" {
  run "$R"
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing HOST"* ]]
  run "$R" http://127.0.0.1:1 ls
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown TOOL 'ls'"* ]]
  run "$R" http://127.0.0.1 fpga-gzip x
  [ "$status" -eq 1 ]
  [[ "$output" == *"give the port"* ]]
  run "$R" '-oProxyCommand=x' fpga-gzip x
  [ "$status" -eq 1 ]
  run "$R" 'host;rm' fpga-gzip x
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a host name"* ]]
  run "$R" http://127.0.0.1:1 fpga-gzip --device cpu x
  [ "$status" -eq 1 ]
  [[ "$output" == *"--device is not served remotely: the server picks its devices itself"* ]]
  run "$R" http://127.0.0.1:1 fpga-gzip -z x
  [ "$status" -eq 1 ]
  [[ "$output" == *"gzip only"* ]]
}

@test "HTTP: compress, -d and -t are byte-identical to a local run (several requests a file)" {
  start_server s1
  make_pair big.log 3000
  "$OURS" -k -b 64K here/big.log
  run "$R" --chunk 200K http://127.0.0.1:$PORT fpga-gzip -b 64K there/big.log
  [ "$status" -eq 0 ]
  cmp here/big.log.gz there/big.log.gz
  [ ! -e there/big.log ]           # removed after the commit, as fpga-gzip
  # gzip's own reader agrees, and the time and name are the local file's.
  gzip -t there/big.log.gz
  [ "$(gzip -lN there/big.log.gz | tail -1 | awk '{print $NF}')" = "there/big.log" ]
  # -t, then -d to a file (the input removed), with the file's time.
  run "$R" http://127.0.0.1:$PORT fpga-gzip -t there/big.log.gz
  [ "$status" -eq 0 ]
  run "$R" --chunk 100K http://127.0.0.1:$PORT fpga-gzip -d there/big.log.gz
  [ "$status" -eq 0 ]
  cmp here/big.log there/big.log
  [ ! -e there/big.log.gz ]
  [ "$(stat -c %Y there/big.log)" = "$(stat -c %Y here/big.log)" ]
}

@test "HTTP: -c, stdin, an empty file, levels and a byte range match fpga-gzip" {
  start_server s1
  make_pair f 700
  : > here/empty; touch -d '2020-01-01' here/empty; cp -p here/empty there/empty
  for lvl in 1 6 9 12; do
    "$R" http://127.0.0.1:$PORT fpga-gzip -c -$lvl there/f > r.gz
    "$OURS" -c -$lvl here/f > l.gz
    cmp l.gz r.gz
  done
  "$R" http://127.0.0.1:$PORT fpga-gzip < here/f > r.gz
  "$OURS" < here/f > l.gz
  cmp l.gz r.gz
  # A pipe too (no time), a comment, and zlib's strategies.
  cat here/f | "$R" http://127.0.0.1:$PORT fpga-gzip > r.gz
  cat here/f | "$OURS" > l.gz
  cmp l.gz r.gz
  for opt in "-C note%20&x=1" -H -U "-H -9"; do
    "$R" --chunk 100K http://127.0.0.1:$PORT fpga-gzip $opt -b 64K -c there/f > r.gz
    "$OURS" $opt -b 64K -c here/f > l.gz
    cmp l.gz r.gz
  done
  "$R" http://127.0.0.1:$PORT fpga-gzip -c there/empty > r.gz
  "$OURS" -c here/empty > l.gz
  cmp l.gz r.gz
  # The second range of a file: no name, no time, as locally.
  "$R" http://127.0.0.1:$PORT fpga-gzip -k "there/f@1:100000+300000"
  "$OURS" -k "here/f@1:100000+300000"
  cmp here/f.1.gz there/f.1.gz
  # zcat behaviour by name; a foreign (GNU gzip) stream goes in one request.
  gzip -c here/f > g.gz
  "$R" http://127.0.0.1:$PORT fpga-zcat g.gz | cmp - here/f
}

@test "HTTP: --rsyncable cuts chunks where the content says: byte-identical" {
  start_server s1
  make_pair f 1500
  for chunk in 8K 100K 4M; do
    "$R" --chunk $chunk http://127.0.0.1:$PORT fpga-gzip --rsyncable -b 16K -c there/f > r.gz
    "$OURS" --rsyncable -b 16K -c here/f > l.gz
    cmp l.gz r.gz
  done
  : > there/empty; touch -d 2020-01-01 there/empty; cp -p there/empty here/empty
  "$R" http://127.0.0.1:$PORT fpga-gzip --rsyncable -c there/empty | cmp - <("$OURS" --rsyncable -c here/empty)
}

@test "HTTP: corrupt data is reported with the host, the member and the offset as locally" {
  start_server s1
  make_text f 600
  "$OURS" -c -b 64K f > good.gz
  # Flip a byte in the deflate data of member 5.
  cp good.gz bad.gz
  off=$(( $(stat -c %s good.gz) / 2 ))
  printf '\xff' | dd of=bad.gz bs=1 seek=$off conv=notrunc 2>/dev/null
  run "$OURS" -t bad.gz
  [ "$status" -eq 1 ]
  local_msg=${output#fpga-gzip: bad.gz: }
  run "$R" --chunk 64K http://127.0.0.1:$PORT fpga-gzip -t bad.gz
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: http://127.0.0.1:$PORT: bad.gz: $local_msg" ]
  # -d to a file: nothing left behind, the input kept.
  run "$R" http://127.0.0.1:$PORT fpga-gzip -d bad.gz
  [ "$status" -eq 1 ]
  [ ! -e bad ]
  [ -e bad.gz ]
  # Cut short at a member boundary: the last request carries the check.
  head -c $(( $(stat -c %s good.gz) - 36 )) good.gz > cut.gz
  run "$R" --chunk 64K http://127.0.0.1:$PORT fpga-gzip -t cut.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"end-of-stream member is missing"* ]]
  # Not gzip at all.
  run "$R" http://127.0.0.1:$PORT fpga-gzip -t f
  [ "$status" -eq 1 ]
  [[ "$output" == *"f: "*"not in gzip format"* ]]
}

@test "HTTP: an existing output is not overwritten; nothing is left when the host is down" {
  start_server s1
  make_text f 100
  : > f.gz
  run "$R" http://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 2 ]
  [[ "$output" == *"already exists"* ]]
  [ ! -s f.gz ]
  rm f.gz
  kill "$SPID"; wait "$SPID" || true
  run "$R" --retries 2 http://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 1 ]
  [[ "$output" == *"no host could do the work; tried http://127.0.0.1:$PORT ("* ]]
  [ -e f ]
  [ ! -e f.gz ]
  [ -z "$(ls -A | grep -v '^f$')" ]
}

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

@test "token: missing and wrong tokens get 401; the right one works; never on the command line" {
  echo 's3cret-token' > tok
  echo 'wrong' > bad
  start_server s1 --token-file tok
  make_text f 50
  run curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 401 ]
  run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 401 ]
  run curl -s -w '%{http_code}' "http://127.0.0.1:$PORT/metrics"
  [[ "$output" == *401 ]]
  run "$R" http://127.0.0.1:$PORT fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"token is required"* ]]
  run "$R" --token-file bad http://127.0.0.1:$PORT fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"wrong token"* ]]
  "$R" --token-file tok http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
  FPGA_REMOTE_TOKEN=s3cret-token "$R" http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
  # Health stays open (load balancers), and says nothing secret.
  run curl -sf "http://127.0.0.1:$PORT/v1/health"
  [[ "$output" == *'"ready":true'* ]]
}

@test "serve refuses a non-loopback address without a token" {
  run "$R" serve --listen 0.0.0.0:0
  [ "$status" -eq 1 ]
  [[ "$output" == *"without a token"* ]]
  run "$R" serve --listen nonsense
  [ "$status" -eq 1 ]
  run "$R" serve --bogus
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown option '--bogus'"* ]]
  # A port in use and a bad certificate: one line each.
  start_server s1
  run "$R" serve --listen 127.0.0.1:$PORT
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: cannot listen on 127.0.0.1:$PORT: Address already in use" ]
  echo junk > bad.pem
  run "$R" serve --listen 127.0.0.1:0 --tls-cert bad.pem --tls-key bad.pem
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert missing.pem --tls-key bad.pem
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: missing.pem: "* ]]
}

@test "limits: a body over --max-body gets 413, from curl and from the client" {
  start_server s1 --max-body 64K
  head -c 200000 /dev/urandom > f
  run curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 413 ]
  # Chunked upload, no length announced: 413 once it ends; a client that
  # sends more than twice the limit is cut off instead.
  head -c 100000 f > f100
  run curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -X POST --data-binary @f100 "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 413 ]
  run curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 000 ]
  run "$R" --chunk 128K http://127.0.0.1:$PORT fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"over the limit"* ]]
  # Within the limit it works.
  "$R" --chunk 32K http://127.0.0.1:$PORT fpga-gzip -b 32K -c f | "$OURS" -dc | cmp - f
  # Bad parameters are a 400 with a JSON body, never a crash.
  run curl -s -w ' %{http_code}' -X POST --data-binary @/dev/null "http://127.0.0.1:$PORT/v1/gzip/compress?level=99"
  [[ "$output" == *'"error":"usage"'*' 400' ]]
  run curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/etc/passwd"
  [[ "$output" == *' 404' ]]
}

@test "queue full: 503 with Retry-After; the client retries and succeeds" {
  FPGA_REMOTE_TEST_JOB_DELAY_MS=1500 start_server s1 --slots 1 --queue 1
  make_text f 20
  post_four_at_once f
  cat c1 c2 c3 c4 | sort | uniq -c
  grep -q 503 c1 c2 c3 c4
  grep -qi '^Retry-After: 1' h1 h2 h3 h4
  grep -q 200 c1 c2 c3 c4
  # The client waits Retry-After and tries again.
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > a.gz & p1=$!
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > b.gz & p2=$!
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > c.gz & p3=$!
  wait $p1 && wait $p2 && wait $p3
  "$OURS" -c f > l.gz
  cmp l.gz a.gz && cmp l.gz b.gz && cmp l.gz c.gz
  curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^fpga_remote_queue_full_total [1-9]'
}

@test "a client that stops sending loses its connection after --timeout; the server goes on" {
  start_server s1 --timeout 1 --max-per-address 2
  exec 8<>/dev/tcp/127.0.0.1/$PORT
  printf 'POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc' >&8
  # The server closes it: read sees the end (within the bats timeout).
  run timeout 10 cat <&8
  [ "$status" -eq 0 ]
  exec 8<&-
  make_text f 10
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
}

@test "1,000 aborted uploads: server threads and memory come back" {
  start_server s1 --timeout 5
  make_text f 10
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > /dev/null
  threads0=$(awk '/^Threads/{print $2}' /proc/$SPID/status)
  rss0=$(awk '/^VmRSS/{print $2}' /proc/$SPID/status)
  for i in $(seq 1000); do
    # A connection refused or reset (over the per-address limit) is fine too.
    ( exec 8<>/dev/tcp/127.0.0.1/$PORT && printf 'POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789' >&8 ) 2>/dev/null || true
  done
  for _ in $(seq 100); do
    t=$(awk '/^Threads/{print $2}' /proc/$SPID/status)
    [ "$t" -le "$threads0" ] && break
    sleep 0.1
  done
  threads1=$(awk '/^Threads/{print $2}' /proc/$SPID/status)
  rss1=$(awk '/^VmRSS/{print $2}' /proc/$SPID/status)
  echo "threads $threads0 -> $threads1, rss $rss0 -> $rss1 KiB"
  [ "$threads1" -le "$threads0" ]
  [ "$rss1" -lt $(( rss0 + 32768 )) ]
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
}

@test "load: 4 clients at once, 5 files each, every answer right, server RSS bounded" {
  start_server s1 --slots 2 --queue 8
  for i in 1 2 3 4 5; do make_text in$i $(( 200 * i )); "$OURS" -c in$i > want$i.gz; done
  pids=""
  for c in 1 2 3 4; do
    ( mkdir -p c$c && for i in 1 2 3 4 5; do
        cp -p in$i c$c/in$i
        "$R" http://127.0.0.1:$PORT fpga-gzip -c c$c/in$i > c$c/out$i.gz || exit 1
      done ) &
    pids="$pids $!"
  done
  for p in $pids; do wait $p; done
  for c in 1 2 3 4; do for i in 1 2 3 4 5; do
    "$OURS" -dc c$c/out$i.gz | cmp - in$i
  done; done
  rss=$(awk '/^VmHWM/{print $2}' /proc/$SPID/status)
  echo "server peak RSS $rss KiB"
  # (slots + queue) x (4 MiB body + output) with room for the runtime.
  [ "$rss" -lt $(( 200 * 1024 )) ]
}

@test "SIGTERM: the server finishes the request in flight and exits 0" {
  FPGA_REMOTE_TEST_JOB_DELAY_MS=1000 start_server s1
  make_text f 50
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > r.gz &
  cpid=$!
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^fpga_remote_busy_slots 1' && break; sleep 0.05; done
  kill -TERM "$SPID"
  wait "$cpid"
  rc=0
  wait "$SPID" || rc=$?
  [ "$rc" -eq 0 ]
  "$OURS" -c f | cmp - r.gz
  grep -q 'finishing the requests in flight' "$SLOG"
}

@test "health, devices and metrics" {
  start_server s1
  run curl -sf "http://127.0.0.1:$PORT/v1/health"
  [[ "$output" == *'"live":true'*'"version":"'* ]]
  run curl -sf "http://127.0.0.1:$PORT/v1/devices"
  [[ "$output" == *'"name":"cpu"'* ]]
  make_text f 10
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > /dev/null
  run curl -sf -D hdr "http://127.0.0.1:$PORT/metrics"
  [[ "$output" == *'fpga_remote_requests_total{path="/v1/gzip/compress",status="200"} 1'* ]]
  [[ "$output" == *'fpga_remote_request_seconds_count'* ]]
  grep -qi 'Content-Type: text/plain; version=0.0.4' hdr
  # One log line a request.
  grep -q '127.0.0.1 POST /v1/gzip/compress 200' "$SLOG"
}

@test "HTTPS with a CA made here: verified with --cacert, refused without" {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null
  start_server s1 --tls-cert srv.pem --tls-key srv.key
  make_pair f 300
  "$R" --cacert ca.pem https://127.0.0.1:$PORT fpga-gzip -c there/f > r.gz
  "$OURS" -c here/f | cmp - r.gz
  run "$R" --retries 1 https://127.0.0.1:$PORT fpga-gzip -c there/f
  [ "$status" -eq 1 ]
  [[ "$output" == *"certificate"* || "$output" == *"issuer"* || "$output" == *"SSL"* ]]
  # Plain HTTP to the TLS port fails cleanly.
  run "$R" --retries 1 http://127.0.0.1:$PORT fpga-gzip -c there/f
  [ "$status" -eq 1 ]
}

# ---- SSH: a real sshd on a loopback port, keys made here ------------------

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

@test "recipe: fpga-split | parallel fpga-remote --hosts | fpga-cat is byte-identical to fpga-gzip" {
  command -v parallel >/dev/null || skip "no GNU parallel"
  start_server a; PA=$PORT
  start_server b; PB=$PORT
  printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
  # Big enough that fpga-split cuts at whole 1 MiB blocks (as in pipeline.bats).
  make_text big.log 6000
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
  make_text big.log 6000
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
  make_text big.log 6000
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

# ---- Separate hosts: network namespaces joined to this one by veth pairs --

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

@test "adversarial: every truncation and bit flip of a small file gets the local tool's status and message" {
  start_server s1
  make_text f 40
  "$OURS" -c -b 8K f > good.gz
  size=$(stat -c %s good.gz)
  mismatches=0
  check() { # file
    local ls rs lo ro
    lo=$("$OURS" -t "$1" 2>&1) && ls=0 || ls=$?
    ro=$("$R" --chunk 8K http://127.0.0.1:$PORT fpga-gzip -t "$1" 2>&1) && rs=0 || rs=$?
    # Remote messages name the host, except where the client decided alone.
    ro=${ro#fpga-remote: }
    ro=${ro#http://127.0.0.1:$PORT: }
    if [ "$ls" != "$rs" ] || [ "${lo#fpga-gzip: }" != "$ro" ]; then
      echo "$1: local $ls '$lo' remote $rs '$ro'"
      mismatches=$((mismatches + 1))
    fi
  }
  # Truncation at every member boundary and at a few points inside members.
  for cut in $(seq 1 97 "$size") $((size - 36)) $((size - 1)); do
    head -c "$cut" good.gz > t.gz
    check t.gz
  done
  # Bit flips across the file (headers, FT sizes, deflate data, trailers).
  for off in $(seq 0 40) $(seq 41 61 $((size - 1))); do
    cp good.gz b.gz
    byte=$(od -An -tu1 -j "$off" -N1 good.gz | tr -d ' ')
    printf "\\x$(printf %02x $((byte ^ 16)))" | dd of=b.gz bs=1 seek="$off" conv=notrunc 2>/dev/null
    check b.gz
  done
  [ "$mismatches" -eq 0 ]
  # The server survived all of it.
  curl -sf "http://127.0.0.1:$PORT/v1/health" > /dev/null
}

@test "adversarial: garbage requests get 4xx answers and the server stays up" {
  start_server s1 --max-body 1M
  head -c 3000 /dev/urandom > junk
  for path in /v1/gzip/compress /v1/gzip/decompress /v1/gzip/test; do
    for q in '' 'level=0' 'level=-1' 'block=1' 'block=999999999999' 'name=%00x' 'mtime=-5' 'end=yes' '%zz=1' 'level=6&level=7'; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @junk "http://127.0.0.1:$PORT$path?$q")
      case $code in 2*|4*) ;; *) echo "$path?$q: $code"; false ;; esac
    done
  done
  # Headers over 8 KiB get 431 (the connection's memory is larger: it is
  # the read buffer of a body too); a huge header is refused, not a crash.
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 7000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$PORT/v1/health")
  [ "$code" = 200 ]
  for n in 10000 40000; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c $n /dev/zero | tr '\0' a)" "http://127.0.0.1:$PORT/v1/health")
    [ "$code" = 431 ]
  done
  curl -sf "http://127.0.0.1:$PORT/v1/health" > /dev/null
}
