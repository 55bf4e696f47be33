# SPDX-License-Identifier: Apache-2.0
# posix port: two cores as threads of one process, or as two processes.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
set(AMPVQ_PORT_SOURCES ${CMAKE_CURRENT_LIST_DIR}/posix_port.c)
set(AMPVQ_PORT_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/include)
set(AMPVQ_PORT_LIBRARIES Threads::Threads)
set(AMPVQ_PORT_DEFINITIONS "")

# ampvq_add_app(NAME MAIN_SOURCES ... SUB_SOURCES ...): NAME runs the main
# core (app_main) and starts NAME-sub (subcore_main) as the sub-core process.
# LIBRARY picks another build of the library (tests: ampvq_nc).
function(ampvq_add_app name)
  cmake_parse_arguments(A "" "LIBRARY" "MAIN_SOURCES;SUB_SOURCES;DEFINITIONS" ${ARGN})
  if(NOT A_LIBRARY)
    set(A_LIBRARY ampvq)
  endif()
  add_executable(${name} ${A_MAIN_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/launch_main.c)
  target_compile_definitions(${name} PRIVATE AMPVQ_SUBCORE_EXE_NAME="${name}-sub" ${A_DEFINITIONS})
  target_link_libraries(${name} PRIVATE ${A_LIBRARY} ampvq_warnings)
  add_executable(${name}-sub ${A_SUB_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/launch_sub.c)
  target_compile_definitions(${name}-sub PRIVATE ${A_DEFINITIONS})
  target_link_libraries(${name}-sub PRIVATE ${A_LIBRARY} ampvq_warnings)
  add_dependencies(${name} ${name}-sub)
endfunction()
