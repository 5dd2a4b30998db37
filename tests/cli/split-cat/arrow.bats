#!/usr/bin/env bats
# Arrow IPC chunks: fpga-split --arrow cuts streams and files into streams
# (or files) of whole record batches, fpga-cat joins them back byte for byte
# and refuses damaged, truncated, missing and foreign parts. Tables come from
# make_arrow (tests/arrow: our own writer); the suite of the apache-arrow
# reader checks the same chunks against a real implementation.

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split
GZIP=$FPGA_BIN/fpga-gzip
MAKE_ARROW=$FPGA_BUILD_DIR/tests/make_arrow

@test "-n N: N streams of whole batches; fpga-cat joins them byte for byte" {
  "$MAKE_ARROW" --batches 10 --rows 100 --delta --replace > t.arrows
  run "$SPLIT" --arrow -n 4 t.arrows
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 't.arrows.000\nt.arrows.001\nt.arrows.002\nt.arrows.003')" ]
  "$CAT" t.arrows.00? > back
  cmp t.arrows back
  # Each chunk alone is a stream fpga-cat reads (its dictionaries with it).
  for c in t.arrows.00?; do "$CAT" --as-given "$c" > one; cmp "$c" one; done
}

@test "an Arrow file is found by its magic; --arrow-file chunks join into a file" {
  "$MAKE_ARROW" --batches 6 --rows 50 --dict --file > t.arrow
  run "$SPLIT" -n 3 t.arrow
  [ "$status" -eq 0 ]
  [ "$(head -c 6 t.arrow.000)" != "ARROW1" ]  # streams by default
  "$CAT" t.arrow.00? > s.arrows
  [ "$(head -c 6 s.arrows)" != "ARROW1" ]
  rm t.arrow.00?
  "$SPLIT" --arrow-file -n 3 t.arrow
  [ "$(head -c 6 t.arrow.001)" = "ARROW1" ]
  "$CAT" t.arrow.00? > f.arrow
  [ "$(head -c 6 f.arrow)" = "ARROW1" ]
  [ "$(tail -c 6 f.arrow)" = "ARROW1" ]
  # Split again and joined: the same file, byte for byte.
  mkdir again
  "$SPLIT" --arrow-file -n 2 --directory again f.arrow
  "$CAT" again/f.arrow.00? > g.arrow
  cmp f.arrow g.arrow
  "$CAT" --arrow-stream again/f.arrow.00? > g.arrows
  cmp s.arrows g.arrows
}

@test "-l counts rows, -b caps bytes; a batch larger than the cap is a chunk alone" {
  "$MAKE_ARROW" --batches 5 --rows 100 > t.arrows
  run "$SPLIT" --arrow -l 250 t.arrows
  [ "${#lines[@]}" -eq 3 ]  # 2 + 2 + 1 batches of 100 rows
  "$CAT" t.arrows.00? | cmp - t.arrows
  rm t.arrows.00?
  # Each batch is 800 bytes of body: a 100-byte cap puts each alone.
  run "$SPLIT" --arrow -b 100 t.arrows
  [ "${#lines[@]}" -eq 5 ]
  "$CAT" t.arrows.00? | cmp - t.arrows
}

@test "a stream on standard input is cut as it is read; the last chunk knows the count" {
  "$MAKE_ARROW" --batches 7 --rows 10 --delta > t.arrows
  # Through a pipe: a stream (a redirected file is split as a file).
  run "$SPLIT" --arrow -l 20 - part < <(cat t.arrows)
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4 ]
  "$CAT" part.00? | cmp - t.arrows
  # A missing last part is found: only the last chunk says how many.
  run "$CAT" part.000 part.001 part.002
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing the last part"* ]]
  # -n on a stream reads it to its end first.
  rm part.00?
  "$MAKE_ARROW" --batches 7 --rows 10 | "$SPLIT" --arrow -n 3 - p
  [ -f p.002 ]
  # An Arrow file through a pipe cannot be cut as read (its footer comes
  # last): one line that says so; with -n it is read to its end first, and
  # a file whose schema is in its footer alone (as apache-arrow writes) too.
  "$MAKE_ARROW" --batches 7 --rows 10 --file > t.arrow
  run "$SPLIT" --arrow -l 20 - f < <(cat t.arrow)
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-split: -: "*"an Arrow IPC file (ARROW1), not a stream"* ]]
  [ ! -e f.000 ]
  "$MAKE_ARROW" --batches 7 --rows 10 --footer-only > fo.arrow
  "$SPLIT" --arrow -n 3 - fo < <(cat fo.arrow)
  one=$("$SPLIT" -n 1 fo.arrow one)
  "$CAT" fo.00? | cmp - "$one"
}

@test "a missing middle part, differing schemas and non-Arrow parts are refused" {
  "$MAKE_ARROW" --batches 6 --rows 10 > t.arrows
  "$SPLIT" --arrow -n 3 t.arrows
  run "$CAT" t.arrows.000 t.arrows.002
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 1 of 3"* ]]
  "$MAKE_ARROW" --batches 6 --rows 10 --name y > u.arrows
  "$SPLIT" --arrow -n 3 u.arrows
  run "$CAT" --as-given t.arrows.000 u.arrows.001 t.arrows.002
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-cat: u.arrows.001: corrupt data: its schema differs from that of 't.arrows.000'" ]
  echo text > x.001
  run "$CAT" --as-given t.arrows.000 x.001
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: x.001: corrupt data: not Arrow IPC data, but other parts are"* ]]
  [ ! -e out ]
  # Plain parts that start as a continuation marker does are plain data.
  printf '\377\377\377\377plain' > b.000
  printf 'more' > b.001
  run "$CAT" -q b.000 b.001
  [ "$status" -eq 2 ]
  [ "$output" = "$(printf '\377\377\377\377plainmore')" ]
}

@test "truncated and damaged chunks are refused with one line naming the chunk; nothing is written" {
  "$MAKE_ARROW" --batches 4 --rows 100 --dict > t.arrows
  "$SPLIT" --arrow -n 2 t.arrows
  size=$(stat -c %s t.arrows.001)
  # Cut inside a body, inside the metadata, and before the marker's end.
  for keep in $((size - 100)) 20 $((size - 3)); do
    cp t.arrows.001 cut.001
    truncate -s "$keep" cut.001
    run "$CAT" --as-given -o out t.arrows.000 cut.001
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "fpga-cat: cut.001: corrupt data at offset "* ]]
    [ ! -e out ]
  done
  # A body length past the end: the last record batch's message says 2^40.
  cp t.arrows.001 bad.001
  printf 'bad' | dd of=bad.001 bs=1 seek=40 conv=notrunc status=none
  run "$CAT" --as-given -o out t.arrows.000 bad.001
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-cat: bad.001: corrupt data at offset "* ]]
  [ ! -e out ]
}

@test "split: a damaged input leaves no chunk; existing chunks are not overwritten without -f" {
  "$MAKE_ARROW" --batches 4 --rows 100 > t.arrows
  cp t.arrows d.arrows
  truncate -s -20 d.arrows
  run "$SPLIT" --arrow -n 2 d.arrows
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: d.arrows: corrupt data at offset "*"runs past the end of the data"* ]]
  [ -z "$(ls d.arrows.* 2>/dev/null)" ]
  "$SPLIT" --arrow -n 2 t.arrows
  echo keep > t.arrows.001
  run "$SPLIT" --arrow -n 2 t.arrows
  [ "$status" -eq 1 ]
  [[ "$output" == *"t.arrows.000"*"already exists"* ]]
  [ "$(cat t.arrows.001)" = keep ]
  "$SPLIT" -f --arrow -n 2 t.arrows
  "$CAT" t.arrows.00? | cmp - t.arrows
  # A stream cut short: the complete chunks stay, the message says so.
  head -c 2000 t.arrows | { run "$SPLIT" --arrow -l 100 - s; [ "$status" -eq 1 ]; [[ "$output" == *"kept the"* ]]; }
}

@test "options that cut lines or records are refused for Arrow" {
  "$MAKE_ARROW" > t.arrow_s
  for opt in "-C 1K" "-n l/2" "-n r/2" "--record-size 8 -n 2" "--idx -n 2" "-t x -n 2"; do
    run "$SPLIT" --arrow $opt t.arrow_s
    [ "$status" -eq 1 ]
    [[ "$output" == "fpga-split: --arrow: "* ]]
  done
  run "$SPLIT" --arrow t.arrow_s
  [[ "$output" == *"give -n CHUNKS, -l ROWS or -b SIZE"* ]]
  "$MAKE_ARROW" --file > t.arrow
  run "$SPLIT" -C 1K t.arrow
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: t.arrow: an Arrow IPC file (it starts with ARROW1): "* ]]
  run "$SPLIT" --arrow-file -n 2 /dev/null
  [ "$status" -eq 1 ]
}

@test "--ranges: message ranges of the file, joined with its schema; --manifest; -n K/N" {
  "$MAKE_ARROW" --batches 6 --rows 100 --delta > t.arrows
  run "$SPLIT" --arrow --ranges --manifest t.m -n 3 t.arrows
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "t.arrows@000/3:"* ]]
  [ -z "$(ls t.arrows.0* 2>/dev/null)" ]
  "$CAT" "${lines[@]}" | cmp - t.arrows
  "$CAT" --manifest t.m "${lines[@]}" | cmp - t.arrows
  # -n K/N: chunk K alone on standard output, a stream by itself.
  "$SPLIT" --arrow -n 2/3 t.arrows > two
  "$SPLIT" --arrow -n 3 t.arrows
  cmp two t.arrows.001
  # The manifest of chunk files: sizes the join checks.
  "$SPLIT" -f --arrow --manifest c.m -n 3 t.arrows
  "$CAT" --manifest c.m -S '' | cmp - t.arrows
  truncate -s -8 t.arrows.002
  run "$CAT" --manifest c.m -S ''
  [ "$status" -eq 1 ]
  [[ "$output" == *"t.arrows.002"*"in the manifest has"* ]]
}

@test "pre-0.15 streams and streams without the end marker round-trip" {
  "$MAKE_ARROW" --batches 5 --rows 10 --legacy --dict > old.arrows
  "$SPLIT" --arrow -n 3 old.arrows
  "$CAT" old.arrows.00? | cmp - old.arrows
  "$MAKE_ARROW" --batches 5 --rows 10 --no-eos > open.arrows
  "$SPLIT" --arrow -l 20 open.arrows
  "$CAT" open.arrows.00? | cmp - open.arrows
  cat open.arrows | "$SPLIT" --arrow -l 20 - in
  "$CAT" in.00? | cmp - open.arrows
}

@test "fpga-tools(7) recipe: fpga-split --arrow -n 8 | parallel -j 4 fpga-gzip, and back" {
  command -v parallel >/dev/null || skip "GNU parallel is not installed"
  "$MAKE_ARROW" --batches 20 --rows 1000 --dict > t.arrow
  PATH=$FPGA_BIN:$PATH
  fpga-split --arrow -n 8 --manifest t.m t.arrow | parallel -j 4 fpga-gzip
  [ -f t.arrow.007.gz ]
  parallel -j 4 fpga-gzip -d ::: t.arrow.*.gz
  fpga-cat --manifest t.m -S '' > t2.arrow
  cmp t.arrow t2.arrow
}

@test "--filter gets each chunk stream and its part; -e leaves out chunks without a batch; a table of 0 rows" {
  "$MAKE_ARROW" --batches 5 --rows 10 --dict > t.arrows
  run "$SPLIT" --arrow -n 3 --filter 'cat > $FILE.f; echo "$FPGA_PART"' t.arrows
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '0/3 192\n1/3 704\n2/3 1328')" ]
  "$CAT" --as-given t.arrows.00?.f | cmp - t.arrows
  run "$SPLIT" --arrow -e -n 9 t.arrows
  [ "${#lines[@]}" -eq 5 ]
  "$CAT" t.arrows.00? | cmp - t.arrows
  "$MAKE_ARROW" --batches 0 > z.arrows
  "$SPLIT" --arrow -n 3 z.arrows
  "$CAT" z.arrows.00? | cmp - z.arrows
}

@test "--manifest of a stream split as it is read: fpga-cat joins by it" {
  "$MAKE_ARROW" --batches 5 --rows 10 --dict > t.arrows
  cat t.arrows | "$SPLIT" --arrow -l 20 --manifest m - p
  [ "$(sed -n 2p m)" = "$(printf 'input\t%s\t-' "$(stat -c %s t.arrows)")" ]
  "$CAT" --manifest m -S '' | cmp - t.arrows
}
