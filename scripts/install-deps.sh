#!/bin/sh
# Installs the Debian packages fpga-tools needs to build, test and benchmark,
# when any is missing. Uses sudo when not root.
set -eu
PKGS="cmake g++ make pkg-config zlib1g-dev libisal-dev libdeflate-dev libgtest-dev libxrt-dev uuid-dev
      libcurl4-gnutls-dev libmicrohttpd-dev libgnutls28-dev openssh-server openssh-client openssl curl rsync
      bats parallel gzip pigz ncompress zip isal libdeflate-tools tabix python3 python3-numpy python3-onnx time
      dataset-fashion-mnist man-db groff-base mandoc bsdextrautils zsh fish dpkg-dev lintian
      slurm-wlm munge libflatbuffers-dev flatbuffers-compiler"
# --model: what training the default model and the PyTorch baseline need.
[ "${1:-}" = "--model" ] && PKGS="python3-torch python3-numpy dataset-fashion-mnist"
# --deb: what `make deb` needs besides the build (tests/cli/packaging/deb.bats runs
# lintian too, so `make test` installs both).
[ "${1:-}" = "--deb" ] && PKGS="dpkg-dev lintian"
[ "${1:-}" = "--list" ] && { echo $PKGS; exit 0; }
# --armhf: the cross toolchain and qemu-user (amd64 packages), then an armhf
# sysroot of the static libraries the armhf build links (scripts/armhf-sysroot.sh).
if [ "${1:-}" = "--armhf" ]; then
  PKGS="crossbuild-essential-armhf qemu-user-static binutils dpkg-dev"
fi
# Node.js and npm for the Arrow tests (apache-arrow, scripts/arrow-js.sh):
# Debian's, unless a node and npm are already there (NodeSource's, say).
if [ -z "${1:-}" ]; then
  { command -v node >/dev/null && command -v npm >/dev/null; } || PKGS="$PKGS nodejs npm"
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
  echo "Installing:$missing"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ "${1:-}" = "--armhf" ]; then
  exec "$(dirname "$0")/armhf-sysroot.sh"
fi
# The pinned apache-arrow, outside the tree (stamped: nothing to do when done).
[ -z "${1:-}" ] && "$(dirname "$0")/arrow-js.sh" >/dev/null
exit 0
