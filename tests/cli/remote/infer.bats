#!/usr/bin/env bats
# fpga-remote HOST fpga-infer: output byte-identical (cmp) to the same
# fpga-infer command run here with the same model file, over HTTP and SSH,
# with failover; models named from the server's --models directory, never
# as paths; damaged inputs get the local tool's status and message.

load ../helpers
load helpers

# models/NAME.fbnn and NAME-idx3-ubyte (N images for it) from
# random_fbnn.py's SPEC with SEED: every case's made once, by one python3
# (fbnn_cache in helpers.bash), and copied.
setup_file() {
  fbnn_cache "fixed-conv 7 150" "binary-conv 8 70" "fixed-conv 3 40" "fixed-conv 5 20" "fixed-conv 11 90" \
    "fixed-conv 13 600" "binary-fc-padded 31 6" "fixed-conv 17 400" "fixed-conv 18 2" "fixed-conv 19 5" \
    "binary-fc-padded 23 6" "fixed-conv 29 120" "fixed-conv 37 200" "fixed-conv 5 40"
}
random_model() { # name spec seed n
  mkdir -p models
  random_fbnn "$2" "$3" "models/$1.fbnn" "$1-idx3-ubyte" "$4"
}

# A copy of a model with other class names (comma, quote, backslash, a
# control character, UTF-8), its CRC-32 made right again.
rename_classes() { # in out
  "$PY" - "$1" "$2" <<'EOF'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 24)[0]
pos = 32
for _ in range(n):
    pos += 2 + struct.unpack_from("<H", d, pos)[0]
odd = ['a,b', 'say "hi"', 'back\\slash', 'bell\x07', 'caf\u00e9 \u2603', 'tab\tx']
names = b"".join(struct.pack("<H", len(s.encode())) + s.encode() for s in (odd[i % len(odd)] + str(i) for i in range(n)))
body = d[:32] + names + d[pos:-4]
open(sys.argv[2], "wb").write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))
EOF
}

# Runs the same fpga-infer command here (local model file) and remotely
# (model by name), and compares standard output byte for byte.
same() { # host model-name args...
  local host=$1 name=$2; shift 2
  "$INFER" -q --model "models/$name.fbnn" "$@" > l.out
  "$R" "$host" fpga-infer -q --model "$name" "$@" > r.out
  cmp l.out r.out
}

@test "HTTP: every output format, scores, several files, stdin, -o and --save are byte-identical to local fpga-infer" {
  need_numpy
  random_model conv fixed-conv 7 150
  random_model bin binary-conv 8 70
  rename_classes models/conv.fbnn models/odd.fbnn
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  for m in conv odd; do
    for f in tsv csv jsonl; do
      same "$H" $m -F $f conv-idx3-ubyte
      same "$H" $m -F $f -s conv-idx3-ubyte
    done
  done
  same "$H" bin -s bin-idx3-ubyte
  # Several files and stdin in one run (numbers run on across them), small
  # requests so that many are in flight.
  "$INFER" -q --model models/conv.fbnn -s conv-idx3-ubyte - conv-idx3-ubyte < conv-idx3-ubyte > l.out
  "$R" --jobs 3 "$H" fpga-infer -q --batch 7 --model conv -s conv-idx3-ubyte - conv-idx3-ubyte < conv-idx3-ubyte > r.out
  cmp l.out r.out
  [ "$(wc -l < r.out)" -eq 450 ]
  # A pipe, and raw images with --shape.
  cat conv-idx3-ubyte | "$R" "$H" fpga-infer -q --model conv -F csv | cmp - <("$INFER" -q --model models/conv.fbnn -F csv < conv-idx3-ubyte)
  tail -c +21 conv-idx3-ubyte > conv.raw
  same "$H" conv --shape 9x9x2 -s conv.raw
  # -o: written atomically, refused over an existing file without -f.
  "$INFER" -q --model models/conv.fbnn -o l.tsv conv-idx3-ubyte
  "$R" "$H" fpga-infer -q --model conv -o r.tsv conv-idx3-ubyte
  cmp l.tsv r.tsv
  run "$R" "$H" fpga-infer -q --model conv -o r.tsv conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == *$'r.tsv already exists;\tnot overwritten'* ]]
  "$R" "$H" fpga-infer -q -f --model conv -o r.tsv -F jsonl conv-idx3-ubyte
  "$INFER" -q --model models/conv.fbnn -F jsonl conv-idx3-ubyte | cmp - r.tsv
  # --save beside each input.
  mkdir -p here there
  cp conv-idx3-ubyte here/a-idx3-ubyte; cp conv-idx3-ubyte there/a-idx3-ubyte
  "$INFER" -q --model models/conv.fbnn --save -F csv here/a-idx3-ubyte
  "$R" "$H" fpga-infer -q --model conv --save -F csv there/a-idx3-ubyte
  cmp here/a-idx3-ubyte.csv there/a-idx3-ubyte.csv
}

@test "labels, accuracy and the confusion matrix are the local run's" {
  need_numpy
  random_model conv fixed-conv 3 40
  start_server s1 --models models
  "$PY" -c 'import struct, sys
sys.stdout.buffer.write(struct.pack(">II", 0x801, 40) + bytes(i % 5 for i in range(40)))' > labels-idx1-ubyte
  "$INFER" --model models/conv.fbnn --labels labels-idx1-ubyte --confusion conv-idx3-ubyte > l.out 2> l.err
  "$R" http://127.0.0.1:$PORT fpga-infer --model conv --labels labels-idx1-ubyte --confusion conv-idx3-ubyte > r.out 2> r.err
  cmp l.out r.out
  # The summary's timing differs; the accuracy and the matrix do not.
  sed -n 's/.*\(; top-1 accuracy .*\)/\1/p' l.err > l.acc
  sed -n 's/.*\(; top-1 accuracy .*\)/\1/p' r.err > r.acc
  [ -s l.acc ]
  cmp l.acc r.acc
  tail -n +2 l.err | cmp - <(tail -n +2 r.err)
  grep -q '^confusion matrix' r.err
  [[ "$(head -1 r.err)" == "fpga-remote: 40 images in "*"model conv on http://127.0.0.1:$PORT)"* ]]
}

@test "the server's default model when none is named; --default-model; Fashion-MNIST where installed" {
  need_numpy
  random_model conv fixed-conv 5 20
  # Without --models, the model fpga-infer uses by default on that host.
  start_server s1
  H=http://127.0.0.1:$PORT
  "$PY" -c 'import struct, sys
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, 30, 28, 28) + bytes((i * 7) % 256 for i in range(30 * 784)))' > f-idx3-ubyte
  "$INFER" -q -s f-idx3-ubyte > l.out
  "$R" "$H" fpga-infer -q -s f-idx3-ubyte > r.out
  cmp l.out r.out
  run curl -sf "$H/v1/models"
  [[ "$output" == *'"name":"fashion-cnv"'*'"default":true'* ]]
  start_server s2 --models models --default-model conv
  "$R" http://127.0.0.1:$PORT fpga-infer -q -s conv-idx3-ubyte > r.out
  "$INFER" -q -s --model models/conv.fbnn conv-idx3-ubyte | cmp - r.out
  need_fashion
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | head -c $((16 + 2000 * 784)) |
    "$PY" -c 'import sys, struct; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(struct.pack(">IIII", 0x803, 2000, 28, 28) + d[16:])' > t-idx3-ubyte
  "$INFER" -q -s -F jsonl t-idx3-ubyte > l.out
  "$R" "$H" fpga-infer -q -s -F jsonl t-idx3-ubyte > r.out
  cmp l.out r.out
}

@test "CNV-W1A1 on CIFAR-10 records from ../shared/data, whole and in --record-size ranges" {
  need_data
  mkdir -p models
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o models/cnv.fbnn 2>/dev/null
  for i in 1 2 3 4 5; do cat "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin"; done > t.bin
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  same "$H" cnv -s t.bin
  same "$H" cnv -F csv -s t.bin
  "$R" "$H" fpga-infer -q --model cnv -s "$DATA/images/deer.bin" > r.out
  [ "$(cat r.out)" = "$(printf '0\t4\tDeer\t228\t229\t251\t250\t412\t253\t230\t262\t222\t239')" ]
  # fpga-tools(7)'s recipe, with two servers in hosts.txt.
  command -v parallel >/dev/null || skip "no GNU parallel"
  PA=$PORT
  start_server s2 --models models; PB=$PORT
  printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
  "$INFER" -q --model models/cnv.fbnn t.bin > whole.tsv
  "$FPGA_BIN/fpga-split" --ranges --record-size 3073 -n 4 t.bin |
    parallel -j 4 "$R" --hosts hosts.txt fpga-infer -q --model cnv --save
  "$FPGA_BIN/fpga-cat" --lines t.bin.*.tsv > results.tsv
  cmp results.tsv whole.tsv
}

@test "chunks and ranges of fpga-split keep global image numbers: chunk files, --ranges, --manifest, --start" {
  need_numpy
  random_model conv fixed-conv 11 90
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  "$INFER" -q --model models/conv.fbnn conv-idx3-ubyte > whole.tsv
  # Ranges: their numbers come from where they start in the file.
  "$FPGA_BIN/fpga-split" --idx --ranges -n 4 conv-idx3-ubyte > ranges
  while read -r r; do
    "$INFER" -q --model models/conv.fbnn "$r" > l.out
    "$R" "$H" fpga-infer -q --model conv "$r" > r.out
    cmp l.out r.out
    "$R" "$H" fpga-infer -q --model conv --save "$r"
  done < ranges
  "$FPGA_BIN/fpga-cat" --lines -o joined.tsv conv-idx3-ubyte.*.tsv
  cmp joined.tsv whole.tsv
  rm conv-idx3-ubyte.*.tsv
  # Chunk files know where their data began (fpga-split's attribute).
  "$FPGA_BIN/fpga-split" --idx -n 3 conv-idx3-ubyte > chunks
  while read -r c; do same "$H" conv "$c"; "$R" "$H" fpga-infer -q --model conv --save "$c"; done < chunks
  "$FPGA_BIN/fpga-cat" --lines -o joined2.tsv conv-idx3-ubyte.*.tsv
  cmp joined2.tsv whole.tsv
  rm conv-idx3-ubyte.0*
  # Through GNU parallel and two hosts, as fpga-tools(7) has it.
  if command -v parallel >/dev/null; then
    PA=$PORT
    start_server s2 --models models; PB=$PORT
    printf '2/http://127.0.0.1:%s\n2/http://127.0.0.1:%s\n' "$PA" "$PB" > hosts.txt
    "$FPGA_BIN/fpga-split" --idx --ranges -n 4 conv-idx3-ubyte |
      parallel -j 4 "$R" --hosts hosts.txt fpga-infer -q --model conv --save
    "$FPGA_BIN/fpga-cat" --lines -o joined3.tsv conv-idx3-ubyte.*.tsv
    cmp joined3.tsv whole.tsv
    rm conv-idx3-ubyte.*.tsv
  fi
  # --manifest and --start.
  "$FPGA_BIN/fpga-split" --idx --manifest m -n 3 conv-idx3-ubyte > chunks
  while read -r c; do same "$H" conv --manifest m "$c"; done < chunks
  same "$H" conv --start 1000 conv-idx3-ubyte.001
}

@test "--hosts: the slot picks the host; a server killed mid-run fails over and the output is still identical" {
  need_numpy
  random_model conv fixed-conv 13 600
  mkdir -p ma mb; cp models/conv.fbnn ma/; cp models/conv.fbnn mb/
  start_server a --models ma; PA=$PORT; AP=$SPID; LA=$SLOG
  start_server b --models mb; PB=$PORT; LB=$SLOG
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts
  "$INFER" -q --model models/conv.fbnn -s conv-idx3-ubyte > l.out
  "$R" --slot 2 --hosts hosts fpga-infer -q --model conv -s conv-idx3-ubyte > r.out
  cmp l.out r.out
  grep -q 'POST /v1/infer 200' "$LB"
  ! grep -q 'POST /v1/infer' "$LA"
  # The images come through a FIFO; a is killed after its first answer.
  mkfifo in
  "$R" --jobs 1 --hosts hosts fpga-infer -q --batch 20 --model conv -s -o r2.out < in 2> err &
  cpid=$!
  exec 8> in
  head -c $((20 + 100 * 162)) conv-idx3-ubyte >&8
  for _ in $(seq 200); do grep -q 'POST /v1/infer' "$LA" && break; sleep 0.05; done
  grep -q 'POST /v1/infer' "$LA"
  kill -9 "$AP"; wait "$AP" || true
  tail -c +$((21 + 100 * 162)) conv-idx3-ubyte >&8
  exec 8>&-
  wait "$cpid"
  cmp l.out r2.out
  grep -q 'POST /v1/infer 200' "$LB"
  # Every host down: exit 1 naming each, and no -o file.
  kill "$(sed -n 2p "$BATS_TEST_TMPDIR/servers")"; wait "$(sed -n 2p "$BATS_TEST_TMPDIR/servers")" || true
  run "$R" --hosts hosts fpga-infer -q --model conv -o r3.out conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == *"no host could do the work; tried http://127.0.0.1:$PA ("*"http://127.0.0.1:$PB ("* ]]
  [ ! -e r3.out ]
}

@test "memory stays bounded: 100 MB of images from a stream, client and server RSS far below it" {
  need_numpy
  random_model bin binary-fc-padded 31 6
  start_server s1 --models models
  n=4000000
  { "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">IIII", 0x803, int(sys.argv[1]), 5, 5))' $n
    head -c $((n * 25)) /dev/zero; } |
    /usr/bin/time -f '%M' -o rss "$R" http://127.0.0.1:$PORT fpga-infer -q --model bin | wc -l > count
  [ "$(cat count)" -eq $n ]
  echo "client peak $(tail -1 rss) KiB, server peak $(awk '/^VmHWM/{print $2}' /proc/$SPID/status) KiB"
  [ "$(tail -1 rss)" -lt $((128 * 1024)) ]
  [ "$(awk '/^VmHWM/{print $2}' /proc/$SPID/status)" -lt $((128 * 1024)) ]
}

@test "two hosts with different files under one model name: refused, naming both hosts, never mixed answers" {
  need_numpy
  random_model conv fixed-conv 17 400
  mkdir -p ma mb
  cp models/conv.fbnn ma/
  random_fbnn fixed-conv 18 mb/conv.fbnn /dev/null 2
  start_server a --models ma; PA=$PORT; AP=$SPID; LA=$SLOG
  start_server b --models mb; PB=$PORT
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$PA" "$PB" > hosts
  crc_a=$(curl -sf "http://127.0.0.1:$PA/v1/models?name=conv" | sed 's/.*"crc32":"\([0-9a-f]*\)".*/\1/')
  crc_b=$(curl -sf "http://127.0.0.1:$PB/v1/models?name=conv" | sed 's/.*"crc32":"\([0-9a-f]*\)".*/\1/')
  [ "$crc_a" != "$crc_b" ]
  # Asked directly with a's CRC-32, b answers 409.
  head -c $((162 * 2)) /dev/zero > two
  run curl -s -w ' %{http_code}' -X POST --data-binary @two "http://127.0.0.1:$PB/v1/infer?model=conv&crc=$crc_a"
  [[ "$output" == *'"error":"conflict"'*"\"crc32\":\"$crc_b\""*' 409' ]]
  # Through the client: a answers the first batches, then dies; b has
  # another file under the name.
  mkfifo in
  "$R" --jobs 1 --hosts hosts fpga-infer -q --batch 20 --model conv -o out.tsv < in 2> err &
  cpid=$!
  exec 8> in
  head -c $((20 + 100 * 162)) conv-idx3-ubyte >&8
  for _ in $(seq 200); do grep -q 'POST /v1/infer' "$LA" && break; sleep 0.05; done
  kill -9 "$AP"; wait "$AP" || true
  tail -c +$((21 + 100 * 162)) conv-idx3-ubyte >&8 || true
  exec 8>&-
  rc=0; wait "$cpid" || rc=$?
  cat err
  [ "$rc" -eq 1 ]
  grep -q "model 'conv' differs between hosts: http://127.0.0.1:$PA has CRC-32 $crc_a, http://127.0.0.1:$PB has $crc_b" err
  [ ! -e out.tsv ]
}

@test "model names: paths and hidden names are refused with 400, an absent model is 404; the client says so" {
  need_numpy
  random_model conv fixed-conv 19 5
  echo secret > models/.hidden.fbnn
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  for n in '%2Fetc%2Fpasswd' '..%2Fmodels%2Fconv' '..' '.hidden' 'a%2Fb' 'conv%00' '%00' '-x' 'x..y' 'conv%0A' "$(head -c 200 /dev/zero | tr '\0' a)"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$H/v1/models?name=$n")
    [ "$code" = 400 ] || { echo "models $n: $code"; false; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @conv-idx3-ubyte "$H/v1/infer?model=$n")
    [ "$code" = 400 ] || { echo "infer $n: $code"; false; }
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' "$H/v1/models?name=")
  [ "$code" = 400 ]
  code=$(curl -s -o /dev/null -w '%{http_code}' "$H/v1/models?name=nonesuch")
  [ "$code" = 404 ]
  # The listing has no hidden file; a body that is not whole images is 400.
  run curl -sf "$H/v1/models"
  [[ "$output" != *hidden* ]]
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @conv-idx3-ubyte "$H/v1/infer?model=conv")
  [ "$code" = 400 ]
  tail -c +21 conv-idx3-ubyte > body
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @body "$H/v1/infer?model=conv&scores=1")
  [ "$code" = 200 ]
  # The client: one line naming the host, exit 1, no output file.
  for n in ../models/conv /etc/passwd .hidden; do
    run "$R" "$H" fpga-infer --model "$n" -o out.tsv conv-idx3-ubyte
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "fpga-remote: $H: '$n' is not a model name"* ]]
    [ ! -e out.tsv ]
  done
  run "$R" "$H" fpga-infer --model nonesuch -o out.tsv conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: no model 'nonesuch' on this host (models: fashion-cnv, conv)" ]
  # A damaged model file in the directory: the loader's message, naming it.
  head -c 500 models/conv.fbnn > models/cut.fbnn
  run "$R" "$H" fpga-infer --model cut conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: model cut: corrupt data: model: CRC-32 mismatch (damaged or truncated file)" ]
  # The server stays up.
  curl -sf "$H/v1/health" > /dev/null
}

@test "serve --models: a missing directory and an unknown --default-model are one-line errors" {
  run "$R" serve --listen 127.0.0.1:0 --models nonesuch
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: nonesuch: cannot read the models directory: No such file or directory" ]
  mkdir -p models
  run "$R" serve --listen 127.0.0.1:0 --models models --default-model cnv
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: --default-model: no cnv.fbnn in models" ]
  run "$R" serve --listen 127.0.0.1:0 --default-model cnv
  [ "$status" -eq 1 ]
  [[ "$output" == *"--default-model names a model of --models DIR"* ]]
  # A host without a default model: a client naming none is told so.
  FPGA_MODEL=$PWD/nonesuch.fbnn start_server s1 --models models
  make_text f 1
  run "$R" http://127.0.0.1:$PORT fpga-infer f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: http://127.0.0.1:$PORT: no default model on this host; name one with --model NAME" ]
}

@test "adversarial: truncation at every image boundary and inside records, header flips, wrong sizes: the local tool's status and message" {
  need_numpy
  random_model bin binary-fc-padded 23 6
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  mismatches=0
  # (Messages go to files read with $(<FILE), which forks nothing: a fork
  # of this shell costs about what a run here does.)
  compare() { # what
    local lo ro
    lo=$(<l.msg) ro=$(<r.msg)
    if [ "$ls" != "$rs" ] || [ "${lo#fpga-infer: }" != "${ro#fpga-remote: $H: }" ]; then
      echo "$1: local $ls '$lo' remote $rs '$ro'"; mismatches=$((mismatches + 1))
    fi
    if [ "$ls" = 0 ]; then cmp l.out r.out || mismatches=$((mismatches + 1)); fi
  }
  check() { # file [args...]
    local f=$1 ls rs; shift
    ls=0 rs=0
    "$INFER" -q --model "models/$CM.fbnn" -o l.out "$@" "$f" > l.msg 2>&1 || ls=$?
    "$R" "$H" fpga-infer -q --model "$CM" -o r.out "$@" "$f" > r.msg 2>&1 || rs=$?
    compare "$f $*"
    [ "$ls" = 0 ] || [ ! -e r.out ] || { echo "$f: r.out left"; mismatches=$((mismatches + 1)); }
    rm -f l.out r.out
    # The same bytes as a stream.
    ls=0 rs=0
    "$INFER" -q --model "models/$CM.fbnn" -o l.out "$@" < "$f" > l.msg 2>&1 || ls=$?
    "$R" "$H" fpga-infer -q --model "$CM" -o r.out "$@" < "$f" > r.msg 2>&1 || rs=$?
    compare "stdin $f $*"
    rm -f l.out r.out
  }
  # The damaged inputs, written by one python3 (not a head, cp, od and dd
  # each): bin-idx3-ubyte (a 20-byte header, 6 images of 25 bytes) cut at
  # every image boundary and inside images, one image too many, flips in the
  # header (magic, type, rank, sizes); raw images cut inside a record; a
  # picture too large; CIFAR-10 records for a 32x32x3 model (c32, written
  # here too) cut at every record boundary, one byte either side, and inside
  # the pixels.
  "$PY" - <<'EOF'
import os, random, struct, zlib
d = open("bin-idx3-ubyte", "rb").read()
size = len(d)
cuts = [0, 1, 2, 3, 4, 8, 12, 16, 19, 20] + list(range(21, size + 1, 12)) + list(range(45, size + 1, 25)) + [size - 1]
for i, cut in enumerate(cuts):
    open("t%02d-idx3-ubyte" % i, "wb").write(d[:cut])
open("long-idx3-ubyte", "wb").write(d + bytes(25))
for off in (0, 1, 2, 3, 4, 7, 11, 15, 19):
    b = bytearray(d)
    b[off] ^= 1
    open("flip%02d-idx3-ubyte" % off, "wb").write(b)
open("cut.raw", "wb").write(d[20:90])
open("big.pgm", "wb").write(b"P5 40 40 255\n" + bytes(1600))
open("junk", "wb").write(os.urandom(100))
r = random.Random(5)
blob = bytearray(b"FBNN" + struct.pack("<7I", 1, 32, 32, 3, 0, 4, 1))
for c in ("plane", "car", "bird", "cat"):
    blob += struct.pack("<H", len(c)) + c.encode()
blob += struct.pack("<4I", 3, 3072, 4, 0) + bytes(r.getrandbits(8) for _ in range(4 * 384))
open("models/c32.fbnn", "wb").write(blob + struct.pack("<I", zlib.crc32(bytes(blob)) & 0xFFFFFFFF))
c = os.urandom(3 * 3073)
for cut in (0, 1, 1025, 3072, 3073, 3074, 6145, 6146, 6147, 9218):
    open("c%04d.bin" % cut, "wb").write(c[:cut])
EOF
  CM=bin
  local f n=0
  for f in t??-idx3-ubyte long-idx3-ubyte flip??-idx3-ubyte; do check "$f"; n=$((n + 1)); done
  # A shape the model cannot take, a format nobody can tell.
  check cut.raw --shape 5x5x1
  check cut.raw --shape 6x6x1
  check big.pgm
  check junk
  check bin-idx3-ubyte --input-format cifar
  CM=c32
  for f in c????.bin; do check "$f"; n=$((n + 1)); done
  echo "$n damaged inputs"
  [ "$n" -eq 50 ]
  [ "$mismatches" -eq 0 ]
  curl -sf "$H/v1/health" > /dev/null
}

@test "usage: options that are the server's, model files, and sub-commands are refused before any work" {
  run "$R" http://127.0.0.1:1 fpga-infer --device cpu x
  [ "$status" -eq 1 ]
  [[ "$output" == *"server's choice"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --xclbin a.xclbin x
  [[ "$output" == *"server's choice"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --list-devices
  [[ "$output" == *"GET /v1/devices"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --info
  [[ "$output" == *"GET /v1/models"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --model - x
  [[ "$output" == *"not a file here"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer import-bnn-pynq dir -o x.fbnn
  [[ "$output" == *"run it here"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --bogus
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: "*"--bogus"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --save -o x y
  [[ "$output" == *"--save and --output exclude each other"* ]]
  run "$R" http://127.0.0.1:1 fpga-infer --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-infer"* ]]
}

@test "SSH: byte-identical through a real sshd, the remote account's FPGA_REMOTE_MODELS naming its models" {
  need_numpy
  start_sshd
  random_model conv fixed-conv 29 120
  export FPGA_REMOTE_COMMAND="env FPGA_REMOTE_MODELS=$PWD/models $R"
  same testhost conv -s conv-idx3-ubyte
  same ssh://testhost conv -F jsonl conv-idx3-ubyte
  "$R" --jobs 2 testhost fpga-infer -q --batch 16 --model conv -F csv -s < conv-idx3-ubyte > r.out
  "$INFER" -q --model models/conv.fbnn -F csv -s < conv-idx3-ubyte | cmp - r.out
  run "$R" testhost fpga-infer --model nonesuch conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: testhost: no model 'nonesuch' on this host"* ]]
  # SSH first, HTTP after it: a refused login fails over.
  start_server s1 --models models
  printf 'ssh://nobody@testhost\nhttp://127.0.0.1:%s\n' "$PORT" > hosts
  "$R" --hosts hosts fpga-infer -q --model conv -s conv-idx3-ubyte | cmp - <("$INFER" -q --model models/conv.fbnn -s conv-idx3-ubyte)
}

@test "serve --device csim:0: classes through the FINN driver equal the local run's; scores need a CPU slot" {
  need_numpy
  random_model conv fixed-conv 37 200
  start_server s1 --models models --device csim:0
  H=http://127.0.0.1:$PORT
  same "$H" conv -F jsonl conv-idx3-ubyte
  grep -q 'POST /v1/infer 200 .* csim:0$' "$SLOG"
  # Scores: only the CPU engine has them, and this server has no CPU slot.
  run "$R" "$H" fpga-infer -q -s --model conv conv-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: $H: "*"runs 'bnn'"* ]]
  # With the CPU in the list, scores go to it and classes may go to csim.
  start_server s2 --models models --device csim:0,cpu
  same "http://127.0.0.1:$PORT" conv -s conv-idx3-ubyte
  grep -q 'POST /v1/infer 200 .* cpu$' "$SLOG"
  same "http://127.0.0.1:$PORT" conv conv-idx3-ubyte
}

@test "a labels file shorter than the images: both tools warn, name it, and count only the labelled images" {
  need_numpy
  random_model conv fixed-conv 3 40
  start_server s1 --models models
  "$PY" -c 'import struct, sys
sys.stdout.buffer.write(struct.pack(">II", 0x801, 30) + bytes(i % 5 for i in range(30)))' > short-idx1-ubyte
  "$INFER" --model models/conv.fbnn --labels short-idx1-ubyte conv-idx3-ubyte > l.out 2> l.err
  "$R" http://127.0.0.1:$PORT fpga-infer --model conv --labels short-idx1-ubyte conv-idx3-ubyte > r.out 2> r.err
  cmp l.out r.out
  [ "$(wc -l < l.out)" -eq 40 ]
  for e in l.err r.err; do
    grep -q '; top-1 accuracy .* of 30)$' "$e"
    [ "$(sed -n 2p "$e" | cut -d' ' -f2-)" = "warning: short-idx1-ubyte: 30 labels, but 10 images are numbered past them; left out of the accuracy" ]
  done
  # Labels for every image (a chunk's labels are the whole file's): no warning.
  "$INFER" --model models/conv.fbnn --labels short-idx1-ubyte "conv-idx3-ubyte@000/2:20+$((30 * 162))" > /dev/null 2> c.err
  [ "$(wc -l < c.err)" -eq 1 ]
  # -q: nothing.
  "$INFER" -q --model models/conv.fbnn --labels short-idx1-ubyte conv-idx3-ubyte > /dev/null 2> q.err
  [ ! -s q.err ]
}

@test "gzipped IDX images (as the datasets ship) and a gzip stream: the local run's lines; a range of a gzip file refused with the local tool's message (issue 21)" {
  need_numpy
  random_model conv fixed-conv 5 40
  start_server s1 --models models
  H=http://127.0.0.1:$PORT
  gzip -c conv-idx3-ubyte > conv-idx3-ubyte.gz
  "$INFER" -q --model models/conv.fbnn -s conv-idx3-ubyte > plain.out
  "$R" "$H" fpga-infer -q --model conv -s conv-idx3-ubyte.gz > r.out
  cmp plain.out r.out
  "$R" "$H" fpga-infer -q --model conv -s - < conv-idx3-ubyte.gz > r.out
  cmp plain.out r.out
  run "$R" "$H" fpga-infer -q --model conv "conv-idx3-ubyte.gz@001/2:0+100"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"conv-idx3-ubyte.gz@001/2:0+100: a byte range of a gzip file cannot be read: its offsets count compressed bytes"* ]]
  # --confusion without labels: the local tool's warning, exit 0.
  "$R" "$H" fpga-infer --model conv --confusion conv-idx3-ubyte.gz > r.out 2> r.err
  grep -qx "fpga-remote: warning: --confusion: no image had a label (IDX, PNM and raw images take theirs from --labels FILE); no confusion matrix" r.err
}
