#!/usr/bin/env bats
# fpga-remote serve and its fpga-infer client when a request cannot be
# computed (issue 20): a model the engine cannot run is refused in an answer,
# never run, so no request kills a server; an answer that refuses a request
# (4xx) ends the run and is not tried again on the other hosts of --hosts;
# image numbers and labels across several inputs are the local tool's.

load ../helpers
load helpers

# A .fbnn model whose last layer is a 3x3 convolution (4x4x1 one-bit input,
# two classes): the validator took it and the engine crashed on it.
conv_last_model() { # file
  "$PY" - "$1" <<'EOF'
import struct, sys, zlib
b = bytearray(b"FBNN" + struct.pack("<IIIIIII", 1, 4, 4, 1, 1, 2, 1))
b += struct.pack("<H", 1) + b"a" + struct.pack("<H", 1) + b"b"
b += struct.pack("<IIII", 1, 1, 2, 0) + struct.pack("<QQ", 0x1b5, 0xf3)
b += struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)
open(sys.argv[1], "wb").write(bytes(b))
EOF
}

alive() { kill -0 "$1" 2>/dev/null; }

@test "a model whose last layer is a convolution: every request about it is refused (422), the server lives, and --hosts does not try it on the next host" {
  mkdir -p models
  conv_last_model models/last.fbnn
  start_server a --device cpu --models models; PA=$PORT; AP=$SPID; LA=$SLOG
  start_server b --device cpu --models models; PB=$PORT; BP=$SPID; LB=$SLOG
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts
  head -c 16 /dev/urandom > img.raw
  # One POST straight to a: it answered with a crash (an empty reply).
  code=$(curl -s -o body -w '%{http_code}' -X POST --data-binary @img.raw "http://127.0.0.1:$PA/v1/infer?model=last")
  cat body
  [ "$code" = 422 ]
  grep -q 'the last layer must be fully connected' body
  alive "$AP"
  # Its description: an error in the list, and 422 by name.
  curl -s "http://127.0.0.1:$PA/v1/models" | grep -q '"name":"last","error":'
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/v1/models?name=last")" = 422 ]
  # The client: one line naming the host and the model, exit 1; b is never
  # asked (it was, and died too).
  run "$R" --hosts hosts fpga-infer --model last --input-format raw --shape 4x4x1 img.raw
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: http://127.0.0.1:$PA: model last: corrupt data: model: layer 0: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  alive "$AP"
  alive "$BP"
  ! grep -q '/v1/' "$LB"
  # Both still serve.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/v1/health")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/v1/health")" = 200 ]
}

@test "a batch refused by one host (its model file turned into one the engine cannot run mid-run) ends the run: not retried on the other host, no -o file" {
  need_numpy
  mkdir -p models ma mb
  "$PY" "$RANDOM_MODEL" binary-fc-padded 5 models/bin.fbnn bin-idx3-ubyte 40
  cp models/bin.fbnn ma/; cp models/bin.fbnn mb/
  start_server a --device cpu --models ma; PA=$PORT; AP=$SPID; LA=$SLOG
  start_server b --device cpu --models mb; PB=$PORT; BP=$SPID; LB=$SLOG
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts
  # The images come through a FIFO; after a's first answer its file becomes
  # a model whose last layer is a convolution (loaded again: it changed).
  mkfifo in
  "$R" --jobs 1 --hosts hosts fpga-infer -q --batch 10 --model bin -o r.tsv < in 2> err &
  cpid=$!
  exec 8> in
  head -c $((20 + 10 * 25)) bin-idx3-ubyte >&8
  for _ in $(seq 200); do grep -q 'POST /v1/infer 200' "$LA" && break; sleep 0.05; done
  grep -q 'POST /v1/infer 200' "$LA"
  conv_last_model ma/new.fbnn
  mv ma/new.fbnn ma/bin.fbnn
  tail -c +$((21 + 10 * 25)) bin-idx3-ubyte >&8
  exec 8>&-
  st=0; wait "$cpid" || st=$?
  cat err
  [ "$st" -eq 1 ]
  [ "$(cat err)" = "fpga-remote: http://127.0.0.1:$PA: model bin: corrupt data: model: layer 0: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  grep -q 'POST /v1/infer 422' "$LA"
  ! grep -q 'POST /v1/infer' "$LB"
  [ ! -e r.tsv ]
  alive "$AP"
  alive "$BP"
}

@test "several inputs through fpga-remote: numbered across them, labels following, byte for byte the local tool's" {
  need_numpy
  mkdir -p models
  "$PY" "$RANDOM_MODEL" fixed-conv 21 models/conv.fbnn conv-idx3-ubyte 90
  "$PY" - <<'EOF'
import struct
d = open("conv-idx3-ubyte", "rb").read()
per = 9 * 9 * 2
for name, first, n in (("a-idx3-ubyte", 0, 30), ("b-idx3-ubyte", 30, 60)):
    open(name, "wb").write(struct.pack(">IIIII", 0x804, n, 9, 9, 2) + d[20 + first * per:20 + (first + n) * per])
open("labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, 90) + bytes(i % 5 for i in range(90)))
EOF
  start_server s --models models
  H=http://127.0.0.1:$PORT
  "$INFER" --model models/conv.fbnn --labels labels-idx1-ubyte --confusion conv-idx3-ubyte > one.out 2> one.err
  "$INFER" --model models/conv.fbnn --labels labels-idx1-ubyte --confusion a-idx3-ubyte b-idx3-ubyte > l.out 2> l.err
  "$R" "$H" fpga-infer --model conv --labels labels-idx1-ubyte --confusion a-idx3-ubyte b-idx3-ubyte > r.out 2> r.err
  cmp one.out l.out
  cmp l.out r.out
  [ "$(tail -1 r.out | cut -f1)" = 89 ]
  # The accuracy and the confusion matrix: the one file's.
  acc() { sed -n 's/.*\(top-1 accuracy .*\)/\1/p' "$1"; }
  [ -n "$(acc one.err)" ]
  [ "$(acc one.err)" = "$(acc l.err)" ]
  [ "$(acc l.err)" = "$(acc r.err)" ]
  diff <(tail -n +2 l.err) <(tail -n +2 r.err)
}
