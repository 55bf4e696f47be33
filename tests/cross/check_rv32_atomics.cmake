# SPDX-License-Identifier: Apache-2.0
# cmake -DOBJDUMP=riscv64-unknown-elf-objdump -DOBJECT=queue.o -P check_rv32_atomics.cmake
#
# The queue's ownership protocol on rv32imac must be plain halfword accesses
# with fences (RVWMO's mapping of C11 acquire/release), no atomic RMW and no
# library call:
#   alloc_try / recv_try   flags load-acquire  = lh/lhu, then fence r,rw
#   send_try / free_try    flags store-release = fence rw,w, then sh
# A stronger fence passes (GCC 12 emits the full `fence`, i.e. iorw,iorw;
# GCC 13 and later emit exactly r,rw and rw,w). "Then" means no other memory
# access in between. Nowhere in queue.o: __atomic_* / __sync_* calls
# (libatomic), lr/sc (an emulated sub-word RMW).
#
# amo* instructions are reported, not failed: GCC 12 compiles a relaxed
# 32-bit __atomic_store_n (AMPVQ_WRITE_ONCE of a descriptor's addr) to
# `amoswap.w zero,...` instead of a plain sw; GCC 13 emits sw. Correct
# either way, only slower on hardware.
foreach(v OBJDUMP OBJECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_rv32_atomics.cmake: -D${v}=... missing")
  endif()
endforeach()
execute_process(COMMAND ${OBJDUMP} -dr --no-show-raw-insn ${OBJECT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE dump ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} failed: ${err}")
endif()

set(problems "")
if(dump MATCHES "(__atomic_[a-z0-9_]+|__sync_[a-z0-9_]+)")
  list(APPEND problems "library call or reference: ${CMAKE_MATCH_1}")
endif()
if(dump MATCHES "\t((lr|sc)\\.[wd])[\t.]")
  list(APPEND problems "lr/sc sequence (emulated atomic): ${CMAKE_MATCH_1}")
endif()
string(REGEX MATCHALL "\n *[0-9a-f]+:\tamo[a-z]+\\.[wd][.a-z]*\t[^\n]*" amos "${dump}")
foreach(a IN LISTS amos)
  string(STRIP "${a}" a)
  message("note    AMO in queue.o (not on the flags): ${a}")
endforeach()

# Split into functions: "<hex> <name>:" starts one; ".L" labels do not.
string(REPLACE ";" "," dump "${dump}")
string(REPLACE "\n" ";" lines "${dump}")
set(fn "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]+ <([A-Za-z_][A-Za-z0-9_]*)>:$")
    set(fn ${CMAKE_MATCH_1})
    set(insns_${fn} "")
  elseif(fn AND line MATCHES "^ *[0-9a-f]+:\t([a-z0-9.]+)\t?(.*)$")
    list(APPEND insns_${fn} "${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
  endif()
endforeach()

# Sets `${out}` to TRUE if instruction `insn` is a fence ordering every
# access kind in `pred` before every one in `succ` (r/w letters).
function(fence_covers insn pred succ out)
  set(ok FALSE)
  if(insn MATCHES "^fence\\.tso")
    # fence.tso orders everything but earlier stores before later loads.
    if(NOT (pred MATCHES "w" AND succ MATCHES "r"))
      set(ok TRUE)
    endif()
  elseif(insn MATCHES "^fence *$")
    set(ok TRUE) # no operands: iorw,iorw
  elseif(insn MATCHES "^fence ([iorw]+),([iorw]+)")
    set(p ${CMAKE_MATCH_1})
    set(s ${CMAKE_MATCH_2})
    set(ok TRUE)
    foreach(k r w)
      if(pred MATCHES ${k} AND NOT p MATCHES ${k})
        set(ok FALSE)
      endif()
      if(succ MATCHES ${k} AND NOT s MATCHES ${k})
        set(ok FALSE)
      endif()
    endforeach()
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

# Memory accesses and fences: what may not sit between the pair.
set(mem_re "^(l[bhwd]u?|s[bhwd]|c\\.l[wd]|c\\.s[wd]|c\\.lwsp|c\\.swsp|fence|lr|sc|amo)")

function(check_acquire fn out)
  set(found 0)
  list(LENGTH insns_${fn} n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last})
    list(GET insns_${fn} ${i} insn)
    if(insn MATCHES "^lhu? ")
      # The next memory instruction must be a fence r,rw (or stronger).
      math(EXPR j "${i} + 1")
      while(j LESS n)
        list(GET insns_${fn} ${j} next)
        if(next MATCHES "${mem_re}")
          fence_covers("${next}" "r" "rw" ok)
          if(ok)
            math(EXPR found "${found} + 1")
            message("ok      ${fn}: ${insn} / ${next}")
          endif()
          break()
        endif()
        math(EXPR j "${j} + 1")
      endwhile()
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

function(check_release fn out)
  set(found 0)
  list(LENGTH insns_${fn} n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last})
    list(GET insns_${fn} ${i} insn)
    if(insn MATCHES "^sh ")
      # The previous memory instruction must be a fence rw,w (or stronger).
      math(EXPR j "${i} - 1")
      while(j GREATER_EQUAL 0)
        list(GET insns_${fn} ${j} prev)
        if(prev MATCHES "${mem_re}")
          fence_covers("${prev}" "rw" "w" ok)
          if(ok)
            math(EXPR found "${found} + 1")
            message("ok      ${fn}: ${prev} / ${insn}")
          endif()
          break()
        endif()
        math(EXPR j "${j} - 1")
      endwhile()
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

foreach(fn esp_amp_queue_alloc_try esp_amp_queue_recv_try)
  if(NOT DEFINED insns_${fn})
    list(APPEND problems "${fn} not found in ${OBJECT}")
    continue()
  endif()
  check_acquire(${fn} n)
  if(n EQUAL 0)
    list(APPEND problems "${fn}: no lh/lhu followed by fence r,rw (flags load-acquire)")
  endif()
endforeach()
foreach(fn esp_amp_queue_send_try esp_amp_queue_free_try)
  if(NOT DEFINED insns_${fn})
    list(APPEND problems "${fn} not found in ${OBJECT}")
    continue()
  endif()
  check_release(${fn} n)
  if(n EQUAL 0)
    list(APPEND problems "${fn}: no fence rw,w followed by sh (flags store-release)")
  endif()
endforeach()

if(problems)
  string(REPLACE ";" "\n  " problems "${problems}")
  message(FATAL_ERROR "rv32 queue atomics:\n  ${problems}")
endif()
message("rv32 queue atomics: plain lh/sh with fences, no atomic calls")
