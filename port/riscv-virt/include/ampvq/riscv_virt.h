/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Extras of the riscv-virt port (bare metal, QEMU `virt`, two harts) for
 * firmware and tests that want more than include/ampvq/port.h: the raw
 * machine timer, the exit device and the interrupt counters. Portable
 * applications do not need this header.
 */
#ifndef AMPVQ_RISCV_VIRT_H
#define AMPVQ_RISCV_VIRT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Frequency of the CLINT's mtime on QEMU `virt`. */
#define AMPVQ_RISCV_MTIME_HZ 10000000u

/** Raw 64-bit machine timer (CLINT mtime), AMPVQ_RISCV_MTIME_HZ ticks per
 *  second, shared by both harts. Any context. */
uint64_t ampvq_riscv_mtime(void);

/**
 * Stop the machine through the sifive_test device: QEMU exits with status
 * `code` (0 = pass; other values are reduced to 1..255). Any hart, any
 * context; does not return.
 */
_Noreturn void ampvq_riscv_exit(int code);

/** Software interrupts this hart's trap handler has taken (one
 *  ampvq_sw_intr_dispatch() each) since reset. */
uint32_t ampvq_riscv_dispatch_count(int core);

/** Calls of ampvq_port_wait_intr() by this core since reset: a blocking
 *  queue call sleeps about once per failed try, so a test can tell sleeping
 *  from spinning by comparing it with the dispatch count. */
uint32_t ampvq_riscv_wait_count(int core);

/**
 * Reset the sub core (hart 1) abruptly, the way a crash followed by a reset
 * of that core would: main core (hart 0) only. Hart 1 is interrupted wherever
 * it is (its machine software interrupt; inside a critical section, when it
 * leaves it), abandons everything (no queue is closed, nothing in shared
 * memory is written, its stack is dropped), clears the port's private state
 * of hart 1 and waits in its boot path. esp_amp_start_subcore() then starts
 * a new instance: subcore_main() from the beginning, whose esp_amp_init()
 * takes the next sub-core session (docs/sessions.md).
 *
 * Unlike a real reset, .data and .bss are not reloaded: both harts share one
 * image, so statics of the sub core's application keep their values.
 * subcore_main() must initialise what it uses. The core's own per-core state
 * (software-interrupt handlers) is re-initialised by esp_amp_init(); the
 * port dispatches no software interrupt on the new instance before that.
 *
 * @return 0 once hart 1 is held (also if it was not running); -1 if called
 *         on hart 1 or hart 1 did not take the reset within
 *         AMPVQ_RISCV_RESET_TIMEOUT_MS (default 1000; it is stuck with
 *         interrupts masked, and may still take it later).
 */
int ampvq_riscv_reset_subcore(void);

/** Resets hart 1 has taken since power-on. Any hart. */
uint32_t ampvq_riscv_subcore_resets(void);

/** Exit statuses the port itself produces, beside the application's own. */
#define AMPVQ_RISCV_EXIT_SUB_TIMEOUT 3 /**< sub core still running at the end */
#define AMPVQ_RISCV_EXIT_TRAP        4 /**< unexpected exception or interrupt */

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_RISCV_VIRT_H */
