#!/bin/sh
# Builds the armhf sysroot that the static armhf build links against: the
# armhf -dev packages of the libraries fpga-tools uses and the static
# libraries they pull in, fetched with `apt-get download` and unpacked with
# `dpkg -x` into a cache directory outside the repository. Nothing armhf is
# ever installed with apt-get or dpkg -i (libisal-dev:armhf, for one, is not
# co-installable and removes the amd64 ISA-L). libc and libstdc++ are the
# cross toolchain's (crossbuild-essential-armhf, /usr/arm-linux-gnueabihf).
#
#   scripts/armhf-sysroot.sh          build or refresh it; prints its path
#   scripts/armhf-sysroot.sh --path   print its path only
#
# FPGA_ARMHF_SYSROOT overrides the place (default
# /var/cache/fpga-tools/armhf-sysroot). It holds usr/ (the unpacked
# packages) and a stamp of the package versions; it is rebuilt when a
# version changes (a security update, say) or the package list does.
set -eu
DIR=${FPGA_ARMHF_SYSROOT:-/var/cache/fpga-tools/armhf-sysroot}
[ "${1:-}" = "--path" ] && { echo "$DIR"; exit 0; }

# The -dev packages: zlib, libdeflate, GnuTLS (client certificates of
# fpga-remote), libmicrohttpd (fpga-remote serve), libcurl (the HTTP client),
# GoogleTest; then what their static archives need (libcurl's, GnuTLS's).
# Not ISA-L (the armhf build has FPGAIO_WITH_ISAL=OFF), not XRT (no armhf
# package), not uuid (XRT's plugin only). p11-kit and Kerberos have no
# static archive: the armhf link gets stubs for them (cmake/armhf-stubs.c).
PKGS="zlib1g-dev libdeflate-dev libgtest-dev libmicrohttpd-dev libcurl4-gnutls-dev
      libgnutls28-dev nettle-dev libgmp-dev libtasn1-6-dev libidn2-dev libunistring-dev libp11-kit-dev
      libnghttp2-dev librtmp-dev libssh2-1-dev libssl-dev libpsl-dev libzstd-dev libbrotli-dev
      libldap-dev libsasl2-dev libkrb5-dev"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
command -v dpkg-deb >/dev/null || { echo "armhf-sysroot: dpkg-deb is missing" >&2; exit 1; }

# The armhf architecture in apt's sources, once.
if ! dpkg --print-foreign-architectures | grep -qx armhf; then
  echo "armhf-sysroot: dpkg --add-architecture armhf; apt-get update"
  $SUDO dpkg --add-architecture armhf
  $SUDO apt-get update -qq
fi

# The versions apt would fetch now (one apt-cache call): the stamp.
want() {
  # shellcheck disable=SC2046
  apt-cache show --no-all-versions $(for p in $PKGS; do echo "$p:armhf"; done) 2>/dev/null |
    awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}' | sort
}
npkgs=$(echo $PKGS | wc -w)
stamp=$(want)
if [ "$(printf '%s\n' "$stamp" | grep -c =)" -ne "$npkgs" ]; then
  # A stale package list (a fresh machine after add-architecture): update once.
  $SUDO apt-get update -qq
  stamp=$(want)
fi
n=$(printf '%s\n' "$stamp" | grep -c =) || true
[ "$n" -eq "$npkgs" ] ||
  { echo "armhf-sysroot: apt knows only $n of the armhf packages: $(echo $PKGS)" >&2; exit 1; }
if [ -f "$DIR/stamp" ] && [ "$(cat "$DIR/stamp")" = "$stamp" ] && [ -d "$DIR/usr" ]; then
  echo "$DIR"
  exit 0
fi

echo "armhf-sysroot: building $DIR"
$SUDO mkdir -p "$(dirname "$DIR")"
tmp=$($SUDO mktemp -d "$DIR.new.XXXXXX")
trap '$SUDO rm -rf "$tmp"' EXIT
# apt-get download runs as the _apt user: it needs a folder it can write.
$SUDO chmod 0755 "$tmp"
$SUDO mkdir "$tmp/debs" && $SUDO chmod 0777 "$tmp/debs"
# shellcheck disable=SC2046
(cd "$tmp/debs" && $SUDO apt-get download -q $(for pv in $stamp; do echo "${pv%%=*}:armhf=${pv#*=}"; done) >/dev/null) ||
  { echo "armhf-sysroot: apt-get download of the armhf packages failed" >&2; exit 1; }
for deb in "$tmp"/debs/*.deb; do
  $SUDO dpkg-deb -x "$deb" "$tmp/root"
done
# Static archives only: the shared-library links of the -dev packages point
# at runtime packages that are not fetched, and the link must not find them.
$SUDO find "$tmp/root" -name '*.so' -delete
# pkg-config files name /usr: the build sets PKG_CONFIG_SYSROOT_DIR.
printf '%s\n' "$stamp" | $SUDO tee "$tmp/root/stamp" >/dev/null
$SUDO rm -rf "$DIR.old"
[ -d "$DIR" ] && $SUDO mv "$DIR" "$DIR.old"
$SUDO mv "$tmp/root" "$DIR"
$SUDO rm -rf "$DIR.old"
echo "$DIR"
