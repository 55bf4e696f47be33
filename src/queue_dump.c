/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * esp_amp_queue_dump(): a queue as one core sees it, as text, for a debug
 * console or a log. The line format is part of the documentation
 * (docs/inspect.md), so tools may parse it.
 *
 * The core is freestanding (no printf), hence the small formatter below.
 * Shared memory is only ever loaded (relaxed, each field once): a dump may
 * run while the peer works, so a slot's fields may come from two different
 * moments, and the owner it prints is a snapshot, not a promise.
 *
 * What a handle can say about a slot: its own indices are exact, so the
 * slots between its tail and head are held by its application. Every other
 * slot's owner follows from the flags compared with the patterns this side
 * expects in the slot's lap (queue.c, queue_priv.h); what the peer's
 * application holds is invisible from here.
 */
#include <stddef.h> /* offsetof: freestanding */

#include "queue_priv.h"

/* Longest line: a slot line with every suffix is under 120 characters. */
#define LINE_CAP 160u

typedef struct {
    char buf[LINE_CAP];
    uint32_t n;
} line_t;

static void put_str(line_t *l, const char *s)
{
    while (*s != '\0' && l->n < LINE_CAP - 1u) {
        l->buf[l->n++] = *s++;
    }
}

static void put_dec(line_t *l, uint32_t v)
{
    char t[10];
    uint32_t i = 0;
    do {
        t[i++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (i > 0 && l->n < LINE_CAP - 1u) {
        l->buf[l->n++] = t[--i];
    }
}

/* Fixed width, so that columns of addresses line up and parse easily. */
static void put_hex(line_t *l, uint32_t v, uint32_t digits)
{
    static const char hex[] = "0123456789abcdef";
    put_str(l, "0x");
    while (digits-- > 0 && l->n < LINE_CAP - 1u) {
        l->buf[l->n++] = hex[(v >> (digits * 4u)) & 0xfu];
    }
}

static void emit(line_t *l, esp_amp_queue_dump_out_t out, void *ctx)
{
    l->buf[l->n] = '\0';
    out(ctx, l->buf);
    l->n = 0;
}

/* Relaxed load of a word the peer may be writing: never a plain read, which
 * the compiler could split or repeat. */
static uint32_t load_u32(const uint32_t *p)
{
    cache_invalidate(p, sizeof(*p));
    return AMPVQ_READ_ONCE(p);
}

/* The handle's link state (esp_amp_queue_t::link), named as in queue_link.c:
 * LINK_NONE, LINK_UP, LINK_RESETTING, LINK_PENDING, LINK_DEAD. */
static const char *link_name(uint8_t link)
{
    static const char *const names[] = {"none", "up", "resetting", "pending", "dead"};
    return link < sizeof(names) / sizeof(names[0]) ? names[link] : "unknown";
}

static void put_ctl(line_t *l, uint32_t *session)
{
    const ampvq_queue_ctl_t *ctl = ctl_of(session);
    put_str(l, " wake ");
    put_dec(l, load_u32(&ctl->wake));
    put_str(l, " session ");
    put_hex(l, load_u32(&ctl->session), 8);
}

/* Owner of the slot with free-running index `idx` in this side's window
 * [tail, tail + size), given its flags. */
static const char *owner_of(const esp_amp_queue_t *q, bool master, uint32_t idx, uint16_t flags)
{
    if (idx - q->tail < (uint32_t)(q->head - q->tail)) {
        return master ? "held by app (allocated, not sent)" : "held by app (received, not freed)";
    }
    uint16_t lap = lap_flags(q, idx);
    uint16_t f = (uint16_t)(flags & F_BOTH);
    if (master) {
        /* Not yet allocated in this lap: either the remote freed it (free
         * pattern of this lap) or it still holds what we sent one lap ago
         * (that lap's available pattern, which differs in USED only). */
        if (f == lap) {
            return "free";
        }
        if (f == (lap ^ F_USED)) {
            return "in flight or at remote";
        }
    } else {
        /* Not yet received: the master has published it in this lap, or it
         * is still the master's (free, or allocated and being filled). */
        if (f == (lap ^ F_AVAIL)) {
            return "ready to receive";
        }
        if (f == lap) {
            return "at master (free or allocated)";
        }
    }
    return "unexpected flags";
}

int esp_amp_queue_dump(const esp_amp_queue_t *queue, esp_amp_queue_dump_out_t out, void *ctx)
{
    esp_amp_queue_stats_t st;
    if (queue == NULL || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    int err = esp_amp_queue_stats(queue, &st);
    if (err != ESP_OK) {
        return err;
    }
    const esp_amp_queue_t *q = queue;
    /* Not zero-initialised: that would call memset for the whole buffer. */
    line_t l;
    l.n = 0;

    put_str(&l, "queue id ");
    put_hex(&l, q->sys_id, 4);
    put_str(&l, st.master ? " role master" : " role remote");
    put_str(&l, " len ");
    put_dec(&l, q->size);
    put_str(&l, " item_size ");
    put_dec(&l, q->item_size);
    put_str(&l, " stride ");
    put_dec(&l, 1u << q->desc_shift);
    put_str(&l, " buf_off ");
    put_hex(&l, q->buf_off, 8);
    put_str(&l, q->wake_own != NULL ? " event_idx on" : " event_idx off");
    emit(&l, out, ctx);

    put_str(&l, "indices head ");
    put_dec(&l, q->head);
    put_str(&l, " tail ");
    put_dec(&l, q->tail);
    put_str(&l, " held ");
    put_dec(&l, st.held);
    emit(&l, out, ctx);

    put_str(&l, "stats taken ");
    put_dec(&l, st.taken);
    put_str(&l, " given ");
    put_dec(&l, st.given);
    put_str(&l, " full ");
    put_dec(&l, st.full);
    put_str(&l, " peer_errors ");
    put_dec(&l, st.peer_errors);
    put_str(&l, " notify ");
    put_dec(&l, st.notify);
    put_str(&l, " resets ");
    put_dec(&l, st.resets);
    put_str(&l, " lost ");
    put_dec(&l, st.lost);
    emit(&l, out, ctx);

    /* Both roles' control words as they are in shared memory (the wake
     * words mean something only with the event index). */
    put_str(&l, "ctl own");
    put_ctl(&l, q->sess_own);
    put_str(&l, " peer");
    put_ctl(&l, q->sess_peer);
    emit(&l, out, ctx);

    /* The handle's side of the link: the other core's instance number it
     * is in step with, and (sub core) the session word it attached with. */
    put_str(&l, "link ");
    put_str(&l, link_name(q->link));
    put_str(&l, q->on_main ? " core main peer_instance " : " core sub peer_instance ");
    put_hex(&l, q->inst_seen, 8);
    if (!q->on_main) {
        put_str(&l, " attached ");
        put_hex(&l, q->sess_mine, 8);
    }
    emit(&l, out, ctx);

    /* In index order from this side's tail, so the held slots come first
     * and the rest follow in the order this side will reach them. */
    for (uint32_t i = 0; i < q->size; i++) {
        uint32_t idx = q->tail + i;
        const esp_amp_queue_desc_t *d = desc_at(q, idx);
        cache_invalidate(d, sizeof(*d));
        uint16_t flags = AMPVQ_READ_ONCE(&d->flags);
        uint32_t addr = AMPVQ_READ_ONCE(&d->addr);
        uint16_t len = AMPVQ_READ_ONCE(&d->len);

        put_str(&l, "slot ");
        put_dec(&l, idx & (q->size - 1u));
        put_str(&l, " index ");
        put_dec(&l, idx);
        put_str(&l, " addr ");
        put_hex(&l, addr, 8);
        put_str(&l, " len ");
        put_dec(&l, len);
        put_str(&l, " flags ");
        put_hex(&l, flags, 4);
        put_str(&l, " ");
        put_str(&l, owner_of(q, st.master, idx, flags));
        /* The same checks take() makes before it hands a buffer out. */
        if (slot_of(q, addr - q->buf_off) >= q->size) {
            put_str(&l, " [bad addr]");
        }
        if (len > q->item_size) {
            put_str(&l, " [bad len]");
        }
        emit(&l, out, ctx);
    }
    return ESP_OK;
}
