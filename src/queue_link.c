/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Link sessions: surviving a restart of the other core (docs/sessions.md).
 *
 * Each queue has a session word per role (ampvq_queue_ctl_t), written only
 * by the core in that role. The sub core writes the instance number its
 * esp_amp_init() took (region session[SUB]), with AMPVQ_SESSION_FRESH when
 * no earlier instance had attached to the queue. The main core owns the
 * ring: when the sub core's word changes to a session the ring does not
 * belong to, it resets the ring (every buffer back to its slot, in-flight
 * messages counted as lost) and then writes that session into its own word,
 * with a release store: the new sub instance uses the ring only after it has
 * acquired that acknowledgement. A fresh attach needs no reset, so the first
 * start of a system works exactly as the seed's protocol does.
 *
 * Handles notice changes in the claim path (alloc/recv): the peer's word is
 * compared on every claim, a change leads here.
 */
#include "queue_priv.h"
#include "esp_amp_event.h"

#if defined(__SANITIZE_THREAD__)
uint32_t ampvq_tsan_fence_word;
#endif

/* The main core's expectation before any sub instance attached: matches no
 * session word, so the first claim comes here. */
#define SEEN_NONE 0xffffffffu

enum { LINK_NONE, LINK_UP, LINK_RESETTING, LINK_PENDING, LINK_DEAD };

static void link_event(esp_amp_queue_t *q, bool up)
{
    if (q->link_cb != NULL) {
        q->link_cb(q, up, q->link_priv);
    }
    /* The word this core's esp_amp_event_wait() reads. */
    esp_amp_event_notify_by_id(q->on_main ? SYS_INFO_RESERVED_ID_EVENT_SUB : SYS_INFO_RESERVED_ID_EVENT_MAIN,
                               AMPVQ_EVENT_LINK);
}

static uint32_t region_session(int core)
{
    ampvq_region_hdr_t *r = ampvq_region();
    return AMPVQ_READ_ONCE(&r->session[core]);
}

void ampvq_queue_attach(esp_amp_queue_t *q)
{
    q->on_main = ampvq_port_core_id() == AMPVQ_CORE_MAIN;
    if (q->on_main) {
        q->sess_seen = SEEN_NONE;
        q->link = LINK_NONE;
        return;
    }
    uint32_t s = region_session(AMPVQ_CORE_SUB) & ~AMPVQ_SESSION_FRESH;
    q->main_session = region_session(AMPVQ_CORE_MAIN);
    cache_invalidate(q->sess_own, sizeof(uint32_t));
    uint32_t old = AMPVQ_READ_ONCE(q->sess_own);
    /* Re-opening within the same instance keeps the word; anything else is
     * a new attach, fresh only if nobody ever attached before. */
    uint32_t val = (old & ~AMPVQ_SESSION_FRESH) == s && old != 0 ? old : old == 0 ? (s | AMPVQ_SESSION_FRESH) : s;
    AMPVQ_STORE_RELEASE(q->sess_own, val);
    cache_writeback(q->sess_own, sizeof(uint32_t));
    q->sess_mine = val;
    /* A fresh attach may use the ring as it is; otherwise wait for the main
     * core to reset it for us (meanwhile expect nothing, so that every claim
     * comes to sub_check()). */
    bool fresh = (val & AMPVQ_SESSION_FRESH) != 0;
    q->link = fresh ? LINK_UP : LINK_PENDING;
    q->sess_seen = fresh ? val : SEEN_NONE;
}

/* Main core: every slot back to its initial state (flags 0, slot i lends
 * buffer i), both wake words back to their start values. Returns how many
 * messages were in flight (one flag bit set: sent and not given back). */
static uint32_t ring_reset(esp_amp_queue_t *q)
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
        bool master = q->tag == q_tag(q, ROLE_MASTER);
        AMPVQ_WRITE_ONCE(q->wake_own, master ? 0x80000000u : 0u);
        AMPVQ_WRITE_ONCE(q->wake_peer, master ? 0u : 0x80000000u);
        cache_writeback(q->wake_own, sizeof(uint32_t));
        cache_writeback(q->wake_peer, sizeof(uint32_t));
    }
    q->head = 0;
    q->tail = 0;
    q->n_peer_err = 0;
    q->n_resets++;
    q->n_lost += lost;
    return lost;
}

static void bind(esp_amp_queue_t *q, uint32_t peer)
{
    q->sess_seen = peer;
    /* Pairs with the LOAD_ACQUIRE in the sub core's ampvq_queue_link_check():
     * the reset ring is visible before the acknowledgement. */
    AMPVQ_STORE_RELEASE(q->sess_own, peer);
    cache_writeback(q->sess_own, sizeof(uint32_t));
    q->link = LINK_UP;
    link_event(q, true);
}

static int main_check(esp_amp_queue_t *q, uint32_t peer)
{
    if (peer == q->sess_seen) {
        return ESP_OK;
    }
    if (peer == 0) {
        /* No sub instance attached yet: a master may fill the ring for it;
         * a remote has nothing legitimate to receive. */
        return q->tag == q_tag(q, ROLE_MASTER) ? ESP_OK : ESP_ERR_NOT_FOUND;
    }
    if (q->sess_seen == SEEN_NONE && (peer & AMPVQ_SESSION_FRESH)) {
        bind(q, peer);
        return ESP_OK;
    }
    /* The ring may hold what an earlier instance left: reset it, once the
     * application has given back what it holds of the old ring (those
     * sends and frees go nowhere and are counted lost). */
    if (q->link != LINK_RESETTING) {
        q->link = LINK_RESETTING;
        link_event(q, false);
    }
    if (held(q, q->head, q->tail) != 0) {
        return ESP_ERR_NOT_FOUND;
    }
    ring_reset(q);
    bind(q, peer);
    return ESP_OK;
}

static int sub_check(esp_amp_queue_t *q, uint32_t peer)
{
    if (region_session(AMPVQ_CORE_MAIN) == q->main_session) {
        if (peer == q->sess_mine) {
            q->sess_seen = peer;
            if (q->link != LINK_UP) {
                q->link = LINK_UP;
                link_event(q, true);
            }
            return ESP_OK;
        }
        if ((q->sess_mine & AMPVQ_SESSION_FRESH) && peer == 0) {
            return ESP_OK; /* first attach: the ring is ours as it is */
        }
        if (q->link != LINK_UP) {
            /* Waiting for the main core to reset the ring. A master's notify
             * function is how the main core hears from us: prompt it. */
            if (q->tag == q_tag(q, ROLE_MASTER) && q->notify_fc != NULL) {
                q->notify_fc(q->notify_priv);
            }
            return ESP_ERR_NOT_FOUND;
        }
    }
    /* The main core restarted or gave the ring to another instance: this
     * handle is over. Closing it keeps our sends and frees out of a ring
     * that is no longer ours. */
    q->link = LINK_DEAD;
    q->tag = 0;
    link_event(q, false);
    return ESP_ERR_INVALID_STATE;
}

bool ampvq_queue_link_stale(const esp_amp_queue_t *q)
{
    /* The sub core also watches the main core's instance number: after a
     * restart of the main core our words may sit in memory nobody uses any
     * more, still holding the values we expect. */
    return AMPVQ_READ_ONCE(q->sess_peer) != q->sess_seen ||
           (!q->on_main && region_session(AMPVQ_CORE_MAIN) != q->main_session);
}

int ampvq_queue_link_check(esp_amp_queue_t *q)
{
    cache_invalidate(q->sess_peer, sizeof(uint32_t));
    /* Pairs with the STORE_RELEASE in bind() (sub core) and in
     * ampvq_queue_attach() (main core). */
    uint32_t peer = AMPVQ_LOAD_ACQUIRE(q->sess_peer);
    if (q->link == LINK_DEAD) {
        return ESP_ERR_INVALID_STATE;
    }
    return q->on_main ? main_check(q, peer) : sub_check(q, peer);
}

int esp_amp_queue_set_link_cb(esp_amp_queue_t *queue, esp_amp_queue_link_cb_t cb, void *priv)
{
    if (queue == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (queue->tag != q_tag(queue, ROLE_MASTER) && queue->tag != q_tag(queue, ROLE_REMOTE)) {
        return ESP_ERR_INVALID_STATE;
    }
    queue->link_cb = cb;
    queue->link_priv = priv;
    return ESP_OK;
}
