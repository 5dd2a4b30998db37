#!/usr/bin/env bats
# What the fpga-remote client checks in a compress answer before it writes
# it (issue 20, item 3): not only that the members are well formed with the
# chunk's sizes and CRC-32s, but that they inflate to the chunk. A proxy
# (tests/cli/fixtures/hostile_server.py compress-redeflate) re-deflates one
# changed byte of a member, fits the FT size to it, keeps the trailer (the
# chunk's CRC-32 and size) and sends a right body-crc: the old client wrote
# that answer, exit 0, and removed the input; `gzip -t` failed on the .gz.

load ../helpers
load helpers

# Nothing but the inputs is left: no output, no temporary file.
only_inputs() { # expected names, sorted
  [ "$(ls -A | tr '\n' ' ')" = "$* " ] || { ls -la; return 1; }
}

@test "the lying proxy's answer is what the issue describes: right sizes, trailer and body-crc, other data" {
  make_text chunk 64
  start_server up --device cpu
  start_hostile compress-redeflate "$PORT"
  curl -sf -D h -o lie.gz --data-binary @chunk "http://127.0.0.1:$HPORT/v1/gzip/compress?level=6&block=65536&end=1"
  curl -sf -o honest.gz --data-binary @chunk "http://127.0.0.1:$PORT/v1/gzip/compress?level=6&block=65536&end=1"
  ! cmp -s lie.gz honest.gz
  gzip -t honest.gz
  # The body-crc is the lie's own, the trailer's CRC-32 and size the chunk's.
  "$PY" - lie.gz honest.gz h <<'PY'
import re, sys, zlib
lie, honest, head = (open(p, "rb").read() for p in sys.argv[1:4])
crc = int(re.search(rb"body-crc=(\d+)", head).group(1))
assert crc == zlib.crc32(lie), "body-crc"
size = int.from_bytes(lie[18:22], "little")
first = int.from_bytes(honest[18:22], "little")
assert lie[size - 8:size] == honest[first - 8:first], "trailer kept"
assert int.from_bytes(lie[22:26], "little") == int.from_bytes(honest[22:26], "little"), "FT size kept"
PY
  run gzip -t lie.gz
  [ "$status" -ne 0 ]
  [[ "$output" == *"crc error"* ]]
}

@test "a compress answer that inflates to other data is refused: exit 1 naming the host, input kept, nothing written" {
  make_text data.txt 600
  cp data.txt ../orig
  start_server up --device cpu
  start_hostile compress-redeflate "$PORT"
  run "$R" --chunk 128K "http://127.0.0.1:$HPORT" fpga-gzip -b 64K data.txt
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: http://127.0.0.1:$HPORT: data.txt: answer from http://127.0.0.1:$HPORT is not what was asked for (a member does not inflate to the data sent)" ]
  only_inputs data.txt
  cmp data.txt ../orig
  # To standard output: nothing (the first answer is the lie); -k alike.
  run "$R" --chunk 128K "http://127.0.0.1:$HPORT" fpga-gzip -c data.txt
  [ "$status" -eq 1 ]
  "$R" --chunk 128K "http://127.0.0.1:$HPORT" fpga-gzip -c data.txt > ../out 2>/dev/null || true
  [ ! -s ../out ]
  run "$R" --chunk 128K "http://127.0.0.1:$HPORT" fpga-gzip -k data.txt
  [ "$status" -eq 1 ]
  only_inputs data.txt
  # A lie is the run's error, as the other lies: not sent to the next host.
  run "$R" --chunk 128K --hosts <(printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$HPORT" "$PORT") fpga-gzip data.txt
  [ "$status" -eq 1 ]
  [[ "$output" == *"answer from http://127.0.0.1:$HPORT is not what was asked for ("* ]]
  only_inputs data.txt
}

@test "the honest proxy and the server alone: the same bytes as a local run, the input replaced" {
  make_text data.txt 600
  "$GZ" -b 64K -c data.txt > ../local.gz
  start_server up --device cpu
  start_hostile honest "$PORT"
  "$R" --chunk 128K "http://127.0.0.1:$HPORT" fpga-gzip -b 64K data.txt
  only_inputs data.txt.gz
  cmp data.txt.gz ../local.gz
  # Level 0 (stored blocks) and an empty file pass the check too.
  make_text z 200
  "$GZ" -0 -b 64K -c z > ../z0.gz
  "$R" --chunk 128K "http://127.0.0.1:$PORT" fpga-gzip -0 -b 64K z
  cmp z.gz ../z0.gz
  : > empty
  "$R" "http://127.0.0.1:$PORT" fpga-gzip empty
  [ "$(gzip -dc empty.gz | wc -c)" -eq 0 ]
}
