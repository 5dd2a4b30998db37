#!/usr/bin/env bats
# An adversarial review of `fpga-remote serve` (issue 10): a hostile client
# and an operator against real servers on loopback. Each test names what it
# attacks; the server must answer, stay within its memory formula, free every
# slot and keep serving.

load ../helpers
load helpers

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

@test "log: a path, query or header with newlines or escapes cannot forge or colour a log line" {
  printf secret > tok
  start_server s --device cpu --token-file tok
  code '/v1/x%0Aforged%201.2.3.4%20GET%20/v1/health%20200%1B%5B31mred' > /dev/null        # 401, refusal log
  code '/v1/x%0Aforged%1B%5B31m' -H 'Authorization: Bearer secret' -A $'ua\x1b[2J' > /dev/null  # 404, request log
  code '/v1/infer?model=a%0Ab' -H 'Authorization: Bearer secret' -X POST --data-binary x > /dev/null
  kill "$SPID"; wait "$SPID" || true
  if grep -q '^forged' "$SLOG"; then false; fi
  if grep -q $'\x1b' "$SLOG"; then false; fi
  grep -q 'GET /v1/x\\x0aforged' "$SLOG"
  [ "$(grep -c 'refused' "$SLOG")" -eq 1 ]
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

@test "models: names that could reach another file are refused; FIFOs, directories and devices are not models" {
  mkdir -p models elsewhere
  mkfifo models/pipe.fbnn
  mkdir models/dir.fbnn
  ln -s /dev/zero models/zero.fbnn
  ln -s pipe.fbnn models/viapipe.fbnn
  start_server s --device cpu --models models
  for n in pipe dir zero viapipe; do
    [ "$(code "/v1/models?name=$n" --max-time 10)" = 404 ]
    [ "$(code "/v1/infer?model=$n" --max-time 10 --data-binary x)" = 404 ]
  done
  [ "$(code /v1/models --max-time 10)" = 200 ]
  if grep -q 'pipe\|"dir"\|zero' out.body; then false; fi
  long=$(printf 'a%.0s' $(seq 200))
  for n in '..%2Fmodels%2Fx' '%2Fetc%2Fpasswd' 'a%2Fb' '%C3%A9t%C3%A9' "$long" '.hidden' '-x' 'a%00b' 'a..b'; do
    [ "$(code "/v1/models?name=$n")" = 400 ]
  done
  all_free
}

@test "models: a symlink inside --models is followed (the operator's choice); a file replaced or deleted is seen" {
  mkdir -p models elsewhere
  "$PY" -c "import numpy" 2>/dev/null || skip "python3-numpy is not installed"
  "$PY" "$RANDOM_MODEL" fixed-conv 3 elsewhere/real.fbnn img 4 || skip "python3-numpy is not installed"
  ln -s ../elsewhere/real.fbnn models/linked.fbnn
  start_server s --device cpu --models models
  [ "$(code '/v1/models?name=linked')" = 200 ]
  crc1=$(sed -n 's/.*"crc32":"\([0-9a-f]*\)".*/\1/p' out.body)
  per=$(sed -n 's/.*"height":\([0-9]*\),"width":\([0-9]*\),"channels":\([0-9]*\).*/\1 \2 \3/p' out.body | awk '{print $1*$2*$3}')
  head -c $((per * 3)) /dev/urandom > three
  [ "$(code "/v1/infer?model=linked&crc=$crc1" --data-binary @three)" = 200 ]
  [ "$(stat -c %s out.body)" -eq 6 ]
  # not whole images
  head -c $((per * 3 - 1)) three > short
  [ "$(code '/v1/infer?model=linked' --data-binary @short)" = 400 ]
  # replaced under the same name: the new file, and the old CRC is a conflict
  "$PY" "$RANDOM_MODEL" fixed-conv 4 elsewhere/new.fbnn img2 4
  mv elsewhere/new.fbnn elsewhere/real.fbnn
  [ "$(code "/v1/infer?model=linked&crc=$crc1" --data-binary @three)" = 409 ]
  rm elsewhere/real.fbnn
  [ "$(code '/v1/infer?model=linked' --data-binary @three)" = 404 ]
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

@test "signals: SIGTERM and SIGHUP with a job of every kind in flight: each answered whole, then exit 0" {
  head -c 300K /dev/urandom > r
  gzip -c r > r.gz
  "$PY" -c "import numpy" 2>/dev/null && "$PY" "$RANDOM_MODEL" fixed-conv 5 m.fbnn img 3 && mkdir -p models && mv m.fbnn models/
  for sig in TERM HUP; do
    export FPGA_REMOTE_TEST_JOB_DELAY_MS=1500
    if [ -d models ]; then start_server s$sig --device cpu --slots 4 --models models; else start_server s$sig --device cpu --slots 4; fi
    unset FPGA_REMOTE_TEST_JOB_DELAY_MS
    curl -s -o c.out -w '%{http_code}' --data-binary @r "$(U /v1/gzip/compress)" > c.code &
    curl -s -o d.out -w '%{http_code}' --data-binary @r.gz "$(U /v1/gzip/decompress)" > d.code &
    curl -s -o t.out -w '%{http_code}' --data-binary @r.gz "$(U /v1/gzip/test)" > t.code &
    n=3
    if [ -d models ]; then
      per=$(curl -s "$(U '/v1/models?name=m')" | sed -n 's/.*"height":\([0-9]*\),"width":\([0-9]*\),"channels":\([0-9]*\).*/\1 \2 \3/p' | awk '{print $1*$2*$3}')
      head -c $((per * 2)) /dev/urandom > imgs
      curl -s -o i.out -w '%{http_code}' --data-binary @imgs "$(U '/v1/infer?model=m')" > i.code &
      n=4
    fi
    for _ in $(seq 100); do curl -s "$(U /v1/devices)" | grep -q "\"busy\":$n," && break; sleep 0.05; done
    curl -s "$(U /v1/devices)" | grep -q "\"busy\":$n,"
    kill -$sig "$SPID"
    wait "$SPID"  # exit 0
    wait
    [ "$(cat c.code d.code t.code)" = 200200200 ]
    gzip -dc c.out | cmp - r
    cmp d.out r
    grep -q '"bytes":307200' t.out
    if [ -d models ]; then [ "$(cat i.code)" = 200 ]; [ "$(stat -c %s i.out)" -eq 4 ]; fi
    grep -q "signal .*: finishing the requests in flight" "$SLOG"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$(U /v1/health)")" = 000 ]  # no longer listening
  done
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

@test "TLS: a chain through an intermediate is admitted; a leaf without it, a non-CA signer and a wrong key usage are not" {
  make_pki
  start_server s --device cpu --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem
  [ "$(tls_code chain.pem /v1/devices)" = 200 ]
  [ "$(tls_code leaf.pem /v1/devices)" = 403 ]
  grep -q 'not signed by a CA this server trusts' out.body
  [ "$(tls_code nca-chain.pem /v1/devices)" = 403 ]
  # keyUsage without digitalSignature: GnuTLS ends the handshake (no answer at all)
  [ "$(tls_code ku.pem /v1/devices)" = 000 ]
  echo data > f
  run "$R" --cacert ca.pem --cert ku.pem --key cli.key "https://127.0.0.1:$PORT" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"Key usage violation"* ]]
  [ "$(tls_code chain.pem /v1/devices)" = 200 ]
}

@test "TLS: requests pipelined after a refusal are refused too; renegotiation ends the connection; health tells nothing secret" {
  make_pki
  printf secret > tok
  start_server s --device cpu --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem --token-file tok
  # No certificate: health, then two jobs on the same connection.
  { printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n'
    sleep 1; } | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile ca.pem 2>/dev/null > pipe.out || true
  # (a refusal closes the connection: the request after it is never read)
  [ "$(grep '^HTTP/1.1 ' pipe.out | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" = "200 403 " ]
  grep -q '^Connection: close' pipe.out
  if grep -q '"devices"' pipe.out; then false; fi
  # A certificate, a wrong token, then a request with no token on the same connection.
  { printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    sleep 1; } | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > pipe2.out || true
  [ "$(grep '^HTTP/1.1 ' pipe2.out | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" = "401 " ]
  # TLS 1.2 renegotiation asked by the client: the connection ends, nothing answered after it.
  { sleep 0.5; printf 'R\n'; sleep 0.5; printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'; sleep 1; } |
    timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > reneg.out || true
  if grep -q '^HTTP/1.1' reneg.out; then false; fi
  # (the same without the renegotiation is answered)
  { sleep 0.5; printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'; sleep 1; } |
    timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > plain.out || true
  grep -q '^HTTP/1.1 200' plain.out
  # Health: liveness, version, protocol and slots; no devices, models, paths or peers.
  curl -s --cacert ca.pem "https://127.0.0.1:$PORT/v1/health" > h.json
  [ "$(sed 's/"version":"[^"]*"/"version":"V"/' h.json)" = '{"live":true,"ready":true,"version":"V","protocol":1,"slots":2}' ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem --cert chain.pem --key cli.key -H 'Authorization: Bearer secret' "https://127.0.0.1:$PORT/v1/devices")" = 200 ]
}

@test "slots: a card that fails mid-job with jobs queued behind it (XRT noop) leaves every slot free, the rest on the CPU" {
  [ -n "${MAKE_XCLBIN:-}" ] || skip "built without XRT (no make_xclbin)"
  xrt_noop_env
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 2 --banks 2
  head -c 300K /dev/urandom > r
  "$FPGA_BIN/fpga-gzip" --device cpu -c r > cpu.gz
  start_server s --device xrt:0,cpu --slots 1 --queue 8 --xclbin gzip.xclbin
  local pids=
  for i in 1 2 3 4 5 6; do
    curl -s -o "c$i.gz" -w '%{http_code}' --data-binary @r "$(U /v1/gzip/compress)" > "c$i.code" &
    pids+=" $!"
  done
  wait $pids
  for i in 1 2 3 4 5 6; do [ "$(cat "c$i.code")" = 200 ]; gzip -dc "c$i.gz" | cmp - r; done
  curl -s "$(U /metrics)" > m
  grep -qx 'fpga_remote_device_up{device="xrt:0"} 0' m
  grep -qx 'fpga_remote_device_busy{device="xrt:0"} 0' m
  grep -qx 'fpga_remote_device_busy_max{device="xrt:0"} 1' m
  grep -qx 'fpga_remote_device_busy{device="cpu"} 0' m
  # /v1/devices says as /metrics that a failed card has no slots (PROTOCOL.md)
  curl -s "$(U /v1/devices)" | grep -q '"name":"xrt:0","kind":"xrt","slots":0,"busy":0,.*"state":"failed"'
  curl -s "$(U /v1/devices)" | grep -q '\],"slots":1,"busy":0,"waiting":0'
  all_free
}
