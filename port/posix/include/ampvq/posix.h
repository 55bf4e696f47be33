/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The posix port: two "cores" on one Linux machine.
 *
 * Threads mode: both cores are threads of one process. Each core has a view
 * of the shared block (the two views may be two mappings of the same memory
 * at different addresses), and each thread says which core it runs as.
 *
 * Processes mode: the main core is one process, the sub core another; the
 * main core creates the shared memory (memfd), and esp_amp_start_subcore()
 * starts the sub-core executable, which maps the same memory at a different
 * address. The launchers (port/posix/launch_main.c, launch_sub.c) provide
 * main() and call app_main() / subcore_main() (ampvq/app.h).
 *
 * In both modes each core has an "interrupt thread" that sleeps on a futex on
 * the core's pending-bits word in shared memory; the peer's doorbell wakes it
 * and it runs ampvq_sw_intr_dispatch() while holding the core's critical
 * section lock (so ampvq_port_critical_enter() masks it, like disabling the
 * interrupt on a real core).
 */
#ifndef AMPVQ_POSIX_H
#define AMPVQ_POSIX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How often (ms) a core's interrupt thread looks at its pending word again
 *  while it sleeps without a doorbell: the bound on the delay a lost ring
 *  can cause. */
#define AMPVQ_POSIX_RECHECK_MS 20

/** 1: this build simulates non-coherent shared memory (each core's view is
 *  private beyond the uncached prefix; the cache hooks move 64-byte lines
 *  between the view and the memory). Needs AMPVQ_CACHE_COHERENT 0. See
 *  docs/noncoherent.md. */
#ifndef AMPVQ_POSIX_NONCOHERENT
#define AMPVQ_POSIX_NONCOHERENT 0
#endif

/** Default size of the shared block the launchers and helpers create. */
#define AMPVQ_POSIX_SHM_DEFAULT_SIZE (1u << 20)

/**
 * Create a shared-memory file (memfd) of `size` bytes, zero-filled. The
 * last one created is what processes mode hands to the sub core.
 * @return the file descriptor, or -1 (errno set)
 */
int ampvq_posix_shm_create(uint32_t size);

/**
 * Map `size` bytes of the shared-memory file `fd` read/write, shared.
 * `avoid` (may be NULL) is an address the mapping must not start at, so that
 * two views of the same memory are guaranteed to differ.
 * @return the mapping, or NULL
 */
void *ampvq_posix_shm_map(int fd, uint32_t size, const void *avoid);

/** Unmap a view made by ampvq_posix_shm_map(). */
void ampvq_posix_shm_unmap(void *base, uint32_t size);

/**
 * Set core `core`'s view of shared memory in this process: its base address
 * and size. Call before that core's esp_amp_init().
 * @return 0, or -1 if core is not AMPVQ_CORE_MAIN/AMPVQ_CORE_SUB
 */
int ampvq_posix_attach(int core, void *base, uint32_t size);

/** The calling thread runs as `core` from now on (thread-local). */
void ampvq_posix_set_core(int core);

/** Core that threads which never called ampvq_posix_set_core() run as. */
void ampvq_posix_set_default_core(int core);

/**
 * Threads mode: what esp_amp_start_subcore() runs. It starts a thread that
 * calls ampvq_posix_set_core(AMPVQ_CORE_SUB) and then entry(arg).
 */
void ampvq_posix_set_subcore_entry(int (*entry)(void *arg), void *arg);

/**
 * Processes mode: esp_amp_start_subcore() runs the executable `path` with
 * the shared-memory fd inherited (environment AMPVQ_SHM_FD, AMPVQ_SHM_SIZE,
 * AMPVQ_SHM_AVOID). Replaces any threads-mode entry. The child is killed
 * (PR_SET_PDEATHSIG) when the thread that called esp_amp_start_subcore()
 * exits, so call it from a thread that lives as long as the main core.
 */
void ampvq_posix_set_subcore_exe(const char *path);

/**
 * Wait for the sub core started by esp_amp_start_subcore() to finish, at most
 * `timeout_ms` (processes mode: the child is killed on time-out).
 * @param rc receives the sub core's return value / exit status
 * @return 0 when it finished, -1 on time-out, 1 if none was started
 */
int ampvq_posix_join_subcore(uint32_t timeout_ms, int *rc);

/**
 * Processes mode, test hook: kill the sub-core process at once (SIGKILL, as
 * a crash or a reset would stop a core mid-instruction) and reap it; a later
 * esp_amp_start_subcore() starts a new instance on the same shared memory.
 * @return 0, or -1 if no sub-core process runs
 */
int ampvq_posix_kill_subcore(void);

/**
 * Threads-mode convenience: create a shared block of `size` bytes mapped
 * twice (main and sub views at different addresses) and attach both.
 * @return 0 or -1
 */
int ampvq_posix_threads_setup(uint32_t size);

/**
 * Undo everything: stop the interrupt threads (each finishes its current
 * dispatch), join a threads-mode sub core, detach and unmap the views made
 * by ampvq_posix_threads_setup(). Safe to call more than once.
 */
void ampvq_posix_teardown(void);

/**
 * Test hook: number of times each core's interrupt thread has run
 * ampvq_sw_intr_dispatch() since setup.
 */
uint64_t ampvq_posix_dispatch_count(int core);

/**
 * Test hook: calls of ampvq_port_wait_intr() by core `core`'s tasks in this
 * process since setup, and how many of them ended by time-out. A blocking
 * call that sleeps makes about one call per failed try, and a call ends
 * early only when a dispatch came, so calls stay near the dispatch count;
 * one that spun would make far more.
 */
uint64_t ampvq_posix_wait_count(int core);
uint64_t ampvq_posix_wait_timeouts(int core);

/*
 * Test hooks: fault injection (tests/faults). Off by default; when off, the
 * doorbell costs one extra predictable branch. They act on this process
 * only: in processes mode each core's process arms its own.
 */

/** What the doorbell fault saw since it was last armed. */
typedef struct {
    uint64_t rings;    /**< doorbells this core rang (its triggers' 0 -> non-0 edges) */
    uint64_t dropped;  /**< ... of which were dropped on purpose */
    uint64_t rechecks; /**< dispatches of this core's interrupt thread that a
                        *   re-check after a time-out started (the pending
                        *   word was set but no ring woke it) */
} ampvq_posix_fault_stats_t;

/**
 * Test hook: from now on drop each doorbell ring with probability
 * `percent`/100 (0..100; 0 counts rings without dropping). Ring n's fate is
 * a pure function of (seed, n), so a run is reproducible up to the order in
 * which threads ring. Resets the counters. Thread-safe.
 */
void ampvq_posix_fault_doorbell_drop(uint32_t percent, uint64_t seed);

/** Test hook: disarm every fault (also done by ampvq_posix_teardown()). */
void ampvq_posix_fault_off(void);

/** Test hook: counters of core `core` (see ampvq_posix_fault_stats_t). */
void ampvq_posix_fault_stats(int core, ampvq_posix_fault_stats_t *st);

/**
 * Test hook: a spurious interrupt on core `core`, whose interrupt thread must
 * run in this process. bits != 0: OR them into the core's pending word and
 * wake its interrupt thread, as a stray trigger would (the handlers of those
 * ids run, maybe with nothing to do). bits == 0: run a dispatch now on the
 * calling thread, as that core with its interrupt masked (it takes whatever
 * is pending; with nothing pending no handler runs). Thread-safe.
 * @return 0, or -1 if the core's interrupt is not installed here
 */
int ampvq_posix_fault_spurious(int core, uint32_t bits);

/**
 * Test hook, non-coherent simulation only: 64-byte lines moved so far by
 * write-backs (invalidated 0) or invalidates (invalidated 1), this process.
 */
uint64_t ampvq_posix_nc_lines(int invalidated);

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_POSIX_H */
