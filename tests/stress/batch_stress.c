/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Two-core test of the batch calls: the master allocates with alloc_n (now
 * and then alloc_try), keeps a random number of buffers back and sends a
 * random subset of what it holds, in a random order, with send_n (or
 * send_try); the remote receives with recv_n (or recv_try) up to a random
 * count, checks that every message arrives once, in order and intact, and
 * frees a random subset in a random order with free_n (or free_try). Both
 * sides poll. One source for both forms: built with BATCH_THREADS it is a
 * program whose cores are two threads; built by ampvq_add_app() it is the
 * two processes' app_main() / subcore_main().
 *
 * A side that sees no progress for --stall ms fails the run with its
 * indices (a hang would otherwise wait for CTest's time-out).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

#define BT_CFG_ID   0x0e20
#define BT_QUEUE_ID 0x0e21
#define SHM_SIZE    (1u << 20)
#define BT_MAX      64 /* largest batch and most buffers a side holds */

/* Knobs and progress in shared memory; uint32_t only, __atomic access. */
typedef struct {
    uint32_t count, qlen, item_size, master, batch, stall_ms, seed, one_view, flags;
    uint32_t received; /* remote: messages received in order */
    uint32_t abort;    /* a side failed: the other stops */
} bt_shared_t;

static uint32_t ld(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void st(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static const char *who(void)
{
    return ampvq_port_core_id() == AMPVQ_CORE_MAIN ? "MAIN" : "SUB";
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static void shuffle(void **a, uint32_t n, uint32_t *rng)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = xorshift(rng) % i;
        void *t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void cfg_default(bt_shared_t *c)
{
    memset(c, 0, sizeof(*c));
    c->count = 1000000;
    c->qlen = 16;
    c->item_size = 48;
    c->master = AMPVQ_CORE_MAIN;
    c->batch = 16;
    c->stall_ms = 10000;
    c->seed = 1;
}

static int parse_args(bt_shared_t *c, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i];
        if (strcmp(k, "--evidx") == 0) {
            c->flags = ESP_AMP_QUEUE_F_EVENT_IDX;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        uint32_t n = v != NULL ? (uint32_t)strtoul(v, NULL, 0) : 0;
        if (v == NULL) {
            fprintf(stderr, "batch: %s needs a value\n", k);
            return -1;
        } else if (strcmp(k, "--count") == 0) {
            c->count = n;
        } else if (strcmp(k, "--qlen") == 0) {
            c->qlen = n;
        } else if (strcmp(k, "--item") == 0) {
            c->item_size = n;
        } else if (strcmp(k, "--master") == 0) {
            c->master = strcmp(v, "sub") == 0 ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
        } else if (strcmp(k, "--batch") == 0) {
            c->batch = n;
        } else if (strcmp(k, "--stall") == 0) {
            c->stall_ms = n;
        } else if (strcmp(k, "--seed") == 0) {
            c->seed = n;
        } else if (strcmp(k, "--views") == 0) {
            c->one_view = strcmp(v, "one") == 0;
        } else {
            fprintf(stderr,
                    "batch: unknown knob %s (--count N --qlen N --item N --master main|sub --batch N --stall MS "
                    "--seed N --views one|two --evidx)\n",
                    k);
            return -1;
        }
    }
    if (c->count == 0 || c->qlen == 0 || c->qlen > BT_MAX || c->item_size < 8 || c->item_size > 65532 ||
        c->batch == 0 || c->batch > BT_MAX || c->seed == 0) {
        fprintf(stderr, "batch: count 1.., qlen 1..%u, item 8..65532, batch 1..%u, seed 1..\n", BT_MAX, BT_MAX);
        return -1;
    }
    return 0;
}

static uint16_t msg_size(uint32_t seq, uint32_t item)
{
    return (uint16_t)(4u + (seq * 41u + (seq >> 7)) % (item - 3u));
}

static uint8_t msg_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 17u + i * 59u + (seq >> 13));
}

static void msg_fill(uint8_t *b, uint32_t seq, uint16_t size)
{
    memcpy(b, &seq, sizeof(seq));
    for (uint32_t i = 4; i < size; i++) {
        b[i] = msg_byte(seq, i);
    }
}

static bool msg_ok(const uint8_t *b, uint32_t seq, uint16_t size, uint32_t item)
{
    uint32_t got;
    if (size != msg_size(seq, item)) {
        return false;
    }
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

/* Nothing moved on this side: yield the CPU, and fail after stall_ms. */
static bool idle(bt_shared_t *sh, uint32_t *t0, uint32_t at, const char *what)
{
    if (ld(&sh->abort) != 0) {
        return false;
    }
    if (ampvq_port_time_ms() - *t0 > sh->stall_ms) {
        printf("FAIL: %s: STALL: %s for %u ms at message %u (remote has received %u)\n", who(), what,
               (unsigned)sh->stall_ms, (unsigned)at, (unsigned)ld(&sh->received));
        st(&sh->abort, 1);
        return false;
    }
    sched_yield();
    return true;
}

static int fail(bt_shared_t *sh, const char *call, int err, uint32_t at)
{
    printf("FAIL: %s: %s returned 0x%x at message %u\n", who(), call, (unsigned)err, (unsigned)at);
    st(&sh->abort, 1);
    return 1;
}

static int run_master(bt_shared_t *sh, esp_amp_queue_t *q)
{
    void *held[BT_MAX];
    uint16_t sizes[BT_MAX];
    uint32_t n_held = 0, seq = 0, rng = sh->seed * 2654435761u | 1u, t0 = ampvq_port_time_ms();
    uint32_t calls = 0;
    while (seq < sh->count) {
        uint32_t x = xorshift(&rng);
        bool moved = false;
        /* Take more unless holding a lot already. */
        if (n_held < sh->qlen && x % 4 != 0) {
            uint16_t max = (uint16_t)(1 + (x >> 4) % sh->batch), count = 0;
            int err;
            if (max == 1 && (x & 0x100) != 0) {
                err = esp_amp_queue_alloc_try(q, &held[n_held], (uint16_t)sh->item_size);
                count = err == ESP_OK;
            } else {
                err = esp_amp_queue_alloc_n(q, held + n_held, (uint16_t)sh->item_size, max, &count);
            }
            if (err != ESP_OK && err != ESP_ERR_NOT_FOUND) {
                return fail(sh, "alloc", err, seq);
            }
            if (count > max || n_held + count > sh->qlen) {
                printf("FAIL: %s: alloc gave %u (max %u) while holding %u of %u\n", who(), (unsigned)count,
                       (unsigned)max, (unsigned)n_held, (unsigned)sh->qlen);
                st(&sh->abort, 1);
                return 1;
            }
            n_held += count;
        }
        /* Send a random subset of what is held, in a random order. */
        if (n_held != 0 && (x >> 12) % 3 != 0) {
            shuffle(held, n_held, &rng);
            uint32_t n = 1 + (x >> 16) % n_held;
            if (n > sh->count - seq) {
                n = sh->count - seq;
            }
            for (uint32_t i = 0; i < n; i++) {
                sizes[i] = msg_size(seq + i, sh->item_size);
                msg_fill(held[i], seq + i, sizes[i]);
            }
            int err = n == 1 && (x & 0x200) != 0 ? esp_amp_queue_send_try(q, held[0], sizes[0])
                                                 : esp_amp_queue_send_n(q, held, sizes, (uint16_t)n);
            if (err != ESP_OK) {
                return fail(sh, "send", err, seq);
            }
            calls++;
            memmove(held, held + n, (n_held - n) * sizeof(void *));
            n_held -= n;
            seq += n;
            moved = true;
        }
        if (moved) {
            t0 = ampvq_port_time_ms();
        } else if (!idle(sh, &t0, seq, "the master could not send")) {
            return 1;
        }
    }
    /* Wait for the remote to finish, so that the stats below are final. */
    t0 = ampvq_port_time_ms();
    uint32_t last = ld(&sh->received);
    while (last < sh->count) {
        if (!idle(sh, &t0, seq, "the remote stopped receiving")) {
            return 1;
        }
        uint32_t now = ld(&sh->received);
        if (now != last) {
            last = now;
            t0 = ampvq_port_time_ms();
        }
    }
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    int rc = 0;
    if (s.given != sh->count || s.taken != sh->count + n_held || s.held != n_held || s.peer_errors != 0) {
        printf("FAIL: %s: stats taken %u given %u held %u peer errors %u; expected %u, %u, %u, 0\n", who(),
               (unsigned)s.taken, (unsigned)s.given, (unsigned)s.held, (unsigned)s.peer_errors,
               (unsigned)(sh->count + n_held), (unsigned)sh->count, (unsigned)n_held);
        rc = 1;
    }
    printf("%s: %s batch master: %u messages in %u send calls (%.2f per call), %u allocs found the queue full\n", who(),
           rc == 0 ? "PASS" : "FAIL", (unsigned)sh->count, (unsigned)calls, (double)sh->count / calls,
           (unsigned)s.full);
    return rc;
}

static int run_remote(bt_shared_t *sh, esp_amp_queue_t *q)
{
    void *held[BT_MAX];
    uint16_t sizes[BT_MAX];
    uint32_t n_held = 0, next = 0, freed = 0, rng = sh->seed * 69069u + 5u, t0 = ampvq_port_time_ms();
    uint32_t calls = 0;
    while (next < sh->count || n_held != 0) {
        uint32_t x = xorshift(&rng);
        bool moved = false;
        if (next < sh->count && n_held < sh->qlen && x % 4 != 0) {
            uint16_t max = (uint16_t)(1 + (x >> 4) % sh->batch), count = 0;
            int err;
            if (max == 1 && (x & 0x100) != 0) {
                err = esp_amp_queue_recv_try(q, &held[n_held], &sizes[n_held]);
                count = err == ESP_OK;
            } else {
                err = esp_amp_queue_recv_n(q, held + n_held, sizes + n_held, max, &count);
            }
            if (err != ESP_OK && err != ESP_ERR_NOT_FOUND) {
                return fail(sh, "recv", err, next);
            }
            if (count > max) {
                printf("FAIL: %s: recv gave %u, max %u\n", who(), (unsigned)count, (unsigned)max);
                st(&sh->abort, 1);
                return 1;
            }
            for (uint32_t i = 0; i < count; i++) {
                if (!msg_ok(held[n_held + i], next + i, sizes[n_held + i], sh->item_size)) {
                    uint32_t got = 0;
                    memcpy(&got, held[n_held + i], sizeof(got));
                    printf("FAIL: %s: expected message %u of %u bytes, got %u bytes starting %u (batch of %u)\n", who(),
                           (unsigned)(next + i), (unsigned)msg_size(next + i, sh->item_size),
                           (unsigned)sizes[n_held + i], (unsigned)got, (unsigned)count);
                    st(&sh->abort, 1);
                    return 1;
                }
            }
            n_held += count;
            next += count;
            if (count != 0) {
                st(&sh->received, next);
                moved = true;
            }
        }
        /* Free a random subset in a random order (all at the end). */
        if (n_held != 0 && ((x >> 12) % 3 != 0 || next == sh->count)) {
            shuffle(held, n_held, &rng);
            uint32_t n = next == sh->count ? n_held : 1 + (x >> 16) % n_held;
            int err = n == 1 && (x & 0x200) != 0 ? esp_amp_queue_free_try(q, held[0])
                                                 : esp_amp_queue_free_n(q, held, (uint16_t)n);
            if (err != ESP_OK) {
                return fail(sh, "free", err, next);
            }
            calls++;
            memmove(held, held + n, (n_held - n) * sizeof(void *));
            n_held -= n;
            freed += n;
            moved = true;
        }
        if (moved) {
            t0 = ampvq_port_time_ms();
        } else if (!idle(sh, &t0, next, "the remote received nothing")) {
            return 1;
        }
    }
    void *buf;
    uint16_t size;
    int err = esp_amp_queue_recv_try(q, &buf, &size);
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    int rc = 0;
    if (err != ESP_ERR_NOT_FOUND || s.taken != sh->count || s.given != sh->count || s.held != 0 || s.peer_errors != 0) {
        printf("FAIL: %s: after the last message recv 0x%x, stats taken %u given %u held %u peer errors %u\n", who(),
               (unsigned)err, (unsigned)s.taken, (unsigned)s.given, (unsigned)s.held, (unsigned)s.peer_errors);
        rc = 1;
    }
    printf("%s: %s batch remote: %u messages received once, in order, intact; %u free calls\n", who(),
           rc == 0 ? "PASS" : "FAIL", (unsigned)freed, (unsigned)calls);
    return rc;
}

static int run_role(bt_shared_t *sh, esp_amp_queue_t *q, bool is_master)
{
    return is_master ? run_master(sh, q) : run_remote(sh, q);
}

static int batch_main_core(const bt_shared_t *cfg, const char *form)
{
    static esp_amp_queue_t q;
    bool is_master = cfg->master == AMPVQ_CORE_MAIN;
    int err = esp_amp_init();
    bt_shared_t *sh = err == ESP_OK ? esp_amp_sys_info_alloc(BT_CFG_ID, sizeof(*sh)) : NULL;
    if (sh == NULL) {
        printf("FAIL: MAIN: esp_amp_init returned 0x%x, or no room for the knobs\n", (unsigned)err);
        return 1;
    }
    memcpy(sh, cfg, sizeof(*sh));
    err = esp_amp_queue_main_init_ex(&q, (uint16_t)cfg->qlen, (uint16_t)cfg->item_size, NULL, NULL, is_master,
                                     BT_QUEUE_ID, cfg->flags);
    if (err != ESP_OK) {
        printf("FAIL: MAIN: queue init returned 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("MAIN: %s form, %u messages, queue %u x %u, master %s, batches up to %u, seed %u%s\n", form,
           (unsigned)cfg->count, (unsigned)cfg->qlen, (unsigned)cfg->item_size, is_master ? "main" : "sub",
           (unsigned)cfg->batch, (unsigned)cfg->seed, cfg->flags ? ", event index" : "");
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("FAIL: MAIN: cannot start the sub core\n");
        return 1;
    }
    return run_role(sh, &q, is_master);
}

static int batch_sub_core(void)
{
    static esp_amp_queue_t q;
    uint32_t size = 0;
    int err = esp_amp_init();
    bt_shared_t *sh = err == ESP_OK ? esp_amp_sys_info_lookup(BT_CFG_ID, &size) : NULL;
    if (sh == NULL || size < sizeof(*sh)) {
        printf("FAIL: SUB: esp_amp_init returned 0x%x, or no knobs in shared memory\n", (unsigned)err);
        return 1;
    }
    bool is_master = sh->master == AMPVQ_CORE_SUB;
    err = esp_amp_queue_sub_init(&q, NULL, NULL, is_master, BT_QUEUE_ID);
    if (err != ESP_OK) {
        printf("FAIL: SUB: queue sub_init returned 0x%x\n", (unsigned)err);
        st(&sh->abort, 1);
        return 1;
    }
    return run_role(sh, &q, is_master);
}

#ifdef BATCH_THREADS

static int sub_entry(void *arg)
{
    (void)arg;
    return batch_sub_core();
}

int main(int argc, char **argv)
{
    bt_shared_t cfg;
    int fd = -1;
    void *view = NULL;

    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg_default(&cfg);
    if (parse_args(&cfg, argc - 1, argv + 1) != 0) {
        return 2;
    }
    /* --views one: one mapping, so that ThreadSanitizer sees both cores'
     * accesses to the same bytes. */
    if (cfg.one_view) {
        fd = ampvq_posix_shm_create(SHM_SIZE);
        view = fd >= 0 ? ampvq_posix_shm_map(fd, SHM_SIZE, NULL) : NULL;
        if (view == NULL) {
            perror("batch: shared memory");
            return 2;
        }
        ampvq_posix_attach(AMPVQ_CORE_MAIN, view, SHM_SIZE);
        ampvq_posix_attach(AMPVQ_CORE_SUB, view, SHM_SIZE);
        ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    } else if (ampvq_posix_threads_setup(SHM_SIZE) != 0) {
        perror("batch: ampvq_posix_threads_setup");
        return 2;
    }
    ampvq_posix_set_subcore_entry(sub_entry, NULL);
    int rc = batch_main_core(&cfg, "threads");
    int sub_rc = 0;
    int joined = ampvq_posix_join_subcore(cfg.stall_ms * 2u + 10000u, &sub_rc);
    if (joined < 0) {
        printf("FAIL: the sub-core thread did not finish\n");
        fflush(stdout);
        _exit(3);
    }
    if (joined == 0 && sub_rc != 0 && rc == 0) {
        printf("FAIL: the sub core returned %d\n", sub_rc);
        rc = 1;
    }
    ampvq_posix_teardown();
    if (view != NULL) {
        ampvq_posix_shm_unmap(view, SHM_SIZE);
        close(fd);
    }
    return rc;
}

#else /* processes form: the posix launchers provide main() */

int app_main(void)
{
    bt_shared_t cfg;
    char buf[512];
    char *argv[64];
    int argc = 0;
    const char *args = getenv("AMPVQ_BATCH_ARGS");

    cfg_default(&cfg);
    snprintf(buf, sizeof(buf), "%s", args != NULL ? args : "");
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t != NULL && argc < 64;
         t = strtok_r(NULL, " \t", &save)) {
        argv[argc++] = t;
    }
    if (parse_args(&cfg, argc, argv) != 0) {
        return 2;
    }
    return batch_main_core(&cfg, "processes");
}

int subcore_main(void)
{
    return batch_sub_core();
}

#endif
