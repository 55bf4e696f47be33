# SPDX-License-Identifier: Apache-2.0
#
# One packaging test, run as `cmake -D... -P consumer_test.cmake`:
#   MODE=cmake_package     install the build into a scratch prefix, check what
#                          landed there, then configure, build and run
#                          consumer/ through find_package(ampvq)
#   MODE=pkg_config        same install, then compile consumer/main.c with the
#                          flags `pkg-config ampvq` gives and run it
#   MODE=add_subdirectory  configure, build and run consumer/ with ampvq added
#                          as a subdirectory (no install)
# Inputs (-D): MODE, WORK_DIR, AMPVQ_SOURCE_DIR, AMPVQ_BINARY_DIR, CONFIG,
# C_COMPILER, GENERATOR, MAKE_PROGRAM, LIBDIR, INCLUDEDIR, VERSION,
# VERSION_MAJOR, PORT_INCLUDE_DIRS ('|'-separated), PKG_CONFIG.
cmake_minimum_required(VERSION 3.20)

set(consumer_dir ${CMAKE_CURRENT_LIST_DIR}/consumer)
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# step(<what> [EXPECT_FAIL] COMMAND <cmd>...): run cmd; stop the test if its
# outcome is not the expected one, showing its output.
function(step what)
  cmake_parse_arguments(S "EXPECT_FAIL" "" "COMMAND" ${ARGN})
  message(STATUS "${MODE}: ${what}")
  execute_process(COMMAND ${S_COMMAND}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(S_EXPECT_FAIL AND rc EQUAL 0)
    message(FATAL_ERROR "${MODE}: ${what}: succeeded, should have failed\n${out}")
  elseif(NOT S_EXPECT_FAIL AND NOT rc EQUAL 0)
    message(FATAL_ERROR "${MODE}: ${what}: failed (${rc})\n${S_COMMAND}\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_in what needle haystack)
  string(FIND "${haystack}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${MODE}: ${what}: no '${needle}' in:\n${haystack}")
  endif()
endfunction()

set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
set(consumer_configure ${CMAKE_COMMAND} -S ${consumer_dir} -G ${GENERATOR}
  -DCMAKE_C_COMPILER=${C_COMPILER})
if(MAKE_PROGRAM)
  list(APPEND consumer_configure -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CONFIG)
  list(APPEND consumer_configure -DCMAKE_BUILD_TYPE=${CONFIG})
endif()

# Run the consumer (single- or multi-config layout) and check its verdict.
function(run_consumer exe_dir)
  set(exe ${exe_dir}/consumer)
  if(NOT EXISTS ${exe} AND CONFIG)
    set(exe ${exe_dir}/${CONFIG}/consumer)
  endif()
  set(ENV{LD_LIBRARY_PATH} "${prefix}/${LIBDIR}:$ENV{LD_LIBRARY_PATH}")
  step("run the consumer" COMMAND ${exe})
  expect_in("consumer output" "consumer: PASS" "${step_output}")
endfunction()

# Install into the scratch prefix and check the layout.
function(install_and_check)
  step("install into ${prefix}" COMMAND ${CMAKE_COMMAND} --install ${AMPVQ_BINARY_DIR} --prefix ${prefix} ${config_args})

  set(inc ${prefix}/${INCLUDEDIR}/ampvq-${VERSION_MAJOR})
  set(cmakedir ${prefix}/${LIBDIR}/cmake/ampvq)
  foreach(f ${prefix}/${LIBDIR}/libampvq.a ${inc}/esp_amp.h ${inc}/esp_err.h ${inc}/ampvq/config.h
      ${inc}/ampvq/posix.h ${cmakedir}/ampvqConfig.cmake ${cmakedir}/ampvqConfigVersion.cmake
      ${cmakedir}/ampvqTargets.cmake ${prefix}/${LIBDIR}/pkgconfig/ampvq.pc)
    if(NOT EXISTS ${f})
      message(FATAL_ERROR "${MODE}: not installed: ${f}")
    endif()
  endforeach()

  # Exactly the public headers: the core's include/ and the port's folders;
  # nothing from src/.
  file(GLOB_RECURSE want RELATIVE ${AMPVQ_SOURCE_DIR}/include ${AMPVQ_SOURCE_DIR}/include/*.h)
  string(REPLACE "|" ";" port_dirs "${PORT_INCLUDE_DIRS}")
  foreach(dir IN LISTS port_dirs)
    file(GLOB_RECURSE port_headers RELATIVE ${dir} ${dir}/*.h)
    list(APPEND want ${port_headers})
  endforeach()
  file(GLOB_RECURSE have RELATIVE ${inc} ${inc}/*)
  list(SORT want)
  list(REMOVE_DUPLICATES want)
  list(SORT have)
  if(NOT want STREQUAL have)
    message(FATAL_ERROR "${MODE}: installed headers differ from the public ones\n"
      "public:    ${want}\ninstalled: ${have}")
  endif()

  # Nothing installed may point back into the source or build tree (the
  # scratch prefix itself lies in the build tree, so it is taken out first).
  file(GLOB_RECURSE meta ${cmakedir}/*.cmake ${prefix}/${LIBDIR}/pkgconfig/*.pc)
  foreach(f IN LISTS meta)
    file(READ ${f} text)
    string(REPLACE "${prefix}" "<prefix>" text "${text}")
    foreach(tree ${AMPVQ_SOURCE_DIR} ${AMPVQ_BINARY_DIR})
      string(FIND "${text}" "${tree}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "${MODE}: ${f} refers to ${tree}")
      endif()
    endforeach()
  endforeach()
endfunction()

if(MODE STREQUAL "cmake_package")
  install_and_check()
  step("configure the consumer (find_package)"
    COMMAND ${consumer_configure} -B ${build} -DCONSUMER_MODE=package -DCMAKE_PREFIX_PATH=${prefix}
      -DCONSUMER_AMPVQ_VERSION=${VERSION})
  expect_in("find_package" "consumer: ampvq ${VERSION} (port posix) from ${prefix}/${LIBDIR}/cmake/ampvq"
    "${step_output}")
  step("build the consumer" COMMAND ${CMAKE_COMMAND} --build ${build} ${config_args})
  run_consumer(${build})
  # The version file must turn down another major version.
  math(EXPR next_major "${VERSION_MAJOR} + 1")
  step("find_package(ampvq ${next_major}) is refused" EXPECT_FAIL
    COMMAND ${consumer_configure} -B ${WORK_DIR}/build-next -DCONSUMER_MODE=package
      -DCMAKE_PREFIX_PATH=${prefix} -DCONSUMER_AMPVQ_VERSION=${next_major})
  expect_in("version refusal" "ampvqConfig.cmake, version: ${VERSION}" "${step_output}")

elseif(MODE STREQUAL "pkg_config")
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "${MODE}: pkg-config not found (Debian: apt-get install pkg-config)")
  endif()
  install_and_check()
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
  step("pkg-config --modversion" COMMAND ${PKG_CONFIG} --modversion ampvq)
  string(STRIP "${step_output}" modversion)
  if(NOT modversion STREQUAL VERSION)
    message(FATAL_ERROR "${MODE}: pkg-config says version '${modversion}', expected ${VERSION}")
  endif()
  step("pkg-config --cflags" COMMAND ${PKG_CONFIG} --cflags ampvq)
  string(STRIP "${step_output}" cflags)
  expect_in("cflags" "-I${prefix}/${INCLUDEDIR}/ampvq-${VERSION_MAJOR}" "${cflags}")
  step("pkg-config --libs" COMMAND ${PKG_CONFIG} --libs ampvq)
  string(STRIP "${step_output}" libs)
  expect_in("libs" "-lampvq" "${libs}")
  expect_in("libs" "-pthread" "${libs}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  # Libraries after the source: a static archive only resolves what the
  # objects before it need.
  file(MAKE_DIRECTORY ${build})
  step("compile the consumer with pkg-config's flags"
    COMMAND ${C_COMPILER} -std=c11 -Wall -Wextra -Werror -Wstrict-prototypes ${cflags}
      ${consumer_dir}/main.c -o ${build}/consumer ${libs})
  run_consumer(${build})

elseif(MODE STREQUAL "add_subdirectory")
  step("configure the consumer (add_subdirectory)"
    COMMAND ${consumer_configure} -B ${build} -DCONSUMER_MODE=subdir -DAMPVQ_SOURCE_DIR=${AMPVQ_SOURCE_DIR})
  # The embedded ampvq must not have set up packaging either.
  file(GLOB_RECURSE packaging ${build}/ampvqConfig*.cmake ${build}/ampvq.pc*)
  if(packaging)
    message(FATAL_ERROR "${MODE}: embedded ampvq generated install files: ${packaging}")
  endif()
  foreach(sub tests examples bench)
    if(EXISTS ${build}/ampvq/${sub})
      message(FATAL_ERROR "${MODE}: embedded ampvq configured its ${sub}/")
    endif()
  endforeach()
  step("build the consumer" COMMAND ${CMAKE_COMMAND} --build ${build} ${config_args})
  run_consumer(${build})

else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
message(STATUS "${MODE}: PASS")
