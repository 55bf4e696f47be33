# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake/CTest; see README.md.
BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_COUNT ?= 16
PREFIX     ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps demo demo-riscv test test-default test-asan test-tsan install clean

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

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan
