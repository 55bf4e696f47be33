# SPDX-License-Identifier: Apache-2.0
# cmake -DOBJDUMP=riscv64-unknown-elf-objdump -DOBJECT=queue.o -P check_rv32_atomics.cmake
#
# The queue's ownership protocol on rv32imac must be plain halfword accesses
# with fences (RVWMO's mapping of C11 acquire/release), no atomic RMW and no
# library call:
#   alloc_try / recv_try   flags load-acquire  = lh/lhu, then fence r,rw
#   send_try / free_try    flags store-release = fence rw,w, then sh
# (in the function itself or in the static helper it calls: take / give)
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
  if(line MATCHES "^[0-9a-f]+ <([A-Za-z_][A-Za-z0-9_.]*)>:$")
    set(fn ${CMAKE_MATCH_1})
    set(insns_${fn} "")
  elseif(fn AND line MATCHES "^ *[0-9a-f]+:\t([a-z0-9.]+)\t?(.*)$")
    list(APPEND insns_${fn} "${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
  elseif(fn AND line MATCHES "R_RISCV_CALL(_PLT)?\t([A-Za-z_][A-Za-z0-9_.]*)")
    # A call's target is named by its relocation line (-dr).
    list(APPEND insns_${fn} "call <${CMAKE_MATCH_2}>")
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

# The flags are claimed in take() / published in give() (queue.c), which
# the compiler may inline into the public calls or keep as static functions
# (possibly renamed, e.g. give.constprop.0). A public call passes if it holds
# the pattern itself or calls a helper that does.
function(check_path fns kind helper_re out)
  set(bad "")
  foreach(fn IN LISTS fns)
    if(NOT DEFINED insns_${fn})
      list(APPEND bad "${fn} not found")
      continue()
    endif()
    set(n 0)
    if(kind STREQUAL "acquire")
      check_acquire(${fn} n)
    else()
      check_release(${fn} n)
    endif()
    if(n EQUAL 0)
      set(via "")
      foreach(insn IN LISTS insns_${fn})
        if(insn MATCHES "<(${helper_re})(\\.[a-z0-9.]+)?>")
          set(via ${CMAKE_MATCH_1}${CMAKE_MATCH_2})
        endif()
      endforeach()
      if(via AND DEFINED insns_${via})
        if(kind STREQUAL "acquire")
          check_acquire(${via} n)
        else()
          check_release(${via} n)
        endif()
      endif()
    endif()
    if(n EQUAL 0)
      list(APPEND bad "${fn}: no ${kind} pattern on the flags (itself or via ${helper_re})")
    endif()
  endforeach()
  set(${out} "${bad}" PARENT_SCOPE)
endfunction()

check_path("esp_amp_queue_alloc_try;esp_amp_queue_recv_try" acquire "take" bad_acq)
check_path("esp_amp_queue_send_try;esp_amp_queue_free_try" release "give" bad_rel)
list(APPEND problems ${bad_acq} ${bad_rel})

if(problems)
  string(REPLACE ";" "\n  " problems "${problems}")
  message(FATAL_ERROR "rv32 queue atomics:\n  ${problems}")
endif()
message("rv32 queue atomics: plain lh/sh with fences, no atomic calls")
