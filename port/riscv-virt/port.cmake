# SPDX-License-Identifier: Apache-2.0
# riscv-virt port: bare metal on QEMU's `virt` machine, two harts running one
# image (hart 0 = main core, hart 1 = sub core). Needs the cross toolchain:
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv-virt.cmake ...
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^riscv" OR NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
  message(FATAL_ERROR "AMPVQ_PORT=riscv-virt needs the RISC-V GCC cross toolchain: "
                      "-DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/toolchain-riscv-virt.cmake")
endif()
enable_language(ASM)

# start.S is in the library (compiled where ASM is enabled, so projects that
# add_subdirectory() ampvq need not enable it); link.ld's EXTERN(_start)
# pulls it out of the archive.
set(AMPVQ_PORT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/start.S
  ${CMAKE_CURRENT_LIST_DIR}/riscv_virt_port.c
  ${CMAKE_CURRENT_LIST_DIR}/libc/printf.c
  ${CMAKE_CURRENT_LIST_DIR}/libc/string.c)
# include/ holds ampvq/riscv_virt.h; libc/include the little stdio.h and
# string.h that applications (the examples) include. The core includes no
# libc header, but GCC's __builtin_memset and struct copies call memset/
# memcpy, which libc/string.c provides.
set(AMPVQ_PORT_INCLUDE_DIRS
  ${CMAKE_CURRENT_LIST_DIR}/include
  ${CMAKE_CURRENT_LIST_DIR}/libc/include)
set(AMPVQ_PORT_DEFINITIONS "")

# Without this GCC compiles the loops of memset/memcpy into calls to memset/
# memcpy, i.e. into themselves.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/libc/string.c
  PROPERTIES COMPILE_OPTIONS "-fno-tree-loop-distribute-patterns")

# libgcc for 64-bit division (mtime) and the like. Ask the driver for the
# multilib that matches our ABI: GCC 12's multilib table does not know the
# "_zicsr" suffix and would pick the default (rv64) one, so drop the z*
# extensions, which do not change the ABI, from -march for the question.
separate_arguments(_ampvq_cflags UNIX_COMMAND "${CMAKE_C_FLAGS}")
set(_ampvq_query_flags "")
foreach(f IN LISTS _ampvq_cflags)
  if(f MATCHES "^-march=")
    string(REGEX REPLACE "_z[a-z0-9_]*$" "" f "${f}")
    list(APPEND _ampvq_query_flags ${f})
  elseif(f MATCHES "^-mabi=")
    list(APPEND _ampvq_query_flags ${f})
  endif()
endforeach()
execute_process(
  COMMAND ${CMAKE_C_COMPILER} ${_ampvq_query_flags} -print-libgcc-file-name
  OUTPUT_VARIABLE AMPVQ_RISCV_LIBGCC OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _ampvq_rc)
if(NOT _ampvq_rc EQUAL 0 OR NOT EXISTS "${AMPVQ_RISCV_LIBGCC}")
  message(FATAL_ERROR "riscv-virt: cannot find libgcc for ${_ampvq_query_flags}")
endif()
set(AMPVQ_PORT_LIBRARIES ${AMPVQ_RISCV_LIBGCC})

# The test firmware (run by tests/qemu from the host build) is for a
# top-level build only, like tests/ and examples/.
option(AMPVQ_RISCV_TEST_FIRMWARE "Build the riscv-virt test firmware (port/riscv-virt/tests)" ${PROJECT_IS_TOP_LEVEL})

# Called by the top-level CMakeLists.txt once the ampvq target exists.
function(ampvq_port_targets)
  # Firmware is linked at fixed addresses; position-independent code would
  # only add GOT indirections.
  set_target_properties(ampvq PROPERTIES POSITION_INDEPENDENT_CODE OFF)

  if(AMPVQ_RISCV_TEST_FIRMWARE AND EXISTS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/tests/CMakeLists.txt)
    add_subdirectory(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/tests ${CMAKE_BINARY_DIR}/riscv-virt-tests)
  endif()
endfunction()

# ampvq_add_app(NAME MAIN_SOURCES ... SUB_SOURCES ... [DEFINITIONS ...]):
# one firmware NAME.elf holding both app_main (hart 0) and subcore_main
# (hart 1). Run it with
#   qemu-system-riscv32 -machine virt -smp 2 -bios none -nographic -kernel NAME.elf
# Both cores share the image's .data/.bss: the core's per-core state is
# indexed by core id, and an application's statics are visible to both
# harts, so each side keeps to its own (as two separate images would).
# DEFINITIONS apply to the application's sources and the port's boot.c
# (e.g. AMPVQ_RISCV_SUB_TIMEOUT_MS, how long hart 0 waits for the sub core
# after app_main() returns; default 10000).
function(ampvq_add_app name)
  cmake_parse_arguments(A "" "" "MAIN_SOURCES;SUB_SOURCES;DEFINITIONS" ${ARGN})
  # boot.c goes into each firmware (like the posix launchers): it calls the
  # application, and DEFINITIONS such as AMPVQ_RISCV_SUB_TIMEOUT_MS reach it.
  add_executable(${name} ${A_MAIN_SOURCES} ${A_SUB_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/boot.c)
  set_target_properties(${name} PROPERTIES
    SUFFIX ".elf"
    LINK_DEPENDS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/link.ld)
  target_compile_definitions(${name} PRIVATE ${A_DEFINITIONS})
  target_link_libraries(${name} PRIVATE ampvq ampvq_warnings)
  target_link_options(${name} PRIVATE
    -T ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/link.ld
    -Wl,--gc-sections
    -Wl,-Map=$<TARGET_FILE:${name}>.map)
endfunction()
