/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The engine of the blocking-call test (see block.h).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_amp.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "block.h"

#define BLOCK_CFG_ID   0x0b10
#define BLOCK_QUEUE_ID 0x0b11
#define BLOCK_NOTIFY   SW_INTR_ID_0 /* master -> remote: sent */
#define BLOCK_FREED    SW_INTR_ID_1 /* remote -> master: freed */

void block_cfg_default(block_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->count = 100000;
    cfg->qlen = 8;
    cfg->item_size = 64;
    cfg->master = AMPVQ_CORE_MAIN;
    cfg->timeout_ms = 20000;
    cfg->pause_ms = 2;
}

static int parse_one(block_cfg_t *cfg, const char *key, const char *val, bool *used_val)
{
    *used_val = true;
    if (strcmp(key, "--evidx") == 0) {
        *used_val = false;
        cfg->flags |= ESP_AMP_QUEUE_F_EVENT_IDX;
        return 0;
    }
    if (val == NULL) {
        fprintf(stderr, "block: %s needs a value\n", key);
        return -1;
    }
    uint32_t n = (uint32_t)strtoul(val, NULL, 0);
    if (strcmp(key, "--count") == 0) {
        cfg->count = n;
    } else if (strcmp(key, "--qlen") == 0) {
        cfg->qlen = n;
    } else if (strcmp(key, "--item") == 0) {
        cfg->item_size = n;
    } else if (strcmp(key, "--timeout") == 0) {
        cfg->timeout_ms = n;
    } else if (strcmp(key, "--pause-every") == 0) {
        cfg->pause_every = n;
    } else if (strcmp(key, "--pause-ms") == 0) {
        cfg->pause_ms = n;
    } else if (strcmp(key, "--master") == 0) {
        cfg->master = strcmp(val, "sub") == 0 ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
    } else if (strcmp(key, "--views") == 0) {
        cfg->one_view = strcmp(val, "one") == 0;
    } else {
        fprintf(stderr,
                "block: unknown knob %s (--count N --qlen N --item N --master main|sub --evidx --timeout MS "
                "--pause-every N --pause-ms MS --views one|two)\n",
                key);
        return -1;
    }
    return 0;
}

int block_parse_args(block_cfg_t *cfg, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        bool used_val = false;
        if (parse_one(cfg, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used_val) != 0) {
            return -1;
        }
        i += used_val ? 1 : 0;
    }
    if (cfg->count == 0 || cfg->qlen == 0 || cfg->qlen > 32768 || cfg->item_size < 8 || cfg->item_size > 65532) {
        fprintf(stderr, "block: count 1.., qlen 1..32768, item 8..65532\n");
        return -1;
    }
    return 0;
}

int block_parse_string(block_cfg_t *cfg, const char *args)
{
    char buf[512];
    char *argv[64];
    int argc = 0;

    snprintf(buf, sizeof(buf), "%s", args != NULL ? args : "");
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t != NULL && argc < 64;
         t = strtok_r(NULL, " \t", &save)) {
        argv[argc++] = t;
    }
    return block_parse_args(cfg, argc, argv);
}

/* Message seq: its size cycles through 4..item_size; the first word is seq,
 * the rest a pattern of seq and position. */
static uint16_t msg_size(uint32_t seq, uint32_t item)
{
    return (uint16_t)(4u + (seq * 53u) % (item - 3u));
}

static uint8_t msg_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 29u + i * 11u + (seq >> 9));
}

static void msg_fill(uint8_t *b, uint32_t seq, uint16_t size)
{
    memcpy(b, &seq, sizeof(seq));
    for (uint32_t i = 4; i < size; i++) {
        b[i] = msg_byte(seq, i);
    }
}

static bool msg_ok(const uint8_t *b, uint32_t seq, uint16_t size)
{
    uint32_t got;
    memcpy(&got, b, sizeof(got));
    if (got != seq) {
        return false;
    }
    for (uint32_t i = 4; i < size; i++) {
        if (b[i] != msg_byte(seq, i)) {
            return false;
        }
    }
    return true;
}

static int trigger_notify(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(BLOCK_NOTIFY);
    return 0;
}

static int trigger_freed(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(BLOCK_FREED);
    return 0;
}

static const char *who(void)
{
    return ampvq_port_core_id() == AMPVQ_CORE_MAIN ? "MAIN" : "SUB";
}

/* The sleeps of this core against its dispatches (see block.h). A sleep
 * ends early only after a dispatch moved the generation, or by a wake that
 * a dispatch issued just after an earlier sleep had already seen its
 * advance: at most two per dispatch, plus a few for the clock's rounding. */
static int check_sleeps(const block_cfg_t *cfg, uint64_t *sleeps_out)
{
    int core = ampvq_port_core_id();
    uint64_t sleeps = ampvq_posix_wait_count(core);
    uint64_t timeouts = ampvq_posix_wait_timeouts(core);
    uint64_t dispatches = ampvq_posix_dispatch_count(core);
    int rc = 0;

    *sleeps_out = sleeps;
    if (sleeps - timeouts > 2u * dispatches + 64u) {
        printf("FAIL: %s: %" PRIu64 " sleeps ended early but only %" PRIu64 " dispatches: spinning?\n", who(),
               sleeps - timeouts, dispatches);
        rc = 1;
    }
    if (cfg->pause_every != 0 && cfg->pause_every < cfg->count && sleeps == 0) {
        printf("FAIL: %s: the peer paused but this side never slept\n", who());
        rc = 1;
    }
    return rc;
}

static int run_master(const block_cfg_t *cfg, esp_amp_queue_t *q)
{
    for (uint32_t seq = 0; seq < cfg->count; seq++) {
        /* Half a period out of step with the remote's pauses. */
        if (cfg->pause_every != 0 && seq % cfg->pause_every == cfg->pause_every / 2 && seq > 0) {
            ampvq_port_delay_us(cfg->pause_ms * 1000u);
        }
        uint16_t size = msg_size(seq, cfg->item_size);
        void *buf = NULL;
        int err = esp_amp_queue_alloc(q, &buf, size, cfg->timeout_ms);
        if (err != ESP_OK) {
            printf("FAIL: %s: alloc of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
            return 1;
        }
        msg_fill(buf, seq, size);
        err = esp_amp_queue_send_try(q, buf, size);
        if (err != ESP_OK) {
            printf("FAIL: %s: send of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
            return 1;
        }
    }
    esp_amp_queue_stats_t st;
    esp_amp_queue_stats(q, &st);
    uint64_t sleeps = 0;
    int rc = check_sleeps(cfg, &sleeps);
    /* Every failed try is followed by one sleep (no call timed out). */
    if (st.full != sleeps) {
        printf("FAIL: %s: %u allocs found the queue full but %" PRIu64 " sleeps\n", who(), (unsigned)st.full, sleeps);
        rc = 1;
    }
    printf("%s: %s master: %u messages sent, %u full, %" PRIu64 " sleeps, %" PRIu64 " dispatches\n", who(),
           rc == 0 ? "PASS" : "FAIL", (unsigned)cfg->count, (unsigned)st.full, sleeps,
           ampvq_posix_dispatch_count(ampvq_port_core_id()));
    return rc;
}

static int run_remote(const block_cfg_t *cfg, esp_amp_queue_t *q)
{
    for (uint32_t seq = 0; seq < cfg->count; seq++) {
        if (cfg->pause_every != 0 && seq % cfg->pause_every == 0 && seq > 0) {
            ampvq_port_delay_us(cfg->pause_ms * 1000u);
        }
        void *buf = NULL;
        uint16_t size = 0;
        int err = esp_amp_queue_recv(q, &buf, &size, cfg->timeout_ms);
        if (err != ESP_OK) {
            printf("FAIL: %s: recv of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
            return 1;
        }
        if (size != msg_size(seq, cfg->item_size) || !msg_ok(buf, seq, size)) {
            uint32_t got = 0;
            memcpy(&got, buf, size >= 4 ? 4 : 0);
            printf("FAIL: %s: expected message %u of %u bytes, got %u bytes starting %u\n", who(), (unsigned)seq,
                   (unsigned)msg_size(seq, cfg->item_size), (unsigned)size, (unsigned)got);
            return 1;
        }
        err = esp_amp_queue_free_try(q, buf);
        if (err != ESP_OK) {
            printf("FAIL: %s: free of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
            return 1;
        }
    }
    void *buf;
    uint16_t size;
    int err = esp_amp_queue_recv(q, &buf, &size, 0);
    if (err != ESP_ERR_TIMEOUT) {
        printf("FAIL: %s: after the last message recv returned 0x%x\n", who(), (unsigned)err);
        return 1;
    }
    uint64_t sleeps = 0;
    int rc = check_sleeps(cfg, &sleeps);
    printf("%s: %s remote: %u messages received once, in order, intact; %" PRIu64 " sleeps, %" PRIu64 " dispatches\n",
           who(), rc == 0 ? "PASS" : "FAIL", (unsigned)cfg->count, sleeps,
           ampvq_posix_dispatch_count(ampvq_port_core_id()));
    return rc;
}

static int run_role(const block_cfg_t *cfg, esp_amp_queue_t *q, bool is_master)
{
    if (!is_master) {
        int err = esp_amp_queue_set_free_notify(q, trigger_freed, NULL);
        if (err != ESP_OK) {
            printf("FAIL: %s: set_free_notify returned 0x%x\n", who(), (unsigned)err);
            return 1;
        }
    }
    return is_master ? run_master(cfg, q) : run_remote(cfg, q);
}

int block_main_core(const block_cfg_t *cfg, const char *form)
{
    static esp_amp_queue_t q;
    bool is_master = cfg->master == AMPVQ_CORE_MAIN;

    int err = esp_amp_init();
    block_cfg_t *shared = err == ESP_OK ? esp_amp_sys_info_alloc(BLOCK_CFG_ID, sizeof(*shared)) : NULL;
    if (shared == NULL) {
        printf("FAIL: MAIN: esp_amp_init returned 0x%x, or no room for the knobs\n", (unsigned)err);
        return 1;
    }
    memcpy(shared, cfg, sizeof(*shared));
    err = esp_amp_queue_main_init_ex(&q, (uint16_t)cfg->qlen, (uint16_t)cfg->item_size,
                                     is_master ? trigger_notify : NULL, NULL, is_master, BLOCK_QUEUE_ID, cfg->flags);
    if (err != ESP_OK) {
        printf("FAIL: MAIN: queue init returned 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("MAIN: %s form, %u messages, queue %u x %u, master %s%s, pause %u/%u ms\n", form, (unsigned)cfg->count,
           (unsigned)cfg->qlen, (unsigned)cfg->item_size, cfg->master == AMPVQ_CORE_MAIN ? "main" : "sub",
           (cfg->flags & ESP_AMP_QUEUE_F_EVENT_IDX) ? ", event index" : "", (unsigned)cfg->pause_every,
           (unsigned)cfg->pause_ms);
    /* The knobs and the queue header are published before the sub core
     * starts (the port's start is a release). */
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("FAIL: MAIN: cannot start the sub core\n");
        return 1;
    }
    return run_role(cfg, &q, is_master);
}

int block_sub_core(void)
{
    static esp_amp_queue_t q;
    uint32_t size = 0;

    int err = esp_amp_init();
    const block_cfg_t *shared = err == ESP_OK ? esp_amp_sys_info_lookup(BLOCK_CFG_ID, &size) : NULL;
    if (shared == NULL || size < sizeof(*shared)) {
        printf("FAIL: SUB: esp_amp_init returned 0x%x, or no knobs in shared memory\n", (unsigned)err);
        return 1;
    }
    block_cfg_t cfg;
    memcpy(&cfg, shared, sizeof(cfg));
    bool is_master = cfg.master == AMPVQ_CORE_SUB;
    err = esp_amp_queue_sub_init(&q, is_master ? trigger_notify : NULL, NULL, is_master, BLOCK_QUEUE_ID);
    if (err != ESP_OK) {
        printf("FAIL: SUB: queue sub_init returned 0x%x\n", (unsigned)err);
        return 1;
    }
    return run_role(&cfg, &q, is_master);
}
