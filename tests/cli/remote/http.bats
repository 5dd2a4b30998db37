#!/usr/bin/env bats
# fpga-remote over HTTP(S): compress, -d and -t byte-identical to a local
# fpga-gzip (one server on a loopback port chosen by the kernel), corrupt
# and mutated input as locally, HTTPS with a CA made here, the client's memory
# and libcurl's protocol pinning.

load ../helpers
load helpers

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

@test "adversarial: every truncation and bit flip of a small file gets the local tool's status and message" {
  start_server s1
  make_text f 40
  "$OURS" -c -b 8K f > good.gz
  mismatches=0
  # (Outputs go to files read with $(<FILE), which forks nothing: a fork
  # of this shell costs about what a check's own work does.)
  check() { # file
    local ls=0 rs=0 lo ro
    "$OURS" -t "$1" > l.msg 2>&1 || ls=$?
    "$R" --chunk 8K http://127.0.0.1:$PORT fpga-gzip -t "$1" > r.msg 2>&1 || rs=$?
    lo=$(<l.msg) ro=$(<r.msg)
    # Remote messages name the host, except where the client decided alone.
    ro=${ro#fpga-remote: }
    ro=${ro#http://127.0.0.1:$PORT: }
    if [ "$ls" != "$rs" ] || [ "${lo#fpga-gzip: }" != "$ro" ]; then
      echo "$1: local $ls '$lo' remote $rs '$ro'"
      mismatches=$((mismatches + 1))
    fi
  }
  # Truncation at every member boundary and at a few points inside members;
  # every third of those points in make test, all in make test-long. Bit
  # flips across the file (headers, FT sizes, deflate data, trailers). The
  # damaged copies are written by one python3, not a head, cp, od and dd
  # each.
  "$PY" - good.gz "$(long_step 3)" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
m, n = int(sys.argv[2]), len(d)
for cut in list(range(1, n + 1, 97 * m)) + [n - 36, n - 1]:
    open("cut-%05d.gz" % cut, "wb").write(d[:cut])
for off in list(range(0, 41)) + list(range(41, n, 61 * m)):
    b = bytearray(d)
    b[off] ^= 16
    open("flip-%05d.gz" % off, "wb").write(b)
EOF
  local f checked=0
  for f in cut-*.gz flip-*.gz; do
    check "$f"
    checked=$((checked + 1))
  done
  echo "$checked damaged copies checked"
  [ "$checked" -gt 100 ]
  [ "$mismatches" -eq 0 ]
  # The server survived all of it.
  curl -sf "http://127.0.0.1:$PORT/v1/health" > /dev/null
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

@test "client memory stays bounded: 128 MB through fpga-remote fpga-gzip -c and -dc" {
  start_server s1
  # (More than the 96 MiB bound: a client that held it all would fail.)
  yes 'a line of a log that repeats, with some words in it 0123456789' | head -c 128M > big
  /usr/bin/time -f '%M' -o rss.c "$R" http://127.0.0.1:$PORT fpga-gzip -c big > big.gz
  /usr/bin/time -f '%M' -o rss.d "$R" http://127.0.0.1:$PORT fpga-gzip -dc big.gz | cmp - big
  echo "client peak RSS: $(cat rss.c) KiB compressing, $(cat rss.d) KiB decompressing"
  [ "$(tail -1 rss.c)" -lt $(( 96 * 1024 )) ]
  [ "$(tail -1 rss.d)" -lt $(( 96 * 1024 )) ]
}
