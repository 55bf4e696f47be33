/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Software interrupts. Each core has a 32-bit pending word in the region
 * header; trigger() ORs a bit into the peer's word and rings its doorbell,
 * and the peer's interrupt swaps its word with 0 and runs the handlers of
 * every bit it took. A trigger that lands after the swap leaves its bit set
 * and the port dispatches again, so coalesced triggers never lose a run.
 *
 * The handler tables are indexed by core because some ports (posix threads,
 * riscv-virt) run both cores from one image; each core touches only its row,
 * and only with its own interrupt masked (critical section).
 */
#include <stddef.h>

#include "esp_err.h"
#include "esp_amp_sw_intr.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

typedef struct {
    esp_amp_sw_intr_handler_t fn;
    void *arg;
    uint32_t id;
} handler_t;

static handler_t handlers[2][AMPVQ_SW_INTR_MAX_HANDLERS];

/* Dispatches that took bits, per core: what a blocked task sleeps on
 * (ampvq_port_wait_intr()). In private memory, not in the region header:
 * the sleeper and the dispatcher are always the same core, and a counter
 * the peer could scribble on would be one more thing to distrust. Only the
 * core's dispatch writes it, and dispatches of one core do not overlap. */
static uint32_t dispatch_gen[2];

static uint32_t *pending_word(int core)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    return hdr == NULL ? NULL : &hdr->sw_intr_pending[core & 1];
}

int esp_amp_sw_intr_init(void)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    int core = ampvq_port_core_id() & 1;

    /* Pairs with the STORE_RELEASE of magic in esp_amp_sys_info_init(). */
    if (hdr == NULL || AMPVQ_LOAD_ACQUIRE(&hdr->magic) != AMPVQ_REGION_MAGIC) {
        return ESP_ERR_INVALID_STATE;
    }
    uint32_t token = ampvq_port_critical_enter();
    for (size_t i = 0; i < AMPVQ_SW_INTR_MAX_HANDLERS; i++) {
        handlers[core][i].fn = NULL;
    }
    ampvq_port_critical_exit(token);
    return ampvq_port_sw_intr_install(pending_word(core)) == 0 ? ESP_OK : ESP_FAIL;
}

int esp_amp_sw_intr_add_handler(esp_amp_sw_intr_id_t intr_id, esp_amp_sw_intr_handler_t handler, void *arg)
{
    int core = ampvq_port_core_id() & 1;
    int err = ESP_ERR_NO_MEM;

    if ((uint32_t)intr_id > SW_INTR_ID_MAX || handler == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    uint32_t token = ampvq_port_critical_enter();
    for (size_t i = 0; i < AMPVQ_SW_INTR_MAX_HANDLERS; i++) {
        handler_t *h = &handlers[core][i];
        if (h->fn == NULL) {
            h->id = (uint32_t)intr_id;
            h->arg = arg;
            h->fn = handler;
            err = ESP_OK;
            break;
        }
    }
    ampvq_port_critical_exit(token);
    return err;
}

void esp_amp_sw_intr_delete_handler(esp_amp_sw_intr_id_t intr_id, esp_amp_sw_intr_handler_t handler)
{
    int core = ampvq_port_core_id() & 1;

    uint32_t token = ampvq_port_critical_enter();
    for (size_t i = 0; i < AMPVQ_SW_INTR_MAX_HANDLERS; i++) {
        handler_t *h = &handlers[core][i];
        if (h->fn == handler && h->id == (uint32_t)intr_id) {
            h->fn = NULL;
        }
    }
    ampvq_port_critical_exit(token);
}

static void raise_on(int core, uint32_t id)
{
    uint32_t *word = pending_word(core);

    if (word == NULL || id > SW_INTR_ID_MAX) {
        return;
    }
    /* Release: what the caller wrote before triggering (e.g. a descriptor)
     * is visible to the handlers, which take the bit with the acquire half
     * of the EXCHANGE in ampvq_sw_intr_dispatch(). */
    /* Ring only when the word was empty: a non-zero word means an earlier
     * setter has rung (or is about to), and the dispatch that ring causes
     * swaps out our bit too. Saves a doorbell per coalesced trigger. */
    if (AMPVQ_FETCH_OR(word, 1u << id) == 0) {
        ampvq_port_doorbell_ring(word);
    }
}

void esp_amp_sw_intr_trigger(esp_amp_sw_intr_id_t intr_id)
{
    raise_on(ampvq_port_core_id() ^ 1, (uint32_t)intr_id);
}

void ampvq_sw_intr_raise_local(uint32_t id)
{
    raise_on(ampvq_port_core_id(), id);
}

void ampvq_sw_intr_dispatch(void)
{
    int core = ampvq_port_core_id() & 1;
    uint32_t *word = pending_word(core);

    if (word == NULL) {
        return;
    }
    /* Take the bits before running handlers: a trigger during the handlers
     * sets its bit again and causes another dispatch. Pairs with raise_on(). */
    uint32_t bits = AMPVQ_EXCHANGE(word, 0u);
    for (size_t i = 0; bits != 0 && i < AMPVQ_SW_INTR_MAX_HANDLERS; i++) {
        handler_t *h = &handlers[core][i];
        if (h->fn != NULL && (bits >> h->id) & 1u) {
            h->fn(h->arg);
        }
    }
    if (bits != 0) {
        /* After the exchange: a waiter that sees the new value also sees
         * what the triggers published (release here, acquire in the
         * waiter's load; the exchange acquired from the triggers). */
        uint32_t *gen = &dispatch_gen[core];
        AMPVQ_STORE_RELEASE(gen, AMPVQ_READ_ONCE(gen) + 1u);
        ampvq_port_wake_intr(gen);
    }
}

const uint32_t *ampvq_sw_intr_gen(void)
{
    return &dispatch_gen[ampvq_port_core_id() & 1];
}
