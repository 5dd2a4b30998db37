#!/usr/bin/env bats
# Hosts that cannot do a job (no model of that name, no device that runs
# it) are passed over like hosts that are down, while a job that is bad (a
# corrupt input) is not sent on; every host passed over is said on stderr,
# once, unless -q; older servers' answers of that kind are recognised too.

load ../helpers
load helpers

# The CNV-W1A1 model of ../shared/data as models/cnv.fbnn, and 8 CIFAR-10
# records (3073 bytes each) in test_batch.bin.
cifar_setup() {
  need_data
  mkdir -p models
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o models/cnv.fbnn 2>/dev/null
  for i in 1 2 3 4; do cat "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin"; done > test_batch.bin
}

@test "a host without the model: the recipe of fpga-remote(1) over a hosts file finishes, the host passed over is named" {
  cifar_setup
  command -v parallel >/dev/null || skip "no GNU parallel"
  # The first host has no --models (no 'cnv'), the second has it.
  start_server bare; PA=$PORT; LA=$SLOG
  start_server full --models models; PB=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
  "$INFER" -q --model models/cnv.fbnn test_batch.bin > whole.tsv
  "$FPGA_BIN/fpga-split" --ranges --record-size 3073 -n 8 test_batch.bin |
    parallel -j 4 "$R" --hosts hosts.txt fpga-infer -q --model cnv --save 2> err
  cat err
  "$FPGA_BIN/fpga-cat" --lines test_batch.bin.*.tsv > results.tsv
  cmp results.tsv whole.tsv
  # The jobs whose slot picked the bare host said so, one line each.
  [ "$(grep -c . err)" -ge 1 ]
  while read -r line; do
    [[ "$line" == "fpga-remote: http://127.0.0.1:$PA: skipped (no model 'cnv' on this host"*"); trying http://127.0.0.1:$PB" ]]
  done < err
  ! grep -q 'POST /v1/infer' "$LA"
  # With -q, nothing.
  rm test_batch.bin.*.tsv
  "$R" -q --slot 1 --hosts hosts.txt fpga-infer -q --model cnv "test_batch.bin" > r.tsv 2> err
  [ ! -s err ]
  cmp r.tsv whole.tsv
  # No host has it: every host is named with its answer, after the input
  # left unclassified (as fpga-gzip names its file), exit 1, no output.
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PA" > bare.txt
  run "$R" --hosts bare.txt fpga-infer -q --model nonesuch -o out.tsv test_batch.bin
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "fpga-remote: test_batch.bin: no host could do the work; tried http://127.0.0.1:$PA (no model 'nonesuch' on this host"* ]]
  [ ! -e out.tsv ]
  run "$R" --hosts bare.txt fpga-infer -q --model nonesuch < test_batch.bin
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "fpga-remote: stdin: no host could do the work; tried "* ]]
  # One host: its own answer, as before.
  run "$R" "http://127.0.0.1:$PA" fpga-infer -q --model nonesuch test_batch.bin
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: http://127.0.0.1:$PA: no model 'nonesuch' on this host"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

@test "a host with no device for the job is passed over; a corrupt input is the job's error, never sent on" {
  # csim:0 compresses only: decompression must go to the CPU host.
  start_server sim --device csim:0; PS=$PORT; LS=$SLOG
  start_server cpu --device cpu --slots 1; PC=$PORT; LC=$SLOG
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PS" "$PC" > hosts
  make_text f 300
  "$OURS" -c f > f.gz
  "$R" --hosts hosts fpga-gzip -dc f.gz > out 2> err
  cat err
  cmp out f
  [ "$(cat err)" = "fpga-remote: http://127.0.0.1:$PS: skipped (no device of this server in service runs 'inflate' (its devices: csim:0)); trying http://127.0.0.1:$PC" ]
  grep -q 'POST /v1/gzip/decompress 200 ' "$LC"
  # The protocol marks the answer as the host's, not the job's; its status
  # and error are what older clients read.
  curl -s -o body -w '%{http_code}' --data-binary @f.gz "http://127.0.0.1:$PS/v1/gzip/decompress" > code
  [ "$(cat code)" = 500 ]
  grep -q '"error":"device",' body
  grep -q '"scope":"host"' body
  # A corrupt member is the job's error: one host, exit 1, nothing skipped.
  start_server cpu2 --device cpu --slots 1; P2=$PORT; L2=$SLOG
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PC" "$P2" > cpus
  "$PY" -c 'import sys; d = bytearray(open("f.gz", "rb").read()); d[len(d) // 2] ^= 0xff; sys.stdout.buffer.write(d)' > bad.gz
  : > "$LC"
  run "$R" --hosts cpus fpga-gzip -dc bad.gz
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" != *skipped* ]]
  [[ "$output" != *"no host could"* ]]
  [ "$(grep -c 'POST /v1/gzip/decompress 422 ' "$LC")" -eq 1 ]
  ! grep -q 'POST /v1/gzip/decompress' "$L2"
}

@test "an older server's answers (no scope member) are recognised: a missing model, no device" {
  # The proxy takes '"scope":"host"' out of every answer, as a server of
  # the release before sent them.
  start_server sim --device csim:0; PS=$PORT
  start_hostile old-server "$PS"; HS=$HPORT
  start_server cpu --device cpu --slots 1; PC=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$HS" "$PC" > hosts
  curl -s --data-binary @/dev/null "http://127.0.0.1:$HS/v1/gzip/decompress" > body || true
  ! grep -q scope body
  make_text f 100
  "$OURS" -c f > f.gz
  "$R" --hosts hosts fpga-gzip -dc f.gz > out 2> err
  cmp out f
  grep -q "^fpga-remote: http://127.0.0.1:$HS: skipped (no device of this server in service runs 'inflate'" err
  # A model: the server without --models has the default model only.
  start_server bare; PB=$PORT
  start_hostile old-server "$PB"; HB=$HPORT
  curl -s "http://127.0.0.1:$HB/v1/models?name=nonesuch" > body
  ! grep -q scope body
  grep -q '"error":"not-found"' body
  run "$R" -q "http://127.0.0.1:$HB" fpga-infer --model nonesuch /dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: http://127.0.0.1:$HB: no model 'nonesuch' on this host"* ]]
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$HB" "$PB" > hosts2
  run "$R" --hosts hosts2 fpga-infer --model nonesuch /dev/null
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "fpga-remote: http://127.0.0.1:$HB: skipped (no model 'nonesuch' on this host"* ]]
}

@test "failover is said: one line a host passed over, none with -q or --quiet, exit 0; the job's bytes unchanged" {
  start_server a; PA=$PORT
  start_server b; PB=$PORT
  # A port nobody listens on (the kernel gave it to a server that ended).
  start_server c; PC=$PORT; kill "$SPID"; wait "$SPID" || true
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PC" "$PA" "$PB" > hosts
  make_pair f 2000
  "$OURS" -c -b 64K here/f > l.gz
  # Many requests, four in flight, all first sent to the dead host: one line.
  # (Exit 0: the hosts passed over count only when no host could do it.)
  "$R" --slot 1 --chunk 64K --hosts hosts fpga-gzip -b 64K -c there/f > r.gz 2> err
  cmp l.gz r.gz
  cat err
  [ "$(wc -l < err)" -eq 1 ]
  [[ "$(cat err)" == "fpga-remote: http://127.0.0.1:$PC: skipped ("*"); trying http://127.0.0.1:$PA" ]]
  for q in -q --quiet; do
    "$R" $q --slot 1 --chunk 64K --hosts hosts fpga-gzip -b 64K -c there/f > r.gz 2> err
    [ ! -s err ]
    cmp l.gz r.gz
  done
  # A host tried again (one host, a request that failed once) is not
  # "skipped": every host down is still one line, exit 1.
  run "$R" "http://127.0.0.1:$PC" fpga-gzip -c there/f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
}
