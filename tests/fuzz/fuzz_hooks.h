/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Force-included (clang -include) into every core source file (src/) of a fuzz build.
 *
 * The core touches shared memory only through the AMPVQ_* macros of
 * src/ampvq_atomic.h. Defining that header's include guard here, before the
 * core includes it, makes the core's #include a no-op and routes every
 * shared-memory load and store through the harness (fuzz_common.c), which
 * can then
 *   - check the address lies in the shared block,
 *   - log it, to prove that one API call reads each field at most once and
 *     reads a bounded number of fields,
 *   - rewrite the bytes just before and/or just after the load ("tear"
 *     mode: the peer writing concurrently, but deterministically, so every
 *     finding replays).
 * src/ is not modified. If the guard's name ever changes, the real header
 * is included as well and redefines these macros: clang's macro-redefined
 * warning then stops the build (-Werror) instead of silently losing the
 * hooks.
 */
#ifndef AMPVQ_FUZZ_HOOKS_H
#define AMPVQ_FUZZ_HOOKS_H

#include <stdint.h>

#define AMPVQ_ATOMIC_H 1

uint64_t ampvq_fuzz_load(const void *p, unsigned size, int order);
void ampvq_fuzz_store(void *p, unsigned size, uint64_t v, int order);

/* Same memory orders as the real macros; the value is converted back to the
 * field's own type, as __atomic_load_n would return it. */
#define AMPVQ_READ_ONCE(p)        ((__typeof__(*(p)))ampvq_fuzz_load((p), sizeof(*(p)), __ATOMIC_RELAXED))
#define AMPVQ_LOAD_ACQUIRE(p)     ((__typeof__(*(p)))ampvq_fuzz_load((p), sizeof(*(p)), __ATOMIC_ACQUIRE))
#define AMPVQ_WRITE_ONCE(p, v)    ampvq_fuzz_store((p), sizeof(*(p)), (uint64_t)(v), __ATOMIC_RELAXED)
#define AMPVQ_STORE_RELEASE(p, v) ampvq_fuzz_store((p), sizeof(*(p)), (uint64_t)(v), __ATOMIC_RELEASE)

/* Read-modify-writes are not on the peer-data path (software-interrupt and
 * event words); they keep their real definitions. */
#define AMPVQ_FETCH_OR(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define AMPVQ_FETCH_AND(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define AMPVQ_EXCHANGE(p, v)  __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define AMPVQ_FENCE()         __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif /* AMPVQ_FUZZ_HOOKS_H */
