/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Queue scenario engine; see queue_engine.h.
 *
 * Invariants checked after every API call:
 *  - the return code is one the function documents, and exactly the one
 *    the caller's own state dictates where that is determined (bad
 *    arguments, wrong role, nothing outstanding, handle not open);
 *  - a buffer handed out (alloc_try, recv_try) is the start of a slot of
 *    the handle's buffer area, inside the shared block, and a received
 *    length is at most the item size;
 *  - the call loaded at most 3 and stored at most 3 shared fields, all in
 *    one descriptor of its own table, each loaded once (fuzz_common.c);
 *    everything else in the block is poisoned during the call, so any
 *    other access is an AddressSanitizer report; cache maintenance stays
 *    inside the queue's areas; a failed call, alloc_try and recv_try
 *    store nothing; with snapshots on, no other byte of the block changed;
 *  - the notify function runs once per successful send and never
 *    otherwise; the queue callback runs when its interrupt is raised;
 *  - while the peer has behaved: alloc_try succeeds exactly when a buffer
 *    is free and never hands out a buffer in use, recv_try returns exactly
 *    the buffers sent, in order, with their length and contents.
 */
#include <string.h>

#include "esp_err.h"
#include "esp_amp.h"
#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "fuzz_ref.h"
#include "queue_engine.h"

#define DIR_END   (FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES)
#define ALIGN8(x) (((x) + 7u) & ~7u)
/* Largest region compared byte for byte around every data-path call. */
#define SNAP_MAX (8u * 1024u)

enum { SLOT_FREE, SLOT_MASTER, SLOT_SENT, SLOT_REMOTE };

static fz_buf_t held_store[2][AMPVQ_QUEUE_LEN_MAX];
static fz_buf_t fifo_store[AMPVQ_QUEUE_LEN_MAX];
static uint8_t slot_state[AMPVQ_QUEUE_LEN_MAX];
static uint8_t snap_before[FZ_SHM_MAX];
static unsigned regs_per_id[2][32];
static uint8_t not_shared[16]; /* a private address, for bogus buffers */

static int on_cb(void *arg)
{
    ((fz_side_t *)arg)->cb_calls++;
    return 0;
}

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
    uint8_t q = fz_u8(in);
    p->qid = (q & 0x80u) ? fz_u16(in) : q;
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
 * all but the region header (its pending-interrupt words) and the
 * descriptor tables of the open sides. */
static void apply_poison(fz_engine_t *e)
{
    fz_poison(FZ_HDR_BYTES, fz_shm.size);
    for (int i = 0; i < 2; i++) {
        fz_side_t *s = &e->side[i];
        if (s->ready) {
            fz_unpoison(s->desc_off, s->desc_off + 8u * s->n);
        }
    }
}

/* Take the geometry the handle holds and check it. */
static void adopt(fz_engine_t *e, int idx, const char *who)
{
    fz_side_t *s = &e->side[idx];
    uint8_t *view = fz_shm.view[s->core];
    int64_t desc = fz_offset_in(s->core, s->q.desc, 8);

    FZ_CHECK(desc >= 0, "%s: descriptor table pointer %p is not in core %d's view", who, (void *)s->q.desc, s->core);
    s->view = view;
    s->desc_off = (uint32_t)desc;
    s->buf_off = s->q.buf_off;
    s->n = s->q.size;
    s->item = s->q.item_size;
    FZ_CHECK(s->q.buf == view + s->buf_off, "%s: buffer pointer and buffer offset disagree", who);
    fz_check_geometry(who, s->n, s->item, s->desc_off, s->buf_off);
    s->ready = true;
    s->outstanding = 0;
    s->nheld = 0;
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

/* Tear hook for the side under test: just before a load from one of its
 * descriptors the peer may rewrite that field, just after it the whole
 * descriptor. Loads elsewhere (only init reads the header and directory)
 * are torn field by field. */
static uint8_t tear_pending;

static bool tear_desc(uint8_t *field, unsigned size, bool before, fz_in_t *in, void *ctx)
{
    fz_engine_t *e = ctx;
    fz_side_t *s = &e->side[e->local];
    int64_t off = fz_offset_in(s->core, field, size);

    if (!s->ready || off < s->desc_off || off >= (int64_t)s->desc_off + 8 * (int64_t)s->n) {
        return fz_tear_field(field, size, before, in, NULL);
    }
    uint32_t rel = (uint32_t)off - s->desc_off;
    uint8_t *d = s->view + s->desc_off + (rel & ~7u);
    if (before) {
        tear_pending = fz_u8(in);
    }
    if ((tear_pending & (before ? 1u : 2u)) == 0) {
        return false;
    }
    if (before) {
        write_desc_field(in, s, d, (rel & 7u) == 0 ? 0u : (rel & 7u) == 4 ? 1u : 2u);
    } else {
        for (unsigned f = 0; f < 3; f++) {
            write_desc_field(in, s, d, f);
        }
    }
    return true;
}

/* ----------------------------------------------------- call wrapping */

static void begin(fz_engine_t *e, fz_side_t *s, bool local)
{
    fz_as_core(s->core);
    if (e->snap) {
        fz_snapshot(snap_before);
    }
    fz_call_begin(local && e->tear ? e->in : NULL, &e->hooks);
}

/* Checks on what a data-path call did to shared memory. `reads_ok`: the
 * call may load (alloc / recv); `rc`: its result. */
static void end(fz_engine_t *e, fz_side_t *s, const char *what, bool reads_ok, int rc)
{
    fz_call_stats_t st;

    fz_call_end(&st);
    if (st.tore) {
        e->tainted = true;
    }
    FZ_CHECK(st.reads <= 3, "%s loaded %u shared fields (at most flags, addr and len)", what, st.reads);
    FZ_CHECK(reads_ok || st.reads == 0, "%s loaded shared memory", what);
    FZ_CHECK(st.writes <= 3, "%s stored %u shared fields", what, st.writes);
    FZ_CHECK(rc == ESP_OK || st.writes == 0, "%s failed (%s) but stored to shared memory", what, fz_code_name(rc));
    FZ_CHECK(!reads_ok || st.writes == 0, "%s stored to shared memory", what);
    if (st.lo >= 0) {
        int64_t rel_lo = st.lo - s->desc_off, rel_hi = st.hi - 1 - s->desc_off;
        FZ_CHECK(s->ready && rel_lo >= 0 && st.hi <= (int64_t)s->desc_off + 8 * (int64_t)s->n &&
                     rel_lo / 8 == rel_hi / 8,
                 "%s touched region bytes [%lld, %lld), not one descriptor of its table [%u, +%u x 8)", what,
                 (long long)st.lo, (long long)st.hi, (unsigned)s->desc_off, (unsigned)s->n);
    }
    for (unsigned i = 0; i < st.ncache; i++) {
        int64_t lo = st.cache[i].off, hi = lo + (int64_t)st.cache[i].len;
        bool in_desc = lo >= s->desc_off && hi <= (int64_t)s->desc_off + 8 * (int64_t)s->n;
        bool in_buf = lo >= s->buf_off && hi <= (int64_t)s->buf_off + (int64_t)s->n * s->item;
        FZ_CHECK(in_desc || in_buf, "%s: cache maintenance of [%lld, %lld) is outside the queue's areas", what,
                 (long long)lo, (long long)hi);
    }
    if (e->snap) {
        fz_range_t desc = {0, 0};
        if (st.writes > 0) {
            desc.lo = s->desc_off + (((uint32_t)st.lo - s->desc_off) & ~7u);
            desc.hi = desc.lo + 8u;
        }
        int64_t d = fz_snapshot_diff(snap_before, &desc, 1);
        FZ_CHECK(d < 0, "%s changed region byte %lld outside the descriptor it published", what, (long long)d);
    }
}

static void check_handed_out(fz_side_t *s, const void *buf, const char *what)
{
    FZ_CHECK(slot_of(s, buf) >= 0, "%s handed out %p: not the start of a buffer of the queue's area %p + %u x %u bytes",
             what, buf, (void *)(s->view + s->buf_off), (unsigned)s->n, (unsigned)s->item);
    FZ_CHECK(fz_offset_in(s->core, buf, s->item) >= 0, "%s handed out %p: not inside the shared block", what, buf);
}

/* --------------------------------------------------------- operations */

static void op_alloc(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    uint32_t err = 0;
    void *buf = NULL;

    if (!s->ready) {
        err = FZ_C_INVALID_STATE;
    } else if (!s->master) {
        err = FZ_C_NOT_SUPPORTED;
    } else {
        err |= size > s->item ? FZ_C_NO_MEM : 0u;
        err |= s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u;
    }
    bool was_tainted = e->tainted;
    uint32_t free_before = was_tainted ? 0 : model_free(e);
    begin(e, s, local);
    int rc = esp_amp_queue_alloc_try(&s->q, &buf, size);
    end(e, s, "esp_amp_queue_alloc_try", true, rc);
    fz_expect("esp_amp_queue_alloc_try", rc, FZ_DOC_ALLOC);
    if (err != 0) {
        fz_expect("esp_amp_queue_alloc_try (caller's state)", rc, err);
    } else if (!e->tainted) {
        fz_expect("esp_amp_queue_alloc_try (well-behaved peer)", rc, free_before > 0 ? FZ_C_OK : FZ_C_NOT_FOUND);
    } else {
        fz_expect("esp_amp_queue_alloc_try", rc, FZ_C_OK | FZ_C_NOT_FOUND | FZ_C_INVALID_RESPONSE);
    }
    if (rc != ESP_OK) {
        return;
    }
    check_handed_out(s, buf, "esp_amp_queue_alloc_try");
    uint32_t slot = (uint32_t)slot_of(s, buf);
    if (!e->tainted) {
        FZ_CHECK(slot_state[slot] == SLOT_FREE, "esp_amp_queue_alloc_try handed out slot %u, which is in use (%u)",
                 (unsigned)slot, slot_state[slot]);
        slot_state[slot] = SLOT_MASTER;
    }
    s->outstanding++;
    held_push(s, slot, 0, 0);
}

static void op_send(fz_engine_t *e, fz_side_t *s, bool local, uint8_t k, uint16_t size)
{
    uint32_t err = 0;
    int64_t idx = -1;
    uint8_t *ptr = not_shared;

    if (s->ready && s->nheld > 0) {
        idx = k % s->nheld;
        ptr = slot_ptr(s, s->held[idx].slot);
    } else if (s->ready) {
        ptr = slot_ptr(s, 0);
    }
    if (!s->ready) {
        err = FZ_C_INVALID_STATE;
    } else if (!s->master) {
        err = FZ_C_NOT_SUPPORTED;
    } else {
        err |= size > s->item ? FZ_C_NO_MEM : 0u;
        err |= s->outstanding == 0 ? FZ_C_NOT_ALLOWED : 0u;
    }
    uint32_t seq = e->next_seq;
    if (err == 0) {
        /* The application fills the buffer: a sequence number at both ends
         * (one copy when the item is only 4 bytes). */
        fz_raw_put(ptr + s->item - 4, 4, ~seq);
        fz_raw_put(ptr, 4, seq);
    }
    uint64_t cb_before = s->cb_calls;
    begin(e, s, local);
    int rc = esp_amp_queue_send_try(&s->q, ptr, size);
    end(e, s, "esp_amp_queue_send_try", false, rc);
    fz_expect("esp_amp_queue_send_try", rc, FZ_DOC_SEND);
    /* A send depends on nothing the peer writes. */
    fz_expect("esp_amp_queue_send_try (caller's state)", rc, err != 0 ? err : FZ_C_OK);
    if (rc != ESP_OK) {
        FZ_CHECK(s->cb_calls == cb_before, "notify function ran for a failed send");
        return;
    }
    FZ_CHECK(s->cb_calls == cb_before + (s->has_cb ? 1u : 0u), "notify function ran %llu times for one send",
             (unsigned long long)(s->cb_calls - cb_before));
    s->outstanding--;
    e->next_seq++;
    if (idx < 0) {
        e->tainted = true; /* sent a buffer the application did not hold */
        return;
    }
    uint32_t slot = s->held[idx].slot;
    held_remove(s, (uint32_t)idx);
    if (!e->tainted) {
        fifo_store[(e->fifo_head + e->fifo_count) % AMPVQ_QUEUE_LEN_MAX] =
            (fz_buf_t){.slot = slot, .len = size, .seq = seq};
        e->fifo_count++;
        slot_state[slot] = SLOT_SENT;
    }
}

static void op_recv(fz_engine_t *e, fz_side_t *s, bool local)
{
    uint32_t err = 0;
    void *buf = NULL;
    uint16_t len = 0;

    if (!s->ready) {
        err = FZ_C_INVALID_STATE;
    } else if (s->master) {
        err = FZ_C_NOT_SUPPORTED;
    } else {
        err |= s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u;
    }
    uint32_t pending = e->tainted ? 0 : e->fifo_count;
    begin(e, s, local);
    int rc = esp_amp_queue_recv_try(&s->q, &buf, &len);
    end(e, s, "esp_amp_queue_recv_try", true, rc);
    fz_expect("esp_amp_queue_recv_try", rc, FZ_DOC_RECV);
    if (err != 0) {
        fz_expect("esp_amp_queue_recv_try (caller's state)", rc, err);
    } else if (!e->tainted) {
        fz_expect("esp_amp_queue_recv_try (well-behaved peer)", rc, pending > 0 ? FZ_C_OK : FZ_C_NOT_FOUND);
    } else {
        fz_expect("esp_amp_queue_recv_try", rc, FZ_C_OK | FZ_C_NOT_FOUND | FZ_C_INVALID_RESPONSE);
    }
    if (rc != ESP_OK) {
        return;
    }
    check_handed_out(s, buf, "esp_amp_queue_recv_try");
    FZ_CHECK(len <= s->item, "esp_amp_queue_recv_try handed out a length of %u, above the item size %u", (unsigned)len,
             (unsigned)s->item);
    uint32_t slot = (uint32_t)slot_of(s, buf);
    uint8_t *p = buf;
    uint32_t seq = 0;
    if (!e->tainted) {
        fz_buf_t want = fifo_store[e->fifo_head];
        FZ_CHECK(slot == want.slot && len == want.len,
                 "esp_amp_queue_recv_try returned slot %u (%u bytes); the next sent was slot %u (%u bytes)",
                 (unsigned)slot, (unsigned)len, (unsigned)want.slot, (unsigned)want.len);
        FZ_CHECK(fz_raw_get(p, 4) == want.seq && (s->item < 8 || fz_raw_get(p + s->item - 4, 4) == ~want.seq),
                 "esp_amp_queue_recv_try: contents of message %u changed in flight", (unsigned)want.seq);
        e->fifo_head = (e->fifo_head + 1) % AMPVQ_QUEUE_LEN_MAX;
        e->fifo_count--;
        slot_state[slot] = SLOT_REMOTE;
        seq = want.seq;
    }
    /* The application reads what it was given. */
    static uint8_t sink[AMPVQ_QUEUE_ITEM_SIZE_MAX + 4u];
    fz_raw_read(sink, p, len);
    s->outstanding++;
    held_push(s, slot, len, seq);
}

static void op_free(fz_engine_t *e, fz_side_t *s, bool local, uint8_t k)
{
    uint32_t err = 0;
    int64_t idx = -1;
    uint8_t *ptr = not_shared;

    if (s->ready && s->nheld > 0) {
        idx = k % s->nheld;
        ptr = slot_ptr(s, s->held[idx].slot);
    } else if (s->ready) {
        ptr = slot_ptr(s, 0);
    }
    if (!s->ready) {
        err = FZ_C_INVALID_STATE;
    } else if (s->master) {
        err = FZ_C_NOT_SUPPORTED;
    } else {
        err |= s->outstanding == 0 ? FZ_C_NOT_ALLOWED : 0u;
    }
    begin(e, s, local);
    int rc = esp_amp_queue_free_try(&s->q, ptr);
    end(e, s, "esp_amp_queue_free_try", false, rc);
    fz_expect("esp_amp_queue_free_try", rc, FZ_DOC_FREE);
    fz_expect("esp_amp_queue_free_try (caller's state)", rc, err != 0 ? err : FZ_C_OK);
    if (rc != ESP_OK) {
        return;
    }
    s->outstanding--;
    if (idx < 0) {
        e->tainted = true;
        return;
    }
    uint32_t slot = s->held[idx].slot;
    held_remove(s, (uint32_t)idx);
    if (!e->tainted) {
        slot_state[slot] = SLOT_FREE;
    }
}

static void op_primary(fz_engine_t *e, fz_side_t *s, bool local, uint16_t size)
{
    if (s->master) {
        op_alloc(e, s, local, size);
    } else {
        op_recv(e, s, local);
    }
}

static void op_secondary(fz_engine_t *e, fz_side_t *s, bool local, uint8_t k, uint16_t size)
{
    if (s->master) {
        op_send(e, s, local, k, size);
    } else {
        op_free(e, s, local, k);
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
    uint8_t *d = t->view + t->desc_off + 8u * (fz_u16(e->in) % t->n);
    uint8_t what = fz_u8(e->in) % 4;
    for (unsigned f = 0; f < 3; f++) {
        if (what == 3 || what == f) {
            write_desc_field(e->in, t, d, f);
        }
    }
    e->tainted = true;
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
            op_send(e, m, m == &e->side[e->local], (uint8_t)(m->nheld - 1), size);
        }
        op_recv(e, r, r == &e->side[e->local]);
        if (r->nheld > 0) {
            op_free(e, r, r == &e->side[e->local], (uint8_t)(r->nheld - 1));
        }
    }
    e->snap = snap;
}

/* Rewrite the queue header after both sides opened: it must have no effect
 * on either (the model stays exact). */
static void op_header(fz_engine_t *e)
{
    static const uint8_t off[4] = {0, 2, 4, 8}, size[4] = {2, 2, 4, 4};
    uint8_t f = fz_u8(e->in) % 4;
    uint8_t *p = fz_shm.view[0] + e->block_off + off[f];

    fz_raw_put(p, size[f], fz_field_value(e->in, fz_raw_get(p, size[f]), size[f]));
    e->hdr_dirty = true;
}

/* One call whose outcome the caller's own state fixes. */
static void expect_plain(const char *what, int rc, uint32_t doc, uint32_t allowed)
{
    fz_expect(what, rc, doc);
    fz_expect(what, rc, allowed);
}

static uint32_t role_err(const fz_side_t *s, bool want_master)
{
    if (!s->ready) {
        return FZ_C_INVALID_STATE;
    }
    return s->master == want_master ? 0u : FZ_C_NOT_SUPPORTED;
}

/* Caller mistakes on the side under test; each must get its documented
 * code and leave the queue as it was. */
static void op_misuse(fz_engine_t *e)
{
    fz_side_t *s = &e->side[e->local];
    void *buf = NULL;
    uint16_t len = 0;
    int rc;
    uint8_t sub = fz_u8(e->in) % 8;

    switch (sub) {
    case 0: /* NULL handle */
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(NULL, &buf, 0);
        end(e, s, "alloc_try(NULL)", false, rc);
        expect_plain("esp_amp_queue_alloc_try(NULL queue)", rc, FZ_DOC_ALLOC, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_try(NULL, not_shared, 0);
        end(e, s, "send_try(NULL)", false, rc);
        expect_plain("esp_amp_queue_send_try(NULL queue)", rc, FZ_DOC_SEND, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_recv_try(NULL, &buf, &len);
        end(e, s, "recv_try(NULL)", false, rc);
        expect_plain("esp_amp_queue_recv_try(NULL queue)", rc, FZ_DOC_RECV, FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_free_try(NULL, not_shared);
        end(e, s, "free_try(NULL)", false, rc);
        expect_plain("esp_amp_queue_free_try(NULL queue)", rc, FZ_DOC_FREE, FZ_C_INVALID_ARG);
        rc = esp_amp_queue_intr_enable(NULL, SW_INTR_ID_0);
        expect_plain("esp_amp_queue_intr_enable(NULL queue)", rc, FZ_DOC_INTR_ENABLE, FZ_C_INVALID_ARG);
        break;
    case 1: { /* NULL out-pointers / buffers */
        uint32_t em = role_err(s, true), er = role_err(s, false);
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(&s->q, NULL, 0);
        end(e, s, "alloc_try(buffer NULL)", false, rc);
        expect_plain("esp_amp_queue_alloc_try(buffer NULL)", rc, FZ_DOC_ALLOC, em | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_send_try(&s->q, NULL, 0);
        end(e, s, "send_try(buffer NULL)", false, rc);
        expect_plain("esp_amp_queue_send_try(buffer NULL)", rc, FZ_DOC_SEND, em | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc =
            (fz_u8(e->in) & 1u) ? esp_amp_queue_recv_try(&s->q, NULL, &len) : esp_amp_queue_recv_try(&s->q, &buf, NULL);
        end(e, s, "recv_try(NULL out)", false, rc);
        expect_plain("esp_amp_queue_recv_try(NULL out)", rc, FZ_DOC_RECV, er | FZ_C_INVALID_ARG);
        begin(e, s, false);
        rc = esp_amp_queue_free_try(&s->q, NULL);
        end(e, s, "free_try(buffer NULL)", false, rc);
        expect_plain("esp_amp_queue_free_try(buffer NULL)", rc, FZ_DOC_FREE, er | FZ_C_INVALID_ARG);
        break;
    }
    case 2: { /* the other role's calls */
        if (!s->ready) {
            break;
        }
        bool m = s->master;
        begin(e, s, false);
        rc = m ? esp_amp_queue_recv_try(&s->q, &buf, &len) : esp_amp_queue_alloc_try(&s->q, &buf, 0);
        end(e, s, "wrong-role call", false, rc);
        expect_plain(m ? "esp_amp_queue_recv_try on a master" : "esp_amp_queue_alloc_try on a remote", rc,
                     m ? FZ_DOC_RECV : FZ_DOC_ALLOC, FZ_C_NOT_SUPPORTED);
        begin(e, s, false);
        rc = m ? esp_amp_queue_free_try(&s->q, slot_ptr(s, 0)) : esp_amp_queue_send_try(&s->q, slot_ptr(s, 0), 0);
        end(e, s, "wrong-role call", false, rc);
        expect_plain(m ? "esp_amp_queue_free_try on a master" : "esp_amp_queue_send_try on a remote", rc,
                     m ? FZ_DOC_FREE : FZ_DOC_SEND, FZ_C_NOT_SUPPORTED);
        break;
    }
    case 3: { /* a copy of the handle is not an open handle */
        static esp_amp_queue_t copy;
        copy = s->q;
        begin(e, s, false);
        rc = s->master ? esp_amp_queue_alloc_try(&copy, &buf, 0) : esp_amp_queue_recv_try(&copy, &buf, &len);
        end(e, s, "call on a copied handle", false, rc);
        expect_plain("call on a copied handle", rc, FZ_DOC_ALLOC & FZ_DOC_RECV, FZ_C_INVALID_STATE);
        break;
    }
    case 4: { /* send / free a pointer that may not be one of the buffers */
        if (!s->ready) {
            break;
        }
        uint32_t k = fz_u16(e->in) % s->n;
        uint8_t *p;
        switch (fz_u8(e->in) % 6) {
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
        default:
            p = slot_ptr(s, k);
            break;
        }
        bool valid = slot_of(s, p) >= 0;
        uint16_t size = fz_u8(e->in);
        uint32_t err = s->master && size > s->item ? FZ_C_NO_MEM : 0u;
        err |= valid ? 0u : FZ_C_INVALID_ARG;
        err |= s->outstanding == 0 ? FZ_C_NOT_ALLOWED : 0u;
        begin(e, s, false);
        rc = s->master ? esp_amp_queue_send_try(&s->q, p, size) : esp_amp_queue_free_try(&s->q, p);
        end(e, s, s->master ? "esp_amp_queue_send_try" : "esp_amp_queue_free_try", false, rc);
        expect_plain(s->master ? "esp_amp_queue_send_try(any pointer)" : "esp_amp_queue_free_try(any pointer)", rc,
                     s->master ? FZ_DOC_SEND : FZ_DOC_FREE, err != 0 ? err : FZ_C_OK);
        if (rc == ESP_OK) {
            /* The core took it as one of the application's buffers. */
            int64_t h = held_find(s, (uint32_t)slot_of(s, p));
            if (h >= 0) {
                held_remove(s, (uint32_t)h);
            }
            s->outstanding--;
            if (s->master) {
                e->next_seq++;
            }
            e->tainted = true;
        }
        break;
    }
    case 5: { /* sizes above the item size */
        if (!s->ready) {
            break;
        }
        uint16_t size = (uint16_t)(s->item + 1u + fz_u16(e->in) % (0xffffu - s->item));
        begin(e, s, false);
        rc = esp_amp_queue_alloc_try(&s->q, &buf, size);
        end(e, s, "esp_amp_queue_alloc_try(oversized)", true, rc);
        expect_plain("esp_amp_queue_alloc_try(size > item)", rc, FZ_DOC_ALLOC,
                     !s->master ? FZ_C_NOT_SUPPORTED : FZ_C_NO_MEM | (s->outstanding >= s->n ? FZ_C_NOT_FOUND : 0u));
        break;
    }
    case 6: { /* interrupt id out of range */
        uint32_t err = FZ_C_INVALID_ARG | role_err(s, false);
        if (s->ready && !s->master && !s->has_cb) {
            err |= FZ_C_INVALID_STATE;
        }
        rc = esp_amp_queue_intr_enable(&s->q, (esp_amp_sw_intr_id_t)(32u + fz_u8(e->in)));
        expect_plain("esp_amp_queue_intr_enable(id > 31)", rc, FZ_DOC_INTR_ENABLE, err);
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
        uint32_t err = !r->ready ? FZ_C_INVALID_STATE : !r->has_cb ? FZ_C_INVALID_STATE : 0u;
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

/* The sub core restarts and opens its side again from the header. */
static void op_restart(fz_engine_t *e)
{
    fz_side_t *s = &e->side[AMPVQ_CORE_SUB];

    if (!s->ready) {
        return;
    }
    e->tainted = true; /* its indices start over while the peer's go on */
    fz_unpoison(FZ_HDR_BYTES, fz_shm.size);
    fz_queue_open_sub(e, !e->hdr_dirty, NULL);
    apply_poison(e);
}

/* ------------------------------------------------------------- phases */

bool fz_queue_create(fz_engine_t *e, fz_in_t *in, const fz_queue_params_t *p)
{
    /* Everything the main core allocates, in allocation order. */
    uint32_t len2 = 1, item4 = ((uint32_t)p->item_size + 3u) & ~3u;
    while (len2 < p->queue_len) {
        len2 <<= 1;
    }
    bool args_ok = p->queue_len != 0 && p->queue_len <= AMPVQ_QUEUE_LEN_MAX && p->item_size != 0 &&
                   p->item_size <= AMPVQ_QUEUE_ITEM_SIZE_MAX;
    uint64_t total = 16u + 8ull * len2 + (uint64_t)len2 * item4;
    uint64_t need = ALIGN8(DIR_END) + (p->event_words ? 16u : 0u) + (p->pre_size ? ALIGN8((uint64_t)p->pre_size) : 0u) +
                    (args_ok ? total : 64u);
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
    e->fifo = fifo_store;
    e->hooks = (fz_hook_cfg_t){.tear = tear_desc, .ctx = e};
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
              fz_shm.size < DIR_END + AMPVQ_SYS_INFO_ALIGN ? FZ_C_INVALID_SIZE : FZ_C_OK);
    if (rc != ESP_OK) {
        return false;
    }
    uint8_t *snap = snap_before;
    fz_ref_alloc_t ra;
    if (p->event_words) {
        fz_snapshot(snap);
        fz_ref_alloc(snap, fz_shm.size, SYS_INFO_RESERVED_ID_EVENT_MAIN, 4, &ra);
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
    uint32_t want = 0;
    want |= p->queue_len == 0 || p->queue_len > AMPVQ_QUEUE_LEN_MAX ? FZ_C_INVALID_ARG : 0u;
    want |= p->item_size == 0 || p->item_size > AMPVQ_QUEUE_ITEM_SIZE_MAX ? FZ_C_INVALID_SIZE : 0u;
    fz_snapshot(snap);
    if (want == 0) {
        fz_ref_alloc(snap, fz_shm.size, p->qid, (uint32_t)total, &ra);
        want = ra.ok ? FZ_C_OK : ra.why;
    }
    fz_side_t *ms = &e->side[AMPVQ_CORE_MAIN];
    fz_call_begin(NULL, NULL);
    rc = esp_amp_queue_main_init(&ms->q, p->queue_len, p->item_size, ms->has_cb ? on_cb : NULL, ms, ms->master,
                                 (esp_amp_sys_info_id_t)p->qid);
    fz_call_stats_t st;
    fz_call_end(&st);
    unsigned bound = 5u + 3u * ((fz_shm.size - FZ_HDR_BYTES) / 12u) + 4u;
    FZ_CHECK(st.reads <= bound, "esp_amp_queue_main_init loaded %u fields (bound %u)", st.reads, bound);
    fz_expect("esp_amp_queue_main_init", rc, FZ_DOC_MAIN_INIT);
    fz_expect("esp_amp_queue_main_init (arguments and directory)", rc, want);
    if (rc != ESP_OK) {
        return false;
    }
    adopt(e, AMPVQ_CORE_MAIN, "esp_amp_queue_main_init");
    e->block_off = ra.off;
    e->block_size = (uint32_t)total;
    FZ_CHECK(ms->n == len2 && ms->item == item4 && ms->desc_off == ra.off + 16u &&
                 ms->buf_off == ms->desc_off + 8u * len2,
             "esp_amp_queue_main_init: geometry %u x %u at desc %u buf %u, expected %u x %u in the block at %u",
             (unsigned)ms->n, (unsigned)ms->item, (unsigned)ms->desc_off, (unsigned)ms->buf_off, (unsigned)len2,
             (unsigned)item4, (unsigned)ra.off);
    /* Slots start out lending their own buffers, all free for the master. */
    for (uint32_t i = 0; i < len2 && i < 64; i++) {
        const uint8_t *d = ms->view + ms->desc_off + 8u * i;
        FZ_CHECK(fz_raw_get(d, 4) == ms->buf_off + i * item4 && fz_raw_get(d + 6, 2) == 0,
                 "esp_amp_queue_main_init: descriptor %u starts wrong", (unsigned)i);
    }
    memset(slot_state, SLOT_FREE, len2);
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
    /* Directory scan and header: bounded by the region, not by its bytes. */
    unsigned bound = 5u + 3u * ((fz_shm.size - FZ_HDR_BYTES) / 12u) + 4u;
    FZ_CHECK(st.reads <= bound, "esp_amp_queue_sub_init loaded %u fields (bound %u)", st.reads, bound);
    FZ_CHECK(st.writes == 0, "esp_amp_queue_sub_init stored to shared memory");
    if (!st.tore && !e->race) {
        int64_t d = fz_snapshot_diff(snap_before, NULL, 0);
        FZ_CHECK(d < 0, "esp_amp_queue_sub_init changed region byte %lld", (long long)d);
        FZ_CHECK(rc == ref.rc, "esp_amp_queue_sub_init returned %s; the header says %s", fz_code_name(rc),
                 fz_code_name(ref.rc));
    }
    if (exact && !st.tore) {
        FZ_CHECK(rc == ESP_OK, "esp_amp_queue_sub_init refused the header main_init wrote (%s)", fz_code_name(rc));
    }
    if (rc != ESP_OK) {
        /* The application drops a handle whose init failed. */
        memset(&s->q, 0, sizeof(s->q));
        s->ready = false;
        s->outstanding = 0;
        s->nheld = 0;
        return rc;
    }
    adopt(e, AMPVQ_CORE_SUB, "esp_amp_queue_sub_init");
    if (!st.tore) {
        FZ_CHECK(s->n == ref.n && s->item == ref.item && s->desc_off == ref.desc_off && s->buf_off == ref.buf_off,
                 "esp_amp_queue_sub_init adopted %u x %u desc %u buf %u; the header says %u x %u desc %u buf %u",
                 (unsigned)s->n, (unsigned)s->item, (unsigned)s->desc_off, (unsigned)s->buf_off, (unsigned)ref.n,
                 (unsigned)ref.item, (unsigned)ref.desc_off, (unsigned)ref.buf_off);
    }
    return rc;
}

void fz_queue_run(fz_engine_t *e)
{
    fz_side_t *loc = &e->side[e->local], *peer = &e->side[e->local ^ 1];

    apply_poison(e);
    /* Race mode: the racing thread rewrites the tested side's descriptors
     * for the whole run (starting and stopping it around every call would
     * cost a thread wake-up per call). */
    if (e->race && loc->ready) {
        fz_race_cfg_t rc = {.table = loc->view + loc->desc_off,
                            .n = loc->n,
                            .buf_off = loc->buf_off,
                            .item = loc->item,
                            .seed = 0x9e3779b9u ^ (uint32_t)e->in->n};
        fz_race_begin(&rc);
        e->tainted = true;
    } else {
        e->race = false;
    }
    while (e->in->n > 0) {
        uint8_t op = fz_u8(e->in);
        uint16_t size = (op & 0x10u) ? fz_u16(e->in) : fz_u8(e->in);
        switch (op % 16) {
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
        default:
            op_primary(e, loc, true, size);
            op_secondary(e, loc, true, fz_u8(e->in), size);
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
