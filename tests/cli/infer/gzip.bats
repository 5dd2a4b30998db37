#!/usr/bin/env bats
# fpga-infer reads gzip inputs (issue 21): images as the datasets ship them
# (t10k-images-idx3-ubyte.gz), CIFAR-10, PNM and raw, from files and pipes,
# through our own decoder in bounded memory; damaged ones are one-line errors;
# a byte range of a gzip file is refused; gzipped chunks keep their numbers.

load ../helpers
load helpers

@test "the dataset as it ships, t10k-images-idx3-ubyte.gz, is read (was: not an IDX file (bad magic)): the lines and accuracy of the decompressed file, from a file, a pipe, standard input" {
  need_fashion
  tiny_model tiny.fbnn 28 28 1
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" > t10k-images-idx3-ubyte
  L=$FASHION/t10k-labels-idx1-ubyte.gz
  "$INFER" --model tiny.fbnn --labels "$L" t10k-images-idx3-ubyte > plain.tsv 2> plain.err
  "$INFER" --model tiny.fbnn --labels "$L" "$FASHION/t10k-images-idx3-ubyte.gz" > gz.tsv 2> gz.err
  cat plain.err gz.err
  [ "$(wc -l < gz.tsv)" -eq 10000 ]
  cmp plain.tsv gz.tsv
  acc=$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' plain.err)
  [ -n "$acc" ]
  grep -qF "$acc" gz.err
  # The default model on 400 of them: Fashion-MNIST's 91.25%.
  fashion_part p-idx3-ubyte 0 400
  gzip -c p-idx3-ubyte > p-idx3-ubyte.gz
  "$INFER" --labels "$L" p-idx3-ubyte.gz > p.tsv 2> p.err
  grep -q 'top-1 accuracy 91.25% (365 of 400)' p.err
  "$INFER" -q p-idx3-ubyte > p-plain.tsv
  cmp p-plain.tsv p.tsv
  # From a pipe and standard input (the format from what it decompresses
  # to), several members (pigz -b 32: 32 KiB each), fpga-gzip's own format,
  # a name that says nothing.
  cat p-idx3-ubyte.gz | "$INFER" -q > pipe.tsv
  cmp p.tsv pipe.tsv
  "$INFER" -q - < p-idx3-ubyte.gz > stdin.tsv
  cmp p.tsv stdin.tsv
  pigz -b 32 -c p-idx3-ubyte > images.gz
  "$INFER" -q images.gz > pigz.tsv
  cmp p.tsv pigz.tsv
  "$FPGA_BIN/fpga-gzip" -c p-idx3-ubyte > ours.gz
  "$INFER" -q ours.gz > ours.tsv
  cmp p.tsv ours.tsv
  # Plain and gzip inputs in one run are numbered across both.
  fashion_part a-idx3-ubyte 0 200
  fashion_part b-idx3-ubyte 200 200
  gzip b-idx3-ubyte
  "$INFER" -q --labels "$L" a-idx3-ubyte b-idx3-ubyte.gz > ab.tsv
  cmp p.tsv ab.tsv
}

@test "CIFAR-10 records, PGM pictures and raw images gzipped: the lines of the plain files" {
  tiny_model rgb.fbnn 32 32 3
  tiny_model lfc.fbnn 4 4 1
  "$PY" -c 'import sys; sys.stdout.buffer.write(bytes((i * 13 + i // 3073) % 256 if i % 3073 else i // 3073 % 10 for i in range(5 * 3073)))' > recs.bin
  "$INFER" -s --model rgb.fbnn recs.bin > want.tsv 2> want.err
  gzip -k recs.bin
  "$INFER" -s --model rgb.fbnn recs.bin.gz > got.tsv 2> got.err
  cmp want.tsv got.tsv
  [ "$(wc -l < got.tsv)" -eq 5 ]
  # Their labels give the accuracy, as the plain file's do.
  grep -q 'top-1 accuracy' got.err
  [ "$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' want.err)" = "$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' got.err)" ]
  { printf 'P5\n4 4\n255\n'; head -c 16 /dev/urandom; printf 'P5 4 4 255\n'; head -c 16 /dev/urandom; } > two.pgm
  gzip -k two.pgm
  "$INFER" -q -s --model lfc.fbnn two.pgm > want.tsv
  "$INFER" -q -s --model lfc.fbnn two.pgm.gz > got.tsv
  cmp want.tsv got.tsv
  [ "$(wc -l < got.tsv)" -eq 2 ]
  head -c 160 /dev/urandom > img.raw
  gzip -k img.raw
  "$INFER" -q -s --model lfc.fbnn --input-format raw --shape 4x4x1 img.raw > want.tsv
  "$INFER" -q -s --model lfc.fbnn --input-format raw --shape 4x4x1 img.raw.gz > got.tsv
  cmp want.tsv got.tsv
  [ "$(wc -l < got.tsv)" -eq 10 ]
}

@test "damaged gzip images: cut short, a bit flipped, garbage after, a count the data does not have: one line naming the file, exit 1, no -o file; a byte range of a gzip file is refused" {
  tiny_model lfc.fbnn 4 4 1
  idx_images img-idx3-ubyte 60 4 4
  gzip -c img-idx3-ubyte > img-idx3-ubyte.gz
  n=$(stat -c %s img-idx3-ubyte.gz)
  head -c $((n - 5)) img-idx3-ubyte.gz > cut-idx3-ubyte.gz
  run "$INFER" -q --model lfc.fbnn -o out.tsv cut-idx3-ubyte.gz
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: cut-idx3-ubyte.gz: corrupt data at member 1 (offset 0): unexpected end of file"* ]]
  [ "${#lines[@]}" -eq 1 ]
  [ ! -e out.tsv ]
  # A bit flipped in the deflate data: gzip -t fails, and so do we.
  cp img-idx3-ubyte.gz flip-idx3-ubyte.gz
  printf "$(printf '\\%03o' $(( $(od -An -tu1 -j $((n / 2)) -N1 flip-idx3-ubyte.gz) ^ 16 )))" |
    dd of=flip-idx3-ubyte.gz bs=1 seek=$((n / 2)) conv=notrunc 2> /dev/null
  ! gzip -t flip-idx3-ubyte.gz 2> /dev/null
  run "$INFER" -q --model lfc.fbnn -o out.tsv flip-idx3-ubyte.gz
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: flip-idx3-ubyte.gz: "* ]]
  [ "${#lines[@]}" -eq 1 ]
  [ ! -e out.tsv ]
  { cat img-idx3-ubyte.gz; echo garbage; } > tail-idx3-ubyte.gz
  run "$INFER" -q --model lfc.fbnn tail-idx3-ubyte.gz
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "fpga-infer: tail-idx3-ubyte.gz: corrupt data: data after the gzip members (trailing garbage)" ]
  # 2^32-1 images declared, 60 there: the file's message, as for the plain file.
  idx_images big-idx3-ubyte 60 4 4 4294967295
  run "$INFER" -q --model lfc.fbnn -o out.tsv big-idx3-ubyte
  [ "$status" -eq 1 ]
  plain=$output
  gzip big-idx3-ubyte
  run "$INFER" -q --model lfc.fbnn -o out.tsv big-idx3-ubyte.gz
  [ "$status" -eq 1 ]
  [ "$output" = "${plain/big-idx3-ubyte:/big-idx3-ubyte.gz:}" ]
  [[ "$output" == *"IDX header describes 68719476736 bytes but the file has 976" ]]
  # A range counts compressed bytes: refused, saying why.
  run "$INFER" -q --model lfc.fbnn "img-idx3-ubyte.gz@001/2:16+160"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: img-idx3-ubyte.gz@001/2:16+160: a byte range of a gzip file cannot be read: its offsets count compressed bytes (give the whole file, or ranges of the decompressed one)" ]
}

@test "a gzip bomb of images (60 declared, 400 MB of zeros after them): the 60, then an error at once, in bounded memory" {
  [ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
  tiny_model lfc.fbnn 4 4 1
  idx_images img-idx3-ubyte 60 4 4
  { cat img-idx3-ubyte; head -c 400M /dev/zero; } | gzip -1 > bomb-idx3-ubyte.gz
  [ "$(stat -c %s bomb-idx3-ubyte.gz)" -lt $((4 * 1024 * 1024)) ]
  /usr/bin/time -f %M -o base.rss "$INFER" -q --model lfc.fbnn img-idx3-ubyte > base.tsv
  /usr/bin/time -f %M -o bomb.rss "$INFER" -q --model lfc.fbnn bomb-idx3-ubyte.gz > bomb.tsv 2> bomb.err || true
  cat bomb.err base.rss bomb.rss
  # What was written before the error is the plain file's.
  head -c "$(stat -c %s bomb.tsv)" base.tsv | cmp - bomb.tsv
  [ "$(head -1 bomb.err)" = "fpga-infer: bomb-idx3-ubyte.gz: corrupt data: IDX header describes 976 bytes but the file has more than $((976 + 1 + 1048576))" ]
  [ "$(tail -1 bomb.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
  # From a pipe, the same.
  run "$INFER" -q --model lfc.fbnn - < bomb-idx3-ubyte.gz
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "fpga-infer: stdin: corrupt data: IDX header describes 976 bytes but the file has more than $((976 + 1 + 1048576))" ]
}

@test "fpga-split --idx of a gzipped IDX file says it is gzip (was: no IDX magic), from a file and a pipe" {
  idx_images img-idx3-ubyte 6 4 4
  gzip img-idx3-ubyte
  run "$FPGA_BIN/fpga-split" --idx -n 2 img-idx3-ubyte.gz
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: img-idx3-ubyte.gz: corrupt data: not an IDX file: it is gzip-compressed (decompress it first: fpga-gzip -dk)" ]
  [ "$(ls)" = img-idx3-ubyte.gz ]
  run "$FPGA_BIN/fpga-split" --idx -b 32 - < img-idx3-ubyte.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"not an IDX file: it is gzip-compressed"* ]]
}

@test "gzipped chunks of fpga-split --idx keep their image numbers and --save carries them to fpga-cat: fpga-gzip carries the chunk on (FP), fpga-infer reads it" {
  tiny_model lfc.fbnn 4 4 1
  idx_images img-idx3-ubyte 10 4 4
  "$INFER" -q -s --model lfc.fbnn img-idx3-ubyte > all.tsv
  "$FPGA_BIN/fpga-split" --idx -n 2 img-idx3-ubyte
  "$FPGA_BIN/fpga-gzip" img-idx3-ubyte.000 img-idx3-ubyte.001
  "$INFER" -q -s --model lfc.fbnn img-idx3-ubyte.001.gz > second.tsv
  [ "$(head -c 2 second.tsv)" = 5$'\t' ]
  tail -n 5 all.tsv | cmp - second.tsv
  # Both, in either order: the numbers are the chunks' own.
  "$INFER" -q -s --model lfc.fbnn img-idx3-ubyte.001.gz img-idx3-ubyte.000.gz > both.tsv
  { tail -n 5 all.tsv; head -n 5 all.tsv; } | cmp - both.tsv
  # --save carries the chunk on: fpga-cat joins the results, checking their
  # count, without a warning (it warned: "carries no part count").
  "$INFER" -q -s --model lfc.fbnn --save img-idx3-ubyte.001.gz img-idx3-ubyte.000.gz
  run "$FPGA_BIN/fpga-cat" --lines img-idx3-ubyte.*.gz.tsv
  [ "$status" -eq 0 ]
  cmp <(printf '%s\n' "${lines[@]}") all.tsv
  rm img-idx3-ubyte.000.gz.tsv
  run "$FPGA_BIN/fpga-cat" --lines img-idx3-ubyte.*.gz.tsv
  [ "$status" -eq 1 ]
}
