/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Queue scenario engine; see queue_engine.h.
 *
 * Invariants checked after every API call:
 *  - the return code is one the function documents, and one of those the
 *    caller's own state dictates where that is determined (bad arguments,
 *    wrong role, nothing outstanding, handle not open);
 *  - a buffer handed out (alloc, recv, single or batch) is the start of a
 *    slot of the handle's buffer area, inside the shared block, and a
 *    received length is at most the item size;
 *  - every shared load and store of the call is logged (fuzz_common.c):
 *    alloc / recv load flags, addr and len of consecutive descriptors from
 *    their head (one for the single calls, at most max + 1 for a batch),
 *    each once, and on an event-index queue their own wake word (load, at
 *    most one store, then the one allowed re-check of the head's flags);
 *    send / free store the flags of consecutive descriptors (one, or n for
 *    a batch) and load at most the peer's wake word; a failed call stores
 *    nothing but an alloc / recv's wake word; everything else in the block
 *    is poisoned during the call (AddressSanitizer); cache maintenance
 *    stays inside the queue's areas; with snapshots on, no byte of the
 *    block changed besides the published descriptors and the own wake word;
 *  - a published descriptor holds the buffer's offset, the length (0 for a
 *    free) and the flags of its lap;
 *  - the notify / free-notify function runs once per successful send /
 *    free (a batch counts once), and on an event-index queue exactly when
 *    the peer's wake word it loaded asks for one of the published slots;
 *    while the peer behaves, a side that armed its wake word is notified by
 *    the peer's next publish (no lost wake-up); the queue callback runs
 *    when its interrupt is raised;
 *  - esp_amp_queue_stats() reports the held count, the taken / given /
 *    full / notify counters of the model, and at least the bad
 *    descriptors the calls reported;
 *  - while the peer has behaved: alloc succeeds exactly when (and as many
 *    times as) a buffer is free and never hands out a buffer in use, recv
 *    returns exactly the buffers sent, in order, with their length and
 *    contents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_err.h"
#include "esp_amp.h"
#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "fuzz_ref.h"
#include "queue_engine.h"

#define DIR_END     (FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES)
#define ALIGN_BLK(x) (((x) + AMPVQ_SYS_INFO_ALIGN - 1u) & ~(uint64_t)(AMPVQ_SYS_INFO_ALIGN - 1u))
/* Largest region compared byte for byte around every data-path call. */
#define SNAP_MAX (8u * 1024u)
/* Largest batch asked for (arrays have one spare entry). */
#define BATCH_MAX 256u

#define F_AVAIL AMPVQ_DESC_F_AVAIL
#define F_BOTH  ((uint16_t)(AMPVQ_DESC_F_AVAIL | AMPVQ_DESC_F_USED))

enum { SLOT_FREE, SLOT_MASTER, SLOT_SENT, SLOT_REMOTE };
/* What a call may do to shared memory (end()). */
enum { K_NONE, K_TAKE, K_GIVE, K_PEEK };

static fz_buf_t held_store[2][AMPVQ_QUEUE_LEN_MAX];
static fz_buf_t fifo_store[AMPVQ_QUEUE_LEN_MAX];
static uint8_t slot_state[AMPVQ_QUEUE_LEN_MAX];
static uint8_t snap_before[FZ_SHM_MAX];
static unsigned regs_per_id[2][32];
static uint8_t not_shared[16]; /* a private address, for bogus buffers */
static void *bufv[BATCH_MAX + 1];
static uint16_t sizev[BATCH_MAX + 1];
static uint32_t seqv[BATCH_MAX + 1];

/* FZ_TRACE set: print every operation and data-path call (debugging). */
static bool fz_trace(void)
{
    static int on = -1;
    if (on < 0) {
        on = getenv("FZ_TRACE") != NULL;
    }
    return on != 0;
}

static int on_cb(void *arg)
{
    ((fz_side_t *)arg)->cb_calls++;
    return 0;
}

static int on_free_cb(void *arg)
{
    ((fz_side_t *)arg)->fn_calls++;
    return 0;
}

static void on_link(esp_amp_queue_t *q, bool up, void *arg)
{
    fz_side_t *s = arg;
    FZ_CHECK(q == &s->q, "link callback got queue %p, not its handle %p", (void *)q, (void *)&s->q);
    s->link_calls++;
    s->link_last_up = up;
}

/* The sub core's esp_amp_init() takes the next instance number (amp.c). */
void ampvq_sub_session_bump(void);

/* ------------------------------------------------------------ decoding */

void fz_queue_params(fz_in_t *in, fz_queue_params_t *p)
{
    uint8_t m = fz_u8(in);

    *p = (fz_queue_params_t){0};
    p->dual = m & 1u;
    p->tear = m & 2u;
    p->race = (m & 6u) == 4u; /* racing and tearing exclude each other */
    p->main_master = m & 8u;
    p->master_cb = m & 16u;
    p->remote_cb = m & 32u;
    p->event_words = m & 64u;
    /* Mostly small queues (fast, many wrap-arounds); the high bit asks for
     * any 16-bit value, including the invalid 0 and > 32768. */
    uint8_t l = fz_u8(in);
    p->queue_len = (l & 0x80u) ? fz_u16(in) : (uint16_t)(l & 0x7fu);
    uint8_t it = fz_u8(in);
    p->item_size = (it & 0x80u) ? fz_u16(in) : (uint16_t)(it & 0x7fu);
    /* Queue id: bit 6 asks for an event-index queue. */
    uint8_t q = fz_u8(in);
    p->event_idx = q & 0x40u;
    p->qid = (q & 0x80u) ? fz_u16(in) : (uint16_t)(q & 0x3fu);
    if (m & 0x80u) {
        uint8_t pb = fz_u8(in);
        p->pre_size = (uint16_t)(1u + 4u * (pb >> 1));
        p->pre_same_id = pb & 1u;
    }
    uint8_t s = fz_u8(in);
    /* 0..239 spare bytes; 240..255 too small by 1..121 bytes. */
    p->slack = s < 0xf0u ? (int32_t)s : -(int32_t)((s & 0xfu) * 8u + 1u);
}

/* ------------------------------------------------------------- helpers */

static fz_side_t *master_of(fz_engine_t *e)
{
    return e->side[0].master ? &e->side[0] : &e->side[1];
}

static fz_side_t *remote_of(fz_engine_t *e)
{
    return e->side[0].master ? &e->side[1] : &e->side[0];
}

static uint8_t *slot_ptr(const fz_side_t *s, uint32_t slot)
{
    return s->view + s->buf_off + (size_t)slot * s->item;
}

/* Slot number of `p` in the side's buffer area, -1 if p is not the start
 * of one (computed on integers: p may point anywhere). */
static int64_t slot_of(const fz_side_t *s, const void *p)
{
    uintptr_t start = (uintptr_t)s->view + s->buf_off;
    uintptr_t a = (uintptr_t)p;

    if (!s->ready || a < start || (a - start) % s->item != 0 || (a - start) / s->item >= s->n) {
        return -1;
    }
    return (int64_t)((a - start) / s->item);
}

static fz_side_t *other_of(fz_engine_t *e, const fz_side_t *s)
{
    return &e->side[s->core ^ 1];
}

static uint8_t *desc_ptr(const fz_side_t *s, uint32_t idx)
{
    return s->view + s->desc_off + (size_t)(idx & (s->n - 1u)) * s->stride;
}

/* Flags word of slot `idx` once published by a send (flip AVAIL) or a free
 * (flip AVAIL|USED): the lap's "free" flags (0, or both bits in odd laps)
 * with the bits flipped. */
static uint16_t lap_flags(const fz_side_t *s, uint32_t idx, uint16_t flip)
{
    return (uint16_t)(flip ^ ((idx & s->n) ? F_BOTH : 0u));
}

/* VIRTIO's vring_need_event(): the peer asked for slot w, and [old, new)
 * was just published. */
static bool need_event(uint32_t w, uint32_t old, uint32_t new_)
{
    return (uint32_t)(new_ - w - 1u) < (uint32_t)(new_ - old);
}

static uint32_t model_free(fz_engine_t *e)
{
    fz_side_t *m = master_of(e), *r = remote_of(e);
    return m->n - m->outstanding - e->fifo_count - r->outstanding;
}

static void held_push(fz_side_t *s, uint32_t slot, uint16_t len, uint32_t seq)
{
    if (s->nheld < AMPVQ_QUEUE_LEN_MAX) {
        s->held[s->nheld++] = (fz_buf_t){.slot = slot, .len = len, .seq = seq};
    }
}

static void held_remove(fz_side_t *s, uint32_t idx)
{
    s->held[idx] = s->held[--s->nheld];
}

static int64_t held_find(const fz_side_t *s, uint32_t slot)
{
    for (uint32_t i = 0; i < s->nheld; i++) {
        if (s->held[i].slot == slot) {
            return i;
        }
    }
    return -1;
}

/* Poison every byte of the region the data path has no business touching:
 * all but the region header (its pending-interrupt and session words), the
 * descriptors of the open sides (the gaps of a wide stride stay poisoned),
 * their session words, their wake words (event index only) and the two
 * event words a link change ORs a bit into (where the directory says they
 * are now; a link change's lookup of them is let through poison_ok()). */
static void apply_poison(fz_engine_t *e)
{
    static const uint16_t ev_id[2] = {SYS_INFO_RESERVED_ID_EVENT_MAIN, SYS_INFO_RESERVED_ID_EVENT_SUB};
    fz_snapshot(snap_before);
    for (int i = 0; i < 2; i++) {
        fz_ref_block_t b;
        fz_ref_find(snap_before, fz_shm.size, ev_id[i], &b);
        e->ev_ok[i] = b.rc == ESP_OK && b.size >= 4u;
        e->ev_off[i] = b.off;
    }
    fz_poison(FZ_HDR_BYTES, fz_shm.size);
    for (int i = 0; i < 2; i++) {
        if (e->ev_ok[i]) {
            fz_unpoison(e->ev_off[i], e->ev_off[i] + 4u);
        }
    }
    for (int i = 0; i < 2; i++) {
        fz_side_t *s = &e->side[i];
        if (!s->ready) {
            continue;
        }
        if (s->stride == 8u) {
            fz_unpoison(s->desc_off, s->desc_off + 8u * s->n);
        } else {
            for (uint32_t k = 0; k < s->n; k++) {
                fz_unpoison(s->desc_off + k * s->stride, s->desc_off + k * s->stride + 8u);
            }
        }
        if (s->evt) {
            fz_unpoison(s->wake_own, s->wake_own + 4u);
            fz_unpoison(s->wake_peer, s->wake_peer + 4u);
        }
        fz_unpoison(s->ctl_own + 4u, s->ctl_own + 8u);
        fz_unpoison(s->ctl_peer + 4u, s->ctl_peer + 8u);
    }
}

/* The handle's geometry as a fz_qgeom_t (wake words by role). */
static fz_qgeom_t side_geom(const fz_side_t *s)
{
    fz_qgeom_t g = {.n = s->n, .item = s->item, .stride = s->stride, .desc_off = s->desc_off, .buf_off = s->buf_off};
    g.evt = s->evt;
    g.ctl[0] = s->master ? s->ctl_peer : s->ctl_own;
    g.ctl[1] = s->master ? s->ctl_own : s->ctl_peer;
    return g;
}

/* Take the geometry the handle holds and check it. */
static void adopt(fz_engine_t *e, int idx, const char *who)
{
    fz_side_t *s = &e->side[idx];
    uint8_t *view = fz_shm.view[s->core];
    int64_t desc = fz_offset_in(s->core, s->q.desc, 8);

    (void)e;
    FZ_CHECK(desc >= 0, "%s: descriptor table pointer %p is not in core %d's view", who, (void *)s->q.desc, s->core);
    FZ_CHECK(s->q.desc_shift >= 3 && s->q.desc_shift <= 8, "%s: descriptor stride 2^%u", who,
             (unsigned)s->q.desc_shift);
    s->view = view;
    s->desc_off = (uint32_t)desc;
    s->buf_off = s->q.buf_off;
    s->n = s->q.size;
    s->item = s->q.item_size;
    s->stride = 1u << s->q.desc_shift;
    s->evt = s->q.wake_own != NULL;
    FZ_CHECK(s->evt == (s->q.wake_peer != NULL), "%s: one wake word without the other", who);
    if (s->evt) {
        int64_t own = fz_offset_in(s->core, s->q.wake_own, 4), peer = fz_offset_in(s->core, s->q.wake_peer, 4);
        FZ_CHECK(own >= 0 && peer >= 0, "%s: wake words %p / %p not in core %d's view", who, (void *)s->q.wake_own,
                 (void *)s->q.wake_peer, s->core);
        s->wake_own = (uint32_t)own;
        s->wake_peer = (uint32_t)peer;
    } else {
        s->wake_own = s->wake_peer = 0;
    }
    int64_t own = fz_offset_in(s->core, s->q.sess_own, 4), peer = fz_offset_in(s->core, s->q.sess_peer, 4);
    FZ_CHECK(own >= 4 && peer >= 4, "%s: session words %p / %p not in core %d's view", who, (void *)s->q.sess_own,
             (void *)s->q.sess_peer, s->core);
    s->ctl_own = (uint32_t)own - 4u;
    s->ctl_peer = (uint32_t)peer - 4u;
    FZ_CHECK(!s->evt || (s->wake_own == s->ctl_own && s->wake_peer == s->ctl_peer),
             "%s: the wake words are not the first words of the control structs", who);
    FZ_CHECK(s->q.buf == view + s->buf_off, "%s: buffer pointer and buffer offset disagree", who);
    fz_qgeom_t g = side_geom(s);
    fz_check_geometry(who, &g);
    s->ready = true;
    s->outstanding = 0;
    s->nheld = 0;
    s->taken = s->given = s->full = s->peer_err = 0;
    s->free_notify = false;
    s->waiting = false;
    s->notify_base = s->master ? s->cb_calls : s->fn_calls;
    s->dead = false;
    s->prompts = 0;
    s->link_cb = false;
    s->resets = s->lost = 0;
}

/* ------------------------------------------------------ value makers */

static uint32_t gen_addr(fz_in_t *in, const fz_side_t *t)
{
    uint32_t valid = t->buf_off + (fz_u16(in) % t->n) * t->item;

    switch (fz_u8(in) % 8) {
    case 4:
        return valid + (uint32_t)(int32_t)(int8_t)fz_u8(in);
    case 5:
        return fz_u32(in);
    case 6:
        return t->buf_off + t->n * t->item; /* one past the area */
    case 7:
        return t->buf_off - t->item; /* one before it */
    default:
        return valid;
    }
}

static uint16_t gen_len(fz_in_t *in, const fz_side_t *t)
{
    switch (fz_u8(in) % 4) {
    case 0:
        return (uint16_t)(fz_u16(in) % (t->item + 1u));
    case 1:
        return (uint16_t)t->item;
    case 2:
        return (uint16_t)(t->item + 1u + fz_u8(in));
    default:
        return fz_u16(in);
    }
}

static uint16_t gen_flags(fz_in_t *in)
{
    static const uint16_t combos[4] = {0, AMPVQ_DESC_F_AVAIL, AMPVQ_DESC_F_USED,
                                       AMPVQ_DESC_F_AVAIL | AMPVQ_DESC_F_USED};
    uint8_t b = fz_u8(in);
    uint16_t noise = (b & 4u) ? (uint16_t)(fz_u16(in) & ~(AMPVQ_DESC_F_AVAIL | AMPVQ_DESC_F_USED)) : 0u;
    return (uint16_t)(combos[b & 3u] | noise);
}

static void write_desc_field(fz_in_t *in, const fz_side_t *t, uint8_t *d, unsigned field)
{
    switch (field) {
    case 0:
        fz_raw_put(d, 4, gen_addr(in, t));
        break;
    case 1:
        fz_raw_put(d + 4, 2, gen_len(in, t));
        break;
    default:
        fz_raw_put(d + 6, 2, gen_flags(in));
        break;
    }
}

/* The call went on to a link check: it loaded the session words (the
 * peer role's word, the region's instance numbers) at least twice in all
 * (the claim's look and the check's). Design-neutral on purpose: which
 * word a claim looks at first is the core's choice. */
static bool link_checked(const fz_engine_t *e)
{
    return e->sess_loads + e->rsess_loads >= 2;
}

/* Tear hook for the side under test: just before a load from one of its
 * descriptors the peer may rewrite that field, just after it the whole
 * descriptor. Loads elsewhere (wake words; init reads the header and the
 * directory) are torn field by field. */
static uint8_t tear_pending;

static bool tear_desc(uint8_t *field, unsigned size, bool before, fz_in_t *in, void *ctx)
{
    fz_engine_t *e = ctx;
    fz_side_t *s = &e->side[e->local];
    int64_t off = fz_offset_in(s->core, field, size);

    if (!s->ready || off < s->desc_off || off >= (int64_t)s->desc_off + (int64_t)s->stride * s->n ||
        ((uint32_t)off - s->desc_off) % s->stride >= 8u) {
        /* Only what the peer writes at run time: its control words (wake,
         * session) and the region's instance numbers; not the directory a
         * link change looks its event word up in (written once, at init). */
        bool ctl = off >= 0 && ((off >= s->ctl_own && off < (int64_t)s->ctl_own + 8) ||
                                (off >= s->ctl_peer && off < (int64_t)s->ctl_peer + 8));
        bool rsess = off >= FZ_REGION_SESSION(0) && off < FZ_REGION_SESSION(2);
        return (ctl || rsess || !s->ready) && fz_tear_field(field, size, before, in, NULL);
    }
    uint32_t rel = ((uint32_t)off - s->desc_off) % s->stride;
    uint8_t *d = field - rel;
    if (before) {
        tear_pending = fz_u8(in);
    }
    if ((tear_pending & (before ? 1u : 2u)) == 0) {
        return false;
    }
    if (before) {
        write_desc_field(in, s, d, rel == 0 ? 0u : rel == 4 ? 1u : 2u);
    } else {
        for (unsigned f = 0; f < 3; f++) {
            write_desc_field(in, s, d, f);
        }
    }
    return true;
}

/* What the calling side loaded: its wake words, and whether it loaded a
 * descriptor's addr or len yet. */
static void observe_load(const uint8_t *field, unsigned size, uint64_t v, void *ctx)
{
    fz_engine_t *e = ctx;
    fz_side_t *s = e->cur;

    if (s == NULL || !s->ready) {
        return;
    }
    int64_t off = fz_offset_in(s->core, field, size);
    bool wake = false;
    if (s->evt && size == 4 && off == s->wake_own) {
        e->own_wake_loaded = wake = true;
    }
    if (s->evt && size == 4 && off == s->wake_peer) {
        e->peer_wake_loaded = wake = true;
        e->peer_wake_value = (uint32_t)v;
    }
    if (size == 4 && off == s->ctl_peer + 4u) {
        e->sess_loads++;
        e->sess_value = (uint32_t)v;
        wake = true;
    }
    if (size == 4 && (off == FZ_REGION_SESSION(0) || off == FZ_REGION_SESSION(1))) {
        e->rsess_loads++;
    }
    /* (a wake word a peer-written header put inside the table is not one) */
    if (!wake && off >= s->desc_off && off < (int64_t)s->desc_off + (int64_t)s->stride * s->n &&
        ((uint32_t)off - s->desc_off) % s->stride < 6u) {
        e->addr_len_loaded = true;
    }
}

/* End of the directory entries a lookup may read now: below the count
 * (and the capacity) the header holds. */
static uint64_t dir_limit(void)
{
    uint32_t count = fz_raw_get(fz_shm.view[0] + 12, 4), cap = fz_raw_get(fz_shm.view[0] + 6, 2);
    return FZ_HDR_BYTES + 12ull * (count < cap ? count : cap);
}

/*
 * Loads of bytes the call loaded already. Allowed:
 *  - the one designed re-read: alloc / recv found the head slot not ready
 *    and looks at its flags once more (after arming its wake word on an
 *    event-index queue), before it loads any addr or len: the outcome
 *    rests on the second load alone, and addr / len are read after it;
 *  - a wake word that a peer-written header placed over bytes the call
 *    loaded already (its value is never a check on another load), once.
 */
static bool reload_ok(const uint8_t *field, unsigned size, void *ctx)
{
    fz_engine_t *e = ctx;
    fz_side_t *s = e->cur;

    if (s == NULL || !s->ready) {
        return false;
    }
    int64_t off = fz_offset_in(s->core, field, size);
    if (s->evt && size == 4 &&
        ((off == s->wake_own && !e->own_wake_loaded) || (off == s->wake_peer && !e->peer_wake_loaded))) {
        return true;
    }
    /* Session words: the claim's look, the slow path's and the link
     * check's acquire (see the README: at most three loads, and a second
     * or third only on the way to the link check). */
    if (size == 4 && off == s->ctl_peer + 4u) {
        return e->sess_loads < 3;
    }
    if (size == 4 && (off == FZ_REGION_SESSION(0) || off == FZ_REGION_SESSION(1))) {
        return e->rsess_loads < 4;
    }
    /* A link change looks the event word up (once per change, two changes
     * at most): the region header and directory again. */
    if (link_checked(e) && off >= 0 && (uint64_t)off + size <= dir_limit() &&
        (off < s->desc_off || off >= (int64_t)s->desc_off + (int64_t)s->stride * s->n)) {
        return true;
    }
    /* A ring reset (main core) loads every slot's flags after the claim
     * loaded its head's, and the claim after it loads slot 0's again. */
    /* (and a claim may look at its head's flags once more after the check) */
    if (link_checked(e) && size == 2 && e->reloads < 3 && off >= s->desc_off &&
        off < (int64_t)s->desc_off + (int64_t)s->stride * s->n && ((uint32_t)off - s->desc_off) % s->stride == 6u) {
        e->reloads++;
        return true;
    }
    if (e->addr_len_loaded || e->reloads > 0 || size != 2 || off < s->desc_off ||
        off >= (int64_t)s->desc_off + (int64_t)s->stride * s->n || ((uint32_t)off - s->desc_off) % s->stride != 6u) {
        return false;
    }
    e->reloads++;
    return true;
}

/* Poisoned loads: only a link change's event-word lookup, after the link
 * check (the peer's session word loaded twice), may read the directory:
 * the entries below the count the header holds. */
static bool poison_ok(const uint8_t *field, unsigned size, void *ctx)
{
    fz_engine_t *e = ctx;
    fz_side_t *s = e->cur;

    if (s == NULL || !s->ready || !link_checked(e)) {
        return false;
    }
    int64_t off = fz_offset_in(s->core, field, size);
    return off >= FZ_HDR_BYTES && (uint64_t)off + size <= dir_limit();
}

/* ----------------------------------------------------- call wrapping */

static void begin(fz_engine_t *e, fz_side_t *s, bool local)
{
    fz_as_core(s->core);
    if (e->snap) {
        fz_snapshot(snap_before);
    }
    e->cur = s;
    e->own_wake_loaded = e->peer_wake_loaded = e->addr_len_loaded = false;
    e->peer_wake_value = 0;
    e->reloads = 0;
    e->sess_loads = e->rsess_loads = 0;
    e->sess_value = 0;
    e->link_before = s->q.link;
    e->resets_before = s->q.n_resets;
    e->lost_before = s->q.n_lost;
    fz_call_begin(local && e->tear ? e->in : NULL, &e->hooks);
}

/* What end() saw a data-path call do. */
typedef struct {
    bool tore;
    unsigned ndesc;      /* descriptors touched */
    uint32_t first_slot; /* the first of them */
    bool wake_store;     /* stored its own wake word */
    bool linked;         /* the link state changed (a link event ran) */
    bool reset;          /* the main core reset the ring */
} fz_seen_t;

static fz_range_t snap_skip[AMPVQ_QUEUE_LEN_MAX + 8];

/* Offset a is the 4-byte word at w. */
static bool is_word(const fz_access_t *a, uint32_t w)
{
    return a->size == 4 && a->off == w;
}

/* After a ring reset: every slot back to its initial state, the peer's
 * wake word at its start, our session word the peer's. */
static void check_reset(fz_engine_t *e, fz_side_t *s, const char *what)
{
    (void)e;
    for (uint32_t i = 0; i < s->n; i++) {
        const uint8_t *d = desc_ptr(s, i);
        FZ_CHECK(fz_raw_get(d, 4) == s->buf_off + i * s->item && fz_raw_get(d + 4, 2) == 0 &&
                     fz_raw_get(d + 6, 2) == 0,
                 "%s reset the ring but slot %u holds %08x/%u/%04x", what, (unsigned)i, (unsigned)fz_raw_get(d, 4),
                 (unsigned)fz_raw_get(d + 4, 2), (unsigned)fz_raw_get(d + 6, 2));
    }
    if (s->evt) {
        /* Its own wake word only: the new instance resets its own when it
         * attaches (sub_init). */
        uint32_t w = fz_raw_get(s->view + s->wake_own, 4);
        FZ_CHECK(w == (s->master ? FZ_WAKE_NEVER : 0u), "%s reset the ring but left its wake word at %08x", what,
                 (unsigned)w);
    }
    /* Our session word acknowledges the new instance: the peer's word or
     * the region's instance number of the sub core. */
    uint32_t own = fz_raw_get(s->view + s->ctl_own + 4, 4), peer = fz_raw_get(s->view + s->ctl_peer + 4, 4);
    uint32_t inst = fz_raw_get(s->view + FZ_REGION_SESSION(AMPVQ_CORE_SUB), 4);
    FZ_CHECK(own == peer || own == inst, "%s reset the ring but wrote %08x (peer's word %08x, instance %08x)", what,
             (unsigned)own, (unsigned)peer, (unsigned)inst);
}

/* Checks on what a data-path call did to shared memory. `kind`: K_NONE
 * (nothing), K_TAKE (alloc / recv: loads), K_GIVE (send / free: stores);
 * `nmax`: most descriptors it may touch; `rc`: its result. */
static fz_seen_t end(fz_engine_t *e, fz_side_t *s, const char *what, int kind, unsigned nmax, int rc)
{
    fz_call_stats_t st;
    fz_seen_t r = {0};

    fz_call_end(&st);
    e->cur = NULL;
    r.tore = st.tore;
    if (st.tore) {
        e->tainted = true;
    }
    r.reset = s->q.n_resets != e->resets_before;
    r.linked = s->q.link != e->link_before || r.reset;
    /* A bind (the main core storing its session word) is a link change even
     * when the state reads UP before and after (link_event() runs). */
    for (unsigned i = 0; s->ready && kind == K_TAKE && i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
        r.linked |= st.log[i].store && is_word(&st.log[i], s->ctl_own + 4u);
    }
    if (fz_trace()) {
        fprintf(stderr, "%s on core %d: %s, link %u -> %u, %u accesses:", what, s->core, fz_code_name(rc),
                (unsigned)e->link_before, (unsigned)s->q.link, st.nlog);
        for (unsigned i = 0; i < st.nlog && i < 64; i++) {
            fprintf(stderr, " %c%u/%u", st.log[i].store ? 'S' : 'L', (unsigned)st.log[i].off, (unsigned)st.log[i].size);
        }
        fprintf(stderr, "\n");
    }
    FZ_CHECK(st.nlog <= FZ_MAX_ACCESS_LOG, "%s made %u shared accesses", what, st.nlog);
    if (kind == K_NONE) {
        FZ_CHECK(st.nlog == 0, "%s accessed shared memory (%u loads, %u stores)", what, st.reads, st.writes);
    }
    if (kind == K_PEEK) {
        /* stats: at most a look at the session words (link_up) */
        for (unsigned i = 0; i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
            const fz_access_t *a = &st.log[i];
            FZ_CHECK(!a->store && (is_word(a, s->ctl_peer + 4u) || is_word(a, s->ctl_own + 4u) ||
                                   is_word(a, FZ_REGION_SESSION(0)) || is_word(a, FZ_REGION_SESSION(1))),
                     "%s %s %u bytes at region offset %u: not a session word", what, a->store ? "stored" : "loaded",
                     (unsigned)a->size, (unsigned)a->off);
        }
        FZ_CHECK(st.nlog <= 2, "%s made %u shared accesses", what, st.nlog);
        return r;
    }
    FZ_CHECK(kind == K_TAKE || !r.linked, "%s changed the link state", what);
    FZ_CHECK(!r.reset || s->core == AMPVQ_CORE_MAIN, "%s: the sub core reset the ring", what);
    FZ_CHECK(!r.linked || link_checked(e), "%s changed the link state without a link check", what);
    bool failed_early = rc != ESP_OK && rc != ESP_ERR_NOT_FOUND && rc != ESP_ERR_INVALID_RESPONSE &&
                        rc != ESP_ERR_TIMEOUT && !(rc == ESP_ERR_INVALID_STATE && r.linked);
    FZ_CHECK(!failed_early || st.nlog == 0, "%s failed (%s) but accessed shared memory", what, fz_code_name(rc));
    unsigned dloads = 0, dstores = 0, own_loads = 0, own_stores = 0, peer_loads = 0, peer_stores = 0;
    unsigned sess_stores = 0, sess_loads = 0;
    int64_t prev = -1;
    for (unsigned i = 0; i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
        fz_access_t a = st.log[i];
        if (s->ready && s->evt && a.size == 4) {
            if (kind == K_TAKE && a.off == s->wake_own) {
                a.store ? own_stores++ : own_loads++;
                continue;
            }
            if (kind == K_GIVE && a.off == s->wake_peer && !a.store) {
                peer_loads++;
                continue;
            }
            if (kind == K_TAKE && a.off == s->wake_peer && a.store) {
                peer_stores++;
                continue;
            }
        }
        if (s->ready && kind == K_TAKE) {
            if (is_word(&a, s->ctl_peer + 4u) && !a.store) {
                sess_loads++;
                continue;
            }
            if (is_word(&a, s->ctl_own + 4u) && a.store) {
                sess_stores++;
                continue;
            }
            if ((is_word(&a, FZ_REGION_SESSION(0)) || is_word(&a, FZ_REGION_SESSION(1))) && !a.store) {
                continue; /* bounded by reload_ok() */
            }
            if (r.linked && !a.store && (a.off < FZ_HDR_BYTES || a.off + a.size <= dir_limit()) &&
                (a.off < s->desc_off || a.off >= s->desc_off + s->stride * s->n)) {
                continue; /* the event word's lookup (poison_ok() / reload_ok() bound it) */
            }
        }
        FZ_CHECK(s->ready && a.off >= s->desc_off && a.off < s->desc_off + s->stride * s->n,
                 "%s %s %u bytes at region offset %u: not its descriptors [%u, +%u x %u), control or wake words", what,
                 a.store ? "stored" : "loaded", (unsigned)a.size, (unsigned)a.off, (unsigned)s->desc_off,
                 (unsigned)s->n, (unsigned)s->stride);
        uint32_t rel = a.off - s->desc_off, slot = rel / s->stride, f = rel % s->stride;
        FZ_CHECK((f == 0 && a.size == 4) || (f == 4 && a.size == 2) || (f == 6 && a.size == 2),
                 "%s accessed %u bytes at byte %u of descriptor %u: not addr, len or flags", what, (unsigned)a.size,
                 (unsigned)f, (unsigned)slot);
        a.store ? dstores++ : dloads++;
        if (r.reset) {
            FZ_CHECK(!a.store || f == 6, "%s stored %u bytes at byte %u of descriptor %u in a reset", what,
                     (unsigned)a.size, (unsigned)f, (unsigned)slot);
            continue; /* a reset walks the whole table: checked by its result */
        }
        if (prev != (int64_t)slot) {
            if (r.ndesc == 0) {
                r.first_slot = slot;
            } else {
                /* take walks forward from its head; a batch give stores
                 * its last slot first, the head slot last */
                uint32_t want = kind == K_GIVE ? ((uint32_t)prev - 1u) & (s->n - 1u) : ((uint32_t)prev + 1u) & (s->n - 1u);
                FZ_CHECK(slot == want, "%s went from descriptor %u to %u (not the next in order)", what,
                         (unsigned)prev, (unsigned)slot);
            }
            r.ndesc++;
            prev = slot;
        }
    }
    FZ_CHECK(r.reset || r.ndesc <= nmax, "%s touched %u descriptors (at most %u)", what, r.ndesc, nmax);
    FZ_CHECK(sess_loads <= 3, "%s loaded the peer's session word %u times", what, sess_loads);
    /* Our session word: written by the main core when it binds the ring to
     * the peer's session (after a reset or not), never otherwise. */
    FZ_CHECK(sess_stores <= 1 && (sess_stores == 0 || (r.linked && s->core == AMPVQ_CORE_MAIN)),
             "%s stored its session word %u times (link %u -> %u)", what, sess_stores, (unsigned)e->link_before,
             (unsigned)s->q.link);
    FZ_CHECK(r.reset || peer_stores == 0, "%s stored the peer's wake word", what);
    if (kind == K_TAKE) {
        FZ_CHECK(r.reset || dstores == 0, "%s stored to a descriptor", what);
        FZ_CHECK(r.reset || (own_loads <= 1 && own_stores <= 1 && own_stores <= own_loads),
                 "%s loaded its wake word %u times and stored it %u times", what, own_loads, own_stores);
        FZ_CHECK(r.reset || dloads <= 3u * r.ndesc + e->reloads, "%s loaded %u descriptor fields from %u descriptors",
                 what, dloads, r.ndesc);
        if (r.reset) {
            FZ_CHECK(dstores == s->n && own_stores <= 2 && peer_stores <= 1 && dloads <= s->n + 6u,
                     "%s reset the ring with %u flags stores, %u descriptor loads, %u / %u wake stores for %u slots",
                     what, dstores, dloads, own_stores, peer_stores, (unsigned)s->n);
        }
    } else if (kind == K_GIVE) {
        FZ_CHECK(dloads == 0, "%s loaded a descriptor field", what);
        FZ_CHECK(peer_loads <= 1, "%s loaded the peer's wake word %u times", what, peer_loads);
        FZ_CHECK(rc != ESP_OK || dstores == r.ndesc, "%s made %u descriptor stores to %u descriptors", what, dstores,
                 r.ndesc);
    }
    r.wake_store = own_stores > 0;
    for (unsigned i = 0; i < st.ncache; i++) {
        int64_t lo = st.cache[i].off, hi = lo + (int64_t)st.cache[i].len;
        bool in_desc = lo >= s->desc_off && hi <= (int64_t)s->desc_off + (int64_t)s->stride * s->n;
        bool in_buf = lo >= s->buf_off && hi <= (int64_t)s->buf_off + (int64_t)s->n * s->item;
        bool in_ctl = (lo >= s->ctl_own && hi <= (int64_t)s->ctl_own + 8) ||
                      (lo >= s->ctl_peer && hi <= (int64_t)s->ctl_peer + 8);
        FZ_CHECK(in_desc || in_buf || in_ctl, "%s: cache maintenance of [%lld, %lld) is outside the queue's areas", what,
                 (long long)lo, (long long)hi);
    }
    if (e->snap) {
        unsigned nskip = 0;
        if (r.wake_store || r.reset) {
            snap_skip[nskip++] = (fz_range_t){s->wake_own, s->wake_own + 4u};
        }
        if (r.reset) {
            snap_skip[nskip++] = (fz_range_t){s->wake_peer, s->wake_peer + 4u};
            for (uint32_t k = 0; k < s->n; k++) {
                uint32_t lo = s->desc_off + k * s->stride;
                snap_skip[nskip++] = (fz_range_t){lo, lo + 8u};
            }
        }
        if (sess_stores > 0) {
            snap_skip[nskip++] = (fz_range_t){s->ctl_own + 4u, s->ctl_own + 8u};
        }
        for (int k = 0; r.linked && k < 2; k++) {
            if (e->ev_ok[k]) {
                snap_skip[nskip++] = (fz_range_t){e->ev_off[k], e->ev_off[k] + 4u};
            }
        }
        if (kind == K_GIVE && dstores > 0) {
            /* The stored descriptors, whole (addr and len are plain stores). */
            for (unsigned k = 0; k < r.ndesc && nskip < BATCH_MAX + 8; k++) {
                uint32_t lo = s->desc_off + ((r.first_slot - k) & (s->n - 1u)) * s->stride;
                snap_skip[nskip++] = (fz_range_t){lo, lo + 8u};
            }
        }
        int64_t d = fz_snapshot_diff(snap_before, snap_skip, nskip);
        FZ_CHECK(d < 0, "%s changed region byte %lld outside what it published", what, (long long)d);
    }
    if (r.reset) {
        /* Reset only after the peer restarted or scribbled its word. */
        FZ_CHECK(e->tainted, "%s reset the ring while the peer behaved", what);
        FZ_CHECK(s->outstanding == 0, "%s reset the ring while the application held %u buffers", what,
                 (unsigned)s->outstanding);
        uint32_t lost = s->q.n_lost - e->lost_before;
        FZ_CHECK(s->q.n_resets - e->resets_before == 1 && lost <= s->n, "%s: %u resets, %u lost of %u slots", what,
                 (unsigned)(s->q.n_resets - e->resets_before), (unsigned)lost, (unsigned)s->n);
        if (e->snap) {
            uint32_t want = 0;
            for (uint32_t k = 0; k < s->n; k++) {
                uint16_t f = (uint16_t)(snap_before[s->desc_off + k * s->stride + 6] |
                                        snap_before[s->desc_off + k * s->stride + 7] << 8) & F_BOTH;
                want += f == F_AVAIL || f == AMPVQ_DESC_F_USED;
            }
            FZ_CHECK(lost == want, "%s reset the ring counting %u lost; %u slots were in flight", what,
                     (unsigned)lost, (unsigned)want);
        }
        if (!st.tore && !e->race) {
            check_reset(e, s, what);
        }
        s->resets++;
        s->lost += lost;
        s->taken = s->given = s->peer_err = 0;
        s->nheld = 0;
        s->waiting = false;
    }
    return r;
}

static void check_handed_out(fz_side_t *s, const void *buf, const char *what)
{
    FZ_CHECK(slot_of(s, buf) >= 0, "%s handed out %p: not the start of a buffer of the queue's area %p + %u x %u bytes",
             what, buf, (void *)(s->view + s->buf_off), (unsigned)s->n, (unsigned)s->item);
    FZ_CHECK(fz_offset_in(s->core, buf, s->item) >= 0, "%s handed out %p: not inside the shared block", what, buf);
}

/* After a take: NOT_FOUND with room to hold more means the call armed its
 * wake word (event index): check the value (while the model is exact) and
 * remember that the peer owes a notification. */
static void after_take(fz_engine_t *e, fz_side_t *s, const char *what, int rc, unsigned count)
{
    if (rc == ESP_OK) {
        s->waiting = false;
        s->taken += count;
        return;
    }
    if (rc == ESP_ERR_INVALID_RESPONSE) {
        s->peer_err++;
        return;
    }
    if (rc != ESP_ERR_NOT_FOUND) {
        return;
    }
    if (s->master) {
        s->full++;
    }
    if (!e->tainted && s->evt && s->outstanding < s->n) {
        /* Untainted: head == taken. The master waits for the remote's free
         * of the same slot one lap earlier. */
        uint32_t want = s->master ? s->taken - s->n : s->taken;
        uint32_t got = fz_raw_get(s->view + s->wake_own, 4);
        FZ_CHECK(got == want, "%s found nothing and left its wake word at %u, not %u", what, (unsigned)got,
                 (unsigned)want);
        s->waiting = true;
    }
}

/* After a successful give of slots [tail, tail + n): the notify function
 * ran as the peer's wake word asked, and the descriptors say what was
 * published. `flip`: AVAIL (send) or both bits (free). */
static void after_give(fz_engine_t *e, fz_side_t *s, const char *what, const fz_seen_t *seen, uint32_t tail,
                       unsigned n, uint64_t calls_before, uint16_t flip)
{
    bool has_fn = s->master ? s->has_cb : s->free_notify;
    uint64_t calls = (s->master ? s->cb_calls : s->fn_calls) - calls_before;
    fz_side_t *p = other_of(e, s);

    FZ_CHECK(e->peer_wake_loaded == (has_fn && s->evt), "%s: %s the peer's wake word", what,
             e->peer_wake_loaded ? "loaded" : "did not load");
    bool want = has_fn && (!s->evt || need_event(e->peer_wake_value, tail, tail + n));
    FZ_CHECK(calls == (want ? 1u : 0u), "%s ran the notify function %llu times (expected %u; wake word %u, slots %u+%u)",
             what, (unsigned long long)calls, want ? 1u : 0u, (unsigned)e->peer_wake_value, (unsigned)tail, n);
    if (!e->tainted && p->waiting && has_fn) {
        FZ_CHECK(want, "%s: lost wake-up (the peer armed its wake word for this slot, no notification)", what);
    }
    if (!e->tainted) {
        p->waiting = false;
    }
    FZ_CHECK(seen->ndesc == n, "%s published %u descriptors for %u buffers", what, seen->ndesc, n);
    if (n > 0) {
        FZ_CHECK(seen->first_slot == ((tail + n - 1u) & (s->n - 1u)), "%s published slot %u first, not %u", what,
                 (unsigned)seen->first_slot, (unsigned)((tail + n - 1u) & (s->n - 1u)));
    }
    if (e->race || seen->tore) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *d = desc_ptr(s, tail + i);
        uint32_t addr = s->buf_off + (uint32_t)slot_of(s, bufv[i]) * s->item;
        uint16_t len = flip == F_AVAIL ? sizev[i] : 0u;
        uint16_t flags = lap_flags(s, tail + i, flip);
        FZ_CHECK(fz_raw_get(d, 4) == addr && fz_raw_get(d + 4, 2) == len && fz_raw_get(d + 6, 2) == flags,
                 "%s: descriptor of slot %u holds %08x/%u/%04x, expected %08x/%u/%04x", what,
                 (unsigned)((tail + i) & (s->n - 1u)), (unsigned)fz_raw_get(d, 4), (unsigned)fz_raw_get(d + 4, 2),
                 (unsigned)fz_raw_get(d + 6, 2), (unsigned)addr, (unsigned)len, (unsigned)flags);
    }
}

/* Expected role / state errors of a call on side s. */
static uint32_t role_err(const fz_side_t *s, bool want_master)
{
    if (!s->ready || s->dead) {
        return FZ_C_INVALID_STATE;
    }
    return s->master == want_master ? 0u : FZ_C_NOT_SUPPORTED;
}

/* One call whose outcome the caller's own state fixes. */
static void expect_plain(const char *what, int rc, uint32_t doc, uint32_t allowed)
{
    fz_expect(what, rc, doc);
    fz_expect(what, rc, allowed);
}

/* What a claim may return once the peer misbehaved: a sub-core handle may
 * also be closed by its link check. */
static uint32_t take_codes(const fz_side_t *s)
{
    return FZ_C_OK | FZ_C_NOT_FOUND | FZ_C_INVALID_RESPONSE | (s->core == AMPVQ_CORE_SUB ? FZ_C_INVALID_STATE : 0u);
}

/* After a single claim (the calls that run the link check): the notify
 * function ran only as a sub-core master's prompt while it waits for the
 * main core's reset, the link callback ran once per link change, and a
 * handle the link check closed is a sub-core one, with its tag cleared. */
static void after_link(fz_engine_t *e, fz_side_t *s, const char *what, int rc, const fz_seen_t *seen,
                       uint64_t cb_before, uint64_t fn_before, uint64_t link_before)
{
    uint64_t prompts = s->cb_calls - cb_before;
    FZ_CHECK(s->fn_calls == fn_before, "%s ran the free-notify function", what);
    FZ_CHECK(prompts == 0 || (s->master && s->core == AMPVQ_CORE_SUB && prompts == 1 && rc == ESP_ERR_NOT_FOUND &&
                              link_checked(e)),
             "%s ran the notify function %llu times without publishing (%s)", what, (unsigned long long)prompts,
             fz_code_name(rc));
    s->prompts += prompts;
    uint64_t lc = s->link_calls - link_before;
    FZ_CHECK(lc <= 2 && (lc == 0 || seen->linked), "%s ran the link callback %llu times (link %u -> %u)", what,
             (unsigned long long)lc, (unsigned)e->link_before, (unsigned)s->q.link);
    /* Told of every change into or out of UP. */
    FZ_CHECK(!s->link_cb || (e->link_before == 1u) == (s->q.link == 1u) || lc > 0,
             "%s changed the link state (%u -> %u) without telling", what, (unsigned)e->link_before,
             (unsigned)s->q.link);
    if (lc > 0) {
        FZ_CHECK(s->link_last_up == (s->q.link == 1u), "%s told link %s, but the handle's link is %u", what,
                 s->link_last_up ? "up" : "down", (unsigned)s->q.link);
    }
    if (rc == ESP_ERR_INVALID_STATE && s->ready && !s->dead) {
        FZ_CHECK(seen->linked && s->core == AMPVQ_CORE_SUB && s->q.tag == 0,
                 "%s returned INVALID_STATE on an open handle (core %d, tag %08x)", what, s->core, (unsigned)s->q.tag);
        FZ_CHECK(e->tainted, "%s closed the handle while the peer behaved", what);
        s->dead = true;
    }
    FZ_CHECK(!(seen->linked && s->core == AMPVQ_CORE_MAIN && !e->tainted && s->q.link != 1u),
             "%s: the link is not up after binding a well-behaved peer", what);
}

/* --------------------------------------------------------- operations */

/* Model bookkeeping for a buffer the application got from a take. */
static void took(fz_engine_t *e, fz_side_t *s, const char *what, void *buf, uint16_t len)
{
    check_handed_out(s, buf, what);
    uint32_t slot = (uint32_t)slot_of(s, buf);
    uint32_t seq = 0;
    if (s->master) {
        if (!e->tainted) {
            FZ_CHECK(slot_state[slot] == SLOT_FREE, "%s handed out slot %u, which is in use (%u)", what,
                     (unsigned)slot, slot_state[slot]);
            slot_state[slot] = SLOT_MASTER;
        }
    } else {
        FZ_CHECK(len <= s->item, "%s handed out a length of %u, above the item size %u", what, (unsigned)len,
                 (unsigned)s->item);
        uint8_t *p = buf;
        if (!e->tainted) {
            FZ_CHECK(e->fifo_count > 0, "%s received a buffer nobody sent", what);
            fz_buf_t want = fifo_store[e->fifo_head];
            FZ_CHECK(slot == want.slot && len == want.len,
                     "%s returned slot %u (%u bytes); the next sent was slot %u (%u bytes)", what, (unsigned)slot,
                     (unsigned)len, (unsigned)want.slot, (unsigned)want.len);
            FZ_CHECK(fz_raw_get(p, 4) == want.seq && (s->item < 8 || fz_raw_get(p + s->item - 4, 4) == ~want.seq),
                     "%s: contents of message %u changed in flight", what, (unsigned)want.seq);
            e->fifo_head = (e->fifo_head + 1) % AMPVQ_QUEUE_LEN_MAX;
            e->fifo_count--;
            slot_state[slot] = SLOT_REMOTE;
            seq = want.seq;
        }
        /* The application reads what it was given. */
        static uint8_t sink[AMPVQ_QUEUE_ITEM_SIZE_MAX + 4u];
        fz_raw_read(sink, p, len);
    }
    s->outstanding++;
    held_push(s, slot, len, seq);
}

/* Model bookkeeping for buffers [0, n) of bufv given back successfully. */
static void gave(fz_engine_t *e, fz_side_t *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int64_t slot = slot_of(s, bufv[i]);
        int64_t idx = slot >= 0 ? held_find(s, (uint32_t)slot) : -1;
        if (idx < 0) {
            e->tainted = true; /* gave a buffer the application did not hold */
            continue;
        }
        held_remove(s, (uint32_t)idx);
        if (e->tainted) {
            continue;
        }
        if (s->master) {
            fifo_store[(e->fifo_head + e->fifo_count) % AMPVQ_QUEUE_LEN_MAX] =
                (fz_buf_t){.slot = (uint32_t)slot, .len = sizev[i], .seq = seqv[i]};
            e->fifo_count++;
            slot_state[slot] = SLOT_SENT;
        } else {
            slot_state[slot] = SLOT_FREE;
        }
    }
    s->outstanding -= n;
    s->given += n;
}

/* The application fills a buffer it is about to send: a sequence number at
 * both ends (one copy when the item is only 4 bytes). */
static void fill(const fz_side_t *s, void *buf, uint32_t seq)
{
    uint8_t *p = buf;
    fz_raw_put(p + s->item - 4, 4, ~seq);
    fz_raw_put(p, 4, seq);
}

/* A blocking call with time-out 0 tries once: NOT_FOUND becomes TIMEOUT,
 * which the try call never returns. Back to the try call's code. */
static int unblock(const char *what, int rc, bool blocking)
{
    FZ_CHECK(blocking ? rc != ESP_ERR_NOT_FOUND : rc != ESP_ERR_TIMEOUT, "%s returned %s", what, fz_code_name(rc));
    return rc == ESP_ERR_TIMEOUT ? ESP_ERR_NOT_FOUND : rc;
}

static void op_alloc_ex(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size, bool blocking)
{
    const char *what = blocking ? "esp_amp_queue_alloc(timeout 0)" : "esp_amp_queue_alloc_try";
    uint32_t err = role_err(s, true);
    void *buf = NULL;

    if (err == 0) {
        err |= size > s->item ? FZ_C_NO_MEM : 0u;
        err |= s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u;
    }
    uint32_t free_before = e->tainted ? 0 : model_free(e);
    uint64_t cb = s->cb_calls, fn = s->fn_calls, lc = s->link_calls;
    begin(e, s, local);
    int rc = blocking ? esp_amp_queue_alloc(&s->q, &buf, size, 0) : esp_amp_queue_alloc_try(&s->q, &buf, size);
    fz_seen_t seen = end(e, s, what, K_TAKE, 1, rc);
    fz_expect(what, rc, FZ_DOC_ALLOC | (blocking ? FZ_C_TIMEOUT : 0u));
    rc = unblock(what, rc, blocking);
    after_link(e, s, what, rc, &seen, cb, fn, lc);
    if (err != 0) {
        fz_expect("esp_amp_queue_alloc_try (caller's state)", rc, err);
    } else if (!e->tainted) {
        fz_expect("esp_amp_queue_alloc_try (well-behaved peer)", rc, free_before > 0 ? FZ_C_OK : FZ_C_NOT_FOUND);
    } else {
        fz_expect("esp_amp_queue_alloc_try", rc, take_codes(s));
    }
    if (s->ready && s->master) {
        after_take(e, s, what, rc, 1);
    }
    if (rc == ESP_OK) {
        took(e, s, what, buf, 0);
    }
}

static void op_alloc(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    op_alloc_ex(e, s, local, size, false);
}

/* The buffer a send / free passes: one the application holds, else (the
 * caller's mistake) slot 0 or a private address. */
static uint8_t *pick_held(const fz_side_t *s, uint8_t k)
{
    if (s->ready && s->nheld > 0) {
        return slot_ptr(s, s->held[k % s->nheld].slot);
    }
    return s->ready ? slot_ptr(s, 0) : not_shared;
}

static void op_give(fz_engine_t *e, fz_side_t *s, bool local, uint8_t *ptr, uint16_t size, const char *what)
{
    bool master = s->master;
    uint32_t err = role_err(s, master);
    bool valid = slot_of(s, ptr) >= 0;

    if (err == 0) {
        if (master && size > s->item) {
            err |= FZ_C_NO_MEM | (ptr == NULL ? FZ_C_INVALID_ARG : 0u);
        }
        err |= valid ? 0u : FZ_C_INVALID_ARG;
        err |= s->outstanding == 0 ? FZ_C_NOT_ALLOWED : 0u;
    }
    bufv[0] = ptr;
    sizev[0] = master ? size : 0u;
    seqv[0] = e->next_seq;
    if (err == 0 && master) {
        fill(s, ptr, seqv[0]);
    }
    uint64_t calls_before = master ? s->cb_calls : s->fn_calls;
    uint32_t tail = s->given;
    begin(e, s, local);
    int rc = master ? esp_amp_queue_send_try(&s->q, ptr, size) : esp_amp_queue_free_try(&s->q, ptr);
    fz_seen_t seen = end(e, s, what, K_GIVE, 1, rc);
    fz_expect(what, rc, master ? FZ_DOC_SEND : FZ_DOC_FREE);
    /* A send / free depends on nothing the peer writes. */
    fz_expect(what, rc, err != 0 ? err : FZ_C_OK);
    if (rc != ESP_OK) {
        FZ_CHECK((master ? s->cb_calls : s->fn_calls) == calls_before, "%s failed but ran the notify function", what);
        return;
    }
    after_give(e, s, what, &seen, tail, 1, calls_before, master ? F_AVAIL : F_BOTH);
    if (master) {
        e->next_seq++;
    }
    gave(e, s, 1);
}

static void op_recv_ex(fz_engine_t *e, fz_side_t *s, bool local, bool blocking)
{
    const char *what = blocking ? "esp_amp_queue_recv(timeout 0)" : "esp_amp_queue_recv_try";
    uint32_t err = role_err(s, false);
    void *buf = NULL;
    uint16_t len = 0;

    if (err == 0) {
        err |= s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u;
    }
    uint32_t pending = e->tainted ? 0 : e->fifo_count;
    uint64_t cb = s->cb_calls, fn = s->fn_calls, lc = s->link_calls;
    begin(e, s, local);
    int rc = blocking ? esp_amp_queue_recv(&s->q, &buf, &len, 0) : esp_amp_queue_recv_try(&s->q, &buf, &len);
    fz_seen_t seen = end(e, s, what, K_TAKE, 1, rc);
    fz_expect(what, rc, FZ_DOC_RECV | (blocking ? FZ_C_TIMEOUT : 0u));
    rc = unblock(what, rc, blocking);
    after_link(e, s, what, rc, &seen, cb, fn, lc);
    if (err != 0) {
        fz_expect("esp_amp_queue_recv_try (caller's state)", rc, err);
    } else if (!e->tainted) {
        fz_expect("esp_amp_queue_recv_try (well-behaved peer)", rc, pending > 0 ? FZ_C_OK : FZ_C_NOT_FOUND);
    } else {
        fz_expect("esp_amp_queue_recv_try", rc, take_codes(s));
    }
    if (s->ready && !s->master) {
        after_take(e, s, what, rc, 1);
    }
    if (rc == ESP_OK) {
        took(e, s, what, buf, len);
    }
}

static void op_recv(fz_engine_t *e, fz_side_t *s, bool local)
{
    op_recv_ex(e, s, local, false);
}

static void op_primary(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    if (s->master) {
        op_alloc(e, s, local, size);
    } else {
        op_recv(e, s, local);
    }
}

/* The blocking forms with time-out 0 (they must try once, never sleep). */
static void op_blocking(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    if (s->master) {
        op_alloc_ex(e, s, local, size, true);
    } else {
        op_recv_ex(e, s, local, true);
    }
}

static void op_secondary(fz_engine_t *e, fz_side_t *s, bool local, uint8_t k, uint16_t size)
{
    op_give(e, s, local, pick_held(s, k), size, s->master ? "esp_amp_queue_send_try" : "esp_amp_queue_free_try");
}

/* ---------------------------------------------------------- batches */

/* A batch count: mostly small, sometimes up to 254, 0 now and then. */
static uint16_t batch_count(fz_in_t *in)
{
    uint8_t b = fz_u8(in);
    return (b & 0x80u) ? (uint16_t)((b & 0x7fu) * 2u) : (uint16_t)(b & 0x0fu);
}

/* alloc_n (master) / recv_n (remote). `bad`: bit 0..2 pass NULL for the
 * buffers, sizes (recv_n) or count array. */
static void op_take_n(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size, uint16_t max, uint8_t bad)
{
    bool master = s->master;
    const char *what = master ? "esp_amp_queue_alloc_n" : "esp_amp_queue_recv_n";
    uint32_t err = role_err(s, master);
    uint16_t count = 0xbeef;
    bool null_bufs = bad & 1u, null_sizes = !master && (bad & 2u), null_count = bad & 4u;

    if (err == 0) {
        err |= null_bufs || null_sizes || null_count || max == 0 ? FZ_C_INVALID_ARG : 0u;
        err |= master && size > s->item ? FZ_C_NO_MEM : 0u;
        err |= s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u;
    }
    uint32_t avail = e->tainted ? 0 : master ? model_free(e) : e->fifo_count;
    uint32_t want = avail < max ? avail : max;
    uint64_t cb = s->cb_calls, fn = s->fn_calls, lc = s->link_calls;
    begin(e, s, local);
    int rc = master ? esp_amp_queue_alloc_n(&s->q, null_bufs ? NULL : bufv, size, max, null_count ? NULL : &count)
                    : esp_amp_queue_recv_n(&s->q, null_bufs ? NULL : bufv, null_sizes ? NULL : sizev, max,
                                           null_count ? NULL : &count);
    fz_seen_t seen = end(e, s, what, K_TAKE, max, rc);
    fz_expect(what, rc, master ? FZ_DOC_ALLOC : FZ_DOC_RECV);
    after_link(e, s, what, rc, &seen, cb, fn, lc);
    if (err != 0) {
        fz_expect(what, rc, err);
    } else if (!e->tainted) {
        fz_expect(what, rc, want > 0 ? FZ_C_OK : FZ_C_NOT_FOUND);
    } else {
        fz_expect(what, rc, take_codes(s));
    }
    if (rc == ESP_OK) {
        FZ_CHECK(count >= 1 && count <= max && count <= s->n - s->outstanding,
                 "%s returned OK with a count of %u (max %u, %u held of %u)", what, (unsigned)count, (unsigned)max,
                 (unsigned)s->outstanding, (unsigned)s->n);
        FZ_CHECK(e->tainted || count == want, "%s took %u buffers; %u were there and %u asked for", what,
                 (unsigned)count, (unsigned)avail, (unsigned)max);
        FZ_CHECK(seen.ndesc <= count + 1u, "%s touched %u descriptors for %u buffers", what, seen.ndesc,
                 (unsigned)count);
    } else if (rc == ESP_ERR_NOT_FOUND || rc == ESP_ERR_INVALID_RESPONSE) {
        FZ_CHECK(count == 0, "%s failed (%s) with a count of %u", what, fz_code_name(rc), (unsigned)count);
    }
    if (s->ready && s->master == master && rc != ESP_ERR_INVALID_ARG && rc != ESP_ERR_NO_MEM) {
        after_take(e, s, what, rc, rc == ESP_OK ? count : 0u);
    }
    for (unsigned i = 0; rc == ESP_OK && i < count; i++) {
        took(e, s, what, bufv[i], master ? 0u : sizev[i]);
    }
}

/* send_n (master) / free_n (remote) of `n` buffers: the ones held, in an
 * order from the input, then (the caller's mistake) slots not held;
 * `mode` adds more mistakes: bit 0 one pointer not a buffer, bit 1 one size
 * above the item size, bit 2 a duplicate, bit 3 a NULL array. */
static void op_give_n(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size, uint16_t n, uint8_t rot, uint8_t mode,
                      uint8_t at)
{
    bool master = s->master;
    const char *what = master ? "esp_amp_queue_send_n" : "esp_amp_queue_free_n";
    uint32_t err = role_err(s, master);

    if (!s->ready || n > BATCH_MAX) {
        n = n > BATCH_MAX ? BATCH_MAX : n;
    }
    bool any_bad_ptr = false, any_big = false;
    for (unsigned i = 0; i < n; i++) {
        if (s->ready && i < s->nheld) {
            bufv[i] = slot_ptr(s, s->held[(i + rot) % s->nheld].slot);
        } else {
            bufv[i] = s->ready ? slot_ptr(s, i % s->n) : not_shared;
        }
        sizev[i] = master ? (uint16_t)(size > s->item && !(mode & 2u) ? s->item : size) : 0u;
        seqv[i] = e->next_seq + i;
    }
    if (n > 0) {
        unsigned j = at % n;
        if (mode & 1u) {
            bufv[j] = (at & 0x80u) ? (void *)not_shared : (void *)((uint8_t *)bufv[j] + 4u);
        }
        if ((mode & 2u) && master && s->ready) {
            sizev[j] = (uint16_t)(s->item + 1u + at);
        }
        if ((mode & 4u) && n > 1) {
            bufv[(j + 1) % n] = bufv[j];
        }
    }
    for (unsigned i = 0; i < n; i++) {
        any_bad_ptr |= slot_of(s, bufv[i]) < 0;
        any_big |= master && sizev[i] > s->item;
    }
    bool null_arr = (mode & 8u) != 0;
    bool null_sizes = master && null_arr && (at & 1u);
    bool null_bufs = null_arr && !null_sizes;
    if (err == 0) {
        err |= null_bufs || null_sizes || n == 0 || any_bad_ptr ? FZ_C_INVALID_ARG : 0u;
        err |= any_big ? FZ_C_NO_MEM : 0u;
        err |= s->outstanding < n ? FZ_C_NOT_ALLOWED : 0u;
    }
    if (err == 0 && master) {
        for (unsigned i = 0; i < n; i++) {
            fill(s, bufv[i], seqv[i]);
        }
    }
    uint64_t calls_before = master ? s->cb_calls : s->fn_calls;
    uint32_t tail = s->given;
    begin(e, s, local);
    int rc = master ? esp_amp_queue_send_n(&s->q, null_bufs ? NULL : bufv, null_sizes ? NULL : sizev, n)
                    : esp_amp_queue_free_n(&s->q, null_bufs ? NULL : bufv, n);
    fz_seen_t seen = end(e, s, what, K_GIVE, n, rc);
    fz_expect(what, rc, master ? FZ_DOC_SEND : FZ_DOC_FREE);
    fz_expect(what, rc, err != 0 ? err : FZ_C_OK);
    if (rc != ESP_OK) {
        FZ_CHECK((master ? s->cb_calls : s->fn_calls) == calls_before, "%s failed but ran the notify function", what);
        return;
    }
    after_give(e, s, what, &seen, tail, n, calls_before, master ? F_AVAIL : F_BOTH);
    if (master) {
        e->next_seq += n;
    }
    gave(e, s, n);
}

static void op_batch_primary(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    uint16_t max = batch_count(e->in);
    uint8_t bad = fz_u8(e->in);
    op_take_n(e, s, local, size, max, (bad & 0xf0u) == 0xf0u ? bad : 0u);
}

static void op_batch_secondary(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    uint16_t n = batch_count(e->in);
    uint8_t rot = fz_u8(e->in);
    uint8_t mode = fz_u8(e->in);
    /* Mostly everything held, or as many as asked for. */
    if ((mode & 0x30u) == 0 && s->ready) {
        n = (uint16_t)(s->nheld < BATCH_MAX ? s->nheld : BATCH_MAX);
    }
    op_give_n(e, s, local, size, n, rot, (mode & 0xc0u) == 0xc0u ? mode : 0u, fz_u8(e->in));
}

/* Round trips in batches: wrap-arounds with few input bytes. */
static void op_burst_n(fz_engine_t *e)
{
    unsigned rounds = 1u + fz_u8(e->in) % 32u;
    uint8_t shape = fz_u8(e->in);
    fz_side_t *m = master_of(e), *r = remote_of(e);
    bool snap = e->snap;

    e->snap = false;
    for (unsigned i = 0; i < rounds; i++) {
        uint16_t max = (uint16_t)(1u + (shape + i) % 17u);
        uint16_t size = m->ready ? (uint16_t)(i % (m->item + 1u)) : 0;
        op_take_n(e, m, m == &e->side[e->local], size, max, 0);
        if (m->nheld > 0) {
            op_give_n(e, m, m == &e->side[e->local], size, (uint16_t)m->nheld, (uint8_t)i, 0, 0);
        }
        op_take_n(e, r, r == &e->side[e->local], 0, (uint16_t)(1u + (shape >> 4)), 0);
        if (r->nheld > 0) {
            uint16_t k = (uint16_t)(1u + i % r->nheld);
            op_give_n(e, r, r == &e->side[e->local], 0, k, (uint8_t)(shape + i), 0, 0);
        }
    }
    e->snap = snap;
}

/* esp_amp_queue_stats(): the model's counters. */
static void op_stats(fz_engine_t *e, fz_side_t *s)
{
    esp_amp_queue_stats_t st;

    memset(&st, 0xa5, sizeof(st));
    begin(e, s, false);
    int rc = esp_amp_queue_stats(&s->q, &st);
    end(e, s, "esp_amp_queue_stats", K_PEEK, 0, rc);
    expect_plain("esp_amp_queue_stats", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                 s->ready && !s->dead ? FZ_C_OK : FZ_C_INVALID_STATE);
    if (rc != ESP_OK) {
        return;
    }
    /* The sub-core master's prompts while it waits for a reset are calls of
     * the notify function that publish nothing: not counted. */
    uint64_t calls = (s->master ? s->cb_calls : s->fn_calls) - s->notify_base - s->prompts;
    FZ_CHECK(st.master == s->master && st.len == s->n && st.item_size == s->item,
             "esp_amp_queue_stats: role %d len %u item %u, expected %d %u %u", st.master, (unsigned)st.len,
             (unsigned)st.item_size, s->master, (unsigned)s->n, (unsigned)s->item);
    FZ_CHECK(st.held == s->outstanding, "esp_amp_queue_stats: held %u, the application holds %u", (unsigned)st.held,
             (unsigned)s->outstanding);
    FZ_CHECK(st.taken == s->taken && st.given == s->given && st.full == s->full,
             "esp_amp_queue_stats: taken %u given %u full %u, expected %u %u %u", (unsigned)st.taken,
             (unsigned)st.given, (unsigned)st.full, (unsigned)s->taken, (unsigned)s->given, (unsigned)s->full);
    FZ_CHECK(st.notify == (uint32_t)calls, "esp_amp_queue_stats: %u notifications, the function ran %llu times",
             (unsigned)st.notify, (unsigned long long)calls);
    FZ_CHECK(st.peer_errors >= s->peer_err && (e->tainted || st.peer_errors == 0),
             "esp_amp_queue_stats: %u peer errors, %u reported by calls", (unsigned)st.peer_errors,
             (unsigned)s->peer_err);
    FZ_CHECK(st.resets == s->resets && st.lost == s->lost, "esp_amp_queue_stats: %u resets, %u lost; expected %u, %u",
             (unsigned)st.resets, (unsigned)st.lost, (unsigned)s->resets, (unsigned)s->lost);
    /* Up when the handle's state is up; also allowed before the first
     * check (state none) if the peer opened fresh; never when resetting,
     * pending or closed. */
    FZ_CHECK(s->q.link == 1u ? st.link_up : (!st.link_up || s->q.link == 0u),
             "esp_amp_queue_stats: link_up %d with link state %u", st.link_up, (unsigned)s->q.link);
}

/* esp_amp_queue_set_free_notify(): install or remove the free-notify
 * function of a remote. */
static void op_free_notify(fz_engine_t *e, fz_side_t *s, bool on)
{
    begin(e, s, false);
    int rc = esp_amp_queue_set_free_notify(&s->q, on ? on_free_cb : NULL, s);
    end(e, s, "esp_amp_queue_set_free_notify", K_NONE, 0, rc);
    expect_plain("esp_amp_queue_set_free_notify", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE | FZ_C_NOT_SUPPORTED,
                 role_err(s, false) != 0 ? role_err(s, false) : FZ_C_OK);
    if (rc == ESP_OK) {
        s->free_notify = on;
    }
}

/* The peer writes descriptor bytes itself. */
static void op_raw_desc(fz_engine_t *e)
{
    fz_side_t *t = &e->side[fz_u8(e->in) & 1u];

    if (!t->ready) {
        t = &e->side[t->core ^ 1];
    }
    if (!t->ready) {
        return;
    }
    uint8_t *d = desc_ptr(t, fz_u16(e->in));
    uint8_t what = fz_u8(e->in) % 4;
    for (unsigned f = 0; f < 3; f++) {
        if (what == 3 || what == f) {
            write_desc_field(e->in, t, d, f);
        }
    }
    e->tainted = true;
}

/* The peer writes a wake word (event index): near the indices in use, a
 * value that asks for everything or nothing, or anything. */
static void op_raw_wake(fz_engine_t *e)
{
    uint8_t b = fz_u8(e->in);
    fz_side_t *t = &e->side[b & 1u];

    if (!t->ready || !t->evt) {
        t = &e->side[t->core ^ 1];
    }
    if (!t->ready || !t->evt) {
        return;
    }
    uint32_t off = (b & 2u) ? t->wake_own : t->wake_peer;
    uint32_t v;
    switch ((b >> 2) % 4) {
    case 0:
        v = t->taken + (uint32_t)(int32_t)(int8_t)fz_u8(e->in);
        break;
    case 1:
        v = t->given + (uint32_t)(int32_t)(int8_t)fz_u8(e->in) - ((b & 0x40u) ? t->n : 0u);
        break;
    case 2:
        v = (b & 0x80u) ? FZ_WAKE_NEVER : t->given;
        break;
    default:
        v = fz_u32(e->in);
        break;
    }
    fz_raw_put(fz_shm.view[0] + off, 4, v);
    e->tainted = true;
}

/* The peer writes a session word: its role's word in the queue's control
 * struct (a restart, a scribble) or one of the region's instance numbers.
 * Main-core handles then reset the ring (once the application gave back
 * what it holds), sub-core ones close or wait. */
static void op_raw_session(fz_engine_t *e)
{
    uint8_t b = fz_u8(e->in);
    fz_side_t *t = &e->side[b & 1u];
    uint32_t off;

    if ((b & 6u) == 6u) {
        off = FZ_REGION_SESSION((b >> 3) & 1u);
    } else {
        if (!t->ready) {
            t = &e->side[t->core ^ 1];
        }
        if (!t->ready) {
            return;
        }
        /* the word the other side of t writes, as t reads it */
        off = t->ctl_peer + 4u;
    }
    uint32_t cur = fz_raw_get(fz_shm.view[0] + off, 4), v;
    switch ((b >> 4) % 8) {
    case 0:
        v = 0;
        break;
    case 1:
        v = cur + 1u;
        break;
    case 2:
        v = (cur + 1u) | FZ_SESSION_FRESH;
        break;
    case 3:
        v = cur ^ FZ_SESSION_FRESH;
        break;
    case 4:
        v = fz_raw_get(fz_shm.view[0] + t->ctl_own + 4u, 4); /* what t expects, or wrote */
        break;
    case 5:
        v = fz_u8(e->in);
        break;
    default:
        v = fz_u32(e->in);
        break;
    }
    fz_raw_put(fz_shm.view[0] + off, 4, v);
    e->tainted = true;
}

/* esp_amp_queue_set_link_cb(): install or remove the link callback, and
 * the calls it must refuse. */
static void op_link_cb(fz_engine_t *e, fz_side_t *s, uint8_t how)
{
    int rc;

    switch (how % 4) {
    case 0:
        rc = esp_amp_queue_set_link_cb(NULL, on_link, s);
        expect_plain("esp_amp_queue_set_link_cb(NULL queue)", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                     FZ_C_INVALID_ARG);
        break;
    case 1: {
        static esp_amp_queue_t copy;
        copy = s->q;
        rc = esp_amp_queue_set_link_cb(&copy, on_link, s);
        expect_plain("esp_amp_queue_set_link_cb on a copied handle", rc,
                     FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE, FZ_C_INVALID_STATE);
        break;
    }
    default: {
        bool on = how % 4 == 2;
        begin(e, s, false);
        rc = esp_amp_queue_set_link_cb(&s->q, on ? on_link : NULL, s);
        end(e, s, "esp_amp_queue_set_link_cb", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_set_link_cb", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                     s->ready && !s->dead ? FZ_C_OK : FZ_C_INVALID_STATE);
        if (rc == ESP_OK) {
            s->link_cb = on;
        }
        break;
    }
    }
}

/* esp_amp_queue_dump() with a callback that counts lines: it loads (never
 * stores) each descriptor field of its own table and the two control
 * structs once, nothing else, and writes one line per slot plus a few. */
typedef struct {
    unsigned lines;
    size_t longest;
} dump_ctx_t;

static void dump_line(void *ctx, const char *line)
{
    dump_ctx_t *d = ctx;
    size_t n = strlen(line);
    d->lines++;
    d->longest = n > d->longest ? n : d->longest;
}

static void op_dump(fz_engine_t *e, fz_side_t *s, uint8_t how)
{
    dump_ctx_t d = {0};
    int rc;

    if (how & 1u) {
        rc = esp_amp_queue_dump((how & 2u) ? NULL : &s->q, (how & 2u) ? dump_line : NULL, &d);
        expect_plain("esp_amp_queue_dump(NULL)", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                     FZ_C_INVALID_ARG);
        FZ_CHECK(d.lines == 0, "esp_amp_queue_dump(NULL) wrote %u lines", d.lines);
        return;
    }
    /* The dump reads both control structs whole (wake words also without
     * the event index). */
    bool open = s->ready && !s->dead;
    if (open) {
        fz_unpoison(s->ctl_own, s->ctl_own + 8u);
        fz_unpoison(s->ctl_peer, s->ctl_peer + 8u);
    }
    begin(e, s, false);
    rc = esp_amp_queue_dump(&s->q, dump_line, &d);
    fz_call_stats_t st;
    fz_call_end(&st);
    e->cur = NULL;
    if (open) {
        if (!s->evt) {
            fz_poison(s->ctl_own, s->ctl_own + 4u);
            fz_poison(s->ctl_peer, s->ctl_peer + 4u);
        }
    }
    expect_plain("esp_amp_queue_dump", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                 open ? FZ_C_OK : FZ_C_INVALID_STATE);
    FZ_CHECK(st.writes == 0, "esp_amp_queue_dump stored to shared memory");
    if (rc != ESP_OK) {
        FZ_CHECK(st.nlog == 0 && d.lines == 0, "esp_amp_queue_dump failed but read %u fields, wrote %u lines", st.nlog,
                 d.lines);
        return;
    }
    FZ_CHECK(d.lines >= s->n && d.lines <= s->n + 16u && d.longest < 200u,
             "esp_amp_queue_dump wrote %u lines (longest %zu) for %u slots", d.lines, d.longest, (unsigned)s->n);
    unsigned dl = 0;
    for (unsigned i = 0; i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
        fz_access_t a = st.log[i];
        /* (stats' link_up may look at a session word first) */
        bool ctl = a.size == 4 && (a.off == s->ctl_own || a.off == s->ctl_own + 4u || a.off == s->ctl_peer ||
                                   a.off == s->ctl_peer + 4u || a.off == FZ_REGION_SESSION(0) ||
                                   a.off == FZ_REGION_SESSION(1));
        bool desc = a.off >= s->desc_off && a.off < s->desc_off + s->stride * s->n;
        uint32_t f = desc ? (a.off - s->desc_off) % s->stride : 0u;
        FZ_CHECK(ctl || (desc && ((f == 0 && a.size == 4) || (f == 4 && a.size == 2) || (f == 6 && a.size == 2))),
                 "esp_amp_queue_dump loaded %u bytes at region offset %u: not a descriptor field nor a control word",
                 (unsigned)a.size, (unsigned)a.off);
        dl += desc && !ctl;
    }
    FZ_CHECK(dl == 3u * s->n && st.nlog <= dl + 6u,
             "esp_amp_queue_dump loaded %u descriptor fields of %u slots, %u loads in all", dl, (unsigned)s->n,
             st.nlog);
    if (e->snap) {
        FZ_CHECK(fz_snapshot_diff(snap_before, NULL, 0) < 0, "esp_amp_queue_dump changed the region");
    }
}

/* Many legitimate round trips for one input byte: wrap-arounds of the
 * indices and counters without long inputs. */
static void op_burst(fz_engine_t *e)
{
    unsigned count = 1u + fz_u8(e->in);
    fz_side_t *m = master_of(e), *r = remote_of(e);
    bool snap = e->snap;

    /* Snapshots cost more than the calls; the hooks still check what each
     * call touched. */
    e->snap = false;
    for (unsigned i = 0; i < count; i++) {
        uint16_t size = m->ready ? (uint16_t)(i % (m->item + 1u)) : 0;
        op_alloc(e, m, m == &e->side[e->local], size);
        if (m->nheld > 0) {
            op_secondary(e, m, m == &e->side[e->local], (uint8_t)(m->nheld - 1), size);
        }
        op_recv(e, r, r == &e->side[e->local]);
        if (r->nheld > 0) {
            op_secondary(e, r, r == &e->side[e->local], (uint8_t)(r->nheld - 1), 0);
        }
    }
    e->snap = snap;
}

/* Rewrite the queue header after both sides opened: it must have no effect
 * on either (the model stays exact). */
static void op_header(fz_engine_t *e)
{
    static const uint8_t off[8] = {0, 2, 4, 8, 12, 14, 16, 20}, size[8] = {2, 2, 4, 4, 2, 2, 4, 4};
    uint8_t f = fz_u8(e->in) % 8;
    uint8_t *p = fz_shm.view[0] + e->block_off + off[f];

    fz_raw_put(p, size[f], fz_field_value(e->in, fz_raw_get(p, size[f]), size[f]));
    e->hdr_dirty = true;
}

/* Caller mistakes on the side under test; each must get its documented
 * code and leave the queue as it was. */
static void op_misuse(fz_engine_t *e)
{
    fz_side_t *s = &e->side[e->local];
    void *buf = NULL;
    uint16_t len = 0, count = 0;
    int rc;
    uint8_t sub = fz_u8(e->in) % 10;

    switch (sub) {
    case 0: /* NULL handle */
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(NULL, &buf, 0);
        end(e, s, "alloc_try(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_alloc_try(NULL queue)", rc, FZ_DOC_ALLOC, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_try(NULL, not_shared, 0);
        end(e, s, "send_try(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_send_try(NULL queue)", rc, FZ_DOC_SEND, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_recv_try(NULL, &buf, &len);
        end(e, s, "recv_try(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_recv_try(NULL queue)", rc, FZ_DOC_RECV, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_free_try(NULL, not_shared);
        end(e, s, "free_try(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_free_try(NULL queue)", rc, FZ_DOC_FREE, FZ_C_INVALID_ARG);
        rc = esp_amp_queue_intr_enable(NULL, SW_INTR_ID_0);
        expect_plain("esp_amp_queue_intr_enable(NULL queue)", rc, FZ_DOC_INTR_ENABLE, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_alloc_n(NULL, bufv, 0, 1, &count);
        end(e, s, "alloc_n(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_alloc_n(NULL queue)", rc, FZ_DOC_ALLOC, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_n(NULL, bufv, sizev, 1);
        end(e, s, "send_n(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_send_n(NULL queue)", rc, FZ_DOC_SEND, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_recv_n(NULL, bufv, sizev, 1, &count);
        end(e, s, "recv_n(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_recv_n(NULL queue)", rc, FZ_DOC_RECV, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_free_n(NULL, bufv, 1);
        end(e, s, "free_n(NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_free_n(NULL queue)", rc, FZ_DOC_FREE, FZ_C_INVALID_ARG);
        rc = esp_amp_queue_set_free_notify(NULL, on_free_cb, s);
        expect_plain("esp_amp_queue_set_free_notify(NULL queue)", rc, FZ_C_OK | FZ_C_INVALID_ARG, FZ_C_INVALID_ARG);
        {
            esp_amp_queue_stats_t st;
            rc = esp_amp_queue_stats(NULL, &st);
            expect_plain("esp_amp_queue_stats(NULL queue)", rc, FZ_C_OK | FZ_C_INVALID_ARG, FZ_C_INVALID_ARG);
            rc = esp_amp_queue_stats(&s->q, NULL);
            expect_plain("esp_amp_queue_stats(NULL stats)", rc, FZ_C_OK | FZ_C_INVALID_ARG, FZ_C_INVALID_ARG);
        }
        break;
    case 1: { /* NULL out-pointers / buffers */
        uint32_t em = role_err(s, true), er = role_err(s, false);
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(&s->q, NULL, 0);
        end(e, s, "alloc_try(buffer NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_alloc_try(buffer NULL)", rc, FZ_DOC_ALLOC, em | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_try(&s->q, NULL, 0);
        end(e, s, "send_try(buffer NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_send_try(buffer NULL)", rc, FZ_DOC_SEND, em | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_try(&s->q, NULL, 0xffffu);
        end(e, s, "send_try(buffer NULL, size too big)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_send_try(buffer NULL, size too big)", rc, FZ_DOC_SEND,
                     em | FZ_C_INVALID_ARG | (s->ready && s->item < 0xffffu ? FZ_C_NO_MEM : 0u));
        begin(e, s, false);
        rc =
            (fz_u8(e->in) & 1u) ? esp_amp_queue_recv_try(&s->q, NULL, &len) : esp_amp_queue_recv_try(&s->q, &buf, NULL);
        end(e, s, "recv_try(NULL out)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_recv_try(NULL out)", rc, FZ_DOC_RECV, er | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_free_try(&s->q, NULL);
        end(e, s, "free_try(buffer NULL)", K_NONE, 0, rc);
        expect_plain("esp_amp_queue_free_try(buffer NULL)", rc, FZ_DOC_FREE, er | FZ_C_INVALID_ARG);
        break;
    }
    case 2: { /* the other role's calls */
        if (!s->ready || s->dead) {
            break;
        }
        bool m = s->master;
        begin(e, s, false);
        rc = m ? esp_amp_queue_recv_try(&s->q, &buf, &len) : esp_amp_queue_alloc_try(&s->q, &buf, 0);
        end(e, s, "wrong-role call", K_NONE, 0, rc);
        expect_plain(m ? "esp_amp_queue_recv_try on a master" : "esp_amp_queue_alloc_try on a remote", rc,
                     m ? FZ_DOC_RECV : FZ_DOC_ALLOC, FZ_C_NOT_SUPPORTED);
        begin(e, s, false);
        rc = m ? esp_amp_queue_free_try(&s->q, slot_ptr(s, 0)) : esp_amp_queue_send_try(&s->q, slot_ptr(s, 0), 0);
        end(e, s, "wrong-role call", K_NONE, 0, rc);
        expect_plain(m ? "esp_amp_queue_free_try on a master" : "esp_amp_queue_send_try on a remote", rc,
                     m ? FZ_DOC_FREE : FZ_DOC_SEND, FZ_C_NOT_SUPPORTED);
        bufv[0] = slot_ptr(s, 0);
        sizev[0] = 0;
        begin(e, s, false);
        rc = m ? esp_amp_queue_recv_n(&s->q, bufv, sizev, 1, &count) : esp_amp_queue_alloc_n(&s->q, bufv, 0, 1, &count);
        end(e, s, "wrong-role batch call", K_NONE, 0, rc);
        expect_plain("wrong-role batch take", rc, m ? FZ_DOC_RECV : FZ_DOC_ALLOC, FZ_C_NOT_SUPPORTED);
        begin(e, s, false);
        rc = m ? esp_amp_queue_free_n(&s->q, bufv, 1) : esp_amp_queue_send_n(&s->q, bufv, sizev, 1);
        end(e, s, "wrong-role batch call", K_NONE, 0, rc);
        expect_plain("wrong-role batch give", rc, m ? FZ_DOC_FREE : FZ_DOC_SEND, FZ_C_NOT_SUPPORTED);
        if (m) {
            rc = esp_amp_queue_set_free_notify(&s->q, on_free_cb, s);
            expect_plain("esp_amp_queue_set_free_notify on a master", rc,
                         FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE | FZ_C_NOT_SUPPORTED, FZ_C_NOT_SUPPORTED);
        }
        break;
    }
    case 3: { /* a copy of the handle is not an open handle */
        static esp_amp_queue_t copy;
        copy = s->q;
        begin(e, s, false);
        rc = s->master ? esp_amp_queue_alloc_try(&copy, &buf, 0) : esp_amp_queue_recv_try(&copy, &buf, &len);
        end(e, s, "call on a copied handle", K_NONE, 0, rc);
        expect_plain("call on a copied handle", rc, FZ_DOC_ALLOC & FZ_DOC_RECV, FZ_C_INVALID_STATE);
        begin(e, s, false);
        rc = s->master ? esp_amp_queue_alloc_n(&copy, bufv, 0, 1, &count)
                       : esp_amp_queue_recv_n(&copy, bufv, sizev, 1, &count);
        end(e, s, "batch call on a copied handle", K_NONE, 0, rc);
        expect_plain("batch call on a copied handle", rc, FZ_DOC_ALLOC & FZ_DOC_RECV, FZ_C_INVALID_STATE);
        esp_amp_queue_stats_t st;
        rc = esp_amp_queue_stats(&copy, &st);
        expect_plain("esp_amp_queue_stats on a copied handle", rc, FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE,
                     FZ_C_INVALID_STATE);
        rc = esp_amp_queue_set_free_notify(&copy, on_free_cb, s);
        expect_plain("esp_amp_queue_set_free_notify on a copied handle", rc,
                     FZ_C_OK | FZ_C_INVALID_ARG | FZ_C_INVALID_STATE | FZ_C_NOT_SUPPORTED, FZ_C_INVALID_STATE);
        break;
    }
    case 4: { /* send / free a pointer that may not be one of the buffers */
        if (!s->ready) {
            break;
        }
        uint32_t k = fz_u16(e->in) % s->n;
        uint8_t *p;
        switch (fz_u8(e->in) % 7) {
        case 0:
            p = slot_ptr(s, k) + 1u + fz_u16(e->in) % (s->item - 1u);
            break;
        case 1:
            p = slot_ptr(s, s->n);
            break;
        case 2:
            p = s->view + s->buf_off - s->item;
            break;
        case 3: /* the same slot in the other core's view */
            p = fz_shm.view[s->core ^ 1] + s->buf_off + (size_t)k * s->item;
            break;
        case 4:
            p = not_shared;
            break;
        case 5:
            p = NULL;
            break;
        default:
            p = slot_ptr(s, k);
            break;
        }
        uint16_t size = (fz_u8(e->in) & 1u) ? fz_u16(e->in) : fz_u8(e->in);
        op_give(e, s, false, p, size,
                s->master ? "esp_amp_queue_send_try(any pointer)" : "esp_amp_queue_free_try(any pointer)");
        break;
    }
    case 5: { /* sizes above the item size */
        if (!s->ready || s->dead) {
            break;
        }
        uint16_t size = (uint16_t)(s->item + 1u + fz_u16(e->in) % (0xffffu - s->item));
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(&s->q, &buf, size);
        end(e, s, "esp_amp_queue_alloc_try(oversized)", K_TAKE, 1, rc);
        expect_plain("esp_amp_queue_alloc_try(size > item)", rc, FZ_DOC_ALLOC,
                     !s->master ? FZ_C_NOT_SUPPORTED : FZ_C_NO_MEM | (s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u));
        if (s->master && rc == ESP_ERR_NOT_FOUND) {
            s->full++;
        }
        break;
    }
    case 6: { /* interrupt id out of range */
        uint32_t err = FZ_C_INVALID_ARG | role_err(s, false);
        if (s->ready && !s->dead && !s->master && !s->has_cb) {
            err |= FZ_C_INVALID_STATE;
        }
        rc = esp_amp_queue_intr_enable(&s->q, (esp_amp_sw_intr_id_t)(32u + fz_u8(e->in)));
        expect_plain("esp_amp_queue_intr_enable(id > 31)", rc, FZ_DOC_INTR_ENABLE, err);
        break;
    }
    case 7: /* batch argument mistakes */
        op_take_n(e, s, false, 0, (uint16_t)(fz_u8(e->in) & 1u), (uint8_t)(1u + fz_u8(e->in) % 7u));
        op_give_n(e, s, false, fz_u8(e->in), batch_count(e->in), fz_u8(e->in), (uint8_t)(fz_u8(e->in) | 0x80u),
                  fz_u8(e->in));
        break;
    case 8: { /* main_init_ex with an unknown flag; sub_init / main_init_ex on the wrong core */
        static esp_amp_queue_t scratch;
        uint32_t bad = fz_u32(e->in) & ~(uint32_t)ESP_AMP_QUEUE_F_EVENT_IDX;
        bad = bad != 0 ? bad : 2u;
        fz_as_core(AMPVQ_CORE_MAIN);
        rc = esp_amp_queue_main_init_ex(&scratch, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)e->qid, bad);
        expect_plain("esp_amp_queue_main_init_ex(unknown flag)", rc, FZ_DOC_MAIN_INIT, FZ_C_INVALID_ARG);
        fz_as_core(AMPVQ_CORE_SUB);
        rc = esp_amp_queue_main_init_ex(&scratch, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)e->qid,
                                        ESP_AMP_QUEUE_F_EVENT_IDX);
        expect_plain("esp_amp_queue_main_init_ex on the sub core", rc, FZ_DOC_MAIN_INIT, FZ_C_NOT_SUPPORTED);
        fz_as_core(AMPVQ_CORE_MAIN);
        break;
    }
    default: { /* init misuse: sub core creating, NULL handle, taken id */
        static esp_amp_queue_t scratch;
        fz_as_core(AMPVQ_CORE_SUB);
        rc = esp_amp_queue_main_init(&scratch, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)e->qid);
        expect_plain("esp_amp_queue_main_init on the sub core", rc, FZ_DOC_MAIN_INIT, FZ_C_NOT_SUPPORTED);
        rc = esp_amp_queue_sub_init(NULL, NULL, NULL, false, (esp_amp_sys_info_id_t)e->qid);
        expect_plain("esp_amp_queue_sub_init(NULL queue)", rc, FZ_DOC_SUB_INIT, FZ_C_INVALID_ARG);
        fz_as_core(AMPVQ_CORE_MAIN);
        rc = esp_amp_queue_main_init(NULL, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)e->qid);
        expect_plain("esp_amp_queue_main_init(NULL queue)", rc, FZ_DOC_MAIN_INIT, FZ_C_INVALID_ARG);
        /* The directory is poisoned during operations; main_init reads it. */
        fz_unpoison(FZ_HDR_BYTES, DIR_END);
        /* Taken id: only where the directory is intact, since the main core
         * refuses a corrupt one first. */
        fz_ref_block_t b;
        fz_ref_alloc_t ra;
        fz_snapshot(snap_before);
        fz_ref_find(snap_before, fz_shm.size, e->qid, &b);
        fz_ref_alloc(snap_before, fz_shm.size, (uint16_t)(e->qid ^ 0x4000u), 1, &ra);
        if (e->qid != SYS_INFO_ID_MAX) {
            if (b.rc == ESP_OK && ra.ok) {
                rc = esp_amp_queue_main_init(&scratch, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)e->qid);
                expect_plain("esp_amp_queue_main_init(id taken)", rc, FZ_DOC_MAIN_INIT, FZ_C_INVALID_STATE);
            }
        }
        apply_poison(e);
        break;
    }
    }
}

/* Software interrupts of the remote side: the queue callback. */
static void dispatch_on(const fz_side_t *s)
{
    fz_as_core(s->core);
    ampvq_sw_intr_dispatch();
}

static void op_intr(fz_engine_t *e)
{
    fz_side_t *r = remote_of(e);
    uint8_t sub = fz_u8(e->in) % 4;

    switch (sub) {
    case 0: {
        uint32_t id = fz_u8(e->in) % 32u;
        uint32_t err = !r->ready || r->dead ? FZ_C_INVALID_STATE : !r->has_cb ? FZ_C_INVALID_STATE : 0u;
        uint32_t total = 0;
        for (unsigned i = 0; i < 32; i++) {
            total += regs_per_id[r->core][i];
        }
        fz_as_core(r->core);
        int rc = esp_amp_queue_intr_enable(&r->q, (esp_amp_sw_intr_id_t)id);
        fz_expect("esp_amp_queue_intr_enable", rc, FZ_DOC_INTR_ENABLE);
        fz_expect("esp_amp_queue_intr_enable (caller's state)", rc,
                  err != 0                             ? err
                  : total < AMPVQ_SW_INTR_MAX_HANDLERS ? FZ_C_OK
                                                       : FZ_C_NOT_FINISHED);
        if (rc == ESP_OK) {
            r->intr_ids |= 1u << id;
            regs_per_id[r->core][id]++;
            /* enable raised the id on this core: the callback must run. */
            uint64_t before = r->cb_calls;
            dispatch_on(r);
            FZ_CHECK(r->cb_calls > before, "queue callback did not run after esp_amp_queue_intr_enable");
        }
        break;
    }
    case 1: {
        /* The peer sets pending bits of this core (spurious interrupts). */
        uint32_t bits = fz_u32(e->in);
        uint8_t *w = fz_shm.view[0] + 16u + 4u * (uint32_t)r->core;
        fz_raw_put(w, 4, fz_raw_get(w, 4) | bits);
        uint64_t before = r->cb_calls;
        dispatch_on(r);
        FZ_CHECK(((bits & r->intr_ids) != 0) == (r->cb_calls > before),
                 "pending bits %08x with callbacks on %08x ran the callback %llu times", (unsigned)bits,
                 (unsigned)r->intr_ids, (unsigned long long)(r->cb_calls - before));
        break;
    }
    case 2: {
        uint64_t before = r->cb_calls;
        dispatch_on(r);
        FZ_CHECK(r->cb_calls == before, "queue callback ran with nothing pending");
        break;
    }
    default:
        if (r->intr_ids != 0) {
            uint32_t id = (uint32_t)__builtin_ctz(r->intr_ids);
            fz_as_core(r->core);
            esp_amp_sw_intr_delete_handler((esp_amp_sw_intr_id_t)id, on_cb);
            r->intr_ids &= ~(1u << id);
            regs_per_id[r->core][id] = 0;
        }
        break;
    }
}

/* The sub core restarts and opens its side again from the header: as a
 * new instance (esp_amp_init() took the next instance number: the main
 * core resets the ring for it) or, re-opening within the same instance,
 * with the session word it had. */
static void op_restart(fz_engine_t *e)
{
    fz_side_t *s = &e->side[AMPVQ_CORE_SUB];
    uint8_t b = fz_u8(e->in);

    if (!s->ready) {
        return;
    }
    e->tainted = true; /* its indices start over while the peer's go on */
    if (b & 1u) {
        fz_as_core(AMPVQ_CORE_SUB);
        ampvq_sub_session_bump();
        fz_as_core(AMPVQ_CORE_MAIN);
    }
    uint64_t lc = s->link_calls;
    fz_unpoison(FZ_HDR_BYTES, fz_shm.size);
    fz_queue_open_sub(e, !e->hdr_dirty, NULL);
    FZ_CHECK(s->link_calls == lc, "esp_amp_queue_sub_init ran a link callback");
    apply_poison(e);
}

/* ------------------------------------------------------------- phases */

bool fz_queue_create(fz_engine_t *e, fz_in_t *in, const fz_queue_params_t *p)
{
    /* Everything the main core allocates, in allocation order. */
    fz_ref_layout_t lay;
    bool args_ok = fz_ref_layout(p->queue_len, p->item_size, p->event_idx, &lay);
    /* Non-coherent: the event words go below the uncached prefix's end, the
     * other blocks after it. */
    uint64_t need = ALIGN_BLK(DIR_END > FZ_UNCACHED_END ? DIR_END : FZ_UNCACHED_END) +
                    (p->event_words && FZ_UNCACHED_END == 0 ? 2u * ALIGN_BLK(4u) : 0u) +
                    (p->pre_size ? ALIGN_BLK((uint64_t)p->pre_size) : 0u) + (args_ok ? lay.total : 64u);
    int64_t region = (int64_t)need + p->slack;
    region = region < 64 ? 64 : region > FZ_SHM_MAX ? FZ_SHM_MAX : region;

    fz_shm_open((uint32_t)region, p->dual);
    memset(e, 0, sizeof(*e));
    e->in = in;
    e->local = p->local_main ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
    e->tear = p->tear;
    e->race = p->race;
    e->snap = !p->tear && !p->race && fz_shm.size <= SNAP_MAX;
    e->qid = p->qid;
    e->evt = p->event_idx;
    e->fifo = fifo_store;
    e->hooks = (fz_hook_cfg_t){
        .tear = tear_desc, .observe = observe_load, .reload_ok = reload_ok, .poison_ok = poison_ok, .ctx = e};
    for (int i = 0; i < 2; i++) {
        fz_side_t *s = &e->side[i];
        s->core = i;
        s->master = (i == AMPVQ_CORE_MAIN) == p->main_master;
        s->has_cb = s->master ? p->master_cb : p->remote_cb;
        s->held = held_store[i];
    }
    memset(regs_per_id, 0, sizeof(regs_per_id));

    fz_as_core(AMPVQ_CORE_MAIN);
    int rc = esp_amp_sys_info_init();
    fz_expect("esp_amp_sys_info_init (main)", rc, FZ_DOC_SYS_INFO_INIT);
    fz_expect("esp_amp_sys_info_init (main)", rc,
              fz_shm.size < FZ_MIN_REGION ? FZ_C_INVALID_SIZE : FZ_C_OK);
    if (rc != ESP_OK) {
        return false;
    }
    uint8_t *snap = snap_before;
    fz_ref_alloc_t ra;
    if (p->event_words) {
        fz_snapshot(snap);
        fz_ref_alloc_ex(snap, fz_shm.size, SYS_INFO_RESERVED_ID_EVENT_MAIN, 4, true, &ra);
        rc = esp_amp_event_init();
        fz_expect("esp_amp_event_init (main)", rc, FZ_DOC_EVENT_INIT);
        if (rc != ESP_OK) {
            FZ_CHECK(!ra.ok || rc == ESP_ERR_NO_MEM, "esp_amp_event_init failed with room to spare");
            return false;
        }
    }
    if (p->pre_size != 0) {
        uint16_t id = p->pre_same_id ? p->qid : (uint16_t)((p->qid + 1u) % SYS_INFO_RESERVED_ID);
        fz_snapshot(snap);
        fz_ref_alloc(snap, fz_shm.size, id, p->pre_size, &ra);
        void *blk = esp_amp_sys_info_alloc(id, p->pre_size);
        bool want = ra.ok && id < SYS_INFO_RESERVED_ID;
        FZ_CHECK((blk != NULL) == want, "esp_amp_sys_info_alloc(%u, %u) returned %p", (unsigned)id,
                 (unsigned)p->pre_size, blk);
        FZ_CHECK(blk == NULL || blk == fz_shm.view[0] + ra.off, "esp_amp_sys_info_alloc placed the block at %p", blk);
    }

    /* main_init's verdict, from the arguments and the directory. */
    fz_ref_layout_t one;
    uint32_t want = 0;
    want |= p->queue_len == 0 || p->queue_len > AMPVQ_QUEUE_LEN_MAX ? FZ_C_INVALID_ARG : 0u;
    want |= !fz_ref_layout(1, p->item_size, false, &one) ? FZ_C_INVALID_SIZE : 0u;
    fz_snapshot(snap);
    if (want == 0) {
        fz_ref_alloc(snap, fz_shm.size, p->qid, lay.total, &ra);
        want = ra.ok ? FZ_C_OK : ra.why;
    }
    fz_side_t *ms = &e->side[AMPVQ_CORE_MAIN];
    fz_call_begin(NULL, NULL);
    rc = esp_amp_queue_main_init_ex(&ms->q, p->queue_len, p->item_size, ms->has_cb ? on_cb : NULL, ms, ms->master,
                                    (esp_amp_sys_info_id_t)p->qid, p->event_idx ? ESP_AMP_QUEUE_F_EVENT_IDX : 0u);
    fz_call_stats_t st;
    fz_call_end(&st);
    unsigned bound = 5u + 3u * ((fz_shm.size - FZ_HDR_BYTES) / 12u) + 8u;
    FZ_CHECK(st.reads <= bound, "esp_amp_queue_main_init_ex loaded %u fields (bound %u)", st.reads, bound);
    fz_expect("esp_amp_queue_main_init_ex", rc, FZ_DOC_MAIN_INIT);
    fz_expect("esp_amp_queue_main_init_ex (arguments and directory)", rc, want);
    if (rc != ESP_OK) {
        return false;
    }
    adopt(e, AMPVQ_CORE_MAIN, "esp_amp_queue_main_init_ex");
    e->block_off = ra.off;
    e->block_size = lay.total;
    fz_ref_ctl(&lay, ra.off, e->ctl_off);
    fz_qgeom_t got = side_geom(ms);
    fz_qgeom_t exp = {.n = lay.n,
                      .item = lay.item,
                      .stride = FZ_DESC_STRIDE,
                      .desc_off = ra.off + lay.desc_rel,
                      .buf_off = ra.off + lay.buf_rel,
                      .evt = p->event_idx,
                      .ctl = {e->ctl_off[0], e->ctl_off[1]}};
    FZ_CHECK(fz_qgeom_eq(&got, &exp),
             "esp_amp_queue_main_init_ex: geometry %u x %u stride %u desc %u buf %u evt %d ctl %u/%u; the layout "
             "says %u x %u stride %u desc %u buf %u evt %d ctl %u/%u",
             (unsigned)got.n, (unsigned)got.item, (unsigned)got.stride, (unsigned)got.desc_off, (unsigned)got.buf_off,
             got.evt, (unsigned)got.ctl[0], (unsigned)got.ctl[1], (unsigned)exp.n, (unsigned)exp.item,
             (unsigned)exp.stride, (unsigned)exp.desc_off, (unsigned)exp.buf_off, exp.evt, (unsigned)exp.ctl[0],
             (unsigned)exp.ctl[1]);
    /* The header as layout version 2 describes it. */
    const uint8_t *h = fz_shm.view[0] + ra.off;
    FZ_CHECK(fz_raw_get(h, 2) == lay.n && fz_raw_get(h + 2, 2) == lay.item && fz_raw_get(h + 4, 4) == exp.desc_off &&
                 fz_raw_get(h + 8, 4) == exp.buf_off && fz_raw_get(h + 12, 2) == FZ_DESC_STRIDE &&
                 fz_raw_get(h + 14, 2) == (p->event_idx ? FZ_FEAT_EVENT_IDX : 0u) &&
                 fz_raw_get(h + 16, 4) == exp.ctl[0] && fz_raw_get(h + 20, 4) == exp.ctl[1],
             "esp_amp_queue_main_init_ex: the queue header is not the layout's");
    /* Control words: {0, 0} for the remote, {0x80000000, 0} for the master;
     * the main core's open writes no session word. */
    const uint8_t *c0 = fz_shm.view[0] + exp.ctl[0], *c1 = fz_shm.view[0] + exp.ctl[1];
    FZ_CHECK(fz_raw_get(c0, 4) == 0 && fz_raw_get(c0 + 4, 4) == 0 && fz_raw_get(c1, 4) == FZ_WAKE_NEVER &&
                 fz_raw_get(c1 + 4, 4) == 0,
             "esp_amp_queue_main_init_ex: control words start at %08x %08x / %08x %08x", (unsigned)fz_raw_get(c0, 4),
             (unsigned)fz_raw_get(c0 + 4, 4), (unsigned)fz_raw_get(c1, 4), (unsigned)fz_raw_get(c1 + 4, 4));
    /* Slots start out lending their own buffers, all free for the master. */
    for (uint32_t i = 0; i < lay.n && i < 64; i++) {
        const uint8_t *d = desc_ptr(ms, i);
        FZ_CHECK(fz_raw_get(d, 4) == ms->buf_off + i * lay.item && fz_raw_get(d + 4, 4) == 0,
                 "esp_amp_queue_main_init_ex: descriptor %u starts wrong", (unsigned)i);
    }
    memset(slot_state, SLOT_FREE, lay.n);
    return true;
}

int fz_queue_open_sub(fz_engine_t *e, bool exact, fz_in_t *tear_in)
{
    fz_side_t *s = &e->side[AMPVQ_CORE_SUB];
    fz_ref_queue_t ref;
    static const fz_hook_cfg_t field_tear = {.tear = fz_tear_field};
    fz_call_stats_t st;

    fz_snapshot(snap_before);
    fz_ref_queue(snap_before, fz_shm.size, e->qid, &ref);
    fz_as_core(AMPVQ_CORE_SUB);
    fz_call_begin(tear_in, &field_tear);
    int rc = esp_amp_queue_sub_init(&s->q, s->has_cb ? on_cb : NULL, s, s->master, (esp_amp_sys_info_id_t)e->qid);
    fz_call_end(&st);
    fz_as_core(AMPVQ_CORE_MAIN);
    if (st.tore) {
        e->tainted = true;
    }
    fz_expect("esp_amp_queue_sub_init", rc, FZ_DOC_SUB_INIT);
    /* Directory scan, header, the two region instance numbers and its
     * session word: bounded by the region, not by its bytes. */
    unsigned bound = 5u + 3u * ((fz_shm.size - FZ_HDR_BYTES) / 12u) + 8u + 3u;
    FZ_CHECK(st.reads <= bound, "esp_amp_queue_sub_init loaded %u fields (bound %u)", st.reads, bound);
    /* The stores it makes when it opens: its role's session word, and, when
     * it attaches after a restart, its own wake word back to its start. */
    uint32_t sess = rc == ESP_OK ? fz_offset_in(AMPVQ_CORE_SUB, s->q.sess_own, 4) : -1;
    FZ_CHECK(st.writes <= (rc == ESP_OK ? 2u : 0u), "esp_amp_queue_sub_init made %u stores (%s)", st.writes,
             fz_code_name(rc));
    for (unsigned i = 0; i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
        bool wake = st.log[i].off == sess - 4u && s->q.wake_own != NULL;
        FZ_CHECK(!st.log[i].store || ((st.log[i].off == sess || wake) && st.log[i].size == 4),
                 "esp_amp_queue_sub_init stored %u bytes at %u, not its session or wake word",
                 (unsigned)st.log[i].size, (unsigned)st.log[i].off);
    }
    if (rc == ESP_OK && s->q.wake_own != NULL) {
        uint32_t w = fz_raw_get(fz_shm.view[0] + sess - 4u, 4);
        uint32_t w_before = fz_raw_get(snap_before + sess - 4u, 4);
        FZ_CHECK(w == w_before || w == (s->master ? FZ_WAKE_NEVER : 0u) || st.tore || e->race,
                 "esp_amp_queue_sub_init set its wake word to %08x", (unsigned)w);
    }
    if (!st.tore && !e->race) {
        fz_range_t own = {sess - 4u, sess + 4u};
        int64_t d = fz_snapshot_diff(snap_before, &own, rc == ESP_OK ? 1u : 0u);
        FZ_CHECK(d < 0, "esp_amp_queue_sub_init changed region byte %lld", (long long)d);
        FZ_CHECK(rc == ref.rc, "esp_amp_queue_sub_init returned %s; the header says %s", fz_code_name(rc),
                 fz_code_name(ref.rc));
        if (rc == ESP_OK) {
            uint32_t want = fz_ref_attach(fz_raw_get(snap_before + FZ_REGION_SESSION(AMPVQ_CORE_SUB), 4),
                                          fz_raw_get(snap_before + sess, 4));
            uint32_t got = fz_raw_get(fz_shm.view[0] + sess, 4);
            FZ_CHECK(got == want, "esp_amp_queue_sub_init left its session word at %08x, not %08x", (unsigned)got,
                     (unsigned)want);
        }
    }
    if (exact && !st.tore) {
        FZ_CHECK(rc == ESP_OK, "esp_amp_queue_sub_init refused the header main_init wrote (%s)", fz_code_name(rc));
    }
    if (rc != ESP_OK) {
        /* The application drops a handle whose init failed. */
        memset(&s->q, 0, sizeof(s->q));
        s->ready = false;
        s->dead = false;
        s->outstanding = 0;
        s->nheld = 0;
        return rc;
    }
    adopt(e, AMPVQ_CORE_SUB, "esp_amp_queue_sub_init");
    fz_qgeom_t g = side_geom(s);
    if (!st.tore) {
        FZ_CHECK(fz_qgeom_eq(&g, &ref.g),
                 "esp_amp_queue_sub_init adopted %u x %u stride %u desc %u buf %u evt %d ctl %u/%u; the header says "
                 "%u x %u stride %u desc %u buf %u evt %d ctl %u/%u",
                 (unsigned)g.n, (unsigned)g.item, (unsigned)g.stride, (unsigned)g.desc_off, (unsigned)g.buf_off, g.evt,
                 (unsigned)g.ctl[0], (unsigned)g.ctl[1], (unsigned)ref.g.n, (unsigned)ref.g.item,
                 (unsigned)ref.g.stride, (unsigned)ref.g.desc_off, (unsigned)ref.g.buf_off, ref.g.evt,
                 (unsigned)ref.g.ctl[0], (unsigned)ref.g.ctl[1]);
    }
    if (exact && !st.tore) {
        fz_qgeom_t mg = side_geom(&e->side[AMPVQ_CORE_MAIN]);
        FZ_CHECK(fz_qgeom_eq(&g, &mg), "esp_amp_queue_sub_init: another geometry than the main core's");
    }
    return rc;
}

void fz_queue_run(fz_engine_t *e)
{
    fz_side_t *loc = &e->side[e->local], *peer = &e->side[e->local ^ 1];

    apply_poison(e);
    /* Race mode: the racing thread rewrites the tested side's descriptors
     * (and wake words) for the whole run (starting and stopping it around
     * every call would cost a thread wake-up per call). */
    if (e->race && loc->ready) {
        fz_race_cfg_t rc = {.table = loc->view + loc->desc_off,
                            .n = loc->n,
                            .stride = loc->stride,
                            .buf_off = loc->buf_off,
                            .item = loc->item,
                            .seed = 0x9e3779b9u ^ (uint32_t)e->in->n};
        if (loc->evt) {
            rc.wake[0] = loc->view + loc->wake_own;
            rc.wake[1] = loc->view + loc->wake_peer;
        }
        /* Now and then the racer also rewrites the peer's session word. */
        if ((e->in->n & 7u) == 0) {
            rc.sess = loc->view + loc->ctl_peer + 4u;
        }
        fz_race_begin(&rc);
        e->tainted = true;
    } else {
        e->race = false;
    }
    while (e->in->n > 0) {
        uint8_t op = fz_u8(e->in);
        uint16_t size = (op & 0x10u) ? fz_u16(e->in) : fz_u8(e->in);
        if (fz_trace()) {
            fprintf(stderr, "op %u size %u tainted %d\n", (unsigned)((op & 0x0fu) | ((op >> 1) & 0x10u)), size, e->tainted);
        }
        /* bits 0-3 and 5: 32 operations; bit 4 picks the size's width */
        switch ((op & 0x0fu) | ((op >> 1) & 0x10u)) {
        case 0:
        case 1:
            op_primary(e, loc, true, size);
            break;
        case 2:
        case 3:
            op_secondary(e, loc, true, fz_u8(e->in), size);
            break;
        case 4:
            op_primary(e, peer, false, size);
            break;
        case 5:
            op_secondary(e, peer, false, fz_u8(e->in), size);
            break;
        case 6:
        case 7:
        case 15:
            op_raw_desc(e);
            break;
        case 8:
            op_burst(e);
            break;
        case 9:
            op_misuse(e);
            break;
        case 10:
            if (!e->no_intr) {
                op_intr(e);
            }
            break;
        case 11:
            op_header(e);
            break;
        case 12:
            op_restart(e);
            break;
        case 13:
            op_primary(e, peer, false, size);
            op_secondary(e, peer, false, fz_u8(e->in), size);
            break;
        case 14:
            op_primary(e, loc, true, size);
            op_secondary(e, loc, true, fz_u8(e->in), size);
            break;
        case 16:
        case 17:
            op_batch_primary(e, loc, true, size);
            break;
        case 18:
        case 19:
            op_batch_secondary(e, loc, true, size);
            break;
        case 20:
            op_batch_primary(e, peer, false, size);
            break;
        case 21:
            op_batch_secondary(e, peer, false, size);
            break;
        case 22:
            op_burst_n(e);
            break;
        case 23:
            op_stats(e, (size & 1u) ? peer : loc);
            break;
        case 24:
            op_free_notify(e, remote_of(e), (size & 1u) == 0);
            break;
        case 25:
            op_raw_wake(e);
            break;
        case 26:
            op_batch_primary(e, loc, true, size);
            op_batch_secondary(e, loc, true, size);
            break;
        case 27:
            op_batch_primary(e, peer, false, size);
            op_batch_secondary(e, peer, false, size);
            break;
        case 28:
            op_blocking(e, (size & 1u) ? peer : loc, (size & 1u) == 0, (uint16_t)(size >> 1));
            break;
        case 29:
            op_raw_session(e);
            break;
        case 30:
            if (size & 1u) {
                op_dump(e, (size & 2u) ? peer : loc, (uint8_t)(size >> 2));
            } else {
                op_link_cb(e, (size & 2u) ? peer : loc, (uint8_t)(size >> 2));
            }
            break;
        default:
            /* a round trip of single calls, then the counters */
            op_primary(e, master_of(e), master_of(e) == loc, size);
            op_secondary(e, master_of(e), master_of(e) == loc, fz_u8(e->in), size);
            op_primary(e, remote_of(e), remote_of(e) == loc, size);
            op_secondary(e, remote_of(e), remote_of(e) == loc, fz_u8(e->in), size);
            op_stats(e, loc);
            break;
        }
    }
    if (e->race) {
        fz_race_end();
    }
}

void fz_queue_finish(fz_engine_t *e)
{
    for (int i = 0; i < 2; i++) {
        fz_side_t *s = &e->side[i];
        fz_as_core(s->core);
        for (uint32_t id = 0; id < 32; id++) {
            if (s->intr_ids & (1u << id)) {
                esp_amp_sw_intr_delete_handler((esp_amp_sw_intr_id_t)id, on_cb);
            }
        }
        s->intr_ids = 0;
    }
    memset(regs_per_id, 0, sizeof(regs_per_id));
    fz_shm_close();
}
