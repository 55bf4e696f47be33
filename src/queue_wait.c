/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Blocking forms of alloc and recv: the try call in a loop that sleeps on
 * this core's software interrupt between attempts. They know nothing about
 * the queue's internals; what wakes them is the peer's notify (master ->
 * remote) or free-notify (remote -> master) triggering any software
 * interrupt on this core, and on an event-index queue the try call itself
 * has already asked the peer for that notification when it found nothing.
 *
 * Lost wake-ups: the dispatch generation is read before the try. A dispatch
 * that lands after the try failed moves the generation, so the sleep that
 * follows returns at once; one that landed before the read belongs to a
 * trigger whose work the try already saw.
 */
#include <stdint.h>

#include "esp_err.h"
#include "esp_amp_queue.h"
#include "ampvq/port.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

typedef struct {
    uint32_t start;   /* ampvq_port_time_ms() at entry */
    uint32_t timeout; /* ms, or ESP_AMP_QUEUE_WAIT_FOREVER */
} deadline_t;

/* Milliseconds left before the deadline, 0 once it has passed. Elapsed time
 * is an unsigned difference, so the 2^32 wrap of the clock does not matter
 * as long as a single call waits less than 49 days. */
static uint32_t remaining_ms(const deadline_t *d)
{
    if (d->timeout == ESP_AMP_QUEUE_WAIT_FOREVER) {
        return UINT32_MAX;
    }
    uint32_t elapsed = ampvq_port_time_ms() - d->start;
    return elapsed >= d->timeout ? 0u : d->timeout - elapsed;
}

typedef int (*try_fn_t)(esp_amp_queue_t *queue, void **buffer, void *arg);

static int wait_for(esp_amp_queue_t *queue, void **buffer, void *arg, uint32_t timeout_ms, try_fn_t try_once)
{
    const uint32_t *gen = ampvq_sw_intr_gen();
    deadline_t d = {.start = ampvq_port_time_ms(), .timeout = timeout_ms};

    for (;;) {
        /* Acquire pairs with the release in ampvq_sw_intr_dispatch(). */
        uint32_t seen = AMPVQ_LOAD_ACQUIRE(gen);
        int err = try_once(queue, buffer, arg);
        if (err != ESP_ERR_NOT_FOUND) {
            /* Success, or a caller or peer error that waiting cannot fix. */
            return err;
        }
        uint32_t left = remaining_ms(&d);
        if (left == 0) {
            return ESP_ERR_TIMEOUT;
        }
        (void)ampvq_port_wait_intr(gen, seen, left);
    }
}

static int try_alloc(esp_amp_queue_t *queue, void **buffer, void *arg)
{
    return esp_amp_queue_alloc_try(queue, buffer, *(const uint16_t *)arg);
}

static int try_recv(esp_amp_queue_t *queue, void **buffer, void *arg)
{
    return esp_amp_queue_recv_try(queue, buffer, (uint16_t *)arg);
}

int esp_amp_queue_alloc(esp_amp_queue_t *queue, void **buffer, uint16_t size, uint32_t timeout_ms)
{
    return wait_for(queue, buffer, &size, timeout_ms, try_alloc);
}

int esp_amp_queue_recv(esp_amp_queue_t *queue, void **buffer, uint16_t *size, uint32_t timeout_ms)
{
    return wait_for(queue, buffer, size, timeout_ms, try_recv);
}
