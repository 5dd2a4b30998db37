#!/usr/bin/env bats
# The server's memory budget for request bodies (issue 20, item 5): bodies
# held at once are at most (slots + queue) x --max-body, whatever the
# headers say. A request with Content-Length and Transfer-Encoding together
# reserved its declared length (1 byte) while libmicrohttpd read a chunked
# body of megabytes: 48 such unfinished 4 MB uploads took the server to
# 266 MB where the budget is 40 MiB. Now such a request is 400 (RFC 9112,
# 6.3) and a chunked body is counted as it arrives. Real raw-socket clients
# (tests/cli/fixtures/uploads.py) on loopback; RSS from /proc, with a
# generous bound, no timing.

load ../helpers
load helpers

UPLOADS=$FIXTURES/uploads.py

# The server of these tests: 2 slots, 8 queued, 4 MiB bodies: a budget of
# 40 MiB; room for 48 connections from one address.
start_budget_server() {
  start_server budget --device cpu --slots 2 --queue 8 --max-body 4M --max-connections 64 --max-per-address 64
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SPID/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$SPID/status"; }

# uploads N BYTES HEADER...: N unfinished uploads held (uploads.py), then
# RSS (RSS_HELD, KiB) read while they are held, then each ended: their
# statuses, one a line, in ./statuses.
uploads() {
  local n=$1 bytes=$2 pid
  shift 2
  rm -f go statuses
  mkfifo go
  "$PY" "$UPLOADS" "$PORT" "$n" "$bytes" "$@" < go > statuses 3>&- &
  pid=$!
  exec 8> go
  for _ in $(seq 1200); do
    grep -q '^held' statuses 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^held' statuses
  RSS_HELD=$(rss_kib)
  echo >&8
  exec 8>&-
  wait "$pid"
  sed -i '/^held/d' statuses
  [ "$(wc -l < statuses)" -eq "$n" ]
}

count() { grep -cx "$1" statuses || true; }

# The server's memory over its start (BASE, KiB) while the uploads were held,
# and its peak, within the 40 MiB budget and 32 MiB more (48 connections'
# 256 KiB buffers, threads): a generous bound, not a measurement.
within_budget() {
  echo "server RSS: $BASE KiB at start, $RSS_HELD KiB with the uploads held, peak $(hwm_kib) KiB"
  [ $((RSS_HELD - BASE)) -lt $(( (40 + 32) * 1024 )) ]
  [ $(($(hwm_kib) - BASE)) -lt $(( (40 + 32) * 1024 )) ]
}

@test "Content-Length with Transfer-Encoding: 400 at the headers, the connection closed, the server unharmed" {
  start_budget_server
  # Headers alone, in both orders and with other values: the answer comes
  # before any body (nothing of it is read) and then the close.
  for hs in "Content-Length: 1|Transfer-Encoding: chunked" "Transfer-Encoding: chunked|Content-Length: 5" \
            "content-length: 0|transfer-encoding: chunked" "Content-Length: 4|Transfer-Encoding: gzip, chunked"; do
    "$PY" - "$PORT" "$hs" > answer <<'PY'
import socket, sys
port, hs = int(sys.argv[1]), sys.argv[2].split("|")
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(("POST /v1/gzip/compress HTTP/1.1\r\nHost: x\r\n" + "".join(h + "\r\n" for h in hs) + "\r\n").encode())
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break  # closed by the server after its answer
    got += d
sys.stdout.write(got.decode("latin-1"))
PY
    cat answer
    head -n 1 answer | grep -q '^HTTP/1.1 400 '
    grep -qi '^Connection: close' answer
    grep -q '"error":"usage","message":"Content-Length and Transfer-Encoding together"' answer
  done
  grep -q '400 refused: Content-Length and Transfer-Encoding together' "$SLOG"
  # A chunked body alone is still a job (curl sends chunked when told to).
  make_text t 300
  curl -sf -H 'Transfer-Encoding: chunked' --data-binary @t "http://127.0.0.1:$PORT/v1/gzip/compress?level=6" > t.gz
  gzip -dc t.gz | cmp - t
  curl -sf "http://127.0.0.1:$PORT/metrics" | grep -q 'fpga_remote_requests_total{path="refused",status="400"} 4'
}

@test "48 unfinished 4 MB uploads declaring Content-Length: 1 with chunked bodies: refused, RSS bounded" {
  start_budget_server
  BASE=$(rss_kib)
  uploads 48 4000000 "Content-Length: 1" "Transfer-Encoding: chunked"
  sort statuses | uniq -c
  # (It was 266 MB: 48 bodies of 4 MB against a budget of 40 MiB.)
  within_budget
  # Every one refused (400 if the answer was read before the close).
  [ "$(grep -cvxE '400|closed' statuses)" -eq 0 ]
}

@test "48 unfinished chunked uploads: counted as they arrive, 503 beyond the budget, RSS bounded" {
  start_budget_server
  BASE=$(rss_kib)
  uploads 48 4000000 "Transfer-Encoding: chunked"
  sort statuses | uniq -c
  ok=$(count 200) busy=$(count 503)
  # At most the budget's 10 bodies of 4 MB were taken; the others were
  # read and dropped and answered 503 when they ended.
  [ "$ok" -ge 1 ] && [ "$ok" -le 10 ]
  [ $((ok + busy)) -eq 48 ]
  # (It was 89 MB: a chunked body grown by copying left its smaller
  # buffers in its thread's malloc arena.)
  within_budget
  grep -q '503 refused after [0-9]* bytes of its body' "$SLOG"
  # Nothing stays counted: the budget is whole again.
  uploads 10 4000000 "Transfer-Encoding: chunked"
  [ "$(count 200)" -eq 10 ]
}

@test "small chunked uploads are charged what they hold, not --max-body each" {
  start_budget_server
  # Twelve 100 KB chunked uploads at once fit a 40 MiB budget (they were
  # charged 4 MiB each at their headers: two of them got 503).
  uploads 12 100000 "Transfer-Encoding: chunked"
  cat statuses
  [ "$(count 200)" -eq 12 ]
}
