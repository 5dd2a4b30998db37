# Shared set-up for the Bats suites.
FPGA_BIN=${FPGA_BIN:-$BATS_TEST_DIRNAME/../../build/tools}
FPGA_SOURCE_DIR=${FPGA_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}
# The program under test: fpga-gzip, or a reference (FPGA_GZIP=gzip).
GZ=${FPGA_GZIP:-$FPGA_BIN/fpga-gzip}
OURS=$FPGA_BIN/fpga-gzip

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# A compressible text file of about N KiB.
make_text() { # name kib
  seq 1 $(( $2 * 1024 / 4 + 10 )) | head -c $(( $2 * 1024 )) > "$1"
}

is_reference() { [ -n "${FPGA_GZIP:-}" ]; }
