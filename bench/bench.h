/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The one interface between the benchmark driver and the queue designs it
 * compares. Each design is one file (impl_*.c) that fills a bench_impl_t;
 * the driver (main.c, harness.c) owns threads, CPU pinning, timing, the
 * payload pattern and its check, so every design is measured by the same
 * code and differs only in how a message crosses from one side to the
 * other.
 *
 * Roles: the *producer* side (CPU 0 by default) allocates, fills and sends;
 * the *consumer* side (CPU 1) receives, checks and frees. In ping-pong
 * (two_way) the consumer echoes every message back on a second queue and
 * the producer waits for the echo before it sends the next one.
 *
 * One implementation runs at a time: each keeps its state in file-scope
 * variables, set up by setup() and dropped by teardown().
 */
#ifndef AMPVQ_BENCH_H
#define AMPVQ_BENCH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t payload;   /* bytes per message, a multiple of 8 */
    uint32_t queue_len; /* slots per queue */
    uint32_t batch;     /* messages per produce()/consume() call, >= 1 */
    bool two_way;       /* ping-pong: a second queue carries the echoes */
} bench_params_t;

typedef enum {
    BENCH_PRODUCER = 0,
    BENCH_CONSUMER = 1,
} bench_side_t;

/* produce()/consume() move up to `batch` messages per call. Without it the
 * driver calls them with n == 1. */
#define BENCH_CAP_BATCH (1u << 0)
/* The consumer side runs in interrupt callbacks, not on the consumer thread:
 * the driver's consumer thread only starts the side and then sleeps, so it
 * does not take the CPU the callbacks need. consume() and pong() are unused;
 * ping_wait() may block. */
#define BENCH_CAP_CALLBACK (1u << 1)
/* counters() reports notifications (the interrupts figure). */
#define BENCH_CAP_NOTIFY (1u << 2)

typedef struct {
    uint64_t notifies;  /* times the producer's send called the notify function */
    uint64_t doorbells; /* times the consumer core's interrupt ran its handlers */
} bench_counters_t;

typedef struct bench_impl {
    const char *name;    /* short, used in tables, JSON and --impl */
    const char *summary; /* one line for --list */
    const char *missing; /* non-NULL: not built in, and why (slots for APIs to come) */
    unsigned caps;       /* BENCH_CAP_* */

    /* Driver thread, before either side starts: create the queue(s). */
    int (*setup)(const bench_params_t *p);
    /* On each side's own thread, once, before its first call below. The
     * consumer side is started first and has finished before the producer
     * side starts. */
    int (*start)(bench_side_t side);

    /* Producer: send up to n messages numbered seq, seq+1, ... (fill each
     * buffer with bench_fill()). Returns how many were sent; 0 when the
     * queue is full. */
    unsigned (*produce)(uint32_t seq, unsigned n);
    /* Consumer: receive up to n messages, handing each to bench_consumed()
     * before freeing it. Returns how many; 0 when the queue is empty. */
    unsigned (*consume)(unsigned n);

    /* Ping-pong, consumer: echo up to n received messages back (payload
     * copied into a buffer of the reverse queue). Returns how many. */
    unsigned (*pong)(unsigned n);
    /* Ping-pong, producer: 1 once the echo of the last message sent has been
     * received and passed to bench_consumed(), else 0 (may block briefly). */
    int (*ping_wait)(void);

    /* Optional: notification counters since setup. */
    void (*counters)(bench_counters_t *c);
    /* Driver thread, after both sides have returned: undo setup(). */
    void (*teardown)(void);
} bench_impl_t;

/* The registry, in table order; the first one is the baseline. */
extern const bench_impl_t bench_impl_ring;
extern const bench_impl_t bench_impl_ampvq_poll;
extern const bench_impl_t bench_impl_ampvq_intr;
extern const bench_impl_t bench_impl_ampvq_batch;
extern const bench_impl_t bench_impl_ampvq_suppress;

/* ---- services of the driver to the implementations (harness.c) ---- */

/* The parameters of the run in progress. */
const bench_params_t *bench_params(void);

/* Write message `seq`'s payload (params.payload bytes) into buf. */
void bench_fill(void *buf, uint32_t seq);

/* Check the next message in order (length and every payload byte) and
 * count it. Called by whichever thread receives: the consumer thread, an
 * interrupt callback, or the ping side for echoes. False on a mismatch
 * (the run is marked failed). */
bool bench_consumed(const void *buf, uint32_t len);

/* Pin the calling thread to `side`'s CPU. For threads the driver did not
 * create, such as the posix port's interrupt threads: they call it from
 * their first callback. */
void bench_pin_self(bench_side_t side);

/* Mark the run failed with a message (printed once by the driver). */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True once the driver has asked both sides to stop. */
bool bench_stopping(void);

#endif /* AMPVQ_BENCH_H */
