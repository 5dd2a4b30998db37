#!/usr/bin/env bats
# fpga-split --arrow and fpga-cat against a real Arrow implementation: tables
# written by apache-arrow (npm, the reference JavaScript implementation,
# pinned in tests/arrow/package-lock.json, installed outside the tree by
# scripts/install-deps.sh), split and joined by our tools, and every chunk
# and every join read back by apache-arrow and compared value for value
# (tests/arrow/check.mjs). The tables (tests/arrow/tables.mjs):
#   types         every column type, nulls in every column, delta dictionaries,
#                 empty batches, 14 batches of 0 to 800 rows
#   replace       replacement dictionaries (streams only: files forbid them)
#   many          240 batches of 0 to 12 rows and three of 3,000
#   norows        0 rows: the schema alone
#   emptybatches  0 rows in three empty batches (with their dictionaries)
# each as TABLE.stream (IPC stream), TABLE.legacy (the stream format before
# Arrow 0.15: no continuation marker) and TABLE.arrow (IPC file). apache-arrow
# writes a file's schema only in its footer: a reader of TABLE.arrow gets the
# schema and the batches from the footer alone (the footer-only file).

load ../helpers
bats_require_minimum_version 1.5.0

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split
ARROW_JS=${FPGA_ARROW_JS:-/var/cache/fpga-tools/arrow-js}
JS=$BATS_FILE_TMPDIR/js
T=$BATS_FILE_TMPDIR/tables

# The tables, written once for the suite by apache-arrow; one node for the
# suite's checks (tests/arrow/serve.mjs: node and apache-arrow take some
# 0.45 s of CPU to start, 20 starts were a quarter of the suite's CPU time),
# stopped by teardown_file (timeout(1) ends it should that never run).
setup_file() {
  command -v node >/dev/null && [ -d "$ARROW_JS/node_modules/apache-arrow" ] || return 0
  mkdir -p "$JS" "$T"
  # ES modules find apache-arrow in a node_modules beside them.
  cp "$FPGA_SOURCE_DIR"/tests/arrow/*.mjs "$JS/"
  ln -s "$ARROW_JS/node_modules" "$JS/node_modules"
  node "$JS/write.mjs" "$T"
  mkfifo "$JS/in" "$JS/out"
  timeout 900 node "$JS/serve.mjs" "$JS/in" "$JS/out" < /dev/null > "$JS/serve.log" 2>&1 3>&- &
  echo $! > "$JS/serve.pid"
}
teardown_file() {
  [ -f "$JS/serve.pid" ] && kill "$(cat "$JS/serve.pid")" 2>/dev/null
  true
}

# js SCRIPT ARG...: tests/arrow's check.mjs or frames.mjs with these
# arguments, run by the suite's node (serve.mjs) in this directory; the exit
# status and output in $status, $output and $lines, as `run` sets them.
js() {
  local reply
  if ! kill -0 "$(cat "$JS/serve.pid")" 2>/dev/null; then
    status=1 output="serve.mjs is not running: $(cat "$JS/serve.log")"
  elif ! timeout 300 bash -c 'printf "%s\0" "$@" > "$0"' "$JS/in" "$PWD" "$@" ||
       ! reply=$(timeout 300 cat "$JS/out"); then
    status=1 output="serve.mjs did not answer $*"
  else
    status=${reply%%$'\n'*}
    output=${reply#*$'\n'}
  fi
  mapfile -t lines <<< "$output"
}
# frames FILE: frames.mjs's lines (where apache-arrow finds each message).
frames() {
  js frames.mjs "$1"
  [ "$status" -eq 0 ] || { echo "frames $1: $output" >&2; return 1; }
  printf '%s\n' "$output"
}

setup() {
  wanted=()
  command -v node >/dev/null || skip "node is missing (scripts/install-deps.sh installs nodejs)"
  [ -d "$ARROW_JS/node_modules/apache-arrow" ] ||
    skip "apache-arrow is absent from $ARROW_JS (scripts/install-deps.sh installs it)"
  [ -f "$T/types.expect.json" ] || { echo "write.mjs did not write the tables"; return 1; }
  # Hundreds of chunk files a case: on tmpfs.
  cd "$BATS_TEST_TMPDIR" && cd_tmpfs
}

# check TABLE GROUP [+ GROUP...]: apache-arrow reads the files and compares
# them with the table (tests/arrow/check.mjs).
check() {
  local table=$1
  shift
  js check.mjs "$T/$table" "$@"
  [ "$status" -eq 0 ] || { echo "check $table $*"; echo "$output"; return 1; }
}

# want TABLE GROUP...: a check to make later, with the case's others, in one
# request (check_wanted).
want() {
  local table=$1
  shift
  wanted+=("table=$T/$table" "$@" +)
}
check_wanted() {
  js check.mjs "${wanted[@]}"
  [ "$status" -eq 0 ] || { echo "check ${wanted[*]}"; echo "$output"; return 1; }
}

# joined TABLE INPUT JOIN: the join is the input byte for byte, but for
# the table of replacement dictionaries, whose joins are read back instead
# (their byte identity is a case of its own).
joined() {
  if [ "$1" = replace ]; then
    want replace @stream "$3"
  else
    cmp "$2" "$3"
  fi
}

# split_to NAME OPTION... INPUT: fpga-split into the folder NAME, the chunk
# names (printed one a line) in the array chunks.
split_to() {
  local dir=$1
  shift
  mkdir -p "$dir"
  run --separate-stderr "$SPLIT" "$@" "$dir/c"
  [ "$status" -eq 0 ] || { echo "fpga-split $* $dir/c: status $status: $stderr"; return 1; }
  mapfile -t chunks <<< "$output"
  [ -n "${chunks[0]}" ] || { echo "fpga-split $*: no chunk"; return 1; }
}

# join_to OUT PART...: fpga-cat the parts into OUT.
join_to() {
  local out=$1
  shift
  run "$CAT" -o "$out" "$@"
  [ "$status" -eq 0 ] || { echo "fpga-cat -o $out $*: status $status: $output"; return 1; }
}

@test "the checker: apache-arrow reads its own tables back equal, and a changed value or a missing batch is found" {
  local table
  for table in types many norows emptybatches; do
    want $table @stream "$T/$table.stream" + "$T/$table.legacy" + @file "$T/$table.arrow"
  done
  want replace @stream "$T/replace.stream" + "$T/replace.legacy"
  check_wanted
  # The last byte of the first big record batch's body (a value's, not a
  # length's: apache-arrow's last buffer of the batch is the last column's).
  local off prefix meta body kind
  read -r off prefix meta body kind < <(frames "$T/types.stream" | awk '$5 == "RecordBatch" && $4 > 100000' | head -1)
  cp "$T/types.stream" changed
  printf '\x55' | dd of=changed bs=1 seek=$((off + prefix + meta + 8)) conv=notrunc status=none
  js check.mjs "$T/types" changed
  [ "$status" -eq 1 ]
  [[ "$output" == "check.mjs: changed: batch 8 row "*", want "* ]]
  head -c "$off" "$T/types.stream" > cut
  js check.mjs "$T/types" cut
  [ "$status" -eq 1 ]
  [[ "$output" == "check.mjs: cut: 325 rows, want 1577 (table rows 0 to 1577)" ]]
}

@test "streams: -n 1, 3 and more chunks than batches; each chunk a valid table, the chunks the table, the join byte for byte the input" {
  local table n groups
  for table in types replace many emptybatches norows; do
    groups=()
    for n in 1 3 17; do
      split_to n$n-$table --arrow -n $n "$T/$table.stream"
      [ "${#chunks[@]}" -eq $n ] || { echo "$table -n $n: ${#chunks[@]} chunks"; false; }
      join_to n$n-$table.join "${chunks[@]}"
      joined $table "$T/$table.stream" n$n-$table.join
      groups+=(@stream "${chunks[@]}" +)
    done
    want $table "${groups[@]}"
  done
  check_wanted
}

@test "streams: -l ROWS puts whole batches of at most ROWS rows in a chunk (a bigger batch alone); -b SIZE in whole batches" {
  local table rows groups
  for table in types replace many emptybatches; do
    groups=()
    # -l 1 on many would make some 220 chunks: 1 on the others.
    for rows in $([ $table = many ] || echo 1) 100 2000; do
      split_to l$rows-$table --arrow -l $rows "$T/$table.stream"
      join_to l$rows-$table.join "${chunks[@]}"
      joined $table "$T/$table.stream" l$rows-$table.join
      groups+=(@stream max-rows=$rows "${chunks[@]}" +)
    done
    split_to b-$table --arrow -b 20K "$T/$table.stream"
    join_to b-$table.join "${chunks[@]}"
    joined $table "$T/$table.stream" b-$table.join
    want $table "${groups[@]}" @stream max-bytes=20480 "${chunks[@]}"
  done
  check_wanted
}

@test "streams on standard input: -l, -b and -n cut as read, each chunk a valid table" {
  local table
  for table in types replace many; do
    split_to in-l-$table --arrow -l 500 - < "$T/$table.stream"
    join_to in-l-$table.join "${chunks[@]}"
    joined $table "$T/$table.stream" in-l-$table.join
    local l=("${chunks[@]}")
    split_to in-b-$table --arrow -b 64K - < "$T/$table.stream"
    local b=("${chunks[@]}")
    split_to in-n-$table --arrow -n 4 - < "$T/$table.stream"
    [ "${#chunks[@]}" -eq 4 ]
    join_to in-n-$table.join "${chunks[@]}"
    joined $table "$T/$table.stream" in-n-$table.join
    want $table @stream max-rows=500 "${l[@]}" + @stream max-bytes=65536 "${b[@]}" + "${chunks[@]}"
  done
  check_wanted
}

@test "replacement dictionaries: the joins of -n 3, -n 17, -l 1, -b and standard input -n 4 chunks are the stream byte for byte" {
  split_to n3 --arrow -n 3 "$T/replace.stream"
  join_to n3.join "${chunks[@]}"
  cmp "$T/replace.stream" n3.join
  split_to n17 --arrow -n 17 "$T/replace.stream"
  join_to n17.join "${chunks[@]}"
  cmp "$T/replace.stream" n17.join
  split_to l1 --arrow -l 1 "$T/replace.stream"
  join_to l1.join "${chunks[@]}"
  cmp "$T/replace.stream" l1.join
  split_to b --arrow -b 300 "$T/replace.stream"
  join_to b.join "${chunks[@]}"
  cmp "$T/replace.stream" b.join
  split_to in --arrow -n 4 - < "$T/replace.stream"
  join_to in.join "${chunks[@]}"
  cmp "$T/replace.stream" in.join
}

# files_test NAME INPUT: split the file INPUT to streams and to files, each
# chunk and each join read back; the join of the file chunks is INPUT byte
# for byte when INPUT has a schema message (a file written in one piece by
# fpga-split or fpga-cat), else (apache-arrow's footer-only files, whose
# footer is another writer's) the file fpga-split --arrow-file -n 1 makes of
# INPUT byte for byte, and INPUT value for value.
files_test() {
  local table=$1 input=$2
  # The ARROW1 magic: no --arrow needed.
  split_to s-$table -n 3 "$input"
  [ "${#chunks[@]}" -eq 3 ]
  join_to s-$table.join "${chunks[@]}"
  local s=("${chunks[@]}")
  split_to f-$table --arrow-file -n 3 "$input"
  join_to f-$table.join "${chunks[@]}"
  local f=("${chunks[@]}")
  split_to l-$table --arrow --arrow-file -l 700 "$input"
  want $table @stream "${s[@]}" + s-$table.join + @file "${f[@]}" + f-$table.join + max-rows=700 "${chunks[@]}"
  if [[ $input == "$T"/* ]]; then
    split_to one-$table --arrow-file -n 1 "$input"
    cmp "${chunks[0]}" f-$table.join
  else
    cmp "$input" f-$table.join
  fi
}

@test "files written by apache-arrow (footer-only: the schema in the footer alone): split to streams and files, and as --ranges, joined back" {
  local table
  for table in types many emptybatches norows; do
    files_test $table "$T/$table.arrow"
  done
  run "$SPLIT" --ranges -n 4 "$T/many.arrow"
  [ "$status" -eq 0 ]
  mapfile -t ranges <<< "$output"
  join_to r-many.join "${ranges[@]}"
  want many r-many.join
  check_wanted
}

@test "files with the schema in their stream part too (fpga-split --arrow-file -n 1 of a stream): split to streams and files, joined back" {
  local table
  for table in types many emptybatches norows; do
    split_to one-$table --arrow --arrow-file -n 1 "$T/$table.stream"
    mv "${chunks[0]}" $table.arrow
    files_test $table $table.arrow
  done
  check_wanted
}

@test "file chunks of a stream join into a file; fpga-cat --arrow-stream joins them into the stream, byte for byte" {
  split_to f --arrow --arrow-file -n 3 "$T/types.stream"
  join_to f.join "${chunks[@]}"
  run "$CAT" --arrow-stream -o s.join "${chunks[@]}"
  [ "$status" -eq 0 ]
  cmp "$T/types.stream" s.join
  check types @file f.join + @file "${chunks[@]}"
}

@test "stream chunks of a file written by apache-arrow join into a stream, and with --arrow-file into a file" {
  split_to s --arrow -n 3 "$T/types.arrow"
  join_to s.join "${chunks[@]}"
  run "$CAT" --arrow-file -o f.join "${chunks[@]}"
  [ "$status" -eq 0 ]
  check types @stream s.join + @file f.join
}

@test "pre-0.15 streams (no continuation marker): split by -n and by -l on standard input, every chunk read back, the join the stream byte for byte" {
  local table
  for table in types replace many; do
    split_to n-$table --arrow -n 3 "$T/$table.legacy"
    [ "${#chunks[@]}" -eq 3 ]
    join_to n-$table.join "${chunks[@]}"
    joined $table "$T/$table.legacy" n-$table.join
    local n=("${chunks[@]}")
    split_to l-$table --arrow -l 50 - < "$T/$table.legacy"
    join_to l-$table.join "${chunks[@]}"
    joined $table "$T/$table.legacy" l-$table.join
    want $table "${n[@]}" + max-rows=50 "${chunks[@]}"
  done
  check_wanted
}

@test "0 rows: the schema-only table and empty batches give valid 0-row chunks under -n, -l, -b on standard input and --arrow-file" {
  local table
  for table in norows emptybatches; do
    split_to n-$table --arrow -n 2 "$T/$table.stream"
    [ "${#chunks[@]}" -eq 2 ]
    local n=("${chunks[@]}")
    split_to l-$table --arrow -l 1 "$T/$table.stream"
    local l=("${chunks[@]}")
    split_to b-$table --arrow -b 1K - < "$T/$table.stream"
    want $table @stream "${n[@]}" + "${l[@]}" + "${chunks[@]}"
  done
  split_to f --arrow --arrow-file -n 2 "$T/norows.stream"
  [ "${#chunks[@]}" -eq 2 ]
  want norows @file "${chunks[@]}"
  check_wanted
}

@test "--ranges: the ranges of streams (pre-0.15 too) and of a file with a schema message, joined by fpga-cat, read back value for value" {
  local table
  for table in types.stream replace.stream types.legacy; do
    run "$SPLIT" --arrow --ranges -n 3 "$T/$table"
    [ "$status" -eq 0 ]
    mapfile -t ranges <<< "$output"
    [ "${#ranges[@]}" -eq 3 ]
    join_to r-$table.join "${ranges[@]}"
    cmp "$T/$table" r-$table.join
    want ${table%.*} r-$table.join
  done
  # A file with a schema message (fpga-split --arrow-file -n 1 of a stream).
  split_to one --arrow --arrow-file -n 1 "$T/many.stream"
  run "$SPLIT" --ranges -n 4 "${chunks[0]}"
  [ "$status" -eq 0 ]
  mapfile -t ranges <<< "$output"
  join_to r-many.join "${ranges[@]}"
  want many r-many.join
  check_wanted
}

# Damage, on real streams from a real writer (frames.mjs: where apache-arrow's
# decoder finds each message). A stream cut at a message boundary is a valid
# stream (the end-of-stream marker is optional): its chunks hold the batches
# before the cut; a cut inside a message, or a length flipped in a message's
# framing, is refused with one line naming the input.

@test "a JS stream cut at message boundaries: the chunks hold the batches before the cut; cut inside a message: one-line error, no chunk left" {
  local off prefix meta body kind rows=0 k=0 sizes groups=()
  # The table's batch sizes, from write.mjs's JSON ("batches":[5,0,1,...]).
  sizes=$(grep -o '"batches":\[[0-9,]*\]' "$T/types.expect.json" | tr -cs '0-9' ' ')
  read -ra sizes <<< "$sizes"
  while read -r off prefix meta body kind; do
    # Cut before the end-of-stream marker: every batch, no marker.
    [ "$kind" = eos ] && rows=""
    if [ "$off" -gt 0 ]; then
      head -c "$off" "$T/types.stream" > cut.$off
      split_to at-$off --arrow -n 2 cut.$off
      groups+=(0:$rows "${chunks[@]}" +)
      [ "$kind" = eos ] && break
      # Inside the message: in its framing, its metadata, its body.
      for cut in $((off + 3)) $((off + prefix + meta / 2)) $([ "$body" -gt 0 ] && echo $((off + prefix + meta + body / 2))); do
        head -c "$cut" "$T/types.stream" > in.$cut
        mkdir -p in-$cut
        run "$SPLIT" --arrow -n 2 in.$cut in-$cut/c
        [ "$status" -eq 1 ] || { echo "cut at $cut ($kind at $off): status $status: $output"; false; }
        [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-split: "*"in.$cut"* ]] || { echo "cut at $cut: $output"; false; }
        [ -z "$(ls in-$cut)" ]
      done
    fi
    if [ "$kind" = RecordBatch ]; then
      rows=$((rows + sizes[k]))
      k=$((k + 1))
    fi
  done < <(frames "$T/types.stream" | sed -n '1,6p;$p')
  check types "${groups[@]}"
}

@test "a JS stream or file with a message length flipped: fpga-split refuses it in one line, fpga-cat refuses such a chunk" {
  local off prefix meta body kind
  # apache-arrow's file (footer-only: the flipped message is reached through
  # its footer's block) and a file with a schema message too.
  split_to own --arrow --arrow-file -n 1 "$T/types.stream"
  cp "${chunks[0]}" own.arrow
  cp "$T/types.stream" "$T/types.arrow" .
  for input in types.stream types.arrow own.arrow; do
    # The second dictionary batch: its metadata length's high byte.
    read -r off prefix meta body kind < <(frames $input | grep DictionaryBatch | sed -n 2p)
    cp $input bad.$input
    local at=$off
    printf '\x40' | dd of=bad.$input bs=1 seek=$((at + prefix - 1)) conv=notrunc status=none
    mkdir -p out-$input
    run "$SPLIT" --arrow -n 2 bad.$input out-$input/c
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-split: "*"bad.$input"* ]]
    [ -z "$(ls out-$input)" ]
  done
  # The continuation marker of a record batch flipped: not a valid message.
  read -r off prefix meta body kind < <(frames "$T/types.stream" | sed -n 6p)
  cp "$T/types.stream" mark.stream
  printf '\x7f' | dd of=mark.stream bs=1 seek=$((off + 3)) conv=notrunc status=none
  mkdir -p out-mark
  run "$SPLIT" --arrow -n 2 mark.stream out-mark/c
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  # fpga-cat: the second of three chunks cut short, or its record batch's
  # body length flipped; nothing written.
  split_to ok --arrow -n 3 "$T/types.stream"
  local second=${chunks[1]}
  read -r off prefix meta body kind < <(frames "$second" | grep RecordBatch | head -1)
  head -c $((off + prefix + meta + body / 2)) "$second" > cut.part
  cp -a "${chunks[0]}" ok.000 && cp -a "$second" ok.001 && cp -a "${chunks[2]}" ok.002 && cp cut.part ok.001
  run "$CAT" -q -o joined ok.000 ok.001 ok.002
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-cat: "*"ok.001"* ]]
  [ ! -e joined ]
  cp -a "$second" ok.001
  printf '\x40' | dd of=ok.001 bs=1 seek=$((off + prefix - 1)) conv=notrunc status=none
  run "$CAT" -q -o joined ok.000 ok.001 ok.002
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-cat: "*"ok.001"* ]]
  [ ! -e joined ]
}

@test "fpga-cat refuses chunks of two different tables in one line" {
  split_to a --arrow -n 2 "$T/types.stream"
  local first=${chunks[0]}
  split_to b --arrow -n 2 "$T/many.stream"
  run "$CAT" -q -o joined "$first" "${chunks[1]}"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ] && [[ "$output" == "fpga-cat: "* ]]
  [ ! -e joined ]
}
