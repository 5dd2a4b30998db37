#!/usr/bin/env bats
# Every long option of every tool appears in its man page and in the bash,
# zsh and fish completions, so the documentation cannot drift from the code.

load helpers

long_options() { # tool
  "$FPGA_BIN/$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u
}

check_docs() { # tool
  local tool=$1 opts missing="" o man_o
  opts=$(long_options "$tool")
  [ -n "$opts" ]
  for o in $opts; do
    man_o=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q -- "$man_o" "$FPGA_SOURCE_DIR/man/$tool.1" || missing="$missing man:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/bash/$tool" || missing="$missing bash:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/zsh/_$tool" || missing="$missing zsh:$o"
    grep -q -- "-l ${o#--}\\b" "$FPGA_SOURCE_DIR/completions/fish/$tool.fish" || missing="$missing fish:$o"
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
