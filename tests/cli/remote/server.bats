#!/usr/bin/env bats
# `fpga-remote serve` as an operator runs it: health, devices and metrics,
# SIGTERM and SIGHUP with jobs in flight, --models (names, symlinks, special
# files), log lines a client cannot forge, and garbage requests.

load ../helpers
load helpers

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

@test "a wrong method is 405 with Allow naming the right one, on every path, HTTP and stdio; an unknown path is 404" {
  start_server s1
  for path in /v1/health /v1/devices /metrics /v1/models; do
    for m in POST PUT DELETE; do
      [ "$(code "$path" -X "$m" -D hdr --data-binary x)" = 405 ] || { echo "$m $path"; false; }
      grep -qix 'Allow: GET'$'\r' hdr
      grep -q '"error":"usage","message":"method not allowed: use GET"' out.body
    done
  done
  for path in /v1/gzip/compress /v1/gzip/decompress /v1/gzip/test /v1/infer; do
    for m in GET PUT DELETE; do
      [ "$(code "$path" -X "$m" -D hdr)" = 405 ] || { echo "$m $path"; false; }
      grep -qix 'Allow: POST'$'\r' hdr
      grep -q 'method not allowed: use POST' out.body
    done
  done
  [ "$(code /v1/nonesuch -D hdr)" = 404 ]
  ! grep -qi '^Allow:' hdr
  [ "$(code /v1/nonesuch -X POST -D hdr --data-binary x)" = 404 ]
  # serve --stdio: the same statuses (its framing has no headers).
  printf 'POST /v1/health 0\nGET /v1/gzip/compress 0\nGET /v1/health 0\n' | "$R" serve --stdio > answers
  [ "$(grep -ac '^405 ' answers)" -eq 2 ]
  [ "$(grep -ac '^200 ' answers)" -eq 1 ]
}
