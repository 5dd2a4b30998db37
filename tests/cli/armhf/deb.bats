#!/usr/bin/env bats
# The armhf package (make deb ARCH=armhf): scripts/make-deb.sh on the static
# armhf build (make armhf). Built here, installed nowhere: nothing ran on a
# board (the programs it holds run under qemu-user in cli.armhf.binaries).

load ../helpers

ARMHF_BUILD=${FPGA_ARMHF_BUILD:-$FPGA_SOURCE_DIR/build-armhf}

setup() {
  [ -x "$ARMHF_BUILD/tools/fpga-gzip" ] || skip "no armhf build (make armhf)"
  command -v dpkg-deb >/dev/null || skip "dpkg-dev is not installed"
  cd "$BATS_TEST_TMPDIR"
}

@test "the armhf .deb: Architecture armhf, no Depends, what the install installs minus nothing, static programs that run, lintian without errors" {
  MAKE_DEB_BUILD=0 DEB_XZ_LEVEL=0 DEB_VERSION=0.1.0+armhftest DEB_MAINTAINER="fpga-tools tests <tests@example.org>" \
    run "$FPGA_SOURCE_DIR/scripts/make-deb.sh" "$ARMHF_BUILD" "$PWD/out"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  local deb
  deb=$(tail -n 1 <<< "$output")
  [ "$deb" = "$PWD/out/fpga-tools_0.1.0+armhftest_armhf.deb" ]
  [ "$(dpkg-deb -f "$deb" Architecture)" = armhf ]
  [ -z "$(dpkg-deb -f "$deb" Depends)" ]
  [ -z "$(dpkg-deb -f "$deb" Pre-Depends)" ]
  # The package holds exactly what cmake --install put in the stage (man
  # pages compressed, the changelog and copyright added), no XRT plugin.
  dpkg-deb -x "$deb" root
  (cd out/stage && find . -type f -o -type l | sed 's/\.[1-7]$/&.gz/' | sort) > want
  (cd root && find . -type f -o -type l | grep -v '^./usr/share/doc/fpga-tools/\|^./usr/share/lintian/' | sort) > got
  diff want got
  [ ! -e root/usr/lib/fpga-tools ]
  local t
  for t in fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote; do
    readelf -h "root/usr/bin/$t" | grep -q 'hard-float ABI'
    ! readelf -d "root/usr/bin/$t" | grep -q NEEDED
  done
  [ "$(readlink root/usr/bin/fpga-gunzip)" = fpga-gzip ]
  [ -f root/usr/share/fpga-tools/fashion-cnv.fbnn ]
  # Every lintian override says why (a comment above it).
  grep -q '^# Static on purpose' root/usr/share/lintian/overrides/fpga-tools
  # Stripped, and still the programs: a round trip under qemu, read by gzip.
  ! readelf -S root/usr/bin/fpga-gzip | grep -q '\.debug_'
  make_text t 200
  qemu-arm-static root/usr/bin/fpga-gzip -c t | gzip -dc | cmp - t
  qemu-arm-static -0 fpga-zcat root/usr/bin/fpga-gzip < <(gzip -c t) | cmp - t
}
