/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What the riscv-virt port's own files share (port, startup, libc); not for
 * applications. Addresses are those of QEMU's `virt` machine.
 */
#ifndef AMPVQ_RISCV_VIRT_PRIV_H
#define AMPVQ_RISCV_VIRT_PRIV_H

#include <stdint.h>

/* Set (release) by ampvq_port_start_subcore(); hart 1's startup code waits
 * in wfi until it reads non-zero (acquire), then enters ampvq_riscv_sub_hart(). */
extern uint32_t ampvq_riscv_sub_go;

/* Per-hart C set-up, first thing on each hart: nothing enabled in mie, the
 * hart's own MSIP clear, mstatus.MIE on (so critical sections mean
 * something). */
void ampvq_riscv_hart_setup(void);

/* The C part of the trap vector in start.S (machine mode, direct mode). */
void ampvq_riscv_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval);

/* Entered from start.S on hart 0 and (once started) hart 1; never return. */
void ampvq_riscv_main_hart(void);
void ampvq_riscv_sub_hart(void);

/* Hart 1's boot wait (riscv_virt_port.c), called from start.S on a fresh
 * stack with mstatus.MIE off: until ampvq_riscv_sub_go is set, taking any
 * reset request meanwhile; then ampvq_riscv_sub_hart(). Never returns. */
void ampvq_riscv_sub_wait(void);

/* start.S: hart 1 back to its boot path (fresh stack, interrupts off, then
 * ampvq_riscv_sub_wait()). Called by the port when hart 1 takes a reset. */
_Noreturn void ampvq_riscv_sub_reboot(void);

/* boot.c, called on hart 0 once hart 1 has taken a reset: the launcher
 * forgets the abandoned instance (finished flag, exit status). */
void ampvq_riscv_sub_abandoned(void);

/* The console: take it (interrupts masked; recursive on the same hart, so
 * a trap report from inside printf still gets out), write bytes, give it back. */
uint32_t ampvq_riscv_console_lock(void);
void ampvq_riscv_console_putc(char c);
void ampvq_riscv_console_unlock(uint32_t token);

#endif /* AMPVQ_RISCV_VIRT_PRIV_H */
