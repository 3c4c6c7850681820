# The two commands of the README, and a few more. Every target installs what is missing first.
PRESET ?= release
BUILD_DIR := build
WERROR ?= OFF
CTEST_ARGS ?=

PREFIX ?= /usr/local

.PHONY: deps deps-server configure configure-server build build-server run install package test \
        unit bench asan tsan fuzz clean format

deps:
	@scripts/install-deps.sh

# Only what the server needs to build: no test toolchain, no services, no clients.
deps-server:
	@scripts/install-deps.sh --server

# TESTS=ON|OFF: whether the tests and benchmarks are configured (they need the full `deps`).
define configure_build
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake --preset $(PRESET) -DCSTATSD_WERROR=$(WERROR) -DCSTATSD_BUILD_TESTS=$(1) \
	    -DCSTATSD_BUILD_BENCH=$(1); \
	else \
	  cmake -S . -B $(BUILD_DIR) -DCSTATSD_WERROR=$(WERROR) -DCSTATSD_BUILD_TESTS=$(1) \
	    -DCSTATSD_BUILD_BENCH=$(1) >/dev/null; \
	fi
endef

configure: deps
	$(call configure_build,ON)

configure-server: deps-server
	$(call configure_build,$(if $(wildcard $(BUILD_DIR)/tests),ON,OFF))

build: configure
	cmake --build --preset $(PRESET)

# The programs alone (cstatsd, cstatsd-loader, cstatsd-lambda-extension).
build-server: configure-server
	cmake --build --preset $(PRESET) --target cstatsd cstatsd-loader cstatsd-lambda-extension

# Starts the server on UDP :8125 with the stdout backend; extra flags through ARGS="...".
# Installs and builds only what the server needs.
run: configure-server
	cmake --build --preset $(PRESET) --target cstatsd
	./$(BUILD_DIR)/bin/cstatsd --backends stdout $(ARGS)

# The programs (stripped) into $(PREFIX)/bin and the docs into $(PREFIX)/share/doc/cstatsd.
install: build-server
	cmake --install $(BUILD_DIR) --strip --prefix $(PREFIX)

# A Debian package, $(BUILD_DIR)/package/cstatsd_<version>_<arch>.deb (docs/packaging.md): the
# programs stripped, the systemd unit, the sysctl drop-in, /etc/cstatsd/cstatsd.toml, the man
# pages (help2man, from `deps`). CPack directly: the `package` target of CMake would build `all`.
package: deps configure-server
	cmake --build --preset $(PRESET) --target cstatsd cstatsd-loader cstatsd-lambda-extension \
	  man-pages
	cd $(BUILD_DIR) && cpack -G DEB -B package

# Every test: unit, fuzz corpus replay, integration (the real binary over UDP and unix sockets).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 $(CTEST_ARGS)

# The fast inner loop: unit tests only.
unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

# Micro-benchmarks, then the end-to-end scenarios (server + loader on loopback, median of
# 3 runs of 10 s), and the aggregator tier's rate; the tables go into docs/performance.md.
bench: build
	./$(BUILD_DIR)/bin/bench_parser --benchmark_min_time=0.2
	./$(BUILD_DIR)/bin/bench_aggregate --benchmark_min_time=0.2
	./$(BUILD_DIR)/bin/bench_encoder --benchmark_min_time=0.2
	./$(BUILD_DIR)/bin/bench_flush_scaling
	python3 bench/e2e/run_bench.py --build-dir $(BUILD_DIR) --runs 3 --duration 10 --write
	python3 bench/e2e/tier_bench.py --build-dir $(BUILD_DIR) --runs 3 --duration 10 --write

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
