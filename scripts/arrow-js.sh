#!/bin/sh
# Installs apache-arrow, the Arrow implementation the Arrow tests read and
# write with (tests/arrow, tests/cli/split-cat/arrow-js.bats), at the version
# and integrity hashes of tests/arrow/package-lock.json, with `npm ci` into a
# cache directory outside the repository. The tests never download anything:
# they skip when it is absent.
#
#   scripts/arrow-js.sh          install or refresh it; prints its path
#   scripts/arrow-js.sh --path   print its path only
#
# FPGA_ARROW_JS overrides the place (default /var/cache/fpga-tools/arrow-js).
# It holds node_modules and a stamp (the lock file's checksum); it is
# installed again only when the lock file changes.
set -eu
DIR=${FPGA_ARROW_JS:-/var/cache/fpga-tools/arrow-js}
[ "${1:-}" = "--path" ] && { echo "$DIR"; exit 0; }
SRC=$(cd "$(dirname "$0")/../tests/arrow" && pwd)
command -v npm >/dev/null || { echo "arrow-js: npm is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

stamp=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$DIR/stamp" ] && [ "$(cat "$DIR/stamp")" = "$stamp" ] && [ -d "$DIR/node_modules/apache-arrow" ]; then
  echo "$DIR"
  exit 0
fi

# Like the armhf sysroot: root's, through sudo when not root.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "arrow-js: npm ci into $DIR" >&2
$SUDO mkdir -p "$(dirname "$DIR")"
tmp=$($SUDO mktemp -d "$DIR.new.XXXXXX")
trap '$SUDO rm -rf "$tmp"' EXIT
$SUDO chmod 0755 "$tmp"
$SUDO cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
# No install scripts run (apache-arrow and its dependencies have none); the
# npm cache goes with the temporary directory.
(cd "$tmp" && $SUDO npm ci --ignore-scripts --no-audit --no-fund --cache "$tmp/.npm" >/dev/null) ||
  { echo "arrow-js: npm ci of tests/arrow/package-lock.json failed" >&2; exit 1; }
$SUDO rm -rf "$tmp/.npm"
printf '%s\n' "$stamp" | $SUDO tee "$tmp/stamp" >/dev/null
$SUDO rm -rf "$DIR.old"
[ -d "$DIR" ] && $SUDO mv "$DIR" "$DIR.old"
$SUDO mv "$tmp" "$DIR"
$SUDO rm -rf "$DIR.old"
echo "$DIR"
