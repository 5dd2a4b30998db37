#!/usr/bin/env bats
# The package of `make deb` installed, run and purged with dpkg on a copy of
# this machine (an overlay of / in a private mount namespace, so the host is
# not touched), with the build-only packages and XRT removed there; units and
# sysusers.d files with their maintainer scripts; the README's fleet install
# over a real sshd.

load ../helpers
load helpers

@test "installs with dpkg (build-only packages and XRT purged first), runs, and purges clean" {
  PKG_DEB=$(deb)
  [ ! -e /usr/bin/fpga-gzip ] || skip "fpga-tools is installed on this host"
  need_overlay
  run in_overlay '
    # Build-only packages and XRT out, as on a fresh host (forced: their
    # reverse dependencies stay, which a fresh host would not have either).
    # One dpkg-query and one dpkg for all: each reads the whole database.
    installed=$(dpkg-query -W -f="\${Package} \${Status}\n" libisal-dev libdeflate-dev zlib1g-dev \
      libgtest-dev uuid-dev libxrt-dev libxrt1 2>/dev/null | awk "/ install ok installed\$/ {print \$1}")
    [ -z "$installed" ] || dpkg --purge --force-depends $installed >/dev/null 2>&1
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
  install_stage
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
