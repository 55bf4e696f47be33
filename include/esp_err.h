/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ESP-IDF's error type and the values ampvq returns. Inside ESP-IDF the real
 * esp_err.h comes first on the include path and this file is not used; the
 * guards keep the two from clashing if both are seen.
 */
#ifndef ESP_ERR_H_AMPVQ
#define ESP_ERR_H_AMPVQ

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ESP_OK
typedef int esp_err_t;

#define ESP_OK                   0     /**< success */
#define ESP_FAIL                 -1    /**< generic failure */
#define ESP_ERR_NO_MEM           0x101 /**< out of memory / size above item size */
#define ESP_ERR_INVALID_ARG      0x102 /**< bad argument */
#define ESP_ERR_INVALID_STATE    0x103 /**< object not in a state that allows the call */
#define ESP_ERR_INVALID_SIZE     0x104 /**< size out of range */
#define ESP_ERR_NOT_FOUND        0x105 /**< nothing there (empty/full queue, unknown id) */
#define ESP_ERR_NOT_SUPPORTED    0x106 /**< call not valid for this role */
#define ESP_ERR_TIMEOUT          0x107 /**< time-out */
#define ESP_ERR_INVALID_RESPONSE 0x108 /**< the peer core wrote something invalid */
#define ESP_ERR_NOT_FINISHED     0x10C /**< operation could not complete */
#define ESP_ERR_NOT_ALLOWED      0x10D /**< call out of sequence */
#endif

#ifdef __cplusplus
}
#endif

#endif /* ESP_ERR_H_AMPVQ */
