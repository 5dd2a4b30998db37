#!/usr/bin/env bats
# `make deb`: the package holds what `make install` installs (binaries, XRT
# plugin, man pages, completions, default model, systemd units), depends on
# the right packages, passes lintian without errors, and is reproducible
# (installing it: install.bats).

load ../helpers
load helpers

@test "make deb writes one package named by version and architecture" {
  [ "$(ls "$DEB_BUILD"/*.deb | wc -l)" -eq 1 ]
  local version arch
  version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD_DIR/CMakeCache.txt")
  arch=$(dpkg --print-architecture)
  [[ $(basename "$(deb)") == fpga-tools_${version}*_$arch.deb ]]
  [ "$(dpkg-deb -f "$(deb)" Package)" = fpga-tools ]
  [[ $(dpkg-deb -f "$(deb)" Version) == "$version"* ]]
  [ "$(dpkg-deb -f "$(deb)" Architecture)" = "$arch" ]
  # The path on the last line of make-deb.sh's output.
  [ "$(tail -n 1 "$DEB_BUILD.log")" = "$(deb)" ]
}

@test "Depends names the tools' libraries; XRT is only suggested" {
  local depends suggests
  depends=$(dpkg-deb -f "$(deb)" Depends)
  suggests=$(dpkg-deb -f "$(deb)" Suggests)
  for lib in libc6 libstdc++6 libisal2 libdeflate0 zlib1g; do
    [[ $depends == *"$lib "* ]] || { echo "Depends lacks $lib: $depends"; false; }
  done
  [[ $depends != *libxrt* ]]
  if [ -n "$(dpkg-deb -c "$(deb)" | grep libfpgaio_xrt.so)" ]; then
    [[ $suggests == *libxrt* ]]
  fi
  # Every dependency is a package Debian has (one apt-cache for all; each
  # on its own only to name the one it does not know).
  local pkgs
  pkgs=$(echo "$depends, $suggests" | tr ',' '\n' | sed 's/(.*//; s/ //g')
  # shellcheck disable=SC2086
  apt-cache show $pkgs > /dev/null 2>&1 || for p in $pkgs; do
    apt-cache show "$p" > /dev/null 2>&1 || { echo "unknown package $p"; false; }
  done
}

@test "every library an installed ELF file needs comes from a package it depends on (or suggests, for the plugin)" {
  dpkg-deb -x "$(deb)" root
  local depends suggests f lib path pkg missing="" n=0 cache
  depends=" $(dpkg-deb -f "$(deb)" Depends | sed 's/([^)]*)//g; s/,/ /g') "
  suggests=" $(dpkg-deb -f "$(deb)" Suggests | sed 's/([^)]*)//g; s/,/ /g') "
  # Each library's package looked up once (dpkg -S reads the whole database).
  declare -A owner
  cache=$(ldconfig -p)
  for f in $(find root -type f); do
    head -c 4 "$f" | grep -q ELF || continue
    n=$((n + 1))
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      if [ -z "${owner[$lib]:-}" ]; then
        path=$(awk -v l="$lib" '$1 == l && /x86-64|AArch64|64bit/ {print $NF; exit}' <<< "$cache")
        [ -n "$path" ] || path=$(awk -v l="$lib" '$1 == l {print $NF; exit}' <<< "$cache")
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" | head -n 1 | cut -d: -f1)
        owner[$lib]=$pkg
      fi
      pkg=${owner[$lib]}
      case $f in
        */lib/fpga-tools/*|*/lib/*/fpga-tools/*) [[ $depends$suggests == *" $pkg "* ]] ;;
        *) [[ $depends == *" $pkg "* ]] ;;
      esac || missing="$missing ${f#root}:$lib($pkg)"
    done
  done
  [ "$n" -ge 4 ]
  [ -z "$missing" ] || { echo "not in Depends:$missing"; false; }
}

@test "the package holds exactly what make install installs, plus its doc files" {
  install_stage
  (cd stage && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./|/|' |
     sed -E 's|^(/usr/share/man/man[0-9]/.*)$|\1.gz|' | sort) > installed
  echo /usr/share/doc/fpga-tools/changelog.gz >> installed
  echo /usr/share/doc/fpga-tools/copyright >> installed
  sort -o installed installed
  dpkg-deb -c "$(deb)" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort > packaged
  diff installed packaged
  # Owned by root, nothing writable by group or others.
  ! dpkg-deb -c "$(deb)" | awk '{print $1, $2}' | grep -v ' root/root$' || false
  ! dpkg-deb -c "$(deb)" | awk '$1 !~ /^l/ {print $1}' | grep -E '^.....w|^........w' || false
}

@test "every program has a man page and bash, zsh and fish completions in the package" {
  dpkg-deb -x "$(deb)" root
  local bin name n=0
  for bin in root/usr/bin/*; do
    name=$(basename "$bin")
    n=$((n + 1))
    [ -f "root/usr/share/man/man1/$name.1.gz" ] || { echo "no man page: $name"; false; }
    [ -f "root/usr/share/bash-completion/completions/$name" ] || { echo "no bash completion: $name"; false; }
    [ -f "root/usr/share/fish/vendor_completions.d/$name.fish" ] || { echo "no fish completion: $name"; false; }
    grep -lq "^#compdef.* $name\\b\\|^#compdef $name\\b" root/usr/share/zsh/vendor-completions/_* ||
      { echo "no zsh completion: $name"; false; }
  done
  [ "$n" -ge 6 ]
  for name in fpga-gzip fpga-gunzip fpga-zcat fpga-split fpga-cat fpga-infer; do
    [ -x "root/usr/bin/$name" ]
  done
  [ -f root/usr/share/fpga-tools/fashion-cnv.fbnn ]
  cmp root/usr/share/fpga-tools/fashion-cnv.fbnn "$FPGA_SOURCE_DIR/models/fashion-cnv.fbnn"
  [ -f root/usr/share/man/man7/fpga-tools.7.gz ]
  # The stubs point at fpga-gzip(1); man-db resolves them to the .gz.
  [ "$(zcat root/usr/share/man/man1/fpga-zcat.1.gz)" = ".so man1/fpga-gzip.1" ]
  MANPAGER=cat man -M "$PWD/root/usr/share/man" fpga-zcat 2>&1 | grep -q '^FPGA-GZIP(1)'
  # Binaries are stripped.
  ! readelf -S root/usr/bin/fpga-gzip | grep -q '\.symtab\|\.debug_info' || false
}

@test "lintian finds no errors (warnings are printed)" {
  command -v lintian >/dev/null || skip "no lintian (scripts/install-deps.sh --deb)"
  run lintian --fail-on error "$(deb)"
  echo "$output" | grep -v 'running with root privileges' >&3 || true
  [ "$status" -eq 0 ]
  ! grep -q '^E:' <<< "$output" || false
}

@test "packaging one installed tree twice gives the same bytes (times clamped to the commit's)" {
  # Another install of the same build, later (its files newer), packaged
  # again under the version of the suite's package: the same bytes.
  install_stage
  touch stage/usr/bin/fpga-gzip
  DEB_VERSION=$(dpkg-deb -f "$(deb)" Version) "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage again
  cmp again/"$(basename "$(deb)")" "$(deb)"
}

@test "make-deb.sh --package refuses a tree that is not an install with prefix /usr" {
  mkdir -p notree/bin
  DEB_VERSION=1 run "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package notree out
  [ "$status" -eq 1 ]
  [[ $output == *"notree: no usr/"* ]]
  [ ! -e out ]
}
