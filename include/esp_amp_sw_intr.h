/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Software interrupts between the two cores: 32 ids, 16 for applications.
 * Triggering an id sets its bit in the peer's pending word in shared memory
 * and rings the peer's doorbell; the peer's interrupt runs every handler
 * registered for each pending id. Triggers that arrive before the peer runs
 * its handlers coalesce: a handler runs at least once after the last
 * trigger of its id, not once per trigger.
 */
#ifndef ESP_AMP_SW_INTR_H
#define ESP_AMP_SW_INTR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SW_INTR_ID_0 = 0,
    SW_INTR_ID_1,
    SW_INTR_ID_2,
    SW_INTR_ID_3,
    SW_INTR_ID_4,
    SW_INTR_ID_5,
    SW_INTR_ID_6,
    SW_INTR_ID_7,
    SW_INTR_ID_8,
    SW_INTR_ID_9,
    SW_INTR_ID_10,
    SW_INTR_ID_11,
    SW_INTR_ID_12,
    SW_INTR_ID_13,
    SW_INTR_ID_14,
    SW_INTR_ID_15,
    SW_INTR_RESERVED_ID_16,
    SW_INTR_RESERVED_ID_17,
    SW_INTR_RESERVED_ID_18,
    SW_INTR_RESERVED_ID_19,
    SW_INTR_RESERVED_ID_20,
    SW_INTR_RESERVED_ID_21,
    SW_INTR_RESERVED_ID_22,
    SW_INTR_RESERVED_ID_23,
    SW_INTR_RESERVED_ID_24,
    SW_INTR_RESERVED_ID_25,
    SW_INTR_RESERVED_ID_26,
    SW_INTR_RESERVED_ID_SYS_SVC,
    SW_INTR_RESERVED_ID_PANIC,
    SW_INTR_RESERVED_ID_RPMSG,
    SW_INTR_RESERVED_ID_EVENT,
    SW_INTR_ID_MAX = 31,
} esp_amp_sw_intr_id_t;

/**
 * Software-interrupt handler, run in interrupt context on the core that
 * registered it.
 * @param arg the pointer given to esp_amp_sw_intr_add_handler()
 * @return 1 if a higher-priority task was woken, else 0 (informational)
 */
typedef int (*esp_amp_sw_intr_handler_t)(void *arg);

/**
 * @brief Set up this core's software interrupt: clears this core's handler
 *        table and arms the port's interrupt. Called by esp_amp_init();
 *        needs esp_amp_sys_info_init() first. Pending bits are kept (the
 *        main core's esp_amp_sys_info_init() zeroes them), so a trigger the
 *        peer sent before this core was ready runs the handlers registered
 *        later, at the next dispatch.
 * @retval ESP_OK                ready
 * @retval ESP_ERR_INVALID_STATE shared memory not initialised
 * @retval ESP_FAIL              the port could not install the interrupt
 */
int esp_amp_sw_intr_init(void);

/**
 * @brief Register `handler(arg)` for `intr_id` on this core. Task context.
 *        The same id may have several handlers (e.g. several queues sharing
 *        one line); each runs when the id fires.
 * @retval ESP_OK              registered
 * @retval ESP_ERR_INVALID_ARG id > SW_INTR_ID_MAX or handler NULL
 * @retval ESP_ERR_NO_MEM      AMPVQ_SW_INTR_MAX_HANDLERS already registered
 */
int esp_amp_sw_intr_add_handler(esp_amp_sw_intr_id_t intr_id, esp_amp_sw_intr_handler_t handler, void *arg);

/**
 * @brief Remove every registration of `handler` for `intr_id` on this core.
 *        Task context. When it returns the handler is not running and will
 *        not run again for this id.
 */
void esp_amp_sw_intr_delete_handler(esp_amp_sw_intr_id_t intr_id, esp_amp_sw_intr_handler_t handler);

/**
 * @brief Raise `intr_id` on the peer core. Task or interrupt context.
 *        Ids above SW_INTR_ID_MAX are ignored.
 */
void esp_amp_sw_intr_trigger(esp_amp_sw_intr_id_t intr_id);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_SW_INTR_H */
