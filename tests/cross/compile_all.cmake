# SPDX-License-Identifier: Apache-2.0
# cmake -DCOMPILER=cc -DFLAGS=a;b;c -DSOURCES=dir -DOUT=dir -P compile_all.cmake
# Compiles every SOURCES/*.c to OUT/<name>.o; fails on the first error or
# warning (FLAGS has -Werror). Globbed here, at test time, so a new core file
# is checked without reconfiguring.
foreach(v COMPILER FLAGS SOURCES OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_all.cmake: -D${v}=... missing")
  endif()
endforeach()
file(GLOB sources ${SOURCES}/*.c)
if(NOT sources)
  message(FATAL_ERROR "no C sources in ${SOURCES}")
endif()
file(MAKE_DIRECTORY ${OUT})
list(SORT sources)
set(failed "")
foreach(src IN LISTS sources)
  get_filename_component(name ${src} NAME_WE)
  execute_process(
    COMMAND ${COMPILER} ${FLAGS} -c ${src} -o ${OUT}/${name}.o
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE log
    ERROR_VARIABLE log)
  if(rc EQUAL 0)
    message("ok      ${name}.c")
  else()
    message("FAILED  ${name}.c\n${log}")
    list(APPEND failed ${name}.c)
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "${COMPILER}: ${failed} did not compile cleanly")
endif()
