# The two commands of the README, and a few more. Every target installs what is missing first.
PRESET ?= release
BUILD_DIR := build
WERROR ?= OFF
CTEST_ARGS ?=

.PHONY: deps configure build run test unit bench fuzz clean format

deps:
	@scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake --preset $(PRESET) -DCSTATSD_WERROR=$(WERROR); \
	else \
	  cmake -S . -B $(BUILD_DIR) -DCSTATSD_WERROR=$(WERROR) >/dev/null; \
	fi

build: configure
	cmake --build --preset $(PRESET)

# Starts the server on UDP :8125 with the stdout backend; extra flags through ARGS="...".
run: build
	./$(BUILD_DIR)/bin/cstatsd --backends stdout $(ARGS)

# Every test: unit, fuzz corpus replay, integration (the real binary over UDP and unix sockets).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 $(CTEST_ARGS)

# The fast inner loop: unit tests only.
unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

# Micro-benchmarks, then the end-to-end scenarios (server + loader on loopback, median of
# 3 runs of 10 s); the table goes into docs/performance.md.
bench: build
	./$(BUILD_DIR)/bin/bench_parser --benchmark_min_time=0.2
	./$(BUILD_DIR)/bin/bench_aggregate --benchmark_min_time=0.2
	python3 bench/e2e/run_bench.py --build-dir $(BUILD_DIR) --runs 3 --duration 10 --write

clean:
	rm -rf build build-*

format:
	scripts/format.sh
