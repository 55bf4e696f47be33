/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The one place in ampvq that names a memory order. Shared-memory fields
 * are plain fixed-width integers (two separately built images must agree
 * byte for byte, which C11 does not promise for _Atomic T); these wrappers
 * over the GCC/Clang __atomic builtins are the only way the core touches
 * them concurrently. Each call site says what it pairs with.
 *
 * On rv32imac the 16/32-bit loads and stores below compile to plain
 * lh/lw/sh/sw with fences (no libatomic calls); the RMWs to amo* (A
 * extension). On Cortex-M they are ldr/str with dmb, RMWs ldrex/strex.
 * Descriptor addr/len are written with plain stores (see queue.c): GCC 12
 * turns a relaxed 32-bit atomic store on rv32 into an amoswap.
 */
#ifndef AMPVQ_ATOMIC_H
#define AMPVQ_ATOMIC_H

#include <stdint.h>

/* Read once, no ordering: the compiler may not re-load it later, so a check
 * made on the value is a check on the value used. */
#define AMPVQ_READ_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)

#if defined(__riscv)
/* Write once, no ordering. Volatile rather than a relaxed atomic store: GCC
 * 12 turns a 32-bit relaxed atomic store on rv32 into an amoswap. */
#define AMPVQ_WRITE_ONCE(p, v) (*(volatile __typeof__(*(p)) *)(p) = (v))
/*
 * RISC-V: the RVWMO mappings of the ISA manual (acquire = load; fence r,rw,
 * release = fence rw,w; store). GCC 12 emits a full "fence rw,rw" for both,
 * which orders more than the protocol needs. The asm's memory clobber keeps
 * the compiler from moving accesses across the fence.
 */
static inline uint16_t ampvq_load_acquire_u16(const uint16_t *p)
{
    uint16_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    __asm__ volatile("fence r,rw" ::: "memory");
    return v;
}
static inline uint32_t ampvq_load_acquire_u32(const uint32_t *p)
{
    uint32_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    __asm__ volatile("fence r,rw" ::: "memory");
    return v;
}
static inline void ampvq_store_release_u16(uint16_t *p, uint16_t v)
{
    __asm__ volatile("fence rw,w" ::: "memory");
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static inline void ampvq_store_release_u32(uint32_t *p, uint32_t v)
{
    __asm__ volatile("fence rw,w" ::: "memory");
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
#define AMPVQ_LOAD_ACQUIRE(p)                                                                                          \
    _Generic((p), uint16_t *: ampvq_load_acquire_u16, const uint16_t *: ampvq_load_acquire_u16, \
             uint32_t *: ampvq_load_acquire_u32, const uint32_t *: ampvq_load_acquire_u32)(p)
#define AMPVQ_STORE_RELEASE(p, v)                                                                                      \
    _Generic((p), uint16_t * : ampvq_store_release_u16, uint32_t * : ampvq_store_release_u32)((p), (v))
#else
/* Write once, no ordering (a relaxed atomic store, so TSan sees it). */
#define AMPVQ_WRITE_ONCE(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Later loads and stores stay after it: pairs with a peer's store_release. */
#define AMPVQ_LOAD_ACQUIRE(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
/* Earlier loads and stores stay before it: pairs with a peer's load_acquire. */
#define AMPVQ_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#endif

/* Read-modify-write for words both cores update (sw_intr pending bits and
 * event bits, never the queue's data path). */
#define AMPVQ_FETCH_OR(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define AMPVQ_FETCH_AND(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define AMPVQ_EXCHANGE(p, v)  __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

/* Full fence: orders an earlier store before a later load. GCC's
 * ThreadSanitizer rejects atomic_thread_fence (-Wtsan); under TSan a
 * seq_cst RMW stands in (x86: the same locked instruction). */
#if defined(__SANITIZE_THREAD__)
extern uint32_t ampvq_tsan_fence_word;
#define AMPVQ_FENCE() ((void)__atomic_fetch_add(&ampvq_tsan_fence_word, 0u, __ATOMIC_SEQ_CST))
#else
#define AMPVQ_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif /* AMPVQ_ATOMIC_H */
