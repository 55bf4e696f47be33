/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The riscv-virt port: bare metal, machine mode, QEMU `virt` with two harts
 * running one image. Hart 0 is the main core, hart 1 the sub core.
 *
 *   doorbell        CLINT MSIP of the target hart (machine software interrupt),
 *                   written only when no ring is outstanding (see `rung`)
 *   critical        mstatus.MIE cleared and restored
 *   time            CLINT mtime, 10 MHz
 *   shared memory   the linker script's .shm region (__ampvq_shm_start/end)
 *   console         16550 UART, one spinlock for both harts
 *   exit            sifive_test device
 *   sub core reset  ampvq_riscv_reset_subcore(): a flag and hart 1's MSIP;
 *                   hart 1's trap handler goes back to its boot path
 *
 * RAM is coherent between the harts, so the cache hooks are empty. Device
 * registers are touched through volatile pointers (that is what volatile is
 * for); ordering between shared memory and a device write is a `fence` that
 * names both (o = device output, r/w = memory).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ampvq/port.h"
#include "ampvq/riscv_virt.h"
#include "ampvq/shm_layout.h"
#include "riscv_virt_priv.h"

#define CLINT_BASE        0x02000000u
#define CLINT_MSIP(h)     (CLINT_BASE + 4u * (uint32_t)(h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000u + 8u * (uint32_t)(h))
#define CLINT_MTIME       (CLINT_BASE + 0xbff8u)
#define UART_BASE         0x10000000u
#define UART_THR          (UART_BASE + 0u)
#define UART_LSR          (UART_BASE + 5u)
#define UART_LSR_THRE     0x20u
#define SIFIVE_TEST       0x00100000u
#define SIFIVE_TEST_PASS  0x5555u
#define SIFIVE_TEST_FAIL  0x3333u

#define MSTATUS_MIE       0x8u
#define MIE_MSIE          0x8u
#define MIE_MTIE          0x80u
#define MCAUSE_INTERRUPT  0x80000000u
#define MCAUSE_M_SOFTWARE 3u
#define MCAUSE_M_TIMER    7u

#define TICKS_PER_US (AMPVQ_RISCV_MTIME_HZ / 1000000u)
#define TICKS_PER_MS (AMPVQ_RISCV_MTIME_HZ / 1000u)
/* Below this a delay spins: arming the timer and sleeping costs about as
 * much. Above it the hart sleeps in wfi, which leaves the host CPU to the
 * other hart (QEMU runs each hart on a host thread). */
#define DELAY_SPIN_US 20u

/* From link.ld. */
extern uint8_t __ampvq_shm_start[];
extern uint8_t __ampvq_shm_end[];

uint32_t ampvq_riscv_sub_go;

static uint32_t dispatches[2];
static uint32_t wait_calls[2]; /* ampvq_riscv_wait_count() */

/*
 * Resetting hart 1 (ampvq_riscv_reset_subcore()). Hart 0 clears
 * ampvq_riscv_sub_go, sets sub_reset_req (release) and raises hart 1's MSIP.
 * Hart 1 looks at the request wherever it lowers its own MSIP: in the trap
 * handler (before any dispatch), in ampvq_riscv_hart_setup() and in the
 * boot wait. Lowering is ordered before the load of the request (fence
 * o,rw), so either the load sees the request or the MSIP is raised after the
 * lowering and another trap (or wfi wake-up) follows: a doorbell trap can
 * never swallow a reset. Hart 1 takes it with mstatus.MIE off: it clears its
 * private state, acknowledges by bumping sub_resets (release) and jumps to
 * ampvq_riscv_sub_reboot (start.S). A hart in a critical section (MIE off)
 * takes the reset when it leaves it; the core's critical sections are a few
 * instructions, and no queue operation runs in one.
 */
static uint32_t sub_reset_req; /* hart 0 sets, hart 1 clears when it takes it */
static uint32_t sub_resets;    /* resets hart 1 has taken; only hart 1 writes */
/* sw_intr_install() has run on this hart since it (re)booted. Until then a
 * software interrupt is not dispatched: the core's handler table of the sub
 * core still holds the previous instance's handlers (their arguments on the
 * abandoned stack) until the new instance's esp_amp_sw_intr_init() clears
 * them. The pending bits stay in the shared word; install() re-rings. */
static uint32_t intr_installed[2];

#ifndef AMPVQ_RISCV_RESET_TIMEOUT_MS
#define AMPVQ_RISCV_RESET_TIMEOUT_MS 1000u
#endif

/*
 * rung[h] is 1 from the ring that raised hart h's MSIP until h's trap
 * handler takes it. A ring that finds it 1 skips the MSIP write: the trap it
 * would cause is already coming and will see its pending bit. In QEMU a
 * write to another hart's MSIP kicks that hart's thread, and the queue's
 * notify rings on every send (most of them while a ring is outstanding);
 * on hardware it saves bus writes the same way.
 *
 * Why no ring is lost. Ringer: OR bit into pending (core, release RMW), then
 * exchange(rung, 1), ring MSIP only if it was 0. Trap: clear MSIP, then
 * rung = 0, full fence, then the dispatch exchanges pending. If the ringer
 * read 1, that 1 goes back to a ring that found 0 and wrote MSIP, with no
 * reset in between; the reset in the trap that MSIP causes therefore comes
 * after our exchange in rung's order;
 * the dispatch after that reset therefore sees our bit (the ringer orders
 * pending before rung, the trap orders rung before pending). If the ringer
 * read 0, it writes MSIP after the trap cleared it: another trap.
 * Lives in .bss: both harts run this image; a two-image port would put it
 * in shared memory.
 */
static uint32_t rung[2];
static uint32_t console_owner; /* 0 = free, else hart id + 1 */
static uint32_t console_depth; /* re-entries by the owner (trap reports) */

/* ------------------------------------------------------------ hardware */

static inline uint32_t mmio_read32(uint32_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)addr = v;
}

static inline uint8_t mmio_read8(uint32_t addr)
{
    return *(volatile uint8_t *)(uintptr_t)addr;
}

static inline void mmio_write8(uint32_t addr, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)addr = v;
}

static inline uint32_t hart_id(void)
{
    uint32_t v;
    __asm__ volatile("csrr %0, mhartid" : "=r"(v));
    return v;
}

static inline void mie_set(uint32_t bits)
{
    __asm__ volatile("csrs mie, %0" : : "r"(bits) : "memory");
}

static inline void mie_clear(uint32_t bits)
{
    __asm__ volatile("csrc mie, %0" : : "r"(bits) : "memory");
}

static inline void wfi(void)
{
    __asm__ volatile("wfi" : : : "memory");
}

/* Ring hart `h`: everything this hart wrote to memory before (the pending
 * bit, set by the core's release RMW, and what that publishes) is ordered
 * before the device write that raises the interrupt. */
static void msip_raise(uint32_t h)
{
    __asm__ volatile("fence rw, o" : : : "memory");
    mmio_write32(CLINT_MSIP(h), 1u);
}

/* Lower this hart's MSIP, ordered before the memory accesses that follow (the
 * dispatch's exchange of the pending word). A ring whose pending bit we do
 * not see therefore raises MSIP after we lowered it: another trap. */
static void msip_lower_own(void)
{
    mmio_write32(CLINT_MSIP(hart_id()), 0u);
    __asm__ volatile("fence o, rw" : : : "memory");
}

/* Ring hart h unless a ring to it is still outstanding (see `rung`). */
static void ring(uint32_t h)
{
    /* The RMW is ordered after the core's OR into the pending word. */
    if (__atomic_exchange_n(&rung[h & 1u], 1u, __ATOMIC_ACQ_REL) == 0) {
        msip_raise(h);
    }
}

/* This hart takes its doorbell: from here on a ring must raise MSIP again,
 * and that is ordered before the dispatch reads the pending word. */
static void rung_reset_own(uint32_t h)
{
    __atomic_store_n(&rung[h & 1u], 0u, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint64_t ampvq_riscv_mtime(void)
{
    uint32_t hi, lo;

    /* Two 32-bit reads of a 64-bit counter: re-read if the high half moved
     * in between (the low half wrapped). */
    do {
        hi = mmio_read32(CLINT_MTIME + 4u);
        lo = mmio_read32(CLINT_MTIME);
    } while (mmio_read32(CLINT_MTIME + 4u) != hi);
    return ((uint64_t)hi << 32) | lo;
}

static void mtimecmp_write(uint32_t h, uint64_t when)
{
    /* Low word to all-ones first so that no intermediate value lies in the
     * past (the timer interrupt is masked here anyway; this only avoids a
     * spurious early wake-up from wfi). */
    mmio_write32(CLINT_MTIMECMP(h), UINT32_MAX);
    mmio_write32(CLINT_MTIMECMP(h) + 4u, (uint32_t)(when >> 32));
    mmio_write32(CLINT_MTIMECMP(h), (uint32_t)when);
}

/* ------------------------------------------------------------- port.h */

int ampvq_port_core_id(void)
{
    /* Hart 0 boots first and is the main core; hart 1 is started by it. */
    return hart_id() == 0 ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
}

void *ampvq_port_shm_base(void)
{
    return __ampvq_shm_start;
}

uint32_t ampvq_port_shm_size(void)
{
    return (uint32_t)(__ampvq_shm_end - __ampvq_shm_start);
}

int ampvq_port_sw_intr_install(uint32_t *local_pending)
{
    uint32_t h = hart_id();

    /* A ring that came before this hart could take it (the sub core clears
     * its MSIP at boot, after the start ring) may have left rung at 1 and
     * its bit in the pending word: start afresh, then ring ourselves if
     * anything is pending, so that it is dispatched now. */
    __atomic_store_n(&intr_installed[h & 1u], 1u, __ATOMIC_RELAXED);
    rung_reset_own(h);
    mie_set(MIE_MSIE);
    if (local_pending != NULL && __atomic_load_n(local_pending, __ATOMIC_ACQUIRE) != 0) {
        ring(h);
    }
    return 0;
}

void ampvq_port_doorbell_ring(uint32_t *peer_pending)
{
    /* The core rings the peer for esp_amp_sw_intr_trigger() and this very
     * core for a local catch-up (esp_amp_queue_intr_enable()): the pending
     * word tells which. Both harts see the region at the same address. */
    const ampvq_region_hdr_t *hdr = (const ampvq_region_hdr_t *)(const void *)__ampvq_shm_start;
    uint32_t target;

    if (peer_pending == &hdr->sw_intr_pending[AMPVQ_CORE_MAIN]) {
        target = 0;
    } else if (peer_pending == &hdr->sw_intr_pending[AMPVQ_CORE_SUB]) {
        target = 1;
    } else {
        target = hart_id() ^ 1u;
    }
    ring(target);
}

uint32_t ampvq_port_critical_enter(void)
{
    uint32_t old;
    /* Atomically read mstatus and clear MIE: the token is the old MIE bit. */
    __asm__ volatile("csrrci %0, mstatus, %1" : "=r"(old) : "i"(MSTATUS_MIE) : "memory");
    return old & MSTATUS_MIE;
}

void ampvq_port_critical_exit(uint32_t token)
{
    /* Only re-enable if interrupts were on at the matching enter: nests. */
    if ((token & MSTATUS_MIE) != 0) {
        __asm__ volatile("csrsi mstatus, %0" : : "i"(MSTATUS_MIE) : "memory");
    }
}

uint32_t ampvq_port_time_ms(void)
{
    return (uint32_t)(ampvq_riscv_mtime() / TICKS_PER_MS);
}

void ampvq_port_delay_us(uint32_t us)
{
    uint64_t end = ampvq_riscv_mtime() + (uint64_t)us * TICKS_PER_US;

    if (us < DELAY_SPIN_US) {
        while (ampvq_riscv_mtime() < end) {
        }
        return;
    }
    uint32_t h = hart_id();
    for (;;) {
        /* Sleep with MIE off: wfi still wakes on any interrupt enabled in
         * mie, but no trap is taken, so the timer interrupt can never fire
         * between the check and the wfi and leave us asleep. MTIE is only
         * on inside this window, so a timer trap never happens at all. */
        uint32_t token = ampvq_port_critical_enter();
        if (ampvq_riscv_mtime() >= end) {
            ampvq_port_critical_exit(token);
            return;
        }
        mtimecmp_write(h, end);
        mie_set(MIE_MTIE);
        wfi();
        mie_clear(MIE_MTIE);
        /* A software interrupt that woke us is taken here, then we sleep on. */
        ampvq_port_critical_exit(token);
    }
}

int ampvq_port_wait_intr(const uint32_t *gen, uint32_t seen, uint32_t timeout_ms)
{
    uint64_t end = ampvq_riscv_mtime() + (uint64_t)timeout_ms * TICKS_PER_MS;
    uint32_t h = hart_id();

    /* Only this hart writes its count; relaxed, like dispatches[]. */
    __atomic_store_n(&wait_calls[h & 1u], wait_calls[h & 1u] + 1u, __ATOMIC_RELAXED);
    for (;;) {
        /* As in delay_us(): check and sleep with MIE off, so the doorbell
         * cannot be taken between the check and the wfi (wfi still wakes on
         * a pending MSIP, which sw_intr_install() enabled in mie). The trap
         * is taken when MIE comes back on, and its dispatch moves *gen. */
        uint32_t token = ampvq_port_critical_enter();
        if (__atomic_load_n(gen, __ATOMIC_ACQUIRE) != seen) {
            ampvq_port_critical_exit(token);
            return 0;
        }
        if (ampvq_riscv_mtime() >= end) {
            ampvq_port_critical_exit(token);
            return 1;
        }
        mtimecmp_write(h, end);
        mie_set(MIE_MTIE);
        wfi();
        mie_clear(MIE_MTIE);
        ampvq_port_critical_exit(token);
    }
}

void ampvq_port_wake_intr(uint32_t *gen)
{
    /* The dispatch runs on the sleeping hart itself, in the trap that woke
     * its wfi; wait_intr() looks at *gen when the trap returns. */
    (void)gen;
}

int ampvq_port_start_subcore(void)
{
    uint32_t expected = 0;

    /* Once per boot or ampvq_riscv_reset_subcore(): that clears the flag. */
    if (!__atomic_compare_exchange_n(&ampvq_riscv_sub_go, &expected, 1u, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
        return -1;
    }
    /* Release above pairs with the acquire fence after hart 1's load in
     * start.S: shared memory the main core set up is visible to the sub
     * core. The MSIP wakes hart 1 from its wfi. */
    msip_raise(1);
    return 0;
}

void ampvq_port_cache_writeback(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

void ampvq_port_cache_invalidate(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

/* --------------------------------------------------------- port extras */

/* Hart 1, mstatus.MIE off (trap handler or boot path): if a reset is
 * requested, take it. Everything the instance was doing is abandoned: no
 * queue is closed, nothing in shared memory is written; the port's private
 * state of this hart goes back to what a power-on gives. */
static void sub_reset_if_requested(void)
{
    /* Acquire pairs with the release in ampvq_riscv_reset_subcore(): the
     * cleared ampvq_riscv_sub_go is visible to the boot wait. */
    if (__atomic_load_n(&sub_reset_req, __ATOMIC_ACQUIRE) == 0) {
        return;
    }
    __asm__ volatile("csrw mie, zero" : : : "memory");
    __atomic_store_n(&intr_installed[1], 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&dispatches[1], 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&wait_calls[1], 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&sub_reset_req, 0u, __ATOMIC_RELAXED);
    /* Release: the above is done before hart 0 sees the acknowledgement. */
    __atomic_store_n(&sub_resets, sub_resets + 1u, __ATOMIC_RELEASE);
    ampvq_riscv_sub_reboot();
}

void ampvq_riscv_sub_wait(void)
{
    /* MSIE on with mstatus.MIE off: a ring wakes wfi without trapping.
     * MSIP is lowered before each look at the flags, so a doorbell the main
     * core rings meanwhile wakes us once, not for ever (rung[1] stays set
     * and keeps further rings off the device; sw_intr_install() re-rings for
     * whatever is pending). */
    __asm__ volatile("csrw mie, %0" : : "r"(MIE_MSIE) : "memory");
    for (;;) {
        msip_lower_own();
        sub_reset_if_requested(); /* a reset that came before we ran */
        /* Acquire: pairs with the release in ampvq_port_start_subcore(), so
         * the main core's writes to shared memory are visible from here on. */
        if (__atomic_load_n(&ampvq_riscv_sub_go, __ATOMIC_ACQUIRE) != 0) {
            break;
        }
        wfi();
    }
    ampvq_riscv_sub_hart();
}

void ampvq_riscv_hart_setup(void)
{
    uint32_t h = hart_id();

    __asm__ volatile("csrw mie, zero" : : : "memory");
    /* Hart 1 was woken by MSIP: that was the start signal, not a doorbell. */
    msip_lower_own();
    if (h == 1u) {
        /* A reset requested between the start and here: its MSIP was just
         * lowered. Later ones trap: MSIE stays on from now (the trap handler
         * dispatches nothing before sw_intr_install()). */
        sub_reset_if_requested();
        mie_set(MIE_MSIE);
    }
    __asm__ volatile("csrsi mstatus, %0" : : "i"(MSTATUS_MIE) : "memory");
}

int ampvq_riscv_reset_subcore(void)
{
    if (hart_id() != 0u) {
        return -1;
    }
    /* Never started, or held since the last reset: nothing runs there. */
    if (__atomic_load_n(&ampvq_riscv_sub_go, __ATOMIC_RELAXED) == 0) {
        return 0;
    }
    uint32_t before = __atomic_load_n(&sub_resets, __ATOMIC_ACQUIRE);
    /* The new instance waits for the next ampvq_port_start_subcore(). */
    __atomic_store_n(&ampvq_riscv_sub_go, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&sub_reset_req, 1u, __ATOMIC_RELEASE);
    msip_raise(1);
    uint64_t until = ampvq_riscv_mtime() + (uint64_t)AMPVQ_RISCV_RESET_TIMEOUT_MS * TICKS_PER_MS;
    /* Acquire pairs with the release in sub_reset_if_requested(). */
    while (__atomic_load_n(&sub_resets, __ATOMIC_ACQUIRE) == before) {
        if (ampvq_riscv_mtime() >= until) {
            return -1;
        }
    }
    /* Hart 1 is in its boot wait: the launcher forgets the old instance's
     * exit status (boot.c). */
    ampvq_riscv_sub_abandoned();
    return 0;
}

uint32_t ampvq_riscv_subcore_resets(void)
{
    return __atomic_load_n(&sub_resets, __ATOMIC_ACQUIRE);
}

uint32_t ampvq_riscv_dispatch_count(int core)
{
    return __atomic_load_n(&dispatches[core & 1], __ATOMIC_RELAXED);
}

uint32_t ampvq_riscv_wait_count(int core)
{
    return __atomic_load_n(&wait_calls[core & 1], __ATOMIC_RELAXED);
}

void ampvq_riscv_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    uint32_t h = hart_id();

    if (mcause == (MCAUSE_INTERRUPT | MCAUSE_M_SOFTWARE)) {
        /* Acknowledge before dispatching: a ring that the dispatch's
         * exchange misses raises MSIP again and brings us back here. */
        msip_lower_own();
        if (h == 1u) {
            sub_reset_if_requested(); /* before any dispatch; no return if taken */
        }
        if (__atomic_load_n(&intr_installed[h & 1u], __ATOMIC_RELAXED) == 0) {
            /* Not this instance's doorbell yet (rung stays set: install()
             * resets it and rings for what is pending). */
            return;
        }
        rung_reset_own(h);
        __atomic_store_n(&dispatches[h & 1u], dispatches[h & 1u] + 1u, __ATOMIC_RELAXED);
        ampvq_sw_intr_dispatch();
        return;
    }
    if (mcause == (MCAUSE_INTERRUPT | MCAUSE_M_TIMER)) {
        /* Only possible if someone enabled MTIE outside delay_us(). */
        mie_clear(MIE_MTIE);
        return;
    }
    uint32_t token = ampvq_riscv_console_lock();
    static const char msg[] = "\nampvq riscv-virt: unexpected trap on hart ";
    for (const char *p = msg; *p != '\0'; p++) {
        ampvq_riscv_console_putc(*p);
    }
    ampvq_riscv_console_putc((char)('0' + (h & 7u)));
    const uint32_t words[3] = {mcause, mepc, mtval};
    static const char *const names[3] = {" mcause=0x", " mepc=0x", " mtval=0x"};
    for (int i = 0; i < 3; i++) {
        for (const char *p = names[i]; *p != '\0'; p++) {
            ampvq_riscv_console_putc(*p);
        }
        for (int s = 28; s >= 0; s -= 4) {
            ampvq_riscv_console_putc("0123456789abcdef"[(words[i] >> s) & 0xfu]);
        }
    }
    ampvq_riscv_console_putc('\n');
    ampvq_riscv_console_unlock(token);
    ampvq_riscv_exit(AMPVQ_RISCV_EXIT_TRAP);
}

uint32_t ampvq_riscv_console_lock(void)
{
    uint32_t token = ampvq_port_critical_enter();
    uint32_t me = hart_id() + 1u;

    if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me) {
        console_depth++;
        return token;
    }
    for (;;) {
        uint32_t expected = 0;
        /* Acquire pairs with the release in console_unlock(): the UART is
         * ours after the previous owner's last byte. */
        if (__atomic_compare_exchange_n(&console_owner, &expected, me, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return token;
        }
        while (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) != 0) {
        }
    }
}

void ampvq_riscv_console_unlock(uint32_t token)
{
    if (console_depth > 0) {
        console_depth--;
    } else {
        __atomic_store_n(&console_owner, 0u, __ATOMIC_RELEASE);
    }
    ampvq_port_critical_exit(token);
}

void ampvq_riscv_console_putc(char c)
{
    /* A terminal wants CR LF; QEMU's -nographic console is one. */
    if (c == '\n') {
        ampvq_riscv_console_putc('\r');
    }
    while ((mmio_read8(UART_LSR) & UART_LSR_THRE) == 0) {
    }
    mmio_write8(UART_THR, (uint8_t)c);
}

_Noreturn void ampvq_riscv_exit(int code)
{
    /* Let a line the other hart is printing finish, but do not wait for
     * ever: it may be the hart that hung. */
    uint64_t until = ampvq_riscv_mtime() + 10u * TICKS_PER_MS;
    while (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) != 0 &&
           __atomic_load_n(&console_owner, __ATOMIC_RELAXED) != hart_id() + 1u && ampvq_riscv_mtime() < until) {
    }
    uint32_t status = (uint32_t)code & 0xffu;
    if (code != 0 && status == 0) {
        status = 1; /* a failure must not look like success after truncation */
    }
    __asm__ volatile("fence rw, o" : : : "memory");
    mmio_write32(SIFIVE_TEST, status == 0 ? SIFIVE_TEST_PASS : (status << 16) | SIFIVE_TEST_FAIL);
    for (;;) {
        wfi();
    }
}
