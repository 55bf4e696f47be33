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
 * index and the number of buffers the application holds is head - tail.
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

/* The master's wake word starts far from any index it will reach soon, so
 * the remote does not notify before the master first asks. */
#define WAKE_NEVER 0x80000000u

int ampvq_queue_bad_handle(const esp_amp_queue_t *q, uint32_t role)
{
    if (q == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return q->tag == q_tag(q, role ^ ROLE_MASTER ^ ROLE_REMOTE) ? ESP_ERR_NOT_SUPPORTED : ESP_ERR_INVALID_STATE;
}

bool ampvq_queue_rearm(esp_amp_queue_t *q, const esp_amp_queue_desc_t *d, uint16_t want)
{
    if (q->wake_own == NULL) {
        return false;
    }
    /* The peer's free for our head comes one lap earlier in its numbering. */
    uint32_t at = q->head - (q->tag == q_tag(q, ROLE_MASTER) ? q->size : 0u);
    if (AMPVQ_READ_ONCE(q->wake_own) != at) {
        AMPVQ_WRITE_ONCE(q->wake_own, at);
        cache_writeback(q->wake_own, sizeof(uint32_t));
        /* The wake word store before the flags load below; the peer's
         * ampvq_queue_notify() orders its flags store before its wake word
         * load the same way, so one of us sees the other (no lost wake-up). */
        AMPVQ_FENCE();
    }
    return slot_ready(d, want);
}

void ampvq_queue_notify(esp_amp_queue_t *q, uint32_t old, uint32_t new_)
{
    if (q->notify_fc == NULL) {
        return;
    }
    if (q->wake_peer != NULL) {
        /* Our flags store before the wake word load: pairs with the fence
         * in ampvq_queue_rearm(). */
        AMPVQ_FENCE();
        cache_invalidate(q->wake_peer, sizeof(uint32_t));
        uint32_t w = AMPVQ_READ_ONCE(q->wake_peer);
        /* VIRTIO's vring_need_event(): notify iff w is in [old, new). */
        if ((uint32_t)(new_ - w - 1u) >= (uint32_t)(new_ - old)) {
            return;
        }
    }
    q->n_notify++;
    q->notify_fc(q->notify_priv);
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

static void set_handle(esp_amp_queue_t *q, const ampvq_queue_hdr_t *h, esp_amp_queue_cb_t cb, void *priv,
                       bool is_master, uint32_t id)
{
    *q = (esp_amp_queue_t){0};
    q->desc = (uint8_t *)ampvq_shm_ptr(h->desc_off);
    q->buf = (uint8_t *)ampvq_shm_ptr(h->buf_off);
    q->buf_off = h->buf_off;
    q->item_size = h->item_size;
    q->slot_shift = (uint8_t)__builtin_ctz(h->item_size);
    q->slot_inv = odd_inverse((uint32_t)h->item_size >> q->slot_shift);
    q->desc_shift = (uint8_t)__builtin_ctz(h->desc_stride);
    q->size = h->len;
    if (h->features & AMPVQ_QUEUE_FEAT_EVENT_IDX) {
        q->wake_own = (uint32_t *)ampvq_shm_ptr(h->wake_off[is_master]);
        q->wake_peer = (uint32_t *)ampvq_shm_ptr(h->wake_off[!is_master]);
    }
    if (is_master) {
        q->notify_fc = cb;
        q->notify_priv = priv;
    } else {
        q->callback_fc = cb;
    }
    q->priv_data = priv;
    q->sys_id = id;
    q->tag = q_tag(q, is_master ? ROLE_MASTER : ROLE_REMOTE);
}

/* [off, off + len) lies inside [lo, hi) and off is `align`-aligned. */
static bool area_ok(uint32_t off, uint32_t len, uint32_t align, uint32_t lo, uint32_t hi)
{
    return (off & (align - 1u)) == 0 && off >= lo && off <= hi && len <= hi - off;
}

int esp_amp_queue_main_init_ex(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                               esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                               esp_amp_sys_info_id_t sysinfo_id, uint32_t flags)
{
    if (queue == NULL || queue_len == 0 || queue_len > AMPVQ_QUEUE_LEN_MAX ||
        (flags & ~(uint32_t)ESP_AMP_QUEUE_F_EVENT_IDX) != 0) {
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
    uint32_t wake_rel = 0;
    if (flags & ESP_AMP_QUEUE_F_EVENT_IDX) {
        /* Each wake word on its own line: each is written by one side only. */
        wake_rel = (total + AMPVQ_CACHE_LINE - 1u) & ~(AMPVQ_CACHE_LINE - 1u);
        total = wake_rel + 2u * AMPVQ_CACHE_LINE;
    }

    ampvq_block_t b;
    int err = ampvq_sys_info_alloc_block((uint16_t)sysinfo_id, total, &b);
    if (err != ESP_OK) {
        return err;
    }
    ampvq_queue_hdr_t h = {
        .len = (uint16_t)len,
        .item_size = (uint16_t)item,
        .desc_off = b.offset + DESC_REL,
        .buf_off = b.offset + buf_rel,
        .desc_stride = (uint16_t)DESC_STRIDE,
    };
    if (wake_rel != 0) {
        h.features = AMPVQ_QUEUE_FEAT_EVENT_IDX;
        h.wake_off[0] = b.offset + wake_rel;
        h.wake_off[1] = b.offset + wake_rel + AMPVQ_CACHE_LINE;
        *(uint32_t *)ampvq_shm_ptr(h.wake_off[1]) = WAKE_NEVER;
    }
    /* The block is zeroed: flags 0 are "free" for a master whose counter is
     * 1. Each slot starts out lending its own buffer. */
    for (uint32_t i = 0; i < len; i++) {
        ((esp_amp_queue_desc_t *)ampvq_shm_ptr(h.desc_off + i * DESC_STRIDE))->addr = h.buf_off + i * item;
    }
    ampvq_queue_hdr_t *hdr = (ampvq_queue_hdr_t *)b.ptr;
    hdr->item_size = h.item_size;
    hdr->desc_off = h.desc_off;
    hdr->buf_off = h.buf_off;
    hdr->desc_stride = h.desc_stride;
    hdr->features = h.features;
    hdr->wake_off[0] = h.wake_off[0];
    hdr->wake_off[1] = h.wake_off[1];
    cache_writeback(b.ptr, b.size);
    /* Pairs with the LOAD_ACQUIRE of len in esp_amp_queue_sub_init(): a
     * non-zero len means header and descriptors are complete. */
    AMPVQ_STORE_RELEASE(&hdr->len, (uint16_t)len);
    cache_writeback(&hdr->len, sizeof(hdr->len));
    /* From the values we computed, not from the header: the sub core may
     * already be running and able to rewrite it. */
    set_handle(queue, &h, cb_func, priv_data, is_master, (uint32_t)sysinfo_id);
    return ESP_OK;
}

int esp_amp_queue_main_init(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                            esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                            esp_amp_sys_info_id_t sysinfo_id)
{
    return esp_amp_queue_main_init_ex(queue, queue_len, queue_item_size, cb_func, priv_data, is_master, sysinfo_id,
                                      0);
}

/*
 * Open a handle on the queue in a block the main core created. The header
 * is read once and checked against the block; afterwards only the private
 * copy in the handle is used.
 */
int esp_amp_queue_sub_init(esp_amp_queue_t *queue, esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                           esp_amp_sys_info_id_t sysinfo_id)
{
    if (queue == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
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
    h.wake_off[0] = AMPVQ_READ_ONCE(&hdr->wake_off[0]);
    h.wake_off[1] = AMPVQ_READ_ONCE(&hdr->wake_off[1]);

    uint32_t len = h.len, item = h.item_size, stride = h.desc_stride;
    uint32_t lo = b.offset + (uint32_t)sizeof(ampvq_queue_hdr_t);
    uint32_t hi = b.offset + b.size;
    /* A stride below the line would let our descriptor write-backs clobber
     * the peer's; the non-coherent build insists on whole lines. */
    bool ok = (len & (len - 1u)) == 0 && item != 0 && (item & (ITEM_ALIGN - 1u)) == 0 &&
              (stride & (stride - 1u)) == 0 && stride >= DESC_STRIDE && stride <= 256u &&
              area_ok(h.desc_off, len * stride, ITEM_ALIGN, lo, hi) && area_ok(h.buf_off, len * item, ITEM_ALIGN, lo, hi) &&
              (h.desc_off + len * stride <= h.buf_off || h.buf_off + len * item <= h.desc_off);
    if (h.features & AMPVQ_QUEUE_FEAT_EVENT_IDX) {
        ok = ok && area_ok(h.wake_off[0], 4u, 4u, lo, hi) && area_ok(h.wake_off[1], 4u, 4u, lo, hi);
    }
    if (!ok) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    set_handle(queue, &h, cb_func, priv_data, is_master, (uint32_t)sysinfo_id);
    if (queue->wake_own != NULL) {
        /* The main core wrote our wake word's first value; from now on only
         * we write it, and rearm compares against our copy. */
        cache_invalidate(queue->wake_own, sizeof(uint32_t));
    }
    return ESP_OK;
}

/* Claim the slot at head: `flip` is 0 for alloc (slot free) and AVAIL for
 * recv (slot available). Sets *off to the checked buffer offset and *len to
 * the descriptor's length. */
static int take(esp_amp_queue_t *q, uint16_t flip, uint32_t *off, uint16_t *len)
{
    uint32_t head = q->head;
    /* A correct peer never lets us hold more than every buffer; this keeps
     * the count honest if it lies about free slots. */
    if (head - q->tail >= q->size) {
        return ESP_ERR_NOT_FOUND;
    }
    esp_amp_queue_desc_t *d = desc_at(q, head);
    uint16_t want = flip ^ lap_flags(q, head);
    if (!slot_ready(d, want) && !ampvq_queue_rearm(q, d, want)) {
        return ESP_ERR_NOT_FOUND;
    }
    *off = AMPVQ_READ_ONCE(&d->addr) - q->buf_off;
    *len = AMPVQ_READ_ONCE(&d->len);
    q->head = head + 1;
    if (slot_of(q, *off) >= q->size) {
        q->n_peer_err++;
        return ESP_ERR_INVALID_RESPONSE;
    }
    return ESP_OK;
}

/* Publish `buffer` in the slot at tail with flags lap ^ `flip` (AVAIL for a
 * send, BOTH for a free), then notify. */
static int give(esp_amp_queue_t *q, void *buffer, uint16_t len, uint32_t wb_len, uint16_t flip)
{
    uint32_t off = buffer_offset(q, buffer);
    if (off == UINT32_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t tail = q->tail;
    if (q->head == tail) {
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
    ampvq_queue_notify(q, tail, tail + 1);
    return ESP_OK;
}

int esp_amp_queue_alloc_try(esp_amp_queue_t *queue, void **buffer, uint16_t size)
{
    int err = q_check(queue, ROLE_MASTER);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > queue->item_size) {
        return ESP_ERR_NO_MEM;
    }
    uint32_t off;
    uint16_t len;
    err = take(queue, 0, &off, &len);
    if (err == ESP_OK) {
        /* The remote may have written into the buffer (in-place replies). */
        cache_invalidate(queue->buf + off, queue->item_size);
        *buffer = queue->buf + off;
    } else if (err == ESP_ERR_NOT_FOUND) {
        queue->n_full++;
    }
    return err;
}

int esp_amp_queue_send_try(esp_amp_queue_t *queue, void *buffer, uint16_t size)
{
    int err = q_check(queue, ROLE_MASTER);
    if (err != ESP_OK) {
        return err;
    }
    if (size > queue->item_size) {
        return buffer == NULL ? ESP_ERR_INVALID_ARG : ESP_ERR_NO_MEM;
    }
    return give(queue, buffer, size, size, F_AVAIL);
}

int esp_amp_queue_recv_try(esp_amp_queue_t *queue, void **buffer, uint16_t *size)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL || size == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t off;
    uint16_t len;
    err = take(queue, F_AVAIL, &off, &len);
    if (err != ESP_OK) {
        return err;
    }
    if (len > queue->item_size) {
        queue->n_peer_err++;
        return ESP_ERR_INVALID_RESPONSE;
    }
    cache_invalidate(queue->buf + off, len);
    *buffer = queue->buf + off;
    *size = len;
    return ESP_OK;
}

int esp_amp_queue_free_try(esp_amp_queue_t *queue, void *buffer)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err != ESP_OK) {
        return err;
    }
    /* The remote may have written into the buffer (in-place replies). */
    return give(queue, buffer, 0, queue->item_size, F_BOTH);
}

int esp_amp_queue_set_free_notify(esp_amp_queue_t *queue, esp_amp_queue_cb_t notify, void *priv)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err == ESP_OK) {
        queue->notify_fc = notify;
        queue->notify_priv = priv;
    }
    return err;
}

int esp_amp_queue_stats(const esp_amp_queue_t *queue, esp_amp_queue_stats_t *stats)
{
    if (queue == NULL || stats == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    bool master = queue->tag == q_tag(queue, ROLE_MASTER);
    if (!master && queue->tag != q_tag(queue, ROLE_REMOTE)) {
        return ESP_ERR_INVALID_STATE;
    }
    *stats = (esp_amp_queue_stats_t){
        .master = master,
        .len = queue->size,
        .held = (uint16_t)(queue->head - queue->tail),
        .item_size = queue->item_size,
        .taken = queue->head - queue->n_peer_err,
        .given = queue->tail,
        .full = queue->n_full,
        .peer_errors = queue->n_peer_err,
        .notify = queue->n_notify,
    };
    return ESP_OK;
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
