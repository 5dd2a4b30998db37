# Convenience wrapper around CMake. `make demo` and `make test` are all the
# set-up a fresh Debian bookworm machine needs: they install missing build
# dependencies with apt-get first.
PREFIX ?= /usr/local
BUILD  ?= build
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test install bench stress fuzz model clean

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
	@scripts/install-deps.sh --model
	bench/gzip.sh $(BUILD)
	bench/pipeline.sh $(BUILD)
	bench/infer.sh $(BUILD)

stress: build
	FPGA_STRESS=1 bats tests/cli/stress.bats

# FUZZ_SECONDS per target: the gzip decoder, then the model loader (seeded
# with the default model).
fuzz: deps
	@command -v clang++ >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get install -y -qq clang || sudo apt-get install -y -qq clang; }
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPGAIO_FUZZ=ON -DFPGAIO_BUILD_TESTS=OFF
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_decompress fuzz_model
	mkdir -p $(BUILD)-fuzz/corpus && cp tests/fuzz/regressions/* $(BUILD)-fuzz/corpus/ 2>/dev/null || true
	$(BUILD)-fuzz/tests/fuzz/fuzz_decompress -max_total_time=$${FUZZ_SECONDS:-60} $(BUILD)-fuzz/corpus
	mkdir -p $(BUILD)-fuzz/model-corpus && cp models/fashion-cnv.fbnn $(BUILD)-fuzz/model-corpus/
	$(BUILD)-fuzz/tests/fuzz/fuzz_model -max_total_time=$${FUZZ_SECONDS:-60} -max_len=300000 $(BUILD)-fuzz/model-corpus

# Retrains the default model (models/fashion-cnv.fbnn and .pred) from
# Fashion-MNIST with Debian's python3-torch: about 30 minutes on 2 cores.
model: deps
	@scripts/install-deps.sh --model
	/usr/bin/python3 models/train_fashion_cnv.py $(TRAIN_FLAGS)

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
