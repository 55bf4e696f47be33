/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Batch calls: several buffers per call, one publish, one notify.
 *
 * A batch publish writes the descriptors of slots tail+1 .. tail+n-1 first,
 * then releases the flags of slot tail last. The peer consumes slots in
 * order, so it cannot look at tail+1 before it has acquired tail, and that
 * acquire makes everything written before the release visible: one ordering
 * point and one notify for the whole batch.
 */
#include "queue_priv.h"

static int take_n(esp_amp_queue_t *q, uint16_t flip, void **bufs, uint16_t *sizes, uint16_t max, uint16_t *count)
{
    /* The first buffer as the single calls take it: the link settled, a
     * wake-up requested if there is nothing. The rest only while ready. */
    *count = 0;
    uint32_t resets = q->n_resets;
    int err = ampvq_queue_take1(q, flip, &bufs[0], sizes);
    if (err != ESP_OK) {
        return err;
    }
    uint16_t n = 1;
    /* After a ring reset the batch stops at one: the reset has just read
     * every slot, and each shared field is read once per call. */
    while (n < max && q->n_resets == resets) {
        uint32_t head = q->head;
        if (held(q, head, q->tail) >= q->size) {
            break;
        }
        esp_amp_queue_desc_t *d = desc_at(q, head);
        if (!slot_ready(d, flip ^ lap_flags(q, head))) {
            break;
        }
        uint32_t off = AMPVQ_READ_ONCE(&d->addr) - q->buf_off;
        uint16_t len = AMPVQ_READ_ONCE(&d->len);
        q->head = head + 1;
        if (slot_of(q, off) >= q->size || (sizes != NULL && len > q->item_size)) {
            /* Skipped and counted, not reported: the buffers already taken
             * must reach the caller. */
            q->n_peer_err++;
            break;
        }
        cache_invalidate(q->buf + off, sizes != NULL ? len : q->item_size);
        bufs[n] = q->buf + off;
        if (sizes != NULL) {
            sizes[n] = len;
        }
        n++;
    }
    *count = n;
    return ESP_OK;
}

static int give_n(esp_amp_queue_t *q, void *const *bufs, const uint16_t *sizes, uint16_t n, uint16_t flip)
{
    if (bufs == NULL || n == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    for (uint16_t i = 0; i < n; i++) {
        uint32_t off;
        if (!buffer_offset(q, bufs[i], &off)) {
            return ESP_ERR_INVALID_ARG;
        }
        if (sizes != NULL && sizes[i] > q->item_size) {
            return ESP_ERR_NO_MEM;
        }
    }
    uint32_t tail = q->tail;
    if (held(q, q->head, tail) < n) {
        return ESP_ERR_NOT_ALLOWED;
    }
    for (uint16_t i = n; i-- > 0;) {
        uint32_t off;
        (void)buffer_offset(q, bufs[i], &off); /* checked above */
        uint16_t len = sizes != NULL ? sizes[i] : 0u;
        cache_writeback(bufs[i], sizes != NULL ? len : q->item_size);
        esp_amp_queue_desc_t *d = desc_at(q, tail + i);
        d->addr = q->buf_off + off;
        d->len = len;
        uint16_t flags = (uint16_t)(flip ^ lap_flags(q, tail + i));
        if (i != 0) {
            /* Made visible by the release of slot `tail` below. */
            AMPVQ_WRITE_ONCE(&d->flags, flags);
        } else {
            /* Pairs with the LOAD_ACQUIRE in slot_ready(): every descriptor
             * and payload of the batch is visible once slot tail is. */
            AMPVQ_STORE_RELEASE(&d->flags, flags);
        }
        cache_writeback(d, sizeof(*d));
    }
    q->tail = tail + n;
    ampvq_queue_notify(q, tail, tail + n);
    return ESP_OK;
}

int esp_amp_queue_alloc_n(esp_amp_queue_t *queue, void **buffers, uint16_t size, uint16_t max, uint16_t *count)
{
    int err = q_check(queue, ROLE_MASTER);
    if (err != ESP_OK) {
        return err;
    }
    if (buffers == NULL || count == NULL || max == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    *count = 0;
    if (size > queue->item_size) {
        return ESP_ERR_NO_MEM;
    }
    return take_n(queue, 0, buffers, NULL, max, count);
}

int esp_amp_queue_send_n(esp_amp_queue_t *queue, void *const *buffers, const uint16_t *sizes, uint16_t n)
{
    int err = q_check(queue, ROLE_MASTER);
    if (err != ESP_OK) {
        return err;
    }
    if (sizes == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return give_n(queue, buffers, sizes, n, F_AVAIL);
}

int esp_amp_queue_recv_n(esp_amp_queue_t *queue, void **buffers, uint16_t *sizes, uint16_t max, uint16_t *count)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err != ESP_OK) {
        return err;
    }
    if (buffers == NULL || sizes == NULL || count == NULL || max == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    return take_n(queue, F_AVAIL, buffers, sizes, max, count);
}

int esp_amp_queue_free_n(esp_amp_queue_t *queue, void *const *buffers, uint16_t n)
{
    int err = q_check(queue, ROLE_REMOTE);
    if (err != ESP_OK) {
        return err;
    }
    return give_n(queue, buffers, NULL, n, F_BOTH);
}
