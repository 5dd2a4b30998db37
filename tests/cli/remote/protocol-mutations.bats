#!/usr/bin/env bats
# Adversarial tests of fpga-remote's protocol messages on both transports
# (docs/PROTOCOL.md). Over SSH, real traffic of compress, -d, -t, -l and
# fpga-infer runs is captured through tests/cli/fixtures/frames-ssh (a stand-in for
# ssh running the real `fpga-remote serve --stdio` here), then mutated:
# the requests fed to `serve --stdio`, the answers on their way back to the
# client. Over HTTP, parameters and lying bodies go to a real server. The
# driver, and what each outcome must be, is tests/cli/fixtures/frames.py.
#
# Sampled where every offset would take the suite past its minute (a
# client run is the client and, a connection, three starts of ssh's
# stand-in (two for its -G questions), a failure's retry a second
# connection; the answers come from the capture, FRAMES_REPLAY, not from
# a server started each time): the server side gets a bit
# flipped and a cut at every byte of every frame header of the compress
# stream (every 3rd byte of decompress, 2nd of infer, 4th of the
# others), bodies at 6 offsets, every length field edited; the client side
# a bit flipped at every 12th header byte (every 20th for -t), a cut at
# every 48th and at each frame's end, bodies at 2 offsets, the length and
# status of the first frame edited. A flip is one bit a byte, the bit going round with
# the offset. Those are make test-long's steps; make test takes every 6th
# of the server side's header offsets (every 6th byte of the compress
# stream's headers, ...: its bodies and every field edit still all) and
# every 3rd of the client side's. tests/unit/remote_frames_test.cpp flips
# every bit of every header byte, in process.

load ../helpers
load helpers

FRAMES=$FIXTURES/frames.py

setup() {
  mkdir -p "$BATS_TEST_TMPDIR/w"
  cd "$BATS_TEST_TMPDIR/w"
  export FPGA_REMOTE_SSH=$FIXTURES/frames-ssh FPGA_REMOTE_COMMAND=$R
  unset FRAMES_MUTATE FRAMES_CAPTURE FRAMES_REPLAY FPGA_REMOTE_MODELS
}

teardown() {
  cd "$BATS_TEST_TMPDIR"
  remote_teardown
}

# A client run with its traffic kept in NAME.req and NAME.ans (one
# request in flight, so that offsets in the answers mean the same frame
# every run).
capture() { # name client-args...
  local name=$1
  shift
  FRAMES_CAPTURE=$PWD/$name "$R" --jobs 1 "$@" > /dev/null
}

# The server-side mutations of NAME.req, at every EVERY-th header byte (in
# make test-long; every 6 x EVERY-th in make test, for CPU time).
server_mutations() { # name every serve-command...
  local name=$1 every=$(( $2 * $(long_step 6) ))
  shift 2
  "$PY" "$FRAMES" specs requests "$name.req" "$every" 6 > "$name.specs"
  "$PY" "$FRAMES" server "$name.req" "$name.specs" 20 "$@"
}

# CHECK/in: copies of the inputs; CHECK/want, status, stdout: the local
# tool run in a copy of them.
local_run() { # check-dir inputs -- local-command...
  local d=$1 st=0
  shift
  mkdir -p "$d/in" "$d/want"
  while [ "$1" != -- ]; do
    cp -p "$1" "$d/in/"
    cp -p "$1" "$d/want/"
    shift
  done
  shift
  (cd "$d/want" && "$@" > ../stdout) || st=$?
  echo "$st" > "$d/status"
}

# The client-side mutations of NAME.ans at every EVERY-th header byte (3 x
# EVERY-th in make test), the client run in CHECK each time. The answers
# are the capture's (FRAMES_REPLAY: the server's answers to the same
# requests, without a server start a run; a request not in the capture
# goes to a real serve --stdio).
client_mutations() { # name every check-dir client-args...
  local name=$1 every=$(( $2 * $(long_step 3) )) d=$3
  shift 3
  "$PY" "$FRAMES" specs answers "$name.ans" "$every" 2 1 > "$name.aspecs"
  FRAMES_REPLAY=$PWD/$name "$PY" "$FRAMES" client "$d" "$name.aspecs" ssh://h -- "$R" --jobs 1 --retries 1 --timeout 1 "$@"
}

gzip_inputs() {
  make_text t1 5
  touch -d @1700000000 t1
  "$OURS" -k -b 1K t1
  gzip -c < t1 > g.gz  # foreign members: sent whole, no sizes to check
}

@test "serve --stdio: compress, -d, -t, -l requests mutated in their headers (every byte of compress in make test-long), cut, length fields edited: error answers or a one-line exit, never a crash, a hang or a 200 for nothing" {
  gzip_inputs
  capture z --chunk 2K ssh://h fpga-gzip -b 1K -c t1
  capture d --chunk 2K ssh://h fpga-gzip -dc t1.gz
  capture t --chunk 2K ssh://h fpga-gzip -t t1.gz
  capture l --chunk 2K ssh://h fpga-gzip -l t1.gz
  capture g ssh://h fpga-gzip -dc g.gz
  grep -aq '^POST /v1/gzip/compress?block=1024&end=0&level=6 2048$' z.req
  grep -aq '^POST /v1/gzip/test?list=1 ' l.req
  server_mutations z 1 "$R" serve --stdio --device cpu
  server_mutations d 3 "$R" serve --stdio --device cpu
  for s in t l g; do
    server_mutations "$s" 4 "$R" serve --stdio --device cpu
  done
  # A smaller --max-body: declared bodies over it are read and dropped (413),
  # the stream stays in step.
  server_mutations z 5 "$R" serve --stdio --device cpu --max-body 4K
}

@test "serve --stdio: no method, a stream cut inside a frame, huge and bad lengths: one-line errors; a body over --max-body is 413 and the stream stays in step" {
  serve() { "$R" serve --stdio --device cpu "$@"; }
  # No method: was answered 200 with nothing, for a job never run.
  run serve <<< ' /v1/gzip/compress 0'
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: stdin: bad request line" ]
  # Cut inside a frame: was a silent exit 0, as if the client were done.
  printf 'GET /v1/health 0\nPOST /v1/gzip/compress 100\nabc' > cut
  run serve < cut
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "fpga-remote: stdin: request body cut short (3 of 100 bytes)" ]
  [[ "${lines[0]}" == "200 68 application/json; body-crc="* ]]
  printf 'GET /v1/health 0\nPOST /v1/gz' > cut
  run serve < cut
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "fpga-remote: stdin: request line cut short" ]
  # Between frames: a clean end.
  printf 'GET /v1/health 0\n' | serve > out
  # Declared sizes far over any limit are read and dropped, never allocated
  # (a 1 GiB address space here; FRAMES_AS_MIB=0 for none, as under ASan).
  local as=$(( ${FRAMES_AS_MIB:-1024} * 1024 ))
  [ "$as" -gt 0 ] || as=unlimited
  for n in 2147483648 1099511627776 9223372036854775808 9999999999999999999; do
    printf 'POST /v1/gzip/compress %s\nabc' "$n" > huge
    run bash -c "ulimit -v $as; '$R' serve --stdio --device cpu < huge"
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: stdin: request body cut short (3 of $n bytes)" ]
  done
  for n in -1 +5 5x "" 18446744073709551615 99999999999999999999; do
    printf 'POST /v1/gzip/compress %s\n' "$n" > bad
    run serve < bad
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: stdin: bad request length" ]
  done
  # Over --max-body: 413, and the next request is read where it starts.
  { printf 'POST /v1/gzip/compress 5000\n'; head -c 5000 /dev/zero; printf 'GET /v1/health 0\n'; } > big
  serve --max-body 4K < big > out
  [[ "$(head -n 1 out)" == "413 "*" application/json; body-crc="* ]]
  grep -aq '^200 68 application/json; body-crc=' out
}

@test "SSH client: compress answers mutated (bits, cuts, lengths, statuses): the local output, or exit 1 naming the host with the input kept and no output" {
  gzip_inputs
  capture z --chunk 2K ssh://h fpga-gzip -b 1K -c t1
  local_run cz t1 -- "$OURS" -b 1K t1
  client_mutations z 12 cz --chunk 2K ssh://h fpga-gzip -b 1K t1
}

@test "SSH client: decompress answers mutated, our members (checked sizes) and foreign ones (sent whole): never a wrong file" {
  gzip_inputs
  capture d --chunk 2K ssh://h fpga-gzip -dc t1.gz
  local_run cd t1.gz -- "$OURS" -d t1.gz
  client_mutations d 12 cd --chunk 2K ssh://h fpga-gzip -d t1.gz
  capture g ssh://h fpga-gzip -dc g.gz
  local_run cg g.gz -- "$OURS" -d g.gz
  client_mutations g 12 cg ssh://h fpga-gzip -d g.gz
}

@test "SSH client: -t and -l answers mutated: the local status and listing, or exit 1 naming the host" {
  gzip_inputs
  capture t --chunk 2K ssh://h fpga-gzip -t g.gz
  local_run ct g.gz -- "$OURS" -t g.gz
  client_mutations t 20 ct --chunk 2K ssh://h fpga-gzip -t g.gz
  capture l ssh://h fpga-gzip -l g.gz
  local_run cl g.gz -- "$OURS" -l g.gz
  client_mutations l 12 cl ssh://h fpga-gzip -l g.gz
}

@test "fpga-infer over SSH: requests and answers mutated: the local lines, or exit 1 naming the host; the server never crashes" {
  need_numpy
  mkdir -p models
  "$PY" "$RANDOM_MODEL" fixed-conv 11 models/conv.fbnn imgs 40
  export FPGA_REMOTE_COMMAND="env FPGA_REMOTE_MODELS=$PWD/models $R"
  capture i ssh://h fpga-infer -q --batch 16 --model conv -s imgs
  grep -aq '^GET /v1/models?name=conv 0$' i.req
  grep -aq '^POST /v1/infer?crc=[0-9a-f]\{8\}&model=conv&scores=1 ' i.req
  server_mutations i 2 env "FPGA_REMOTE_MODELS=$PWD/models" "$R" serve --stdio --device cpu
  local_run ci imgs -- "$INFER" -q --batch 16 --model "$PWD/models/conv.fbnn" -s imgs
  client_mutations i 12 ci ssh://h fpga-infer -q --batch 16 --model conv -s imgs
}

@test "HTTP and stdio read every parameter alike: out of range, empty, repeated, overlong, non-UTF-8, %00, signs; 200 or a 4xx JSON error, never a 5xx" {
  need_numpy
  gzip_inputs
  mkdir -p models
  "$PY" "$RANDOM_MODEL" fixed-conv 11 models/conv.fbnn imgs 4
  tail -c 648 imgs > pixels  # the 4 images of 9x9x2, as the client sends them
  start_server s1 --device cpu --models models
  crc=$(curl -sf "http://127.0.0.1:$PORT/v1/models?name=conv" | sed 's/.*"crc32":"\([0-9a-f]*\)".*/\1/')
  long=$(head -c 4000 /dev/zero | tr '\0' a)  # (over 8 KiB: below)
  {
    for v in 0 12 13 99 -1 +6 %206 6x 00000000000000000006 99999999999999999999 '' %FF%FE %00 6%00 "$long"; do
      for p in level block mtime end rsyncable; do echo "POST /v1/gzip/compress?$p=$v t1"; done
      for p in name comment part strategy; do echo "POST /v1/gzip/compress?$p=$v t1"; done
      for p in pass zlib salvage; do echo "POST /v1/gzip/decompress?$p=$v t1.gz"; done
      echo "POST /v1/gzip/test?list=$v t1.gz"
      for p in model crc scores; do echo "POST /v1/infer?$p=$v&model=conv pixels"; done
      echo "GET /v1/models?name=$v -"
    done
    for q in 'level=1&level=9' 'level=9&level=1' 'name=a&name=b' '%6cevel=1&level=9' 'level=1&level=1' 'name=a+b%20c' \
             '%6eame=k' 'name=%zz' 'name=%C3%28' 'name' '=5' '&&' 'end=1&end=0'; do
      echo "POST /v1/gzip/compress?${q// /%20} t1"
    done
    echo "POST /v1/infer?model=conv&crc=$crc&scores=1 pixels"
    echo "POST /v1/infer?model=conv&model=conv&crc=$crc pixels"
    echo "POST /v1/infer?model=conv&crc=$crc&crc=00000000 pixels"
    echo "GET /v1/models?name=conv&name=other -"
    echo "POST /v1/gzip/decompress?pass=1&pass=0 g.gz"
  } > cases
  "$PY" "$FRAMES" both "$PORT" cases "$R" serve --stdio --device cpu --models models
  # A request line over 8 KiB: 431 over HTTP, the end of the session over
  # stdio (its end cannot be found without reading it).
  long=$(head -c 9000 /dev/zero | tr '\0' a)
  code=$(curl -s -o out -w '%{http_code}' --data-binary @t1 "http://127.0.0.1:$PORT/v1/gzip/compress?name=$long")
  [ "$code" = 431 ]
  printf 'POST /v1/gzip/compress?name=%s 0\n' "$long" > line
  run "$R" serve --stdio --device cpu < line
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: stdin: request line too long" ]
  # Repeated parameters are refused, whichever transport.
  code=$(curl -s -o out -w '%{http_code}' --data-binary @t1 "http://127.0.0.1:$PORT/v1/gzip/compress?level=1&level=9")
  [ "$code" = 400 ]
  grep -q '"message":"parameter .level. is given twice"' out
  curl -sf "http://127.0.0.1:$PORT/v1/health" > /dev/null
}

@test "HTTP: Content-Length lying both ways, huge, doubled; chunked bodies cut in a size or in data: an answer only for what was sent, a held connection closed after --timeout" {
  make_text body 3
  # --timeout 1: the two held connections are each waited for until the
  # server closes them (2 s of the case's waiting with --timeout 2); the
  # others send their bytes at once, which the server reads in milliseconds.
  start_server s1 --device cpu --timeout 1
  "$PY" "$FRAMES" http-lies "$PORT" 1 body
  curl -sf "http://127.0.0.1:$PORT/v1/health" > /dev/null
  # The server's memory stayed small: no declared size was allocated.
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SPID/status")
  [ "$rss" -lt 300000 ]
}
