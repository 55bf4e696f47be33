# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake/CTest; see README.md.
BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_COUNT ?= 16
PREFIX     ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps demo demo-riscv test test-default test-asan test-tsan install clean bench fuzz soak hook-check

all: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@tools/install-deps.sh test

demo:
	@tools/install-deps.sh demo
	cmake -S . -B $(BUILD) -DAMPVQ_DEMO_COUNT=$(DEMO_COUNT) $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target virtqueue virtqueue-sub >/dev/null
	$(BUILD)/examples/virtqueue

# The same example as bare-metal firmware on QEMU's riscv virt machine, two
# harts (port/riscv-virt). QEMU's exit status is the firmware's.
demo-riscv:
	@tools/install-deps.sh riscv
	cmake -S . -B $(BUILD)-riscv -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchain-riscv-virt.cmake -DAMPVQ_DEMO_COUNT=$(DEMO_COUNT) >/dev/null
	cmake --build $(BUILD)-riscv -j $(JOBS) --target virtqueue >/dev/null
	timeout --foreground 60 qemu-system-riscv32 -machine virt -smp 2 -bios none -nographic -kernel $(BUILD)-riscv/examples/virtqueue.elf </dev/null

# Every test: a plain build, then AddressSanitizer+UBSan, then ThreadSanitizer
# (which runs the tests labelled "tsan").
test: deps test-default test-asan test-tsan

test-default:
	cmake -S . -B $(BUILD) -DAMPVQ_DEMO_COUNT=16 $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan:
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DAMPVQ_SANITIZE=address,undefined -DAMPVQ_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(BUILD)-asan -j $(JOBS)
	ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) -LE nosan

test-tsan:
	cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMPVQ_SANITIZE=thread -DAMPVQ_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(BUILD)-tsan -j $(JOBS)
	ctest --test-dir $(BUILD)-tsan --output-on-failure -j $(JOBS) -L tsan

# Deletes each cache-hook call of the core in turn and checks that a
# non-coherent test fails (docs/noncoherent.md). About 10 minutes.
hook-check: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) --target hook-check

# Long runs, not part of make test: 10^7 messages through every stress form
# (tests/stress; AMPVQ_STRESS_SOAK_COUNT sets the count).
soak: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS) --target soak

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

# Benchmarks (bench/, docs/performance.md): a table of figures, each also as
# a ratio to a plain SPSC ring measured in the same run. Progress and build
# output go to stderr, so `make bench BENCH_ARGS=--json` prints only JSON
# lines; BENCH_ARGS=--help lists the knobs (--plot DIR draws PNGs).
BENCH_ARGS ?=
bench:
	@tools/install-deps.sh $(if $(findstring --plot,$(BENCH_ARGS)),bench-plot,bench)
	@cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMPVQ_BUILD_BENCH=ON -DAMPVQ_BUILD_TESTS=OFF -DAMPVQ_BUILD_EXAMPLES=OFF $(CMAKE_ARGS) >&2
	@cmake --build $(BUILD)-bench -j $(JOBS) --target ampvq_bench ampvq_bench_insn >&2
	@$(BUILD)-bench/bench/ampvq_bench $(BENCH_ARGS)

# Long fuzzing (tests/fuzz/README.md): each libFuzzer target FUZZ_SECONDS
# seconds; new inputs accumulate in FUZZ_WORK, outside the source tree.
fuzz: FUZZ_SECONDS ?= 600
fuzz: FUZZ_WORK ?= /tmp/ampvq-fuzz
fuzz:
	cmake -S . -B $(BUILD) -DAMPVQ_BUILD_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS) --target ampvq_fuzzers
	sh tests/fuzz/run_fuzz.sh long $(BUILD)/tests/fuzz tests/fuzz/corpus $(FUZZ_SECONDS) $(FUZZ_WORK)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-bench $(BUILD)-riscv
