# The two commands of the README, and a few more. Every target installs what is missing first.
PRESET ?= release
BUILD_DIR := build
WERROR ?= OFF
CTEST_ARGS ?=

.PHONY: deps configure build run test unit bench asan tsan fuzz clean format

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
	./$(BUILD_DIR)/bin/bench_encoder --benchmark_min_time=0.2
	python3 bench/e2e/run_bench.py --build-dir $(BUILD_DIR) --runs 3 --duration 10 --write

# The unit, fuzz-replay and integration tests under AddressSanitizer + UBSan, and ThreadSanitizer.
asan: deps
	cmake --preset asan >/dev/null && cmake --build --preset asan
	cd build-asan && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -L 'unit|loopback|fuzz|integration'

tsan: deps
	cmake --preset tsan >/dev/null && cmake --build --preset tsan
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  ctest --output-on-failure -L 'unit|loopback|integration'

# libFuzzer on one target, tests/fuzz/<TARGET>_fuzz.cc (`make fuzz TARGET=config_yaml`), for
# FUZZ_SECONDS (clang preset), starting from a copy of its committed corpus; what it finds goes to
# build-clang/fuzz-<TARGET>/. FUZZ_ARGS adds libFuzzer flags (e.g. -runs=10000000).
TARGET ?= parser
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_MAX_LEN_parser := 70000
FUZZ_MAX_LEN_ingest := 65536
fuzz: deps
	cmake --preset clang >/dev/null && cmake --build --preset clang --target fuzz_$(TARGET)
	mkdir -p build-clang/corpus-$(TARGET) build-clang/fuzz-$(TARGET)
	cp -n tests/fuzz/corpus/$(TARGET)/* build-clang/corpus-$(TARGET)/
	./build-clang/bin/fuzz_$(TARGET) -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=$(or $(FUZZ_MAX_LEN_$(TARGET)),8192) -rss_limit_mb=2048 -malloc_limit_mb=1024 \
	  -artifact_prefix=build-clang/fuzz-$(TARGET)/ $(FUZZ_ARGS) build-clang/corpus-$(TARGET)

clean:
	rm -rf build build-*

format:
	scripts/format.sh
