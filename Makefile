# Convenience wrapper around CMake. `make demo` and `make test` are all the
# set-up a fresh Debian bookworm machine needs: they install missing build
# dependencies with apt-get first.
PREFIX ?= /usr/local
BUILD  ?= build
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test install bench stress fuzz clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	bench/gzip.sh $(BUILD)
	bench/pipeline.sh $(BUILD)

stress: build
	FPGA_STRESS=1 bats tests/cli/stress.bats

fuzz: deps
	@command -v clang++ >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get install -y -qq clang || sudo apt-get install -y -qq clang; }
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPGAIO_FUZZ=ON -DFPGAIO_BUILD_TESTS=OFF
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_decompress
	mkdir -p $(BUILD)-fuzz/corpus && cp tests/fuzz/regressions/* $(BUILD)-fuzz/corpus/ 2>/dev/null || true
	$(BUILD)-fuzz/tests/fuzz/fuzz_decompress -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)-fuzz/corpus

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
