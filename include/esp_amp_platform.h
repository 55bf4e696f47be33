/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ESP-AMP's platform helpers, mapped onto the port (include/ampvq/port.h).
 */
#ifndef ESP_AMP_PLATFORM_H
#define ESP_AMP_PLATFORM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @return AMPVQ_CORE_MAIN (0) or AMPVQ_CORE_SUB (1) */
int esp_amp_platform_get_core_id(void);
/** Delay at least `time` milliseconds. Task context. */
void esp_amp_platform_delay_ms(uint32_t time);
/** Delay at least `time` microseconds. Task context. */
void esp_amp_platform_delay_us(uint32_t time);
/** Milliseconds since an arbitrary point (wraps). */
uint32_t esp_amp_platform_get_time_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_PLATFORM_H */
