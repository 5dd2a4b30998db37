#!/bin/sh
# Builds the Debian package of fpga-tools from what `make install` installs.
#
#   scripts/make-deb.sh BUILD_DIR [OUT]      bring the build tree BUILD_DIR up
#                                            to date (configuring it first if
#                                            it is not), install it with prefix
#                                            /usr into OUT/stage, package it
#   scripts/make-deb.sh --package STAGE OUT  package an installed tree
#
# The package is made from the build the tests ran, not a second build: the
# project's CMake flags are Debian's hardening flags already (FPGA_HARDENING),
# and every install rule takes its paths from the prefix of the install. It
# is written to OUT (default BUILD_DIR) as fpga-tools_VERSION_ARCH.deb and
# its path printed on the last line. Whatever the install rules put under
# the prefix goes into the package: binaries, the XRT plugin, man pages
# (compressed), completions, the default model, systemd units and sysusers.d
# files (with the maintainer scripts Debian expects for them). Environment:
#   DEB_VERSION      package version (default: the project's version, plus
#                    +gitN.HASH in a git checkout, N = commits on HEAD)
#   DEB_MAINTAINER   "Name <address>" (default: DEBFULLNAME <DEBEMAIL>, else
#                    the last committer)
#   CMAKE_FLAGS      extra cmake arguments when BUILD_DIR is configured here
#   JOBS             parallel build jobs (default nproc)
#   MAKE_DEB_BUILD=0 package BUILD_DIR as it is, without bringing it up to
#                    date (the tests package the build they test)
#   LINTIAN=0        do not run lintian on the package (it runs when installed;
#                    an error from it fails the build)
#   DEB_XZ_LEVEL     xz level of the package's data (default: dpkg-deb's, 6);
#                    the tests use 0: the same files, a fifth of the CPU time
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
PKG=fpga-tools

die() { echo "make-deb: $*" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
  command -v $tool >/dev/null || die "$tool is missing (scripts/install-deps.sh --deb installs dpkg-dev)"
done

project_version() {
  sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$1/CMakeCache.txt"
}

# A tree with uncommitted changes gets ~dirty, which sorts before the clean
# build of the same commit, so installing that one replaces it.
default_version() { # project-version
  if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    dirty=""
    git -C "$SRC" diff --quiet HEAD -- || dirty="~dirty"
    echo "$1+git$(git -C "$SRC" rev-list --count HEAD).$(git -C "$SRC" rev-parse --short=10 HEAD)$dirty"
  else
    echo "$1"
  fi
}

maintainer() {
  if [ -n "${DEB_MAINTAINER:-}" ]; then echo "$DEB_MAINTAINER"; return; fi
  if [ -n "${DEBEMAIL:-}" ]; then echo "${DEBFULLNAME:-fpga-tools} <$DEBEMAIL>"; return; fi
  if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    m=$(git -C "$SRC" log -1 --format='%cn <%ce>')
    case $m in *@*.*'>') echo "$m"; return ;; esac
  fi
  die "set DEB_MAINTAINER=\"Name <address>\" (or DEBEMAIL)"
}

# The time stamp of the changelog: the commit's, so a rebuild is identical.
build_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then echo "$SOURCE_DATE_EPOCH"
  elif git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then git -C "$SRC" log -1 --format=%ct
  else date +%s; fi
}

# The Debian architecture of the programs in an installed tree, from their
# ELF headers (an armhf cross build is packaged on an amd64 machine), and
# the strip that reads them.
package_arch() { # stage
  f=$(find "$1/usr/bin" -type f | sort | head -n 1)
  [ -n "$f" ] || die "$1: no programs in usr/bin"
  h=$(LC_ALL=C readelf -h "$f" 2>/dev/null) || die "$f: not an ELF file"
  case $h in
    *"Machine:"*"X86-64"*) echo amd64 ;;
    *"Machine:"*"AArch64"*) echo arm64 ;;
    *"Machine:"*"ARM"*"hard-float"*) echo armhf ;;
    *"Machine:"*"ARM"*) echo armel ;;
    *) dpkg-architecture -qDEB_HOST_ARCH ;;
  esac
}
strip_for() { # arch
  gnu=$(dpkg-architecture -a"$1" -qDEB_HOST_GNU_TYPE 2>/dev/null)
  if [ "$1" != "$(dpkg-architecture -qDEB_BUILD_ARCH)" ] && command -v "$gnu-strip" >/dev/null; then
    echo "$gnu-strip"
  else
    echo strip
  fi
}

# package STAGE OUT VERSION: turns an installed tree (DESTDIR) into a .deb.
package() {
  stage=$1 out=$2 version=$3
  [ -d "$stage/usr" ] || die "$stage: no usr/ (not an installed tree with prefix /usr)"
  arch=$(package_arch "$stage")
  maint=$(maintainer)
  epoch=$(build_epoch)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root=$work/src/debian/$PKG
  mkdir -p "$work/src/debian" && cp -a "$stage" "$root"
  rm -rf "$root/DEBIAN"

  # Debian ships manual pages compressed; .so stubs stay stubs (man-db finds
  # the .gz they name).
  if [ -d "$root/usr/share/man" ]; then
    find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
  fi

  doc=$root/usr/share/doc/$PKG
  mkdir -p "$doc"
  date_rfc=$(LC_ALL=C date -u -d "@$epoch" -R)
  {
    echo "$PKG ($version) unstable; urgency=medium"
    echo
    if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
      case $version in
        *~dirty) echo "  * Built from commit $(git -C "$SRC" rev-parse HEAD),"
                 echo "    with uncommitted changes." ;;
        *) echo "  * Built from commit $(git -C "$SRC" rev-parse HEAD)." ;;
      esac
    else
      echo "  * Built from a source tree."
    fi
    echo
    echo " -- $maint  $date_rfc"
  } > "$work/changelog"
  gzip -9n < "$work/changelog" > "$doc/changelog.gz"
  cp "$SRC/scripts/debian-copyright" "$doc/copyright"

  # Systemd units where Debian's systemd looks for them.
  units=""
  for d in "$root/lib/systemd/system" "$root/usr/lib/systemd/system"; do
    [ -d "$d" ] || continue
    for u in "$d"/*.service "$d"/*.socket "$d"/*.timer; do
      [ -f "$u" ] && units="$units $(basename "$u")"
    done
  done

  # Stripped as dh_strip does (debug sections, and .comment and .note too).
  strip=$(strip_for "$arch")
  find "$root" -type f | while read -r f; do
    head -c 4 "$f" | grep -q 'ELF' || continue
    case $f in
      *.so|*.so.*) $strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f" ;;
      *) $strip --remove-section=.comment --remove-section=.note "$f" ;;
    esac
  done

  # Regular permissions whatever the umask of the build was.
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod go-w,a+r {} +
  find "$root" -type f -perm /111 -exec chmod 0755 {} +

  # Dependencies from the ELF files: the tools' libraries are needed; the
  # XRT plugin's (libxrt) only where there is a card, so they are suggested.
  mkdir -p "$work/src/debian" "$root/DEBIAN"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' $PKG $PKG > "$work/src/debian/control"
  needed="" plugins=""
  for f in $(cd "$work/src" && find debian/$PKG -type f | sort); do
    head -c 4 "$work/src/$f" | grep -q 'ELF' || continue
    case $f in
      debian/$PKG/usr/lib/$PKG/*|debian/$PKG/usr/lib/*/$PKG/*) plugins="$plugins $f" ;;
      *) needed="$needed $f" ;;
    esac
  done
  [ -n "$needed" ] || die "$stage: no programs installed"
  # A static build (the armhf one) needs no shared library, and dpkg-shlibdeps
  # has nothing to say about it: no Depends. A dynamic one must have some.
  dynamic=""
  for f in $needed $plugins; do
    LC_ALL=C readelf -d "$work/src/$f" 2>/dev/null | grep -q NEEDED && dynamic="$dynamic $f"
  done
  depends="" suggests=""
  if [ -n "$dynamic" ]; then
    # (Its warning that binaries "should already be installed in their
    # package's directory" is spurious here: they are, under debian/PKG.)
    # shellcheck disable=SC2086
    (cd "$work/src" && dpkg-shlibdeps -O -e $needed ${plugins:+-dSuggests -e $plugins}) \
      > "$work/substvars" 2> "$work/shlibdeps.err" || { cat "$work/shlibdeps.err" >&2; exit 1; }
    grep -v "should already be installed in their package's directory" "$work/shlibdeps.err" >&2 || true
    depends=$(sed -n 's/^shlibs:Depends=//p' "$work/substvars")
    suggests=$(sed -n 's/^shlibs:Suggests=//p' "$work/substvars")
    [ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
  fi
  size=$(du -sk --apparent-size "$root" | cut -f1)

  {
    echo "Package: $PKG"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maint"
    echo "Installed-Size: $size"
    [ -z "$depends" ] || echo "Depends: $depends"
    [ -z "$suggests" ] || echo "Suggests: $suggests"
    echo "Section: utils"
    echo "Priority: optional"
    echo "Description: data-parallel compression and inference on Alveo FPGA cards or CPUs"
    echo " Unix command-line tools that spread data-parallel work over Xilinx Alveo"
    echo " cards through XRT, or over CPU cores where no card is present:"
    echo " fpga-gzip (a parallel gzip, also as fpga-gunzip and fpga-zcat),"
    echo " fpga-split and fpga-cat (cut a job into chunks and join the results in"
    echo " order, for GNU parallel or xargs), fpga-infer (binarized neural"
    echo " network image classification, with a default model) and fpga-remote"
    echo " (runs fpga-gzip or fpga-infer on other hosts over SSH or HTTP(S),"
    echo " output identical to a local run; its server, fpga-remote serve, with"
    echo " a systemd unit that is installed but not enabled)."
    echo " ."
    if [ -z "$dynamic" ]; then
      echo " This build is static (glibc included) and has no XRT plugin: it is"
      echo " the build for PYNQ boards' images (Ubuntu 18.04 to 22.04), where the"
      echo " BNN engine runs with NEON."
    else
      echo " Cards are used through an XRT plugin loaded at run time, so the tools"
      echo " run on hosts without XRT; install XRT where there is a card."
    fi
  } > "$root/DEBIAN/control"

  # A static build (armhf, for PYNQ images from Ubuntu 18.04 to 22.04) is
  # static on purpose, and so embeds the libraries it links: lintian's
  # overrides, each with its reason (lintian shows the comment).
  if [ -z "$dynamic" ]; then
    mkdir -p "$root/usr/share/lintian/overrides"
    {
      echo "# Static on purpose: one build runs on every PYNQ image (glibc 2.27 to 2.35"
      echo "# and later) with nothing to match (README, Pynq-Z1 / armhf)."
      echo "$PKG: statically-linked-binary [usr/bin/*]"
      echo "# Static linking embeds the libraries linked, from Debian's own static"
      echo "# archives (a rebuild of the package takes their security updates)."
      for lib in zlib curl gmp libidn2-0 libssh2; do
        echo "$PKG: embedded-library $lib [usr/bin/*]"
      done
    } > "$root/usr/share/lintian/overrides/$PKG"
  fi

  # Files under /etc are configuration.
  if [ -d "$root/etc" ]; then
    (cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"
    [ -s "$root/DEBIAN/conffiles" ] || rm "$root/DEBIAN/conffiles"
  fi

  # System users that units run as (sysusers.d), created before they start.
  sysusers=""
  for f in "$root"/usr/lib/sysusers.d/*.conf; do
    [ -f "$f" ] && sysusers="$sysusers $(basename "$f")"
  done

  if [ -n "$units" ] || [ -n "$sysusers" ]; then
    write_maintainer_scripts "$root/DEBIAN" "$units" "$sysusers"
  fi

  # No time later than the commit's: packaging one tree twice gives the same bytes.
  find "$root" -newermt "@$epoch" -print0 | xargs -0r touch -h -d "@$epoch"

  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
     xargs -r -d '\n' md5sum) > "$root/DEBIAN/md5sums"

  mkdir -p "$out"
  deb=$out/${PKG}_${version}_$arch.deb
  # Under a temporary name, renamed when complete: no partial package is left.
  SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz ${DEB_XZ_LEVEL:+-z"$DEB_XZ_LEVEL"} --build "$root" "$deb.tmp" >/dev/null ||
    { rm -f "$deb.tmp"; die "dpkg-deb failed"; }
  mv -f "$deb.tmp" "$deb"
  echo "$deb"
}

# Maintainer scripts for systemd units and sysusers.d files: create the
# users, reload systemd when the units change, clean up on purge. The units
# are not enabled or started on install: a server on every host of a fleet is
# the administrator's choice (systemctl enable --now UNIT).
# shellcheck disable=SC2016 # the scripts' own $1 and $unit
write_maintainer_scripts() { # DEBIAN-dir units sysusers
  dir=$1 units=$2 sysusers=$3
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo 'if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then'
    if [ -n "$sysusers" ]; then
      echo '	if command -v systemd-sysusers >/dev/null; then'
      echo "		systemd-sysusers$sysusers"
      echo '	fi'
    fi
    if [ -n "$units" ]; then
      echo "	for unit in$units; do"
      echo '		deb-systemd-helper update-state "$unit" >/dev/null || true'
      echo '	done'
      echo '	if [ -d /run/systemd/system ]; then'
      echo '		systemctl --system daemon-reload >/dev/null || true'
      echo "		for unit in$units; do"
      echo '			deb-systemd-invoke try-restart "$unit" >/dev/null || true'
      echo '		done'
      echo '	fi'
    fi
    echo 'fi'
  } > "$dir/postinst"
  chmod 0755 "$dir/postinst"
  [ -n "$units" ] || return 0
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo 'if [ -d /run/systemd/system ] && [ "$1" = remove ]; then'
    echo "	deb-systemd-invoke stop$units >/dev/null || true"
    echo 'fi'
  } > "$dir/prerm"
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo 'if [ -d /run/systemd/system ]; then'
    echo '	systemctl --system daemon-reload >/dev/null || true'
    echo 'fi'
    echo 'if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null; then'
    echo "	deb-systemd-helper mask$units >/dev/null || true"
    echo 'fi'
    echo 'if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then'
    echo "	deb-systemd-helper purge$units >/dev/null || true"
    echo "	deb-systemd-helper unmask$units >/dev/null || true"
    echo 'fi'
  } > "$dir/postrm"
  chmod 0755 "$dir/prerm" "$dir/postrm"
}

if [ "${1:-}" = "--package" ]; then
  [ $# -eq 3 ] || die "usage: make-deb.sh --package STAGE OUT"
  [ -n "${DEB_VERSION:-}" ] || die "--package needs DEB_VERSION"
  package "$2" "$3" "$DEB_VERSION"
  exit 0
fi

[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: make-deb.sh BUILD_DIR [OUT] | --package STAGE OUT"
build=$1 out=${2:-$1}
case $build in /*) ;; *) build=$PWD/$build ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$SRC"
if [ ! -f "$build/CMakeCache.txt" ]; then
  # shellcheck disable=SC2086
  cmake -S "$SRC" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_FLAGS:-} >/dev/null
fi
grep -q '^FPGA_HARDENING:BOOL=ON' "$build/CMakeCache.txt" ||
  die "$build: configured with FPGA_HARDENING=OFF; a package needs Debian's hardening flags"
if [ "${MAKE_DEB_BUILD:-1}" != 0 ]; then
  cmake --build "$build" -j "${JOBS:-$(nproc)}"
fi
mkdir -p "$out"
rm -rf "$out/stage"
DESTDIR=$out/stage cmake --install "$build" --prefix /usr >/dev/null
version=${DEB_VERSION:-$(default_version "$(project_version "$build")")}
rm -f "$out"/${PKG}_*.deb
deb=$(package "$out/stage" "$out" "$version")
if [ "${LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null; then
  echo "lintian $deb"
  # Errors fail the build; warnings are shown (README: none are expected).
  rc=0
  out=$(lintian --fail-on error "$deb" 2>&1) || rc=$?
  printf '%s\n' "$out" | grep -v '^running with root privileges\|^$' || true
  [ $rc -eq 0 ] || die "lintian found errors in $deb"
fi
echo "$deb"
