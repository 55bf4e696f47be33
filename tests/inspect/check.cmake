# SPDX-License-Identifier: Apache-2.0
# cmake -DTOOL=ampvq-inspect -DIMAGE=file [-DARGS=a@@b] -DRC=n
#       [-DEXPECT=re1@@re2] [-DREJECT=re] -P check.cmake
# Runs the tool on IMAGE and checks its exit status and output: every
# EXPECT regex must match, REJECT must not. "@@" separates list items
# (a ";" would be split by add_test before it gets here).
foreach(v TOOL IMAGE RC)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check.cmake: -D${v}=... missing")
  endif()
endforeach()
set(args "")
if(DEFINED ARGS AND NOT ARGS STREQUAL "")
  string(REPLACE "@@" ";" args "${ARGS}")
endif()
execute_process(COMMAND ${TOOL} ${args} ${IMAGE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc STREQUAL "${RC}")
  message(FATAL_ERROR "ampvq-inspect ${IMAGE}: exit status ${rc}, expected ${RC}")
endif()
if(DEFINED EXPECT AND NOT EXPECT STREQUAL "")
  string(REPLACE "@@" ";" expect "${EXPECT}")
  foreach(re IN LISTS expect)
    if(NOT out MATCHES "${re}")
      message(FATAL_ERROR "ampvq-inspect ${IMAGE}: no line matches '${re}'")
    endif()
  endforeach()
endif()
if(DEFINED REJECT AND NOT REJECT STREQUAL "" AND out MATCHES "${REJECT}")
  message(FATAL_ERROR "ampvq-inspect ${IMAGE}: output matches '${REJECT}'")
endif()
