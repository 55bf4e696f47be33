/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Peer-restart test, sub core: receive, check, acknowledge, until killed or
 * told to quit. Within one instance sequence numbers must only grow: a
 * message of an earlier instance's ring handed out again would break that
 * or the main core's exactly-once count.
 */
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "restart.h"

#define TIMEOUT_MS 10000u

int subcore_main(void)
{
    esp_amp_queue_t dq, aq;

    if (esp_amp_init() != ESP_OK ||
        esp_amp_queue_sub_init(&dq, NULL, NULL, false, (esp_amp_sys_info_id_t)RESTART_ID_DATA) != ESP_OK ||
        esp_amp_queue_sub_init(&aq, NULL, NULL, true, (esp_amp_sys_info_id_t)RESTART_ID_ACK) != ESP_OK) {
        printf("SUB FAIL: initialisation\n");
        return 1;
    }
    bool have_last = false;
    uint32_t last = 0;
    uint32_t idle_since = esp_amp_platform_get_time_ms();
    for (;;) {
        void *buf;
        uint16_t len;
        int err = esp_amp_queue_recv_try(&dq, &buf, &len);
        if (err == ESP_ERR_NOT_FOUND) {
            if (esp_amp_platform_get_time_ms() - idle_since > TIMEOUT_MS) {
                printf("SUB FAIL: nothing received for %u ms\n", TIMEOUT_MS);
                return 1;
            }
            esp_amp_platform_delay_us(20);
            continue;
        }
        idle_since = esp_amp_platform_get_time_ms();
        uint32_t seq;
        if (err != ESP_OK || !restart_check(buf, len, &seq)) {
            printf("SUB FAIL: recv returned 0x%x or a corrupt message\n", (unsigned)err);
            return 1;
        }
        if (have_last && seq <= last && seq != RESTART_QUIT) {
            printf("SUB FAIL: message %u after %u\n", (unsigned)seq, (unsigned)last);
            return 1;
        }
        have_last = true;
        last = seq;
        void *ack;
        uint32_t start = esp_amp_platform_get_time_ms();
        while ((err = esp_amp_queue_alloc_try(&aq, &ack, RESTART_ITEM)) == ESP_ERR_NOT_FOUND) {
            if (esp_amp_platform_get_time_ms() - start > TIMEOUT_MS) {
                break;
            }
            esp_amp_platform_delay_us(20);
        }
        if (err != ESP_OK) {
            printf("SUB FAIL: ack alloc returned 0x%x\n", (unsigned)err);
            return 1;
        }
        restart_fill(ack, seq);
        if (esp_amp_queue_send_try(&aq, ack, RESTART_ITEM) != ESP_OK || esp_amp_queue_free_try(&dq, buf) != ESP_OK) {
            printf("SUB FAIL: send/free\n");
            return 1;
        }
        if (seq == RESTART_QUIT) {
            break;
        }
    }
    /* No buffer of the ack queue may be lost across all the resets: once the
     * main core has read every ack, all of them are free again. */
    void *bufs[RESTART_LEN];
    uint16_t got = 0;
    uint32_t start = esp_amp_platform_get_time_ms();
    while (got < RESTART_LEN && esp_amp_platform_get_time_ms() - start < TIMEOUT_MS) {
        uint16_t n = 0;
        if (esp_amp_queue_alloc_n(&aq, bufs + got, RESTART_ITEM, (uint16_t)(RESTART_LEN - got), &n) == ESP_OK) {
            got = (uint16_t)(got + n);
        } else {
            esp_amp_platform_delay_us(100);
        }
    }
    if (got != RESTART_LEN) {
        printf("SUB FAIL: only %u of %u ack buffers came back\n", (unsigned)got, (unsigned)RESTART_LEN);
        return 1;
    }
    printf("SUB: quit after message %u, all %u ack buffers free\n", (unsigned)last, (unsigned)RESTART_LEN);
    return 0;
}
