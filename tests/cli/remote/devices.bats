#!/usr/bin/env bats
# fpga-remote serve --device: jobs on this host's cards as well as its cores.
# No FPGA here: "cards" are csim:0 (the kernel of kernels/gzip C-simulated,
# real results) and XRT cards under XRT's noop driver (host code end to end,
# kernels never run: every result is garbage the driver must refuse). So
# csim checks bytes, noop checks plumbing and failures; neither is an FPGA
# result.

load ../helpers
load helpers

setup() {
  mkdir -p "$BATS_TEST_TMPDIR/w"
  cd "$BATS_TEST_TMPDIR/w"
  unset FPGA_DEVICE PARALLEL_JOBSLOT FPGA_XCLBIN FPGA_REMOTE_TEST_JOB_DELAY_MS
}

teardown() { remote_teardown; }

# Ends the servers started so far in this test (before a local run that
# needs the card they hold).
stop_servers() {
  remote_teardown
  rm -f "$BATS_TEST_TMPDIR/servers"
}

# The value of one metric line of the server on PORT: metric 'name{labels}'.
metric() { # name-with-labels
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# The same input with the same name and time in here/ (local runs) and
# there/ (remote runs).
twin() { # name kib
  mkdir -p here there
  make_text "here/$1" "$2"
  touch -d '2021-03-04 05:06:07' "here/$1"
  cp -p "here/$1" "there/$1"
}

T() { timeout 30 "$@"; }

# XRT's noop driver with one card and a metadata-only xclbin (gzip.xclbin).
need_xrt_noop() {
  [ -n "${MAKE_XCLBIN:-}" ] || skip "built without XRT (no make_xclbin)"
  xrt_noop_env
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 2 --banks 2
}

# Replaces unit names (xrt:0/cu1.2) by xrt:0/cuN.N: which unit takes block 1
# depends on the threads.
any_unit() { sed 's,/cu[0-9]*\.[0-9]*:,/cuN.N:,'; }

@test "csim:0 server: byte-identical to a local fpga-gzip --device csim:0; a cpu server to a local CPU run" {
  start_server c --device csim:0
  grep -q 'devices csim:0 x1)' "$SLOG"
  twin f 3000
  for opts in "-b 64K" "-1 -b 64K" "-9 -b 256K" "--rsyncable -b 16K"; do
    "$OURS" --device csim:0 $opts -c here/f > l.gz
    "$R" --chunk 200K http://127.0.0.1:$PORT fpga-gzip $opts -c there/f > r.gz
    cmp l.gz r.gz
  done
  # The answers really came from the kernel's code, not the CPU's engines.
  "$OURS" --device cpu -b 64K -c here/f > cpu.gz
  "$OURS" --device csim:0 -b 64K -c here/f > l.gz
  ! cmp -s cpu.gz l.gz
  # File to file, with the name, time and removal of the input.
  "$OURS" --device csim:0 -b 64K here/f
  "$R" --chunk 300K http://127.0.0.1:$PORT fpga-gzip -b 64K there/f
  cmp here/f.gz there/f.gz
  [ ! -e there/f ]
  # Every job ran on csim:0, one log line each naming it.
  jobs=$(metric 'fpga_remote_device_jobs_total{device="csim:0"}')
  [ "$jobs" -ge 40 ]
  [ "$(grep -c 'POST /v1/gzip/compress 200 .* csim:0$' "$SLOG")" -eq "$jobs" ]
  # Listed as what it is: simulated, not a card.
  run curl -sf "http://127.0.0.1:$PORT/v1/devices"
  [[ "$output" == '{"devices":[{"name":"csim:0","kind":"csim","slots":1,"busy":0,"jobs":'* ]]
  [[ "$output" == *'"state":"ready"'*'(by name only; not a card)'* ]]
  # csim does not inflate: -d on a csim-only server is the device error a
  # local --device csim:0 -d is.
  run "$R" http://127.0.0.1:$PORT fpga-gzip -dc there/f.gz
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: http://127.0.0.1:$PORT: there/f.gz: no device of this server in service runs 'inflate' (its devices: csim:0)" ]
  run "$OURS" --device csim:0 -dc here/f.gz
  [ "$status" -eq 1 ]
  # A cpu server: the bytes of a local CPU run.
  twin g 1000
  start_server p --device cpu --slots 2
  grep -q 'devices cpu x2)' "$SLOG"
  "$OURS" --device cpu -b 64K -c here/g > l.gz
  "$R" --chunk 200K http://127.0.0.1:$PORT fpga-gzip -b 64K -c there/g > r.gz
  cmp l.gz r.gz
  [ "$(metric 'fpga_remote_device_jobs_total{device="cpu"}')" -ge 5 ]
  # Over ssh the same server code runs: serve --stdio takes --device too.
  run bash -c "printf 'GET /v1/devices 0\n' | '$R' serve --stdio --device csim:0"
  [[ "$output" == *'"name":"csim:0","kind":"csim"'* ]]
}

@test "--device errors stop the server at start: one line, exit 1" {
  for c in "1|--device: '1': '1' is a job slot; a server's devices are named (job slots do not pick devices on a server)" \
           "cpu,cpu|--device: 'cpu,cpu' names 'cpu' twice" \
           "csim:0,|--device: 'csim:0,': an empty device name" \
           "nosuch|--device: no device 'nosuch' (available: cpu, csim:0)"; do
    run env -u XILINX_XRT "$R" serve --listen 127.0.0.1:0 --device "${c%%|*}"
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: ${c#*|}" ]
  done
  run env -u XILINX_XRT "$R" serve --listen 127.0.0.1:0 --device xrt:0
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: --device: no device 'xrt:0' (available: cpu, csim:0; XRT: XILINX_XRT is not set (source XRT's setup.sh))" ]
  run "$R" serve --listen 127.0.0.1:0 --device csim:0 --slots 2
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: --slots sets the CPU's job slots, and the device list has no cpu" ]
  # FPGA_DEVICE names them when --device is not given, as for fpga-gzip.
  run env FPGA_DEVICE=cpu,cpu "$R" serve --listen 127.0.0.1:0
  [ "$output" = "fpga-remote: FPGA_DEVICE: 'cpu,cpu' names 'cpu' twice" ]
}

@test "XRT noop: the card in /v1/devices; its garbage is a 500 device error as local --device xrt:0 says, never bytes" {
  need_xrt_noop
  make_text t 300
  # Locally (before the server holds the card): exit 1, one line naming
  # card, unit and block.
  cp t keep
  run T "$OURS" --xclbin gzip.xclbin --device xrt:0 keep
  [ "$status" -eq 1 ]
  local_msg=$(echo "${output#fpga-gzip: }" | any_unit)
  [[ "$local_msg" =~ ^"keep: xrt:0/cuN.N: block 1 (307200 bytes): returned CRC-32 ffffffff, the host computed "[0-9a-f]{8}$ ]]
  start_server x --device xrt:0 --xclbin gzip.xclbin
  grep -q 'devices xrt:0 x1)' "$SLOG"
  run curl -sf "http://127.0.0.1:$PORT/v1/devices"
  [[ "$output" == '{"devices":[{"name":"xrt:0","kind":"xrt","slots":1,"busy":0,"jobs":0,"errors":0,"redone_on_cpu":0,"state":"ready","description":"bdf unknown, platform unknown, gzip.xclbin, 2 compute units: xilGzipCompBlock_1,xilGzipCompBlock_2","kernels":["deflate"]}],"slots":1,'* ]]
  # Through the server: the same words after the host, the input kept, nothing written.
  run T "$R" http://127.0.0.1:$PORT fpga-gzip keep
  [ "$status" -eq 1 ]
  [ "$(echo "$output" | any_unit)" = "fpga-remote: http://127.0.0.1:$PORT: $local_msg" ]
  [ -f keep ] && [ ! -e keep.gz ]
  [ -z "$(ls -A | grep -v '^\(keep\|t\|gzip.xclbin\|xrt\|xrt.ini\|locks\)$')" ]
  # The card is out of service, says why, and counts the error.
  run curl -sf "http://127.0.0.1:$PORT/v1/devices"
  [[ "$output" == *'"jobs":1,"errors":1,"redone_on_cpu":0,"state":"failed","problem":"xrt:0/cu'*'returned CRC-32 ffffffff'* ]]
  [ "$(metric 'fpga_remote_device_errors_total{device="xrt:0"}')" = 1 ]
  [ "$(metric 'fpga_remote_device_up{device="xrt:0"}')" = 0 ]
  grep -q 'returned CRC-32 ffffffff, the host computed [0-9a-f]*; xrt:0 is out of service$' "$SLOG"
  # Later jobs: the same kind of error, saying why; health is live, not ready.
  run T "$R" http://127.0.0.1:$PORT fpga-gzip -c t
  [ "$status" -eq 1 ]
  [[ "$output" == *": t: no device of this server in service runs 'deflate' (its devices: xrt:0 is out of service: xrt:0/cu"* ]]
  run curl -sf "http://127.0.0.1:$PORT/v1/health"
  [[ "$output" == '{"live":true,"ready":false,'* ]]
}

@test "XRT noop: with cpu in the list (or by default) a failed card job runs again on the CPU: logged, counted, the CPU's bytes" {
  need_xrt_noop
  make_text t 300
  touch -d 2020-02-02 t
  "$OURS" --device cpu -c t > cpu.gz
  # Locally, not named, the card's garbage gives way to the CPU with a
  # warning (run first: the servers below hold the card).
  T "$OURS" --xclbin gzip.xclbin -c t > local.gz 2> err
  grep -q "compressing the rest on the CPU" err
  start_server y --device xrt:0,cpu --xclbin gzip.xclbin
  grep -q 'devices xrt:0 x1, cpu x[0-9]*)' "$SLOG"
  T "$R" http://127.0.0.1:$PORT fpga-gzip -c t > r.gz
  cmp cpu.gz r.gz
  grep -q 'returned CRC-32 ffffffff, the host computed [0-9a-f]*; xrt:0 is out of service, the job runs again on the CPU$' "$SLOG"
  grep -q 'POST /v1/gzip/compress 200 .* cpu$' "$SLOG"
  [ "$(metric 'fpga_remote_device_redone_total{device="xrt:0"}')" = 1 ]
  [ "$(metric 'fpga_remote_device_errors_total{device="xrt:0"}')" = 1 ]
  [ "$(metric 'fpga_remote_device_jobs_total{device="cpu"}')" = 1 ]
  # Then straight to the CPU.
  T "$R" http://127.0.0.1:$PORT fpga-gzip -c t | cmp - cpu.gz
  [ "$(metric 'fpga_remote_device_jobs_total{device="xrt:0"}')" = 1 ]
  # No --device: what fpga-gzip picks by itself (the card that opens, then
  # the CPU), and the bytes of the local run above.
  stop_servers
  start_server z --xclbin gzip.xclbin
  grep -q 'devices xrt:0 x1, cpu x[0-9]*)' "$SLOG"
  T "$R" http://127.0.0.1:$PORT fpga-gzip -c t > r.gz
  cmp local.gz r.gz
  grep -q 'the job runs again on the CPU$' "$SLOG"
  # A card that cannot open is passed over at start by default (a warning,
  # listed as failed) and refused when named.
  stop_servers
  start_server n
  grep -q "warning: xrt:0: the card's platform is unknown: name an xclbin with --xclbin or FPGA_XCLBIN; not used" "$SLOG"
  run curl -sf "http://127.0.0.1:$PORT/v1/devices"
  [[ "$output" == '{"devices":[{"name":"xrt:0","kind":"xrt","slots":0,'*'"state":"failed","problem":"xrt:0: the card'* ]]
  T "$R" http://127.0.0.1:$PORT fpga-gzip -c t | cmp - cpu.gz
  run T "$R" serve --listen 127.0.0.1:0 --device xrt:0
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: xrt:0: the card's platform is unknown: name an xclbin with --xclbin or FPGA_XCLBIN" ]
}

@test "XRT noop: the server holds the card's lock; a local fpga-gzip passes the card over" {
  need_xrt_noop
  make_text t 100
  start_server l --device xrt:0,cpu --xclbin gzip.xclbin
  FPGA_XRT_TRACE=1 T "$OURS" --xclbin gzip.xclbin -c t 2> trace | gzip -dc | cmp - t
  ! grep -q "loaded" trace
  # Named, a local run waits for the card (blocked in flock, seen in /proc):
  # it is the server's until the server ends.
  "$OURS" --xclbin gzip.xclbin --device xrt:0 -c t > /dev/null 2>&1 &
  pid=$!
  wait_in_lock $pid
  stop_servers
  rc=0
  timeout 30 tail --pid=$pid -f /dev/null || rc=$?
  [ "$rc" -eq 0 ]
  wait $pid || true
}

@test "slots per device: 8 jobs at once on 1 card + 1 core never put 2 on the card; each answer the card's or the core's bytes" {
  make_text f 200
  touch -d 2020-02-02 f
  "$OURS" --device csim:0 -c f > card.gz
  "$OURS" --device cpu -c f > core.gz
  ! cmp -s card.gz core.gz
  FPGA_REMOTE_TEST_JOB_DELAY_MS=200 start_server s --device csim:0,cpu --slots 1 --queue 16
  grep -q 'devices csim:0 x1, cpu x1)' "$SLOG"
  pids=""
  for i in 1 2 3 4 5 6 7 8; do
    "$R" http://127.0.0.1:$PORT fpga-gzip -c f > o$i.gz &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p"; done
  card=0 core=0
  for i in 1 2 3 4 5 6 7 8; do
    if cmp -s o$i.gz card.gz; then card=$((card + 1)); else cmp o$i.gz core.gz; core=$((core + 1)); fi
  done
  # The server's own record: at most one job at a time on each device, and
  # every job accounted for, on the device whose bytes it returned.
  [ "$(metric 'fpga_remote_device_busy_max{device="csim:0"}')" = 1 ]
  [ "$(metric 'fpga_remote_device_busy_max{device="cpu"}')" = 1 ]
  [ "$(metric 'fpga_remote_device_jobs_total{device="csim:0"}')" = "$card" ]
  [ "$(metric 'fpga_remote_device_jobs_total{device="cpu"}')" = "$core" ]
  [ "$(metric 'fpga_remote_device_busy{device="csim:0"}')" = 0 ]
  [ "$(grep -c 'POST /v1/gzip/compress 200 .* csim:0$' "$SLOG")" -eq "$card" ]
  [ "$(grep -c 'POST /v1/gzip/compress 200 .* cpu$' "$SLOG")" -eq "$core" ]
  [ $((card + core)) -eq 8 ]
}

@test "503 with device slots: a card-only server with --queue 1 refuses with Retry-After; clients retry and get the card's bytes" {
  FPGA_REMOTE_TEST_JOB_DELAY_MS=800 start_server q --device csim:0 --queue 1
  make_text f 20
  post_four_at_once f
  grep -q 503 c1 c2 c3 c4
  grep -qi '^Retry-After: 1' h1 h2 h3 h4
  grep -q 200 c1 c2 c3 c4
  [ "$(metric 'fpga_remote_device_busy_max{device="csim:0"}')" = 1 ]
  "$OURS" --device csim:0 -c f > l.gz
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > a.gz & p1=$!
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > b.gz & p2=$!
  "$R" http://127.0.0.1:$PORT fpga-gzip -c f > c.gz & p3=$!
  wait $p1 && wait $p2 && wait $p3
  cmp l.gz a.gz && cmp l.gz b.gz && cmp l.gz c.gz
  [ "$(metric fpga_remote_queue_full_total)" -ge 1 ]
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
