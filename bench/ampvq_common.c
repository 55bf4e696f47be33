/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Plumbing shared by the ampvq implementations (see ampvq_common.h).
 */
#include <string.h>

#include "ampvq/posix.h"
#include "ampvq_common.h"

ampvq_bench_queues_t ampvq_bench_q;
static ampvq_bench_hooks_t hooks;
static bench_params_t params;

int ampvq_bench_setup(const bench_params_t *p, const ampvq_bench_hooks_t *h)
{
    params = *p;
    hooks = *h;
    if (hooks.main_init == NULL) {
        hooks.main_init = esp_amp_queue_main_init;
    }
    if (hooks.sub_init == NULL) {
        hooks.sub_init = esp_amp_queue_sub_init;
    }
    memset(&ampvq_bench_q, 0, sizeof(ampvq_bench_q));

    /* Room for the region header, directory and event blocks, plus both
     * queues' blocks (16 + len * (8 + item)). */
    uint64_t block = 16u + (uint64_t)p->queue_len * (8u + ((p->payload + 3u) & ~3u));
    uint64_t size = 64u * 1024u + 2u * block;
    if (size > UINT32_MAX || ampvq_posix_threads_setup((uint32_t)size) != 0) {
        bench_fail("ampvq: cannot create %llu bytes of shared memory", (unsigned long long)size);
        return -1;
    }
    /* The driver thread is the main core from here on (threads_setup). */
    int err = esp_amp_init();
    if (err == ESP_OK) {
        err = hooks.main_init(&ampvq_bench_q.fwd_tx, (uint16_t)p->queue_len, (uint16_t)p->payload, hooks.fwd_notify,
                              NULL, true, AMPVQ_BENCH_ID_FWD);
    }
    if (err == ESP_OK && p->two_way) {
        err = hooks.main_init(&ampvq_bench_q.back_rx, (uint16_t)p->queue_len, (uint16_t)p->payload, hooks.back_callback,
                              NULL, false, AMPVQ_BENCH_ID_BACK);
        if (err == ESP_OK && hooks.back_callback != NULL) {
            err = esp_amp_queue_intr_enable(&ampvq_bench_q.back_rx, AMPVQ_BENCH_INTR_BACK);
        }
    }
    if (err != ESP_OK) {
        bench_fail("ampvq: main-core set-up failed: 0x%x", (unsigned)err);
        return -1;
    }
    return 0;
}

int ampvq_bench_start(bench_side_t side)
{
    if (side == BENCH_PRODUCER) {
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        return 0;
    }
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    int err = esp_amp_init();
    if (err == ESP_OK) {
        err = hooks.sub_init(&ampvq_bench_q.fwd_rx, hooks.fwd_callback, NULL, false, AMPVQ_BENCH_ID_FWD);
    }
    if (err == ESP_OK && params.two_way) {
        err = hooks.sub_init(&ampvq_bench_q.back_tx, hooks.back_notify, NULL, true, AMPVQ_BENCH_ID_BACK);
    }
    /* Last: the callback may run at once and echo on back_tx. */
    if (err == ESP_OK && hooks.fwd_callback != NULL) {
        err = esp_amp_queue_intr_enable(&ampvq_bench_q.fwd_rx, AMPVQ_BENCH_INTR_FWD);
    }
    if (err != ESP_OK) {
        bench_fail("ampvq: sub-core set-up failed: 0x%x", (unsigned)err);
        return -1;
    }
    return 0;
}

uint64_t ampvq_bench_sub_dispatches(void)
{
    return ampvq_posix_dispatch_count(AMPVQ_CORE_SUB);
}

void ampvq_bench_teardown(void)
{
    ampvq_posix_teardown();
}

unsigned ampvq_bench_send_one(esp_amp_queue_t *q, uint32_t seq)
{
    void *buf;
    int err = esp_amp_queue_alloc_try(q, &buf, (uint16_t)params.payload);

    if (err != ESP_OK) {
        if (err != ESP_ERR_NOT_FOUND) {
            bench_fail("ampvq: alloc_try: 0x%x", (unsigned)err);
        }
        return 0;
    }
    bench_fill(buf, seq);
    err = esp_amp_queue_send_try(q, buf, (uint16_t)params.payload);
    if (err != ESP_OK) {
        bench_fail("ampvq: send_try: 0x%x", (unsigned)err);
        return 0;
    }
    return 1;
}

unsigned ampvq_bench_recv_one(esp_amp_queue_t *q)
{
    void *buf;
    uint16_t len;
    int err = esp_amp_queue_recv_try(q, &buf, &len);

    if (err != ESP_OK) {
        if (err != ESP_ERR_NOT_FOUND) {
            bench_fail("ampvq: recv_try: 0x%x", (unsigned)err);
        }
        return 0;
    }
    bench_consumed(buf, len);
    err = esp_amp_queue_free_try(q, buf);
    if (err != ESP_OK) {
        bench_fail("ampvq: free_try: 0x%x", (unsigned)err);
    }
    return 1;
}

unsigned ampvq_bench_echo_one(esp_amp_queue_t *rx, esp_amp_queue_t *tx)
{
    void *in, *out;
    uint16_t len;
    int err = esp_amp_queue_recv_try(rx, &in, &len);

    if (err != ESP_OK) {
        if (err != ESP_ERR_NOT_FOUND) {
            bench_fail("ampvq: echo recv_try: 0x%x", (unsigned)err);
        }
        return 0;
    }
    /* One message in flight: the echo queue has a free buffer. */
    while ((err = esp_amp_queue_alloc_try(tx, &out, len)) == ESP_ERR_NOT_FOUND && !bench_stopping()) {
    }
    if (err == ESP_OK) {
        memcpy(out, in, len);
        err = esp_amp_queue_send_try(tx, out, len);
    }
    int ferr = esp_amp_queue_free_try(rx, in);
    if (err != ESP_OK || ferr != ESP_OK) {
        bench_fail("ampvq: echo: 0x%x / free 0x%x", (unsigned)err, (unsigned)ferr);
    }
    return 1;
}
