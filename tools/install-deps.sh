#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages ampvq's build, demo and tests need, if missing.
# Usage: tools/install-deps.sh [demo|test|riscv|bench|bench-plot]
set -euo pipefail
what=${1:-test}

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd cmake || need+=(cmake)
have_cmd make || need+=(make)
have_cmd cc || need+=(gcc)
if [ "$what" = test ]; then
  have_cmd clang || need+=(clang)
  [ -f /usr/include/cmocka.h ] || need+=(libcmocka-dev)
  have_cmd pkg-config || need+=(pkg-config)
  have_cmd clang-format || need+=(clang-format)
  # libFuzzer's runtime (tests/fuzz); clang alone does not bring it.
  ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || need+=(libclang-rt-dev)
  have_cmd spin || need+=(spin)
  have_cmd valgrind || need+=(valgrind)
  have_cmd qemu-system-riscv32 || need+=(qemu-system-misc)
  have_cmd riscv64-unknown-elf-gcc || need+=(gcc-riscv64-unknown-elf)
  have_cmd arm-none-eabi-gcc || need+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
fi
# bench: callgrind for instructions per message, the cross compilers for
# code size; bench-plot adds gnuplot for the PNGs (ampvq_bench --plot).
if [ "$what" = bench ] || [ "$what" = bench-plot ]; then
  have_cmd valgrind || need+=(valgrind)
  have_cmd riscv64-unknown-elf-gcc || need+=(gcc-riscv64-unknown-elf)
  have_cmd arm-none-eabi-gcc || need+=(gcc-arm-none-eabi)
fi
if [ "$what" = bench-plot ]; then
  have_cmd gnuplot || need+=(gnuplot-nox)
fi
if [ "$what" = riscv ]; then
  have_cmd qemu-system-riscv32 || need+=(qemu-system-misc)
  have_cmd riscv64-unknown-elf-gcc || need+=(gcc-riscv64-unknown-elf)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "ampvq: installing ${need[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
