/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The ESP-AMP packed virtqueue: a single-producer / single-consumer queue of
 * fixed-size buffers in shared memory, passed zero-copy between two cores.
 *
 *   master core:  alloc_try -> fill in place -> send_try   (notify runs)
 *   remote core:  recv_try  -> use in place  -> free_try   (buffer goes back)
 *
 * Either core may be the master. The queue's block (a sys_info entry) holds a
 * 12-byte header, `len` 8-byte descriptors and `len * item_size` bytes of
 * buffers; each side keeps its indices in its own esp_amp_queue_t, so the
 * struct must live in memory private to its core.
 *
 * Concurrency: one task (or ISR) per side. The master's calls may run
 * concurrently with the remote's; two calls on the same side may not (guard
 * them with a mutex or a critical section if a task and an ISR share a side).
 *
 * The peer core is not trusted: a descriptor whose buffer offset is outside
 * the buffer area, not on a slot boundary, or whose length exceeds the item
 * size is reported as ESP_ERR_INVALID_RESPONSE and never handed out.
 */
#ifndef ESP_AMP_QUEUE_H
#define ESP_AMP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_amp_sw_intr.h"
#include "esp_amp_sys_info.h"
#include "ampvq/shm_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Callback (remote) or notify function (master), given `priv_data`.
 * The return value is ignored by the queue.
 */
typedef int (*esp_amp_queue_cb_t)(void *);

/**
 * A core's handle on one queue. Lives in the core's private memory; its
 * fields are internal and may change between versions.
 */
typedef struct esp_amp_queue_t {
    esp_amp_queue_desc_t *desc;     /**< this core's view of the descriptor table */
    uint8_t *buf;                   /**< this core's view of the first buffer */
    uint32_t buf_off;               /**< shared-memory offset of the first buffer */
    uint32_t item_size;             /**< bytes per buffer (multiple of 4) */
    uint32_t slot_inv;              /**< inverse of item_size's odd factor mod 2^32 */
    uint8_t slot_shift;             /**< item_size's power-of-two factor */
    uint8_t head_wrap;              /**< wrap counter of head */
    uint8_t tail_wrap;              /**< wrap counter of tail */
    bool master;                    /**< role on this queue */
    uint16_t size;                  /**< slots (power of two) */
    uint16_t head;                  /**< next slot to alloc (master) / recv (remote) */
    uint16_t tail;                  /**< next slot to send (master) / free into (remote) */
    uint16_t outstanding;           /**< buffers the application holds */
    uint32_t init_tag;              /**< set by init; guards against use uninitialised */
    esp_amp_queue_cb_t callback_fc; /**< remote: run when the peer sends */
    esp_amp_queue_cb_t notify_fc;   /**< master: run after every send */
    void *priv_data;
} esp_amp_queue_t;

/**
 * @brief Create a queue in shared memory and open this core's side of it.
 *
 * Main core only, task context, after esp_amp_init(). Call it before the sub
 * core runs esp_amp_queue_sub_init() for the same id (normally before
 * esp_amp_start_subcore()).
 *
 * @param queue           handle to initialise (private memory)
 * @param queue_len       slots, 1..32768; rounded up to a power of two
 * @param queue_item_size bytes per buffer, 1..65532; rounded up to 4
 * @param cb_func         master: notify function, called after every
 *                        successful send; remote: callback, run by
 *                        esp_amp_queue_intr_enable()'s interrupt. May be NULL.
 * @param priv_data       argument for cb_func
 * @param is_master       this core's role on the queue
 * @param sysinfo_id      id of the queue's block
 *
 * @retval ESP_OK                   ready
 * @retval ESP_ERR_INVALID_ARG      queue NULL, queue_len 0 or above 32768,
 *                                  or sysinfo_id 0xffff
 * @retval ESP_ERR_INVALID_SIZE     queue_item_size 0 or above 65532
 * @retval ESP_ERR_INVALID_STATE    sysinfo_id already taken, or esp_amp_init()
 *                                  not done
 * @retval ESP_ERR_NO_MEM           not enough shared memory or directory entries
 * @retval ESP_ERR_NOT_SUPPORTED    called on the sub core
 * @retval ESP_ERR_INVALID_RESPONSE the directory in shared memory has been
 *                                  overwritten (nothing is allocated)
 */
int esp_amp_queue_main_init(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                            esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                            esp_amp_sys_info_id_t sysinfo_id);

/**
 * @brief Open this core's side of a queue the main core created.
 *
 * Normally the sub core, task context, after esp_amp_init(). The queue's
 * header is read once and checked against its block; the geometry is kept
 * in `queue`, so later changes to the header by the peer have no effect.
 *
 * @retval ESP_OK                   ready
 * @retval ESP_ERR_INVALID_ARG      queue NULL
 * @retval ESP_ERR_NOT_FOUND        no block under sysinfo_id, or the main core
 *                                  has not finished initialising it
 * @retval ESP_ERR_INVALID_RESPONSE the block's header is inconsistent
 *                                  (length, item size, areas outside the block)
 */
int esp_amp_queue_sub_init(esp_amp_queue_t *queue, esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                           esp_amp_sys_info_id_t sysinfo_id);

/**
 * @brief Master: take a free buffer to fill. Task or ISR context.
 *
 * On ESP_OK the application owns `*buffer` (at least `size` bytes, at most the
 * item size) until it passes it to esp_amp_queue_send_try().
 *
 * @retval ESP_OK                   `*buffer` set
 * @retval ESP_ERR_NOT_FOUND        no free buffer (queue full): try later
 * @retval ESP_ERR_NO_MEM           size above the item size
 * @retval ESP_ERR_INVALID_ARG      queue or buffer NULL
 * @retval ESP_ERR_INVALID_STATE    queue not initialised
 * @retval ESP_ERR_NOT_SUPPORTED    this core is the remote
 * @retval ESP_ERR_INVALID_RESPONSE the remote returned a buffer that is not
 *                                  one of the queue's; that slot is skipped
 *                                  (one buffer fewer in circulation)
 */
int esp_amp_queue_alloc_try(esp_amp_queue_t *queue, void **buffer, uint16_t size);

/**
 * @brief Master: pass an allocated buffer to the remote, then call the
 *        notify function. Task or ISR context.
 *
 * On ESP_OK the buffer belongs to the remote; do not touch it again.
 * Buffers may be sent in any order relative to their allocation.
 *
 * @retval ESP_OK                sent (notify function called if set)
 * @retval ESP_ERR_NO_MEM        size above the item size
 * @retval ESP_ERR_INVALID_ARG   queue or buffer NULL, or buffer not the start
 *                               of one of the queue's buffers
 * @retval ESP_ERR_NOT_ALLOWED   no allocated buffer is outstanding
 * @retval ESP_ERR_INVALID_STATE queue not initialised
 * @retval ESP_ERR_NOT_SUPPORTED this core is the remote
 */
int esp_amp_queue_send_try(esp_amp_queue_t *queue, void *buffer, uint16_t size);

/**
 * @brief Remote: take the next buffer the master sent. Task or ISR context.
 *
 * On ESP_OK the application owns `*buffer` (`*size` bytes of payload) until
 * it passes it to esp_amp_queue_free_try(). Buffers arrive in send order.
 *
 * @retval ESP_OK                   `*buffer` and `*size` set
 * @retval ESP_ERR_NOT_FOUND        nothing to receive
 * @retval ESP_ERR_INVALID_ARG      queue, buffer or size NULL
 * @retval ESP_ERR_INVALID_STATE    queue not initialised
 * @retval ESP_ERR_NOT_SUPPORTED    this core is the master
 * @retval ESP_ERR_INVALID_RESPONSE the master published a descriptor whose
 *                                  buffer is not one of the queue's or whose
 *                                  length exceeds the item size; the slot is
 *                                  skipped and nothing is handed out
 */
int esp_amp_queue_recv_try(esp_amp_queue_t *queue, void **buffer, uint16_t *size);

/**
 * @brief Remote: give a received buffer back to the master. Task or ISR
 *        context. Buffers may be freed in any order.
 *
 * @retval ESP_OK                returned; the buffer belongs to the master
 * @retval ESP_ERR_INVALID_ARG   queue or buffer NULL, or buffer not the start
 *                               of one of the queue's buffers
 * @retval ESP_ERR_NOT_ALLOWED   no received buffer is outstanding
 * @retval ESP_ERR_INVALID_STATE queue not initialised
 * @retval ESP_ERR_NOT_SUPPORTED this core is the master
 */
int esp_amp_queue_free_try(esp_amp_queue_t *queue, void *buffer);

/**
 * @brief Remote: run the queue's callback from software interrupt
 *        `sw_intr_id` (registers callback_fc(priv_data) as its handler).
 *        Task context. The master's notify function should trigger the same
 *        id on this core.
 *
 * @retval ESP_OK                enabled
 * @retval ESP_ERR_INVALID_ARG   queue NULL or id above SW_INTR_ID_MAX
 * @retval ESP_ERR_INVALID_STATE queue not initialised or has no callback
 * @retval ESP_ERR_NOT_SUPPORTED this core is the master
 * @retval ESP_ERR_NOT_FINISHED  the handler could not be registered
 */
int esp_amp_queue_intr_enable(esp_amp_queue_t *queue, esp_amp_sw_intr_id_t sw_intr_id);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_QUEUE_H */
