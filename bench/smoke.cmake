# SPDX-License-Identifier: Apache-2.0
# cmake -DBENCH=path/to/ampvq_bench -P smoke.cmake
# Runs the benchmark with tiny counts (--smoke --json) and checks that it
# succeeds, that every line of its output is a JSON object with the five
# fields, and that every figure is there. No timing is checked.
cmake_minimum_required(VERSION 3.20)
if(NOT DEFINED BENCH)
  message(FATAL_ERROR "smoke.cmake: -DBENCH=... missing")
endif()
execute_process(
  COMMAND ${BENCH} --smoke --json
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ampvq_bench --smoke --json failed (${rc}):\n${err}\n${out}")
endif()

string(REPLACE "\n" ";" lines "${out}")
set(seen "")
set(count 0)
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  foreach(field figure impl params value unit ratio_to_baseline)
    string(JSON type ERROR_VARIABLE jerr TYPE "${line}" ${field})
    if(jerr)
      message(FATAL_ERROR "not a figure object (${field}: ${jerr}):\n${line}")
    endif()
  endforeach()
  string(JSON ptype TYPE "${line}" params)
  if(NOT ptype STREQUAL "OBJECT")
    message(FATAL_ERROR "params is not an object:\n${line}")
  endif()
  string(JSON figure GET "${line}" figure)
  string(JSON impl GET "${line}" impl)
  list(APPEND seen "${figure}/${impl}")
  math(EXPR count "${count} + 1")
endforeach()

set(expected
  throughput/ring throughput/ampvq-poll throughput/ampvq-intr
  notify_per_msg/ampvq-intr doorbell_per_msg/ampvq-intr
  rtt_median/ring rtt_median/ampvq-poll rtt_median/ampvq-intr
  rtt_p99/ring rtt_p99/ampvq-poll
  insn_per_msg/ring insn_per_msg/ampvq insn_per_msg_calls/ampvq
  code_size/ampvq code_size/ring
  shm_bytes/ampvq shm_bytes/ring shm_dir_entry_bytes/ampvq
  goal/ampvq)
foreach(e IN LISTS expected)
  if(NOT e IN_LIST seen)
    message(FATAL_ERROR "figure ${e} missing from the output:\n${out}")
  endif()
endforeach()
message("bench smoke: ${count} JSON figures, all expected ones present")
