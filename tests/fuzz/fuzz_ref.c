/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Reference reading of the directory and queue header; see fuzz_ref.h.
 * Sizes are computed in 64 bits so that the reference itself cannot wrap.
 */
#include "esp_err.h"
#include "esp_amp_sys_info.h"
#include "ampvq/config.h"
#include "ampvq/shm_layout.h"
#include "fuzz_ref.h"

#define ENTRY_BYTES 12u
/* The directory the main core writes: AMPVQ_SYS_INFO_MAX_ENTRIES entries. */
#define OWN_DIR_END (FZ_HDR_BYTES + ENTRY_BYTES * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES)

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

void fz_ref_region(const uint8_t *snap, uint32_t shm_size, fz_ref_region_t *r)
{
    *r = (fz_ref_region_t){.rc = ESP_ERR_INVALID_STATE};
    if (get32(snap) != AMPVQ_REGION_MAGIC) {
        return; /* the main core has not published it */
    }
    r->rc = ESP_ERR_INVALID_RESPONSE;
    if (get16(snap + 4) != AMPVQ_LAYOUT_VERSION) {
        return;
    }
    r->cap = get16(snap + 6);
    r->size = get32(snap + 8);
    r->count = get32(snap + 12);
    uint64_t dir_end = FZ_HDR_BYTES + (uint64_t)ENTRY_BYTES * r->cap;
    /* The region must fit what the port mapped, the directory the region,
     * and the count the directory. */
    if (r->size > shm_size || dir_end > r->size || r->count > r->cap) {
        return;
    }
    r->dir_end = (uint32_t)dir_end;
    r->rc = ESP_OK;
}

typedef struct {
    uint32_t id, size, off;
    bool in_bounds;
} ref_entry_t;

static ref_entry_t entry(const uint8_t *snap, const fz_ref_region_t *r, uint32_t i)
{
    const uint8_t *e = snap + FZ_HDR_BYTES + ENTRY_BYTES * i;
    ref_entry_t x = {.id = get16(e), .size = get32(e + 4), .off = get32(e + 8)};
    /* After the directory, 4-byte aligned, wholly inside the region. */
    x.in_bounds = x.off >= r->dir_end && x.off % 4u == 0 && (uint64_t)x.off + x.size <= r->size;
    return x;
}

void fz_ref_find(const uint8_t *snap, uint32_t shm_size, uint16_t id, fz_ref_block_t *b)
{
    fz_ref_region_t r;

    *b = (fz_ref_block_t){0};
    fz_ref_region(snap, shm_size, &r);
    if (r.rc != ESP_OK) {
        b->rc = r.rc;
        return;
    }
    for (uint32_t i = 0; i < r.count; i++) {
        ref_entry_t e = entry(snap, &r, i);
        if (e.id != id) {
            continue;
        }
        /* The first entry with the id decides; a corrupt one fails the
         * lookup rather than being skipped. */
        b->rc = e.in_bounds ? ESP_OK : ESP_ERR_INVALID_RESPONSE;
        b->off = e.off;
        b->size = e.size;
        return;
    }
    b->rc = ESP_ERR_NOT_FOUND;
}

static bool area_ok(uint64_t off, uint64_t len, uint64_t align, uint64_t lo, uint64_t hi)
{
    return off % align == 0 && off >= lo && off + len <= hi;
}

bool fz_qgeom_eq(const fz_qgeom_t *a, const fz_qgeom_t *b)
{
    return a->n == b->n && a->item == b->item && a->stride == b->stride && a->desc_off == b->desc_off &&
           a->buf_off == b->buf_off && a->evt == b->evt && a->ctl[0] == b->ctl[0] && a->ctl[1] == b->ctl[1];
}

bool fz_ref_layout(uint32_t queue_len, uint32_t item_size, bool evt, fz_ref_layout_t *l)
{
    *l = (fz_ref_layout_t){0};
    uint32_t item = (item_size + FZ_ITEM_ALIGN - 1u) / FZ_ITEM_ALIGN * FZ_ITEM_ALIGN;
    if (queue_len == 0 || queue_len > AMPVQ_QUEUE_LEN_MAX || item_size == 0 ||
        item_size > AMPVQ_QUEUE_ITEM_SIZE_MAX || item > 0xffffu) {
        return false;
    }
    l->n = 1;
    while (l->n < queue_len) {
        l->n <<= 1;
    }
    l->item = item;
    l->desc_rel = FZ_DESC_REL;
    l->buf_rel = l->desc_rel + l->n * FZ_DESC_STRIDE;
    l->total = l->buf_rel + l->n * item;
    /* Control words: own lines with the event index or without coherent
     * caches, else 16 bytes, 8-aligned. */
    /* Lines of memory: a block aligned to less than a line gets the room to
     * align the first control line wherever the block lands. */
    bool own_lines = !AMPVQ_CACHE_COHERENT || evt;
    uint32_t line = (uint32_t)AMPVQ_CACHE_LINE;
    uint32_t end8 = (l->total + 7u) & ~7u, room = 0;
    if (own_lines) {
        room = AMPVQ_SYS_INFO_ALIGN >= AMPVQ_CACHE_LINE ? ((l->total + line - 1u) & ~(line - 1u)) - end8 : line - 8u;
    }
    l->own_lines = own_lines;
    l->buf_end = l->total;
    l->ctl_rel = end8 + room; /* upper bound of where the first struct starts */
    l->ctl_step = own_lines ? line : 8u;
    l->total = end8 + room + 2u * l->ctl_step;
    return true;
}

void fz_ref_ctl(const fz_ref_layout_t *l, uint32_t block_off, uint32_t ctl[2])
{
    uint32_t align = l->own_lines ? (uint32_t)AMPVQ_CACHE_LINE : 8u;
    ctl[0] = (block_off + l->buf_end + align - 1u) & ~(align - 1u);
    ctl[1] = ctl[0] + l->ctl_step;
}

void fz_ref_queue(const uint8_t *snap, uint32_t shm_size, uint16_t id, fz_ref_queue_t *q)
{
    fz_ref_block_t b;

    *q = (fz_ref_queue_t){0};
    fz_ref_find(snap, shm_size, id, &b);
    if (b.rc != ESP_OK) {
        /* "no block under sysinfo_id, or the main core has not finished" */
        q->rc = b.rc == ESP_ERR_INVALID_STATE ? ESP_ERR_NOT_FOUND : b.rc;
        return;
    }
    q->rc = ESP_ERR_INVALID_RESPONSE;
    if (b.size < FZ_QHDR_BYTES) {
        return; /* too small to hold the header */
    }
    const uint8_t *h = snap + b.off;
    fz_qgeom_t *g = &q->g;
    g->n = get16(h);
    if (g->n == 0) {
        q->rc = ESP_ERR_NOT_FOUND; /* len is published last */
        return;
    }
    g->item = get16(h + 2);
    g->desc_off = get32(h + 4);
    g->buf_off = get32(h + 8);
    g->stride = get16(h + 12);
    g->evt = (get16(h + 14) & FZ_FEAT_EVENT_IDX) != 0;
    g->ctl[0] = get32(h + 16);
    g->ctl[1] = get32(h + 20);
    uint64_t lo = (uint64_t)b.off + FZ_QHDR_BYTES, hi = (uint64_t)b.off + b.size;
    uint64_t dbytes = (uint64_t)g->stride * g->n, bbytes = (uint64_t)g->n * g->item;
    bool ok = (g->n & (g->n - 1u)) == 0 && g->n <= AMPVQ_QUEUE_LEN_MAX && g->item != 0 &&
              g->item % FZ_ITEM_ALIGN == 0 && (g->stride & (g->stride - 1u)) == 0 && g->stride >= FZ_DESC_STRIDE &&
              g->stride <= 256u && area_ok(g->desc_off, dbytes, FZ_ITEM_ALIGN, lo, hi) &&
              area_ok(g->buf_off, bbytes, FZ_ITEM_ALIGN, lo, hi) &&
              (g->desc_off + dbytes <= g->buf_off || g->buf_off + bbytes <= g->desc_off);
    /* Both roles' control words, always (no overlap rule for them). */
    ok = ok && area_ok(g->ctl[0], 8, 4, lo, hi) && area_ok(g->ctl[1], 8, 4, lo, hi);
    if (ok) {
        q->rc = ESP_OK;
    }
}

uint32_t fz_ref_attach(uint32_t region_sub_session, uint32_t old_word)
{
    uint32_t s = region_sub_session & ~FZ_SESSION_FRESH;
    if (old_word == 0) {
        return s | FZ_SESSION_FRESH;
    }
    return (old_word & ~FZ_SESSION_FRESH) == s ? old_word : s;
}

int fz_ref_sys_info_init_sub(const uint8_t *snap, uint32_t shm_size)
{
    fz_ref_region_t r;

    if (shm_size < FZ_MIN_REGION) {
        return ESP_ERR_INVALID_SIZE;
    }
    fz_ref_region(snap, shm_size, &r);
    return r.rc;
}

int fz_ref_event_init_sub(const uint8_t *snap, uint32_t shm_size)
{
    static const uint16_t ids[2] = {SYS_INFO_RESERVED_ID_EVENT_MAIN, SYS_INFO_RESERVED_ID_EVENT_SUB};

    for (int i = 0; i < 2; i++) {
        fz_ref_block_t b;
        fz_ref_find(snap, shm_size, ids[i], &b);
        if (b.rc != ESP_OK || b.size < 4u) {
            return ESP_ERR_NOT_FOUND;
        }
    }
    return ESP_OK;
}

void fz_ref_alloc(const uint8_t *snap, uint32_t shm_size, uint16_t id, uint32_t size, fz_ref_alloc_t *a)
{
    fz_ref_alloc_ex(snap, shm_size, id, size, false, a);
}

void fz_ref_alloc_ex(const uint8_t *snap, uint32_t shm_size, uint16_t id, uint32_t size, bool uncached,
                     fz_ref_alloc_t *a)
{
    fz_ref_region_t r;
    uncached = uncached && FZ_UNCACHED_END != 0;

    *a = (fz_ref_alloc_t){0};
    if (id == SYS_INFO_ID_MAX) {
        a->why |= FZ_C_INVALID_ARG;
    }
    if (size == 0) {
        a->why |= FZ_C_INVALID_SIZE;
    }
    fz_ref_region(snap, shm_size, &r);
    if (r.rc != ESP_OK) {
        a->why |= fz_code_bit(r.rc);
        return;
    }
    /* The main core only trusts a directory of the capacity it wrote. */
    if (r.cap != AMPVQ_SYS_INFO_MAX_ENTRIES) {
        a->why |= FZ_C_INVALID_RESPONSE;
        return;
    }
    /* Each arena is filled on its own: the uncached one from the directory,
     * the cached one from the end of the uncached prefix. */
    uint64_t next = uncached || r.dir_end > FZ_UNCACHED_END ? r.dir_end : FZ_UNCACHED_END;
    uint64_t limit = uncached ? FZ_UNCACHED_END : r.size;
    bool corrupt = false;
    for (uint32_t i = 0; i < r.count; i++) {
        ref_entry_t e = entry(snap, &r, i);
        if (!e.in_bounds) {
            corrupt = true;
            continue;
        }
        if (e.id == id) {
            a->why |= FZ_C_INVALID_STATE; /* taken */
        }
        if ((e.off < FZ_UNCACHED_END) == uncached && (uint64_t)e.off + e.size > next) {
            next = (uint64_t)e.off + e.size;
        }
    }
    if (corrupt) {
        a->why |= FZ_C_INVALID_RESPONSE;
        return;
    }
    next = (next + AMPVQ_SYS_INFO_ALIGN - 1u) & ~(uint64_t)(AMPVQ_SYS_INFO_ALIGN - 1u);
    if (r.count == r.cap || next + size > limit) {
        a->why |= FZ_C_NO_MEM;
    }
    if (a->why == 0) {
        a->ok = true;
        a->off = (uint32_t)next;
        a->index = r.count;
    }
}

void fz_check_geometry(const char *who, const fz_qgeom_t *g)
{
    uint64_t dbytes = (uint64_t)g->stride * g->n, bbytes = (uint64_t)g->n * g->item;

    FZ_CHECK(g->n != 0 && (g->n & (g->n - 1u)) == 0 && g->n <= AMPVQ_QUEUE_LEN_MAX, "%s: accepted a queue of %u slots",
             who, (unsigned)g->n);
    FZ_CHECK(g->item != 0 && g->item % FZ_ITEM_ALIGN == 0 && g->item <= 0xffffu, "%s: accepted an item size of %u",
             who, (unsigned)g->item);
    FZ_CHECK(g->stride >= FZ_DESC_STRIDE && g->stride <= 256u && (g->stride & (g->stride - 1u)) == 0,
             "%s: accepted a descriptor stride of %u", who, (unsigned)g->stride);
    FZ_CHECK(area_ok(g->desc_off, dbytes, FZ_ITEM_ALIGN, FZ_HDR_BYTES, fz_shm.size),
             "%s: descriptor table [%u, +%llu) is not inside the region of %u bytes, aligned", who,
             (unsigned)g->desc_off, (unsigned long long)dbytes, (unsigned)fz_shm.size);
    FZ_CHECK(area_ok(g->buf_off, bbytes, FZ_ITEM_ALIGN, FZ_HDR_BYTES, fz_shm.size),
             "%s: buffer area [%u, +%llu) is not inside the region of %u bytes, aligned", who, (unsigned)g->buf_off,
             (unsigned long long)bbytes, (unsigned)fz_shm.size);
    FZ_CHECK(g->desc_off + dbytes <= g->buf_off || g->buf_off + bbytes <= g->desc_off,
             "%s: descriptor table and buffer area overlap", who);
    for (int i = 0; i < 2; i++) {
        FZ_CHECK(area_ok(g->ctl[i], 8, 4, FZ_HDR_BYTES, fz_shm.size),
                 "%s: control words %d at %u are not inside the region, 4-aligned", who, i, (unsigned)g->ctl[i]);
    }
}

/* ------------------------------------------------------- corruption */

uint32_t fz_field_value(fz_in_t *in, uint32_t cur, unsigned size)
{
    uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1u;
    uint32_t v;

    switch (fz_u8(in) % 8) {
    case 0:
    case 1:
    case 2:
        v = cur + (uint32_t)(int32_t)(int8_t)fz_u8(in);
        break;
    case 3:
        v = fz_u32(in);
        break;
    case 4:
        v = 0;
        break;
    case 5:
        v = 0xffffffffu;
        break;
    case 6:
        v = cur ^ (1u << (fz_u8(in) % (8 * size)));
        break;
    default:
        v = fz_shm.size + (uint32_t)(int32_t)(int8_t)fz_u8(in);
        break;
    }
    return v & mask;
}

static void patch_field(uint32_t off, unsigned size, fz_in_t *in)
{
    if ((uint64_t)off + size > fz_shm.size) {
        return;
    }
    uint8_t *p = fz_shm.view[0] + off;
    fz_raw_put(p, size, fz_field_value(in, fz_raw_get(p, size), size));
}

void fz_patch(fz_in_t *in, const fz_patch_ctx_t *ctx)
{
    /* Region header fields: magic, version, dir_capacity, region_size,
     * dir_count, the two pending words, the two session words. */
    static const uint8_t hdr_off[9] = {0, 4, 6, 8, 12, 16, 20, 24, 28};
    static const uint8_t hdr_size[9] = {4, 2, 2, 4, 4, 4, 4, 4, 4};
    /* Entry fields: id, reserved, size, offset. Queue header: len,
     * item_size, desc_off, buf_off. Descriptor: addr, len, flags. */
    static const uint8_t ent_off[4] = {0, 2, 4, 8}, ent_size[4] = {2, 2, 4, 4};
    static const uint8_t q_off[8] = {0, 2, 4, 8, 12, 14, 16, 20}, q_size[8] = {2, 2, 4, 4, 2, 2, 4, 4};
    static const uint8_t d_off[3] = {0, 4, 6}, d_size[3] = {4, 2, 2};
    uint8_t kind = fz_u8(in);
    uint8_t f = fz_u8(in);

    switch (kind % 8) {
    case 0:
        patch_field(hdr_off[f % 9], hdr_size[f % 9], in);
        break;
    case 1: {
        /* A few entries past the capacity too: the reader must not look. */
        uint32_t i = fz_u8(in) % (AMPVQ_SYS_INFO_MAX_ENTRIES + 2u);
        patch_field(FZ_HDR_BYTES + ENTRY_BYTES * i + ent_off[f % 4], ent_size[f % 4], in);
        break;
    }
    case 2:
        if (ctx->has_queue) {
            patch_field(ctx->block_off + q_off[f % 8], q_size[f % 8], in);
        }
        break;
    case 3:
        if (ctx->has_queue && ctx->n != 0) {
            uint32_t i = fz_u16(in) % ctx->n;
            patch_field(ctx->desc_off + ctx->stride * i + d_off[f % 3], d_size[f % 3], in);
        }
        break;
    case 6:
        /* The new header fields, with values that pass or nearly pass the
         * checks: another stride, the feature bit flipped, control words
         * moved inside the block (or just out of it, or unaligned). */
        if (ctx->has_queue && ctx->block_off + FZ_QHDR_BYTES <= fz_shm.size) {
            uint8_t *h = fz_shm.view[0] + ctx->block_off;
            uint8_t v = fz_u8(in);
            switch (f % 4) {
            case 0:
                fz_raw_put(h + 12, 2, (v & 0x80u) ? v : 1u << (v % 10u));
                break;
            case 1:
                fz_raw_put(h + 14, 2, fz_raw_get(h + 14, 2) ^ ((v & 0x80u) ? v : FZ_FEAT_EVENT_IDX));
                break;
            default: {
                uint32_t rel = (uint32_t)(v & 0x7fu) * ((v & 0x80u) ? 1u : 4u);
                fz_raw_put(h + 16 + 4 * (f % 4 - 2), 4, ctx->block_off + rel + fz_u16(in) % 4096u * 4u);
                break;
            }
            }
        }
        break;
    case 7:
        /* A control word: a wake word (event index) or a session word. */
        if (ctx->has_queue) {
            patch_field(ctx->ctl[f & 1u] + ((f & 2u) ? 4u : 0u), 4, in);
        }
        break;
    case 4: {
        uint32_t off = fz_u32(in) % fz_shm.size;
        patch_field(off & ~3u, 4, in);
        break;
    }
    default: {
        /* Copy entry j over entry i: duplicate ids, shuffled blocks. */
        uint32_t i = fz_u8(in) % AMPVQ_SYS_INFO_MAX_ENTRIES;
        uint32_t j = (uint32_t)f % AMPVQ_SYS_INFO_MAX_ENTRIES;
        uint8_t tmp[ENTRY_BYTES];
        if (OWN_DIR_END <= fz_shm.size) {
            fz_raw_read(tmp, fz_shm.view[0] + FZ_HDR_BYTES + ENTRY_BYTES * j, ENTRY_BYTES);
            fz_raw_write(fz_shm.view[0] + FZ_HDR_BYTES + ENTRY_BYTES * i, tmp, ENTRY_BYTES);
        }
        break;
    }
    }
}

/* Decision of the "before" call, used by the matching "after" call. */
static uint8_t tear_pending;

bool fz_tear_field(uint8_t *field, unsigned size, bool before, fz_in_t *in, void *ctx)
{
    (void)ctx;
    if (before) {
        tear_pending = fz_u8(in);
    }
    if ((tear_pending & (before ? 1u : 2u)) == 0) {
        return false;
    }
    uint32_t cur = fz_raw_get(field, size);
    uint32_t v = fz_field_value(in, cur, size);
    fz_raw_put(field, size, v);
    return v != cur;
}
