/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Queue stress, main core: the remote. Checks every message against the
 * sequence it expects (number, length, checksum) and frees it. Polling mode
 * spins on recv and holds two buffers at a time, freeing every other pair
 * in reverse order (the queue must accept buffers back in any order);
 * interrupt mode receives in the software-interrupt callback, like the
 * example. Prints how long the run took and the rate, in emulated time
 * (CLINT mtime, which QEMU runs at 10 MHz of host time).
 */
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/riscv_virt.h"
#include "stress.h"

#define MODE_NAME (STRESS_INTERRUPT ? "interrupt" : "polling")

static esp_amp_queue_t q;
/* Written by whoever receives (the callback in interrupt mode), read by
 * app_main() on the same hart. */
static uint32_t expected;
static uint32_t errors;
static uint64_t t_first;
static uint64_t t_last;

static void check(const stress_msg_t *m, uint16_t size)
{
    uint32_t seq = expected;
    uint32_t len = stress_len(seq);

    if (m->seq != seq || m->len != len || size != len || m->sum != stress_sum(m, size)) {
        if (errors < 5) {
            printf("MAIN: FAIL: message %u: got seq %u len %u size %u sum 0x%08x (want 0x%08x)\n", (unsigned)seq,
                   (unsigned)m->seq, (unsigned)m->len, (unsigned)size, (unsigned)m->sum, (unsigned)stress_sum(m, size));
        }
        __atomic_store_n(&errors, errors + 1u, __ATOMIC_RELAXED);
    }
    if (seq == 0) {
        t_first = ampvq_riscv_mtime();
    } else if (seq == STRESS_MSGS - 1u) {
        t_last = ampvq_riscv_mtime();
    }
    __atomic_store_n(&expected, seq + 1u, __ATOMIC_RELAXED);
}

static void free_or_count(void *buf)
{
    int err = esp_amp_queue_free_try(&q, buf);
    if (err != ESP_OK) {
        printf("MAIN: FAIL: free: 0x%x\n", (unsigned)err);
        __atomic_store_n(&errors, errors + 1u, __ATOMIC_RELAXED);
    }
}

#if STRESS_INTERRUPT
/* Interrupt context: drain; triggers coalesce, so a run may find many
 * messages or none. */
static int on_queue(void *arg)
{
    void *buf;
    uint16_t size;
    int err;

    (void)arg;
    while ((err = esp_amp_queue_recv_try(&q, &buf, &size)) == ESP_OK) {
        check(buf, size);
        free_or_count(buf);
    }
    if (err != ESP_ERR_NOT_FOUND) {
        printf("MAIN: FAIL: recv: 0x%x\n", (unsigned)err);
        __atomic_store_n(&errors, errors + 1u, __ATOMIC_RELAXED);
    }
    return 0;
}

static void receive_all(void)
{
    uint32_t seen = 0;
    uint32_t since = esp_amp_platform_get_time_ms();

    while (__atomic_load_n(&expected, __ATOMIC_RELAXED) < STRESS_MSGS &&
           __atomic_load_n(&errors, __ATOMIC_RELAXED) == 0) {
        esp_amp_platform_delay_us(1000);
        uint32_t now = esp_amp_platform_get_time_ms();
        uint32_t got = __atomic_load_n(&expected, __ATOMIC_RELAXED);
        if (got != seen) {
            seen = got;
            since = now;
        } else if (now - since >= STRESS_STALL_MS) {
            printf("MAIN: FAIL: stalled at message %u\n", (unsigned)got);
            stress_dump("MAIN", &q);
            errors++;
        }
    }
}
#else
static void *held[2];
static uint32_t nheld;

static void release_held(void)
{
    /* Every other pair goes back newest first. */
    if (nheld == 2 && (expected & 2u) != 0) {
        free_or_count(held[1]);
        free_or_count(held[0]);
    } else {
        for (uint32_t i = 0; i < nheld; i++) {
            free_or_count(held[i]);
        }
    }
    nheld = 0;
}

static void receive_all(void)
{
    uint32_t spins = 0;
    uint32_t since = 0;

    while (expected < STRESS_MSGS && errors == 0) {
        void *buf;
        uint16_t size;
        int err = esp_amp_queue_recv_try(&q, &buf, &size);

        if (err == ESP_OK) {
            check(buf, size);
            held[nheld++] = buf;
            if (nheld == 2) {
                release_held();
            }
            spins = 0;
            continue;
        }
        if (err != ESP_ERR_NOT_FOUND) {
            printf("MAIN: FAIL: recv at message %u: 0x%x\n", (unsigned)expected, (unsigned)err);
            errors++;
            break;
        }
        /* Nothing new: give back what we hold so the master can go on. */
        release_held();
        if (spins++ == 0) {
            since = esp_amp_platform_get_time_ms();
        } else if (spins % STRESS_BACKOFF_SPINS == 0) {
            esp_amp_platform_delay_us(STRESS_BACKOFF_US);
            if (esp_amp_platform_get_time_ms() - since >= STRESS_STALL_MS) {
                printf("MAIN: FAIL: stalled at message %u (holding %u)\n", (unsigned)expected, (unsigned)nheld);
                stress_dump("MAIN", &q);
                errors++;
            }
        }
    }
    release_held();
}
#endif

static void report(void)
{
    uint64_t ticks = t_last > t_first ? t_last - t_first : 1u;
    uint32_t ms = (uint32_t)(ticks / (AMPVQ_RISCV_MTIME_HZ / 1000u));
    uint32_t rate = (uint32_t)((uint64_t)(STRESS_MSGS - 1u) * AMPVQ_RISCV_MTIME_HZ / ticks);

    printf("MAIN: stress %s: %u messages in %u ms: %u messages/s (emulated, mtime)\n", MODE_NAME, (unsigned)STRESS_MSGS,
           (unsigned)ms, (unsigned)rate);
    if (STRESS_INTERRUPT) {
        uint32_t runs = ampvq_riscv_dispatch_count(AMPVQ_CORE_MAIN);
        printf("MAIN: %u software interrupts taken, %u messages per interrupt\n", (unsigned)runs,
               (unsigned)(STRESS_MSGS / (runs != 0 ? runs : 1u)));
    }
}

int app_main(void)
{
    printf("MAIN: queue stress (%s): %u messages through %u slots of %u bytes\n", MODE_NAME, (unsigned)STRESS_MSGS,
           (unsigned)STRESS_QUEUE_LEN, (unsigned)STRESS_ITEM_SIZE);
    int err = esp_amp_init();
    if (err == ESP_OK) {
#if STRESS_INTERRUPT
        err = esp_amp_queue_main_init(&q, STRESS_QUEUE_LEN, STRESS_ITEM_SIZE, on_queue, NULL, false, STRESS_SYS_INFO);
        if (err == ESP_OK) {
            err = esp_amp_queue_intr_enable(&q, STRESS_SW_INTR);
        }
#else
        err = esp_amp_queue_main_init(&q, STRESS_QUEUE_LEN, STRESS_ITEM_SIZE, NULL, NULL, false, STRESS_SYS_INFO);
#endif
    }
    if (err == ESP_OK) {
        err = esp_amp_start_subcore();
    }
    if (err != ESP_OK) {
        printf("MAIN: FAIL: set-up: 0x%x\n", (unsigned)err);
        return 1;
    }
    uint32_t bits = esp_amp_event_wait(STRESS_EV_READY | STRESS_EV_FAILED, false, false, STRESS_STALL_MS);
    if ((bits & STRESS_EV_READY) == 0) {
        printf("MAIN: FAIL: the sub core did not link up\n");
        return 1;
    }

    receive_all();

    bits = esp_amp_event_wait(STRESS_EV_DONE | STRESS_EV_FAILED, false, false, STRESS_STALL_MS);
    if (errors != 0 || expected != STRESS_MSGS || (bits & STRESS_EV_DONE) == 0 || (bits & STRESS_EV_FAILED) != 0) {
        printf("MAIN: FAIL: %u of %u messages, %u errors\n", (unsigned)expected, (unsigned)STRESS_MSGS,
               (unsigned)errors);
        return 1;
    }
    /* Anything after the last message would be a duplicate. */
    esp_amp_platform_delay_ms(20);
    void *extra;
    uint16_t size;
    if (esp_amp_queue_recv_try(&q, &extra, &size) != ESP_ERR_NOT_FOUND || expected != STRESS_MSGS) {
        printf("MAIN: FAIL: a message after the last one\n");
        return 1;
    }
    report();
    printf("MAIN: PASS: %u messages received once, in order, intact\n", (unsigned)STRESS_MSGS);
    return 0;
}
