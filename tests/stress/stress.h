/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Two-core stress test of the packed virtqueue, shared by the threads form
 * (one process, both cores as threads) and the processes form (main and sub
 * core as two processes mapping one memfd at different addresses).
 *
 * The master sends `count` messages; each carries its sequence number, its
 * size and a checksum of its payload, and its size is drawn from a generator
 * both cores seed identically, so the remote knows independently what the
 * sender chose. The remote checks every message (sequence exactly the next
 * one, size, checksum), and after the last one that nothing more arrives;
 * the master then checks that every buffer came back. Any failure prints a
 * line starting with "FAIL" and makes the main core exit non-zero; a bounded
 * watchdog turns a hang into such a failure.
 *
 * The same engine runs the fault tests (tests/faults): up to
 * STRESS_QUEUES_MAX queues at once, each with its own task per core and its
 * own seed, sharing fewer software-interrupt ids than queues; a remote that
 * stalls; and the posix port's fault hooks (lost doorbells, spurious
 * interrupts). With those knobs at their defaults a run is what it always
 * was: one queue, no clock reads per message, no hooks armed.
 */
#ifndef STRESS_H
#define STRESS_H

#include <stdbool.h>
#include <stdint.h>

/* How the remote learns that messages arrived. */
typedef enum {
    STRESS_POLL = 0, /* remote spins on recv_try; no notify, no interrupt */
    STRESS_INTR = 1, /* the queue callback (interrupt thread) consumes them */
    STRESS_WAKE = 2, /* the callback posts a semaphore; a task consumes */
} stress_mode_t;

/* The knobs. Only uint32_t fields: the main core copies the struct into
 * shared memory as is, and the sub core (possibly another executable)
 * reads it from there, so both sides always run the same test. */
typedef struct {
    uint32_t count;        /* messages to send, 1..2^32-1 */
    uint32_t qlen;         /* queue_len given to esp_amp_queue_main_init */
    uint32_t item_size;    /* queue_item_size, 8..65532 */
    uint32_t mode;         /* stress_mode_t */
    uint32_t master;       /* AMPVQ_CORE_MAIN or AMPVQ_CORE_SUB */
    uint32_t random_sizes; /* 1: sizes 8..item_size; 0: always item_size */
    uint32_t seed;
    uint32_t hold;         /* remote keeps up to this many buffers, frees in random order */
    uint32_t batch;        /* master allocs up to this many, sends in random order */
    uint32_t burst;        /* 0: stream; N: bursts of 1..N, then wait for the remote to catch up */
    uint32_t timeout_s;    /* watchdog: the whole run */
    uint32_t stall_s;      /* watchdog: no message sent or received for this long */
    uint32_t one_view;     /* threads form: both cores use one mapping */
    /* Several queues and the faults of tests/faults (0 / 1 = off). */
    uint32_t queues;       /* queue pairs run at once, 1..STRESS_QUEUES_MAX */
    uint32_t intr_ids;     /* software-interrupt ids the queues share, 1..STRESS_QUEUES_MAX */
    uint32_t both_dirs;    /* queues > 1: odd queues send the other way */
    uint32_t pause_every;  /* remote stalls after every N messages ... */
    uint32_t pause_ms;     /* ... for this long, holding what it has */
    uint32_t expect_bp;    /* fail unless the master met a full queue */
    uint32_t drop_pct;     /* posix port drops this % of doorbells */
    uint32_t max_wait_ms;  /* fail if delivery ever stalled longer (0: no bound) */
    uint32_t spurious_us;  /* a third thread injects spurious interrupts this often */
    uint32_t triggers;     /* the master's notify triggers this many times */
    uint32_t idle_us;      /* burst mode: the master sleeps this long after each burst */
    uint32_t event_idx;    /* 1: the queue is made with ESP_AMP_QUEUE_F_EVENT_IDX */
} stress_cfg_t;

#define STRESS_BATCH_MAX  64u
#define STRESS_HOLD_MAX   64u
#define STRESS_QUEUES_MAX 8u

void stress_cfg_default(stress_cfg_t *cfg);

/* Parse "--key value" / "--key=value" knobs into cfg (see stress_usage()).
 * @return 0 ok, 1 help printed, -1 error printed */
int stress_parse_args(stress_cfg_t *cfg, int argc, char **argv);

/* Same, from one whitespace-separated string (NULL or "" changes nothing). */
int stress_parse_string(stress_cfg_t *cfg, const char *args);

void stress_usage(const char *prog);

/* Shared-memory bytes the posix port must provide for cfg. */
uint32_t stress_shm_bytes(const stress_cfg_t *cfg);

/*
 * The main core's whole part: esp_amp_init, the status block and the queue,
 * start the sub core (the caller has told the port how), play its role,
 * wait for the sub core's verdict, print the one-line summary.
 * @param form "threads" or "processes", for the summary
 * @return 0 only if every check on both cores passed
 */
int stress_main_core(const stress_cfg_t *cfg, const char *form);

/*
 * The sub core's whole part; it reads the knobs the main core published.
 * @param own_watchdog true in the processes form (a separate process needs
 *                     its own bound; in the threads form the main core's
 *                     watchdog covers the whole process)
 * @return 0 only if every check on this core passed
 */
int stress_sub_core(bool own_watchdog);

#endif /* STRESS_H */
