/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Queue stress, sub core: the master. Sends STRESS_MSGS numbered, checksummed
 * messages of varying length as fast as the queue takes them; a full queue
 * (ESP_ERR_NOT_FOUND from alloc) is back-pressure, waited out by spinning.
 * In interrupt mode every send raises the main core's software interrupt
 * through the queue's notify callback.
 */
#include <stdint.h>
#include <stdio.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "stress.h"

static int notify(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(STRESS_SW_INTR);
    return 0;
}

static esp_amp_queue_t q;

static int fail(const char *what, uint32_t seq, int err)
{
    printf("SUB: FAIL: %s at message %u: 0x%x\n", what, (unsigned)seq, (unsigned)err);
    stress_dump("SUB", &q);
    esp_amp_event_notify(STRESS_EV_FAILED);
    return 1;
}

int subcore_main(void)
{
    uint32_t full_waits = 0;
    int err = esp_amp_init();

    if (err == ESP_OK) {
        err = esp_amp_queue_sub_init(&q, STRESS_INTERRUPT ? notify : NULL, NULL, true, STRESS_SYS_INFO);
    }
    if (err != ESP_OK) {
        return fail("init", 0, err);
    }
    esp_amp_event_notify(STRESS_EV_READY);

    for (uint32_t seq = 0; seq < STRESS_MSGS; seq++) {
        uint32_t len = stress_len(seq);
        stress_msg_t *m;
        uint32_t spins = 0;
        uint32_t since = 0;

        while ((err = esp_amp_queue_alloc_try(&q, (void **)&m, (uint16_t)len)) == ESP_ERR_NOT_FOUND) {
            if (spins++ == 0) {
                full_waits++;
                since = esp_amp_platform_get_time_ms();
            } else if (spins % STRESS_BACKOFF_SPINS == 0) {
                /* Reading the clock is a device access: only now and then. */
                if (esp_amp_platform_get_time_ms() - since >= STRESS_STALL_MS) {
                    return fail("queue stayed full", seq, err);
                }
                esp_amp_platform_delay_us(STRESS_BACKOFF_US);
            }
        }
        if (err != ESP_OK) {
            return fail("alloc", seq, err);
        }
        m->seq = seq;
        m->len = len;
        for (uint32_t i = 0; i + STRESS_HDR_SIZE < len; i++) {
            m->payload[i] = stress_byte(seq, i);
        }
        m->sum = stress_sum(m, len);
        err = esp_amp_queue_send_try(&q, m, (uint16_t)len);
        if (err != ESP_OK) {
            return fail("send", seq, err);
        }
    }
    esp_amp_event_notify(STRESS_EV_DONE);
    printf("SUB: sent %u messages; the queue was full %u times\n", (unsigned)STRESS_MSGS, (unsigned)full_waits);
    return 0;
}
