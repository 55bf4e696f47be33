/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Packaging test consumer: built against an installed or embedded ampvq, it
 * brings up both cores as threads (posix port), passes one message from the
 * main core (master) to the sub core (remote) and exits 0 only if the sub
 * core received it intact.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "esp_amp.h"
#include "ampvq/posix.h"

#define CONSUMER_QUEUE_ID   0x0042
#define CONSUMER_QUEUE_LEN  4
#define CONSUMER_ITEM_SIZE  64
#define CONSUMER_TIMEOUT_MS 5000

static const char message[] = "hello from an installed ampvq";

/* Sub core: its own init, open the remote side, poll for the message. */
static int subcore_entry(void *arg)
{
    esp_amp_queue_t queue;

    (void)arg;
    if (esp_amp_init() != ESP_OK) {
        return 10;
    }
    if (esp_amp_queue_sub_init(&queue, NULL, NULL, false, CONSUMER_QUEUE_ID) != ESP_OK) {
        return 11;
    }
    uint32_t start = esp_amp_platform_get_time_ms();
    for (;;) {
        void *buf;
        uint16_t size;
        int ret = esp_amp_queue_recv_try(&queue, &buf, &size);
        if (ret == ESP_OK) {
            int same = size == sizeof(message) && memcmp(buf, message, sizeof(message)) == 0;
            if (esp_amp_queue_free_try(&queue, buf) != ESP_OK) {
                return 12;
            }
            return same ? 0 : 13;
        }
        if (ret != ESP_ERR_NOT_FOUND) {
            return 14;
        }
        if (esp_amp_platform_get_time_ms() - start >= CONSUMER_TIMEOUT_MS) {
            return 15;
        }
        esp_amp_platform_delay_ms(1);
    }
}

static int run(void)
{
    esp_amp_queue_t queue;
    void *buf;
    int sub_rc = -1;

    if (esp_amp_init() != ESP_OK) {
        return 1;
    }
    int ret =
        esp_amp_queue_main_init(&queue, CONSUMER_QUEUE_LEN, CONSUMER_ITEM_SIZE, NULL, NULL, true, CONSUMER_QUEUE_ID);
    if (ret != ESP_OK) {
        return 2;
    }
    ampvq_posix_set_subcore_entry(subcore_entry, NULL);
    if (esp_amp_start_subcore() != ESP_OK) {
        return 3;
    }
    if (esp_amp_queue_alloc_try(&queue, &buf, sizeof(message)) != ESP_OK) {
        return 4;
    }
    memcpy(buf, message, sizeof(message));
    if (esp_amp_queue_send_try(&queue, buf, sizeof(message)) != ESP_OK) {
        return 5;
    }
    if (ampvq_posix_join_subcore(2 * CONSUMER_TIMEOUT_MS, &sub_rc) != 0) {
        return 6;
    }
    return sub_rc;
}

int main(void)
{
    if (ampvq_posix_threads_setup(AMPVQ_POSIX_SHM_DEFAULT_SIZE) != 0) {
        printf("consumer: FAIL: ampvq_posix_threads_setup\n");
        return 1;
    }
    int rc = run();
    ampvq_posix_teardown();
    if (rc != 0) {
        printf("consumer: FAIL: step %d\n", rc);
        return 1;
    }
    printf("consumer: PASS: message arrived\n");
    return 0;
}
