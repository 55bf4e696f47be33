/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * SLOT: ampvq with batching, polled. Up to `batch` buffers per call on each
 * side (alloc_n -> fill -> send_n; recv_n -> check -> free_n), so that a
 * batched implementation can spread its per-call costs (handle checks,
 * index and wrap updates, fences) over the batch.
 *
 * Compiled in only when esp_amp_queue.h defines AMPVQ_HAVE_BATCH (it does
 * since the batch calls exist); otherwise the entry below says why it is
 * missing and the driver prints it as "not built" (its goal as MISS).
 */
#include "ampvq_common.h"

#if defined(AMPVQ_HAVE_BATCH)

/* ---- The only lines that name the batch API. ---------------------------
 * Each wrapper returns how many buffers it moved (0 when the queue is full /
 * empty) and reports any other error. */
static unsigned batch_alloc(esp_amp_queue_t *q, void **bufs, uint16_t size, unsigned n)
{
    uint16_t got = 0;
    int err = esp_amp_queue_alloc_n(q, bufs, size, (uint16_t)n, &got);
    if (err != ESP_OK && err != ESP_ERR_NOT_FOUND) {
        bench_fail("ampvq: alloc_n: 0x%x", (unsigned)err);
        return 0;
    }
    return err == ESP_OK ? got : 0;
}

static void batch_send(esp_amp_queue_t *q, void *const *bufs, const uint16_t *sizes, unsigned n)
{
    int err = esp_amp_queue_send_n(q, bufs, sizes, (uint16_t)n);
    if (err != ESP_OK) {
        bench_fail("ampvq: send_n: 0x%x", (unsigned)err);
    }
}

static unsigned batch_recv(esp_amp_queue_t *q, void **bufs, uint16_t *sizes, unsigned n)
{
    uint16_t got = 0;
    int err = esp_amp_queue_recv_n(q, bufs, sizes, (uint16_t)n, &got);
    if (err != ESP_OK && err != ESP_ERR_NOT_FOUND) {
        bench_fail("ampvq: recv_n: 0x%x", (unsigned)err);
        return 0;
    }
    return err == ESP_OK ? got : 0;
}

static void batch_free(esp_amp_queue_t *q, void *const *bufs, unsigned n)
{
    int err = esp_amp_queue_free_n(q, bufs, (uint16_t)n);
    if (err != ESP_OK) {
        bench_fail("ampvq: free_n: 0x%x", (unsigned)err);
    }
}
/* ------------------------------------------------------------------------- */

#define BATCH_MAX 256u

static int batch_setup(const bench_params_t *p)
{
    static const ampvq_bench_hooks_t hooks = {0};

    if (p->batch > BATCH_MAX) {
        bench_fail("ampvq-batch: batch above %u", BATCH_MAX);
        return -1;
    }
    return ampvq_bench_setup(p, &hooks);
}

static unsigned batch_produce(uint32_t seq, unsigned n)
{
    void *bufs[BATCH_MAX];
    uint16_t sizes[BATCH_MAX];
    uint16_t size = (uint16_t)bench_params()->payload;
    unsigned k = batch_alloc(&ampvq_bench_q.fwd_tx, bufs, size, n);

    for (unsigned i = 0; i < k; i++) {
        bench_fill(bufs[i], seq + i);
        sizes[i] = size;
    }
    if (k > 0) {
        batch_send(&ampvq_bench_q.fwd_tx, bufs, sizes, k);
    }
    return k;
}

static unsigned batch_consume(unsigned n)
{
    void *bufs[BATCH_MAX];
    uint16_t sizes[BATCH_MAX];
    unsigned k = batch_recv(&ampvq_bench_q.fwd_rx, bufs, sizes, n);

    for (unsigned i = 0; i < k; i++) {
        bench_consumed(bufs[i], sizes[i]);
    }
    if (k > 0) {
        batch_free(&ampvq_bench_q.fwd_rx, bufs, k);
    }
    return k;
}

const bench_impl_t bench_impl_ampvq_batch = {
    .name = "ampvq-batch",
    .summary = "ampvq alloc_n/send_n/recv_n/free_n, polled, `batch` buffers per call",
    .caps = BENCH_CAP_BATCH,
    .setup = batch_setup,
    .start = ampvq_bench_start,
    .produce = batch_produce,
    .consume = batch_consume,
    /* One message in flight: batching has nothing to do in ping-pong. */
    .teardown = ampvq_bench_teardown,
};

#else

const bench_impl_t bench_impl_ampvq_batch = {
    .name = "ampvq-batch",
    .summary = "ampvq alloc_n/send_n/recv_n/free_n, polled, `batch` buffers per call",
    .missing = "esp_amp_queue.h has no AMPVQ_HAVE_BATCH (alloc_n/send_n/recv_n/free_n)",
};

#endif
