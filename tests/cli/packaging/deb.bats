#!/usr/bin/env bats
# `make deb`: the package holds what `make install` installs (binaries, XRT
# plugin, man pages, completions, default model, systemd units), passes
# lintian without errors, and installs, runs and purges with dpkg on a copy
# of this machine (an overlay of / in a private mount namespace, so the host
# is not touched), with the build-only packages and XRT removed there.

load ../helpers

BUILD_DIR=${FPGA_BUILD_DIR:-$FPGA_BIN/..}
DEB_BUILD=$BUILD_DIR/deb

setup_file() {
  command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-dev (scripts/install-deps.sh --deb)"
  # The main build's compiler launcher (ccache), if it has one.
  local launcher
  launcher=$(sed -n 's/^CMAKE_CXX_COMPILER_LAUNCHER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
  LINTIAN=0 CMAKE_FLAGS=${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher} JOBS=2 \
    nice "$FPGA_SOURCE_DIR/scripts/make-deb.sh" "$DEB_BUILD" > "$DEB_BUILD.log" 2>&1 ||
    { tail -n 30 "$DEB_BUILD.log" >&3; return 1; }
}

deb() { ls "$DEB_BUILD"/fpga-tools_*.deb; }

@test "make deb writes one package named by version and architecture" {
  [ "$(ls "$DEB_BUILD"/*.deb | wc -l)" -eq 1 ]
  local version arch
  version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$DEB_BUILD/CMakeCache.txt")
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
  # Every dependency is a package Debian has.
  for p in $(echo "$depends, $suggests" | tr ',' '\n' | sed 's/(.*//; s/ //g'); do
    [ -z "$p" ] || apt-cache show "$p" > /dev/null 2>&1 || { echo "unknown package $p"; false; }
  done
}

@test "every library an installed ELF file needs comes from a package it depends on (or suggests, for the plugin)" {
  dpkg-deb -x "$(deb)" root
  local depends suggests f lib path pkg missing="" n=0
  depends=" $(dpkg-deb -f "$(deb)" Depends | sed 's/([^)]*)//g; s/,/ /g') "
  suggests=" $(dpkg-deb -f "$(deb)" Suggests | sed 's/([^)]*)//g; s/,/ /g') "
  for f in $(find root -type f); do
    head -c 4 "$f" | grep -q ELF || continue
    n=$((n + 1))
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|AArch64|64bit/ {print $NF; exit}')
      [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
      pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
      [ -n "$pkg" ] || pkg=$(dpkg -S "$path" | head -n 1 | cut -d: -f1)
      case $f in
        */lib/*/fpga-tools/*) [[ $depends$suggests == *" $pkg "* ]] ;;
        *) [[ $depends == *" $pkg "* ]] ;;
      esac || missing="$missing ${f#root}:$lib($pkg)"
    done
  done
  [ "$n" -ge 4 ]
  [ -z "$missing" ] || { echo "not in Depends:$missing"; false; }
}

@test "the package holds exactly what make install installs, plus its doc files" {
  DESTDIR=$PWD/stage cmake --install "$DEB_BUILD" > /dev/null
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

# Runs a shell script as root in a copy-on-write copy of this machine: an
# overlay of / in a private mount namespace; the host sees none of its writes.
# Exit status 77: no overlay here. Call need_overlay first (outside `run`).
need_overlay() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (overlay of /)"
  command -v unshare >/dev/null && unshare -m true 2>/dev/null || skip "cannot unshare a mount namespace"
}
in_overlay() { # script (the package is /tmp/pkg.deb there)
  mkdir -p ovl/up ovl/work ovl/root
  cp "$PKG_DEB" ovl/pkg.deb
  printf '%s\n' "$1" > ovl/script
  unshare -m --propagation private sh -c '
    o=$1
    mount -t overlay overlay -o lowerdir=/,upperdir=$o/up,workdir=$o/work $o/root || exit 77
    mount -t proc proc $o/root/proc && mount --rbind /dev $o/root/dev &&
    mount -t tmpfs tmpfs $o/root/tmp && mount -t tmpfs tmpfs $o/root/run || exit 1
    cp $o/pkg.deb $o/script $o/root/tmp/
    chroot $o/root /bin/sh -e /tmp/script' _ "$PWD/ovl" > ovl.log 2>&1
  local rc=$?
  cat ovl.log
  return $rc
}

@test "installs with dpkg (build-only packages and XRT purged first), runs, and purges clean" {
  PKG_DEB=$(deb)
  [ ! -e /usr/bin/fpga-gzip ] || skip "fpga-tools is installed on this host"
  need_overlay
  run in_overlay '
    # Build-only packages and XRT out, as on a fresh host (forced: their
    # reverse dependencies stay, which a fresh host would not have either).
    for p in libisal-dev libdeflate-dev zlib1g-dev libgtest-dev uuid-dev libxrt-dev libxrt1; do
      if dpkg-query -W -f="\${Status}" $p 2>/dev/null | grep -q "install ok installed"; then
        dpkg --purge --force-depends $p >/dev/null 2>&1
      fi
    done
    dpkg -i /tmp/pkg.deb
    dpkg -s fpga-tools | grep -q "^Status: install ok installed"
    cd /tmp
    seq 1 200000 > data
    fpga-gzip -k data
    gzip -dc data.gz | cmp - data
    fpga-zcat data.gz | cmp - data
    cp data.gz d2.gz && fpga-gunzip d2.gz && cmp d2 data
    fpga-gzip --list-devices
    fpga-split --version && fpga-cat --version
    fpga-infer --info | grep -qi fashion
    printf "P5\n28 28\n255\n" > shirt.pgm; head -c 784 /dev/zero >> shirt.pgm
    fpga-infer -q shirt.pgm | grep -qE "^0	[0-9]	[A-Za-z]"
    for n in fpga-gzip fpga-gunzip fpga-zcat fpga-split fpga-cat fpga-infer; do
      man -w $n >/dev/null
    done
    man -w 7 fpga-tools >/dev/null
    dpkg --purge fpga-tools
    if dpkg -s fpga-tools >/dev/null 2>&1; then echo "still installed"; exit 1; fi
    if ls -d /usr/bin/fpga-* /usr/share/doc/fpga-tools /usr/share/fpga-tools 2>/dev/null; then exit 1; fi
    echo INSTALL-TEST-DONE'
  echo "$output"
  [ "$status" -ne 77 ] || skip "cannot mount an overlay of / here"
  [ "$status" -eq 0 ]
  [[ $output == *INSTALL-TEST-DONE* ]]
  # The host is untouched.
  [ ! -e /usr/bin/fpga-gzip ]
}

@test "a systemd unit and sysusers.d file that make install adds are packaged with maintainer scripts; the unit is not enabled" {
  # The unit of `fpga-remote serve` comes from its install rules; a stand-in
  # here, added to the installed tree, exercises the same packaging.
  DESTDIR=$PWD/stage cmake --install "$DEB_BUILD" > /dev/null
  mkdir -p stage/usr/lib/systemd/system
  printf '%s\n' '[Unit]' 'Description=test unit' 'Documentation=man:fpga-tools(7)' '' \
    '[Service]' 'ExecStart=/usr/bin/fpga-gzip --version' 'DynamicUser=yes' '' \
    '[Install]' 'WantedBy=multi-user.target' > stage/usr/lib/systemd/system/fpga-test.service
  # and a system user it might run as.
  mkdir -p stage/usr/lib/sysusers.d
  echo 'u fpgatestuser - "fpga-tools test user" /nonexistent' > stage/usr/lib/sysusers.d/fpga-test.conf
  DEB_VERSION=0.0.1 "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage out
  PKG_DEB=$(ls out/fpga-tools_0.0.1_*.deb)
  dpkg-deb -c "$PKG_DEB" | grep -q ' \./usr/lib/systemd/system/fpga-test.service$'
  dpkg-deb -e "$PKG_DEB" ctl
  for s in postinst prerm postrm; do
    [ -x ctl/$s ] && sh -n ctl/$s
    grep -q fpga-test.service ctl/$s
  done
  grep -q 'systemd-sysusers fpga-test.conf' ctl/postinst
  if command -v lintian >/dev/null; then
    run lintian --fail-on error,warning "$PKG_DEB"
    echo "$output"
    [ "$status" -eq 0 ]
  fi
  need_overlay
  run in_overlay '
    dpkg -i /tmp/pkg.deb
    test -f /usr/lib/systemd/system/fpga-test.service
    if command -v systemd-sysusers >/dev/null; then getent passwd fpgatestuser; fi
    if ls /etc/systemd/system/*.wants/fpga-test.service 2>/dev/null; then echo enabled; exit 1; fi
    dpkg --purge fpga-tools
    if test -e /usr/lib/systemd/system/fpga-test.service; then exit 1; fi
    echo UNIT-TEST-DONE'
  echo "$output"
  [ "$status" -ne 77 ] || skip "cannot mount an overlay of / here"
  [ "$status" -eq 0 ]
  [[ $output == *UNIT-TEST-DONE* ]]
}

@test "packaging one installed tree twice gives the same bytes (times clamped to the commit's)" {
  DESTDIR=$PWD/stage cmake --install "$DEB_BUILD" > /dev/null
  DEB_VERSION=0.0.2 "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage one
  touch stage/usr/bin/fpga-gzip # a later install
  DEB_VERSION=0.0.2 "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package stage two
  cmp one/fpga-tools_0.0.2_*.deb two/fpga-tools_0.0.2_*.deb
}

@test "make-deb.sh --package refuses a tree that is not an install with prefix /usr" {
  mkdir -p notree/bin
  DEB_VERSION=1 run "$FPGA_SOURCE_DIR/scripts/make-deb.sh" --package notree out
  [ "$status" -eq 1 ]
  [[ $output == *"notree: no usr/"* ]]
  [ ! -e out ]
}

@test "the README's fleet install runs as written: parallel, scp and ssh to a host (a real sshd on loopback), apt-get install" {
  PKG_DEB=$(deb)
  [ ! -e /usr/bin/fpga-gzip ] || skip "fpga-tools is installed on this host"
  for c in /usr/sbin/sshd ssh scp ssh-keygen parallel python3; do
    command -v $c >/dev/null || skip "no $c"
  done
  need_overlay
  # The README's commands, with the package's real name.
  sed -n '/^## Installing on a fleet/,/^## /p' "$FPGA_SOURCE_DIR/README.md" |
    sed -n '/^    deb=/,/dpkg-query/p' | sed 's/^    //' > readme.sh
  [ "$(wc -l < readme.sh)" -eq 4 ]
  sed -i "1s|^deb=[^ ]*|deb=$(basename "$PKG_DEB")|" readme.sh
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run in_overlay "
    mkdir -p /tmp/ssh /run/sshd /root/.ssh /tmp/src/build-deb /usr/local/bin
    ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/host_key
    ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/id
    cp /tmp/ssh/id.pub /tmp/ssh/authorized_keys
    printf '%s\n' 'Port $port' 'ListenAddress 127.0.0.1' 'HostKey /tmp/ssh/host_key' \
      'AuthorizedKeysFile /tmp/ssh/authorized_keys' 'PidFile /tmp/ssh/sshd.pid' 'UsePAM no' \
      'PermitRootLogin prohibit-password' 'StrictModes no' \
      'Subsystem sftp /usr/lib/openssh/sftp-server' > /tmp/ssh/sshd_config
    printf '%s\n' 'Host node1' '  HostName 127.0.0.1' '  Port $port' '  User root' \
      '  IdentityFile /tmp/ssh/id' '  StrictHostKeyChecking no' '  UserKnownHostsFile /dev/null' \
      '  BatchMode yes' '  LogLevel ERROR' > /root/.ssh/config
    /usr/sbin/sshd -D -e -f /tmp/ssh/sshd_config 2>/tmp/ssh/log &
    sshd=\$!
    trap 'kill \$sshd' EXIT
    for i in \$(seq 50); do ssh node1 true 2>/dev/null && break; sleep 0.2; done
    # sudo as root runs the command (there is no sudo here).
    command -v sudo >/dev/null || { printf '#!/bin/sh\nexec \"\$@\"\n' > /usr/local/bin/sudo; chmod 755 /usr/local/bin/sudo; }
    cp /tmp/pkg.deb /tmp/src/build-deb/$(basename "$PKG_DEB")
    cd /tmp/src
    echo node1 > nodes
    cat > readme.sh <<'README'
$(cat readme.sh)
README
    bash -e readme.sh > out 2>&1 || { cat out /tmp/ssh/log; exit 1; }
    cat out
    dpkg -s fpga-tools | grep -q '^Status: install ok installed'
    grep -q \"^node1	fpga-tools	\$(dpkg-deb -f /tmp/pkg.deb Version)\\\$\" out
    test ! -e /tmp/$(basename "$PKG_DEB")
    echo README-TEST-DONE"
  echo "$output"
  [ "$status" -ne 77 ] || skip "cannot mount an overlay of / here"
  [ "$status" -eq 0 ]
  [[ $output == *README-TEST-DONE* ]]
  [ ! -e /usr/bin/fpga-gzip ]
}
