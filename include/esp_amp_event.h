/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Event bits: 32 per core, in shared memory. A core notifies by setting bits
 * in its own event word; the peer waits on that word. Used for link-up
 * ("sub core ready") and other one-shot signals, not for data.
 */
#ifndef ESP_AMP_EVENT_H
#define ESP_AMP_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Create the event word `sysinfo_id` (main core only).
 * @retval ESP_OK                   created
 * @retval ESP_ERR_INVALID_ARG      sysinfo_id 0xffff
 * @retval ESP_ERR_INVALID_STATE    id already taken, or region not initialised
 * @retval ESP_ERR_NO_MEM           no room in shared memory or the directory
 * @retval ESP_ERR_NOT_SUPPORTED    called on the sub core
 * @retval ESP_ERR_INVALID_RESPONSE the directory in shared memory has been
 *                                  overwritten (nothing is allocated)
 */
int esp_amp_event_create(uint16_t sysinfo_id);

/**
 * @brief Create (main) or find (sub) the two default event words,
 *        SYS_INFO_RESERVED_ID_EVENT_MAIN and _SUB. Called by esp_amp_init().
 * @retval ESP_OK            ready
 * @retval ESP_ERR_NOT_FOUND (sub) the main core has not created them
 * @retval ESP_ERR_NO_MEM    (main) no room in shared memory
 */
int esp_amp_event_init(void);

/**
 * @brief Set `bit_mask` in the event word `sysinfo_id` and raise
 *        SW_INTR_RESERVED_ID_EVENT on the peer. Task or interrupt context.
 * @return the word's bits before the call; 0 if the id is unknown
 */
uint32_t esp_amp_event_notify_by_id(uint16_t sysinfo_id, uint32_t bit_mask);

/**
 * @brief Wait until bits of `bit_mask` are set in the event word
 *        `sysinfo_id`. Task context (polls every AMPVQ_EVENT_POLL_US).
 * @param clear_on_exit clear the bits of `bit_mask` that were seen set
 * @param wait_for_all  wait for every bit of `bit_mask`, else any one
 * @param timeout       milliseconds; 0 checks once
 * @return the word's bits when the wait ended (before any clear); the caller
 *         tests them against `bit_mask` to tell success from time-out.
 *         0 if the id is unknown.
 */
uint32_t esp_amp_event_wait_by_id(uint16_t sysinfo_id, uint32_t bit_mask, bool clear_on_exit, bool wait_for_all,
                                  uint32_t timeout);

/**
 * @brief Clear `bit_mask` in the event word `sysinfo_id`. Use on the waiting
 *        side only: a bit cleared before it was seen is lost.
 * @return the word's bits before the call; 0 if the id is unknown
 */
uint32_t esp_amp_event_clear_by_id(uint16_t sysinfo_id, uint32_t bit_mask);

/**
 * @brief Notify the peer: sets bits in this core's own event word
 *        (EVENT_MAIN on the main core, EVENT_SUB on the sub core).
 * @return bits before the call
 */
uint32_t esp_amp_event_notify(uint32_t bit_mask);

/**
 * @brief Wait for bits the peer notified (EVENT_SUB on the main core,
 *        EVENT_MAIN on the sub core). Same rules as esp_amp_event_wait_by_id().
 */
uint32_t esp_amp_event_wait(uint32_t bit_mask, bool clear_on_exit, bool wait_for_all, uint32_t timeout);

/**
 * @brief Clear bits the peer notified (the word esp_amp_event_wait() reads).
 * @return bits before the call
 */
uint32_t esp_amp_event_clear(uint32_t bit_mask);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_EVENT_H */
