/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Reset entry and trap vector of the riscv-virt port. With `-bios none`
 * QEMU's reset stub sends every hart to the start of RAM, where link.ld puts
 * .text.start: all harts run _start at once.
 *
 *   hart 0      zeroes .bss, then runs the main core (ampvq_riscv_main_hart)
 *   hart 1      sleeps in ampvq_riscv_sub_wait() until
 *               ampvq_port_start_subcore() releases it, then runs the sub
 *               core (ampvq_riscv_sub_hart); ampvq_riscv_reset_subcore()
 *               sends it back here through ampvq_riscv_sub_reboot
 *   hart 2+     parked for good (the port has two cores)
 *
 * Each hart has its own stack, AMPVQ_STACK_SIZE bytes below __stacks_end per
 * hart id. Stacks are outside .bss, so hart 0 zeroing .bss never touches
 * memory another hart is using.
 */
    .section .text.start, "ax"
    .globl _start
_start:
    /* gp first, with relaxation off, or the linker would "relax" this very
     * load into one relative to the gp it is setting. */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    mie, zero
    csrci   mstatus, 8              /* mstatus.MIE off until C code says */
    la      t0, riscv_trap_entry
    csrw    mtvec, t0               /* direct mode: every trap to one entry */
    csrr    a0, mhartid
    li      t1, 2
    bgeu    a0, t1, park

set_stack:
    la      sp, __stacks_end
    lui     t1, %hi(AMPVQ_STACK_SIZE)     /* absolute symbol from link.ld */
    addi    t1, t1, %lo(AMPVQ_STACK_SIZE)
    mul     t1, t1, a0
    sub     sp, sp, t1
    bnez    a0, sub_boot

    /* Hart 0 alone zeroes .bss: hart 1 reads nothing from it before it is
     * released, and the release comes after this. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    ampvq_riscv_main_hart
    j       park

sub_boot:
    /* Waits for the start (or a reset request) with mstatus.MIE off, then
     * runs the sub core; does not return. */
    call    ampvq_riscv_sub_wait
    j       park

/*
 * Hart 1's way back to its boot path after ampvq_riscv_reset_subcore(),
 * entered from its trap handler (riscv_virt_port.c): a fresh stack pointer
 * (the old stack, and everything the old instance was doing, is abandoned),
 * interrupts off, the trap vector set again, then the same wait as at
 * power-on. Nothing is unwound and nothing in shared memory is touched: a
 * crash followed by a reset of the core, as far as one image allows.
 */
    .globl  ampvq_riscv_sub_reboot
ampvq_riscv_sub_reboot:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    mie, zero
    csrci   mstatus, 8
    la      t0, riscv_trap_entry
    csrw    mtvec, t0
    csrr    a0, mhartid
    j       set_stack

park:
    csrw    mie, zero
4:  wfi
    j       4b

/*
 * Machine-mode trap vector. Only the caller-saved registers are saved: the C
 * handler preserves the rest (ABI). Traps do not nest (the hart clears
 * mstatus.MIE on entry and the handler never sets it), so one frame on the
 * interrupted code's stack is enough. 64 bytes keeps sp 16-byte aligned.
 */
    .section .text
    .balign 4                       /* mtvec needs a 4-byte aligned base */
riscv_trap_entry:
    addi    sp, sp, -64
    sw      ra, 0(sp)
    sw      t0, 4(sp)
    sw      t1, 8(sp)
    sw      t2, 12(sp)
    sw      a0, 16(sp)
    sw      a1, 20(sp)
    sw      a2, 24(sp)
    sw      a3, 28(sp)
    sw      a4, 32(sp)
    sw      a5, 36(sp)
    sw      a6, 40(sp)
    sw      a7, 44(sp)
    sw      t3, 48(sp)
    sw      t4, 52(sp)
    sw      t5, 56(sp)
    sw      t6, 60(sp)
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    ampvq_riscv_trap
    lw      ra, 0(sp)
    lw      t0, 4(sp)
    lw      t1, 8(sp)
    lw      t2, 12(sp)
    lw      a0, 16(sp)
    lw      a1, 20(sp)
    lw      a2, 24(sp)
    lw      a3, 28(sp)
    lw      a4, 32(sp)
    lw      a5, 36(sp)
    lw      a6, 40(sp)
    lw      a7, 44(sp)
    lw      t3, 48(sp)
    lw      t4, 52(sp)
    lw      t5, 56(sp)
    lw      t6, 60(sp)
    addi    sp, sp, 64
    mret
