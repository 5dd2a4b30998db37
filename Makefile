# Convenience wrapper around CMake. `make demo` and `make test` are all the
# set-up a fresh Debian bookworm machine needs: they install missing build
# dependencies with apt-get first.
PREFIX ?= /usr/local
BUILD  ?= build
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=
# Unity build (CMake's UNITY_BUILD: a target's sources compiled in batches
# of eight, each batch one translation unit): a fresh build takes about 20%
# less CPU (230 -> 185 s here, the headers parsed once a batch, not once a
# file), which `make test` on a fresh clone pays twice (host and armhf).
# UNITY=OFF for work that recompiles one file at a time.
UNITY ?= ON

.PHONY: all deps build demo test test-long install deb bench stress fuzz model onnx clean armhf armhf-configure armhf-compile test-armhf-long

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCMAKE_UNITY_BUILD=$(UNITY) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

# The armhf build for PYNQ boards (Pynq-Z1's Cortex-A9): static programs,
# cross-compiled with crossbuild-essential-armhf against a sysroot of armhf
# static libraries that install-deps.sh --armhf unpacks outside the tree
# (/var/cache/fpga-tools/armhf-sysroot). The five tools and the board's
# unit-test binary; the tests run them under qemu-user (ctest -R armhf).
ARMHF_BUILD ?= $(BUILD)-armhf
ARMHF_TARGETS = fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote unit_tests_board
ARMHF_COMPILE = cmake --build $(ARMHF_BUILD) -j $(JOBS) --target $(ARMHF_TARGETS)
armhf: armhf-configure
	$(ARMHF_COMPILE)
armhf-configure:
	@scripts/install-deps.sh --armhf
	@[ -f $(ARMHF_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ARMHF_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=$(UNITY) \
	  -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/armhf-toolchain.cmake -DCMAKE_INSTALL_PREFIX=$(PREFIX)
# The compile alone: `make test` runs it as its first ctest entry
# (armhf.build, tests/CMakeLists.txt), so that the host's tests run while it
# builds and only the armhf entries wait for it.
armhf-compile:
	$(ARMHF_COMPILE)

# Every test (GoogleTest, Bats), then the ten slowest entries and the wall
# time. TEST_TIMEOUT is a safety net for a hung entry, not the budget (each
# takes well under 120 s on 2 cores). The armhf cross-build is configured
# here and compiled by ctest's first entry (armhf.build), beside the host's
# tests. TEST_JOBS entries at a time, one more than the cores: the entries
# wait on servers, sockets and sshd for part of their time; an entry that
# asserts what happens within a time (a --timeout, a held connection) takes
# two of the slots (PROCESSORS 2 in tests/CMakeLists.txt), so it never runs
# beside more than one other.
TEST_TIMEOUT ?= 300
TEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
test: build armhf-configure
	@scripts/run-tests.sh $(BUILD) $(TEST_JOBS) $(TEST_TIMEOUT)

# The armhf entries alone, with what `make test` samples or leaves out under
# qemu-user: the whole unit-test binary and the longer CLI suites.
test-armhf-long: build armhf
	cmake --build $(ARMHF_BUILD) -j $(JOBS) --target unit_tests
	@FPGA_LONG=1 FPGA_ARMHF_LONG=1 scripts/run-tests.sh $(BUILD) $(JOBS) 3600 -R '^armhf\.|^cli\.armhf\.'

# The same with the long sweeps and stress runs the default run samples or
# skips (FPGA_LONG=1: every truncation and bit flip, every race attempt, the
# 1 GiB stress cases). Takes much longer; not for CI.
test-long: build
	@FPGA_LONG=1 FPGA_STRESS=1 scripts/run-tests.sh $(BUILD) $(JOBS) 3600

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package of what `install` installs: the build in $(BUILD)
# installed with prefix /usr, packaged in $(BUILD)-deb (scripts/make-deb.sh;
# lintian runs on it when installed).
# ARCH=armhf: the static armhf build's package (make armhf), in $(ARMHF_BUILD)-deb.
ARCH ?=
ifeq ($(ARCH),armhf)
deb: armhf
	@scripts/install-deps.sh --deb
	MAKE_DEB_BUILD=0 scripts/make-deb.sh $(ARMHF_BUILD) $(ARMHF_BUILD)-deb
else
deb: build
	@scripts/install-deps.sh --deb
	JOBS=$(JOBS) scripts/make-deb.sh $(BUILD) $(BUILD)-deb
endif

bench: build
	@scripts/install-deps.sh --model
	bench/gzip.sh $(BUILD)
	bench/pipeline.sh $(BUILD)
	bench/join.sh $(BUILD)
	bench/infer.sh $(BUILD)
	bench/kernel.sh $(BUILD)

stress: build
	FPGA_STRESS=1 bats tests/cli/gzip/stress.bats

# FUZZ_SECONDS per target (default 60), one after the other. Each target's
# corpus starts from its seeds and findings (tests/fuzz/seeds/TARGET/,
# tests/fuzz/regressions/TARGET-* but TARGET-open-*, known defects not fixed
# yet; fuzz_decompress also from the unprefixed ones, the model fuzzer from
# the default model). A target runs its whole time even when it finds
# something (-fork=1 -ignore_crashes=1); what it found is in
# $(BUILD)-fuzz/findings/TARGET/ (emptied at the start), its log in
# $(BUILD)-fuzz/TARGET.log. Copy a finding to tests/fuzz/regressions/
# TARGET-NAME and `make test` replays it from then on.
FUZZ_TARGETS = fuzz_decompress fuzz_model fuzz_images fuzz_manifest fuzz_join fuzz_formats fuzz_stdio_frames fuzz_arrow
fuzz: deps
	@command -v clang++ >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get install -y -qq clang || sudo apt-get install -y -qq clang; }
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPGAIO_FUZZ=ON -DFPGAIO_BUILD_TESTS=OFF -DFPGAIO_WITH_XRT=OFF
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  corpus=$(BUILD)-fuzz/corpus/$$t; findings=$(BUILD)-fuzz/findings/$$t; log=$(BUILD)-fuzz/$$t.log; \
	  rm -rf $$findings; mkdir -p $$corpus $$findings; \
	  for f in tests/fuzz/seeds/$$t/* tests/fuzz/regressions/*; do \
	    case $$f in \
	      */$$t-open-*|*'*') ;; \
	      tests/fuzz/seeds/*|*/$$t-*) cp "$$f" $$corpus/ ;; \
	      */fuzz_*) ;; \
	      *) [ $$t = fuzz_decompress ] && cp "$$f" $$corpus/ ;; \
	    esac; \
	  done; \
	  extra=""; \
	  if [ $$t = fuzz_model ]; then cp models/fashion-cnv.fbnn $$corpus/; extra=-max_len=300000; fi; \
	  echo "== $$t: $${FUZZ_SECONDS:-60} s"; \
	  $(BUILD)-fuzz/tests/fuzz/$$t -fork=1 -ignore_crashes=1 -max_total_time=$${FUZZ_SECONDS:-60} \
	    -artifact_prefix=$$findings/ $$extra $$corpus > $$log 2>&1 || failed="$$failed $$t"; \
	  grep -E '^#[0-9]+: cov' $$log | tail -n 1; \
	  n=$$(ls $$findings | wc -l); \
	  if [ $$n -gt 0 ]; then \
	    failed="$$failed $$t"; \
	    for f in $$findings/*; do \
	      $(BUILD)-fuzz/tests/fuzz/$$t $$f 2>&1 | grep -m1 'rule broken\|^SUMMARY' | sed "s|^|  $$(basename $$f): |"; \
	    done; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed (see $(BUILD)-fuzz/findings)"; exit 1; fi

# Retrains the default model (models/fashion-cnv.fbnn and .pred) from
# Fashion-MNIST with Debian's python3-torch: about 30 minutes on 2 cores.
model: deps
	@scripts/install-deps.sh --model
	/usr/bin/python3 models/train_fashion_cnv.py $(TRAIN_FLAGS)

# The default model as the FINN-ONNX graph FINN's dataflow build takes, in a
# FINN build folder for an Alveo card: $(BUILD)/finn-BOARD/ with model.onnx,
# dataflow_build_config.json (BOARD=U250, the default, or U50) and FINN's
# verification inputs. Checked first: onnx.checker, shape inference, and the
# graph's numpy evaluation on the first ONNX_CHECK (1,000; 10000 for all)
# Fashion-MNIST test images against models/fashion-cnv.fbnn.pred. Building the bitstream from the folder needs
# FINN and Vitis/Vivado, which this machine does not have (kernels/bnn/README.md).
BOARD ?= U250
ONNX_CHECK ?= 1000
onnx: deps
	/usr/bin/python3 kernels/bnn/fbnn_to_onnx.py models/fashion-cnv.fbnn -f --board $(BOARD) \
	  --finn-dir $(BUILD)/finn-$(BOARD) --count $(ONNX_CHECK) \
	  --check-images /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz $(ARMHF_BUILD) $(ARMHF_BUILD)-deb
