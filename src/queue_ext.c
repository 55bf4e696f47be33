/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Queue extensions that are not on the message path (kept out of queue.c so
 * that the seed API's object stays small): free notification, counters.
 */
#include "queue_priv.h"

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
    if (!q_open(queue)) {
        return ESP_ERR_INVALID_STATE;
    }
    *stats = (esp_amp_queue_stats_t){
        .master = q_is_master(queue),
        .len = queue->size,
        .held = (uint16_t)held(queue, queue->head, queue->tail),
        .item_size = queue->item_size,
        .taken = queue->head - queue->n_peer_err,
        .given = queue->tail,
        .full = queue->n_full,
        .peer_errors = queue->n_peer_err,
        .notify = queue->n_notify,
        .resets = queue->n_resets,
        .lost = queue->n_lost,
        .link_up = ampvq_queue_link_up(queue),
    };
    return ESP_OK;
}
