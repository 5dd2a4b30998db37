# Shared set-up of the packaging suites: the package of the build under
# test, made once by scripts/make-deb.sh, and a copy-on-write copy of
# this machine to install it in.

BUILD_DIR=${FPGA_BUILD_DIR:-$FPGA_BIN/..}
# Every package of these suites with the xz level make-deb.sh is given here
# (the same for all, so that one made twice is the same bytes): 0, a fifth of
# the CPU time of dpkg-deb's default 6 for the same files.
export DEB_XZ_LEVEL=0
# Under ctest the package is made once for both suites, by the entry
# packaging.build (tests/CMakeLists.txt, FPGA_DEB_SHARED names its folder);
# a suite run alone makes its own.
if [ -n "${FPGA_DEB_SHARED:-}" ]; then
  DEB_BUILD=$FPGA_DEB_SHARED
else
  DEB_BUILD=$BUILD_DIR/deb-$(basename "$BATS_TEST_FILENAME" .bats)
fi

# The package of the build under test (make-deb.sh installs that tree with
# prefix /usr; it compiles nothing when the tree is up to date).
setup_file() {
  command -v dpkg-shlibdeps >/dev/null || skip "no dpkg-dev (scripts/install-deps.sh --deb)"
  if [ -n "${FPGA_DEB_SHARED:-}" ]; then
    ls "$DEB_BUILD"/fpga-tools_*.deb > /dev/null 2>&1 ||
      { echo "packaging.build made no package in $DEB_BUILD" >&3; tail -n 30 "$DEB_BUILD.log" >&3; return 1; }
    return 0
  fi
  LINTIAN=0 MAKE_DEB_BUILD=0 "$FPGA_SOURCE_DIR/scripts/make-deb.sh" "$BUILD_DIR" "$DEB_BUILD" > "$DEB_BUILD.log" 2>&1 ||
    { tail -n 30 "$DEB_BUILD.log" >&3; return 1; }
}

# The build tree installed as the package installs it.
install_stage() { DESTDIR=$PWD/stage cmake --install "$BUILD_DIR" --prefix /usr > /dev/null; }

deb() { ls "$DEB_BUILD"/fpga-tools_*.deb; }

# Runs a shell script as root in a copy-on-write copy of this machine: an
# overlay of / in a private mount namespace; the host sees none of its writes.
# man-db's dpkg trigger is off there (its auto-update flag removed): it
# rebuilt the index of every manual page on the machine at each dpkg -i and
# --purge, some 5 s of CPU each; man -w finds the pages without the index.
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
    rm -f $o/root/var/lib/man-db/auto-update
    chroot $o/root /bin/sh -e /tmp/script' _ "$PWD/ovl" > ovl.log 2>&1
  local rc=$?
  cat ovl.log
  return $rc
}
