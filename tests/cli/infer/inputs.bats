#!/usr/bin/env bats
# fpga-infer's inputs (issue 20): models the engine cannot compute are
# refused when loaded, never run; images are numbered across all inputs and
# --labels follows the numbers; a labels file is read only as far as the
# image numbers need, in bounded memory, whatever its header declares, and
# whatever its stat says; a file that is no labels file says what it is
# (issue 21); options that would do nothing are an error or a warning.

load ../helpers
load helpers

@test "a model whose last layer is a convolution: refused in one line naming the file, never run (it crashed the engine: exit 139)" {
  # 4x4x1 one-bit input, one 3x3 convolution to two channels, two classes:
  # the validator took it, the engine read thresholds that are not there.
  write_model m.fbnn 1 4 4 1 a,b "1 1 2 - 0x1b5 0xf3"
  head -c 16 /dev/urandom > img.raw
  run "$INFER" --model m.fbnn --input-format raw --shape 4x4x1 img.raw
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: m.fbnn: corrupt data: model: layer 0: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  # From a pipe too, and with --info, the same words.
  run "$INFER" --model - --input-format raw --shape 4x4x1 img.raw < m.fbnn
  [ "$status" -eq 1 ]
  [[ "$output" == *"the last layer must be fully connected"* ]]
  run "$INFER" --info --model m.fbnn
  [ "$status" -eq 1 ]
  [[ "$output" == *"m.fbnn: corrupt data: model: layer 0: the last layer must be fully connected"* ]]
  # A convolution deeper in, before a pool that ends the model, a
  # convolution after a pool: refused the same way or as before.
  write_model m2.fbnn 1 8 8 1 a,b "1 1 2 3,3 0x1b5 0xf3" "2 2 2 -" "1 2 2 - 0x3ffff 0x1"
  run "$INFER" --model m2.fbnn --input-format raw --shape 8x8x1 img.raw
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: m2.fbnn: corrupt data: model: layer 2: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  # The same network ending in a fully connected layer over the 2x2x2 map
  # runs: 8 inputs, two classes.
  write_model ok.fbnn 1 4 4 1 a,b "1 1 2 4,4 0x1b5 0xf3" "3 8 2 - 0xa5 0x0f"
  run "$INFER" -q -s --model ok.fbnn --input-format raw --shape 4x4x1 img.raw
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == 0$'\t'* ]]
}

@test "several inputs are numbered across all of them: three PGMs are images 0, 1 and 2" {
  need_fashion
  fashion_part f.idx 0 3
  for i in 0 1 2; do
    { printf 'P5\n28 28\n255\n'; tail -c +$((17 + i * 784)) f.idx | head -c 784; } > "p$i.pgm"
  done
  run "$INFER" -q p0.pgm p1.pgm p2.pgm
  [ "$status" -eq 0 ]
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "0 1 2 " ]
  # The same lines as the three images in one IDX file.
  [ "$output" = "$("$INFER" -q --input-format idx f.idx)" ]
  # Standard input among files goes on too; -o and --save number the same.
  run "$INFER" -q p0.pgm - p2.pgm < p1.pgm
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "0 1 2 " ]
  "$INFER" -q --save p0.pgm p1.pgm p2.pgm
  [ "$(cut -f1 p2.pgm.tsv)" = 2 ]
  # --start numbers the first input; the others go on from it.
  run "$INFER" -q --start 10 p0.pgm p1.pgm p2.pgm
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "10 11 12 " ]
}

@test "two IDX files holding images 0-199 and 200-399 with the test-set labels: the accuracy and the lines of one file with all 400 (was 49.50% against 91.25%)" {
  need_fashion
  fashion_part a-idx3-ubyte 0 200
  fashion_part b-idx3-ubyte 200 200
  fashion_part all-idx3-ubyte 0 400
  L=$FASHION/t10k-labels-idx1-ubyte.gz
  "$INFER" --labels "$L" --confusion all-idx3-ubyte > one.tsv 2> one.err
  "$INFER" --labels "$L" --confusion a-idx3-ubyte b-idx3-ubyte > two.tsv 2> two.err
  cat one.err two.err
  cmp one.tsv two.tsv
  [ "$(tail -1 two.tsv | cut -f1)" = 399 ]
  grep -q 'top-1 accuracy 91.25% (365 of 400)' one.err
  grep -q 'top-1 accuracy 91.25% (365 of 400)' two.err
  # The confusion matrices agree too (the timing line aside).
  diff <(tail -n +2 one.err) <(tail -n +2 two.err)
  # Chunks and ranges keep their numbers among other inputs: the second
  # half as a range after the first file.
  "$INFER" -q --labels "$L" a-idx3-ubyte "all-idx3-ubyte@001/2:$((16 + 200 * 784))+$((200 * 784))" > r.tsv
  cmp one.tsv r.tsv
}

@test "a --labels gzip bomb (2^32-1 labels declared, 400 MB of zeros): read only as far as the images need, in bounded memory (was 540 MB)" {
  [ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
  { printf '\0\0\010\001\377\377\377\377'; head -c 400M /dev/zero; } | gzip -1 > bomb.gz
  [ "$(stat -c %s bomb.gz)" -lt $((4 * 1024 * 1024)) ]
  write_model lfc.fbnn 1 4 4 1 a,b "3 16 2 - 0x00ff 0xff00"
  idx_images img-idx3-ubyte 60 4 4
  # Without labels, then with the bomb: about the same memory.
  /usr/bin/time -f %M -o base.rss "$INFER" -q --model lfc.fbnn img-idx3-ubyte > base.tsv
  run /usr/bin/time -f %M -o bomb.rss "$INFER" --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  echo "$output"; cat base.rss bomb.rss
  [ "$status" -eq 0 ]
  # Every label is 0: the accuracy is the share of class 0.
  zeros=$(cut -f2 base.tsv | grep -c '^0$' || true)
  [[ "$output" == *"top-1 accuracy"*"($zeros of 60)"* ]]
  [ "$(tail -1 bomb.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
  # Image numbers far into it (--start): the labels before them are passed,
  # not kept.
  run /usr/bin/time -f %M -o far.rss "$INFER" -q --start 300000000 --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  [ "$status" -eq 0 ]
  [ "$(tail -1 far.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
  # Past the 400 MB the file holds: an error naming it, still in bounded memory.
  run /usr/bin/time -f %M -o past.rss "$INFER" -q --start 419430395 --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"fpga-infer: bomb.gz: corrupt data: IDX header describes 4294967303 bytes but the file has 419430408"* ]]
  [ "$(tail -1 past.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
}

@test "labels: a plain file of the wrong size fails at once; a labels file shorter than the images warns; labels from a pipe are read in order" {
  idx_images img-idx3-ubyte 6 4 4
  write_model lfc.fbnn 1 4 4 1 a,b "3 16 2 - 0x00ff 0xff00"
  "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">II", 0x801, 4) + bytes([0, 1, 0, 1]))' > four
  "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">II", 0x801, 9) + bytes([0, 1, 0, 1]))' > lies
  run "$INFER" --model lfc.fbnn --labels lies img-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: lies: corrupt data: IDX header describes 17 bytes but the file has 12" ]
  run "$INFER" --model lfc.fbnn --labels four img-idx3-ubyte
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: four: 4 labels, but 2 images are numbered past them; left out of the accuracy"* ]]
  acc=$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' <<< "$output")
  [[ "$acc" == *" of 4)" ]]
  # From a pipe, in order: the same as from the file.
  run "$INFER" --model lfc.fbnn --labels <(cat four) img-idx3-ubyte
  [ "$status" -eq 0 ]
  [ "$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' <<< "$output")" = "$acc" ]
  [[ "$output" == *"2 images are numbered past them"* ]]
}

@test "a file whose stat lies about its size (/proc) is read to learn it: whole images counted, the rest named up front" {
  [ -r /proc/cpuinfo ] && [ "$(stat -c %s /proc/cpuinfo)" -eq 0 ] || skip "no /proc/cpuinfo of st_size 0"
  n=$(wc -c < /proc/cpuinfo)
  run "$INFER" --input-format raw --shape 28x28x1 -q /proc/cpuinfo
  if [ $((n % 784)) -eq 0 ]; then
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq $((n / 784)) ]
  else
    [ "$status" -eq 1 ]
    [[ "$output" == *"/proc/cpuinfo: corrupt data: "*" bytes at the end are not a whole image of 784 bytes"* ]]
  fi
}

@test "an IDX images file given as --labels says so (was: header cut short, as if a labels header were short)" {
  tiny_model lfc.fbnn 4 4 1
  idx_images img-idx3-ubyte 6 4 4
  run "$INFER" --model lfc.fbnn --labels img-idx3-ubyte img-idx3-ubyte
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: img-idx3-ubyte: corrupt data: not an IDX labels file: it has 3 dimensions, labels have 1 (an IDX images file?)" ]
  gzip -c img-idx3-ubyte > img.gz
  run "$INFER" --model lfc.fbnn --labels img.gz img-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: img.gz: corrupt data: not an IDX labels file: it has 3 dimensions, labels have 1 (an IDX images file?)" ]
}

@test "options that did nothing: --labels with CIFAR-10 records is an error before anything is written; --confusion without labels warns" {
  tiny_model rgb.fbnn 32 32 3
  tiny_model lfc.fbnn 4 4 1
  "$PY" -c 'import sys; sys.stdout.buffer.write(bytes((i * 13) % 256 if i % 3073 else i // 3073 % 2 for i in range(4 * 3073)))' > recs.bin
  "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">II", 0x801, 4) + bytes([0, 1, 0, 1]))' > four
  idx_images img-idx3-ubyte 4 4 4
  # --labels with CIFAR-10: their own labels are used; the file never was.
  run "$INFER" --model rgb.fbnn --labels four -o out.tsv recs.bin
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: recs.bin: CIFAR-10 records carry their own labels: --labels four would not be used (leave it out)" ]
  [ ! -e out.tsv ]
  # --confusion without labels: the lines, then a warning; exit 0.
  "$INFER" --model lfc.fbnn --confusion img-idx3-ubyte > out.tsv 2> err
  cat err
  [ "$(wc -l < out.tsv)" -eq 4 ]
  grep -qx "fpga-infer: warning: --confusion: no image had a label (IDX, PNM and raw images take theirs from --labels FILE); no confusion matrix" err
  ! grep -q "confusion matrix (rows" err
  # -q silences the warning.
  "$INFER" -q --model lfc.fbnn --confusion img-idx3-ubyte > out.tsv 2> err
  [ ! -s err ]
  # With labels (a file, or the records' own), the matrix and no warning.
  "$INFER" --model lfc.fbnn --confusion --labels four img-idx3-ubyte > out.tsv 2> err
  grep -q "^confusion matrix (rows: label, columns: predicted class)" err
  ! grep -q warning err
  "$INFER" --model rgb.fbnn --confusion recs.bin > out.tsv 2> err
  grep -q "^confusion matrix (rows: label, columns: predicted class)" err
  ! grep -q warning err
}

@test "a --labels file whose stat lies about its size (/proc: st_size 0) is read to learn it, as the images are (issue 20: was 'the file has 0')" {
  # /proc/PID/cmdline of a process whose arguments make an IDX1 labels file
  # of 3 labels (each argument ends in a 0 byte): 00 00 08 01, 00 00 00 03,
  # then 3 5 0. `yes` keeps them, blocked on a FIFO nobody reads.
  mkfifo fifo
  exec 4<> fifo
  ( exec -a "" yes "" $'\x08\x01' "" "" $'\x03\x03\x05' > fifo ) &
  pid=$!
  L=/proc/$pid/cmdline
  for _ in $(seq 100); do [ "$(od -An -tx1 "$L" 2> /dev/null | tr -d ' \n')" = 0000080100000003030500 ] && break; sleep 0.05; done
  ok=0; [ "$(od -An -tx1 "$L" | tr -d ' \n')" = 0000080100000003030500 ] && [ "$(stat -c %s "$L")" -eq 0 ] && ok=1
  tiny_model lfc.fbnn 4 4 1
  idx_images img-idx3-ubyte 3 4 4
  "$INFER" -q --model lfc.fbnn img-idx3-ubyte > want.tsv
  [ "$ok" = 1 ] && run "$INFER" --model lfc.fbnn --labels "$L" img-idx3-ubyte
  kill "$pid"
  exec 4>&-
  [ "$ok" = 1 ] || skip "$L does not hold the labels, or its stat does not lie"
  echo "$output"
  [ "$status" -eq 0 ]
  # Labels 3 and 5 are no class of the model's two; 0 is class a.
  a=$(( $(sed -n 3p want.tsv | cut -f2) == 0 ? 1 : 0 ))
  [[ "$output" == *"top-1 accuracy "*"($a of 3)"* ]]
}
