/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The packed virtqueue (DESIGN.md section 3).
 *
 * Ownership of a slot moves through two flag bits, each compared with a wrap
 * counter c that starts at 1 and flips whenever an index passes the last slot:
 *
 *   free for the master      AVAIL != c and USED != c
 *   available to the remote  AVAIL == c and USED != c
 *
 * The master's send writes AVAIL = c (USED keeps !c); the remote's free
 * writes USED = c (AVAIL keeps c). Each side therefore knows the whole flags
 * word it must store and never reads it back: one release store publishes a
 * slot, one acquire load claims it. Indices live in esp_amp_queue_t, in the
 * core's private memory, and run free: the wrap counter is a bit of the
 * index and the number of buffers the application holds is derived from
 * them (held()).
 *
 * Everything read from shared memory is read once into a local and checked
 * before use: a buffer offset must name the start of one of this queue's
 * buffers and a length must fit the item size, or the call reports
 * ESP_ERR_INVALID_RESPONSE and consumes the slot without handing it out.
 *
 * alloc/recv share take(), send/free share give(): the two directions are
 * the same protocol with the flag bits swapped.
 */
#include "queue_priv.h"

/* Header, rounded so descriptors never straddle a cache line (coherent), or
 * a whole line (non-coherent: every descriptor owns its line). */
#if AMPVQ_CACHE_COHERENT
#define DESC_STRIDE 8u
#define DESC_REL    24u
#define ITEM_ALIGN  4u
#else
#define DESC_STRIDE AMPVQ_CACHE_LINE
#define DESC_REL    AMPVQ_CACHE_LINE
#define ITEM_ALIGN  AMPVQ_CACHE_LINE
#endif

int ampvq_queue_bad_handle(const esp_amp_queue_t *q, uint32_t role)
{
    if (q == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return q->tag == q_tag(q, role ^ ROLE_MASTER ^ ROLE_REMOTE) ? ESP_ERR_NOT_SUPPORTED : ESP_ERR_INVALID_STATE;
}

void ampvq_queue_arm(esp_amp_queue_t *q)
{
    /* The peer's free for our head comes one lap earlier in its numbering. */
    uint32_t at = q->head - (q_is_master(q) ? q->size : 0u);
    if (AMPVQ_READ_ONCE(q->wake_own) != at) {
        AMPVQ_WRITE_ONCE(q->wake_own, at);
        cache_writeback(q->wake_own, sizeof(uint32_t));
        /* The wake word store before the caller's second look at the flags;
         * the peer's ampvq_queue_notify() orders its flags store before its
         * wake word load the same way, so one of us sees the other (no lost
         * wake-up). */
        AMPVQ_FENCE();
    }
}

int ampvq_queue_notify_slow(esp_amp_queue_t *q, uint32_t old, uint32_t new_)
{
    if (q->wake_peer != NULL) {
        /* Our flags store before the wake word load: pairs with the fence
         * in ampvq_queue_arm(). */
        AMPVQ_FENCE();
        cache_invalidate(q->wake_peer, sizeof(uint32_t));
        uint32_t w = AMPVQ_READ_ONCE(q->wake_peer);
        /* VIRTIO's vring_need_event(): notify iff w is in [old, new). */
        if ((uint32_t)(new_ - w - 1u) >= (uint32_t)(new_ - old)) {
            return ESP_OK;
        }
    }
    q->n_notify++;
    q->notify_fc(q->notify_priv);
    return ESP_OK;
}

/* Inverse of an odd number modulo 2^32 (Newton's iteration: each step
 * doubles the number of correct low bits, and d*d == 1 mod 8 gives 3). */
static uint32_t odd_inverse(uint32_t d)
{
    uint32_t x = d;
    for (int i = 0; i < 4; i++) {
        x *= 2u - d * x;
    }
    return x;
}

/* [off, off + len) lies inside [lo, hi) and off is `align`-aligned. */
static bool area_ok(uint32_t off, uint32_t len, uint32_t align, uint32_t lo, uint32_t hi)
{
    return (off & (align - 1u)) == 0 && off >= lo && off <= hi && len <= hi - off;
}

/*
 * Check a queue header against its block and open a handle from it: the one
 * path both sides take (the main core checks the values it computed itself,
 * which costs nothing at run time and keeps one copy of the rules). `h` is a
 * private copy; the shared header is never read again.
 */
static int open_hdr(esp_amp_queue_t *q, const ampvq_queue_hdr_t *h, const ampvq_block_t *b, esp_amp_queue_cb_t cb,
                    void *priv, bool is_master, uint32_t id)
{
    uint32_t len = h->len, item = h->item_size, stride = h->desc_stride;
    uint32_t lo = b->offset + (uint32_t)sizeof(ampvq_queue_hdr_t);
    uint32_t hi = b->offset + b->size;
    /* A stride below the line would let our descriptor write-backs clobber
     * the peer's; the non-coherent build insists on whole lines. */
    bool ok = (len & (len - 1u)) == 0 && item != 0 && (item & (ITEM_ALIGN - 1u)) == 0 &&
              (stride & (stride - 1u)) == 0 && stride >= DESC_STRIDE && stride <= 256u &&
              area_ok(h->desc_off, len * stride, ITEM_ALIGN, lo, hi) &&
              area_ok(h->buf_off, len * item, ITEM_ALIGN, lo, hi) &&
              (h->desc_off + len * stride <= h->buf_off || h->buf_off + len * item <= h->desc_off);
    ok = ok && area_ok(h->ctl_off[0], sizeof(ampvq_queue_ctl_t), 4u, lo, hi) &&
         area_ok(h->ctl_off[1], sizeof(ampvq_queue_ctl_t), 4u, lo, hi);
    if (!ok) {
        return ESP_ERR_INVALID_RESPONSE;
    }

    uint8_t *base = (uint8_t *)ampvq_port_shm_base();
    *q = (esp_amp_queue_t){0};
    q->desc = base + h->desc_off;
    q->buf = base + h->buf_off;
    q->buf_off = h->buf_off;
    q->item_size = item;
    q->slot_shift = (uint8_t)__builtin_ctz(item);
    q->slot_inv = odd_inverse(item >> q->slot_shift);
    q->desc_shift = (uint8_t)__builtin_ctz(stride);
    q->size = (uint16_t)len;
    ampvq_queue_ctl_t *own = (ampvq_queue_ctl_t *)(void *)(base + h->ctl_off[is_master]);
    ampvq_queue_ctl_t *peer = (ampvq_queue_ctl_t *)(void *)(base + h->ctl_off[!is_master]);
    if (h->features & AMPVQ_QUEUE_FEAT_EVENT_IDX) {
        q->wake_own = &own->wake;
        q->wake_peer = &peer->wake;
    }
    q->sess_own = &own->session;
    q->sess_peer = &peer->session;
    if (is_master) {
        q->notify_fc = cb;
        q->notify_priv = priv;
    } else {
        q->callback_fc = cb;
    }
    q->priv_data = priv;
    q->sys_id = id;
    ampvq_queue_attach(q, is_master);
    q->tag = q_tag(q, is_master ? ROLE_MASTER : ROLE_REMOTE);
    return ESP_OK;
}

int esp_amp_queue_main_init_ex(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                               esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                               esp_amp_sys_info_id_t sysinfo_id, uint32_t flags)
{
    if (queue == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    /* A failed init leaves a handle no call accepts, whatever the memory
     * held before (a handle that used to live at this address, say). */
    queue->tag = 0;
    if (queue_len == 0 || queue_len > AMPVQ_QUEUE_LEN_MAX || (flags & ~(uint32_t)ESP_AMP_QUEUE_F_EVENT_IDX) != 0) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t item = ((uint32_t)queue_item_size + ITEM_ALIGN - 1u) & ~(ITEM_ALIGN - 1u);
    if (queue_item_size == 0 || queue_item_size > AMPVQ_QUEUE_ITEM_SIZE_MAX || item > 0xffffu) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    uint32_t len = 1;
    while (len < queue_len) {
        len <<= 1;
    }
    /* At most DESC_REL + 32768 * (stride + 65535) + 3 lines: fits 32 bits. */
    uint32_t buf_rel = DESC_REL + len * DESC_STRIDE;
    uint32_t total = buf_rel + len * item;
    /* The control words: with wake words in use (or non-coherent caches)
     * each role's on a line of its own, as each is written by one core only;
     * otherwise both in 16 bytes (session words change only on restarts). */
    bool own_lines = !AMPVQ_CACHE_COHERENT || (flags & ESP_AMP_QUEUE_F_EVENT_IDX);
    uint32_t buf_end = total;
    uint32_t ctl_step = own_lines ? AMPVQ_CACHE_LINE : (uint32_t)sizeof(ampvq_queue_ctl_t);
    /* Own lines are lines of memory, not of the block: a block aligned to
     * less than a line gets room to align the first one wherever it lands. */
    uint32_t end8 = (buf_end + 7u) & ~7u;
    uint32_t room = 0;
    if (own_lines) {
        room = AMPVQ_SYS_INFO_ALIGN >= AMPVQ_CACHE_LINE
                   ? ((buf_end + AMPVQ_CACHE_LINE - 1u) & ~(AMPVQ_CACHE_LINE - 1u)) - end8
                   : AMPVQ_CACHE_LINE - 8u;
    }
    total = end8 + room + 2u * ctl_step;

    ampvq_block_t b;
    int err = ampvq_sys_info_alloc_block((uint16_t)sysinfo_id, total, &b);
    if (err != ESP_OK) {
        return err;
    }
    uint32_t ctl_off = own_lines ? (b.offset + buf_end + AMPVQ_CACHE_LINE - 1u) & ~(AMPVQ_CACHE_LINE - 1u)
                                 : (b.offset + buf_end + 7u) & ~7u;
    /* Everything from locals, nothing read back: the block is in the
     * directory already, so a (faulty) sub core could be writing into it. */
    const ampvq_queue_hdr_t h = {
        .len = (uint16_t)len,
        .item_size = (uint16_t)item,
        .desc_off = b.offset + DESC_REL,
        .buf_off = b.offset + buf_rel,
        .desc_stride = (uint16_t)DESC_STRIDE,
        .features = (flags & ESP_AMP_QUEUE_F_EVENT_IDX) ? AMPVQ_QUEUE_FEAT_EVENT_IDX : 0u,
        .ctl_off = {ctl_off, ctl_off + ctl_step},
    };
    uint8_t *base = (uint8_t *)ampvq_port_shm_base();
    ampvq_queue_hdr_t *hdr = (ampvq_queue_hdr_t *)b.ptr;
    hdr->item_size = h.item_size;
    hdr->desc_off = h.desc_off;
    hdr->buf_off = h.buf_off;
    hdr->desc_stride = h.desc_stride;
    hdr->features = h.features;
    hdr->ctl_off[0] = h.ctl_off[0];
    hdr->ctl_off[1] = h.ctl_off[1];
    ((ampvq_queue_ctl_t *)(void *)(base + h.ctl_off[1]))->wake = wake_start(true);
    /* The block is zeroed: flags 0 are "free" for a master whose counter is
     * 1. Each slot starts out lending its own buffer. */
    for (uint32_t i = 0; i < len; i++) {
        ((esp_amp_queue_desc_t *)(void *)(base + h.desc_off + i * DESC_STRIDE))->addr = h.buf_off + i * item;
    }
    cache_writeback(b.ptr, b.size);
    /* Pairs with the LOAD_ACQUIRE of len in esp_amp_queue_sub_init(): a
     * non-zero len means header and descriptors are complete. */
    AMPVQ_STORE_RELEASE(&hdr->len, (uint16_t)len);
    cache_writeback(&hdr->len, sizeof(hdr->len));
    return open_hdr(queue, &h, &b, cb_func, priv_data, is_master, (uint32_t)sysinfo_id);
}

int esp_amp_queue_main_init(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                            esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                            esp_amp_sys_info_id_t sysinfo_id)
{
    return esp_amp_queue_main_init_ex(queue, queue_len, queue_item_size, cb_func, priv_data, is_master, sysinfo_id, 0);
}

int esp_amp_queue_sub_init(esp_amp_queue_t *queue, esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                           esp_amp_sys_info_id_t sysinfo_id)
{
    if (queue == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    queue->tag = 0; /* as in esp_amp_queue_main_init_ex() */
    ampvq_block_t b;
    int err = ampvq_sys_info_find((uint16_t)sysinfo_id, &b);
    if (err != ESP_OK) {
        return err == ESP_ERR_INVALID_STATE ? ESP_ERR_NOT_FOUND : err;
    }
    if (b.size < sizeof(ampvq_queue_hdr_t)) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    ampvq_queue_hdr_t *hdr = (ampvq_queue_hdr_t *)b.ptr;
    cache_invalidate(hdr, sizeof(*hdr));
    ampvq_queue_hdr_t h;
    /* Pairs with the STORE_RELEASE of len in esp_amp_queue_main_init_ex(). */
    h.len = AMPVQ_LOAD_ACQUIRE(&hdr->len);
    if (h.len == 0) {
        return ESP_ERR_NOT_FOUND;
    }
    h.item_size = AMPVQ_READ_ONCE(&hdr->item_size);
    h.desc_off = AMPVQ_READ_ONCE(&hdr->desc_off);
    h.buf_off = AMPVQ_READ_ONCE(&hdr->buf_off);
    h.desc_stride = AMPVQ_READ_ONCE(&hdr->desc_stride);
    h.features = AMPVQ_READ_ONCE(&hdr->features);
    h.ctl_off[0] = AMPVQ_READ_ONCE(&hdr->ctl_off[0]);
    h.ctl_off[1] = AMPVQ_READ_ONCE(&hdr->ctl_off[1]);
    /* The main core wrote our wake word's first value: the attach in
     * open_hdr() invalidates the line of our control words (wake and
     * session), so ampvq_queue_arm() compares against the real value. */
    return open_hdr(queue, &h, &b, cb_func, priv_data, is_master, (uint32_t)sysinfo_id);
}

/*
 * The message path. With -Os (__OPTIMIZE_SIZE__) take() and give() stay
 * single functions shared by both directions; otherwise they are inlined
 * into each public call so that the role, the flag bits and the out
 * parameters become constants and registers. The rare paths (re-arming an
 * event index, a bad descriptor) are separate functions reached by a tail
 * call, so the common path saves no registers.
 */
#ifdef __OPTIMIZE_SIZE__
#define HOT static __attribute__((noinline))
#else
#define HOT static inline __attribute__((always_inline))
#endif

static __attribute__((noinline)) int peer_error(esp_amp_queue_t *q)
{
    q->n_peer_err++;
    return ESP_ERR_INVALID_RESPONSE;
}

static int take_slow(esp_amp_queue_t *q, uint16_t flip, void **buffer, uint16_t *size);

/* Claim the slot at head: `flip` is 0 for alloc (slot free) and AVAIL for
 * recv (slot available; then `size` is set too). */
HOT int take(esp_amp_queue_t *q, uint16_t flip, bool first, void **buffer, uint16_t *size)
{
    uint32_t head = q->head;
    /* A correct peer never lets us hold more than every buffer; this keeps
     * the count honest if it lies about free slots. */
    if (held(q, head, q->tail) >= q->size) {
        q->n_full += flip == 0;
        return ESP_ERR_NOT_FOUND;
    }
    esp_amp_queue_desc_t *d = desc_at(q, head);
    /* The other core's instance number is read on every claim (a word of
     * the region header, written only when that core starts); a change
     * takes the slow path (queue_link.c). */
    if (!slot_ready(d, flip ^ lap_flags(q, head)) || (first && AMPVQ_READ_ONCE(q->inst_peer) != q->inst_seen)) {
        if (first) {
            return take_slow(q, flip, buffer, size);
        }
        q->n_full += flip == 0;
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t off = AMPVQ_READ_ONCE(&d->addr) - q->buf_off;
    uint16_t len = AMPVQ_READ_ONCE(&d->len);
    q->head = head + 1;
    if (slot_of(q, off) >= q->size || (size != NULL && len > q->item_size)) {
        return peer_error(q);
    }
    /* alloc: the remote may have written into the buffer (in-place replies) */
    cache_invalidate(q->buf + off, size != NULL ? len : q->item_size);
    *buffer = q->buf + off;
    if (size != NULL) {
        *size = len;
    }
    return ESP_OK;
}

/* Nothing at head, or the peer's session changed: settle the link (see
 * queue_link.c), on an event-index queue ask to be notified, then look once
 * more (not coming back here: a peer toggling its words cannot keep us). */
static __attribute__((noinline)) int take_slow(esp_amp_queue_t *q, uint16_t flip, void **buffer, uint16_t *size)
{
    if (ampvq_queue_link_stale(q)) {
        int err = ampvq_queue_link_check(q);
        if (err != ESP_OK) {
            q->n_full += flip == 0 && err == ESP_ERR_NOT_FOUND;
            return err;
        }
        /* In step again (the ring may have been reset): look once more,
         * asking for a wake-up only if there is still nothing. */
        if (q->wake_own == NULL || slot_ready(desc_at(q, q->head), flip ^ lap_flags(q, q->head))) {
            return take(q, flip, false, buffer, size);
        }
    } else if (q->wake_own == NULL) {
        q->n_full += flip == 0;
        return ESP_ERR_NOT_FOUND; /* nothing to arm: no second look needed */
    }
    ampvq_queue_arm(q);
    return take(q, flip, false, buffer, size);
}

int ampvq_queue_take1(esp_amp_queue_t *q, uint16_t flip, void **buffer, uint16_t *size)
{
    return take(q, flip, true, buffer, size);
}

/* Publish `buffer` in the slot at tail with flags lap ^ `flip` (AVAIL for a
 * send, BOTH for a free), then notify. */
HOT int give(esp_amp_queue_t *q, void *buffer, uint16_t len, uint32_t wb_len, uint16_t flip)
{
    uint32_t off;
    if (!buffer_offset(q, buffer, &off)) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t tail = q->tail;
    if (held(q, q->head, tail) == 0) {
        return ESP_ERR_NOT_ALLOWED;
    }
    cache_writeback(buffer, wb_len);
    esp_amp_queue_desc_t *d = desc_at(q, tail);
    /* Plain stores: the peer reads addr and len only after acquiring the
     * flags released below, so it cannot see them half-written. */
    d->addr = q->buf_off + off;
    d->len = len;
    /* Pairs with the LOAD_ACQUIRE in slot_ready(): payload, addr and len are
     * visible before the slot changes hands. */
    AMPVQ_STORE_RELEASE(&d->flags, (uint16_t)(flip ^ lap_flags(q, tail)));
    cache_writeback(d, sizeof(*d));
    q->tail = tail + 1;
    return ampvq_queue_notify(q, tail, tail + 1);
}

int esp_amp_queue_alloc_try(esp_amp_queue_t *queue, void **buffer, uint16_t size)
{
    if (!q_ok(queue, ROLE_MASTER)) {
        return ampvq_queue_bad_handle(queue, ROLE_MASTER);
    }
    if (buffer == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > queue->item_size) {
        return ESP_ERR_NO_MEM;
    }
    return take(queue, 0, true, buffer, NULL);
}

int esp_amp_queue_send_try(esp_amp_queue_t *queue, void *buffer, uint16_t size)
{
    if (!q_ok(queue, ROLE_MASTER)) {
        return ampvq_queue_bad_handle(queue, ROLE_MASTER);
    }
    if (size > queue->item_size) {
        return buffer == NULL ? ESP_ERR_INVALID_ARG : ESP_ERR_NO_MEM;
    }
    return give(queue, buffer, size, size, F_AVAIL);
}

int esp_amp_queue_recv_try(esp_amp_queue_t *queue, void **buffer, uint16_t *size)
{
    if (!q_ok(queue, ROLE_REMOTE)) {
        return ampvq_queue_bad_handle(queue, ROLE_REMOTE);
    }
    if (buffer == NULL || size == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return take(queue, F_AVAIL, true, buffer, size);
}

int esp_amp_queue_free_try(esp_amp_queue_t *queue, void *buffer)
{
    if (!q_ok(queue, ROLE_REMOTE)) {
        return ampvq_queue_bad_handle(queue, ROLE_REMOTE);
    }
    /* The remote may have written into the buffer (in-place replies). */
    return give(queue, buffer, 0, queue->item_size, F_BOTH);
}

int esp_amp_queue_intr_enable(esp_amp_queue_t *queue, esp_amp_sw_intr_id_t sw_intr_id)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err != ESP_OK) {
        return err;
    }
    if ((uint32_t)sw_intr_id > SW_INTR_ID_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue->callback_fc == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    if (esp_amp_sw_intr_add_handler(sw_intr_id, queue->callback_fc, queue->priv_data) != ESP_OK) {
        return ESP_ERR_NOT_FINISHED;
    }
    /* Anything the master sent before the handler existed raised an
     * interrupt nobody handled; run the callback once to catch up. */
    ampvq_sw_intr_raise_local((uint32_t)sw_intr_id);
    return ESP_OK;
}
