/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Event bits: one 32-bit word per event id in a sys_info block. The notifier
 * ORs bits in, the waiter polls and may clear them; both update the same
 * word, so these are atomic RMWs (events are rare, never on the data path).
 */
#include <stddef.h>

#include "esp_err.h"
#include "esp_amp_event.h"
#include "esp_amp_sw_intr.h"
#include "esp_amp_sys_info.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

static uint32_t *event_word(uint16_t id)
{
    ampvq_block_t b;

    if (ampvq_sys_info_find(id, &b) != ESP_OK || b.size < sizeof(uint32_t)) {
        return NULL;
    }
    return (uint32_t *)b.ptr;
}

int esp_amp_event_create(uint16_t sysinfo_id)
{
    ampvq_block_t b;

    /* Both cores update the word with atomic RMW: uncached when not coherent. */
    return ampvq_sys_info_alloc_uncached_block(sysinfo_id, sizeof(uint32_t), &b);
}

int esp_amp_event_init(void)
{
    if (ampvq_port_core_id() == AMPVQ_CORE_MAIN) {
        int err = esp_amp_event_create(SYS_INFO_RESERVED_ID_EVENT_MAIN);
        return err != ESP_OK ? err : esp_amp_event_create(SYS_INFO_RESERVED_ID_EVENT_SUB);
    }
    if (event_word(SYS_INFO_RESERVED_ID_EVENT_MAIN) == NULL || event_word(SYS_INFO_RESERVED_ID_EVENT_SUB) == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    return ESP_OK;
}

uint32_t esp_amp_event_notify_by_id(uint16_t sysinfo_id, uint32_t bit_mask)
{
    uint32_t *w = event_word(sysinfo_id);

    if (w == NULL) {
        return 0;
    }
    /* Release: what we wrote before notifying is visible to a waiter that
     * acquires the bit in esp_amp_event_wait_by_id(). */
    uint32_t old = AMPVQ_FETCH_OR(w, bit_mask);
    esp_amp_sw_intr_trigger(SW_INTR_RESERVED_ID_EVENT);
    return old;
}

static bool satisfied(uint32_t bits, uint32_t mask, bool all)
{
    return all ? (bits & mask) == mask : (bits & mask) != 0;
}

uint32_t esp_amp_event_wait_by_id(uint16_t sysinfo_id, uint32_t bit_mask, bool clear_on_exit, bool wait_for_all,
                                  uint32_t timeout)
{
    uint32_t *w = event_word(sysinfo_id);

    if (w == NULL) {
        return 0;
    }
    uint32_t start = ampvq_port_time_ms();
    for (;;) {
        /* Pairs with the FETCH_OR in esp_amp_event_notify_by_id(). */
        uint32_t bits = AMPVQ_LOAD_ACQUIRE(w);
        if (satisfied(bits, bit_mask, wait_for_all)) {
            if (clear_on_exit) {
                AMPVQ_FETCH_AND(w, ~(bits & bit_mask));
            }
            return bits;
        }
        /* Unsigned difference: correct across the 2^32 ms wrap. */
        if (ampvq_port_time_ms() - start >= timeout) {
            return bits;
        }
        ampvq_port_delay_us(AMPVQ_EVENT_POLL_US);
    }
}

uint32_t esp_amp_event_clear_by_id(uint16_t sysinfo_id, uint32_t bit_mask)
{
    uint32_t *w = event_word(sysinfo_id);

    return w == NULL ? 0 : AMPVQ_FETCH_AND(w, ~bit_mask);
}

static uint16_t own_id(void)
{
    return ampvq_port_core_id() == AMPVQ_CORE_MAIN ? SYS_INFO_RESERVED_ID_EVENT_MAIN : SYS_INFO_RESERVED_ID_EVENT_SUB;
}

static uint16_t peer_id(void)
{
    return ampvq_port_core_id() == AMPVQ_CORE_MAIN ? SYS_INFO_RESERVED_ID_EVENT_SUB : SYS_INFO_RESERVED_ID_EVENT_MAIN;
}

uint32_t esp_amp_event_notify(uint32_t bit_mask)
{
    return esp_amp_event_notify_by_id(own_id(), bit_mask);
}

uint32_t esp_amp_event_wait(uint32_t bit_mask, bool clear_on_exit, bool wait_for_all, uint32_t timeout)
{
    return esp_amp_event_wait_by_id(peer_id(), bit_mask, clear_on_exit, wait_for_all, timeout);
}

uint32_t esp_amp_event_clear(uint32_t bit_mask)
{
    return esp_amp_event_clear_by_id(peer_id(), bit_mask);
}
