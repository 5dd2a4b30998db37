#!/usr/bin/env bats
# Every long option of every tool appears in its man page and in the bash,
# zsh and fish completions, so the documentation cannot drift from the code.

load helpers

long_options() { # tool
  "$FPGA_BIN/$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u
}

@test "fpga-gzip: every long option is in the man page and all completions" {
  opts=$(long_options fpga-gzip)
  [ -n "$opts" ]
  missing=""
  for o in $opts; do
    man_o=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$man_o" "$FPGA_SOURCE_DIR/man/fpga-gzip.1" || missing="$missing man:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/bash/fpga-gzip" || missing="$missing bash:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/zsh/_fpga-gzip" || missing="$missing zsh:$o"
    grep -q -- "-l ${o#--}\\b" "$FPGA_SOURCE_DIR/completions/fish/fpga-gzip.fish" || missing="$missing fish:$o"
  done
  [ -z "$missing" ] || { echo "missing:$missing"; false; }
}

@test "fpga-gzip: the completions load in their shells" {
  bash -c "source '$FPGA_SOURCE_DIR/completions/bash/fpga-gzip' && complete -p fpga-gzip"
  if command -v zsh >/dev/null; then zsh -n "$FPGA_SOURCE_DIR/completions/zsh/_fpga-gzip"; fi
  if command -v fish >/dev/null; then fish -n "$FPGA_SOURCE_DIR/completions/fish/fpga-gzip.fish"; fi
}

@test "fpga-gzip: the man page renders without warnings" {
  command -v groff >/dev/null || skip "no groff"
  run bash -c "groff -man -Tutf8 -t -ww '$FPGA_SOURCE_DIR/man/fpga-gzip.1' 2>&1 >/dev/null"
  [ -z "$output" ]
}
