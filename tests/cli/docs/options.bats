#!/usr/bin/env bats
# Every long option of every tool appears in its man page and in the bash,
# zsh and fish completions, so the documentation cannot drift from the code.

load ../helpers

long_options() { # tool
  "$FPGA_BIN/$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# Whether TEXT holds WORD followed by a word boundary (grep's WORD\b).
has_word() { # text word
  local end='([^[:alnum:]_]|$)'
  [[ $2 == *[[:alnum:]_] ]] || end='[[:alnum:]_]'
  [[ $1 =~ "$2"$end ]]   # "$2" literal: no regular expression
}

# Each file read once and searched in this shell (a grep a long option and
# file were some 800 processes).
check_docs() { # tool
  local tool=$1 opts missing="" o man bash zsh fish
  opts=$(long_options "$tool")
  [ -n "$opts" ]
  man=$(< "$FPGA_SOURCE_DIR/man/$tool.1")
  bash=$(< "$FPGA_SOURCE_DIR/completions/bash/$tool")
  zsh=$(< "$FPGA_SOURCE_DIR/completions/zsh/_$tool")
  fish=$(< "$FPGA_SOURCE_DIR/completions/fish/$tool.fish")
  for o in $opts; do
    # As the man page writes it: \-\-name.
    [[ $man == *"${o//-/\\-}"* ]] || missing="$missing man:$o"
    has_word "$bash" "$o" || missing="$missing bash:$o"
    has_word "$zsh" "$o" || missing="$missing zsh:$o"
    has_word "$fish" "-l ${o#--}" || missing="$missing fish:$o"
  done
  [ -z "$missing" ] || { echo "$tool missing:$missing"; false; }
}

check_shells() { # tool
  bash -c "source '$FPGA_SOURCE_DIR/completions/bash/$1' && complete -p $1"
  if command -v zsh >/dev/null; then zsh -n "$FPGA_SOURCE_DIR/completions/zsh/_$1"; fi
  if command -v fish >/dev/null; then fish -n "$FPGA_SOURCE_DIR/completions/fish/$1.fish"; fi
}

@test "every long option of every tool is in its man page and all completions" {
  for t in fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote; do check_docs $t; done
}

@test "the completions load in their shells" {
  for t in fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote; do check_shells $t; done
}

@test "the man pages render without warnings" {
  command -v groff >/dev/null || skip "no groff"
  for page in "$FPGA_SOURCE_DIR"/man/*.[17]; do
    head -n 1 "$page" | grep -q '^\.so ' && continue # a stub: man-pages.bats
    run bash -c "groff -man -Tutf8 -t -ww '$page' 2>&1 >/dev/null"
    [ -z "$output" ]
  done
}

# The table of shared options in fpga-tools(7), one row per option:
# letter, long name, meaning, then yes or - for gzip, split, cat, infer.
vocabulary_rows() {
  sed -n '/vocabulary-begin/,/vocabulary-end/p' "$FPGA_SOURCE_DIR/man/fpga-tools.7" |
    grep -P '^(\\-|\t)' | sed 's/\\-/-/g; s/^\t/none\t/; s/\t/,/g'
}

@test "the shared options table of fpga-tools(7) matches every tool's --help" {
  local tools=(fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote) helps=() bad="" rows=0 i
  for i in 0 1 2 3 4; do helps[i]=$("$FPGA_BIN/${tools[$i]}" --help); done
  while IFS=, read -r letter long meaning a b c d e; do
    rows=$((rows + 1))
    [ "$letter" = none ] && letter=
    local marks=("$a" "$b" "$c" "$d" "$e")
    for i in 0 1 2 3 4; do
      local t=${tools[$i]} help=${helps[$i]}
      if [ "${marks[$i]}" = yes ]; then
        if [ -n "$letter" ]; then
          grep -qE -- "^  $letter, $long([= []|\$)" <<< "$help" || bad="$bad $t:$letter,$long"
        else
          grep -qE -- "^      $long([= []|\$)" <<< "$help" || bad="$bad $t:$long"
        fi
      else
        # Not there, and its letter means nothing else in this tool.
        grep -qE -- "^ +(-., )?$long([= []|\$)" <<< "$help" && bad="$bad $t:has-$long"
        if [ -n "$letter" ]; then grep -qE -- "^  $letter[, ]" <<< "$help" && bad="$bad $t:$letter-means-else"; fi
      fi
    done
  done < <(vocabulary_rows)
  [ "$rows" -ge 10 ]
  [ -z "$bad" ] || { echo "disagrees:$bad"; false; }
}

@test "--help fits 80 columns in every tool, and -o - is standard output" {
  for t in fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote; do
    run bash -c "'$FPGA_BIN/$t' --help | awk 'length(\$0) > 80'"
    [ -z "$output" ] || { echo "$t: $output"; false; }
  done
  printf 'a\n' > p.000
  "$FPGA_BIN/fpga-cat" -q -o - p.000 > out || [ $? -eq 2 ]
  [ "$(cat out)" = a ]
  [ ! -e ./- ]
}

@test "an existing output gets gzip's words in every tool" {
  printf 'abc\n' > in
  echo keep > in.gz
  run "$FPGA_BIN/fpga-gzip" in
  [[ "$output" == *$'in.gz already exists;\tnot overwritten'* ]]
  echo keep > in.000
  run "$FPGA_BIN/fpga-split" -n 1 in
  [ "$output" = $'fpga-split: in.000 already exists;\tnot overwritten' ]
  "$FPGA_BIN/fpga-split" -n 1 in p >/dev/null
  run "$FPGA_BIN/fpga-cat" -o in.gz p.000
  [ "$output" = $'fpga-cat: in.gz already exists;\tnot overwritten' ]
  [ "$(cat in.gz)" = keep ]
}
