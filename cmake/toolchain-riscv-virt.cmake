# SPDX-License-Identifier: Apache-2.0
#
# Cross toolchain for the riscv-virt port: bare metal, rv32imac, machine mode,
# QEMU's `virt` machine. Use:
#   cmake -S . -B build-riscv -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv-virt.cmake
# Debian's gcc-riscv64-unknown-elf is multilib and ships libgcc but no libc;
# the port brings the little C library the core and examples need.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)

set(AMPVQ_RISCV_PREFIX "riscv64-unknown-elf-" CACHE STRING "Prefix of the bare-metal RISC-V tools")
set(CMAKE_C_COMPILER ${AMPVQ_RISCV_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${AMPVQ_RISCV_PREFIX}gcc)
set(CMAKE_OBJDUMP ${AMPVQ_RISCV_PREFIX}objdump CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${AMPVQ_RISCV_PREFIX}objcopy CACHE FILEPATH "")
set(CMAKE_SIZE ${AMPVQ_RISCV_PREFIX}size CACHE FILEPATH "")

# zicsr is spelled out: GCC 12 follows ISA spec 20191213, where the CSR
# instructions the startup and port use are no longer part of "i".
set(AMPVQ_RISCV_ARCH_FLAGS "-march=rv32imac_zicsr -mabi=ilp32 -mcmodel=medany")
set(CMAKE_C_FLAGS_INIT "${AMPVQ_RISCV_ARCH_FLAGS} -ffreestanding -nostdlib -O2 -g")
set(CMAKE_ASM_FLAGS_INIT "${AMPVQ_RISCV_ARCH_FLAGS} -g")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -nostartfiles -static")

# There is no libc to link a test program against: check the compiler by
# building a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# The port, and defaults that suit a firmware build. Cache entries without
# FORCE, so -D on the command line still wins. tests/ and bench/ hold host
# programs (cmocka, threads); the firmware tests are registered from the host
# build (tests/qemu), which builds this configuration as a sub-build.
set(AMPVQ_PORT "riscv-virt" CACHE STRING "Platform port (a folder under port/)")
set(AMPVQ_BUILD_TESTS OFF CACHE BOOL "Build the tests")
set(AMPVQ_BUILD_BENCH OFF CACHE BOOL "Build the benchmarks")

# `add_test(COMMAND <firmware target>)` then boots the image in QEMU.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-riscv32 -machine virt -smp 2 -bios none -nographic -kernel)
