/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Link sessions: surviving a restart of the other core (docs/sessions.md).
 *
 * Each core has an instance number in the region header (session[core]),
 * taken by its esp_amp_init(): the sub core's grows by one at every start,
 * the main core's at every re-initialisation of a region it finds valid.
 * Every claim (alloc/recv) compares the other core's number with the one
 * the handle is in step with: one load of a word written only when a core
 * starts, and kept in the uncached prefix on non-coherent chips, so the
 * message path needs no cache maintenance for it.
 *
 * Each queue also has a session word per role (ampvq_queue_ctl_t). The sub
 * core writes the instance that opened the queue, with AMPVQ_SESSION_FRESH
 * when no instance had opened it before. The main core owns the ring: when
 * the sub core's instance changes and the ring was used by an earlier
 * instance, it resets the ring (every buffer back to its slot, in-flight
 * messages counted lost) and then writes the new instance number into its
 * own word with a release store; the new instance uses the ring only after
 * it has acquired that acknowledgement. A fresh attach needs no reset and
 * no acknowledgement, so the first start works exactly as the seed does.
 */
#include "queue_priv.h"
#include "esp_amp_event.h"

#if defined(__SANITIZE_THREAD__)
uint32_t ampvq_tsan_fence_word;
#endif

/* Instance numbers are below 2^31: this one matches none, so a pending sub
 * handle takes the slow path on every claim until it is acknowledged. */
#define INST_NONE 0xffffffffu

static uint32_t *region_session(int core)
{
    return &ampvq_region()->session[core];
}

static void link_event(esp_amp_queue_t *q, bool up)
{
    if (q->link_cb != NULL) {
        q->link_cb(q, up, q->link_priv);
    }
    /* The word this core's esp_amp_event_wait() reads. */
    esp_amp_event_notify_by_id(q->on_main ? SYS_INFO_RESERVED_ID_EVENT_SUB : SYS_INFO_RESERVED_ID_EVENT_MAIN,
                               AMPVQ_EVENT_LINK);
}

static void link_set(esp_amp_queue_t *q, uint8_t state)
{
    if (q->link != state) {
        bool report = state == AMPVQ_LINK_UP || q->link == AMPVQ_LINK_UP;
        q->link = state;
        if (report) {
            link_event(q, state == AMPVQ_LINK_UP);
        }
    }
}

void ampvq_queue_attach(esp_amp_queue_t *q, bool is_master)
{
    q->on_main = ampvq_port_core_id() == AMPVQ_CORE_MAIN;
    q->inst_peer = region_session(q->on_main ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN);
    if (q->on_main) {
        q->inst_seen = AMPVQ_READ_ONCE(q->inst_peer);
        q->link = AMPVQ_LINK_NONE;
        return;
    }
    uint32_t s = AMPVQ_READ_ONCE(region_session(AMPVQ_CORE_SUB)) & ~AMPVQ_SESSION_FRESH;
    q->main_session = AMPVQ_READ_ONCE(q->inst_peer);
    /* Our control words (one line in non-coherent builds): read the session
     * word we decide on, and the wake word, from memory. */
    ampvq_queue_ctl_t *own = ctl_of(q->sess_own);
    cache_invalidate(own, sizeof(*own));
    uint32_t old = AMPVQ_READ_ONCE(q->sess_own);
    /* Re-opening within the same instance keeps the word; anything else is
     * a new attach, fresh only if nobody ever attached before. */
    uint32_t val = old != 0 && (old & ~AMPVQ_SESSION_FRESH) == s ? old : old == 0 ? (s | AMPVQ_SESSION_FRESH) : s;
    if (val != old && old != 0 && q->wake_own != NULL) {
        /* A restart: our wake word still holds the dead instance's request.
         * Back to its start value (we are its only writer; the main core
         * resets only its own). */
        AMPVQ_WRITE_ONCE(q->wake_own, wake_start(is_master));
    }
    AMPVQ_STORE_RELEASE(q->sess_own, val);
    cache_writeback(own, sizeof(*own));
    q->sess_mine = val;
    /* A fresh attach may use the ring as it is; otherwise wait for the main
     * core to reset it for us. */
    bool fresh = (val & AMPVQ_SESSION_FRESH) != 0;
    q->link = fresh ? AMPVQ_LINK_UP : AMPVQ_LINK_PENDING;
    q->inst_seen = fresh ? q->main_session : INST_NONE;
}

/* Main core: every slot back to its initial state (flags 0, slot i lends
 * buffer i), our wake word back to its start value. Counts the
 * messages in flight (one flag bit set: sent and not given back). */
static void ring_reset(esp_amp_queue_t *q)
{
    uint32_t lost = 0;
    for (uint32_t i = 0; i < q->size; i++) {
        esp_amp_queue_desc_t *d = desc_at(q, i);
        cache_invalidate(d, sizeof(*d));
        uint16_t f = AMPVQ_READ_ONCE(&d->flags) & F_BOTH;
        lost += f == F_AVAIL || f == F_USED;
        d->addr = q->buf_off + i * q->item_size;
        d->len = 0;
        AMPVQ_WRITE_ONCE(&d->flags, (uint16_t)0);
        cache_writeback(d, sizeof(*d));
    }
    if (q->wake_own != NULL) {
        /* Our own wake word only (the new sub instance resets its own when
         * it attaches); written back with the acknowledgement, which shares
         * its line. */
        AMPVQ_WRITE_ONCE(q->wake_own, wake_start(q_is_master(q)));
    }
    q->head = 0;
    q->tail = 0;
    q->n_peer_err = 0;
    q->n_resets++;
    q->n_lost += lost;
}

static int main_check(esp_amp_queue_t *q)
{
    uint32_t inst = AMPVQ_READ_ONCE(q->inst_peer);
    cache_invalidate(q->sess_peer, sizeof(uint32_t));
    /* Pairs with the STORE_RELEASE in ampvq_queue_attach(). */
    uint32_t w = AMPVQ_LOAD_ACQUIRE(q->sess_peer);
    if (w == 0 || w == (inst | AMPVQ_SESSION_FRESH)) {
        /* Nobody used the ring yet, or the current instance opened it
         * fresh: it is theirs as it is (with what we sent meanwhile). */
        q->inst_seen = inst;
        if (w != 0) {
            link_set(q, AMPVQ_LINK_UP);
        }
        return ESP_OK;
    }
    /* An earlier instance used the ring: reset it, once the application
     * has given back what it holds of it (those sends and frees go nowhere
     * and are counted lost). */
    if (q->link != AMPVQ_LINK_RESETTING) {
        q->link = AMPVQ_LINK_RESETTING; /* was in use, up or not yet checked */
        link_event(q, false);
    }
    if (held(q, q->head, q->tail) != 0) {
        return ESP_ERR_NOT_FOUND;
    }
    ring_reset(q);
    /* Pairs with the LOAD_ACQUIRE in sub_check(): the reset ring is visible
     * before the acknowledgement. The write-back covers both our control
     * words (the reset wake word too). */
    AMPVQ_STORE_RELEASE(q->sess_own, inst);
    cache_writeback(ctl_of(q->sess_own), sizeof(ampvq_queue_ctl_t));
    q->inst_seen = inst;
    link_set(q, AMPVQ_LINK_UP);
    return ESP_OK;
}

static int sub_check(esp_amp_queue_t *q)
{
    if (AMPVQ_READ_ONCE(q->inst_peer) == q->main_session) {
        cache_invalidate(q->sess_peer, sizeof(uint32_t));
        uint32_t peer = AMPVQ_LOAD_ACQUIRE(q->sess_peer);
        if (peer == q->sess_mine || ((q->sess_mine & AMPVQ_SESSION_FRESH) && peer == 0)) {
            q->inst_seen = q->main_session;
            link_set(q, AMPVQ_LINK_UP);
            return ESP_OK;
        }
        if (q->link == AMPVQ_LINK_PENDING) {
            /* Waiting for the main core to reset the ring. A master's notify
             * function is how the main core hears from us: prompt it. */
            if (q_is_master(q) && q->notify_fc != NULL) {
                q->notify_fc(q->notify_priv);
            }
            return ESP_ERR_NOT_FOUND;
        }
    }
    /* The main core restarted (or gave the ring to a later instance): this
     * handle is over. Closing it keeps our sends and frees out of a ring
     * that is no longer ours. */
    link_set(q, AMPVQ_LINK_DEAD);
    q->tag = 0;
    return ESP_ERR_INVALID_STATE;
}

bool ampvq_queue_link_stale(const esp_amp_queue_t *q)
{
    return AMPVQ_READ_ONCE(q->inst_peer) != q->inst_seen;
}

int ampvq_queue_link_check(esp_amp_queue_t *q)
{
    if (q->link == AMPVQ_LINK_DEAD) {
        return ESP_ERR_INVALID_STATE;
    }
    return q->on_main ? main_check(q) : sub_check(q);
}

bool ampvq_queue_link_up(const esp_amp_queue_t *q)
{
    if (q->link == AMPVQ_LINK_NONE && q->on_main) {
        /* Opened fresh by the current sub instance: up without a check. */
        cache_invalidate(q->sess_peer, sizeof(uint32_t));
        return AMPVQ_READ_ONCE(q->sess_peer) == (q->inst_seen | AMPVQ_SESSION_FRESH);
    }
    return q->link == AMPVQ_LINK_UP;
}

int esp_amp_queue_set_link_cb(esp_amp_queue_t *queue, esp_amp_queue_link_cb_t cb, void *priv)
{
    if (queue == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!q_open(queue)) {
        return ESP_ERR_INVALID_STATE;
    }
    queue->link_cb = cb;
    queue->link_priv = priv;
    return ESP_OK;
}
