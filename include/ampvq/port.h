/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The port contract: the only way the ampvq core (src/) reaches the
 * platform. A port is one folder under port/ that defines every function
 * below; a missing one is a link error (there are no weak defaults).
 * docs/porting.md explains each item and how the posix port does it.
 *
 * "This core" is the core that executes the call. On ports that run both
 * cores from one image (posix threads, riscv-virt) the port tells them apart
 * at run time (thread-local or hart id); on a real chip each image knows.
 */
#ifndef AMPVQ_PORT_H
#define AMPVQ_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Provided by the port                                                */
/* ------------------------------------------------------------------ */

/** AMPVQ_CORE_MAIN or AMPVQ_CORE_SUB: which core is calling. ISR-safe. */
int ampvq_port_core_id(void);

/** This core's address of shared-memory offset 0. Non-NULL once the port is
 *  set up; the two cores may see different addresses. */
void *ampvq_port_shm_base(void);

/** Bytes of shared memory from the base; at least 4 KiB. */
uint32_t ampvq_port_shm_size(void);

/**
 * Arm this core's software interrupt. Called once per esp_amp_sw_intr_init()
 * with this core's pending-bits word in shared memory. From then on, when the
 * word may have become non-zero (the peer rang the doorbell), the port calls
 * ampvq_sw_intr_dispatch() in interrupt context on this core. A ring that
 * arrives while the dispatch runs must lead to another dispatch, and if the
 * word is already non-zero at install (the peer triggered before this core
 * was ready; its ring may have been lost) a dispatch must follow soon: the
 * core rings only on the word's 0 -> non-0 edge.
 * @return 0 on success, non-zero if the interrupt cannot be installed.
 */
int ampvq_port_sw_intr_install(uint32_t *local_pending);

/**
 * Ring the doorbell of the core that owns `pending`: the peer for a trigger,
 * this core itself when the core catches up on work that arrived before a
 * handler existed. The core has already set bits in the word with a release
 * RMW, and rings only when the word was empty before. ISR-safe.
 */
void ampvq_port_doorbell_ring(uint32_t *pending);

/** Mask this core's software interrupt (and anything else the port needs)
 *  and return a token for ampvq_port_critical_exit(). Nests. */
uint32_t ampvq_port_critical_enter(void);
void ampvq_port_critical_exit(uint32_t token);

/** Milliseconds since an arbitrary point; wraps at 2^32. ISR-safe. */
uint32_t ampvq_port_time_ms(void);

/** Busy or sleeping delay of at least `us` microseconds (task context). */
void ampvq_port_delay_us(uint32_t us);

/**
 * Sleep until this core's software interrupt has been dispatched since the
 * caller looked, or until about `timeout_ms` have passed (the blocking calls,
 * esp_amp_queue_alloc() / esp_amp_queue_recv()).
 *
 * `gen` is this core's dispatch generation, a counter in this core's private
 * memory that ampvq_sw_intr_dispatch() advances (release) after every
 * dispatch that took pending bits, and then passes to ampvq_port_wake_intr().
 * The caller read `seen` from it (acquire) before looking at the condition
 * it waits for; the port must return at once if `*gen != seen` on entry,
 * and must not sleep through a change of `*gen` after it checked: that is
 * what makes "look, then sleep" free of lost wake-ups.
 *
 * Task context only, with this core's interrupts enabled (the dispatch must
 * be able to run while the caller sleeps). Early returns are allowed (a
 * signal, another interrupt, a capped sleep): callers re-check their
 * condition and the clock and call again. timeout_ms is a bound on one
 * sleep, not a promise to sleep that long; UINT32_MAX is an ordinary value.
 *
 * @return 0 when `*gen` moved (or may have), non-zero when the time-out
 *         passed; a hint only, as above
 */
int ampvq_port_wait_intr(const uint32_t *gen, uint32_t seen, uint32_t timeout_ms);

/**
 * Wake whoever sleeps in ampvq_port_wait_intr() on `gen`. Called by
 * ampvq_sw_intr_dispatch(), interrupt context, right after it advanced
 * `*gen`. Ports whose wait re-checks `*gen` whenever the core wakes from any
 * interrupt (wfi loops) may do nothing.
 */
void ampvq_port_wake_intr(uint32_t *gen);

/**
 * Start the sub core (esp_amp_start_subcore()). Main core only, after it has
 * initialised shared memory. @return 0 on success.
 */
int ampvq_port_start_subcore(void);

/**
 * Cache maintenance for memory the cores do not see coherently. Called by
 * the core only when AMPVQ_CACHE_COHERENT is 0; ports with coherent memory
 * define them empty. Ranges are within shared memory.
 */
void ampvq_port_cache_writeback(const void *addr, size_t len);
void ampvq_port_cache_invalidate(const void *addr, size_t len);

/* ------------------------------------------------------------------ */
/* Provided by the core, called by the port                            */
/* ------------------------------------------------------------------ */

/** Run this core's registered handlers for every pending software interrupt
 *  id, clearing the pending bits first. Interrupt context. */
void ampvq_sw_intr_dispatch(void);

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_PORT_H */
