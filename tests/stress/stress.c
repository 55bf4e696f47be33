/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The two-core stress test's logic, run by both cores (see stress.h).
 *
 * Everything a core keeps for itself (its queue handle, the remote's
 * expected sequence number and held buffers) lives in a side_t in that
 * core's private memory. What the cores tell each other beyond the queue
 * (the knobs, progress for the watchdog, ready/done/abort) sits in a status
 * block in shared memory, touched only through __atomic builtins because the
 * other core reads and writes it concurrently.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "esp_amp.h"
#include "ampvq/port.h"
#include "ampvq/shm_layout.h"
#include "stress.h"

#define STRESS_QUEUE_ID  0x5351u /* sys_info block of the queue */
#define STRESS_STATUS_ID 0x5353u /* sys_info block of shared_t */
#define STRESS_SW_INTR   SW_INTR_ID_5
#define STRESS_MAGIC     0x53545253u

/* After the last message the remote keeps looking this long, so that a
 * duplicate or phantom message has time to show up. */
#define GRACE_MS 20u
/* Only the first few failures are printed: one broken slot can otherwise
 * produce a million identical lines. */
#define ERRORS_SHOWN 10u
/* Spins between two looks at the slow signals (peer process gone). */
#define SLOW_CHECK_SPINS 1024u

/* Every message starts with this; its smallest size is the header alone. */
typedef struct {
    uint32_t seq;   /* 0, 1, 2, ... in send order */
    uint16_t size;  /* what the sender passed to send_try */
    uint16_t check; /* checksum of seq, size and the payload after the header */
} msg_hdr_t;
_Static_assert(sizeof(msg_hdr_t) == 8, "message header is 8 bytes");
#define HDR_SIZE ((uint32_t)sizeof(msg_hdr_t))

/* Status block in shared memory. The fields each side updates often (sent:
 * master, received: remote) are 64 bytes apart, so that publishing progress
 * does not steal the other side's cache line in the middle of the run. */
typedef struct {
    uint32_t magic; /* STRESS_MAGIC once cfg is complete (release) */
    uint32_t pad0[15];
    stress_cfg_t cfg;
    uint32_t pad1[16];
    uint32_t sent; /* master's progress, for the watchdog */
    uint32_t pad2[15];
    uint32_t received; /* remote's progress, for the watchdog */
    uint32_t pad3[15];
    uint32_t abort;   /* non-zero: a core failed, both stop */
    uint32_t ready[2]; /* per core: queue open, interrupt armed (release) */
    uint32_t done[2];  /* per core: 1 passed, 2 failed (release) */
    uint32_t pad4[11];
    uint64_t elapsed_ns; /* master: first alloc to last buffer back */
} shared_t;

typedef struct {
    stress_cfg_t cfg;
    shared_t *sh; /* this core's view of the status block */
    int core;
    bool master;
    bool peer_is_process; /* processes form, main core: can see the sub die */
    bool peer_gone;       /* ... and has seen it (reported once) */
    bool isr_on;
    bool wake_ready;
    uint32_t rng;
    esp_amp_queue_t q;

    /* Remote only. In interrupt mode the callback owns these; the task
     * reads them only once the callback has finished (complete, acquire)
     * or inside the core's critical section, which masks the callback. */
    uint32_t expected; /* next sequence number = messages accepted */
    uint32_t nheld;
    void *held[STRESS_HOLD_MAX];
    atomic_bool complete; /* callback: the last message is in, or a failure */
    sem_t wake;           /* wake mode: posted by the callback */

    atomic_uint errors;
    atomic_bool failed;
} side_t;

/* ------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint32_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A 32-bit integer hash with full avalanche: sizes and payloads of
 * neighbouring sequence numbers must not look alike. */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* xorshift32: the shuffle orders of sends and frees; state never 0. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* Spinning on a full or empty queue. Yielding now and then matters when
 * the test runs beside others on 2 CPUs: the peer may be waiting for this
 * very CPU. */
static void backoff(uint32_t *spins)
{
    if ((++*spins & 15u) == 0) {
        sched_yield();
    } else {
        cpu_relax();
    }
}

static const char *core_name(int core)
{
    return core == AMPVQ_CORE_MAIN ? "main" : "sub";
}

static const char *mode_name(uint32_t mode)
{
    return mode == STRESS_POLL ? "poll" : mode == STRESS_INTR ? "intr" : "wake";
}

static uint32_t load_u32(uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void fail(side_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a failed check; safe from the interrupt thread. Tells the other
 * core to stop too, so that a failure ends the run instead of a hang. */
static void fail(side_t *s, const char *fmt, ...)
{
    unsigned n = atomic_fetch_add(&s->errors, 1u);

    if (n < ERRORS_SHOWN) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        printf("FAIL: %s core (%s): %s\n", core_name(s->core), s->master ? "master" : "remote", msg);
        fflush(stdout);
    }
    atomic_store(&s->failed, true);
    if (s->sh != NULL) {
        store_u32(&s->sh->abort, 1u);
    }
}

static bool aborted(side_t *s)
{
    return atomic_load(&s->failed) || load_u32(&s->sh->abort) != 0;
}

/* Processes form, main core: a sub core that crashed (or was killed by a
 * sanitizer) would otherwise only be noticed by the watchdog. The child is
 * looked at without reaping it: the launcher still collects its status. */
static bool peer_died(side_t *s)
{
    if (!s->peer_is_process || s->peer_gone) {
        return s->peer_gone;
    }
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) {
        return false;
    }
    /* Read after waitid: a sub core that finished normally set done first. */
    if (__atomic_load_n(&s->sh->done[AMPVQ_CORE_SUB], __ATOMIC_ACQUIRE) != 0) {
        return false;
    }
    s->peer_gone = true;
    fail(s, "the sub-core process %d ended without a verdict (%s %d)", (int)si.si_pid,
         si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
    return true;
}

/* aborted(), plus the slow check every SLOW_CHECK_SPINS calls. */
static bool should_stop(side_t *s, uint32_t spins)
{
    return aborted(s) || (spins % SLOW_CHECK_SPINS == 0 && peer_died(s));
}

/* ------------------------------------------------------------ messages */

/* Both cores derive every message's size from (seed, seq), so the remote
 * knows what the sender chose without trusting anything it received. */
static uint16_t msg_size(const stress_cfg_t *c, uint32_t seq)
{
    if (!c->random_sizes) {
        return (uint16_t)c->item_size;
    }
    uint32_t span = c->item_size - HDR_SIZE + 1u;
    return (uint16_t)(HDR_SIZE + mix32(seq ^ mix32(c->seed)) % span);
}

/* FNV-1a over the sequence number, the size and the payload, folded to 16
 * bits. The payload depends on seq, so a stale or half-written buffer (the
 * previous message of the same slot) fails it. */
static uint16_t checksum(const uint8_t *b, uint32_t seq, uint16_t size)
{
    uint32_t h = 2166136261u;
    h = (h ^ seq) * 16777619u;
    h = (h ^ size) * 16777619u;
    for (uint32_t i = HDR_SIZE; i < size; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return (uint16_t)(h ^ (h >> 16));
}

static void fill(const stress_cfg_t *c, uint8_t *b, uint32_t seq, uint16_t size)
{
    uint32_t x = mix32(seq + c->seed * 0x9e3779b9u);
    for (uint32_t i = HDR_SIZE; i < size; i++) {
        if ((i & 3u) == 0) {
            x = x * 1664525u + 1013904223u;
        }
        b[i] = (uint8_t)(x >> ((i & 3u) * 8u));
    }
    msg_hdr_t h = {.seq = seq, .size = size, .check = checksum(b, seq, size)};
    memcpy(b, &h, sizeof(h));
}

/* ------------------------------------------------------------ remote */

static void give_back(side_t *s, void *buf)
{
    int rc = esp_amp_queue_free_try(&s->q, buf);
    if (rc != ESP_OK) {
        fail(s, "free_try(%p) returned 0x%x after %u messages", buf, (unsigned)rc, s->expected);
    }
}

/* Free one held buffer chosen at random: buffers go back out of order, so
 * the free slot's descriptor names another slot's buffer. */
static void free_one_held(side_t *s)
{
    uint32_t i = next_rand(&s->rng) % s->nheld;
    give_back(s, s->held[i]);
    s->held[i] = s->held[--s->nheld];
}

static void free_all_held(side_t *s)
{
    while (s->nheld > 0) {
        free_one_held(s);
    }
}

/* Check one received message, then poison its header so that the same
 * bytes handed out again fail the sequence check. */
static void check_message(side_t *s, void *buf, uint16_t len)
{
    const stress_cfg_t *c = &s->cfg;
    uint32_t seq = s->expected;

    if (seq >= c->count) {
        fail(s, "a message after the last one (%u sent): length %u", c->count, len);
        return;
    }
    for (uint32_t i = 0; i < s->nheld; i++) {
        if (s->held[i] == buf) {
            fail(s, "message %u: buffer %p handed out again while still held", seq, buf);
            return;
        }
    }
    uint16_t want = msg_size(c, seq);
    if (len != want) {
        fail(s, "message %u: length %u, the sender chose %u", seq, len, want);
        return;
    }
    msg_hdr_t h;
    memcpy(&h, buf, sizeof(h));
    if (h.seq != seq) {
        fail(s, "expected message %u, got %u (length %u)", seq, h.seq, len);
        return;
    }
    if (h.size != len) {
        fail(s, "message %u: header says %u bytes, descriptor %u", seq, h.size, len);
        return;
    }
    uint16_t sum = checksum(buf, seq, len);
    if (h.check != sum) {
        fail(s, "message %u: checksum 0x%04x, computed 0x%04x over %u bytes", seq, h.check, sum, len);
        return;
    }
    msg_hdr_t poison = {.seq = ~h.seq, .size = 0, .check = (uint16_t)~h.check};
    memcpy(buf, &poison, sizeof(poison));
    s->expected = seq + 1u;
    /* In burst mode the master waits on this count, so it is exact. */
    if (c->burst != 0 || (s->expected & 63u) == 0 || s->expected == c->count) {
        store_u32(&s->sh->received, s->expected);
    }
}

/* Receive and check everything the queue holds now. Held buffers go back
 * when it runs dry, and all of them after the last message, so the master
 * always gets its buffers back eventually. @return messages received */
static uint32_t drain(side_t *s)
{
    uint32_t n = 0;

    for (;;) {
        void *buf;
        uint16_t len;
        int rc = esp_amp_queue_recv_try(&s->q, &buf, &len);
        if (rc == ESP_ERR_NOT_FOUND) {
            break;
        }
        if (rc != ESP_OK) {
            fail(s, "recv_try returned 0x%x after %u messages", (unsigned)rc, s->expected);
            break;
        }
        n++;
        check_message(s, buf, len);
        if (s->cfg.hold > 1) {
            if (s->nheld == s->cfg.hold) {
                free_one_held(s);
            }
            s->held[s->nheld++] = buf;
        } else {
            give_back(s, buf);
        }
        if (atomic_load(&s->failed) || s->expected == s->cfg.count) {
            break;
        }
    }
    free_all_held(s);
    return n;
}

/* After the last message: whatever the queue shows within GRACE_MS is a
 * duplicate or a phantom. The critical section masks this core's interrupt,
 * so the check does not race the queue callback (interrupt mode). */
static bool finish_remote(side_t *s)
{
    for (uint32_t t = 0; t < GRACE_MS && !aborted(s); t++) {
        sleep_us(1000);
        uint32_t token = ampvq_port_critical_enter();
        void *buf;
        uint16_t len;
        int rc = esp_amp_queue_recv_try(&s->q, &buf, &len);
        if (rc == ESP_OK) {
            fail(s, "a message after the last one (%u sent): length %u", s->cfg.count, len);
            esp_amp_queue_free_try(&s->q, buf);
        } else if (rc != ESP_ERR_NOT_FOUND) {
            fail(s, "recv_try after the last message returned 0x%x", (unsigned)rc);
        }
        ampvq_port_critical_exit(token);
    }
    uint32_t token = ampvq_port_critical_enter();
    uint32_t got = s->expected;
    ampvq_port_critical_exit(token);
    if (got != s->cfg.count && !atomic_load(&s->failed)) {
        fail(s, "stopped after %u of %u messages: the other core failed", got, s->cfg.count);
    }
    return !atomic_load(&s->failed);
}

static bool run_remote_poll(side_t *s)
{
    uint32_t spins = 0;

    while (s->expected < s->cfg.count && !atomic_load(&s->failed)) {
        if (drain(s) == 0) {
            backoff(&spins);
            if (should_stop(s, spins)) {
                break;
            }
        }
    }
    return finish_remote(s);
}

/* Interrupt mode: the queue callback, on this core's interrupt thread.
 * Triggers coalesce, so one run drains everything there is; a message sent
 * after the drain saw "empty" raised its trigger after it was published,
 * which causes another run. */
static int consume_isr(void *arg)
{
    side_t *s = arg;

    /* After a failure the rest would only repeat it. */
    if (!atomic_load(&s->failed)) {
        drain(s);
    }
    if (s->expected >= s->cfg.count || atomic_load(&s->failed)) {
        /* Pairs with the acquire in run_remote_intr(): the task may read
         * what this callback wrote. */
        atomic_store_explicit(&s->complete, true, memory_order_release);
    }
    return 0;
}

static bool run_remote_intr(side_t *s)
{
    /* The task never touches the queue: if an interrupt were lost, nothing
     * would drain the queue and the watchdog would report it. */
    for (uint32_t i = 1; !atomic_load_explicit(&s->complete, memory_order_acquire); i++) {
        if (aborted(s) || (i % 64u == 0 && peer_died(s))) {
            break;
        }
        sleep_us(1000);
    }
    return finish_remote(s);
}

/* Wake mode: the callback only posts; the task consumes. */
static int wake_isr(void *arg)
{
    side_t *s = arg;
    sem_post(&s->wake);
    return 0;
}

static bool run_remote_wake(side_t *s)
{
    for (uint32_t i = 1; s->expected < s->cfg.count && !aborted(s); i++) {
        if (i % 64u == 0 && peer_died(s)) {
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_nsec -= 1000000000;
            ts.tv_sec++;
        }
        if (sem_timedwait(&s->wake, &ts) != 0) {
            /* Deliberately no drain on a time-out: only a wake-up may lead
             * to receiving, so a lost interrupt shows as a hang. */
            if (errno != ETIMEDOUT && errno != EINTR) {
                fail(s, "sem_timedwait: %s", strerror(errno));
            }
            continue;
        }
        drain(s);
    }
    return finish_remote(s);
}

/* ------------------------------------------------------------ master */

static int notify_peer(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(STRESS_SW_INTR);
    return 0;
}

static bool wait_ready(side_t *s)
{
    int peer = s->core ^ 1;
    for (uint32_t i = 1; __atomic_load_n(&s->sh->ready[peer], __ATOMIC_ACQUIRE) == 0; i++) {
        if (aborted(s) || (i % 64u == 0 && peer_died(s))) {
            return false;
        }
        sleep_us(100);
    }
    return true;
}

/* Burst mode: let the remote drain everything and go idle, so that the
 * next burst must wake it again. A notify that is lost (or a trigger that
 * coalesces into a dispatch that has already looked) then leaves messages
 * nobody receives, and the run hangs into the watchdog instead of being
 * rescued by the next send's interrupt. */
static bool wait_caught_up(side_t *s, uint32_t sent)
{
    uint32_t spins = 0;
    while (load_u32(&s->sh->received) != sent) {
        backoff(&spins);
        if (should_stop(s, spins)) {
            return false;
        }
    }
    return true;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

/* After the last send: every buffer must come back, each exactly once. */
static bool reclaim(side_t *s)
{
    const stress_cfg_t *c = &s->cfg;
    uint32_t total = pow2_at_least(c->qlen);
    void **got = calloc(total, sizeof(*got));
    uint32_t n = 0;
    uint32_t spins = 0;

    if (got == NULL) {
        fail(s, "out of memory");
        return false;
    }
    while (n < total) {
        int rc = esp_amp_queue_alloc_try(&s->q, &got[n], (uint16_t)c->item_size);
        if (rc == ESP_OK) {
            n++;
            continue;
        }
        if (rc != ESP_ERR_NOT_FOUND) {
            fail(s, "alloc_try while taking the buffers back returned 0x%x", (unsigned)rc);
            break;
        }
        backoff(&spins);
        if (should_stop(s, spins)) {
            break;
        }
    }
    if (n == total) {
        qsort(got, n, sizeof(*got), cmp_ptr);
        for (uint32_t i = 1; i < n; i++) {
            if (got[i] == got[i - 1]) {
                fail(s, "buffer %p came back twice", got[i]);
                break;
            }
        }
        void *extra;
        int rc = esp_amp_queue_alloc_try(&s->q, &extra, (uint16_t)c->item_size);
        if (rc != ESP_ERR_NOT_FOUND) {
            fail(s, "alloc_try with all %u buffers taken returned 0x%x", total, (unsigned)rc);
        }
    } else if (!atomic_load(&s->failed)) {
        fail(s, "only %u of %u buffers came back", n, total);
    }
    free(got);
    return !atomic_load(&s->failed);
}

static bool run_master(side_t *s)
{
    const stress_cfg_t *c = &s->cfg;
    void *slot[STRESS_BATCH_MAX];
    uint32_t n = 0;
    uint32_t sent = 0;
    uint32_t published = 0;
    uint32_t spins = 0;
    uint32_t burst_left = c->burst != 0 ? 0 : UINT32_MAX; /* messages until the next wait */

    if (!wait_ready(s)) {
        return false;
    }
    uint64_t t0 = now_ns();
    while (sent < c->count) {
        if (c->burst != 0 && burst_left == 0) {
            published = sent;
            store_u32(&s->sh->sent, sent);
            if (!wait_caught_up(s, sent)) {
                return false;
            }
            burst_left = 1u + next_rand(&s->rng) % c->burst;
        }
        /* Take what is free, up to the batch; wait only for the first. */
        while (n < c->batch && n < c->count - sent && n < burst_left) {
            int rc = esp_amp_queue_alloc_try(&s->q, &slot[n], (uint16_t)c->item_size);
            if (rc == ESP_OK) {
                n++;
                continue;
            }
            if (rc != ESP_ERR_NOT_FOUND) {
                fail(s, "alloc_try returned 0x%x after %u messages", (unsigned)rc, sent);
                return false;
            }
            if (n > 0) {
                break;
            }
            backoff(&spins);
            if (should_stop(s, spins)) {
                return false;
            }
        }
        /* Send them in random order: the queue must not care which of the
         * allocated buffers goes first. */
        while (n > 0) {
            uint32_t i = n == 1 ? 0 : next_rand(&s->rng) % n;
            uint8_t *b = slot[i];
            slot[i] = slot[--n];
            uint16_t size = msg_size(c, sent);
            fill(c, b, sent, size);
            int rc = esp_amp_queue_send_try(&s->q, b, size);
            if (rc != ESP_OK) {
                fail(s, "send_try of message %u returned 0x%x", sent, (unsigned)rc);
                return false;
            }
            sent++;
            if (c->burst != 0) {
                burst_left--;
            }
        }
        if (sent - published >= 64u || sent == c->count) {
            published = sent;
            store_u32(&s->sh->sent, sent);
            if (aborted(s)) {
                return false;
            }
        }
    }
    bool ok = reclaim(s);
    __atomic_store_n(&s->sh->elapsed_ns, now_ns() - t0, __ATOMIC_RELAXED);
    return ok;
}

/* ------------------------------------------------------------ set-up */

static side_t *side_new(const stress_cfg_t *cfg, int core)
{
    side_t *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->cfg = *cfg;
        s->core = core;
        s->master = (int)cfg->master == core;
        s->rng = mix32(cfg->seed ^ (0x51u + (uint32_t)core)) | 1u;
        atomic_init(&s->complete, false);
        atomic_init(&s->errors, 0u);
        atomic_init(&s->failed, false);
    }
    return s;
}

static bool open_queue(side_t *s)
{
    const stress_cfg_t *c = &s->cfg;
    esp_amp_queue_cb_t cb = NULL;
    int rc;

    if (c->mode != STRESS_POLL) {
        cb = s->master ? notify_peer : c->mode == STRESS_INTR ? consume_isr : wake_isr;
    }
    if (!s->master && c->mode == STRESS_WAKE) {
        if (sem_init(&s->wake, 0, 0) != 0) {
            fail(s, "sem_init: %s", strerror(errno));
            return false;
        }
        s->wake_ready = true;
    }
    if (s->core == AMPVQ_CORE_MAIN) {
        rc = esp_amp_queue_main_init(&s->q, (uint16_t)c->qlen, (uint16_t)c->item_size, cb, s, s->master,
                                     STRESS_QUEUE_ID);
    } else {
        rc = esp_amp_queue_sub_init(&s->q, cb, s, s->master, STRESS_QUEUE_ID);
    }
    if (rc != ESP_OK) {
        fail(s, "queue init returned 0x%x", (unsigned)rc);
        return false;
    }
    if (!s->master && c->mode != STRESS_POLL) {
        rc = esp_amp_queue_intr_enable(&s->q, STRESS_SW_INTR);
        if (rc != ESP_OK) {
            fail(s, "esp_amp_queue_intr_enable returned 0x%x", (unsigned)rc);
            return false;
        }
        s->isr_on = true;
    }
    /* Pairs with the acquire in wait_ready(): the master starts its clock
     * only once this side can receive. */
    __atomic_store_n(&s->sh->ready[s->core], 1u, __ATOMIC_RELEASE);
    return true;
}

/* Stop the callback before the side_t it uses goes away: when
 * delete_handler returns the handler is not running and will not run. */
static void close_queue(side_t *s)
{
    if (s->isr_on) {
        esp_amp_sw_intr_delete_handler(STRESS_SW_INTR, s->cfg.mode == STRESS_INTR ? consume_isr : wake_isr);
        s->isr_on = false;
    }
    if (s->wake_ready) {
        sem_destroy(&s->wake);
        s->wake_ready = false;
    }
}

static bool run_role(side_t *s)
{
    if (s->master) {
        return run_master(s);
    }
    switch (s->cfg.mode) {
    case STRESS_INTR:
        return run_remote_intr(s);
    case STRESS_WAKE:
        return run_remote_wake(s);
    default:
        return run_remote_poll(s);
    }
}

/* ------------------------------------------------------------ watchdog */

typedef struct {
    side_t *s;
    uint32_t timeout_s;
    uint32_t stall_s;
    bool started;
    bool stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} watchdog_t;

/*
 * A hang (lost interrupt, a slot that never comes back) must fail with a
 * message, not stall CI until ctest's own time-out kills it silently. A
 * hang shows as no progress, so that is what fails quickly (stall_s); the
 * bound on the whole run (timeout_s) is generous, so that a slow but
 * healthy run on a busy machine is not mistaken for a hang.
 */
static void *watchdog_main(void *arg)
{
    watchdog_t *w = arg;
    shared_t *sh = w->s->sh;
    uint64_t start = now_ns();
    uint64_t last_move = start;
    uint32_t last_sent = 0;
    uint32_t last_received = 0;
    const char *why = NULL;

    pthread_mutex_lock(&w->lock);
    while (!w->stop && why == NULL) {
        struct timespec tick;
        clock_gettime(CLOCK_MONOTONIC, &tick);
        tick.tv_sec += 1;
        pthread_cond_timedwait(&w->cond, &w->lock, &tick);
        uint64_t now = now_ns();
        uint32_t sent = load_u32(&sh->sent);
        uint32_t received = load_u32(&sh->received);
        if (sent != last_sent || received != last_received) {
            last_sent = sent;
            last_received = received;
            last_move = now;
        }
        if (now - last_move >= (uint64_t)w->stall_s * 1000000000u) {
            why = "no message moved";
        } else if (now - start >= (uint64_t)w->timeout_s * 1000000000u) {
            why = "the run did not finish";
        }
    }
    bool expired = !w->stop;
    pthread_mutex_unlock(&w->lock);
    if (expired) {
        printf("FAIL: watchdog: %s core: %s (stall limit %u s, run limit %u s; %s, master %s): sent %u, "
               "received %u of %u; ready main=%u sub=%u; done main=%u sub=%u\n",
               core_name(w->s->core), why, w->stall_s, w->timeout_s, mode_name(w->s->cfg.mode),
               core_name((int)w->s->cfg.master), load_u32(&sh->sent), load_u32(&sh->received), w->s->cfg.count,
               load_u32(&sh->ready[0]), load_u32(&sh->ready[1]), load_u32(&sh->done[0]), load_u32(&sh->done[1]));
        fflush(stdout);
        _exit(3);
    }
    return NULL;
}

static void watchdog_start(watchdog_t *w, side_t *s, uint32_t timeout_s, uint32_t stall_s)
{
    pthread_condattr_t a;

    memset(w, 0, sizeof(*w));
    w->s = s;
    w->timeout_s = timeout_s;
    w->stall_s = stall_s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &a);
    pthread_condattr_destroy(&a);
    w->started = pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
    if (!w->started) {
        fail(s, "cannot start the watchdog");
    }
}

static void watchdog_stop(watchdog_t *w)
{
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

/* ------------------------------------------------------------ entry points */

int stress_main_core(const stress_cfg_t *cfg, const char *form)
{
    side_t *s = side_new(cfg, AMPVQ_CORE_MAIN);
    if (s == NULL) {
        printf("FAIL: main core: out of memory\n");
        return 1;
    }
    s->peer_is_process = strcmp(form, "processes") == 0;
    int rc = esp_amp_init();
    shared_t *sh = rc == ESP_OK ? esp_amp_sys_info_alloc(STRESS_STATUS_ID, sizeof(shared_t)) : NULL;
    if (sh == NULL) {
        printf("FAIL: main core: esp_amp_init returned 0x%x, status block %p\n", (unsigned)rc, (void *)sh);
        free(s);
        return 1;
    }
    memcpy(&sh->cfg, cfg, sizeof(*cfg));
    /* Pairs with the acquire in stress_sub_core(): the knobs are complete. */
    __atomic_store_n(&sh->magic, STRESS_MAGIC, __ATOMIC_RELEASE);
    s->sh = sh;

    watchdog_t wd;
    watchdog_start(&wd, s, cfg->timeout_s, cfg->stall_s);
    bool ok = !atomic_load(&s->failed) && open_queue(s);
    bool sub_started = false;
    if (ok) {
        rc = esp_amp_start_subcore();
        sub_started = rc == ESP_OK;
        if (!sub_started) {
            fail(s, "esp_amp_start_subcore returned 0x%x", (unsigned)rc);
        }
    }
    ok = sub_started && run_role(s);

    /* The verdict needs both cores: wait for the sub core's (it stops early
     * if this core failed, since abort is set). */
    uint32_t sub_done = 0;
    for (uint32_t i = 1; sub_started; i++) {
        sub_done = __atomic_load_n(&sh->done[AMPVQ_CORE_SUB], __ATOMIC_ACQUIRE);
        if (sub_done != 0 || (i % 64u == 0 && peer_died(s))) {
            break;
        }
        sleep_us(1000);
    }
    close_queue(s);
    watchdog_stop(&wd);
    ok = ok && sub_done == 1 && atomic_load(&s->errors) == 0 && load_u32(&sh->abort) == 0;

    uint64_t ns = __atomic_load_n(&sh->elapsed_ns, __ATOMIC_RELAXED);
    double secs = (double)ns / 1e9;
    const char *m = core_name((int)cfg->master);
    const char *r = core_name((int)cfg->master ^ 1);
    printf("stress: %s: %s %s %s->%s qlen=%u item=%u sizes=%s hold=%u batch=%u burst=%u seed=%u%s: ",
           ok ? "PASS" : "FAIL", form, mode_name(cfg->mode), m, r, cfg->qlen, cfg->item_size,
           cfg->random_sizes ? "random" : "fixed", cfg->hold, cfg->batch, cfg->burst, cfg->seed,
           cfg->one_view ? " views=one" : "");
    if (ok) {
        printf("%u messages in %.3f s, %.0f msgs/s\n", cfg->count, secs, secs > 0 ? cfg->count / secs : 0.0);
    } else {
        printf("sent %u, received %u of %u; sub core %s\n", load_u32(&sh->sent), load_u32(&sh->received),
               cfg->count, sub_done == 1 ? "passed" : sub_done == 2 ? "failed" : "gave no verdict");
    }
    free(s);
    return ok ? 0 : 1;
}

int stress_sub_core(bool own_watchdog)
{
    int rc = esp_amp_init();
    uint16_t size = 0;
    shared_t *sh = rc == ESP_OK ? esp_amp_sys_info_get(STRESS_STATUS_ID, &size) : NULL;

    /* Pairs with the release in stress_main_core(). */
    if (sh == NULL || size < sizeof(shared_t) || __atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != STRESS_MAGIC) {
        printf("FAIL: sub core: esp_amp_init returned 0x%x, status block %p (%u bytes)\n", (unsigned)rc, (void *)sh,
               size);
        if (sh != NULL && size >= sizeof(shared_t)) {
            store_u32(&sh->abort, 1u);
        }
        return 1;
    }
    stress_cfg_t cfg;
    memcpy(&cfg, &sh->cfg, sizeof(cfg));
    side_t *s = side_new(&cfg, AMPVQ_CORE_SUB);
    if (s == NULL) {
        store_u32(&sh->abort, 1u);
        __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], 2u, __ATOMIC_RELEASE);
        return 1;
    }
    s->sh = sh;

    watchdog_t wd;
    if (own_watchdog) {
        /* Longer than the main core's, which reports first if both hang. */
        watchdog_start(&wd, s, cfg.timeout_s + 10u, cfg.stall_s + 10u);
    }
    bool ok = !atomic_load(&s->failed) && open_queue(s) && run_role(s);
    close_queue(s);
    ok = ok && atomic_load(&s->errors) == 0;
    if (own_watchdog) {
        watchdog_stop(&wd);
    }
    /* Pairs with the acquire in stress_main_core(): elapsed_ns and the
     * progress counters are final. */
    __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], ok ? 1u : 2u, __ATOMIC_RELEASE);
    free(s);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------ knobs */

uint32_t stress_shm_bytes(const stress_cfg_t *cfg)
{
    uint64_t len = pow2_at_least(cfg->qlen);
    uint64_t item = (cfg->item_size + 3u) & ~3u;
    /* Region header, directory, event words and the status block fit in
     * 64 KiB with room to spare; then the queue's block. */
    uint64_t bytes = 65536u + 16u + len * 8u + len * item;
    bytes = (bytes + 4095u) & ~(uint64_t)4095u;
    return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

void stress_cfg_default(stress_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->count = 1000000u;
    cfg->qlen = 64u;
    cfg->item_size = 64u;
    cfg->mode = STRESS_POLL;
    cfg->master = AMPVQ_CORE_MAIN;
    cfg->random_sizes = 1u;
    cfg->seed = 1u;
    cfg->hold = 1u;
    cfg->batch = 1u;
    cfg->timeout_s = 600u;
    cfg->stall_s = 15u;
    cfg->one_view = 0u;
}

void stress_usage(const char *prog)
{
    printf("usage: %s [--knob value | --knob=value]...\n"
           "  --count N        messages (default 1000000)\n"
           "  --qlen N         queue length 1..32768, rounded up to a power of two (64)\n"
           "  --item N         item size 8..65532 (64)\n"
           "  --mode M         poll: remote spins on recv_try\n"
           "                   intr: the queue callback consumes (interrupt thread)\n"
           "                   wake: the callback posts a semaphore, a task consumes (poll)\n"
           "  --master C       main | sub: which core sends (main)\n"
           "  --sizes S        random (8..item bytes) | fixed (item bytes) (random)\n"
           "  --seed N         sizes, payloads, shuffles (1)\n"
           "  --hold N         remote holds up to N buffers, frees them in random order (1)\n"
           "  --batch N        master allocs up to N buffers, sends them in random order (1)\n"
           "  --burst N        0: stream; N: bursts of 1..N messages, each after the remote\n"
           "                   has received all before (it goes idle: a lost interrupt hangs) (0)\n"
           "  --timeout S      watchdog: the whole run may take S seconds (600)\n"
           "  --stall S        watchdog: fail when no message moved for S seconds (15)\n"
           "  --views V        threads form: split (two mappings) | one (one mapping, so\n"
           "                   ThreadSanitizer sees both cores' accesses) (split)\n"
           "Processes form: the same knobs in the environment variable AMPVQ_STRESS_ARGS.\n",
           prog);
}

static int parse_u32(const char *key, const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < min || x > max) {
        printf("stress: --%s wants a number in %u..%u, not '%s'\n", key, min, max, v);
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

static int parse_word(const char *key, const char *v, const char *a, const char *b, uint32_t va, uint32_t vb,
                      uint32_t *out)
{
    if (strcmp(v, a) == 0) {
        *out = va;
    } else if (strcmp(v, b) == 0) {
        *out = vb;
    } else {
        printf("stress: --%s wants %s or %s, not '%s'\n", key, a, b, v);
        return -1;
    }
    return 0;
}

static int set_knob(stress_cfg_t *c, const char *key, const char *v)
{
    if (strcmp(key, "count") == 0) {
        return parse_u32(key, v, 1u, UINT32_MAX, &c->count);
    }
    if (strcmp(key, "qlen") == 0) {
        return parse_u32(key, v, 1u, AMPVQ_QUEUE_LEN_MAX, &c->qlen);
    }
    if (strcmp(key, "item") == 0) {
        return parse_u32(key, v, HDR_SIZE, AMPVQ_QUEUE_ITEM_SIZE_MAX, &c->item_size);
    }
    if (strcmp(key, "seed") == 0) {
        return parse_u32(key, v, 0u, UINT32_MAX, &c->seed);
    }
    if (strcmp(key, "hold") == 0) {
        return parse_u32(key, v, 1u, STRESS_HOLD_MAX, &c->hold);
    }
    if (strcmp(key, "batch") == 0) {
        return parse_u32(key, v, 1u, STRESS_BATCH_MAX, &c->batch);
    }
    if (strcmp(key, "burst") == 0) {
        return parse_u32(key, v, 0u, 1000000u, &c->burst);
    }
    if (strcmp(key, "timeout") == 0) {
        return parse_u32(key, v, 1u, 86400u, &c->timeout_s);
    }
    if (strcmp(key, "stall") == 0) {
        return parse_u32(key, v, 1u, 86400u, &c->stall_s);
    }
    if (strcmp(key, "master") == 0) {
        return parse_word(key, v, "main", "sub", AMPVQ_CORE_MAIN, AMPVQ_CORE_SUB, &c->master);
    }
    if (strcmp(key, "sizes") == 0) {
        return parse_word(key, v, "random", "fixed", 1u, 0u, &c->random_sizes);
    }
    if (strcmp(key, "views") == 0) {
        return parse_word(key, v, "split", "one", 0u, 1u, &c->one_view);
    }
    if (strcmp(key, "mode") == 0) {
        if (strcmp(v, "wake") == 0) {
            c->mode = STRESS_WAKE;
            return 0;
        }
        return parse_word(key, v, "poll", "intr", STRESS_POLL, STRESS_INTR, &c->mode);
    }
    printf("stress: unknown knob --%s (try --help)\n", key);
    return -1;
}

int stress_parse_args(stress_cfg_t *cfg, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char key[32];
        const char *val;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            stress_usage(argv[0]);
            return 1;
        }
        const char *eq = strchr(arg, '=');
        size_t klen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) != 0 || klen < 3 || klen - 2 >= sizeof(key)) {
            printf("stress: unexpected argument '%s' (try --help)\n", arg);
            return -1;
        }
        memcpy(key, arg + 2, klen - 2);
        key[klen - 2] = '\0';
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            printf("stress: --%s needs a value\n", key);
            return -1;
        }
        if (set_knob(cfg, key, val) != 0) {
            return -1;
        }
    }
    return 0;
}

int stress_parse_string(stress_cfg_t *cfg, const char *args)
{
    char *argv[64];
    int argc = 0;

    if (args == NULL || *args == '\0') {
        return 0;
    }
    char *copy = strdup(args);
    if (copy == NULL) {
        return -1;
    }
    char *save = NULL;
    argv[argc++] = "AMPVQ_STRESS_ARGS";
    for (char *tok = strtok_r(copy, " \t\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\n", &save)) {
        if (argc == (int)(sizeof(argv) / sizeof(argv[0]))) {
            printf("stress: too many words in AMPVQ_STRESS_ARGS\n");
            free(copy);
            return -1;
        }
        argv[argc++] = tok;
    }
    int rc = stress_parse_args(cfg, argc, argv);
    free(copy);
    return rc;
}
