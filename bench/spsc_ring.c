/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The baseline ring (see spsc_ring.h). The calls are out of line, like the
 * library's, so that instructions per message compare the same kind of
 * code. Freestanding (no libc), so that its code size is measured with the
 * same cross compilers and flags as the core.
 */
#include "spsc_ring.h"

/* The length lives in the first word of the slot's 8-byte header. */
#define SLOT_HDR 8u

static uint32_t stride_of(uint32_t item)
{
    return SLOT_HDR + ((item + 7u) & ~7u);
}

size_t spsc_ring_bytes(uint32_t len, uint32_t item)
{
    return sizeof(spsc_shared_t) + (size_t)len * stride_of(item);
}

void spsc_ring_init(void *mem, uint32_t len, uint32_t item, spsc_prod_t *p, spsc_cons_t *c)
{
    spsc_shared_t *sh = mem;

    atomic_init(&sh->tail, 0);
    atomic_init(&sh->head, 0);
    p->sh = sh;
    p->slots = (uint8_t *)mem + sizeof(*sh);
    p->mask = len - 1u;
    p->stride = stride_of(item);
    p->tail = 0;
    p->head_cache = 0;
    c->sh = sh;
    c->slots = p->slots;
    c->mask = p->mask;
    c->stride = p->stride;
    c->head = 0;
    c->tail_cache = 0;
}

static uint8_t *slot(uint8_t *slots, uint32_t stride, uint32_t idx)
{
    return slots + (size_t)idx * stride;
}

uint32_t spsc_ring_reserve(spsc_prod_t *p, uint32_t want)
{
    uint32_t size = p->mask + 1u;
    uint32_t room = size - (p->tail - p->head_cache);

    if (room < want) {
        /* Acquire pairs with the release in spsc_ring_release()/free(): the
         * consumer has finished reading the slots it gave back. Read only
         * now, when the cached copy is not enough, so that the consumer's
         * cache line is not pulled over on every message. */
        p->head_cache = atomic_load_explicit(&p->sh->head, memory_order_acquire);
        room = size - (p->tail - p->head_cache);
    }
    return room < want ? room : want;
}

void *spsc_ring_slot_fill(spsc_prod_t *p, uint32_t i, uint32_t len)
{
    uint8_t *s = slot(p->slots, p->stride, (p->tail + i) & p->mask);

    *(uint32_t *)(void *)s = len;
    return s + SLOT_HDR;
}

void spsc_ring_publish(spsc_prod_t *p, uint32_t n)
{
    p->tail += n;
    /* Release pairs with the acquire in spsc_ring_peek()/recv(): length and
     * payload are written before the consumer sees the new tail. */
    atomic_store_explicit(&p->sh->tail, p->tail, memory_order_release);
}

uint32_t spsc_ring_peek(spsc_cons_t *c, uint32_t want)
{
    uint32_t ready = c->tail_cache - c->head;

    if (ready < want) {
        /* Acquire pairs with the release in spsc_ring_publish()/send(). */
        c->tail_cache = atomic_load_explicit(&c->sh->tail, memory_order_acquire);
        ready = c->tail_cache - c->head;
    }
    return ready < want ? ready : want;
}

void *spsc_ring_slot_read(spsc_cons_t *c, uint32_t i, uint32_t *len)
{
    uint8_t *s = slot(c->slots, c->stride, (c->head + i) & c->mask);

    *len = *(const uint32_t *)(const void *)s;
    return s + SLOT_HDR;
}

void spsc_ring_release(spsc_cons_t *c, uint32_t n)
{
    c->head += n;
    /* Release pairs with the acquire in spsc_ring_reserve()/alloc(). */
    atomic_store_explicit(&c->sh->head, c->head, memory_order_release);
}

int spsc_ring_alloc(spsc_prod_t *p, void **buf)
{
    if (p->tail - p->head_cache == p->mask + 1u) {
        /* Pairs with the release in spsc_ring_free(). */
        p->head_cache = atomic_load_explicit(&p->sh->head, memory_order_acquire);
        if (p->tail - p->head_cache == p->mask + 1u) {
            return -1;
        }
    }
    *buf = slot(p->slots, p->stride, p->tail & p->mask) + SLOT_HDR;
    return 0;
}

void spsc_ring_send(spsc_prod_t *p, uint32_t len)
{
    *(uint32_t *)(void *)slot(p->slots, p->stride, p->tail & p->mask) = len;
    p->tail++;
    /* Pairs with the acquire in spsc_ring_recv(). */
    atomic_store_explicit(&p->sh->tail, p->tail, memory_order_release);
}

int spsc_ring_recv(spsc_cons_t *c, void **buf, uint32_t *len)
{
    if (c->tail_cache == c->head) {
        /* Pairs with the release in spsc_ring_send(). */
        c->tail_cache = atomic_load_explicit(&c->sh->tail, memory_order_acquire);
        if (c->tail_cache == c->head) {
            return -1;
        }
    }
    uint8_t *s = slot(c->slots, c->stride, c->head & c->mask);
    *len = *(const uint32_t *)(const void *)s;
    *buf = s + SLOT_HDR;
    return 0;
}

void spsc_ring_free(spsc_cons_t *c)
{
    c->head++;
    /* Pairs with the acquire in spsc_ring_alloc(). */
    atomic_store_explicit(&c->sh->head, c->head, memory_order_release);
}
