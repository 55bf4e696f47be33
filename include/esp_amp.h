/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ampvq: the ESP-AMP packed virtqueue link layer. One include for all of it.
 */
#ifndef ESP_AMP_H
#define ESP_AMP_H

#include "esp_err.h"
#include "esp_amp_sys_info.h"
#include "esp_amp_sw_intr.h"
#include "esp_amp_event.h"
#include "esp_amp_queue.h"
#include "esp_amp_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Bring up ampvq on this core: sys_info, software interrupt, events.
 *
 * Main core: initialises shared memory; call before esp_amp_start_subcore().
 * Sub core: checks what the main core wrote and arms its interrupt.
 *
 * @retval ESP_OK on success, else the first failing step's code (see
 *         esp_amp_sys_info_init(), esp_amp_sw_intr_init(), esp_amp_event_init())
 */
int esp_amp_init(void);

/**
 * @brief Main core: start the sub core (through the port).
 * @retval ESP_OK                started
 * @retval ESP_ERR_NOT_SUPPORTED called on the sub core
 * @retval ESP_FAIL              the port could not start it
 */
int esp_amp_start_subcore(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_H */
