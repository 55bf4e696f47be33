/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Software-interrupt accounting on two real harts. Both cores trigger two
 * ids on each other SW_INTR_TRIGGERS times at once, in bursts with irregular
 * pauses, so that some triggers coalesce and some do not. Before trigger n
 * the triggering core stores n (release) in a shared word per id; each
 * handler run loads it (acquire). Checked on each core, for each id:
 *
 *   - the numbers a handler sees never go backwards;
 *   - runs <= triggers (coalescing may merge, never invent), and each run
 *     belongs to a dispatch: runs <= dispatches the port took;
 *   - a run after the last trigger: once the peer is done, a run sees n =
 *     SW_INTR_TRIGGERS and the pending word drains to 0, so the last
 *     trigger's bit was taken by a dispatch that then ran the handler.
 *
 * One file holds both entry points: the firmware image contains both, and
 * the two cores share only the sys_info block below.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/port.h"
#include "ampvq/riscv_virt.h"
#include "ampvq/shm_layout.h"

#ifndef SW_INTR_TRIGGERS
#define SW_INTR_TRIGGERS 100000u
#endif
#define N_IDS      2
#define BLOCK_ID   0x20
#define EV_READY   (1u << 0)
#define TIMEOUT_MS 20000u

static const esp_amp_sw_intr_id_t ids[N_IDS] = {SW_INTR_ID_1, SW_INTR_ID_7};

/* In shared memory. Each core writes only its own [core] rows; the peer
 * reads them after done[core] is set (release/acquire). */
typedef struct {
    uint32_t seq[2][N_IDS];   /* [triggering core]: latest trigger number */
    uint32_t runs[2][N_IDS];  /* [handling core]: handler runs */
    uint32_t last[2][N_IDS];  /* [handling core]: latest number seen */
    uint32_t empty[2][N_IDS]; /* [handling core]: runs that saw nothing new */
    uint32_t errors[2];
    uint32_t dispatches[2];
    uint32_t done[2];
} shared_t;

static shared_t *sh;

/* Interrupt context, on the core that registered it. */
static int on_intr(void *arg)
{
    uint32_t k = (uint32_t)(uintptr_t)arg;
    int me = esp_amp_platform_get_core_id();
    /* Pairs with the release store in run_triggers() on the peer. */
    uint32_t n = __atomic_load_n(&sh->seq[me ^ 1][k], __ATOMIC_ACQUIRE);
    uint32_t last = __atomic_load_n(&sh->last[me][k], __ATOMIC_RELAXED);

    sh->runs[me][k]++;
    if (n < last) {
        sh->errors[me]++;
    } else if (n == last) {
        sh->empty[me][k]++;
    }
    __atomic_store_n(&sh->last[me][k], n, __ATOMIC_RELAXED);
    return 0;
}

static int add_handlers(void)
{
    for (uint32_t k = 0; k < N_IDS; k++) {
        if (esp_amp_sw_intr_add_handler(ids[k], on_intr, (void *)(uintptr_t)k) != ESP_OK) {
            return 1;
        }
    }
    return 0;
}

static void run_triggers(int me, uint32_t seed)
{
    uint32_t rng = seed;
    uint32_t burst = 1;

    for (uint32_t n = 1; n <= SW_INTR_TRIGGERS; n++) {
        for (uint32_t k = 0; k < N_IDS; k++) {
            /* Pairs with the acquire load in on_intr() on the peer. */
            __atomic_store_n(&sh->seq[me][k], n, __ATOMIC_RELEASE);
            esp_amp_sw_intr_trigger(ids[k]);
        }
        if (--burst == 0) {
            /* Bursts of 1..32, then a pause: a quarter sleep (the peer's
             * handler gets to run between two triggers), the rest spin up
             * to 31 us (triggers pile up and coalesce). */
            rng = rng * 1664525u + 1013904223u;
            burst = 1u + (rng >> 27);
            if ((rng & 0x300u) == 0) {
                esp_amp_platform_delay_us(50);
            } else {
                esp_amp_platform_delay_us((rng >> 10) & 31u);
            }
        }
    }
}

static const char *name(int core)
{
    return core == AMPVQ_CORE_MAIN ? "MAIN" : "SUB";
}

/* Wait for the peer's last trigger to be seen and this core's pending word
 * to drain, then check this core's counts. Returns the number of failures. */
static uint32_t settle_and_check(int me)
{
    const ampvq_region_hdr_t *hdr = ampvq_port_shm_base();
    const uint32_t *pending = &hdr->sw_intr_pending[me];
    uint32_t start = esp_amp_platform_get_time_ms();
    uint32_t fails = 0;

    for (;;) {
        bool seen_all = true;
        for (uint32_t k = 0; k < N_IDS; k++) {
            seen_all = seen_all && __atomic_load_n(&sh->last[me][k], __ATOMIC_RELAXED) == SW_INTR_TRIGGERS;
        }
        if (seen_all && __atomic_load_n(pending, __ATOMIC_ACQUIRE) == 0) {
            break;
        }
        if (esp_amp_platform_get_time_ms() - start >= TIMEOUT_MS) {
            printf("%s: FAIL: last trigger not handled (pending 0x%08x)\n", name(me),
                   (unsigned)__atomic_load_n(pending, __ATOMIC_RELAXED));
            fails++;
            break;
        }
        esp_amp_platform_delay_us(100);
    }
    /* Masked, so that no late run changes the numbers while we read them. */
    uint32_t token = ampvq_port_critical_enter();
    uint32_t dispatches = ampvq_riscv_dispatch_count(me);
    sh->dispatches[me] = dispatches;
    for (uint32_t k = 0; k < N_IDS; k++) {
        uint32_t runs = sh->runs[me][k];
        if (runs == 0 || runs > SW_INTR_TRIGGERS || runs > dispatches || sh->last[me][k] != SW_INTR_TRIGGERS) {
            fails++;
        }
    }
    if (sh->errors[me] != 0) {
        fails++;
    }
    ampvq_port_critical_exit(token);
    return fails;
}

static void report(int core)
{
    for (uint32_t k = 0; k < N_IDS; k++) {
        printf("MAIN: %s id %u: %u triggers -> %u handler runs (%u saw nothing new), last seen %u\n", name(core),
               (unsigned)ids[k], (unsigned)SW_INTR_TRIGGERS, (unsigned)sh->runs[core][k], (unsigned)sh->empty[core][k],
               (unsigned)sh->last[core][k]);
    }
    printf("MAIN: %s: %u dispatches, %u ordering errors\n", name(core), (unsigned)sh->dispatches[core],
           (unsigned)sh->errors[core]);
}

int subcore_main(void)
{
    if (esp_amp_init() != ESP_OK) {
        printf("SUB: FAIL: esp_amp_init\n");
        return 1;
    }
    sh = esp_amp_sys_info_get(BLOCK_ID, NULL);
    if (sh == NULL || add_handlers() != 0) {
        printf("SUB: FAIL: set-up\n");
        return 1;
    }
    esp_amp_event_notify(EV_READY);
    run_triggers(AMPVQ_CORE_SUB, 0x5eed0001u);
    uint32_t fails = settle_and_check(AMPVQ_CORE_SUB);
    /* Pairs with the acquire in app_main(): our rows are final. */
    __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], 1u, __ATOMIC_RELEASE);
    return fails == 0 ? 0 : 1;
}

int app_main(void)
{
    printf("MAIN: sw_intr accounting: %u ids, %u triggers each way per id\n", (unsigned)N_IDS,
           (unsigned)SW_INTR_TRIGGERS);
    if (esp_amp_init() != ESP_OK) {
        printf("MAIN: FAIL: esp_amp_init\n");
        return 1;
    }
    sh = esp_amp_sys_info_alloc(BLOCK_ID, sizeof(*sh));
    if (sh == NULL || add_handlers() != 0 || esp_amp_start_subcore() != ESP_OK) {
        printf("MAIN: FAIL: set-up\n");
        return 1;
    }
    if ((esp_amp_event_wait(EV_READY, true, true, TIMEOUT_MS) & EV_READY) == 0) {
        printf("MAIN: FAIL: the sub core did not link up\n");
        return 1;
    }
    uint64_t t0 = ampvq_riscv_mtime();
    run_triggers(AMPVQ_CORE_MAIN, 0x5eed0000u);
    uint32_t fails = settle_and_check(AMPVQ_CORE_MAIN);

    uint32_t start = esp_amp_platform_get_time_ms();
    while (__atomic_load_n(&sh->done[AMPVQ_CORE_SUB], __ATOMIC_ACQUIRE) == 0) {
        if (esp_amp_platform_get_time_ms() - start >= TIMEOUT_MS) {
            printf("MAIN: FAIL: the sub core did not finish\n");
            return 1;
        }
        esp_amp_platform_delay_us(1000);
    }
    uint32_t ms = (uint32_t)((ampvq_riscv_mtime() - t0) / (AMPVQ_RISCV_MTIME_HZ / 1000u));
    report(AMPVQ_CORE_MAIN);
    report(AMPVQ_CORE_SUB);
    /* The sub core's verdict on its own rows arrives as its exit status. */
    printf("MAIN: %s: %u ms; runs <= triggers, none out of order, a run after the last trigger\n",
           fails == 0 ? "PASS" : "FAIL", (unsigned)ms);
    return fails == 0 ? 0 : 1;
}
