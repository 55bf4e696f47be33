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
