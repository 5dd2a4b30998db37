#!/usr/bin/env bats
# `fpga-remote serve` within its limits: --max-body, the queue (503 with
# Retry-After), --timeout, connection limits, answers bounded by
# --max-answer, bodies beyond slots + queue, slots freed by clients that
# vanish, threads and memory after 1,000 aborted uploads and under load.

load ../helpers
load helpers

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

@test "connections: over --max-per-address from one address is closed, over --max-connections in all waits until one ends" {
  start_server s1 --max-connections 3 --max-per-address 2 --timeout 10
  # Idle connections from three loopback addresses; a connection turned away
  # is closed at once (recv sees the end), one let in stays open.
  run timeout 30 "$PY" - "$PORT" <<'PY'
import select, socket, sys, time
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
def silent(socks):
    # True when none of SOCKS has anything to read (data or its end) for
    # the 1 s that closed() waits, watched at once: one second, not one each.
    return not select.select(socks, [], [], 1.0)[0]
a1, a2 = conn("127.0.0.1"), conn("127.0.0.1")
time.sleep(0.2)
a3 = conn("127.0.0.1")
print("third from one address closed:", closed(a3))
b1 = conn("127.0.0.2")
time.sleep(0.2)
print("first from another address open:", not closed(b1))
# Over the limit in all, a connection waits (the server does not take it)
# until one of the others ends: its request gets no answer before that,
# while the first two stay open.
c1 = conn("127.0.0.3")
c1.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
quiet = silent([c1, a1, a2])
print("fourth in all waits:", quiet or not select.select([c1], [], [], 0)[0])
print("first two still open:", quiet or not (closed(a1) or closed(a2)))
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

@test "memory: uploads beyond (slots + queue) bodies get 503 as they start, not after being held in memory" {
  export FPGA_REMOTE_TEST_JOB_DELAY_MS=3000
  start_server s --device cpu --slots 1 --queue 1 --max-body 8M --max-per-address 64
  unset FPGA_REMOTE_TEST_JOB_DELAY_MS
  "$PY" - "$PORT" > answers <<'PY'
import os, socket, sys, threading
port = int(sys.argv[1])
body = os.urandom(8 << 20)
out = []
def one():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    d = b""
    while True:
        x = s.recv(1 << 16)
        if not x:
            break
        d += x
    out.append(d.split(b"\r\n")[0].decode())
ts = [threading.Thread(target=one) for _ in range(30)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(out))
PY
  [ "$(wc -l < answers)" -eq 30 ]
  [ "$(grep -c ' 200 \| 503 ' answers)" -eq 30 ]
  grep -q ' 503 ' answers
  # 30 bodies of 8 MiB arrived at once: 2 held (and their answers), not 30.
  [ "$(hwm_kib)" -lt $((90 * 1024)) ]
  curl -s "$(U /metrics)" | grep -q '^fpga_remote_queue_full_total [1-9]'
  all_free
}

@test "memory: a gzip bomb's answer is bounded by --max-answer (413), with or without salvage" {
  start_server s --device cpu --slots 1 --max-answer 16M
  head -c 256M /dev/zero | gzip -1 > bomb.gz
  [ "$(code /v1/gzip/decompress --data-binary @bomb.gz)" = 413 ]
  grep -q '"too-large"' out.body
  grep -q 'max-answer' out.body
  [ "$(code '/v1/gzip/decompress?salvage=1' --data-binary @bomb.gz)" = 413 ]
  [ "$(code '/v1/gzip/decompress?pass=1' --data-binary @bomb.gz)" = 413 ]
  # test and list inflate into nothing: answered
  [ "$(code /v1/gzip/test --data-binary @bomb.gz)" = 200 ]
  grep -q '"bytes":268435456' out.body
  [ "$(code '/v1/gzip/test?list=1' --data-binary @bomb.gz)" = 200 ]
  # (slots + queue) bodies and one answer a slot, not 256 MiB.
  [ "$(hwm_kib)" -lt $((120 * 1024)) ]
  all_free
}

@test "memory: an LZW bomb and a zip whose entry declares 4 GiB stay bounded" {
  start_server s --device cpu --slots 1 --max-answer 1M
  head -c 4M /dev/zero | "$PY" "$FIXTURES/lzw.py" 16 > z.Z
  [ "$(code /v1/gzip/decompress --data-binary @z.Z)" = 413 ]
  [ "$(code /v1/gzip/test --data-binary @z.Z)" = 200 ]
  grep -q '"bytes":4194304' out.body
  # A zip whose local header declares 4 GiB - 1 of data, stored (method 0), 1 KiB present.
  "$PY" - <<'PY'
import struct, zlib
data = b"x" * 1024
hdr = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0, zlib.crc32(data), 0xffffffff, 0xffffffff, 1, 0)
open("big.zip", "wb").write(hdr + b"a" + data)
PY
  c=$(code /v1/gzip/decompress --data-binary @big.zip)
  [ "$c" = 422 ] || [ "$c" = 413 ]
  [ "$(code /v1/gzip/test --data-binary @big.zip)" = 422 ]
  [ "$(hwm_kib)" -lt $((100 * 1024)) ]
  all_free
}

@test "memory: fpga-remote -d of a very compressible fpga-gzip file works under a small --max-answer" {
  head -c 48M /dev/zero > zeros
  "$FPGA_BIN/fpga-gzip" -c zeros > zeros.gz
  start_server s --device cpu --max-answer 4M
  "$R" "http://127.0.0.1:$PORT" fpga-gzip -dc zeros.gz | cmp - zeros
  all_free
}

@test "slots: clients that vanish mid-body, mid-job and mid-answer leave every slot free" {
  export FPGA_REMOTE_TEST_JOB_DELAY_MS=400
  start_server s --device cpu --slots 1 --queue 1
  unset FPGA_REMOTE_TEST_JOB_DELAY_MS
  head -c 4M /dev/urandom > r
  "$FPGA_BIN/fpga-gzip" -c r > r.gz
  # mid-body: declared 4 MiB, 1 MiB sent, then gone
  "$PY" - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n" + b"a" * 1048576)
    s.close()
# mid-job and mid-answer: the whole body, then gone before (or while) the answer comes
body = open("r.gz", "rb").read()
for wait in (0.0, 0.5):
    socks = []
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/gzip/decompress HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        socks.append(s)
    time.sleep(wait)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
PY
  for _ in $(seq 100); do curl -s "$(U /v1/devices)" | grep -q '"busy":0,"waiting":0' && break; sleep 0.1; done
  all_free
  "$R" "http://127.0.0.1:$PORT" fpga-gzip -dc r.gz | cmp - r
}

@test "1,000 aborted uploads: server threads and memory come back" {
  start_server s1 --timeout 5
  make_text f 10
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > /dev/null
  threads0=$(awk '/^Threads/{print $2}' /proc/$SPID/status)
  rss0=$(awk '/^VmRSS/{print $2}' /proc/$SPID/status)
  # Opened, written to and closed by this shell, not a subshell each (1,000
  # forks of a Bats shell cost seconds): a connection refused or reset (over
  # the per-address limit) is fine too, and a write to one is not a SIGPIPE.
  local opened=0
  trap '' PIPE
  for i in $(seq 1000); do
    if { exec 8<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
      opened=$((opened + 1))
      printf 'POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789' >&8 2>/dev/null || true
      exec 8>&-
    fi
  done
  trap - PIPE
  echo "$opened connections opened"
  [ "$opened" -gt 0 ]
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
