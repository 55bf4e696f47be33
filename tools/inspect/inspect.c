/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Offline checker of a shared-memory image (docs/inspect.md). The image is
 * hostile input: every read goes through rd16()/rd32(), which refuse bytes
 * outside it, and all offset arithmetic is done in 64 bits so that no
 * 32-bit field can wrap a bounds check.
 *
 * Field values are decoded little-endian byte by byte (the layout is
 * little-endian), so the tool gives the same answer on any host.
 */
#include "inspect.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ampvq/shm_layout.h"

#define REGION_HDR_SIZE 32u
#define DIR_ENTRY_SIZE  12u
#define QUEUE_HDR_SIZE  24u
#define DESC_SIZE       8u
#define CTL_SIZE        8u /* ampvq_queue_ctl_t: wake, session */
#define STRIDE_MAX      256u
/* With the event index each role's control words are on a cache line of
 * their own; the layout does not record the line size, 64 is what the
 * default build uses (AMPVQ_CACHE_LINE). */
#define CTL_LINE 64u
/* Reserved ids of the two event words (esp_amp_sys_info.h): never queues. */
#define ID_EVENT_MAIN 0xff01u
#define ID_EVENT_SUB  0xff02u
/* Enough for any real image; a fuzzed one could otherwise print millions. */
#define VIOLATIONS_KEPT 10000u

#define F_AVAIL AMPVQ_DESC_F_AVAIL
#define F_USED  AMPVQ_DESC_F_USED
#define F_BOTH  ((uint16_t)(F_AVAIL | F_USED))

typedef struct {
    const uint8_t *img;
    uint64_t n;
    FILE *out;
    ampvq_inspect_opts_t opts;
    char **viol;
    size_t n_viol;
    size_t n_kept;
    bool oom;
    uint32_t sub_session; /* region session[SUB]: the sub core's instance now */
} ctx_t;

typedef struct {
    uint32_t index; /* position in the directory */
    uint16_t id;
    uint32_t size;
    uint32_t offset;
    bool overlaps; /* shares bytes with another block */
} entry_t;

static bool rd16(const ctx_t *c, uint64_t off, uint16_t *v)
{
    if (off > c->n || c->n - off < 2) {
        *v = 0; /* past the image: callers that ignore the result print 0 */
        return false;
    }
    *v = (uint16_t)(c->img[off] | (c->img[off + 1] << 8));
    return true;
}

static bool rd32(const ctx_t *c, uint64_t off, uint32_t *v)
{
    if (off > c->n || c->n - off < 4) {
        *v = 0;
        return false;
    }
    *v = (uint32_t)c->img[off] | ((uint32_t)c->img[off + 1] << 8) | ((uint32_t)c->img[off + 2] << 16) |
         ((uint32_t)c->img[off + 3] << 24);
    return true;
}

/* Collected and printed after the description, so the report ends with the
 * list of problems. */
static void violation(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(ctx_t *c, const char *fmt, ...)
{
    c->n_viol++;
    if (c->n_kept >= VIOLATIONS_KEPT || c->oom) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (c->n_kept % 64 == 0) {
        char **grown = realloc(c->viol, (c->n_kept + 64) * sizeof(*grown));
        if (grown == NULL) {
            c->oom = true;
            return;
        }
        c->viol = grown;
    }
    size_t len = strlen(line) + 1;
    char *copy = malloc(len);
    if (copy == NULL) {
        c->oom = true;
        return;
    }
    memcpy(copy, line, len);
    c->viol[c->n_kept++] = copy;
}

static bool is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1u)) == 0;
}

/* [off, off + len) lies in [lo, hi). */
static bool inside(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
    return off >= lo && off <= hi && len <= hi - off;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen != 0 && blen != 0 && a < b + blen && b < a + alen;
}

/* The control words at a and at b touch a common CTL_LINE-byte line. */
static bool share_line(uint32_t a, uint32_t b)
{
    uint64_t a0 = a / CTL_LINE, a1 = ((uint64_t)a + CTL_SIZE - 1u) / CTL_LINE;
    uint64_t b0 = b / CTL_LINE, b1 = ((uint64_t)b + CTL_SIZE - 1u) / CTL_LINE;
    return a0 <= b1 && b0 <= a1;
}

/* ------------------------------------------------------------------ */
/* Queues                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    uint16_t len;
    uint16_t item_size;
    uint32_t desc_off;
    uint32_t buf_off;
    uint16_t desc_stride;
    uint16_t features;
    uint32_t ctl_off[2]; /* [0] remote, [1] master */
} qhdr_t;

static const char *const role_name[2] = {"remote", "master"};

static void read_qhdr(const ctx_t *c, uint64_t at, qhdr_t *h)
{
    /* The caller checked that the whole header is in the image. */
    rd16(c, at + 0, &h->len);
    rd16(c, at + 2, &h->item_size);
    rd32(c, at + 4, &h->desc_off);
    rd32(c, at + 8, &h->buf_off);
    rd16(c, at + 12, &h->desc_stride);
    rd16(c, at + 14, &h->features);
    rd32(c, at + 16, &h->ctl_off[0]);
    rd32(c, at + 20, &h->ctl_off[1]);
}

/* A block is taken for a queue when its header points into the block
 * itself: random application data almost never does, and a queue damaged
 * anywhere else in its header is still recognised and checked. */
static bool looks_like_queue(const ctx_t *c, const entry_t *e)
{
    qhdr_t h;
    uint64_t lo = (uint64_t)e->offset + QUEUE_HDR_SIZE;
    uint64_t hi = (uint64_t)e->offset + e->size;
    if (e->id == ID_EVENT_MAIN || e->id == ID_EVENT_SUB || e->size < QUEUE_HDR_SIZE ||
        !inside(e->offset, QUEUE_HDR_SIZE, 0, c->n)) {
        return false;
    }
    read_qhdr(c, e->offset, &h);
    return h.desc_off >= lo && h.desc_off < hi && h.buf_off >= lo && h.buf_off < hi;
}

/* The flags of a slot: USED is the parity of the master lap the value
 * belongs to, AVAIL != USED means "sent" (see docs/inspect.md). */
static bool flags_sent(uint16_t f)
{
    return ((f & F_AVAIL) != 0) != ((f & F_USED) != 0);
}

static bool flags_odd(uint16_t f)
{
    return (f & F_USED) != 0;
}

typedef struct {
    bool consistent;
    uint32_t k;    /* slot of the remote's next free (its tail mod len) */
    uint32_t sent; /* slots sent: in flight or held by the remote */
} ring_t;

/*
 * In ring order from the remote's tail rt, the slots hold: sent ones
 * [rt, master tail), then free ones up to rt + len. Slots before rt's slot
 * in memory are one lap ahead, so USED changes at most once along memory
 * order (exactly at rt's slot, unless that is slot 0), and from there on
 * the sent/free kinds form one run of sent followed by one run of free.
 */
static void ring_analyse(ctx_t *c, uint16_t id, const uint16_t *flags, uint32_t len, ring_t *r)
{
    uint32_t changes = 0;
    r->k = 0;
    r->sent = 0;
    r->consistent = true;
    for (uint32_t s = 1; s < len; s++) {
        if (flags_odd(flags[s]) != flags_odd(flags[s - 1])) {
            if (changes++ == 0) {
                r->k = s;
            }
        }
    }
    if (changes > 1) {
        violation(c,
                  "queue id 0x%04x: the USED bit changes %u times along the descriptor table (a ring has at "
                  "most one lap boundary)",
                  id, changes);
        r->consistent = false;
        return;
    }
    r->sent = 0;
    bool seen_free = false;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t s = (r->k + i) & (len - 1u);
        if (!flags_sent(flags[s])) {
            seen_free = true;
        } else if (seen_free) {
            violation(c,
                      "queue id 0x%04x: slot %u is sent but follows a free slot in ring order from the lap "
                      "boundary at slot %u (sent slots must form one run)",
                      id, s, r->k);
            r->consistent = false;
            return;
        } else {
            r->sent++;
        }
    }
}

static void check_queue_header(ctx_t *c, const entry_t *e, const qhdr_t *h, bool *walkable, bool *ctl_ok)
{
    uint64_t lo = (uint64_t)e->offset + QUEUE_HDR_SIZE;
    uint64_t hi = (uint64_t)e->offset + e->size;
    uint64_t desc_bytes = (uint64_t)h->len * h->desc_stride;
    uint64_t buf_bytes = (uint64_t)h->len * h->item_size;
    bool len_ok = is_pow2(h->len) && h->len <= AMPVQ_QUEUE_LEN_MAX;
    bool stride_ok = is_pow2(h->desc_stride) && h->desc_stride >= DESC_SIZE && h->desc_stride <= STRIDE_MAX;

    if (!len_ok) {
        violation(c, "queue id 0x%04x: len %u is not a power of two in 1..%u", e->id, h->len, AMPVQ_QUEUE_LEN_MAX);
    }
    if (h->item_size == 0 || h->item_size % 4 != 0) {
        violation(c, "queue id 0x%04x: item_size %u is not a non-zero multiple of 4", e->id, h->item_size);
    }
    if (!stride_ok) {
        violation(c, "queue id 0x%04x: desc_stride %u is not a power of two in %u..%u", e->id, h->desc_stride,
                  DESC_SIZE, STRIDE_MAX);
    }
    bool desc_in = h->desc_off % 4 == 0 && inside(h->desc_off, desc_bytes, lo, hi);
    if (!desc_in) {
        violation(c,
                  "queue id 0x%04x: descriptor table 0x%08x+%llu is misaligned or outside the block 0x%08llx..0x%08llx",
                  e->id, h->desc_off, (unsigned long long)desc_bytes, (unsigned long long)lo, (unsigned long long)hi);
    }
    if (h->buf_off % 4 != 0 || !inside(h->buf_off, buf_bytes, lo, hi)) {
        violation(c, "queue id 0x%04x: buffer area 0x%08x+%llu is misaligned or outside the block 0x%08llx..0x%08llx",
                  e->id, h->buf_off, (unsigned long long)buf_bytes, (unsigned long long)lo, (unsigned long long)hi);
    }
    if (overlap(h->desc_off, desc_bytes, h->buf_off, buf_bytes)) {
        violation(c, "queue id 0x%04x: descriptor table and buffer area overlap", e->id);
    }
    if (h->features & ~AMPVQ_QUEUE_FEAT_EVENT_IDX) {
        violation(c, "queue id 0x%04x: unknown feature bits 0x%04x", e->id,
                  (unsigned)(h->features & ~AMPVQ_QUEUE_FEAT_EVENT_IDX));
    }
    /* The control words of both roles are always there (session words);
     * the wake words in them are used only with the event index. */
    bool ctl_in[2];
    for (int i = 0; i < 2; i++) {
        uint32_t o = h->ctl_off[i];
        ctl_in[i] = o % 4 == 0 && inside(o, CTL_SIZE, lo, hi);
        if (!ctl_in[i]) {
            violation(c,
                      "queue id 0x%04x: %s control words 0x%08x+%u are misaligned or outside the block "
                      "0x%08llx..0x%08llx",
                      e->id, role_name[i], o, CTL_SIZE, (unsigned long long)lo, (unsigned long long)hi);
        }
        if (overlap(o, CTL_SIZE, h->desc_off, desc_bytes) || overlap(o, CTL_SIZE, h->buf_off, buf_bytes)) {
            violation(c, "queue id 0x%04x: %s control words 0x%08x+%u overlap the descriptors or buffers", e->id,
                      role_name[i], o, CTL_SIZE);
            ctl_in[i] = false;
        }
    }
    if (overlap(h->ctl_off[0], CTL_SIZE, h->ctl_off[1], CTL_SIZE)) {
        violation(c, "queue id 0x%04x: remote and master control words overlap (0x%08x, 0x%08x)", e->id, h->ctl_off[0],
                  h->ctl_off[1]);
        ctl_in[0] = ctl_in[1] = false;
    } else if ((h->features & AMPVQ_QUEUE_FEAT_EVENT_IDX) && share_line(h->ctl_off[0], h->ctl_off[1])) {
        /* Each core writes its wake word at every claim: sharing a line
         * would make the two cores write one line (and, without coherent
         * caches, lose each other's writes). */
        violation(c,
                  "queue id 0x%04x: remote and master control words (0x%08x, 0x%08x) share a %u-byte line "
                  "with the event-index feature",
                  e->id, h->ctl_off[0], h->ctl_off[1], CTL_LINE);
    }
    *ctl_ok = ctl_in[0] && ctl_in[1];
    /* Descriptors are read only where the table can be located; every read
     * is bounds-checked against the image anyway. */
    *walkable = len_ok && stride_ok && inside(h->desc_off, desc_bytes, 0, c->n);
}

/*
 * The two roles' control words, and what the session words say about the
 * link. The sub core writes its instance number (with AMPVQ_SESSION_FRESH
 * on a first attach) into its role's word; the main core copies that value
 * into its own role's word once the ring belongs to that instance. Which
 * role is on which core is not in shared memory, so only "equal" (in step)
 * and "different" (settling) can be told apart: both are legal states of a
 * running pair, reported as lines and NOTEs, never as violations.
 */
static void inspect_ctl(ctx_t *c, const entry_t *e, const qhdr_t *h)
{
    uint32_t wake[2] = {0, 0}, sess[2] = {0, 0}; /* callers checked the areas; zero if not */
    for (int i = 0; i < 2; i++) {
        rd32(c, h->ctl_off[i], &wake[i]);
        rd32(c, (uint64_t)h->ctl_off[i] + 4u, &sess[i]);
    }
    fprintf(c->out, "ctl remote wake %u session 0x%08x master wake %u session 0x%08x\n", wake[0], sess[0], wake[1],
            sess[1]);
    /* A first attach is marked fresh and never acknowledged (there is
     * nothing to reset): the sub core's word is then X|FRESH, the main
     * core's 0. */
    uint32_t fresh_word = sess[0] != 0 && sess[1] == 0 ? sess[0] : sess[1] != 0 && sess[0] == 0 ? sess[1] : 0;
    if (sess[0] == 0 && sess[1] == 0) {
        fprintf(c->out, "link unattached\n");
    } else if (sess[0] != sess[1] && !(fresh_word & AMPVQ_SESSION_FRESH)) {
        fprintf(c->out, "link settling\n");
        fprintf(c->out,
                "NOTE: queue id 0x%04x: link settling: session words differ (remote 0x%08x, master 0x%08x); the "
                "main core has not yet acknowledged the sub core's session (it copies it into its own word "
                "after resetting the ring an earlier instance used)\n",
                e->id, sess[0], sess[1]);
    } else {
        uint32_t word = sess[0] != 0 ? sess[0] : sess[1];
        uint32_t inst = word & ~AMPVQ_SESSION_FRESH;
        fprintf(c->out, "link in step sub_instance %u%s\n", inst, (word & AMPVQ_SESSION_FRESH) ? " fresh" : "");
        if (c->sub_session != 0 && inst != c->sub_session) {
            fprintf(c->out,
                    "NOTE: queue id 0x%04x: link in step with sub instance %u, but the sub core is now instance %u "
                    "(it has not opened this queue since)\n",
                    e->id, inst, c->sub_session);
        }
    }
}

static int inspect_queue(ctx_t *c, const entry_t *e)
{
    qhdr_t h;
    read_qhdr(c, e->offset, &h);
    fprintf(c->out,
            "queue %u id 0x%04x offset 0x%08x size %u len %u item_size %u desc_off 0x%08x buf_off 0x%08x "
            "desc_stride %u features 0x%04x ctl_off 0x%08x 0x%08x\n",
            e->index, e->id, e->offset, e->size, h.len, h.item_size, h.desc_off, h.buf_off, h.desc_stride, h.features,
            h.ctl_off[0], h.ctl_off[1]);
    if (h.len == 0) {
        /* The main core publishes len last: an image taken during
         * esp_amp_queue_main_init() shows this. */
        fprintf(c->out, "NOTE: queue id 0x%04x: len 0, not initialised yet\n", e->id);
        return 0;
    }
    bool walkable, ctl_ok;
    check_queue_header(c, e, &h, &walkable, &ctl_ok);
    if (ctl_ok) {
        inspect_ctl(c, e, &h);
    }
    if (!walkable) {
        return 0;
    }

    uint32_t len = h.len;
    uint16_t *flags = calloc(len, sizeof(*flags));
    uint32_t *first = calloc(len, sizeof(*first)); /* slot + 1 that first named buffer b */
    if (flags == NULL || first == NULL) {
        free(flags);
        free(first);
        return -1;
    }
    for (uint32_t s = 0; s < len; s++) {
        rd16(c, (uint64_t)h.desc_off + (uint64_t)s * h.desc_stride + 6, &flags[s]);
    }
    ring_t r;
    ring_analyse(c, e->id, flags, len, &r);
    uint32_t send_slot = (r.k + r.sent) & (len - 1u);

    for (uint32_t s = 0; s < len; s++) {
        uint64_t d = (uint64_t)h.desc_off + (uint64_t)s * h.desc_stride;
        uint32_t addr = 0;
        uint16_t dlen = 0;
        rd32(c, d, &addr);
        rd16(c, d + 4, &dlen);
        uint16_t f = flags[s];
        bool sent = flags_sent(f);

        char buffer[16] = "-";
        if (h.item_size != 0 && addr >= h.buf_off && (addr - h.buf_off) % h.item_size == 0 &&
            (addr - h.buf_off) / h.item_size < len) {
            uint32_t b = (addr - h.buf_off) / h.item_size;
            snprintf(buffer, sizeof(buffer), "%u", b);
            if (first[b] != 0) {
                if (c->opts.reorder) {
                    fprintf(c->out, "NOTE: queue id 0x%04x: buffer %u named by slots %u and %u\n", e->id, b,
                            first[b] - 1u, s);
                } else {
                    violation(c,
                              "queue id 0x%04x: buffer %u (0x%08x) lent by slots %u and %u (legal only if an "
                              "application sends or frees out of order: see --reorder)",
                              e->id, b, addr, first[b] - 1u, s);
                }
            } else {
                first[b] = s + 1u;
            }
        } else {
            violation(c,
                      "queue id 0x%04x: slot %u addr 0x%08x is not the start of a buffer (buffers at 0x%08x, %u x "
                      "%u bytes)",
                      e->id, s, addr, h.buf_off, len, h.item_size);
        }
        if (f & ~F_BOTH) {
            violation(c, "queue id 0x%04x: slot %u flags 0x%04x has bits other than AVAIL (0x0080) and USED (0x8000)",
                      e->id, s, f);
        }
        if (sent && dlen > h.item_size) {
            violation(c, "queue id 0x%04x: slot %u is sent with len %u above item_size %u", e->id, s, dlen,
                      h.item_size);
        }
        fprintf(c->out, "slot %u addr 0x%08x buffer %s len %u flags 0x%04x lap %s state %s%s%s\n", s, addr, buffer,
                dlen, f, flags_odd(f) ? "odd" : "even", sent ? "sent" : "free",
                r.consistent && s == r.k ? " <remote-free>" : "",
                r.consistent && s == send_slot ? " <master-send>" : "");
    }
    if (r.consistent) {
        fprintf(c->out, "ring sent %u free %u remote_free_slot %u master_send_slot %u\n", r.sent, len - r.sent, r.k,
                send_slot);
    } else {
        fprintf(c->out, "ring inconsistent\n");
    }
    free(flags);
    free(first);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Region and directory                                                */
/* ------------------------------------------------------------------ */

static int cmp_offset(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    return x->index < y->index ? -1 : (x->index > y->index);
}

static int cmp_id(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->index < y->index ? -1 : (x->index > y->index);
}

static int cmp_index(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    return x->index < y->index ? -1 : (x->index > y->index);
}

static void print_block(ctx_t *c, const entry_t *e)
{
    fprintf(c->out, "block %u id 0x%04x offset 0x%08x size %u", e->index, e->id, e->offset, e->size);
    /* The first words are enough for event words and small records. */
    fprintf(c->out, " words");
    for (uint32_t i = 0; i < 4 && (uint64_t)i * 4 + 4 <= e->size; i++) {
        uint32_t w;
        if (!rd32(c, (uint64_t)e->offset + i * 4u, &w)) {
            break;
        }
        fprintf(c->out, " 0x%08x", w);
    }
    fprintf(c->out, "\n");
}

static int inspect_region(ctx_t *c)
{
    fprintf(c->out, "image bytes %llu\n", (unsigned long long)c->n);
    if (c->n < REGION_HDR_SIZE) {
        violation(c, "image of %llu bytes is shorter than the region header (%u bytes)", (unsigned long long)c->n,
                  REGION_HDR_SIZE);
        return 0;
    }
    uint32_t magic, region_size, dir_count, pend[2], sess[2];
    uint16_t version, capacity;
    rd32(c, 0, &magic);
    rd16(c, 4, &version);
    rd16(c, 6, &capacity);
    rd32(c, 8, &region_size);
    rd32(c, 12, &dir_count);
    rd32(c, 16, &pend[0]);
    rd32(c, 20, &pend[1]);
    rd32(c, 24, &sess[0]);
    rd32(c, 28, &sess[1]);
    c->sub_session = sess[AMPVQ_CORE_SUB] & ~AMPVQ_SESSION_FRESH;
    fprintf(c->out,
            "region magic 0x%08x version %u dir_capacity %u region_size %u dir_count %u pending 0x%08x 0x%08x "
            "session 0x%08x 0x%08x\n",
            magic, version, capacity, region_size, dir_count, pend[0], pend[1], sess[0], sess[1]);

    uint64_t dir_end = REGION_HDR_SIZE + (uint64_t)capacity * DIR_ENTRY_SIZE;
    if (magic != AMPVQ_REGION_MAGIC) {
        violation(c, "region magic 0x%08x is not 0x%08x (\"AMVQ\")", magic, AMPVQ_REGION_MAGIC);
    }
    if (version != AMPVQ_LAYOUT_VERSION) {
        violation(c, "region version %u is not %u", version, AMPVQ_LAYOUT_VERSION);
    }
    if (dir_count > capacity) {
        violation(c, "dir_count %u exceeds dir_capacity %u", dir_count, capacity);
    }
    if (region_size < dir_end) {
        violation(c, "region_size %u is smaller than the header and directory (%llu bytes)", region_size,
                  (unsigned long long)dir_end);
    }
    if (region_size > c->n) {
        violation(c, "region_size %u exceeds the image (%llu bytes): truncated image or wrong --base-offset",
                  region_size, (unsigned long long)c->n);
    }

    uint32_t count = dir_count < capacity ? dir_count : capacity;
    entry_t *ents = calloc(count ? count : 1, sizeof(*ents));
    if (ents == NULL) {
        return -1;
    }
    uint32_t n_ent = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = REGION_HDR_SIZE + (uint64_t)i * DIR_ENTRY_SIZE;
        entry_t e = {.index = i};
        if (!rd16(c, at, &e.id) || !rd32(c, at + 4, &e.size) || !rd32(c, at + 8, &e.offset)) {
            violation(c, "dir %u lies beyond the end of the image", i);
            break;
        }
        fprintf(c->out, "dir %u id 0x%04x size %u offset 0x%08x\n", i, e.id, e.size, e.offset);
        bool ok = true;
        if (e.offset < dir_end) {
            violation(c,
                      "dir %u (id 0x%04x): block at 0x%08x starts inside the region header or directory (ends at "
                      "0x%08llx)",
                      i, e.id, e.offset, (unsigned long long)dir_end);
            ok = false;
        }
        if (e.offset % 4 != 0) {
            violation(c, "dir %u (id 0x%04x): block offset 0x%08x is not 4-byte aligned", i, e.id, e.offset);
        }
        if (e.size == 0) {
            violation(c, "dir %u (id 0x%04x): block size 0", i, e.id);
        }
        if (!inside(e.offset, e.size, 0, region_size)) {
            violation(c, "dir %u (id 0x%04x): block 0x%08x+%u ends beyond region_size %u", i, e.id, e.offset, e.size,
                      region_size);
            ok = false;
        }
        if (!inside(e.offset, e.size, 0, c->n)) {
            violation(c, "dir %u (id 0x%04x): block 0x%08x+%u ends beyond the image", i, e.id, e.offset, e.size);
            ok = false;
        }
        if (ok) {
            ents[n_ent++] = e;
        }
    }

    /* Ids are unique and blocks disjoint (sorted, so this stays linear for a
     * directory of 65535 entries). */
    qsort(ents, n_ent, sizeof(*ents), cmp_id);
    for (uint32_t i = 1; i < n_ent; i++) {
        if (ents[i].id == ents[i - 1].id) {
            violation(c, "dir %u and dir %u have the same id 0x%04x", ents[i - 1].index, ents[i].index, ents[i].id);
        }
    }
    qsort(ents, n_ent, sizeof(*ents), cmp_offset);
    uint32_t reach = 0; /* entry with the furthest end so far */
    for (uint32_t i = 1; i < n_ent; i++) {
        const entry_t *p = &ents[reach];
        if (overlap(p->offset, p->size, ents[i].offset, ents[i].size)) {
            ents[reach].overlaps = ents[i].overlaps = true;
            violation(c, "dir %u (id 0x%04x, 0x%08x+%u) and dir %u (id 0x%04x, 0x%08x+%u) overlap", p->index, p->id,
                      p->offset, p->size, ents[i].index, ents[i].id, ents[i].offset, ents[i].size);
        }
        if ((uint64_t)ents[i].offset + ents[i].size > (uint64_t)p->offset + p->size) {
            reach = i;
        }
    }

    /* Blocks in directory order, as the directory lines were. */
    qsort(ents, n_ent, sizeof(*ents), cmp_index);
    int rc = 0;
    for (uint32_t i = 0; i < n_ent && rc == 0; i++) {
        /* Overlapping blocks are not walked as queues: a hostile directory
         * could otherwise name one descriptor table 65535 times. */
        if (!ents[i].overlaps && looks_like_queue(c, &ents[i])) {
            rc = inspect_queue(c, &ents[i]);
        } else {
            print_block(c, &ents[i]);
        }
    }
    free(ents);
    return rc;
}

long ampvq_inspect(const uint8_t *img, size_t n, FILE *out, const ampvq_inspect_opts_t *opts)
{
    ctx_t c = {.img = img, .n = n, .out = out};
    if (opts != NULL) {
        c.opts = *opts;
    }
    int rc = inspect_region(&c);
    for (size_t i = 0; i < c.n_kept; i++) {
        fprintf(out, "VIOLATION: %s\n", c.viol[i]);
        free(c.viol[i]);
    }
    free(c.viol);
    if (c.n_viol > c.n_kept) {
        fprintf(out, "NOTE: %zu more violations not shown\n", c.n_viol - c.n_kept);
    }
    if (rc != 0 || c.oom) {
        return -1;
    }
    return (long)c.n_viol;
}
