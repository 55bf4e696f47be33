/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Baseline: the plain SPSC ring of spsc_ring.c, polled on both sides. Every
 * figure of the other implementations is divided by this one's, measured
 * in the same run next to it. With batch > 1 it publishes its index once
 * per batch, the most a fixed-slot ring can gain from batching.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "spsc_ring.h"

static void *mem[2];
static size_t mem_bytes;
/* Each side's private state on its own cache line (spsc_ring.h aligns). */
static spsc_prod_t fwd_prod;
static spsc_cons_t fwd_cons;
static spsc_prod_t back_prod; /* consumer side, echoes */
static spsc_cons_t back_cons; /* producer side, echoes */
static uint32_t payload;

static int ring_setup(const bench_params_t *p)
{
    payload = p->payload;
    mem_bytes = spsc_ring_bytes(p->queue_len, p->payload);
    for (int i = 0; i < (p->two_way ? 2 : 1); i++) {
        /* mmap: page-aligned and zeroed, like the posix port's shared block. */
        mem[i] = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (mem[i] == MAP_FAILED) {
            mem[i] = NULL;
            return -1;
        }
    }
    spsc_ring_init(mem[0], p->queue_len, p->payload, &fwd_prod, &fwd_cons);
    if (p->two_way) {
        spsc_ring_init(mem[1], p->queue_len, p->payload, &back_prod, &back_cons);
    }
    return 0;
}

static int ring_start(bench_side_t side)
{
    (void)side;
    return 0;
}

static unsigned ring_produce(uint32_t seq, unsigned n)
{
    if (n == 1) {
        void *buf;
        if (spsc_ring_alloc(&fwd_prod, &buf) != 0) {
            return 0;
        }
        bench_fill(buf, seq);
        spsc_ring_send(&fwd_prod, payload);
        return 1;
    }
    uint32_t k = spsc_ring_reserve(&fwd_prod, n);
    for (uint32_t i = 0; i < k; i++) {
        bench_fill(spsc_ring_slot_fill(&fwd_prod, i, payload), seq + i);
    }
    if (k > 0) {
        spsc_ring_publish(&fwd_prod, k);
    }
    return k;
}

static unsigned ring_consume(unsigned n)
{
    if (n == 1) {
        void *buf;
        uint32_t len;
        if (spsc_ring_recv(&fwd_cons, &buf, &len) != 0) {
            return 0;
        }
        bench_consumed(buf, len);
        spsc_ring_free(&fwd_cons);
        return 1;
    }
    uint32_t k = spsc_ring_peek(&fwd_cons, n);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t len;
        const void *buf = spsc_ring_slot_read(&fwd_cons, i, &len);
        bench_consumed(buf, len);
    }
    if (k > 0) {
        spsc_ring_release(&fwd_cons, k);
    }
    return k;
}

static unsigned ring_pong(unsigned n)
{
    void *in, *out;
    uint32_t len;

    (void)n;
    if (spsc_ring_recv(&fwd_cons, &in, &len) != 0) {
        return 0;
    }
    /* One message in flight: the reverse ring always has room. */
    while (spsc_ring_alloc(&back_prod, &out) != 0) {
    }
    memcpy(out, in, len);
    spsc_ring_send(&back_prod, len);
    spsc_ring_free(&fwd_cons);
    return 1;
}

static int ring_ping_wait(void)
{
    void *buf;
    uint32_t len;

    if (spsc_ring_recv(&back_cons, &buf, &len) != 0) {
        return 0;
    }
    bench_consumed(buf, len);
    spsc_ring_free(&back_cons);
    return 1;
}

static void ring_teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (mem[i] != NULL) {
            munmap(mem[i], mem_bytes);
            mem[i] = NULL;
        }
    }
}

const bench_impl_t bench_impl_ring = {
    .name = "ring",
    .summary = "baseline: plain C11 SPSC ring of fixed slots, cached peer index, polled",
    .caps = BENCH_CAP_BATCH,
    .setup = ring_setup,
    .start = ring_start,
    .produce = ring_produce,
    .consume = ring_consume,
    .pong = ring_pong,
    .ping_wait = ring_ping_wait,
    .teardown = ring_teardown,
};
