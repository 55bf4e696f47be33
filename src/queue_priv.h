/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What queue.c and queue_batch.c share: the slot arithmetic of the packed
 * virtqueue (see the comment at the top of queue.c). Not installed.
 */
#ifndef AMPVQ_QUEUE_PRIV_H
#define AMPVQ_QUEUE_PRIV_H

#include "esp_err.h"
#include "esp_amp_queue.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

#define F_AVAIL AMPVQ_DESC_F_AVAIL
#define F_USED  AMPVQ_DESC_F_USED
#define F_BOTH  ((uint16_t)(F_AVAIL | F_USED))

/* A handle's tag is its own address xor one of these. Both are odd, so a
 * zeroed or copied handle (at a 4-byte aligned address) never matches, and
 * the role is checked by the same compare. */
#define ROLE_MASTER 0xa1b2c3d5u
#define ROLE_REMOTE (ROLE_MASTER ^ 0x100u)

static inline uint32_t q_tag(const esp_amp_queue_t *q, uint32_t role)
{
    return (uint32_t)(uintptr_t)q ^ role;
}

/* Error code for a handle that failed q_check() (out of line: cold). */
int ampvq_queue_bad_handle(const esp_amp_queue_t *q, uint32_t role);

/* The handle is open with this role (the fast paths test this and leave the
 * error code to ampvq_queue_bad_handle(), reached by a tail call). */
static inline bool q_ok(const esp_amp_queue_t *q, uint32_t role)
{
    return q != NULL && q->tag == q_tag(q, role);
}

/* The handle is open as the master (callers that know it is open). */
static inline bool q_is_master(const esp_amp_queue_t *q)
{
    return q->tag == q_tag(q, ROLE_MASTER);
}

/* The handle is open, in either role. */
static inline bool q_open(const esp_amp_queue_t *q)
{
    return q_is_master(q) || q->tag == q_tag(q, ROLE_REMOTE);
}

/* A wake word's start value: the master's says "never" (far from any index
 * it will reach soon, so the remote does not notify before the master first
 * asks); the remote's says "from slot 0". */
#define WAKE_NEVER 0x80000000u
static inline uint32_t wake_start(bool master)
{
    return master ? WAKE_NEVER : 0u;
}

/* The control words (ampvq_queue_ctl_t) a handle's session pointer is in. */
static inline ampvq_queue_ctl_t *ctl_of(uint32_t *session)
{
    return (ampvq_queue_ctl_t *)(void *)((uint8_t *)session - offsetof(ampvq_queue_ctl_t, session));
}

static inline int q_check(const esp_amp_queue_t *q, uint32_t role)
{
    if (q != NULL && q->tag == q_tag(q, role)) {
        return ESP_OK;
    }
    return ampvq_queue_bad_handle(q, role);
}

static inline void cache_writeback(const void *p, size_t len)
{
    if (!AMPVQ_CACHE_COHERENT) {
        ampvq_port_cache_writeback(p, len);
    }
}

static inline void cache_invalidate(const void *p, size_t len)
{
    if (!AMPVQ_CACHE_COHERENT) {
        ampvq_port_cache_invalidate(p, len);
    }
}

/*
 * Indices run free (uint32_t) and the slot is idx & (size - 1); bit log2(size)
 * of the index is the packed ring's wrap counter, inverted (the counter starts
 * at 1). lap_flags() is the flags word of a slot that is free for the master
 * in the lap of `idx`: 0 in even laps, AVAIL|USED in odd ones. A slot
 * available to the remote shows lap_flags ^ AVAIL; the remote's free stores
 * lap_flags ^ BOTH, which is "free" for the master's next lap.
 */
static inline uint16_t lap_flags(const esp_amp_queue_t *q, uint32_t idx)
{
    return (idx & q->size) ? F_BOTH : 0u;
}

/* Buffers the application holds: slots taken minus slots given, minus the
 * slots taken that held a bad descriptor (consumed, nothing handed out). */
static inline uint32_t held(const esp_amp_queue_t *q, uint32_t head, uint32_t tail)
{
    return head - tail - q->n_peer_err;
}

static inline esp_amp_queue_desc_t *desc_at(const esp_amp_queue_t *q, uint32_t idx)
{
    return (esp_amp_queue_desc_t *)(void *)(q->desc + ((idx & (q->size - 1u)) << q->desc_shift));
}

/*
 * Slot number of byte offset `off` in the buffer area, or a number >= size
 * when `off` is not the start of a slot. item_size = odd * 2^shift; for a
 * multiple of item_size, off * inverse(odd) rotated right by shift is the
 * exact quotient, and for anything else it is larger than 2^32 / item_size,
 * hence larger than size (Hacker's Delight, 10-17). One multiply, no divide.
 */
static inline uint32_t slot_of(const esp_amp_queue_t *q, uint32_t off)
{
    uint32_t x = off * q->slot_inv;
    uint32_t s = q->slot_shift; /* 2..15: item_size is a multiple of 4 */
    return (x >> s) | (x << (32u - s));
}

/* Sets *off to the offset in the buffer area of an application pointer;
 * false if it is not the start of one of this queue's buffers (NULL never
 * is: the buffer area cannot wrap through address 0). */
static inline bool buffer_offset(const esp_amp_queue_t *q, const void *p, uint32_t *off)
{
    uintptr_t d = (uintptr_t)p - (uintptr_t)q->buf;

    *off = (uint32_t)d;
    return d == (uint32_t)d && slot_of(q, (uint32_t)d) < q->size;
}

/* Flags of slot d show `want` (acquire: pairs with the peer's release store
 * of them, so the descriptor and buffer the peer wrote before are visible). */
static inline bool slot_ready(const esp_amp_queue_desc_t *d, uint16_t want)
{
    cache_invalidate(d, sizeof(*d));
    return (AMPVQ_LOAD_ACQUIRE(&d->flags) & F_BOTH) == want;
}

/* Event index, slow path of alloc/recv on a queue with wake words: ask the
 * peer to notify when the slot at head is published. The caller must then
 * look at the flags again. */
void ampvq_queue_arm(esp_amp_queue_t *q);

/* Link sessions (queue_link.c). attach: at open, record this side's session
 * (sub core: publish it). link_check: the peer's session word differs from
 * what this handle expects; returns ESP_OK to go on, ESP_ERR_NOT_FOUND while
 * the link is settling, ESP_ERR_INVALID_STATE once the handle is dead. */
void ampvq_queue_attach(esp_amp_queue_t *q, bool is_master);
int ampvq_queue_link_check(esp_amp_queue_t *q);
bool ampvq_queue_link_stale(const esp_amp_queue_t *q);
bool ampvq_queue_link_up(const esp_amp_queue_t *q);

/* esp_amp_queue_t::link */
enum { AMPVQ_LINK_NONE, AMPVQ_LINK_UP, AMPVQ_LINK_RESETTING, AMPVQ_LINK_PENDING, AMPVQ_LINK_DEAD };

/* One claim exactly as alloc_try (flip 0, size NULL) / recv_try (flip
 * AVAIL) make it, after their argument checks: the batch calls take their
 * first buffer this way (link check, wake-up request included). */
int ampvq_queue_take1(esp_amp_queue_t *q, uint16_t flip, void **buffer, uint16_t *size);

/* After publishing slots [old, new): call the notify function if there is
 * one and, on an event-index queue, if the peer asked for a slot in range.
 * Returns ESP_OK (so that callers can end with a tail call). */
int ampvq_queue_notify_slow(esp_amp_queue_t *q, uint32_t old, uint32_t new_);

static inline int ampvq_queue_notify(esp_amp_queue_t *q, uint32_t old, uint32_t new_)
{
    return q->notify_fc == NULL ? ESP_OK : ampvq_queue_notify_slow(q, old, new_);
}

#endif /* AMPVQ_QUEUE_PRIV_H */
