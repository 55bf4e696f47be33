/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Peer-restart test, main core (docs/sessions.md). It sends numbered
 * messages without pause and kills the sub-core process after a random
 * number of them (so it dies mid-stream: messages in the ring, in its hands,
 * acknowledgements half-sent), then starts a new instance on the same shared
 * memory, AMPVQ_RESTARTS times (default 100). A last instance runs to the
 * end. Checked:
 *   - no message is acknowledged twice (delivered at most once), and no
 *     instance sees numbers go backwards (restart_sub.c);
 *   - every message of the last instance is delivered (the link comes back);
 *   - each restart is seen as one reset of each queue, on the main core;
 *   - no buffer is lost: all data buffers can be allocated at the end, and
 *     the sub core can allocate all ack buffers.
 * Prints the restarts, messages sent, delivered, lost and duplicated.
 */
#include <stdio.h>
#include <stdlib.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/posix.h"
#include "restart.h"

#define STALL_MS  10000u
#define FINAL_MSG 200u

static esp_amp_queue_t dq, aq;
static uint8_t *acked;
static uint32_t max_seq, sent, delivered, dups, link_downs, link_ups;
static bool quit_acked;

static void on_link(esp_amp_queue_t *q, bool up, void *priv)
{
    (void)q;
    (void)priv;
    if (up) {
        link_ups++;
    } else {
        link_downs++;
    }
}

/* Take in every acknowledgement there is; false on a corrupt one. */
static bool drain_acks(void)
{
    void *buf;
    uint16_t len;
    int err;
    while ((err = esp_amp_queue_recv_try(&aq, &buf, &len)) == ESP_OK) {
        uint32_t seq;
        if (!restart_check(buf, len, &seq) || (seq != RESTART_QUIT && seq >= max_seq)) {
            printf("FAIL: corrupt acknowledgement\n");
            return false;
        }
        if (seq == RESTART_QUIT) {
            quit_acked = true;
        } else {
            if (acked[seq]++ != 0) {
                dups++;
            } else {
                delivered++;
            }
        }
        esp_amp_queue_free_try(&aq, buf);
    }
    if (err != ESP_ERR_NOT_FOUND) {
        printf("FAIL: ack recv returned 0x%x\n", (unsigned)err);
        return false;
    }
    return true;
}

static bool send_one(uint32_t seq)
{
    void *buf;
    int err = esp_amp_queue_alloc_try(&dq, &buf, RESTART_ITEM);
    if (err == ESP_ERR_NOT_FOUND) {
        return false;
    }
    if (err != ESP_OK) {
        printf("FAIL: data alloc returned 0x%x\n", (unsigned)err);
        exit(1);
    }
    restart_fill(buf, seq);
    if (esp_amp_queue_send_try(&dq, buf, RESTART_ITEM) != ESP_OK) {
        printf("FAIL: data send\n");
        exit(1);
    }
    return true;
}

/* Send `count` more messages (numbers from `sent`), taking acks meanwhile. */
static bool push(uint32_t count)
{
    uint32_t until = sent + count;
    uint32_t last_progress = esp_amp_platform_get_time_ms();
    while (sent < until) {
        if (!drain_acks()) {
            return false;
        }
        if (send_one(sent)) {
            sent++;
            last_progress = esp_amp_platform_get_time_ms();
        } else if (esp_amp_platform_get_time_ms() - last_progress > STALL_MS) {
            printf("FAIL: no progress for %u ms at message %u\n", STALL_MS, (unsigned)sent);
            return false;
        } else {
            esp_amp_platform_delay_us(20);
        }
    }
    return true;
}

int app_main(void)
{
    const char *env = getenv("AMPVQ_RESTARTS");
    uint32_t restarts = env != NULL ? (uint32_t)strtoul(env, NULL, 0) : 100u;
    srand(12345u);
    max_seq = restarts * 400u + FINAL_MSG + RESTART_LEN * 4u;
    acked = calloc(max_seq, 1);
    if (acked == NULL || esp_amp_init() != ESP_OK ||
        esp_amp_queue_main_init(&dq, RESTART_LEN, RESTART_ITEM, NULL, NULL, true,
                                (esp_amp_sys_info_id_t)RESTART_ID_DATA) != ESP_OK ||
        esp_amp_queue_main_init(&aq, RESTART_LEN, RESTART_ITEM, NULL, NULL, false,
                                (esp_amp_sys_info_id_t)RESTART_ID_ACK) != ESP_OK) {
        printf("FAIL: initialisation\n");
        return 1;
    }
    esp_amp_queue_set_link_cb(&dq, on_link, NULL);
    esp_amp_queue_set_link_cb(&aq, on_link, NULL);

    for (uint32_t r = 0; r < restarts; r++) {
        if (esp_amp_start_subcore() != ESP_OK) {
            printf("FAIL: start sub core (instance %u)\n", (unsigned)r);
            return 1;
        }
        /* 1..399 messages, then the kill lands wherever the sub core is. */
        if (!push(1u + (uint32_t)rand() % 399u)) {
            return 1;
        }
        ampvq_posix_kill_subcore();
    }
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("FAIL: start the last sub core\n");
        return 1;
    }
    /* Messages sent before this core has noticed the new instance still go
     * to the old ring and may be lost; from the moment both queues are back
     * up, every message must arrive. */
    uint32_t ups_before = link_ups;
    uint32_t start = esp_amp_platform_get_time_ms();
    while (restarts > 0 && link_ups < ups_before + 2u) {
        if (!push(1) || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("FAIL: link not back up after the last restart\n");
            return 1;
        }
    }
    uint32_t final_from = sent;
    if (!push(FINAL_MSG)) {
        return 1;
    }
    /* QUIT is the last message: its ack means everything before it is in. */
    start = esp_amp_platform_get_time_ms();
    while (!send_one(RESTART_QUIT)) {
        if (!drain_acks() || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("FAIL: cannot send QUIT\n");
            return 1;
        }
    }
    start = esp_amp_platform_get_time_ms();
    while (!quit_acked) {
        if (!drain_acks() || esp_amp_platform_get_time_ms() - start > STALL_MS) {
            printf("FAIL: QUIT not acknowledged\n");
            return 1;
        }
        esp_amp_platform_delay_us(20);
    }
    int sub_rc = -1;
    if (ampvq_posix_join_subcore(STALL_MS, &sub_rc) != 0) {
        printf("FAIL: last sub core did not finish\n");
        return 1;
    }

    bool ok = sub_rc == 0 && dups == 0;
    for (uint32_t s = final_from; s < final_from + FINAL_MSG; s++) {
        if (acked[s] != 1) {
            printf("FAIL: message %u of the last instance acknowledged %u times\n", (unsigned)s, (unsigned)acked[s]);
            ok = false;
            break;
        }
    }
    /* Every data buffer is back: the sub core freed all it received. */
    void *bufs[RESTART_LEN];
    uint16_t got = 0;
    if (esp_amp_queue_alloc_n(&dq, bufs, RESTART_ITEM, RESTART_LEN, &got) != ESP_OK || got != RESTART_LEN) {
        printf("FAIL: only %u of %u data buffers came back\n", (unsigned)got, (unsigned)RESTART_LEN);
        ok = false;
    }
    esp_amp_queue_stats_t ds, as;
    esp_amp_queue_stats(&dq, &ds);
    esp_amp_queue_stats(&aq, &as);
    /* Each killed instance had attached to both queues before it died? Not
     * necessarily (it may die before its sub_init): at most one reset each. */
    if (ds.resets > restarts || as.resets > restarts || (restarts > 0 && ds.resets + as.resets == 0)) {
        printf("FAIL: resets data %u ack %u for %u restarts\n", (unsigned)ds.resets, (unsigned)as.resets,
               (unsigned)restarts);
        ok = false;
    }
    /* Whatever was not acknowledged must have been reported lost by a
     * reset: in the data ring (never received, or received and the ack not
     * sent) or in the ack ring. */
    if (sent - delivered > ds.lost + as.lost) {
        printf("FAIL: %u messages unaccounted for: neither acknowledged nor reported lost\n",
               (unsigned)(sent - delivered - ds.lost - as.lost));
        ok = false;
    }
    printf("restarts %u sent %u delivered %u lost %u duplicated %u | data queue: resets %u in-flight lost %u | "
           "ack queue: resets %u in-flight lost %u | link downs %u ups %u\n",
           (unsigned)restarts, (unsigned)sent, (unsigned)delivered, (unsigned)(sent - delivered), (unsigned)dups,
           (unsigned)ds.resets, (unsigned)ds.lost, (unsigned)as.resets, (unsigned)as.lost, (unsigned)link_downs,
           (unsigned)link_ups);
    printf("%s\n", ok ? "PASS" : "FAIL");
    free(acked);
    return ok ? 0 : 1;
}
