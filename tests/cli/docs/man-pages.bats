#!/usr/bin/env bats
# The manual pages as installed: every man/*.1 and man/*.7 (pages added later
# included) renders through man(1), groff and nroff without warnings, passes
# mandoc's lint apart from style notes, declares tbl when it has tables; the
# fpga-gunzip and fpga-zcat names have pages and completions after install.

load ../helpers

BUILD_DIR=${FPGA_BUILD_DIR:-$FPGA_BIN/..}

# Pages with content (not .so stubs).
pages() {
  local p
  for p in "$FPGA_SOURCE_DIR"/man/*.[17]; do
    is_stub "$p" || echo "$p"
  done
}
is_stub() { head -n 1 "$1" | grep -q '^\.so '; }

# cmake --install of the build tree into $1 (what `make install` installs).
install_to() {
  cmake --install "$BUILD_DIR" --prefix "$1" > install.log 2>&1 || { cat install.log; false; }
}

@test "there are pages to check, and stubs among them" {
  [ "$(pages | wc -l)" -ge 5 ]
  is_stub "$FPGA_SOURCE_DIR/man/fpga-zcat.1"
}

# groff with the preprocessors a page's first line declares ('\" t: tbl), as
# man-db and grog read it.
render() { # page
  local flags=""
  if head -n 1 "$1" | grep -q "^'\\\\\" [a-z]*t"; then flags=-t; fi
  groff -man -Tutf8 $flags "$1" 2>/dev/null | col -bx
}

# The format lines of a page's tables (up to the one ending in '.') that
# appear as text in its rendering: tbl did not run.
leaked_table_lines() { # page
  render "$1" | sed 's/^ *//; s/ *$//' > rendered
  awk '/^\.TS/{t=1; next} t{print; if (/\.$/) t=0}' "$1" | while IFS= read -r line; do
    if grep -qF -- "$line" rendered; then echo "$line"; fi
  done
}

@test "a page with a table starts with the tbl preprocessor line, so its tables render" {
  command -v groff >/dev/null || skip "no groff"
  local p bad=""
  for p in $(pages); do
    grep -q '^\.TS' "$p" || continue
    [ "$(head -n 1 "$p")" = "'\\\" t" ] || bad="$bad $(basename "$p"):no-preprocessor-line"
    leaked_table_lines "$p" > leaked
    [ ! -s leaked ] || bad="$bad $(basename "$p"):table-not-rendered($(head -n 1 leaked))"
  done
  [ -z "$bad" ] || { echo "bad:$bad"; false; }
}

@test "the table check sees a table that groff prints as text (it can fail)" {
  command -v groff >/dev/null || skip "no groff"
  printf '.TH T 1 2026-11-22\n.SH NAME\nt \\- x\n.SH DESCRIPTION\n.TS\nl r.\na\tb\n.TE\n' > t.1
  [ "$(leaked_table_lines t.1)" = "l r." ]
  { printf "'\\\\\" t\n"; cat t.1; } > t2.1
  [ -z "$(leaked_table_lines t2.1)" ]
}

@test "man, groff and nroff render every page without warnings" {
  command -v groff >/dev/null || skip "no groff"
  local p out bad="" t
  for p in $(pages); do
    t=""
    [ "$(head -n 1 "$p")" = "'\\\" t" ] && t=-t
    out=$(groff -ww -z -man $t "$p" 2>&1)
    [ -z "$out" ] || bad="$bad groff:$(basename "$p"):$out"
    out=$(nroff -ww -man $t "$p" 2>&1 >/dev/null)
    [ -z "$out" ] || bad="$bad nroff:$(basename "$p"):$out"
    # man-db picks the preprocessors from the page's first line.
    out=$(MANWIDTH=80 man --warnings=w -E UTF-8 -l "$p" 2>&1 >/dev/null)
    [ -z "$out" ] || bad="$bad man:$(basename "$p"):$out"
  done
  [ -z "$bad" ] || { echo "warnings:$bad"; false; }
}

@test "mandoc -T lint reports nothing but style notes" {
  command -v mandoc >/dev/null || skip "no mandoc (scripts/install-deps.sh installs it)"
  local p
  for p in $(pages); do
    mandoc -T lint -W warning "$p" 2>&1 || true
  done > lint
  [ ! -s lint ] || { cat lint; false; }
}

@test "mandoc's lint sees a broken page (the check above can fail)" {
  command -v mandoc >/dev/null || skip "no mandoc"
  printf '.TH BROKEN 1 "November 2026"\n.SH NAME\nbroken \\- x\n.SH DESCRIPTION\n.RE\ntext\n' > broken.1
  [ -n "$(mandoc -T lint -W warning broken.1 2>&1)" ]
}

@test "stub pages are one .so line naming a page of man/" {
  local p target n=0
  for p in "$FPGA_SOURCE_DIR"/man/*.[17]; do
    is_stub "$p" || continue
    n=$((n + 1))
    [ "$(wc -l < "$p")" -eq 1 ]
    target=$(sed -n 's|^\.so man[1-9]/||p' "$p")
    [ -f "$FPGA_SOURCE_DIR/man/$target" ] || { echo "$p: no man/$target"; false; }
    is_stub "$FPGA_SOURCE_DIR/man/$target" && { echo "$p: stub of a stub"; false; }
  done
  [ "$n" -ge 2 ]
}

@test "man fpga-gunzip and man fpga-zcat show fpga-gzip(1) after install; every page is installed" {
  command -v man >/dev/null || skip "no man"
  install_to "$PWD/root"
  local p name
  for p in "$FPGA_SOURCE_DIR"/man/*.[17]; do
    name=$(basename "$p")
    [ -f "root/share/man/man${name##*.}/$name" ] || { echo "not installed: $name"; false; }
  done
  for name in fpga-gunzip fpga-zcat fpga-gzip; do
    MANPAGER=cat MANWIDTH=80 man -M "$PWD/root/share/man" "$name" > page 2>err || { cat err; false; }
    [ ! -s err ]
    grep -q '^FPGA-GZIP(1)' page
    grep -q "$name \\[OPTION\\]" page
  done
  if command -v mandoc >/dev/null; then
    # From the manual's root, as man resolves it: only the note that .so is fragile.
    (cd root/share/man && mandoc -T lint -W warning man1/fpga-zcat.1 2>&1) | grep -v '\.so is fragile' > lint || true
    [ ! -s lint ] || { cat lint; false; }
  fi
}

# What bash completes for a command line, with the completion file that
# bash-completion would load for the command's name.
bash_complete() { # dir line...
  local dir=$1; shift
  bash -c '
    shopt -s extglob
    dir=$1; shift
    source "$dir/$1" || exit 1
    spec=$(complete -p "$1") || exit 1
    fn=${spec#*-F }; fn=${fn%% *}
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$dir" "$@"
}

@test "bash completes fpga-gunzip and fpga-zcat like fpga-gzip after install" {
  install_to "$PWD/root"
  local dir=$PWD/root/share/bash-completion/completions
  [ -f "$dir/fpga-gunzip" ] && [ -f "$dir/fpga-zcat" ]
  mkdir work && cd work && touch a.gz b.txt
  bash_complete "$dir" fpga-gzip --std > gzip.out
  grep -qx -- --stdout gzip.out
  for name in fpga-gunzip fpga-zcat; do
    bash_complete "$dir" $name --std > $name.out
    cmp gzip.out $name.out
    # They decompress: only compressed files are offered.
    bash_complete "$dir" $name '' > files
    grep -qx a.gz files
    ! grep -q b.txt files || false
  done
  bash_complete "$dir" fpga-gzip '' | grep -qx b.txt
}

@test "zsh and fish complete fpga-gunzip and fpga-zcat like fpga-gzip after install" {
  command -v zsh >/dev/null || command -v fish >/dev/null || skip "neither zsh nor fish"
  install_to "$PWD/root"
  local name
  if command -v zsh >/dev/null; then
    # Installed where zsh looks by default for the configured prefix.
    local prefix zdir
    prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD_DIR/CMakeCache.txt")
    zdir=$(cd root && ls -d share/zsh/*/_fpga-gzip)
    zdir=${zdir%/_fpga-gzip}
    zsh -f -c 'print -l $fpath' | grep -qx "$prefix/$zdir" || { echo "$prefix/$zdir is not in zsh's fpath"; false; }
    # compinit reads the #compdef lines of every file in $fpath: with zsh's
    # whole fpath some 1.5 s of CPU for its thousands of completions, so
    # ours and the folder of compinit's own helpers (compaudit) only.
    run zsh -f -c 'fpath=("$1" "$2"); autoload -Uz compinit; compinit -u -D
      print -r -- ${_comps[fpga-gzip]} ${_comps[fpga-gunzip]} ${_comps[fpga-zcat]}' \
      _ "$PWD/root/$zdir" "$(zsh -f -c 'print -l $fpath' | grep -m1 '/functions/Completion$')"
    [ "$status" -eq 0 ]
    [ "$output" = "_fpga-gzip _fpga-gzip _fpga-gzip" ]
  fi
  if command -v fish >/dev/null; then
    # fish loads a completion file by the command's name, for commands in PATH,
    # from the vendor_completions.d of each XDG_DATA_DIRS entry.
    for name in fpga-gzip fpga-gunzip fpga-zcat; do
      PATH=$PWD/root/bin:$PATH HOME=$PWD XDG_CONFIG_HOME=$PWD/cfg XDG_DATA_HOME=$PWD/data \
        XDG_DATA_DIRS=$PWD/root/share fish -c 'complete -C"$argv[1] --std"' $name |
        cut -f1 | sort > $name.fish.out
      grep -qx -- --stdout $name.fish.out
    done
    cmp fpga-gzip.fish.out fpga-gunzip.fish.out
    cmp fpga-gzip.fish.out fpga-zcat.fish.out
  fi
}

@test "gzip -v: one 'extra field of N bytes ignored' a member (23, 14 for the end marker), exit 0, as fpga-gzip(1) says" {
  command -v gzip >/dev/null || skip "no gzip"
  grep -q 'extra field of 23 bytes ignored' "$FPGA_SOURCE_DIR/man/fpga-gzip.1"
  grep -q '14 for the end marker' "$FPGA_SOURCE_DIR/man/fpga-gzip.1"
  make_text in 640
  "$OURS" -c -b 128K in > in.gz
  # 5 blocks of 128 KiB (FT and FC) and the end marker (FT).
  run gzip -tv in.gz
  [ "$status" -eq 0 ]
  [ "$(grep -c 'in.gz: extra field of 23 bytes ignored' <<< "$output")" -eq 5 ]
  [ "$(grep -c 'in.gz: extra field of 14 bytes ignored' <<< "$output")" -eq 1 ]
  [[ $output == *OK* ]]
  gzip -dvc in.gz > out 2> err
  cmp in out
  [ "$(grep -c 'extra field of 23 bytes ignored' err)" -eq 5 ]
  [ "$(grep -c 'extra field of 14 bytes ignored' err)" -eq 1 ]
  # Without -v, nothing.
  run bash -c 'gzip -dc in.gz 2>&1 >/dev/null'
  [ -z "$output" ]
}
