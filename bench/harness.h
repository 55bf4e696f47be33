/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The timed part of the driver: runs one chunk of one implementation with
 * the producer and consumer threads pinned to their CPUs, and says what it
 * measured. main.c decides what to run, in which order, and prints.
 */
#ifndef AMPVQ_BENCH_HARNESS_H
#define AMPVQ_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

typedef struct {
    int cpu[2];       /* CPU of the producer side [0] and consumer side [1] */
    double chunk_s;   /* length of one timed chunk */
    double timeout_s; /* a chunk that makes no progress this long fails */
    uint32_t warmup;  /* messages (round trips) before timing starts */
    uint32_t lat_max; /* round trips recorded per latency chunk, at most */
} harness_cfg_t;

typedef struct {
    double rate;               /* messages per second over the timed window */
    uint64_t sent;             /* messages sent in the whole chunk */
    uint64_t consumed;         /* messages received and checked in the whole chunk */
    bench_counters_t counters; /* notifications in the whole chunk (BENCH_CAP_NOTIFY) */
} tput_result_t;

typedef struct {
    uint32_t samples;
    double median_ns;
    double p99_ns;
} lat_result_t;

void harness_configure(const harness_cfg_t *cfg);

/* One throughput chunk: 0, or -1 with harness_error() saying why. */
int harness_throughput(const bench_impl_t *impl, const bench_params_t *p, tput_result_t *r);

/* One ping-pong chunk (p->two_way is set by the harness). */
int harness_latency(const bench_impl_t *impl, const bench_params_t *p, lat_result_t *r);

/* Why the last chunk failed. */
const char *harness_error(void);

/* Monotonic time in seconds. */
double harness_now(void);

#endif /* AMPVQ_BENCH_HARNESS_H */
