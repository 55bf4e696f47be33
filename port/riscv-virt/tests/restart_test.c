/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Peer-restart test on riscv-virt (docs/sessions.md): the firmware version
 * of tests/stress/restart_main.c and restart_sub.c, with the same messages
 * and acknowledgements (tests/stress/restart.h).
 *
 *   data queue  main core (hart 0) master -> sub core (hart 1) remote
 *   ack queue   sub core master -> main core remote: "I received seq"
 *
 * The main core sends numbered messages without pause and resets hart 1
 * (ampvq_riscv_reset_subcore(): hart 1 drops whatever it is doing, mid-
 * message or mid-acknowledgement, and goes back to its boot path) after
 * 0..399 of them (the posix test: 1..399; 0 resets an instance that may not
 * have left its boot wait yet), RESTART_COUNT times, starting a new instance after each.
 * A last instance runs to the end. Checked, as in the posix test:
 *   - no message is acknowledged twice, and no instance sees numbers go
 *     backwards;
 *   - every message of the last instance is delivered (the link comes back);
 *   - each queue is reset at most once per restart, and at least once;
 *   - nothing unacknowledged is unaccounted for: sent - delivered is at most
 *     the in-flight messages the resets reported lost;
 *   - no buffer is lost: all data buffers can be allocated at the end, and
 *     the last instance can allocate all ack buffers;
 *   - hart 1 took exactly RESTART_COUNT resets (some in its boot wait, before
 *     that instance's subcore_main() ran).
 *
 * Both harts run this image: the statics marked "main" are hart 0's, those
 * marked "shared" are how the sub core's instances report back (each
 * instance starts from subcore_main() with .data/.bss as the previous one
 * left them: a reset here does not reload the image).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/riscv_virt.h"
#include "restart.h"

#ifndef RESTART_COUNT
#define RESTART_COUNT 50u
#endif
#define STALL_MS  5000u
#define FINAL_MSG 200u
#define MAX_SEQ   (RESTART_COUNT * 400u + FINAL_MSG + RESTART_LEN * 4u)

/* main */
static esp_amp_queue_t dq, aq;
static uint8_t acked[MAX_SEQ];
static uint32_t sent, delivered, dups, link_downs, link_ups;
static bool quit_acked;
static uint32_t rng = 12345u;

/* shared: written by the sub core's instances, read by the main core */
static uint32_t sub_failures;
static uint32_t sub_instances;
static uint32_t last_sub_done; /* 1: the instance that got QUIT checked its ack buffers */

static uint32_t next_rand(void)
{
    /* xorshift32: the tiny libc has no rand(). */
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void on_link(esp_amp_queue_t *q, bool up, void *priv)
{
    (void)q;
    (void)priv;
    if (up) {
        link_ups++;
    } else {
        link_downs++;
    }
}

/* Take in every acknowledgement there is; false on a corrupt one. */
static bool drain_acks(void)
{
    void *buf;
    uint16_t len;
    int err;
    while ((err = esp_amp_queue_recv_try(&aq, &buf, &len)) == ESP_OK) {
        uint32_t seq;
        if (!restart_check(buf, len, &seq) || (seq != RESTART_QUIT && seq >= MAX_SEQ)) {
            printf("MAIN: FAIL: corrupt acknowledgement\n");
            return false;
        }
        if (seq == RESTART_QUIT) {
            quit_acked = true;
        } else if (acked[seq]++ != 0) {
            dups++;
        } else {
            delivered++;
        }
        esp_amp_queue_free_try(&aq, buf);
    }
    if (err != ESP_ERR_NOT_FOUND) {
        printf("MAIN: FAIL: ack recv returned 0x%x\n", (unsigned)err);
        return false;
    }
    return true;
}

/* 1 sent, 0 no buffer now, -1 error. */
static int send_one(uint32_t seq)
{
    void *buf;
    int err = esp_amp_queue_alloc_try(&dq, &buf, RESTART_ITEM);
    if (err == ESP_ERR_NOT_FOUND) {
        return 0;
    }
    if (err != ESP_OK) {
        printf("MAIN: FAIL: data alloc returned 0x%x\n", (unsigned)err);
        return -1;
    }
    restart_fill(buf, seq);
    if (esp_amp_queue_send_try(&dq, buf, RESTART_ITEM) != ESP_OK) {
        printf("MAIN: FAIL: data send\n");
        return -1;
    }
    return 1;
}

/* Send `count` more messages (numbers from `sent`), taking acks meanwhile. */
static bool push(uint32_t count)
{
    uint32_t until = sent + count;
    uint32_t last_progress = esp_amp_platform_get_time_ms();
    while (sent < until) {
        if (!drain_acks()) {
            return false;
        }
        int r = send_one(sent);
        if (r < 0) {
            return false;
        }
        if (r > 0) {
            sent++;
            last_progress = esp_amp_platform_get_time_ms();
        } else if (esp_amp_platform_get_time_ms() - last_progress > STALL_MS) {
            printf("MAIN: FAIL: no progress for %u ms at message %u\n", STALL_MS, (unsigned)sent);
            return false;
        } else {
            esp_amp_platform_delay_us(20);
        }
    }
    return true;
}

static bool start_sub(uint32_t r)
{
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("MAIN: FAIL: start sub core (instance %u)\n", (unsigned)r);
        return false;
    }
    return true;
}

int app_main(void)
{
    printf("MAIN: restart test: %u resets of hart 1 mid-stream, queues of %u x %u bytes\n", (unsigned)RESTART_COUNT,
           (unsigned)RESTART_LEN, (unsigned)RESTART_ITEM);
    if (esp_amp_init() != ESP_OK ||
        esp_amp_queue_main_init(&dq, RESTART_LEN, RESTART_ITEM, NULL, NULL, true,
                                (esp_amp_sys_info_id_t)RESTART_ID_DATA) != ESP_OK ||
        esp_amp_queue_main_init(&aq, RESTART_LEN, RESTART_ITEM, NULL, NULL, false,
                                (esp_amp_sys_info_id_t)RESTART_ID_ACK) != ESP_OK) {
        printf("MAIN: FAIL: initialisation\n");
        return 1;
    }
    esp_amp_queue_set_link_cb(&dq, on_link, NULL);
    esp_amp_queue_set_link_cb(&aq, on_link, NULL);
    uint64_t t0 = ampvq_riscv_mtime();

    for (uint32_t r = 0; r < RESTART_COUNT; r++) {
        if (!start_sub(r)) {
            return 1;
        }
        /* 0..399 messages, then the reset lands wherever hart 1 is (with 0,
         * often before it has left its boot wait or opened a queue). */
        if (!push(next_rand() % 400u)) {
            return 1;
        }
        if (ampvq_riscv_reset_subcore() != 0) {
            printf("MAIN: FAIL: hart 1 did not take reset %u\n", (unsigned)r);
            return 1;
        }
    }
    if (!start_sub(RESTART_COUNT)) {
        return 1;
    }
    /* Messages sent before this core has noticed the new instance still go
     * to the old ring and may be lost; from the moment both queues are back
     * up, every message must arrive. */
    uint32_t ups_before = link_ups;
    uint32_t start = esp_amp_platform_get_time_ms();
    while (RESTART_COUNT > 0 && link_ups < ups_before + 2u) {
        if (!push(1) || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("MAIN: FAIL: link not back up after the last restart\n");
            return 1;
        }
    }
    uint32_t final_from = sent;
    if (!push(FINAL_MSG)) {
        return 1;
    }
    /* QUIT is the last message: its ack means everything before it is in. */
    start = esp_amp_platform_get_time_ms();
    int r;
    while ((r = send_one(RESTART_QUIT)) == 0) {
        if (!drain_acks() || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("MAIN: FAIL: cannot send QUIT\n");
            return 1;
        }
    }
    if (r < 0) {
        return 1;
    }
    start = esp_amp_platform_get_time_ms();
    /* Acquire pairs with the sub core's release: its checks are done. */
    while (!quit_acked || __atomic_load_n(&last_sub_done, __ATOMIC_ACQUIRE) == 0) {
        if (!drain_acks() || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("MAIN: FAIL: QUIT not acknowledged or the last instance did not finish\n");
            return 1;
        }
        esp_amp_platform_delay_us(20);
    }
    uint64_t t1 = ampvq_riscv_mtime();

    uint32_t sub_fail = __atomic_load_n(&sub_failures, __ATOMIC_ACQUIRE);
    bool ok = dups == 0 && sub_fail == 0;
    if (sub_fail != 0) {
        printf("MAIN: FAIL: %u sub-core instances failed\n", (unsigned)sub_fail);
    }
    for (uint32_t s = final_from; s < final_from + FINAL_MSG; s++) {
        if (acked[s] != 1) {
            printf("MAIN: FAIL: message %u of the last instance acknowledged %u times\n", (unsigned)s,
                   (unsigned)acked[s]);
            ok = false;
            break;
        }
    }
    /* Every data buffer is back: the sub core freed all it received. */
    void *bufs[RESTART_LEN];
    uint16_t got = 0;
    if (esp_amp_queue_alloc_n(&dq, bufs, RESTART_ITEM, RESTART_LEN, &got) != ESP_OK || got != RESTART_LEN) {
        printf("MAIN: FAIL: only %u of %u data buffers came back\n", (unsigned)got, (unsigned)RESTART_LEN);
        ok = false;
    }
    esp_amp_queue_stats_t ds, as;
    esp_amp_queue_stats(&dq, &ds);
    esp_amp_queue_stats(&aq, &as);
    /* An instance reset before its sub_init attached nothing: at most one
     * reset of each queue per restart, and some. */
    if (ds.resets > RESTART_COUNT || as.resets > RESTART_COUNT || (RESTART_COUNT > 0 && ds.resets + as.resets == 0)) {
        printf("MAIN: FAIL: resets data %u ack %u for %u restarts\n", (unsigned)ds.resets, (unsigned)as.resets,
               (unsigned)RESTART_COUNT);
        ok = false;
    }
    /* Whatever was not acknowledged must have been reported lost by a
     * reset: in the data ring (never received, or received and the ack not
     * sent) or in the ack ring. */
    if (sent - delivered > ds.lost + as.lost) {
        printf("MAIN: FAIL: %u messages unaccounted for: neither acknowledged nor reported lost\n",
               (unsigned)(sent - delivered - ds.lost - as.lost));
        ok = false;
    }
    uint32_t hart_resets = ampvq_riscv_subcore_resets();
    uint32_t instances = __atomic_load_n(&sub_instances, __ATOMIC_RELAXED);
    /* A reset right after the start may find hart 1 still in its boot wait:
     * taken there, before subcore_main(); that instance never ran. */
    if (hart_resets != RESTART_COUNT || instances == 0 || instances > RESTART_COUNT + 1u) {
        printf("MAIN: FAIL: hart 1 took %u resets and ran %u instances for %u restarts\n", (unsigned)hart_resets,
               (unsigned)instances, (unsigned)RESTART_COUNT);
        ok = false;
    }
    printf("MAIN: restarts %u sent %u delivered %u lost %u duplicated %u | data queue: resets %u in-flight lost %u | "
           "ack queue: resets %u in-flight lost %u | link downs %u ups %u\n",
           (unsigned)RESTART_COUNT, (unsigned)sent, (unsigned)delivered, (unsigned)(sent - delivered), (unsigned)dups,
           (unsigned)ds.resets, (unsigned)ds.lost, (unsigned)as.resets, (unsigned)as.lost, (unsigned)link_downs,
           (unsigned)link_ups);
    printf("MAIN: hart 1: %u resets taken (%u before subcore_main() ran), %u instances ran; %u ms (emulated, "
           "mtime)\n",
           (unsigned)hart_resets, (unsigned)(RESTART_COUNT + 1u - instances), (unsigned)instances,
           (unsigned)((t1 - t0) / (AMPVQ_RISCV_MTIME_HZ / 1000u)));
    if (!ok) {
        return 1;
    }
    printf("MAIN: PASS: %u resets of hart 1: none delivered twice, every unacknowledged message reported lost, "
           "no buffer lost\n",
           (unsigned)RESTART_COUNT);
    return 0;
}

/* ------------------------------------------------------------ sub core */

#define SUB_TIMEOUT_MS 5000u

static int sub_fail(const char *what, uint32_t seq, int err)
{
    printf("SUB: FAIL: %s (message %u, 0x%x)\n", what, (unsigned)seq, (unsigned)err);
    __atomic_fetch_add(&sub_failures, 1u, __ATOMIC_RELEASE);
    return 1;
}

/* Receive, check, acknowledge, until reset or told to quit. Within one
 * instance sequence numbers must only grow: a message of an earlier
 * instance's ring handed out again would break that or the main core's
 * exactly-once count. Locals only: this instance may be abandoned at any
 * instruction with interrupts on. */
int subcore_main(void)
{
    esp_amp_queue_t sdq, saq;

    __atomic_fetch_add(&sub_instances, 1u, __ATOMIC_RELAXED);
    if (esp_amp_init() != ESP_OK ||
        esp_amp_queue_sub_init(&sdq, NULL, NULL, false, (esp_amp_sys_info_id_t)RESTART_ID_DATA) != ESP_OK ||
        esp_amp_queue_sub_init(&saq, NULL, NULL, true, (esp_amp_sys_info_id_t)RESTART_ID_ACK) != ESP_OK) {
        return sub_fail("initialisation", 0, 0);
    }
    bool have_last = false;
    uint32_t last = 0;
    uint32_t idle_since = esp_amp_platform_get_time_ms();
    for (;;) {
        void *buf;
        uint16_t len;
        int err = esp_amp_queue_recv_try(&sdq, &buf, &len);
        if (err == ESP_ERR_NOT_FOUND) {
            if (esp_amp_platform_get_time_ms() - idle_since > SUB_TIMEOUT_MS) {
                return sub_fail("nothing received", last, err);
            }
            esp_amp_platform_delay_us(20);
            continue;
        }
        idle_since = esp_amp_platform_get_time_ms();
        uint32_t seq = 0;
        if (err != ESP_OK || !restart_check(buf, len, &seq)) {
            return sub_fail("recv error or corrupt message", seq, err);
        }
        if (have_last && seq <= last && seq != RESTART_QUIT) {
            printf("SUB: FAIL: message %u after %u\n", (unsigned)seq, (unsigned)last);
            return sub_fail("order", seq, 0);
        }
        have_last = true;
        last = seq;
        void *ack;
        uint32_t start = esp_amp_platform_get_time_ms();
        while ((err = esp_amp_queue_alloc_try(&saq, &ack, RESTART_ITEM)) == ESP_ERR_NOT_FOUND) {
            if (esp_amp_platform_get_time_ms() - start > SUB_TIMEOUT_MS) {
                break;
            }
            esp_amp_platform_delay_us(20);
        }
        if (err != ESP_OK) {
            return sub_fail("ack alloc", seq, err);
        }
        restart_fill(ack, seq);
        if (esp_amp_queue_send_try(&saq, ack, RESTART_ITEM) != ESP_OK || esp_amp_queue_free_try(&sdq, buf) != ESP_OK) {
            return sub_fail("send/free", seq, 0);
        }
        if (seq == RESTART_QUIT) {
            break;
        }
    }
    /* No buffer of the ack queue may be lost across all the resets: once the
     * main core has read every ack, all of them are free again. */
    void *bufs[RESTART_LEN];
    uint16_t got = 0;
    uint32_t start = esp_amp_platform_get_time_ms();
    while (got < RESTART_LEN && esp_amp_platform_get_time_ms() - start < SUB_TIMEOUT_MS) {
        uint16_t n = 0;
        if (esp_amp_queue_alloc_n(&saq, bufs + got, RESTART_ITEM, (uint16_t)(RESTART_LEN - got), &n) == ESP_OK) {
            got = (uint16_t)(got + n);
        } else {
            esp_amp_platform_delay_us(100);
        }
    }
    if (got != RESTART_LEN) {
        printf("SUB: FAIL: only %u of %u ack buffers came back\n", (unsigned)got, (unsigned)RESTART_LEN);
        return sub_fail("ack buffers", last, 0);
    }
    printf("SUB: quit after message %u, all %u ack buffers free\n", (unsigned)last, (unsigned)RESTART_LEN);
    /* Release: pairs with the main core's acquire. */
    __atomic_store_n(&last_sub_done, 1u, __ATOMIC_RELEASE);
    return 0;
}
