/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Virtqueue example, main core: the queue's remote. Receives the sub core's
 * messages in the queue callback, which runs from the software interrupt
 * the sub core's notify function raises, prints and frees each one.
 * Returns 0 only if every message arrived exactly once and in order.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "example.h"

static esp_amp_queue_t vq;
static atomic_uint received;
static atomic_uint errors;

/* Interrupt context: drain everything that is there; triggers coalesce, so
 * one run may find several messages (or none). */
static int vq_recv_isr(void *args)
{
    char *msg;
    uint16_t size;
    int ret;

    (void)args;
    while ((ret = esp_amp_queue_recv_try(&vq, (void **)&msg, &size)) == ESP_OK) {
        unsigned seq = atomic_load(&received);
        char expected[EXAMPLE_QUEUE_ITEM_SIZE];
        int n = snprintf(expected, sizeof(expected), "message ==> %u", seq);
        if (seq >= EXAMPLE_MSG_COUNT || size != (uint16_t)(n + 1) || memcmp(msg, expected, (size_t)n + 1) != 0) {
            printf("MAIN: unexpected message %u (size %u)\n", seq, size);
            atomic_fetch_add(&errors, 1);
        } else {
            printf("Received Msg of size %u from subcore: %s\n", size, msg);
        }
        atomic_fetch_add(&received, 1);
        if (esp_amp_queue_free_try(&vq, msg) != ESP_OK) {
            atomic_fetch_add(&errors, 1);
        }
    }
    if (ret != ESP_ERR_NOT_FOUND) {
        printf("MAIN: recv error 0x%x\n", (unsigned)ret);
        atomic_fetch_add(&errors, 1);
    }
    return 0;
}

/* Waits until `cond` holds, polling; false on time-out. */
static int wait_received(unsigned target, uint32_t timeout_ms)
{
    uint32_t start = esp_amp_platform_get_time_ms();
    while (atomic_load(&received) < target && atomic_load(&errors) == 0) {
        if (esp_amp_platform_get_time_ms() - start >= timeout_ms) {
            return 0;
        }
        esp_amp_platform_delay_us(1000);
    }
    return atomic_load(&errors) == 0;
}

int app_main(void)
{
    printf("MAIN: virtqueue example, expecting %u messages\n", (unsigned)EXAMPLE_MSG_COUNT);
    if (esp_amp_init() != ESP_OK) {
        printf("MAIN: esp_amp_init failed\n");
        return 1;
    }
    int ret = esp_amp_queue_main_init(&vq, EXAMPLE_QUEUE_LEN, EXAMPLE_QUEUE_ITEM_SIZE, vq_recv_isr, NULL, false,
                                      SYS_INFO_ID_VQUEUE_EXAMPLE);
    if (ret == ESP_OK) {
        ret = esp_amp_queue_intr_enable(&vq, SW_INTR_ID_VQUEUE_EXAMPLE);
    }
    if (ret != ESP_OK) {
        printf("MAIN: queue set-up failed: 0x%x\n", (unsigned)ret);
        return 1;
    }
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("MAIN: cannot start the sub core\n");
        return 1;
    }
    uint32_t bits = esp_amp_event_wait(EVENT_SUBCORE_READY, true, true, EXAMPLE_TIMEOUT_MS);
    if ((bits & EVENT_SUBCORE_READY) == 0) {
        printf("MAIN: sub core did not link up\n");
        return 1;
    }
    printf("MAIN: sub core linked up\n");

    int ok = wait_received(EXAMPLE_MSG_COUNT, EXAMPLE_TIMEOUT_MS);
    bits = esp_amp_event_wait(EVENT_SUBCORE_DONE, true, true, EXAMPLE_TIMEOUT_MS);
    ok = ok && (bits & EVENT_SUBCORE_DONE) != 0;
    /* Anything after the last message would be a duplicate: give it time to
     * show up before declaring success. */
    esp_amp_platform_delay_ms(50);
    unsigned got = atomic_load(&received);
    ok = ok && got == EXAMPLE_MSG_COUNT && atomic_load(&errors) == 0;
    printf("MAIN: %s: %u of %u messages received once and in order\n", ok ? "PASS" : "FAIL", got,
           (unsigned)EXAMPLE_MSG_COUNT);
    return ok ? 0 : 1;
}
