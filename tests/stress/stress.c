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
#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"
#include "stress.h"

#define STRESS_QUEUE_ID  0x5351u /* sys_info block of queue 0; queue i is +i */
#define STRESS_STATUS_ID 0x5350u /* sys_info block of shared_t */
#define STRESS_SW_INTR   SW_INTR_ID_5 /* queue i: this + (i's rank in its direction) % intr_ids */
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

/* One queue's part of the status block. The fields each side updates often
 * (sent: master, received: remote) are 64 bytes apart, so that publishing
 * progress does not steal the other side's cache line mid-run. The figures
 * below them are written once, before the writer's core sets done. */
typedef struct {
    uint32_t sent; /* master's progress, for the watchdog */
    uint32_t pad0[15];
    uint32_t received; /* remote's progress, for the watchdog */
    uint32_t pad1[15];
    uint32_t ready[2];    /* per core: queue open, interrupt armed (release) */
    uint32_t bp_waits;    /* master: times it found the queue full */
    uint32_t isr_runs;    /* remote, intr mode: callback runs */
    uint32_t empty_runs;  /* ... that found nothing to receive */
    uint32_t pauses;      /* remote: stalls taken on purpose */
    uint32_t pad2[2];
    uint64_t elapsed_ns;  /* master: first alloc to last buffer back */
    uint64_t max_gap_ns;  /* remote: longest time between two messages, pauses excluded */
    uint64_t max_wait_ns; /* master, burst mode: longest wait for a burst to be received */
    uint64_t pad3;
} lane_t;

/* Status block in shared memory. */
typedef struct {
    uint32_t magic; /* STRESS_MAGIC once cfg is complete (release) */
    uint32_t pad0[15];
    stress_cfg_t cfg;
    uint32_t pad1[16];
    uint32_t abort;   /* non-zero: a core failed, both stop */
    uint32_t done[2]; /* per core: 1 passed, 2 failed (release) */
    uint32_t pad4[13];
    /* Per core, from the posix port's fault hooks (each process counts its
     * own core's), written before done. */
    uint64_t rings[2];
    uint64_t dropped[2];
    uint64_t rechecks[2];
    uint64_t spurious[2];
    lane_t lane[STRESS_QUEUES_MAX];
} shared_t;

/* One core's side of one queue. */
typedef struct {
    stress_cfg_t cfg; /* the run's knobs, with this queue's seed and master */
    shared_t *sh;     /* this core's view of the status block */
    lane_t *ln;       /* this queue's part of it */
    uint32_t qi;      /* queue index */
    uint16_t queue_id;
    esp_amp_sw_intr_id_t intr_id;
    int core;
    bool master;
    bool measure;     /* take the timing figures (fault runs only: clock reads cost) */
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
    uint32_t isr_runs;    /* callback runs (interrupt context, like expected) */
    uint32_t empty_runs;  /* ... with nothing to receive */
    uint32_t pauses;
    uint64_t last_rx_ns;
    uint64_t max_gap_ns;

    /* Master only. */
    uint32_t bp_waits;
    uint64_t max_wait_ns;

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
        printf("FAIL: %s core (%s of queue %u): %s\n", core_name(s->core), s->master ? "master" : "remote", s->qi,
               msg);
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
    if (s->measure) {
        uint64_t t = now_ns();
        if (s->last_rx_ns != 0 && t - s->last_rx_ns > s->max_gap_ns) {
            s->max_gap_ns = t - s->last_rx_ns;
        }
        s->last_rx_ns = t;
    }
    /* In burst mode the master waits on this count, so it is exact. */
    if (c->burst != 0 || (s->expected & 63u) == 0 || s->expected == c->count) {
        store_u32(&s->ln->received, s->expected);
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
        if (s->cfg.pause_every != 0 && s->expected % s->cfg.pause_every == 0) {
            /* The remote stops consuming (still holding what it has), as a
             * core busy elsewhere would: the master must meet a full queue
             * and wait, not overwrite. Not counted as a delivery gap. */
            s->pauses++;
            sleep_us(s->cfg.pause_ms * 1000u);
            s->last_rx_ns = s->measure ? now_ns() : 0;
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

    /* After a failure the rest would only repeat it. A run that finds
     * nothing (a spurious interrupt, or a trigger of another queue on the
     * same line) must be harmless; it is counted to show it happened. */
    s->isr_runs++;
    if (!atomic_load(&s->failed) && drain(s) == 0) {
        s->empty_runs++;
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
    side_t *s = arg;
    /* --triggers N: a burst of triggers per send; all but the first
     * coalesce into the pending bit the first one set. */
    uint32_t n = s->cfg.triggers > 1u ? s->cfg.triggers : 1u;
    for (uint32_t i = 0; i < n; i++) {
        esp_amp_sw_intr_trigger(s->intr_id);
    }
    return 0;
}

static bool wait_ready(side_t *s)
{
    int peer = s->core ^ 1;
    for (uint32_t i = 1; __atomic_load_n(&s->ln->ready[peer], __ATOMIC_ACQUIRE) == 0; i++) {
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
    uint64_t t0 = s->measure ? now_ns() : 0;
    while (load_u32(&s->ln->received) != sent) {
        backoff(&spins);
        if (should_stop(s, spins)) {
            return false;
        }
    }
    if (s->measure && now_ns() - t0 > s->max_wait_ns) {
        s->max_wait_ns = now_ns() - t0;
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
    bool full = false; /* in a back-pressure wait: count each wait once */

    if (!wait_ready(s)) {
        return false;
    }
    uint64_t t0 = now_ns();
    while (sent < c->count) {
        if (c->burst != 0 && burst_left == 0) {
            published = sent;
            store_u32(&s->ln->sent, sent);
            if (!wait_caught_up(s, sent)) {
                return false;
            }
            if (c->idle_us != 0 && sent != 0) {
                /* Let the remote's interrupt thread fall asleep: the next
                 * burst's ring is then the only thing that would wake it. */
                sleep_us(c->idle_us);
            }
            burst_left = 1u + next_rand(&s->rng) % c->burst;
        }
        /* Take what is free, up to the batch; wait only for the first. */
        while (n < c->batch && n < c->count - sent && n < burst_left) {
            int rc = esp_amp_queue_alloc_try(&s->q, &slot[n], (uint16_t)c->item_size);
            if (rc == ESP_OK) {
                n++;
                full = false;
                continue;
            }
            if (rc != ESP_ERR_NOT_FOUND) {
                fail(s, "alloc_try returned 0x%x after %u messages", (unsigned)rc, sent);
                return false;
            }
            if (n > 0) {
                break;
            }
            /* Back-pressure: the queue is full, the remote has not freed. */
            if (!full) {
                full = true;
                s->bp_waits++;
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
            store_u32(&s->ln->sent, sent);
            if (aborted(s)) {
                return false;
            }
        }
    }
    bool ok = reclaim(s);
    __atomic_store_n(&s->ln->elapsed_ns, now_ns() - t0, __ATOMIC_RELAXED);
    return ok;
}

/* ------------------------------------------------------------ set-up */

/* Queue qi's master: cfg->master, or the other core for odd queues when
 * both directions run at once. */
static int queue_master(const stress_cfg_t *cfg, uint32_t qi)
{
    return (int)cfg->master ^ (cfg->both_dirs && (qi & 1u) ? 1 : 0);
}

/* Queue qi's software interrupt: the queues of one direction take the ids
 * in turn, so with fewer ids than queues several queues share one line on
 * the same receiving core (and each id is used in both directions). */
static esp_amp_sw_intr_id_t queue_intr(const stress_cfg_t *cfg, uint32_t qi)
{
    uint32_t rank = cfg->both_dirs ? qi >> 1 : qi;
    return (esp_amp_sw_intr_id_t)(STRESS_SW_INTR + rank % cfg->intr_ids);
}

static bool faults_on(const stress_cfg_t *cfg)
{
    return cfg->drop_pct != 0 || cfg->spurious_us != 0 || cfg->pause_every != 0 || cfg->max_wait_ms != 0 ||
           cfg->idle_us != 0 || cfg->triggers > 1u || cfg->queues > 1u;
}

static side_t *side_new(const stress_cfg_t *cfg, int core, uint32_t qi)
{
    side_t *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->cfg = *cfg;
        /* Each queue its own sizes and payloads; both cores agree. */
        s->cfg.seed = cfg->seed + qi * 0x10001u;
        s->cfg.master = (uint32_t)queue_master(cfg, qi);
        s->qi = qi;
        s->queue_id = (uint16_t)(STRESS_QUEUE_ID + qi);
        s->intr_id = queue_intr(cfg, qi);
        s->core = core;
        s->master = (int)s->cfg.master == core;
        s->measure = faults_on(cfg);
        s->rng = mix32(s->cfg.seed ^ (0x51u + (uint32_t)core)) | 1u;
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
        rc = esp_amp_queue_main_init_ex(&s->q, (uint16_t)c->qlen, (uint16_t)c->item_size, cb, s, s->master,
                                        s->queue_id, c->event_idx ? ESP_AMP_QUEUE_F_EVENT_IDX : 0u);
    } else {
        rc = esp_amp_queue_sub_init(&s->q, cb, s, s->master, s->queue_id);
    }
    if (rc != ESP_OK) {
        fail(s, "queue init returned 0x%x", (unsigned)rc);
        return false;
    }
    if (!s->master && c->mode != STRESS_POLL) {
        rc = esp_amp_queue_intr_enable(&s->q, s->intr_id);
        if (rc != ESP_OK) {
            fail(s, "esp_amp_queue_intr_enable returned 0x%x", (unsigned)rc);
            return false;
        }
        s->isr_on = true;
    }
    /* Pairs with the acquire in wait_ready(): the master starts its clock
     * only once this side can receive. */
    __atomic_store_n(&s->ln->ready[s->core], 1u, __ATOMIC_RELEASE);
    return true;
}

/* Stop the callback before the side_t it uses goes away: when
 * delete_handler returns the handler is not running and will not run. */
static void close_queue(side_t *s)
{
    if (s->isr_on) {
        esp_amp_sw_intr_delete_handler(s->intr_id, s->cfg.mode == STRESS_INTR ? consume_isr : wake_isr);
        s->isr_on = false;
    }
    if (s->wake_ready) {
        sem_destroy(&s->wake);
        s->wake_ready = false;
    }
}

/* This side's figures into its lane; after close_queue(), so the callback
 * no longer writes them. */
static void publish_figures(side_t *s)
{
    lane_t *ln = s->ln;
    if (s->master) {
        ln->bp_waits = s->bp_waits;
        ln->max_wait_ns = s->max_wait_ns;
    } else {
        uint32_t token = ampvq_port_critical_enter();
        ln->isr_runs = s->isr_runs;
        ln->empty_runs = s->empty_runs;
        ln->pauses = s->pauses;
        ln->max_gap_ns = s->max_gap_ns;
        ampvq_port_critical_exit(token);
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

/* ------------------------------------------------------------ one core */

/* A core's part of the run: one side per queue, and the spurious-interrupt
 * injector when asked for. */
typedef struct {
    stress_cfg_t cfg;
    shared_t *sh;
    int core;
    uint32_t nsides;
    side_t *side[STRESS_QUEUES_MAX];
    bool ok[STRESS_QUEUES_MAX];
    pthread_t thread[STRESS_QUEUES_MAX];

    /* Spurious interrupts, from a thread that is neither the core's task
     * nor its interrupt thread. */
    pthread_t injector;
    bool injector_on;
    atomic_bool injector_stop;
    uint64_t injected;
} core_t;

static core_t *core_new(const stress_cfg_t *cfg, int core, shared_t *sh)
{
    core_t *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    k->cfg = *cfg;
    k->sh = sh;
    k->core = core;
    for (uint32_t qi = 0; qi < cfg->queues; qi++) {
        side_t *s = side_new(cfg, core, qi);
        if (s == NULL) {
            for (uint32_t i = 0; i < k->nsides; i++) {
                free(k->side[i]);
            }
            free(k);
            return NULL;
        }
        s->sh = sh;
        s->ln = &sh->lane[qi];
        k->side[k->nsides++] = s;
    }
    return k;
}

static void core_free(core_t *k)
{
    for (uint32_t i = 0; i < k->nsides; i++) {
        free(k->side[i]);
    }
    free(k);
}

static bool core_failed(core_t *k)
{
    for (uint32_t i = 0; i < k->nsides; i++) {
        if (atomic_load(&k->side[i]->failed)) {
            return true;
        }
    }
    return false;
}

static unsigned core_errors(core_t *k)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < k->nsides; i++) {
        n += atomic_load(&k->side[i]->errors);
    }
    return n;
}

static bool core_open(core_t *k)
{
    for (uint32_t i = 0; i < k->nsides; i++) {
        if (!open_queue(k->side[i])) {
            return false;
        }
    }
    return true;
}

static void core_close(core_t *k)
{
    for (uint32_t i = 0; i < k->nsides; i++) {
        close_queue(k->side[i]);
        publish_figures(k->side[i]);
    }
}

/*
 * Every pause, a spurious interrupt on this core: mostly the pending bits of
 * a random set of the ids its queue callbacks sit on (they run and may find
 * nothing), sometimes a dispatch with nothing new pending. Each must be
 * harmless: the remote's checks see any message lost or doubled.
 */
static void *injector_main(void *arg)
{
    core_t *k = arg;
    uint32_t mask = 0;
    uint32_t rng = mix32(k->cfg.seed ^ 0x5b1u) | 1u;

    for (uint32_t i = 0; i < k->nsides; i++) {
        if (!k->side[i]->master) {
            mask |= 1u << k->side[i]->intr_id;
        }
    }
    while (!atomic_load(&k->injector_stop)) {
        sleep_us(k->cfg.spurious_us);
        uint32_t r = next_rand(&rng);
        uint32_t bits = (r % 4u == 0) ? 0u : (r >> 8) & mask;
        if (bits == 0 && r % 4u != 0) {
            bits = mask & (0u - mask); /* the lowest id: never an empty set here */
        }
        if (ampvq_posix_fault_spurious(k->core, bits) == 0) {
            k->injected++;
        }
    }
    return NULL;
}

static void core_injector_start(core_t *k)
{
    bool remote = false;
    for (uint32_t i = 0; i < k->nsides; i++) {
        remote |= !k->side[i]->master;
    }
    if (k->cfg.spurious_us == 0 || k->cfg.mode == STRESS_POLL || !remote) {
        return;
    }
    atomic_init(&k->injector_stop, false);
    k->injector_on = pthread_create(&k->injector, NULL, injector_main, k) == 0;
    if (!k->injector_on) {
        fail(k->side[0], "cannot start the spurious-interrupt thread");
    }
}

static void core_injector_stop(core_t *k)
{
    if (k->injector_on) {
        atomic_store(&k->injector_stop, true);
        pthread_join(k->injector, NULL);
        k->injector_on = false;
    }
}

/* This core's counters from the port's fault hooks, into shared memory. */
static void core_publish_faults(core_t *k)
{
    ampvq_posix_fault_stats_t st;
    ampvq_posix_fault_stats(k->core, &st);
    k->sh->rings[k->core] = st.rings;
    k->sh->dropped[k->core] = st.dropped;
    k->sh->rechecks[k->core] = st.rechecks;
    k->sh->spurious[k->core] = k->injected;
}

typedef struct {
    core_t *k;
    uint32_t i;
} role_arg_t;

static role_arg_t role_args[2][STRESS_QUEUES_MAX];

static void *role_thread(void *arg)
{
    role_arg_t *a = arg;
    /* A task of this core: the port tells the cores apart per thread. */
    ampvq_posix_set_core(a->k->core);
    a->k->ok[a->i] = run_role(a->k->side[a->i]);
    return NULL;
}

/* Run every side's role: one queue in the calling thread (as the plain
 * stress tests always did), several each in a task of its own. */
static bool core_run(core_t *k)
{
    if (k->nsides == 1) {
        return run_role(k->side[0]);
    }
    uint32_t started = 0;
    for (uint32_t i = 0; i < k->nsides; i++) {
        role_arg_t *a = &role_args[k->core & 1][i];
        a->k = k;
        a->i = i;
        if (pthread_create(&k->thread[i], NULL, role_thread, a) != 0) {
            fail(k->side[i], "cannot start the task of queue %u", i);
            break;
        }
        started++;
    }
    bool ok = started == k->nsides;
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(k->thread[i], NULL);
        ok = ok && k->ok[i];
    }
    return ok;
}

/* ------------------------------------------------------------ watchdog */

typedef struct {
    core_t *k;
    uint32_t timeout_s;
    uint32_t stall_s;
    bool started;
    bool stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} watchdog_t;

static void progress(shared_t *sh, uint32_t queues, uint64_t *sent, uint64_t *received)
{
    *sent = 0;
    *received = 0;
    for (uint32_t i = 0; i < queues; i++) {
        *sent += load_u32(&sh->lane[i].sent);
        *received += load_u32(&sh->lane[i].received);
    }
}

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
    core_t *k = w->k;
    shared_t *sh = k->sh;
    uint64_t start = now_ns();
    uint64_t last_move = start;
    uint64_t last_sent = 0;
    uint64_t last_received = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
    const char *why = NULL;

    pthread_mutex_lock(&w->lock);
    while (!w->stop && why == NULL) {
        struct timespec tick;
        clock_gettime(CLOCK_MONOTONIC, &tick);
        tick.tv_sec += 1;
        pthread_cond_timedwait(&w->cond, &w->lock, &tick);
        uint64_t now = now_ns();
        progress(sh, k->cfg.queues, &sent, &received);
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
        progress(sh, k->cfg.queues, &sent, &received);
        printf("FAIL: watchdog: %s core: %s (stall limit %u s, run limit %u s; %s, master %s, %u queue(s)): "
               "sent %llu, received %llu of %llu; ready main=%u sub=%u; done main=%u sub=%u\n",
               core_name(k->core), why, w->stall_s, w->timeout_s, mode_name(k->cfg.mode),
               core_name((int)k->cfg.master), k->cfg.queues, (unsigned long long)sent,
               (unsigned long long)received, (unsigned long long)k->cfg.count * k->cfg.queues,
               load_u32(&sh->lane[0].ready[0]), load_u32(&sh->lane[0].ready[1]), load_u32(&sh->done[0]),
               load_u32(&sh->done[1]));
        fflush(stdout);
        _exit(3);
    }
    return NULL;
}

static void watchdog_start(watchdog_t *w, core_t *k, uint32_t timeout_s, uint32_t stall_s)
{
    pthread_condattr_t a;

    memset(w, 0, sizeof(*w));
    w->k = k;
    w->timeout_s = timeout_s;
    w->stall_s = stall_s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &a);
    pthread_condattr_destroy(&a);
    w->started = pthread_create(&w->thread, NULL, watchdog_main, w) == 0;
    if (!w->started) {
        fail(k->side[0], "cannot start the watchdog");
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

/* ------------------------------------------------------------ verdict */

/* The fault runs' figures, printed and checked by the main core once both
 * cores are done (each has published its part). @return false on a failed
 * check (printed) */
static bool fault_report(core_t *k, bool ok)
{
    const stress_cfg_t *c = &k->cfg;
    shared_t *sh = k->sh;
    uint64_t bp = 0, runs = 0, empty = 0, pauses = 0, gap = 0, wait = 0;

    for (uint32_t i = 0; i < c->queues; i++) {
        lane_t *ln = &sh->lane[i];
        bp += ln->bp_waits;
        runs += ln->isr_runs;
        empty += ln->empty_runs;
        pauses += ln->pauses;
        gap = ln->max_gap_ns > gap ? ln->max_gap_ns : gap;
        wait = ln->max_wait_ns > wait ? ln->max_wait_ns : wait;
    }
    uint64_t rings = sh->rings[0] + sh->rings[1];
    uint64_t dropped = sh->dropped[0] + sh->dropped[1];
    uint64_t rechecks = sh->rechecks[0] + sh->rechecks[1];
    uint64_t spurious = sh->spurious[0] + sh->spurious[1];
    printf("faults: back-pressure waits %llu; remote pauses %llu; doorbells rung %llu, dropped %llu (%.1f%%), "
           "dispatches started by a re-check %llu; worst gap between messages %.1f ms, worst burst delivery "
           "%.1f ms; callback runs %llu, %llu with nothing to do; spurious interrupts injected %llu\n",
           (unsigned long long)bp, (unsigned long long)pauses, (unsigned long long)rings,
           (unsigned long long)dropped, rings != 0 ? 100.0 * (double)dropped / (double)rings : 0.0,
           (unsigned long long)rechecks, (double)gap / 1e6, (double)wait / 1e6, (unsigned long long)runs,
           (unsigned long long)empty, (unsigned long long)spurious);
    if (!ok) {
        return false; /* the first failure says it all */
    }
    bool good = true;
    if (c->expect_bp && bp == 0) {
        printf("FAIL: the master never found the queue full: back-pressure was not exercised\n");
        good = false;
    }
    if (c->drop_pct != 0 && dropped == 0) {
        printf("FAIL: %u%% of doorbells were to be dropped, but none was (%llu rung)\n", c->drop_pct,
               (unsigned long long)rings);
        good = false;
    }
    if (c->max_wait_ms != 0 && (gap > c->max_wait_ms * 1000000ull || wait > c->max_wait_ms * 1000000ull)) {
        printf("FAIL: delivery stalled %.1f ms (gap) / %.1f ms (burst), bound %u ms\n", (double)gap / 1e6,
               (double)wait / 1e6, c->max_wait_ms);
        good = false;
    }
    if (c->drop_pct != 0 && c->idle_us != 0 && c->mode != STRESS_POLL && rechecks == 0) {
        printf("FAIL: no dispatch was started by a re-check, so no lost ring hid a message: progress after a "
               "lost doorbell was not exercised\n");
        good = false;
    }
    if (c->spurious_us != 0 && c->mode == STRESS_INTR && (spurious == 0 || empty == 0)) {
        printf("FAIL: spurious interrupts were not exercised: %llu injected, %llu callback runs with nothing "
               "to do\n",
               (unsigned long long)spurious, (unsigned long long)empty);
        good = false;
    }
    return good;
}

/* ------------------------------------------------------------ entry points */

int stress_main_core(const stress_cfg_t *cfg, const char *form)
{
    bool peer_is_process = strcmp(form, "processes") == 0;
    int rc = esp_amp_init();
    /* Both cores update it with atomics: uncached on a non-coherent build. */
    shared_t *sh = rc == ESP_OK ? esp_amp_sys_info_alloc_uncached(STRESS_STATUS_ID, sizeof(shared_t)) : NULL;
    if (sh == NULL) {
        printf("FAIL: main core: esp_amp_init returned 0x%x, status block %p\n", (unsigned)rc, (void *)sh);
        return 1;
    }
    core_t *k = core_new(cfg, AMPVQ_CORE_MAIN, sh);
    if (k == NULL) {
        printf("FAIL: main core: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < k->nsides; i++) {
        k->side[i]->peer_is_process = peer_is_process;
    }
    memcpy(&sh->cfg, cfg, sizeof(*cfg));
    /* Pairs with the acquire in stress_sub_core(): the knobs are complete. */
    __atomic_store_n(&sh->magic, STRESS_MAGIC, __ATOMIC_RELEASE);
    if (faults_on(cfg)) {
        /* Threads form: this also covers the sub core (one port). */
        ampvq_posix_fault_doorbell_drop(cfg->drop_pct, cfg->seed);
    }

    watchdog_t wd;
    watchdog_start(&wd, k, cfg->timeout_s, cfg->stall_s);
    bool ok = !core_failed(k) && core_open(k);
    bool sub_started = false;
    if (ok) {
        core_injector_start(k);
        rc = esp_amp_start_subcore();
        sub_started = rc == ESP_OK;
        if (!sub_started) {
            fail(k->side[0], "esp_amp_start_subcore returned 0x%x", (unsigned)rc);
        }
    }
    ok = sub_started && core_run(k);

    /* The verdict needs both cores: wait for the sub core's (it stops early
     * if this core failed, since abort is set). */
    uint32_t sub_done = 0;
    for (uint32_t i = 1; sub_started; i++) {
        sub_done = __atomic_load_n(&sh->done[AMPVQ_CORE_SUB], __ATOMIC_ACQUIRE);
        if (sub_done != 0 || (i % 64u == 0 && peer_died(k->side[0]))) {
            break;
        }
        sleep_us(1000);
    }
    core_injector_stop(k);
    core_close(k);
    core_publish_faults(k);
    watchdog_stop(&wd);
    ok = ok && sub_done == 1 && core_errors(k) == 0 && load_u32(&sh->abort) == 0;

    uint64_t ns = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
    for (uint32_t i = 0; i < cfg->queues; i++) {
        uint64_t e = __atomic_load_n(&sh->lane[i].elapsed_ns, __ATOMIC_RELAXED);
        ns = e > ns ? e : ns;
    }
    progress(sh, cfg->queues, &sent, &received);
    double secs = (double)ns / 1e9;
    uint64_t total = (uint64_t)cfg->count * cfg->queues;
    const char *m = core_name((int)cfg->master);
    const char *r = core_name((int)cfg->master ^ 1);
    bool faults = faults_on(cfg);
    if (faults) {
        ok = fault_report(k, ok) && ok;
    }
    printf("stress: %s: %s %s %s%s%s qlen=%u item=%u sizes=%s hold=%u batch=%u burst=%u seed=%u%s", ok ? "PASS" : "FAIL",
           form, mode_name(cfg->mode), m, cfg->both_dirs && cfg->queues > 1 ? "<->" : "->", r, cfg->qlen,
           cfg->item_size, cfg->random_sizes ? "random" : "fixed", cfg->hold, cfg->batch, cfg->burst, cfg->seed,
           cfg->one_view ? " views=one" : "");
    if (cfg->queues > 1) {
        printf(" queues=%u ids=%u", cfg->queues, cfg->intr_ids);
    }
    if (faults) {
        printf(" drop=%u%% spurious=%uus triggers=%u pause=%u/%ums", cfg->drop_pct, cfg->spurious_us,
               cfg->triggers, cfg->pause_every, cfg->pause_ms);
    }
    if (ok) {
        printf(": %llu messages in %.3f s, %.0f msgs/s\n", (unsigned long long)total, secs,
               secs > 0 ? (double)total / secs : 0.0);
    } else {
        printf(": sent %llu, received %llu of %llu; sub core %s\n", (unsigned long long)sent,
               (unsigned long long)received, (unsigned long long)total,
               sub_done == 1 ? "passed" : sub_done == 2 ? "failed" : "gave no verdict");
    }
    core_free(k);
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
    if (cfg.queues < 1u || cfg.queues > STRESS_QUEUES_MAX || cfg.intr_ids < 1u) {
        printf("FAIL: sub core: %u queues on %u ids in the status block\n", cfg.queues, cfg.intr_ids);
        store_u32(&sh->abort, 1u);
        __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], 2u, __ATOMIC_RELEASE);
        return 1;
    }
    core_t *k = core_new(&cfg, AMPVQ_CORE_SUB, sh);
    if (k == NULL) {
        store_u32(&sh->abort, 1u);
        __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], 2u, __ATOMIC_RELEASE);
        return 1;
    }
    /* own_watchdog means the processes form: this process's port is its
     * own, so arm its faults too (the threads form shares the main core's). */
    if (own_watchdog && faults_on(&cfg)) {
        ampvq_posix_fault_doorbell_drop(cfg.drop_pct, cfg.seed ^ 0x5b1u);
    }

    watchdog_t wd;
    if (own_watchdog) {
        /* Longer than the main core's, which reports first if both hang. */
        watchdog_start(&wd, k, cfg.timeout_s + 10u, cfg.stall_s + 10u);
    }
    bool ok = !core_failed(k) && core_open(k);
    if (ok) {
        core_injector_start(k);
        ok = core_run(k);
    }
    core_injector_stop(k);
    core_close(k);
    core_publish_faults(k);
    ok = ok && core_errors(k) == 0;
    if (own_watchdog) {
        watchdog_stop(&wd);
    }
    /* Pairs with the acquire in stress_main_core(): the figures and the
     * progress counters are final. */
    __atomic_store_n(&sh->done[AMPVQ_CORE_SUB], ok ? 1u : 2u, __ATOMIC_RELEASE);
    core_free(k);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------ knobs */

uint32_t stress_shm_bytes(const stress_cfg_t *cfg)
{
    uint64_t len = pow2_at_least(cfg->qlen);
#if AMPVQ_CACHE_COHERENT
    uint64_t stride = 8u, align = 4u;
#else
    /* Padded layout: a line per descriptor, line-sized buffers. */
    uint64_t stride = AMPVQ_CACHE_LINE, align = AMPVQ_CACHE_LINE;
#endif
    uint64_t item = (cfg->item_size + align - 1u) & ~(align - 1u);
    /* Region header, directory, event words and the status block fit in
     * 64 KiB with room to spare; then the queue's block (header, and the
     * wake words of an event-index queue: a few lines at most). */
    uint64_t per_queue = 4u * AMPVQ_CACHE_LINE + len * stride + len * item;
    uint64_t bytes = 65536u + per_queue * (cfg->queues ? cfg->queues : 1u);
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
    cfg->queues = 1u;
    cfg->intr_ids = 1u;
    cfg->triggers = 1u;
    cfg->pause_ms = 20u;
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
           "Several queues and faults (tests/faults):\n"
           "  --queues N       N queue pairs at once, 1..%u, each with its own task per core (1)\n"
           "  --ids N          software-interrupt ids the queues share, 1..%u (1)\n"
           "  --dirs D         one | both: with both, odd queues send the other way (one)\n"
           "  --pause-every N  the remote stops consuming after every N messages ... (0: never)\n"
           "  --pause-ms N     ... for N ms, so the queue fills (20)\n"
           "  --expect-bp B    1: fail unless the master met a full queue (0)\n"
           "  --drop P         the port drops P%% of doorbells (0)\n"
           "  --max-wait-ms N  fail if delivery ever stalled longer than N ms (0: no bound)\n"
           "  --spurious US    a third thread injects a spurious interrupt every US us (0: none)\n"
           "  --idle-us N      burst mode: the master sleeps N us after each burst (0)\n"
           "  --triggers N     the master's notify triggers N times per send (1)\n"
           "  --event-idx 0|1  make the queue with ESP_AMP_QUEUE_F_EVENT_IDX (0)\n"
           "Processes form: the same knobs in the environment variable AMPVQ_STRESS_ARGS.\n",
           prog, STRESS_QUEUES_MAX, STRESS_QUEUES_MAX);
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
    if (strcmp(key, "queues") == 0) {
        return parse_u32(key, v, 1u, STRESS_QUEUES_MAX, &c->queues);
    }
    if (strcmp(key, "ids") == 0) {
        return parse_u32(key, v, 1u, STRESS_QUEUES_MAX, &c->intr_ids);
    }
    if (strcmp(key, "dirs") == 0) {
        return parse_word(key, v, "one", "both", 0u, 1u, &c->both_dirs);
    }
    if (strcmp(key, "pause-every") == 0) {
        return parse_u32(key, v, 0u, UINT32_MAX, &c->pause_every);
    }
    if (strcmp(key, "pause-ms") == 0) {
        return parse_u32(key, v, 0u, 10000u, &c->pause_ms);
    }
    if (strcmp(key, "expect-bp") == 0) {
        return parse_u32(key, v, 0u, 1u, &c->expect_bp);
    }
    if (strcmp(key, "drop") == 0) {
        return parse_u32(key, v, 0u, 100u, &c->drop_pct);
    }
    if (strcmp(key, "max-wait-ms") == 0) {
        return parse_u32(key, v, 0u, 3600000u, &c->max_wait_ms);
    }
    if (strcmp(key, "spurious") == 0) {
        return parse_u32(key, v, 0u, 1000000u, &c->spurious_us);
    }
    if (strcmp(key, "idle-us") == 0) {
        return parse_u32(key, v, 0u, 1000000u, &c->idle_us);
    }
    if (strcmp(key, "event-idx") == 0) {
        return parse_u32(key, v, 0u, 1u, &c->event_idx);
    }
    if (strcmp(key, "triggers") == 0) {
        return parse_u32(key, v, 1u, 1000u, &c->triggers);
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
