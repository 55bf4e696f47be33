/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Virtqueue example, sub core: the queue's master. Signals link-up with an
 * event bit, then allocates, fills and sends "message ==> N" buffers; its
 * notify function raises the software interrupt the main core listens on.
 */
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "example.h"

static int notify_func(void *args)
{
    (void)args;
    esp_amp_sw_intr_trigger(SW_INTR_ID_VQUEUE_EXAMPLE);
    return ESP_OK;
}

int subcore_main(void)
{
    esp_amp_queue_t vq;

    printf("SUB: Hello!!\n");
    if (esp_amp_init() != ESP_OK ||
        esp_amp_queue_sub_init(&vq, notify_func, NULL, true, SYS_INFO_ID_VQUEUE_EXAMPLE) != ESP_OK) {
        printf("SUB: initialisation failed\n");
        return 1;
    }
    esp_amp_event_notify(EVENT_SUBCORE_READY);

    for (unsigned i = 0; i < EXAMPLE_MSG_COUNT; i++) {
        char *msg;
        int ret;
        uint32_t start = esp_amp_platform_get_time_ms();
        /* A full queue is back-pressure: wait for the main core to free. */
        while ((ret = esp_amp_queue_alloc_try(&vq, (void **)&msg, EXAMPLE_QUEUE_ITEM_SIZE)) == ESP_ERR_NOT_FOUND) {
            if (esp_amp_platform_get_time_ms() - start >= EXAMPLE_TIMEOUT_MS) {
                break;
            }
            esp_amp_platform_delay_us(100);
        }
        if (ret != ESP_OK) {
            printf("SUB: alloc failed: 0x%x\n", (unsigned)ret);
            return 1;
        }
        int n = snprintf(msg, EXAMPLE_QUEUE_ITEM_SIZE, "message ==> %u", i);
        ret = esp_amp_queue_send_try(&vq, msg, (uint16_t)(n + 1));
        if (ret != ESP_OK) {
            printf("SUB: send failed: 0x%x\n", (unsigned)ret);
            return 1;
        }
        if (EXAMPLE_SEND_INTERVAL_US > 0) {
            esp_amp_platform_delay_us(EXAMPLE_SEND_INTERVAL_US);
        }
    }
    esp_amp_event_notify(EVENT_SUBCORE_DONE);
    printf("SUB: sent %u messages\n", (unsigned)EXAMPLE_MSG_COUNT);
    return 0;
}
