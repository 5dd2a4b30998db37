# Shared set-up for the Bats suites.
# Suites live one folder below tests/cli (tests/cli/AREA/NAME.bats); this
# file is tests/cli/helpers.bash, so the source tree is two folders up.
FPGA_SOURCE_DIR=${FPGA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FPGA_BIN=${FPGA_BIN:-$FPGA_SOURCE_DIR/build/tools}
# Test programs the suites share (fake ssh, hostile server, format writers).
FIXTURES=$FPGA_SOURCE_DIR/tests/cli/fixtures
# The program under test: fpga-gzip, or a reference (FPGA_GZIP=gzip).
GZ=${FPGA_GZIP:-$FPGA_BIN/fpga-gzip}
OURS=$FPGA_BIN/fpga-gzip

setup() {
  cd "$BATS_TEST_TMPDIR"
}
teardown() { tmpfs_cleanup; }

# Thousands of small files: made on tmpfs where there is one (creating and
# removing a file there is some 60 times cheaper than on a loaded disk: GNU
# split -b 3 of 23 KB, 7,758 files, 15.7 s against 0.25 s here). The
# folder goes with the test (tmpfs_cleanup, called by the default teardown).
cd_tmpfs() {
  local d
  if [ -d /dev/shm ] && [ -w /dev/shm ] && d=$(mktemp -d /dev/shm/fpga-test.XXXXXX); then
    echo "$d" >> "$BATS_TEST_TMPDIR/.tmpfs-dirs"
    cd "$d" || return 1
  fi
}
tmpfs_cleanup() {
  [ -f "$BATS_TEST_TMPDIR/.tmpfs-dirs" ] || return 0
  local d
  while read -r d; do
    case $d in /dev/shm/fpga-test.*) rm -rf "$d" ;; esac
  done < "$BATS_TEST_TMPDIR/.tmpfs-dirs"
  rm -f "$BATS_TEST_TMPDIR/.tmpfs-dirs"
}

# A compressible text file of about N KiB.
make_text() { # name kib
  seq 1 $(( $2 * 1024 / 4 + 10 )) | head -c $(( $2 * 1024 )) > "$1"
}

is_reference() { [ -n "${FPGA_GZIP:-}" ]; }

# Removes the spaces around a field of a case table, in place, without the
# subshell of $(echo $x) (tables of a hundred rows read field by field).
trim() { # variable-name...
  local -n _trim_v
  for _trim_v; do
    _trim_v=${_trim_v#"${_trim_v%%[![:space:]]*}"}
    _trim_v=${_trim_v%"${_trim_v##*[![:space:]]}"}
  done
}

# fpga-infer and its data: the default model, ../shared/data (BNN-PYNQ
# weights, sample images), Debian's Fashion-MNIST; suites skip cleanly
# where the data is absent.
INFER=$FPGA_BIN/fpga-infer
MODEL=$FPGA_SOURCE_DIR/models/fashion-cnv.fbnn
DATA=$FPGA_SOURCE_DIR/../shared/data
FASHION=/usr/share/datasets/fashion-mnist
need_data() { [ -d "$DATA/bnn-pynq" ] || skip "../shared/data is absent"; }
need_fashion() { [ -f "$FASHION/t10k-images-idx3-ubyte.gz" ] || skip "dataset-fashion-mnist is not installed"; }

# Debian's python3 (numpy, onnx), not a python3 earlier on PATH; the random
# FBNN model maker of the inference tests.
PY=/usr/bin/python3
RANDOM_MODEL=$FIXTURES/random_fbnn.py
need_numpy() { "$PY" -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"; }
# A bare `python3` in a suite is Debian's too: one earlier on PATH may be a
# version manager's shim (pyenv's costs some 0.5 s of CPU a start here,
# /usr/bin/python3 30 ms; formats.bats alone starts python3 about 30 times).
python3() { "$PY" "$@"; }

# XRT's noop driver in the test's directory (no card): XILINX_XRT a
# directory whose lib links to the system's, an xrt.ini of its own, card
# locks in ./locks, one device (FPGA_XRT_DEVICES), and no device or xclbin
# choice inherited from the caller. Call from setup(), in the test's directory.
U50=xilinx_u50_gen3x16_xdma_201920_3
U250=xilinx_u250_gen3x16_xdma_4_1_202210_1
# Waits (up to 30 s, polling /proc, never timing) until process $1 sleeps
# in a card lock (flock), and fails if it never does.
wait_in_lock() { # pid
  local _
  for _ in $(seq 1 600); do
    grep -q "flock\|lock" "/proc/$1/wchan" 2>/dev/null && return 0
    sleep 0.05
  done
  grep -q "flock\|lock" "/proc/$1/wchan"
}

xrt_noop_env() {
  mkdir -p xrt locks
  ln -sfn "${XRT_LIBDIR:-/usr/lib/x86_64-linux-gnu}" xrt/lib
  : > xrt.ini
  export XILINX_XRT=$PWD/xrt XCL_EMULATION_MODE=noop XRT_INI_PATH=$PWD/xrt.ini FPGA_LOCK_DIR=$PWD/locks
  export FPGA_XRT_DEVICES=1
  unset FPGA_DEVICE PARALLEL_JOBSLOT FPGA_XCLBIN FPGA_XRT_TRACE FPGA_XRT_TIMEOUT_MS
}

# Long sweeps and stress are opt-in (make test-long sets FPGA_LONG=1): the
# default run samples a sweep every STEP-th case (`long_step STEP` prints
# the step to use) and skips what only a long run does (`long_only`).
long_step() { if [ -n "${FPGA_LONG:-}" ]; then echo 1; else echo "$1"; fi; }
long_only() { [ -n "${FPGA_LONG:-}" ] || skip "long: make test-long runs it (FPGA_LONG=1)"; }
