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
 * 24-byte header, `len` 8-byte descriptors (ESP-AMP's bytes), `len *
 * item_size` bytes of buffers and each role's control words (docs/layout.md);
 * each side keeps its indices in its own esp_amp_queue_t, so the struct must
 * live in memory private to its core.
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
    uint8_t *desc;                  /**< this core's view of descriptor 0 */
    uint8_t *buf;                   /**< this core's view of the first buffer */
    uint32_t buf_off;               /**< shared-memory offset of the first buffer */
    uint32_t item_size;             /**< bytes per buffer */
    uint32_t slot_inv;              /**< inverse of item_size's odd factor mod 2^32 */
    uint32_t head;                  /**< free-running: next slot to alloc (master) / recv (remote) */
    uint32_t tail;                  /**< free-running: next slot to send (master) / free into (remote) */
    uint32_t tag;                   /**< address and role; set by init, checked by every call */
    uint16_t size;                  /**< slots (power of two) */
    uint8_t slot_shift;             /**< item_size's power-of-two factor */
    uint8_t desc_shift;             /**< log2 of the descriptor stride */
    uint32_t *wake_own;             /**< event index: the wake word this core writes, or NULL */
    uint32_t *wake_peer;            /**< event index: the wake word the peer writes, or NULL */
    uint32_t *sess_own;             /**< session word this core writes */
    uint32_t *sess_peer;            /**< session word the peer writes */
    const uint32_t *inst_peer;      /**< the other core's instance number (region header) */
    uint32_t inst_seen;             /**< the value of *inst_peer this handle is in step with */
    uint32_t main_session;          /**< sub core: the main core's instance when we opened */
    uint32_t sess_mine;             /**< sub core: the session word we wrote */
    uint8_t on_main;                /**< this handle lives on the main core (it resets the ring) */
    uint8_t link;                   /**< AMPVQ_LINK_* (internal) */
    esp_amp_queue_cb_t callback_fc; /**< remote: run when the peer sends */
    esp_amp_queue_cb_t notify_fc;   /**< master: run after a send; remote: after a free (extension) */
    void *priv_data;                /**< argument of callback_fc (remote) / notify_fc (master) */
    void *notify_priv;              /**< argument of notify_fc */
    uint32_t n_full;                /**< stats: alloc found no free slot (master) */
    uint32_t n_peer_err;            /**< stats: bad descriptors skipped */
    uint32_t n_notify;              /**< stats: notify_fc calls */
    uint32_t sys_id;                /**< sys_info id of the block (dump, sessions) */
    uint32_t n_resets;              /**< stats: ring resets after a peer restart */
    uint32_t n_lost;                /**< stats: messages in flight at a reset, not delivered */
    void (*link_cb)(struct esp_amp_queue_t *q, bool up, void *priv); /**< link changes */
    void *link_priv;
} esp_amp_queue_t;

/**
 * @brief Create a queue in shared memory and open this core's side of it.
 *
 * Main core only, task context, after esp_amp_init(). Call it before the sub
 * core runs esp_amp_queue_sub_init() for the same id (normally before
 * esp_amp_start_subcore()).
 *
 * @param queue           handle to initialise (private memory; left unusable
 *                        if the call fails)
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

/* ------------------------------------------------------------------ */
/* Extensions beside the seed API (ampvq only; see docs/extensions.md)  */
/* ------------------------------------------------------------------ */

/** esp_amp_queue_main_init_ex() flag: notification suppression (event
 *  index). The remote records in shared memory from which slot it wants to
 *  be woken; the master's send calls the notify function only then. The
 *  master likewise records when it waits on a full queue, and the remote's
 *  free calls its free-notify function only then. */
#define ESP_AMP_QUEUE_F_EVENT_IDX (1u << 0)

/** Defined when the batch calls below exist. */
#define AMPVQ_HAVE_BATCH 1
/** Defined when esp_amp_queue_main_init_ex() accepts ESP_AMP_QUEUE_F_EVENT_IDX. */
#define AMPVQ_HAVE_EVENT_IDX 1

/**
 * @brief esp_amp_queue_main_init() with options.
 *
 * @param flags 0 (same as esp_amp_queue_main_init()) or
 *              ESP_AMP_QUEUE_F_EVENT_IDX.
 * @retval as esp_amp_queue_main_init(), and ESP_ERR_INVALID_ARG for an
 *         unknown flag
 */
int esp_amp_queue_main_init_ex(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                               esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                               esp_amp_sys_info_id_t sysinfo_id, uint32_t flags);

/**
 * @brief Remote: call `notify(priv)` after a free, so that a master waiting
 *        for a free buffer can be woken (typically it triggers a software
 *        interrupt on the master's core). On an event-index queue it is
 *        called only when the master has asked (its alloc found the queue
 *        full); otherwise after every successful free. NULL turns it off.
 *
 * @retval ESP_OK, ESP_ERR_INVALID_ARG (queue NULL), ESP_ERR_INVALID_STATE
 *         (not initialised), ESP_ERR_NOT_SUPPORTED (this core is the master)
 */
int esp_amp_queue_set_free_notify(esp_amp_queue_t *queue, esp_amp_queue_cb_t notify, void *priv);

/**
 * @brief Master: allocate up to `max` buffers of at least `size` bytes in one
 *        call. `*count` gets the number allocated (stored in buffers[0..]).
 *
 * @retval ESP_OK                   at least one buffer
 * @retval ESP_ERR_NOT_FOUND        none free (`*count` is 0)
 * @retval ESP_ERR_INVALID_RESPONSE the first slot held a bad descriptor,
 *                                  skipped as in esp_amp_queue_alloc_try()
 * @retval others                   as esp_amp_queue_alloc_try(); also
 *                                  ESP_ERR_INVALID_ARG for buffers or count
 *                                  NULL or max 0
 */
int esp_amp_queue_alloc_n(esp_amp_queue_t *queue, void **buffers, uint16_t size, uint16_t max, uint16_t *count);

/**
 * @brief Master: send `n` allocated buffers with one publish and one call of
 *        the notify function. Every buffer and size is checked first: on an
 *        error nothing is sent.
 *
 * @retval ESP_OK              all sent
 * @retval ESP_ERR_NOT_ALLOWED fewer than `n` allocated buffers outstanding
 * @retval others              as esp_amp_queue_send_try(); also
 *                             ESP_ERR_INVALID_ARG for buffers or sizes NULL
 *                             or n 0
 */
int esp_amp_queue_send_n(esp_amp_queue_t *queue, void *const *buffers, const uint16_t *sizes, uint16_t n);

/**
 * @brief Remote: receive up to `max` buffers in one call; `*count` gets the
 *        number received. A bad descriptor after the first ends the batch
 *        early: it is skipped (as recv_try would) and counted in
 *        esp_amp_queue_stats()'s peer_errors, and the call returns ESP_OK
 *        with the buffers before it.
 *
 * @retval ESP_OK                   at least one buffer
 * @retval ESP_ERR_NOT_FOUND        nothing to receive (`*count` is 0)
 * @retval ESP_ERR_INVALID_RESPONSE the first slot held a bad descriptor
 * @retval others                   as esp_amp_queue_recv_try(); also
 *                                  ESP_ERR_INVALID_ARG for count NULL or max 0
 */
int esp_amp_queue_recv_n(esp_amp_queue_t *queue, void **buffers, uint16_t *sizes, uint16_t max, uint16_t *count);

/**
 * @brief Remote: free `n` received buffers with one publish. Every buffer is
 *        checked first: on an error nothing is freed.
 *
 * @retval ESP_OK              all freed
 * @retval ESP_ERR_NOT_ALLOWED fewer than `n` received buffers outstanding
 * @retval others              as esp_amp_queue_free_try(); also
 *                             ESP_ERR_INVALID_ARG for buffers NULL or n 0
 */
int esp_amp_queue_free_n(esp_amp_queue_t *queue, void *const *buffers, uint16_t n);

/** Counters of one side of a queue (esp_amp_queue_stats()). */
typedef struct esp_amp_queue_stats_t {
    bool master;          /**< role of this handle */
    uint16_t len;         /**< slots */
    uint16_t held;        /**< buffers the application holds now */
    uint32_t item_size;   /**< bytes per buffer */
    uint32_t taken;       /**< master: buffers allocated; remote: received */
    uint32_t given;       /**< master: buffers sent; remote: freed */
    uint32_t full;        /**< master: allocs that found no free buffer */
    uint32_t peer_errors; /**< bad descriptors from the peer, skipped */
    uint32_t notify;      /**< notify-function calls */
    uint32_t resets;      /**< ring resets after the peer restarted (main core) */
    uint32_t lost;        /**< messages in flight at those resets: sent but not
                               confirmed received, never delivered twice */
    bool link_up;         /**< the peer is attached and in step with this side */
} esp_amp_queue_stats_t;

/** Link state change callback (esp_amp_queue_set_link_cb()). */
typedef void (*esp_amp_queue_link_cb_t)(esp_amp_queue_t *queue, bool up, void *priv);

/**
 * @brief Be told when the peer core restarts (link down) and when this side
 *        and the peer are in step again (link up). See docs/sessions.md.
 *
 * The callback runs in the context of the queue call that notices the change
 * (an alloc/recv of this handle). On the main core, link down is followed by
 * a reset of the ring: every buffer the dead peer held comes back, messages
 * in flight are counted in esp_amp_queue_stats()'s `lost`, and link up
 * follows once the new peer has attached. On the sub core, link down means
 * the main core restarted (or reset the ring for another instance): the
 * handle is closed (calls return ESP_ERR_INVALID_STATE) and the queue must
 * be opened again. Each change also sets AMPVQ_EVENT_LINK in the event word
 * this core's esp_amp_event_wait() reads.
 *
 * @retval ESP_OK, ESP_ERR_INVALID_ARG (queue NULL), ESP_ERR_INVALID_STATE
 */
int esp_amp_queue_set_link_cb(esp_amp_queue_t *queue, esp_amp_queue_link_cb_t cb, void *priv);

/** Event bit set in this core's event word on every link change. */
#define AMPVQ_EVENT_LINK (1u << 31)

/**
 * @brief Read this side's counters (wrap at 2^32). Any context.
 * @retval ESP_OK, ESP_ERR_INVALID_ARG (NULL), ESP_ERR_INVALID_STATE
 */
int esp_amp_queue_stats(const esp_amp_queue_t *queue, esp_amp_queue_stats_t *stats);

/** esp_amp_queue_alloc() / esp_amp_queue_recv(): wait without a time-out. */
#define ESP_AMP_QUEUE_WAIT_FOREVER UINT32_MAX

/**
 * @brief Master: esp_amp_queue_alloc_try() that waits up to `timeout_ms` for a
 *        free buffer, sleeping on this core's software interrupt (any id)
 *        instead of spinning. Task context with interrupts enabled, never an
 *        ISR; needs esp_amp_init() on this core, and a remote that wakes it
 *        (esp_amp_queue_set_free_notify() with a function that triggers a
 *        software interrupt on this core). Any dispatch on this core ends a
 *        sleep and the call tries again, so unrelated interrupts cost a try,
 *        not an early return. See docs/extensions.md, "Blocking calls".
 *
 * @param timeout_ms milliseconds of ampvq's clock (whole ms, so the wait may
 *                   be up to 1 ms shorter); 0 tries once without sleeping
 *                   (then ISR-safe); ESP_AMP_QUEUE_WAIT_FOREVER never
 *                   times out
 *
 * @retval ESP_OK          `*buffer` set
 * @retval ESP_ERR_TIMEOUT no buffer within timeout_ms (also for timeout_ms 0:
 *                         this call never returns ESP_ERR_NOT_FOUND)
 * @retval others          as esp_amp_queue_alloc_try(), returned at once
 */
int esp_amp_queue_alloc(esp_amp_queue_t *queue, void **buffer, uint16_t size, uint32_t timeout_ms);

/**
 * @brief Remote: esp_amp_queue_recv_try() that waits up to `timeout_ms` for a
 *        buffer, sleeping on this core's software interrupt (any id). Task
 *        context with interrupts enabled, never an ISR, and not together with
 *        a queue callback that receives on the same side; needs esp_amp_init()
 *        on this core and a master whose notify function triggers a software
 *        interrupt on this core. timeout_ms as esp_amp_queue_alloc().
 *
 * @retval ESP_OK          `*buffer` and `*size` set
 * @retval ESP_ERR_TIMEOUT nothing received within timeout_ms (never
 *                         ESP_ERR_NOT_FOUND)
 * @retval others          as esp_amp_queue_recv_try(), returned at once
 */
int esp_amp_queue_recv(esp_amp_queue_t *queue, void **buffer, uint16_t *size, uint32_t timeout_ms);

/** Receives one line of esp_amp_queue_dump()'s output (no newline). */
typedef void (*esp_amp_queue_dump_out_t)(void *ctx, const char *line);

/**
 * @brief Describe the queue, as this core sees it, one line at a time:
 *        geometry, indices, counters and every slot's descriptor and owner.
 *        Any context; reads shared memory without changing it. The format is
 *        documented in docs/inspect.md.
 * @retval ESP_OK, ESP_ERR_INVALID_ARG (queue or out NULL),
 *         ESP_ERR_INVALID_STATE (not initialised)
 */
int esp_amp_queue_dump(const esp_amp_queue_t *queue, esp_amp_queue_dump_out_t out, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_QUEUE_H */
