/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The blocking queue calls on two real harts. The main core (master) sends
 * BLOCK_MSGS numbered messages with esp_amp_queue_alloc(), which sleeps in
 * wfi while the queue is full; the sub core (remote) takes them with
 * esp_amp_queue_recv(), which sleeps while it is empty, and checks that each
 * arrives once, in order and intact. Only software interrupts wake a side:
 * the master's notify rings the sub core, the remote's free-notify the main
 * core. BLOCK_EVIDX=1 builds the event-index variant.
 *
 * Each side stalls now and then (half a period apart) so that the other
 * must block. Sleeping rather than spinning shows in the port's counters: a
 * sleep ends early only after a dispatch on that hart (or the time-out,
 * which fails the run), so sleeps stay within a small multiple of the
 * hart's dispatches, and the master's failed tries equal its sleeps.
 *
 * One file holds both entry points; the cores share only the queue.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/riscv_virt.h"

#ifndef BLOCK_MSGS
#define BLOCK_MSGS 100000u
#endif
#ifndef BLOCK_EVIDX
#define BLOCK_EVIDX 0
#endif
#define BLOCK_QLEN     4
#define BLOCK_ITEM     32u
#define BLOCK_ID       0x20
#define BLOCK_NOTIFY   SW_INTR_ID_2
#define BLOCK_FREED    SW_INTR_ID_3
#define BLOCK_PAUSE    1000u /* messages between stalls */
#define BLOCK_STALL_MS 1u
/* A call that waits this long means a lost wake-up. */
#define BLOCK_TIMEOUT_MS 10000u

static esp_amp_queue_t master_q; /* main core's */
static esp_amp_queue_t remote_q; /* sub core's */

static uint16_t msg_size(uint32_t seq)
{
    return (uint16_t)(4u + (seq * 7u) % (BLOCK_ITEM - 3u));
}

static uint8_t msg_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 13u + i * 5u + (seq >> 8));
}

static int trigger_notify(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(BLOCK_NOTIFY);
    return 0;
}

static int trigger_freed(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(BLOCK_FREED);
    return 0;
}

/* Sleeps that ended early need a dispatch each, or at most two per
 * dispatch (see the posix form, tests/stress/block.h); 64 for rounding. */
static bool slept_not_spun(const char *who, int core)
{
    uint32_t sleeps = ampvq_riscv_wait_count(core);
    uint32_t dispatches = ampvq_riscv_dispatch_count(core);
    bool ok = sleeps > 0 && sleeps <= 2u * dispatches + 64u;

    printf("%s: %s %u sleeps, %u dispatches\n", who, ok ? "ok  " : "FAIL", (unsigned)sleeps, (unsigned)dispatches);
    return ok;
}

int subcore_main(void)
{
    int err = esp_amp_init();
    if (err == ESP_OK) {
        err = esp_amp_queue_sub_init(&remote_q, NULL, NULL, false, BLOCK_ID);
    }
    if (err == ESP_OK) {
        err = esp_amp_queue_set_free_notify(&remote_q, trigger_freed, NULL);
    }
    if (err != ESP_OK) {
        printf("SUB: FAIL: init 0x%x\n", (unsigned)err);
        return 1;
    }
    for (uint32_t seq = 0; seq < BLOCK_MSGS; seq++) {
        if (seq % BLOCK_PAUSE == 0 && seq > 0) {
            esp_amp_platform_delay_ms(BLOCK_STALL_MS);
        }
        uint8_t *b;
        uint16_t size;
        err = esp_amp_queue_recv(&remote_q, (void **)&b, &size, BLOCK_TIMEOUT_MS);
        if (err != ESP_OK) {
            printf("SUB: FAIL: recv of message %u: 0x%x\n", (unsigned)seq, (unsigned)err);
            return 1;
        }
        bool ok = size == msg_size(seq) && b[0] == (uint8_t)seq && b[1] == (uint8_t)(seq >> 8) &&
                  b[2] == (uint8_t)(seq >> 16) && b[3] == (uint8_t)(seq >> 24);
        for (uint32_t i = 4; ok && i < size; i++) {
            ok = b[i] == msg_byte(seq, i);
        }
        if (!ok) {
            printf("SUB: FAIL: message %u: %u bytes, not as sent\n", (unsigned)seq, (unsigned)size);
            return 1;
        }
        err = esp_amp_queue_free_try(&remote_q, b);
        if (err != ESP_OK) {
            printf("SUB: FAIL: free of message %u: 0x%x\n", (unsigned)seq, (unsigned)err);
            return 1;
        }
    }
    uint8_t *b;
    uint16_t size;
    if (esp_amp_queue_recv(&remote_q, (void **)&b, &size, 0) != ESP_ERR_TIMEOUT) {
        printf("SUB: FAIL: a message after the last\n");
        return 1;
    }
    if (!slept_not_spun("SUB", AMPVQ_CORE_SUB)) {
        return 1;
    }
    printf("SUB: PASS: %u messages received once, in order, intact (blocking recv%s)\n", (unsigned)BLOCK_MSGS,
           BLOCK_EVIDX ? ", event index" : "");
    return 0;
}

int app_main(void)
{
    int err = esp_amp_init();
    if (err == ESP_OK) {
        err = esp_amp_queue_main_init_ex(&master_q, BLOCK_QLEN, BLOCK_ITEM, trigger_notify, NULL, true, BLOCK_ID,
                                         BLOCK_EVIDX ? ESP_AMP_QUEUE_F_EVENT_IDX : 0u);
    }
    if (err == ESP_OK) {
        err = esp_amp_start_subcore();
    }
    if (err != ESP_OK) {
        printf("MAIN: FAIL: init 0x%x\n", (unsigned)err);
        return 1;
    }
    for (uint32_t seq = 0; seq < BLOCK_MSGS; seq++) {
        if (seq % BLOCK_PAUSE == BLOCK_PAUSE / 2) {
            esp_amp_platform_delay_ms(BLOCK_STALL_MS);
        }
        uint8_t *b;
        uint16_t size = msg_size(seq);
        err = esp_amp_queue_alloc(&master_q, (void **)&b, size, BLOCK_TIMEOUT_MS);
        if (err != ESP_OK) {
            printf("MAIN: FAIL: alloc of message %u: 0x%x\n", (unsigned)seq, (unsigned)err);
            return 1;
        }
        b[0] = (uint8_t)seq;
        b[1] = (uint8_t)(seq >> 8);
        b[2] = (uint8_t)(seq >> 16);
        b[3] = (uint8_t)(seq >> 24);
        for (uint32_t i = 4; i < size; i++) {
            b[i] = msg_byte(seq, i);
        }
        err = esp_amp_queue_send_try(&master_q, b, size);
        if (err != ESP_OK) {
            printf("MAIN: FAIL: send of message %u: 0x%x\n", (unsigned)seq, (unsigned)err);
            return 1;
        }
    }
    esp_amp_queue_stats_t st;
    esp_amp_queue_stats(&master_q, &st);
    bool ok = slept_not_spun("MAIN", AMPVQ_CORE_MAIN);
    if (st.full != ampvq_riscv_wait_count(AMPVQ_CORE_MAIN)) {
        printf("MAIN: FAIL: %u allocs found the queue full, %u sleeps\n", (unsigned)st.full,
               (unsigned)ampvq_riscv_wait_count(AMPVQ_CORE_MAIN));
        ok = false;
    }
    if (!ok) {
        return 1;
    }
    printf("MAIN: PASS: %u messages sent with blocking alloc (%u found the queue full)\n", (unsigned)BLOCK_MSGS,
           (unsigned)st.full);
    return 0;
}
