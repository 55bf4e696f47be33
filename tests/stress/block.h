/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Two-core test of the blocking calls (esp_amp_queue_alloc() and
 * esp_amp_queue_recv()), shared by a threads form and a processes form.
 * The master sends `count` numbered messages of varying size, blocking in
 * esp_amp_queue_alloc() while the queue is full; the remote receives them
 * with esp_amp_queue_recv(), blocking while it is empty, and checks that
 * each arrives once, in order and intact. The master's notify triggers a
 * software interrupt on the remote's core, the remote's free-notify one on
 * the master's core: nothing else wakes a blocked side.
 *
 * That the calls sleep rather than spin is checked with the posix port's
 * counters: a call ends a sleep early only after a dispatch, so each side's
 * sleeps stay within a small multiple of its core's dispatches, where
 * spinning would make millions of attempts; and on the master every failed
 * try (the queue's "full" count) is followed by exactly one sleep.
 * Every blocking call has a time-out (--timeout, ms): one that expires
 * fails the run, so a lost wake-up shows as a failure, not a hang.
 */
#ifndef BLOCK_H
#define BLOCK_H

#include <stdint.h>

/* Knobs; only uint32_t, copied into shared memory for the sub core. */
typedef struct {
    uint32_t count;       /* messages */
    uint32_t qlen;        /* queue_len */
    uint32_t item_size;   /* queue_item_size, 8..65532 */
    uint32_t master;      /* AMPVQ_CORE_MAIN or AMPVQ_CORE_SUB */
    uint32_t flags;       /* esp_amp_queue_main_init_ex() flags */
    uint32_t timeout_ms;  /* per blocking call */
    uint32_t pause_every; /* 0, or each side pauses every N messages (staggered) ... */
    uint32_t pause_ms;    /* ... for this long, so that the other side must block */
    uint32_t one_view;    /* threads form: both cores use one mapping */
} block_cfg_t;

void block_cfg_default(block_cfg_t *cfg);

/* "--key value" tokens (see block_usage()). @return 0, or -1 error printed */
int block_parse_args(block_cfg_t *cfg, int argc, char **argv);

/* The same from one whitespace-separated string (NULL: no change). */
int block_parse_string(block_cfg_t *cfg, const char *args);

/* The main core's part: set up, start the sub core, play its role.
 * @return 0 only if every check on this core passed */
int block_main_core(const block_cfg_t *cfg, const char *form);

/* The sub core's part; the knobs come from shared memory. */
int block_sub_core(void);

#endif /* BLOCK_H */
