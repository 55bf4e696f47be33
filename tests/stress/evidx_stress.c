/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Two-core tests of notification suppression (ESP_AMP_QUEUE_F_EVENT_IDX):
 * that no wake-up is ever lost while the two sides race, and how many
 * notifications a message costs. One source for both forms: built with
 * EVIDX_THREADS it is a program whose cores are two threads (main()); built
 * by ampvq_add_app() it is the two processes' app_main() / subcore_main().
 *
 * --test wake  master -> remote. The master sends bursts; its notify
 *              function triggers a software interrupt on the remote's core.
 *              The remote receives ONLY in that interrupt's callback
 *              (esp_amp_queue_intr_enable), draining until NOT_FOUND, and
 *              never polls otherwise: with the event index the drain's last,
 *              empty recv is what asks for the next notification, so a
 *              missed request or a notify skipped by mistake leaves messages
 *              in the queue that nobody will ever take. Random pauses on both
 *              sides (between the remote's receives, between the master's
 *              bursts) make the remote's re-arm race the master's send.
 * --test full  remote -> master. The master blocks on a full queue: after an
 *              alloc that found nothing it sleeps until the remote's
 *              free-notify (esp_amp_queue_set_free_notify) triggers a
 *              software interrupt on the master's core, never spinning. The
 *              remote receives by polling and holds and pauses at random so
 *              that the queue runs full.
 *
 * A lost wake-up shows as a stall: nothing moves for --stall ms (the posix
 * port's 20 ms re-check only repairs lost doorbells, not notifications that
 * were never sent). The side that waits then fails at once with the indices
 * and wake words, rather than hanging until CTest's time-out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_amp.h"
#include "ampvq/app.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

#define EV_CFG_ID   0x0e10
#define EV_QUEUE_ID 0x0e11
#define EV_SENT     SW_INTR_ID_2 /* master -> remote's core: sent */
#define EV_FREED    SW_INTR_ID_3 /* remote -> master's core: freed */
#define SHM_SIZE    (1u << 20)

enum { TEST_WAKE, TEST_FULL };

/* Knobs and progress, in shared memory (the sub core reads the knobs from
 * there; both sides watch each other's progress). Only uint32_t, accessed
 * with __atomic builtins. */
typedef struct {
    uint32_t test, count, qlen, item_size, master, flags, burst, stall_ms, seed, one_view, pauses;
    uint32_t max_ratio_permille; /* wake: fail if notifies per 1000 messages exceed this */
    uint32_t work;               /* wake: remote's busy loop per message (a consumer under load) */
    uint32_t received;           /* remote: messages taken, in order */
    uint32_t freed;              /* remote: messages given back */
    uint32_t errors;             /* remote: wrong or damaged messages, failed calls */
    uint32_t remote_done;        /* remote finished; the counters below are final */
    uint32_t abort;              /* one side failed: the other stops */
    uint32_t remote_notify;      /* remote's stats.notify (free-notifies) */
    uint32_t remote_free_calls;  /* remote's successful free calls */
    uint32_t remote_isr_runs;    /* wake: callback runs */
} ev_shared_t;

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

/* ------------------------------------------------------------------ */
/* Knobs                                                               */
/* ------------------------------------------------------------------ */

static void cfg_default(ev_shared_t *c)
{
    memset(c, 0, sizeof(*c));
    c->test = TEST_WAKE;
    c->count = 200000;
    c->qlen = 16;
    c->item_size = 32;
    c->master = AMPVQ_CORE_MAIN;
    c->flags = ESP_AMP_QUEUE_F_EVENT_IDX;
    c->burst = 16;
    c->stall_ms = 5000;
    c->seed = 1;
    c->pauses = 1;
    c->max_ratio_permille = 500;
}

static int parse_args(ev_shared_t *c, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i];
        if (strcmp(k, "--no-evidx") == 0) {
            c->flags = 0;
            continue;
        }
        if (strcmp(k, "--no-pauses") == 0) {
            c->pauses = 0;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        uint32_t n = v != NULL ? (uint32_t)strtoul(v, NULL, 0) : 0;
        if (v == NULL) {
            fprintf(stderr, "evidx: %s needs a value\n", k);
            return -1;
        } else if (strcmp(k, "--test") == 0) {
            c->test = strcmp(v, "full") == 0 ? TEST_FULL : TEST_WAKE;
        } else if (strcmp(k, "--count") == 0) {
            c->count = n;
        } else if (strcmp(k, "--qlen") == 0) {
            c->qlen = n;
        } else if (strcmp(k, "--item") == 0) {
            c->item_size = n;
        } else if (strcmp(k, "--master") == 0) {
            c->master = strcmp(v, "sub") == 0 ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
        } else if (strcmp(k, "--burst") == 0) {
            c->burst = n;
        } else if (strcmp(k, "--stall") == 0) {
            c->stall_ms = n;
        } else if (strcmp(k, "--seed") == 0) {
            c->seed = n;
        } else if (strcmp(k, "--views") == 0) {
            c->one_view = strcmp(v, "one") == 0;
        } else if (strcmp(k, "--work") == 0) {
            c->work = n;
        } else if (strcmp(k, "--max-ratio") == 0) {
            c->max_ratio_permille = (uint32_t)(strtod(v, NULL) * 1000.0 + 0.5);
        } else {
            fprintf(stderr,
                    "evidx: unknown knob %s (--test wake|full --count N --qlen N --item N --master main|sub "
                    "--burst N --stall MS --seed N --views one|two --work N --max-ratio R --no-evidx --no-pauses)\n",
                    k);
            return -1;
        }
    }
    if (c->count == 0 || c->qlen == 0 || c->qlen > 32768 || c->item_size < 8 || c->item_size > 65532 || c->burst == 0 ||
        c->seed == 0) {
        fprintf(stderr, "evidx: count 1.., qlen 1..32768, item 8..65532, burst 1.., seed 1..\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static uint16_t msg_size(uint32_t seq, uint32_t item)
{
    return (uint16_t)(4u + (seq * 37u) % (item - 3u));
}

static uint8_t msg_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 13u + i * 101u + (seq >> 11));
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

/* The wake words in shared memory, for failure reports. */
static void wake_words(uint32_t *remote, uint32_t *master)
{
    uint32_t size = 0;
    const ampvq_queue_hdr_t *h = esp_amp_sys_info_lookup(EV_QUEUE_ID, &size);
    const uint8_t *base = (const uint8_t *)ampvq_port_shm_base();
    *remote = h != NULL ? __atomic_load_n(&((const ampvq_queue_ctl_t *)(const void *)(base + h->ctl_off[0]))->wake,
                                          __ATOMIC_SEQ_CST)
                        : 0;
    *master = h != NULL ? __atomic_load_n(&((const ampvq_queue_ctl_t *)(const void *)(base + h->ctl_off[1]))->wake,
                                          __ATOMIC_SEQ_CST)
                        : 0;
}

/* A short busy pause: shifts the two sides' timing by less than a futex
 * wake-up, where ampvq_port_delay_us() shifts it by more. */
static void spin(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++) {
    }
}

/* ------------------------------------------------------------------ */
/* --test wake: master -> remote, remote only in its interrupt          */
/* ------------------------------------------------------------------ */

/* The remote's state, touched only by its interrupt callback (one
 * interrupt thread per core: never two runs at once) until the task has
 * removed the handler. */
typedef struct {
    esp_amp_queue_t *q;
    ev_shared_t *sh;
    uint32_t next;
    uint32_t rng;
    uint32_t runs;
} wake_remote_t;

static wake_remote_t wake_remote;

static int wake_remote_isr(void *arg)
{
    wake_remote_t *r = arg;
    r->runs++;
    for (;;) {
        if (r->sh->pauses) {
            uint32_t x = xorshift(&r->rng);
            if (x % 64 == 0) {
                ampvq_port_delay_us(x >> 26); /* 0..63 us */
            } else if (x % 8 == 1) {
                spin((x >> 20) & 1023);
            }
        }
        void *buf = NULL;
        uint16_t size = 0;
        int err = esp_amp_queue_recv_try(r->q, &buf, &size);
        if (err == ESP_ERR_NOT_FOUND) {
            break;
        }
        if (err != ESP_OK || !msg_ok(buf, r->next, size, r->sh->item_size) ||
            esp_amp_queue_free_try(r->q, buf) != ESP_OK) {
            if (__atomic_fetch_add(&r->sh->errors, 1, __ATOMIC_SEQ_CST) == 0) {
                printf("FAIL: %s: recv returned 0x%x / message %u wrong or not freed\n", who(), (unsigned)err,
                       (unsigned)r->next);
            }
            st(&r->sh->abort, 1);
            break;
        }
        spin(r->sh->work);
        r->next++;
        st(&r->sh->received, r->next);
    }
    return 0;
}

static int wake_run_remote(ev_shared_t *sh, esp_amp_queue_t *q)
{
    wake_remote.q = q;
    wake_remote.sh = sh;
    wake_remote.rng = sh->seed * 2654435761u | 1u;
    int err = esp_amp_queue_intr_enable(q, EV_SENT);
    if (err != ESP_OK) {
        printf("FAIL: %s: intr_enable returned 0x%x\n", who(), (unsigned)err);
        st(&sh->abort, 1);
        return 1;
    }
    /* The task only watches: every receive happens in the callback. The
     * master's stall check is the one that fails a lost wake-up. */
    while (ld(&sh->received) < sh->count && ld(&sh->abort) == 0) {
        ampvq_port_delay_us(1000);
    }
    esp_amp_sw_intr_delete_handler(EV_SENT, wake_remote_isr);
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    st(&sh->remote_isr_runs, wake_remote.runs);
    st(&sh->remote_notify, s.notify);
    st(&sh->remote_done, 1);
    return ld(&sh->errors) != 0 || ld(&sh->abort) != 0;
}

static int trigger_sent(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(EV_SENT);
    return 0;
}

/* Waits until the remote has received `upto`; false (reported) if nothing
 * moved for stall_ms. */
static bool wait_received(ev_shared_t *sh, esp_amp_queue_t *q, uint32_t upto, const char *what)
{
    uint32_t last = ld(&sh->received), t0 = ampvq_port_time_ms(), polls = 0;
    while (last < upto) {
        if (ld(&sh->abort) != 0) {
            return false;
        }
        /* Spin briefly first (a producer under load keeps the consumer
         * busy rather than letting it drain the queue while it sleeps),
         * then sleep: the remote's interrupt thread may need this CPU. */
        if (++polls < 64) {
            spin(256);
        } else {
            ampvq_port_delay_us(20);
        }
        uint32_t now = ld(&sh->received);
        if (now != last) {
            last = now;
            t0 = ampvq_port_time_ms();
        } else if (ampvq_port_time_ms() - t0 > sh->stall_ms) {
            uint32_t wr, wm;
            esp_amp_queue_stats_t s;
            wake_words(&wr, &wm);
            esp_amp_queue_stats(q, &s);
            printf("FAIL: %s: LOST WAKE-UP: %s: the remote has received %u of %u sent and nothing moved for %u ms; "
                   "remote's wake word %u (master's %u), %u notifies\n",
                   who(), what, (unsigned)last, (unsigned)s.given, (unsigned)sh->stall_ms, (unsigned)wr, (unsigned)wm,
                   (unsigned)s.notify);
            st(&sh->abort, 1);
            return false;
        }
    }
    return true;
}

static int wake_run_master(ev_shared_t *sh, esp_amp_queue_t *q)
{
    uint32_t rng = sh->seed * 40503u + 7u;
    uint32_t seq = 0, bursts = 0, idle_waits = 0;
    while (seq < sh->count) {
        uint32_t n = 1 + xorshift(&rng) % sh->burst;
        for (uint32_t i = 0; i < n && seq < sh->count; i++, seq++) {
            uint16_t size = msg_size(seq, sh->item_size);
            void *buf = NULL;
            int err;
            /* Full: wait for the remote's callback to make room (the test
             * is about the remote's wake-ups, so the master just polls).
             * The callback counts a message after freeing it, so with the
             * count read before a failed alloc, room means a larger count. */
            for (;;) {
                uint32_t before = ld(&sh->received);
                err = esp_amp_queue_alloc_try(q, &buf, size);
                if (err != ESP_ERR_NOT_FOUND) {
                    break;
                }
                if (!wait_received(sh, q, before + 1, "queue full")) {
                    return 1;
                }
            }
            if (err != ESP_OK) {
                printf("FAIL: %s: alloc of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
                st(&sh->abort, 1);
                return 1;
            }
            msg_fill(buf, seq, size);
            err = esp_amp_queue_send_try(q, buf, size);
            if (err != ESP_OK) {
                printf("FAIL: %s: send of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
                st(&sh->abort, 1);
                return 1;
            }
        }
        bursts++;
        if (ld(&sh->abort) != 0) {
            return 1;
        }
        if (sh->pauses) {
            uint32_t x = xorshift(&rng);
            if (x % 16 == 0) {
                /* Let the remote go idle: only this burst's notify (if the
                 * remote asked for it) can wake it now. */
                idle_waits++;
                if (!wait_received(sh, q, seq, "remote idle after a burst")) {
                    return 1;
                }
            } else if (x % 4 == 1) {
                ampvq_port_delay_us((x >> 24) % 100);
            } else if (x % 4 == 2) {
                spin((x >> 16) & 2047);
            }
        }
    }
    if (!wait_received(sh, q, sh->count, "end of the run")) {
        return 1;
    }
    /* The remote's task notices the end within a millisecond. */
    uint32_t t0 = ampvq_port_time_ms();
    while (ld(&sh->remote_done) == 0 && ampvq_port_time_ms() - t0 < sh->stall_ms) {
        ampvq_port_delay_us(500);
    }
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    uint32_t runs = ld(&sh->remote_isr_runs);
    int rc = 0;
    if (ld(&sh->remote_done) == 0 || ld(&sh->errors) != 0) {
        printf("FAIL: %s: the remote did not finish cleanly (%u errors)\n", who(), (unsigned)ld(&sh->errors));
        rc = 1;
    }
    /* Each run of the callback was raised by a notify (plus intr_enable's
     * catch-up run); coalescing may only make fewer. */
    if (runs > s.notify + 1u) {
        printf("FAIL: %s: %u callback runs for %u notifies\n", who(), (unsigned)runs, (unsigned)s.notify);
        rc = 1;
    }
    if (s.notify == 0 || (uint64_t)s.notify * 1000u > (uint64_t)sh->max_ratio_permille * sh->count) {
        printf("FAIL: %s: %u notifies for %u messages (limit %.3f per message)\n", who(), (unsigned)s.notify,
               (unsigned)sh->count, sh->max_ratio_permille / 1000.0);
        rc = 1;
    }
    if (!(sh->flags & ESP_AMP_QUEUE_F_EVENT_IDX) && s.notify != sh->count) {
        printf("FAIL: %s: without the event index every send notifies: %u for %u\n", who(), (unsigned)s.notify,
               (unsigned)sh->count);
        rc = 1;
    }
    printf("%s: %s wake: %u messages in order, %u bursts (%u idle waits); %u notifies = %.4f notifications per "
           "message; %u remote interrupts\n",
           who(), rc == 0 ? "PASS" : "FAIL", (unsigned)sh->count, (unsigned)bursts, (unsigned)idle_waits,
           (unsigned)s.notify, (double)s.notify / sh->count, (unsigned)runs);
    return rc;
}

/* ------------------------------------------------------------------ */
/* --test full: remote -> master, master sleeps on a full queue         */
/* ------------------------------------------------------------------ */

/* The master's wake-up: its core's interrupt handler bumps a generation
 * and signals the task waiting for it (both in the master's process). */
static pthread_mutex_t full_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t full_cv = PTHREAD_COND_INITIALIZER;
static uint32_t full_gen;

static int full_master_isr(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&full_mu);
    full_gen++;
    pthread_cond_broadcast(&full_cv);
    pthread_mutex_unlock(&full_mu);
    return 0;
}

static uint32_t full_gen_now(void)
{
    pthread_mutex_lock(&full_mu);
    uint32_t g = full_gen;
    pthread_mutex_unlock(&full_mu);
    return g;
}

/* Sleeps until the generation moves past `seen`; false after `ms`. */
static bool full_wait(uint32_t seen, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000u;
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&full_mu);
    int err = 0;
    while (full_gen == seen && err != ETIMEDOUT) {
        err = pthread_cond_timedwait(&full_cv, &full_mu, &ts);
    }
    bool moved = full_gen != seen;
    pthread_mutex_unlock(&full_mu);
    return moved;
}

static int trigger_freed(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(EV_FREED);
    return 0;
}

static int full_run_master(ev_shared_t *sh, esp_amp_queue_t *q)
{
    if (esp_amp_sw_intr_add_handler(EV_FREED, full_master_isr, NULL) != ESP_OK) {
        printf("FAIL: %s: cannot add the free handler\n", who());
        st(&sh->abort, 1);
        return 1;
    }
    uint32_t empty = 0;
    int rc = 0;
    for (uint32_t seq = 0; seq < sh->count && rc == 0; seq++) {
        uint16_t size = msg_size(seq, sh->item_size);
        void *buf = NULL;
        int err;
        for (;;) {
            /* Read before the alloc: a free-notify that comes between the
             * alloc's look and the sleep still ends the sleep. */
            uint32_t seen = full_gen_now();
            err = esp_amp_queue_alloc_try(q, &buf, size);
            if (err != ESP_ERR_NOT_FOUND) {
                break;
            }
            empty++;
            if (!full_wait(seen, sh->stall_ms)) {
                uint32_t wr, wm;
                wake_words(&wr, &wm);
                printf("FAIL: %s: LOST WAKE-UP: the queue was full at message %u and no free-notify came in %u ms; "
                       "remote freed %u, master's wake word %u (remote's %u)\n",
                       who(), (unsigned)seq, (unsigned)sh->stall_ms, (unsigned)ld(&sh->freed), (unsigned)wm,
                       (unsigned)wr);
                st(&sh->abort, 1);
                rc = 1;
                break;
            }
            if (ld(&sh->abort) != 0) {
                rc = 1;
                break;
            }
        }
        if (rc != 0) {
            break;
        }
        if (err != ESP_OK) {
            printf("FAIL: %s: alloc of message %u returned 0x%x\n", who(), (unsigned)seq, (unsigned)err);
            st(&sh->abort, 1);
            rc = 1;
            break;
        }
        msg_fill(buf, seq, size);
        if (esp_amp_queue_send_try(q, buf, size) != ESP_OK) {
            printf("FAIL: %s: send of message %u failed\n", who(), (unsigned)seq);
            st(&sh->abort, 1);
            rc = 1;
        }
    }
    uint32_t t0 = ampvq_port_time_ms();
    while (rc == 0 && ld(&sh->remote_done) == 0) {
        if (ampvq_port_time_ms() - t0 > sh->stall_ms * 4u || ld(&sh->abort) != 0) {
            printf("FAIL: %s: the remote did not finish (received %u of %u)\n", who(), (unsigned)ld(&sh->received),
                   (unsigned)sh->count);
            rc = 1;
            break;
        }
        ampvq_port_delay_us(500);
    }
    esp_amp_sw_intr_delete_handler(EV_FREED, full_master_isr);
    if (rc != 0) {
        return rc;
    }
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    uint32_t runs = full_gen_now();
    uint32_t rnotify = ld(&sh->remote_notify), rcalls = ld(&sh->remote_free_calls);
    if (s.full != empty) {
        printf("FAIL: %s: stats.full %u, but %u allocs found nothing\n", who(), (unsigned)s.full, (unsigned)empty);
        rc = 1;
    }
    /* Every empty alloc slept until a new interrupt: the master polled no
     * more often than it was woken (spinning would poll far more). */
    if (empty > runs) {
        printf("FAIL: %s: %u empty allocs but only %u wake-ups: spinning?\n", who(), (unsigned)empty, (unsigned)runs);
        rc = 1;
    }
    if (runs > rnotify) {
        printf("FAIL: %s: %u wake-ups from %u free-notifies\n", who(), (unsigned)runs, (unsigned)rnotify);
        rc = 1;
    }
    if (sh->pauses && sh->count >= 1000 && empty == 0) {
        printf("FAIL: %s: the remote paused but the queue never ran full\n", who());
        rc = 1;
    }
    if (sh->flags & ESP_AMP_QUEUE_F_EVENT_IDX) {
        /* A free-notify only for a slot the master asked for. It asks after
         * every empty alloc, but also when the alloc's second look (after
         * asking) finds the slot freed after all, and the remote may have
         * seen that request too: so the count is not bounded by the empty
         * allocs, only far below one per free. */
        /* How far below depends on scheduling (asserted exactly, single-
         * threaded, in test_evidx); here: never more than one per free. */
        if (rnotify > rcalls) {
            printf("FAIL: %s: %u free-notifies for %u free calls\n", who(), (unsigned)rnotify, (unsigned)rcalls);
            rc = 1;
        }
    } else if (rnotify != rcalls) {
        printf("FAIL: %s: without the event index every free notifies: %u for %u free calls\n", who(),
               (unsigned)rnotify, (unsigned)rcalls);
        rc = 1;
    }
    printf("%s: %s full: %u messages; %u empty allocs, %u wake-ups, %u free-notifies for %u free calls "
           "(%.4f per message)\n",
           who(), rc == 0 ? "PASS" : "FAIL", (unsigned)sh->count, (unsigned)empty, (unsigned)runs, (unsigned)rnotify,
           (unsigned)rcalls, (double)rnotify / sh->count);
    return rc;
}

static int full_run_remote(ev_shared_t *sh, esp_amp_queue_t *q)
{
    void *held[64];
    uint32_t n_held = 0, next = 0, calls = 0, rng = sh->seed * 69069u + 3u;
    uint32_t cap = sh->qlen < 64 ? sh->qlen : 64;
    uint32_t hold = 1, t0 = ampvq_port_time_ms();
    int rc = 0;

    if (esp_amp_queue_set_free_notify(q, trigger_freed, NULL) != ESP_OK) {
        printf("FAIL: %s: set_free_notify failed\n", who());
        st(&sh->abort, 1);
        return 1;
    }
    while ((next < sh->count || n_held != 0) && rc == 0) {
        if (ld(&sh->abort) != 0) {
            rc = 1;
            break;
        }
        void *buf = NULL;
        uint16_t size = 0;
        int err = next < sh->count ? esp_amp_queue_recv_try(q, &buf, &size) : ESP_ERR_NOT_FOUND;
        if (err == ESP_OK) {
            if (!msg_ok(buf, next, size, sh->item_size)) {
                printf("FAIL: %s: message %u wrong (%u bytes)\n", who(), (unsigned)next, (unsigned)size);
                rc = 1;
                break;
            }
            held[n_held++] = buf;
            next++;
            st(&sh->received, next);
            t0 = ampvq_port_time_ms();
        } else if (err != ESP_ERR_NOT_FOUND) {
            printf("FAIL: %s: recv returned 0x%x\n", who(), (unsigned)err);
            rc = 1;
            break;
        }
        /* Give back once `hold` buffers are held (or nothing came): one at
         * a time, or as one batch in a shuffled order. */
        if (n_held != 0 && (n_held >= hold || err == ESP_ERR_NOT_FOUND)) {
            uint32_t x = xorshift(&rng);
            if (sh->pauses && x % 128 == 0) {
                ampvq_port_delay_us(50 + (x >> 20) % 400); /* the master runs into a full queue */
            }
            for (uint32_t i = n_held; i > 1; i--) {
                uint32_t j = xorshift(&rng) % i;
                void *t = held[i - 1];
                held[i - 1] = held[j];
                held[j] = t;
            }
            err = ESP_OK;
            if (x % 2 == 0) {
                err = esp_amp_queue_free_n(q, held, (uint16_t)n_held);
                calls++;
            } else {
                for (uint32_t i = 0; i < n_held && err == ESP_OK; i++) {
                    err = esp_amp_queue_free_try(q, held[i]);
                    calls++;
                }
            }
            if (err != ESP_OK) {
                printf("FAIL: %s: free returned 0x%x\n", who(), (unsigned)err);
                rc = 1;
                break;
            }
            __atomic_fetch_add(&sh->freed, n_held, __ATOMIC_SEQ_CST);
            n_held = 0;
            hold = 1 + (x >> 8) % cap;
        } else if (err == ESP_ERR_NOT_FOUND) {
            if (ampvq_port_time_ms() - t0 > sh->stall_ms * 2u) {
                printf("FAIL: %s: nothing received for %u ms (at %u)\n", who(), (unsigned)(sh->stall_ms * 2u),
                       (unsigned)next);
                rc = 1;
                break;
            }
            ampvq_port_delay_us(10);
        }
    }
    if (rc != 0) {
        st(&sh->abort, 1);
        return rc;
    }
    esp_amp_queue_stats_t s;
    esp_amp_queue_stats(q, &s);
    st(&sh->remote_notify, s.notify);
    st(&sh->remote_free_calls, calls);
    st(&sh->remote_done, 1);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The two cores                                                       */
/* ------------------------------------------------------------------ */

static int run_role(ev_shared_t *sh, esp_amp_queue_t *q, bool is_master)
{
    if (sh->test == TEST_WAKE) {
        return is_master ? wake_run_master(sh, q) : wake_run_remote(sh, q);
    }
    return is_master ? full_run_master(sh, q) : full_run_remote(sh, q);
}

static int evidx_main_core(const ev_shared_t *cfg, const char *form)
{
    static esp_amp_queue_t q;
    bool is_master = cfg->master == AMPVQ_CORE_MAIN;
    int err = esp_amp_init();
    ev_shared_t *sh = err == ESP_OK ? esp_amp_sys_info_alloc(EV_CFG_ID, sizeof(*sh)) : NULL;
    if (sh == NULL) {
        printf("FAIL: MAIN: esp_amp_init returned 0x%x, or no room for the knobs\n", (unsigned)err);
        return 1;
    }
    memcpy(sh, cfg, sizeof(*sh));
    /* The master's notify wakes the remote only in the wake test. */
    esp_amp_queue_cb_t notify = cfg->test == TEST_WAKE ? trigger_sent : NULL;
    esp_amp_queue_cb_t cb = cfg->test == TEST_WAKE ? wake_remote_isr : NULL;
    err = esp_amp_queue_main_init_ex(&q, (uint16_t)cfg->qlen, (uint16_t)cfg->item_size, is_master ? notify : cb,
                                     is_master ? NULL : &wake_remote, is_master, EV_QUEUE_ID, cfg->flags);
    if (err != ESP_OK) {
        printf("FAIL: MAIN: queue init returned 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("MAIN: %s form, test %s, %u messages, queue %u x %u, master %s, %s, burst %u, seed %u%s\n", form,
           cfg->test == TEST_WAKE ? "wake" : "full", (unsigned)cfg->count, (unsigned)cfg->qlen,
           (unsigned)cfg->item_size, is_master ? "main" : "sub",
           (cfg->flags & ESP_AMP_QUEUE_F_EVENT_IDX) ? "event index" : "no event index", (unsigned)cfg->burst,
           (unsigned)cfg->seed, cfg->pauses ? ", random pauses" : "");
    if (esp_amp_start_subcore() != ESP_OK) {
        printf("FAIL: MAIN: cannot start the sub core\n");
        return 1;
    }
    return run_role(sh, &q, is_master);
}

static int evidx_sub_core(void)
{
    static esp_amp_queue_t q;
    uint32_t size = 0;
    int err = esp_amp_init();
    ev_shared_t *sh = err == ESP_OK ? esp_amp_sys_info_lookup(EV_CFG_ID, &size) : NULL;
    if (sh == NULL || size < sizeof(*sh)) {
        printf("FAIL: SUB: esp_amp_init returned 0x%x, or no knobs in shared memory\n", (unsigned)err);
        return 1;
    }
    bool is_master = sh->master == AMPVQ_CORE_SUB;
    esp_amp_queue_cb_t notify = sh->test == TEST_WAKE ? trigger_sent : NULL;
    esp_amp_queue_cb_t cb = sh->test == TEST_WAKE ? wake_remote_isr : NULL;
    err = esp_amp_queue_sub_init(&q, is_master ? notify : cb, is_master ? NULL : &wake_remote, is_master, EV_QUEUE_ID);
    if (err != ESP_OK) {
        printf("FAIL: SUB: queue sub_init returned 0x%x\n", (unsigned)err);
        st(&sh->abort, 1);
        return 1;
    }
    return run_role(sh, &q, is_master);
}

#ifdef EVIDX_THREADS

static int sub_entry(void *arg)
{
    (void)arg;
    return evidx_sub_core();
}

int main(int argc, char **argv)
{
    ev_shared_t cfg;
    int fd = -1;
    void *view = NULL;

    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg_default(&cfg);
    if (parse_args(&cfg, argc - 1, argv + 1) != 0) {
        return 2;
    }
    /* --views one: one mapping for both threads, so that ThreadSanitizer
     * (which tracks addresses) sees the cross-core accesses. */
    if (cfg.one_view) {
        fd = ampvq_posix_shm_create(SHM_SIZE);
        view = fd >= 0 ? ampvq_posix_shm_map(fd, SHM_SIZE, NULL) : NULL;
        if (view == NULL) {
            perror("evidx: shared memory");
            return 2;
        }
        ampvq_posix_attach(AMPVQ_CORE_MAIN, view, SHM_SIZE);
        ampvq_posix_attach(AMPVQ_CORE_SUB, view, SHM_SIZE);
        ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    } else if (ampvq_posix_threads_setup(SHM_SIZE) != 0) {
        perror("evidx: ampvq_posix_threads_setup");
        return 2;
    }
    ampvq_posix_set_subcore_entry(sub_entry, NULL);
    int rc = evidx_main_core(&cfg, "threads");
    int sub_rc = 0;
    int joined = ampvq_posix_join_subcore(cfg.stall_ms * 4u + 10000u, &sub_rc);
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
    ev_shared_t cfg;
    char buf[512];
    char *argv[64];
    int argc = 0;
    const char *args = getenv("AMPVQ_EVIDX_ARGS");

    cfg_default(&cfg);
    snprintf(buf, sizeof(buf), "%s", args != NULL ? args : "");
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t != NULL && argc < 64;
         t = strtok_r(NULL, " \t", &save)) {
        argv[argc++] = t;
    }
    if (parse_args(&cfg, argc, argv) != 0) {
        return 2;
    }
    return evidx_main_core(&cfg, "processes");
}

int subcore_main(void)
{
    return evidx_sub_core();
}

#endif
