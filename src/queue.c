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
 * core's private memory; shared memory holds only descriptors and buffers.
 *
 * Everything read from shared memory is read once into a local and checked
 * before use: a buffer offset must name the start of one of this queue's
 * buffers and a length must fit the item size, or the call reports
 * ESP_ERR_INVALID_RESPONSE and consumes the slot without handing it out.
 */
#include "esp_err.h"
#include "esp_amp_queue.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

#define F_AVAIL AMPVQ_DESC_F_AVAIL
#define F_USED  AMPVQ_DESC_F_USED
#define F_BOTH  ((uint16_t)(F_AVAIL | F_USED))

/* Flags a slot shows when its owner is the master (free) or the remote
 * (available), for wrap counter c; also what send / free store. */
#define FLAGS_FREE(c)      ((uint16_t)((c) ? 0u : F_BOTH))
#define FLAGS_AVAILABLE(c) ((uint16_t)((c) ? F_AVAIL : F_USED))
#define FLAGS_SENT(c)      FLAGS_AVAILABLE(c)
#define FLAGS_FREED(c)     FLAGS_FREE(!(c))

/* Descriptors sit after the 12-byte header, rounded to 8 so that no
 * descriptor straddles a cache line. */
#define DESC_REL_OFFSET 16u

#define QUEUE_TAG 0x41515645u

static uint32_t tag_of(const esp_amp_queue_t *q)
{
    /* Mixing in the address also rejects a handle that was copied. */
    uint64_t a = (uint64_t)(uintptr_t)q;
    return QUEUE_TAG ^ (uint32_t)a ^ (uint32_t)(a >> 32);
}

static void cache_writeback(const void *p, size_t len)
{
    if (!AMPVQ_CACHE_COHERENT) {
        ampvq_port_cache_writeback(p, len);
    }
}

static void cache_invalidate(const void *p, size_t len)
{
    if (!AMPVQ_CACHE_COHERENT) {
        ampvq_port_cache_invalidate(p, len);
    }
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

/*
 * Slot number of byte offset `off` in the buffer area, or a number >= size
 * when `off` is not the start of a slot. item_size = odd * 2^shift; for a
 * multiple of item_size, off * inverse(odd) rotated right by shift is the
 * exact quotient, and for anything else it is larger than 2^32 / item_size,
 * hence larger than size (Hacker's Delight, 10-17). One multiply, no divide.
 */
static uint32_t slot_of(const esp_amp_queue_t *q, uint32_t off)
{
    uint32_t x = off * q->slot_inv;
    uint32_t s = q->slot_shift; /* 2..15: item_size is a multiple of 4 */
    return (x >> s) | (x << (32u - s));
}

/* Offset in the buffer area of an application pointer, or UINT32_MAX if it
 * is not the start of one of this queue's buffers. */
static uint32_t buffer_offset(const esp_amp_queue_t *q, const void *p)
{
    uintptr_t d = (uintptr_t)p - (uintptr_t)q->buf;

    if (d != (uint32_t)d || slot_of(q, (uint32_t)d) >= q->size) {
        return UINT32_MAX;
    }
    return (uint32_t)d;
}

static int check_handle(const esp_amp_queue_t *q, bool want_master)
{
    if (q == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (q->init_tag != tag_of(q)) {
        return ESP_ERR_INVALID_STATE;
    }
    return q->master == want_master ? ESP_OK : ESP_ERR_NOT_SUPPORTED;
}

static void advance(uint16_t *idx, uint8_t *wrap, uint16_t size)
{
    if (++*idx == size) {
        *idx = 0;
        *wrap ^= 1u;
    }
}

/* [off, off + len) lies inside [lo, hi) and off is 4-byte aligned. */
static bool area_ok(uint32_t off, uint64_t len, uint32_t lo, uint32_t hi)
{
    return (off & 3u) == 0 && off >= lo && (uint64_t)off + len <= hi;
}

static void set_handle(esp_amp_queue_t *q, uint32_t desc_off, uint32_t buf_off, uint32_t len, uint32_t item,
                       esp_amp_queue_cb_t cb, void *priv, bool is_master)
{
    *q = (esp_amp_queue_t){0};
    q->desc = (esp_amp_queue_desc_t *)ampvq_shm_ptr(desc_off);
    q->buf = (uint8_t *)ampvq_shm_ptr(buf_off);
    q->buf_off = buf_off;
    q->item_size = item;
    q->slot_shift = (uint8_t)__builtin_ctz(item);
    q->slot_inv = odd_inverse(item >> q->slot_shift);
    q->size = (uint16_t)len;
    q->head_wrap = 1;
    q->tail_wrap = 1;
    q->master = is_master;
    if (is_master) {
        q->notify_fc = cb;
    } else {
        q->callback_fc = cb;
    }
    q->priv_data = priv;
    q->init_tag = tag_of(q);
}

/*
 * Open a handle on the queue in block `b` from its header (the side that did
 * not create it). The header is read once and checked against the block;
 * afterwards only the private copy in the handle is used.
 */
static int open_from_block(esp_amp_queue_t *q, const ampvq_block_t *b, esp_amp_queue_cb_t cb, void *priv,
                           bool is_master)
{
    if (b->size < sizeof(ampvq_queue_hdr_t)) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    ampvq_queue_hdr_t *hdr = (ampvq_queue_hdr_t *)b->ptr;
    cache_invalidate(hdr, sizeof(*hdr));
    /* Pairs with the STORE_RELEASE of len in esp_amp_queue_main_init(). */
    uint32_t len = AMPVQ_LOAD_ACQUIRE(&hdr->len);
    if (len == 0) {
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t item = AMPVQ_READ_ONCE(&hdr->item_size);
    uint32_t desc_off = AMPVQ_READ_ONCE(&hdr->desc_off);
    uint32_t buf_off = AMPVQ_READ_ONCE(&hdr->buf_off);

    uint32_t lo = b->offset + (uint32_t)sizeof(ampvq_queue_hdr_t);
    uint32_t hi = b->offset + b->size;
    uint64_t desc_bytes = (uint64_t)len * sizeof(esp_amp_queue_desc_t);
    uint64_t buf_bytes = (uint64_t)len * item;
    bool ok = (len & (len - 1u)) == 0 && len <= AMPVQ_QUEUE_LEN_MAX && item != 0 && (item & 3u) == 0 &&
              area_ok(desc_off, desc_bytes, lo, hi) && area_ok(buf_off, buf_bytes, lo, hi) &&
              ((uint64_t)desc_off + desc_bytes <= buf_off || (uint64_t)buf_off + buf_bytes <= desc_off);
    if (!ok) {
        return ESP_ERR_INVALID_RESPONSE;
    }

    set_handle(q, desc_off, buf_off, len, item, cb, priv, is_master);
    return ESP_OK;
}

int esp_amp_queue_main_init(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                            esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                            esp_amp_sys_info_id_t sysinfo_id)
{
    if (queue == NULL || queue_len == 0 || queue_len > AMPVQ_QUEUE_LEN_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue_item_size == 0 || queue_item_size > AMPVQ_QUEUE_ITEM_SIZE_MAX) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    uint32_t len = 1;
    while (len < queue_len) {
        len <<= 1;
    }
    uint32_t item = ((uint32_t)queue_item_size + 3u) & ~3u;
    /* At most 16 + 32768 * (8 + 65532) bytes: fits 32 bits. */
    uint32_t total = DESC_REL_OFFSET + len * (uint32_t)sizeof(esp_amp_queue_desc_t) + len * item;

    ampvq_block_t b;
    int err = ampvq_sys_info_alloc_block((uint16_t)sysinfo_id, total, &b);
    if (err != ESP_OK) {
        return err;
    }
    ampvq_queue_hdr_t *hdr = (ampvq_queue_hdr_t *)b.ptr;
    uint32_t desc_off = b.offset + DESC_REL_OFFSET;
    uint32_t buf_off = desc_off + len * (uint32_t)sizeof(esp_amp_queue_desc_t);
    esp_amp_queue_desc_t *desc = (esp_amp_queue_desc_t *)ampvq_shm_ptr(desc_off);

    /* The block is zeroed: flags 0 are "free" for a master whose counter is
     * 1. Each slot starts out lending its own buffer. */
    for (uint32_t i = 0; i < len; i++) {
        desc[i].addr = buf_off + i * item;
    }
    hdr->item_size = (uint16_t)item;
    hdr->desc_off = desc_off;
    hdr->buf_off = buf_off;
    cache_writeback(b.ptr, b.size);
    /* Pairs with the LOAD_ACQUIRE of len in open_from_block(): a non-zero
     * len means header and descriptors are complete. */
    AMPVQ_STORE_RELEASE(&hdr->len, (uint16_t)len);
    cache_writeback(&hdr->len, sizeof(hdr->len));
    /* From the values we computed, not from the header: the sub core may
     * already be running and able to rewrite it. */
    set_handle(queue, desc_off, buf_off, len, item, cb_func, priv_data, is_master);
    return ESP_OK;
}

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
    return open_from_block(queue, &b, cb_func, priv_data, is_master);
}

int esp_amp_queue_alloc_try(esp_amp_queue_t *queue, void **buffer, uint16_t size)
{
    int err = check_handle(queue, true);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > queue->item_size) {
        return ESP_ERR_NO_MEM;
    }
    /* A correct remote never lets us hold more than every buffer; this keeps
     * the counter honest if the remote lies about free slots. */
    if (queue->outstanding >= queue->size) {
        return ESP_ERR_NOT_FOUND;
    }
    esp_amp_queue_desc_t *d = &queue->desc[queue->head];
    cache_invalidate(d, sizeof(*d));
    /* Pairs with the STORE_RELEASE in esp_amp_queue_free_try(): the remote
     * is done with the buffer before we see the slot free. */
    uint16_t flags = AMPVQ_LOAD_ACQUIRE(&d->flags);
    if ((flags & F_BOTH) != FLAGS_FREE(queue->head_wrap)) {
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t off = AMPVQ_READ_ONCE(&d->addr) - queue->buf_off;
    advance(&queue->head, &queue->head_wrap, queue->size);
    if (slot_of(queue, off) >= queue->size) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    queue->outstanding++;
    *buffer = queue->buf + off;
    return ESP_OK;
}

int esp_amp_queue_send_try(esp_amp_queue_t *queue, void *buffer, uint16_t size)
{
    int err = check_handle(queue, true);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > queue->item_size) {
        return ESP_ERR_NO_MEM;
    }
    uint32_t off = buffer_offset(queue, buffer);
    if (off == UINT32_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue->outstanding == 0) {
        return ESP_ERR_NOT_ALLOWED;
    }
    cache_writeback(buffer, size);
    esp_amp_queue_desc_t *d = &queue->desc[queue->tail];
    /* Plain stores: the remote reads addr and len only after acquiring the
     * flags released below, so it cannot see them half-written. */
    d->addr = queue->buf_off + off;
    d->len = size;
    /* Pairs with the LOAD_ACQUIRE in esp_amp_queue_recv_try(): payload, addr
     * and len are visible before the slot shows as available. */
    AMPVQ_STORE_RELEASE(&d->flags, FLAGS_SENT(queue->tail_wrap));
    cache_writeback(d, sizeof(*d));
    advance(&queue->tail, &queue->tail_wrap, queue->size);
    queue->outstanding--;
    if (queue->notify_fc != NULL) {
        queue->notify_fc(queue->priv_data);
    }
    return ESP_OK;
}

int esp_amp_queue_recv_try(esp_amp_queue_t *queue, void **buffer, uint16_t *size)
{
    int err = check_handle(queue, false);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL || size == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue->outstanding >= queue->size) {
        return ESP_ERR_NOT_FOUND;
    }
    esp_amp_queue_desc_t *d = &queue->desc[queue->head];
    cache_invalidate(d, sizeof(*d));
    /* Pairs with the STORE_RELEASE in esp_amp_queue_send_try(). */
    uint16_t flags = AMPVQ_LOAD_ACQUIRE(&d->flags);
    if ((flags & F_BOTH) != FLAGS_AVAILABLE(queue->head_wrap)) {
        return ESP_ERR_NOT_FOUND;
    }
    uint32_t off = AMPVQ_READ_ONCE(&d->addr) - queue->buf_off;
    uint16_t len = AMPVQ_READ_ONCE(&d->len);
    advance(&queue->head, &queue->head_wrap, queue->size);
    if (slot_of(queue, off) >= queue->size || len > queue->item_size) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    cache_invalidate(queue->buf + off, len);
    queue->outstanding++;
    *buffer = queue->buf + off;
    *size = len;
    return ESP_OK;
}

int esp_amp_queue_free_try(esp_amp_queue_t *queue, void *buffer)
{
    int err = check_handle(queue, false);
    if (err != ESP_OK) {
        return err;
    }
    if (buffer == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t off = buffer_offset(queue, buffer);
    if (off == UINT32_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue->outstanding == 0) {
        return ESP_ERR_NOT_ALLOWED;
    }
    /* The remote may have written into the buffer (in-place replies). */
    cache_writeback(buffer, queue->item_size);
    esp_amp_queue_desc_t *d = &queue->desc[queue->tail];
    d->addr = queue->buf_off + off; /* read by the master only after acquiring the flags */
    /* Pairs with the LOAD_ACQUIRE in esp_amp_queue_alloc_try(): our last
     * access to the buffer happens before the master reuses it. */
    AMPVQ_STORE_RELEASE(&d->flags, FLAGS_FREED(queue->tail_wrap));
    cache_writeback(d, sizeof(*d));
    advance(&queue->tail, &queue->tail_wrap, queue->size);
    queue->outstanding--;
    return ESP_OK;
}

int esp_amp_queue_intr_enable(esp_amp_queue_t *queue, esp_amp_sw_intr_id_t sw_intr_id)
{
    int err = check_handle(queue, false);
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
