/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The baseline: a plain lock-free single-producer / single-consumer ring of
 * fixed-size slots, written for the benchmarks and nothing else. It has what
 * a careful hand-written ring has and nothing more: C11 acquire/release on
 * two free-running 32-bit indices, each index alone on its cache line, and
 * each side keeping a private copy of the other side's index so that it
 * reads the shared one only when its copy says full (producer) or empty
 * (consumer). No validation, no notification, in-order release only.
 *
 * Its zero-copy calls mirror the virtqueue's so that both are measured
 * doing the same work: alloc (take the next slot) / send (publish it with
 * its length) on the producer, recv (see the next slot) / free (give it
 * back) on the consumer. reserve/publish and peek/release move several
 * slots per index update, for batching.
 *
 * Slot layout: an 8-byte header holding the length, then the payload (8-byte
 * aligned); stride = 8 + item size rounded up to 8. (A separate array of
 * lengths, as the virtqueue's descriptors are separate from its buffers,
 * was measured too: it adds a third cache line per message and made the
 * ring about 3x slower at queue length 16, so the baseline keeps the length
 * in the slot.)
 */
#ifndef AMPVQ_BENCH_SPSC_RING_H
#define AMPVQ_BENCH_SPSC_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SPSC_CACHE_LINE 64

/* Shared: what both sides touch. */
typedef struct {
    _Alignas(SPSC_CACHE_LINE) _Atomic uint32_t tail; /* written by the producer */
    _Alignas(SPSC_CACHE_LINE) _Atomic uint32_t head; /* written by the consumer */
    /* slots follow at the next cache line (spsc_ring_bytes) */
} spsc_shared_t;

/* Producer's private state: keep it on its own cache line. */
typedef struct {
    _Alignas(SPSC_CACHE_LINE) spsc_shared_t *sh;
    uint8_t *slots;
    uint32_t mask;
    uint32_t stride;
    uint32_t tail;       /* next slot to fill */
    uint32_t head_cache; /* last head seen */
} spsc_prod_t;

/* Consumer's private state: likewise. */
typedef struct {
    _Alignas(SPSC_CACHE_LINE) spsc_shared_t *sh;
    uint8_t *slots;
    uint32_t mask;
    uint32_t stride;
    uint32_t head;       /* next slot to read */
    uint32_t tail_cache; /* last tail seen */
} spsc_cons_t;

/* Bytes of shared memory for `len` slots (a power of two) of `item` bytes. */
size_t spsc_ring_bytes(uint32_t len, uint32_t item);

/* Lay a ring out in `mem` (spsc_ring_bytes() bytes, cache-line aligned,
 * zeroed) and open both sides on it. */
void spsc_ring_init(void *mem, uint32_t len, uint32_t item, spsc_prod_t *p, spsc_cons_t *c);

/* Producer, one message: 0 and *buf = the next slot's payload, or -1 if full. */
int spsc_ring_alloc(spsc_prod_t *p, void **buf);
/* Producer: publish the slot alloc() returned, with `len` bytes of payload. */
void spsc_ring_send(spsc_prod_t *p, uint32_t len);
/* Consumer, one message: 0 with the payload and its length, or -1 if empty. */
int spsc_ring_recv(spsc_cons_t *c, void **buf, uint32_t *len);
/* Consumer: give back the slot recv() returned. */
void spsc_ring_free(spsc_cons_t *c);

/* Producer, batch: free slots from the tail, at most `want`. */
uint32_t spsc_ring_reserve(spsc_prod_t *p, uint32_t want);
/* Payload of the producer's i-th reserved slot; stores its length. */
void *spsc_ring_slot_fill(spsc_prod_t *p, uint32_t i, uint32_t len);
/* Producer: publish the next n reserved slots with one index store. */
void spsc_ring_publish(spsc_prod_t *p, uint32_t n);
/* Consumer, batch: filled slots from the head, at most `want`. */
uint32_t spsc_ring_peek(spsc_cons_t *c, uint32_t want);
/* Payload and length of the consumer's i-th ready slot. */
void *spsc_ring_slot_read(spsc_cons_t *c, uint32_t i, uint32_t *len);
/* Consumer: give back the next n slots with one index store. */
void spsc_ring_release(spsc_cons_t *c, uint32_t n);

#endif /* AMPVQ_BENCH_SPSC_RING_H */
