/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Threads, pinning, payload and timing for one chunk of one implementation.
 *
 * Throughput is measured by the driver thread, not by the workers: it waits
 * until the warm-up messages have gone through (page faults, first cache
 * misses, the interrupt thread's first wake-up), reads the consumer's
 * message count and the clock, sleeps for the chunk, and reads both again.
 * The workers never read the clock, so the timed loop holds nothing but the
 * implementation's calls, the payload fill and check, and one relaxed load
 * of the stop flag per call.
 *
 * Round trips are timed by the ping (producer) thread: one clock read per
 * round trip, the difference to the previous one is a sample, so the clock's
 * own cost is counted once per sample, the same for every implementation.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static harness_cfg_t cfg = {
    .cpu = {0, 1},
    .chunk_s = 0.05,
    .timeout_s = 20.0,
    .warmup = 2000,
    .lat_max = 200000,
};

/* The run in progress. Written by the driver before the workers start and
 * read-only while they run. */
static const bench_impl_t *impl;
static bench_params_t params;

/* Each written by one party, each on its own cache line, so that the
 * counters do not add cache-line traffic between the two sides. */
static struct {
    _Alignas(64) atomic_bool stop;              /* driver -> workers */
    _Alignas(64) atomic_int ready;              /* consumer -> producer: 1 started, -1 failed */
    _Alignas(64) atomic_uint_fast64_t consumed; /* consumer side -> driver */
    uint32_t expect;                            /* consumer side: next sequence number */
    _Alignas(64) atomic_uint_fast64_t sent;     /* producer -> driver, at the end */
    _Alignas(64) atomic_int failed;
} run;

static char fail_msg[256];
static uint64_t *lat_samples;
static uint32_t lat_count;

void harness_configure(const harness_cfg_t *c)
{
    cfg = *c;
}

double harness_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

const char *harness_error(void)
{
    return fail_msg[0] != '\0' ? fail_msg : "unknown error";
}

/* ------------------------------------------------ services to the impls */

const bench_params_t *bench_params(void)
{
    return &params;
}

void bench_fail(const char *fmt, ...)
{
    /* The first failure is the interesting one; later ones are echoes. */
    if (atomic_exchange(&run.failed, 1) != 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
    va_end(ap);
    atomic_store(&run.stop, true);
}

bool bench_stopping(void)
{
    return atomic_load_explicit(&run.stop, memory_order_relaxed);
}

/* Every 8-byte word of message seq's payload: both halves depend on seq,
 * so a stale, torn or misplaced word shows. */
static uint64_t pattern(uint32_t seq)
{
    return ((uint64_t)~seq << 32) | seq;
}

void bench_fill(void *buf, uint32_t seq)
{
    uint64_t w = pattern(seq);
    unsigned char *p = buf;

    for (uint32_t i = 0; i < params.payload; i += 8) {
        memcpy(p + i, &w, sizeof(w));
    }
}

bool bench_consumed(const void *buf, uint32_t len)
{
    uint32_t seq = run.expect;
    uint64_t w = pattern(seq);
    uint64_t diff = len ^ params.payload;
    const unsigned char *p = buf;

    /* Read every byte (the consumer uses its data), branch once. */
    for (uint32_t i = 0; i < params.payload; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, sizeof(v));
        diff |= v ^ w;
    }
    if (diff != 0) {
        bench_fail("%s: message %u arrived wrong (length %u, expected %u)", impl->name, (unsigned)seq, (unsigned)len,
                   (unsigned)params.payload);
        return false;
    }
    run.expect = seq + 1u;
    /* One writer at a time: a relaxed store, no locked RMW. */
    atomic_store_explicit(&run.consumed, atomic_load_explicit(&run.consumed, memory_order_relaxed) + 1u,
                          memory_order_relaxed);
    return true;
}

static int pin_cpu(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void bench_pin_self(bench_side_t side)
{
    /* Interrupt threads are created anew for every chunk, so a
     * thread-local flag is enough to pin each one once. */
    static _Thread_local bool pinned;

    if (!pinned) {
        pinned = true;
        if (pin_cpu(cfg.cpu[side]) != 0) {
            bench_fail("cannot pin an interrupt thread to CPU %d", cfg.cpu[side]);
        }
    }
}

/* ------------------------------------------------------------- workers */

/* Between two polls that found nothing: tell the CPU this is a spin loop,
 * as ringtest's busy-wait does, so that the polling side backs off the
 * cache line the other side is about to write. Applied the same way to
 * every implementation. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ volatile("yield" ::: "memory");
#elif defined(__riscv)
    __asm__ volatile(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory"); /* pause (Zihintpause) */
#endif
}

static bool stopping(void)
{
    return atomic_load_explicit(&run.stop, memory_order_relaxed);
}

/* The consumer side: throughput (consume) or ping-pong (pong). */
static void *consumer_main(void *arg)
{
    (void)arg;
    if (pin_cpu(cfg.cpu[BENCH_CONSUMER]) != 0) {
        bench_fail("cannot pin the consumer to CPU %d", cfg.cpu[BENCH_CONSUMER]);
    }
    if (atomic_load(&run.failed) || impl->start(BENCH_CONSUMER) != 0) {
        bench_fail("%s: consumer side did not start", impl->name);
        atomic_store(&run.ready, -1);
        return NULL;
    }
    atomic_store(&run.ready, 1);
    if (impl->caps & BENCH_CAP_CALLBACK) {
        /* The work happens in the interrupt callbacks; stay off the CPU. */
        while (!stopping()) {
            sleep_s(0.001);
        }
    } else if (params.two_way) {
        while (!stopping()) {
            if (impl->pong(1) == 0) {
                cpu_relax();
            }
        }
    } else {
        unsigned n = (impl->caps & BENCH_CAP_BATCH) ? params.batch : 1u;
        while (!stopping()) {
            if (impl->consume(n) == 0) {
                cpu_relax();
            }
        }
    }
    return NULL;
}

static bool producer_begin(void)
{
    if (pin_cpu(cfg.cpu[BENCH_PRODUCER]) != 0) {
        bench_fail("cannot pin the producer to CPU %d", cfg.cpu[BENCH_PRODUCER]);
        return false;
    }
    int r;
    while ((r = atomic_load(&run.ready)) == 0) {
        sleep_s(0.0001);
    }
    if (r < 0 || impl->start(BENCH_PRODUCER) != 0) {
        bench_fail("%s: producer side did not start", impl->name);
        return false;
    }
    return true;
}

static void *producer_main(void *arg)
{
    uint32_t seq = 0;

    (void)arg;
    if (producer_begin()) {
        unsigned n = (impl->caps & BENCH_CAP_BATCH) ? params.batch : 1u;
        while (!stopping()) {
            unsigned k = impl->produce(seq, n);
            if (k == 0) {
                cpu_relax();
            }
            seq += k;
        }
    }
    atomic_store(&run.sent, seq);
    return NULL;
}

/* Ping side of ping-pong: send one, wait for its echo, repeat. */
static void *ping_main(void *arg)
{
    uint32_t seq = 0;
    uint32_t total = cfg.warmup + cfg.lat_max;
    double deadline = 0;
    uint64_t prev = 0;

    (void)arg;
    if (!producer_begin()) {
        return NULL;
    }
    double give_up = harness_now() + cfg.timeout_s;
    for (uint32_t i = 0; i < total && !stopping(); i++) {
        if (i == cfg.warmup) {
            /* From here on: samples, until the chunk's time is up. */
            deadline = harness_now() + cfg.chunk_s;
            prev = now_ns();
        }
        uint32_t spins = 0;
        while (impl->produce(seq, 1) == 0 && !stopping()) {
            if ((++spins & 0xfffffu) == 0 && harness_now() > give_up) {
                bench_fail("%s: ping could not send (round trip %u)", impl->name, (unsigned)i);
            }
        }
        seq++;
        while (impl->ping_wait() == 0 && !stopping()) {
            cpu_relax();
            if ((++spins & 0xfffffu) == 0 && harness_now() > give_up) {
                bench_fail("%s: no echo for round trip %u", impl->name, (unsigned)i);
            }
        }
        if (i >= cfg.warmup) {
            uint64_t t = now_ns();
            lat_samples[lat_count++] = t - prev;
            prev = t;
            /* Checked on a sample count, not every time: the clock read
             * above is the only one per round trip. */
            if ((lat_count & 63u) == 0 && harness_now() > deadline) {
                break;
            }
        }
    }
    atomic_store(&run.stop, true);
    return NULL;
}

/* ------------------------------------------------------------- driver */

static void reset(const bench_impl_t *im, const bench_params_t *p)
{
    impl = im;
    params = *p;
    atomic_store(&run.stop, false);
    atomic_store(&run.ready, 0);
    atomic_store(&run.consumed, 0);
    atomic_store(&run.sent, 0);
    atomic_store(&run.failed, 0);
    run.expect = 0;
    fail_msg[0] = '\0';
}

/* Start the consumer, then the producer (or ping) thread. */
static int start_workers(pthread_t th[2], void *(*producer)(void *))
{
    if (pthread_create(&th[1], NULL, consumer_main, NULL) != 0) {
        bench_fail("cannot create the consumer thread");
        return -1;
    }
    if (pthread_create(&th[0], NULL, producer, NULL) != 0) {
        bench_fail("cannot create the producer thread");
        atomic_store(&run.stop, true);
        atomic_store(&run.ready, -1);
        pthread_join(th[1], NULL);
        return -1;
    }
    return 0;
}

int harness_throughput(const bench_impl_t *im, const bench_params_t *p, tput_result_t *r)
{
    pthread_t th[2];

    memset(r, 0, sizeof(*r));
    reset(im, p);
    params.two_way = false;
    if (im->setup(&params) != 0) {
        bench_fail("%s: set-up failed", im->name);
        im->teardown();
        return -1;
    }
    if (start_workers(th, producer_main) != 0) {
        im->teardown();
        return -1;
    }

    /* Warm-up: the first messages pay for page faults and cold caches. */
    double give_up = harness_now() + cfg.timeout_s;
    while (atomic_load(&run.consumed) < cfg.warmup && !atomic_load(&run.failed)) {
        if (harness_now() > give_up) {
            bench_fail("%s: only %llu of %u warm-up messages in %.0f s", im->name,
                       (unsigned long long)atomic_load(&run.consumed), (unsigned)cfg.warmup, cfg.timeout_s);
            break;
        }
        sleep_s(0.0005);
    }
    double t0 = harness_now();
    uint64_t c0 = atomic_load(&run.consumed);
    if (!atomic_load(&run.failed)) {
        sleep_s(cfg.chunk_s);
    }
    double t1 = harness_now();
    uint64_t c1 = atomic_load(&run.consumed);

    atomic_store(&run.stop, true);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    if (im->counters != NULL) {
        im->counters(&r->counters);
    }
    r->sent = atomic_load(&run.sent);
    r->consumed = atomic_load(&run.consumed);
    im->teardown();
    if (atomic_load(&run.failed)) {
        return -1;
    }
    r->rate = (double)(c1 - c0) / (t1 - t0);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int harness_latency(const bench_impl_t *im, const bench_params_t *p, lat_result_t *r)
{
    pthread_t th[2];

    memset(r, 0, sizeof(*r));
    reset(im, p);
    params.two_way = true;
    params.batch = 1;
    lat_samples = malloc(sizeof(*lat_samples) * cfg.lat_max);
    lat_count = 0;
    if (lat_samples == NULL) {
        bench_fail("out of memory");
        return -1;
    }
    /* Fault the pages in now, not between two samples. */
    memset(lat_samples, 0, sizeof(*lat_samples) * cfg.lat_max);
    if (im->setup(&params) != 0) {
        bench_fail("%s: set-up failed", im->name);
        im->teardown();
        free(lat_samples);
        return -1;
    }
    if (start_workers(th, ping_main) != 0) {
        im->teardown();
        free(lat_samples);
        return -1;
    }
    pthread_join(th[0], NULL);
    atomic_store(&run.stop, true);
    pthread_join(th[1], NULL);
    im->teardown();

    int rc = -1;
    if (!atomic_load(&run.failed) && lat_count > 0) {
        qsort(lat_samples, lat_count, sizeof(*lat_samples), cmp_u64);
        r->samples = lat_count;
        r->median_ns = (double)lat_samples[lat_count / 2];
        r->p99_ns = (double)lat_samples[(uint64_t)lat_count * 99u / 100u];
        rc = 0;
    } else if (!atomic_load(&run.failed)) {
        bench_fail("%s: no round trip completed", im->name);
    }
    free(lat_samples);
    lat_samples = NULL;
    return rc;
}
