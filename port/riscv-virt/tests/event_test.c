/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Event bits on two real harts: link-up, waits that succeed when the peer
 * notifies (also while the waiter is already waiting), waits that time out
 * when nobody does, after about the time-out as measured independently with
 * the raw CLINT mtime, wait-for-all versus wait-for-any, clear on exit and
 * explicit clear. Both directions: the sub core runs its own checks and
 * reports its verdict with an event bit.
 *
 * Time bounds: a wait of T ms may return as early as T - 1 ms (the core
 * counts whole milliseconds from an arbitrary phase) and, under emulation on
 * a busy host, somewhat late; SLACK_MS bounds the lateness.
 *
 * One file holds both entry points; the cores share only the event words.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/riscv_virt.h"

/* Sub core -> main core (the sub core's event word). */
#define EV_READY    (1u << 0)
#define EV_LATE     (1u << 1) /* notified 200 ms after EV_GO */
#define EV_ALL_A    (1u << 2) /* EV_ALL_A, then 50 ms later EV_ALL_B */
#define EV_ALL_B    (1u << 3)
#define EV_ANY_A    (1u << 4) /* never notified */
#define EV_ANY_B    (1u << 5)
#define EV_NEVER    (1u << 6) /* never notified */
#define EV_SUB_PASS (1u << 30)
#define EV_SUB_FAIL (1u << 31)
/* Main core -> sub core (the main core's event word). */
#define EV_GO        (1u << 0)
#define EV_NEVER_SUB (1u << 9) /* never notified */

#define SLACK_MS 250u
#define LONG_MS  5000u

static uint32_t us_since(uint64_t t0)
{
    return (uint32_t)((ampvq_riscv_mtime() - t0) / (AMPVQ_RISCV_MTIME_HZ / 1000000u));
}

/* Waits for `mask` and checks what came back and how long it took. */
static bool expect_wait(const char *who, const char *what, uint32_t mask, bool clear, bool all, uint32_t timeout,
                        uint32_t want_bits, uint32_t min_ms, uint32_t max_ms)
{
    uint64_t t0 = ampvq_riscv_mtime();
    uint32_t bits = esp_amp_event_wait(mask, clear, all, timeout);
    uint32_t us = us_since(t0);
    bool ok = (bits & mask) == want_bits && us >= min_ms * 1000u && us <= max_ms * 1000u;

    printf("%s: %s %s: bits 0x%08x after %u.%03u ms (want 0x%08x in %u..%u ms)\n", who, ok ? "ok  " : "FAIL", what,
           (unsigned)bits, (unsigned)(us / 1000u), (unsigned)(us % 1000u), (unsigned)want_bits, (unsigned)min_ms,
           (unsigned)max_ms);
    return ok;
}

int subcore_main(void)
{
    bool ok = true;

    if (esp_amp_init() != ESP_OK) {
        printf("SUB: FAIL: esp_amp_init\n");
        esp_amp_event_notify(EV_SUB_FAIL);
        return 1;
    }
    esp_amp_event_notify(EV_READY);

    /* Main -> sub: a wait that succeeds... */
    ok &= expect_wait("SUB", "go from the main core", EV_GO, true, true, LONG_MS, EV_GO, 0, LONG_MS);
    /* ...and paced notifications for the main core's waits. */
    esp_amp_platform_delay_ms(200);
    esp_amp_event_notify(EV_LATE);
    /* Main -> sub: a wait that times out (the main core is waiting too). */
    ok &= expect_wait("SUB", "time-out 100 ms", EV_NEVER_SUB, true, true, 100, 0, 99, 100 + SLACK_MS);
    esp_amp_event_notify(EV_ALL_A);
    esp_amp_platform_delay_ms(50);
    esp_amp_event_notify(EV_ALL_B);
    esp_amp_platform_delay_ms(20);
    esp_amp_event_notify(EV_ANY_B);

    esp_amp_event_notify(ok ? EV_SUB_PASS : EV_SUB_FAIL);
    return ok ? 0 : 1;
}

int app_main(void)
{
    bool ok = true;

    printf("MAIN: event bits and time-outs (mtime at %u Hz)\n", (unsigned)AMPVQ_RISCV_MTIME_HZ);
    if (esp_amp_init() != ESP_OK || esp_amp_start_subcore() != ESP_OK) {
        printf("MAIN: FAIL: set-up\n");
        return 1;
    }
    /* Link-up, as an application would do it. */
    ok &= expect_wait("MAIN", "link-up", EV_READY, true, true, LONG_MS, EV_READY, 0, LONG_MS);

    /* Nobody notifies: the wait ends after about the time-out, empty-handed. */
    ok &= expect_wait("MAIN", "time-out 300 ms", EV_NEVER, true, true, 300, 0, 299, 300 + SLACK_MS);
    ok &= expect_wait("MAIN", "time-out 20 ms", EV_NEVER, true, true, 20, 0, 19, 20 + SLACK_MS);
    ok &= expect_wait("MAIN", "time-out 0", EV_NEVER, true, true, 0, 0, 0, SLACK_MS);

    /* The sub core notifies EV_LATE 200 ms (of its delay, which sleeps a
     * little longer) after EV_GO, while we wait: well before the time-out. */
    esp_amp_event_notify(EV_GO);
    ok &= expect_wait("MAIN", "notified while waiting", EV_LATE, true, true, LONG_MS, EV_LATE, 150, 1000);

    /* Wait for all: returns only once EV_ALL_B has come too (50 ms later). */
    ok &=
        expect_wait("MAIN", "wait for all", EV_ALL_A | EV_ALL_B, true, true, LONG_MS, EV_ALL_A | EV_ALL_B, 40, LONG_MS);
    /* Wait for any: EV_ANY_A never comes, EV_ANY_B does. Keep it set. */
    ok &= expect_wait("MAIN", "wait for any", EV_ANY_A | EV_ANY_B, false, false, LONG_MS, EV_ANY_B, 0, LONG_MS);
    /* Not cleared on exit: still there, so no waiting. */
    ok &= expect_wait("MAIN", "kept after wait", EV_ANY_B, false, true, LONG_MS, EV_ANY_B, 0, SLACK_MS);
    /* Explicit clear returns the bits before clearing; then it is gone. */
    uint32_t before = esp_amp_event_clear(EV_ANY_B);
    bool cleared = (before & EV_ANY_B) != 0;
    printf("MAIN: %s clear returned 0x%08x\n", cleared ? "ok  " : "FAIL", (unsigned)before);
    ok &= cleared;
    ok &= expect_wait("MAIN", "gone after clear", EV_ANY_B, true, true, 30, 0, 29, 30 + SLACK_MS);
    /* Cleared on exit: EV_ALL_A was consumed by "wait for all" above. */
    ok &= expect_wait("MAIN", "cleared on exit", EV_ALL_A, true, true, 10, 0, 9, 10 + SLACK_MS);

    uint32_t sub = esp_amp_event_wait(EV_SUB_PASS | EV_SUB_FAIL, false, false, LONG_MS);
    bool sub_ok = (sub & (EV_SUB_PASS | EV_SUB_FAIL)) == EV_SUB_PASS;
    printf("MAIN: %s sub core's own checks\n", sub_ok ? "ok  " : "FAIL");
    ok &= sub_ok;
    printf("MAIN: %s: event link-up, notify and time-out\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
