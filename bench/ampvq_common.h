/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Plumbing shared by the ampvq implementations (impl_ampvq_*.c): both cores
 * as threads of this process on the posix port, the forward queue (main
 * core = producer = master, sub core = consumer = remote) and, for
 * ping-pong, the echo queue (sub core = master, main core = remote). Each
 * implementation supplies only its callbacks and, if it needs one, its own
 * init call (the suppression slot opts in through an extended init).
 */
#ifndef AMPVQ_BENCH_AMPVQ_COMMON_H
#define AMPVQ_BENCH_AMPVQ_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_amp.h"
#include "bench.h"

#define AMPVQ_BENCH_ID_FWD    ((esp_amp_sys_info_id_t)0x0b00)
#define AMPVQ_BENCH_ID_BACK   ((esp_amp_sys_info_id_t)0x0b01)
#define AMPVQ_BENCH_INTR_FWD  SW_INTR_ID_0 /* raised on the sub core */
#define AMPVQ_BENCH_INTR_BACK SW_INTR_ID_1 /* raised on the main core */

typedef int (*ampvq_bench_main_init_fn)(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                                        esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                                        esp_amp_sys_info_id_t sysinfo_id);
typedef int (*ampvq_bench_sub_init_fn)(esp_amp_queue_t *queue, esp_amp_queue_cb_t cb_func, void *priv_data,
                                       bool is_master, esp_amp_sys_info_id_t sysinfo_id);

typedef struct {
    ampvq_bench_main_init_fn main_init; /* NULL: esp_amp_queue_main_init */
    ampvq_bench_sub_init_fn sub_init;   /* NULL: esp_amp_queue_sub_init */
    esp_amp_queue_cb_t fwd_notify;      /* producer's notify (forward queue) */
    esp_amp_queue_cb_t fwd_callback;    /* consumer's interrupt callback (forward queue) */
    esp_amp_queue_cb_t back_notify;     /* consumer's notify (echo queue) */
    esp_amp_queue_cb_t back_callback;   /* producer's interrupt callback (echo queue) */
} ampvq_bench_hooks_t;

/* The four handles, each on its own cache lines: a side writes only its own
 * two, and the handles must not share a line with the other side's. */
typedef struct {
    _Alignas(64) esp_amp_queue_t fwd_tx;  /* producer: master of the forward queue */
    _Alignas(64) esp_amp_queue_t fwd_rx;  /* consumer: remote of the forward queue */
    _Alignas(64) esp_amp_queue_t back_tx; /* consumer: master of the echo queue */
    _Alignas(64) esp_amp_queue_t back_rx; /* producer: remote of the echo queue */
} ampvq_bench_queues_t;

extern ampvq_bench_queues_t ampvq_bench_q;

/* Driver thread: shared memory, main core's init, both queues' blocks. */
int ampvq_bench_setup(const bench_params_t *p, const ampvq_bench_hooks_t *hooks);
/* Producer thread: run as the main core. Consumer thread: run as the sub
 * core, init it, open its side of the queue(s), enable its interrupt. */
int ampvq_bench_start(bench_side_t side);
/* Interrupt-handler runs on the sub core since setup. */
uint64_t ampvq_bench_sub_dispatches(void);
/* Driver thread: stop the interrupt threads, drop shared memory. */
void ampvq_bench_teardown(void);

/* The polling data path through the seed API, shared by ampvq-poll and the
 * ping side / echo side of the interrupt implementations. */
unsigned ampvq_bench_send_one(esp_amp_queue_t *q, uint32_t seq);
unsigned ampvq_bench_recv_one(esp_amp_queue_t *q);
unsigned ampvq_bench_echo_one(esp_amp_queue_t *rx, esp_amp_queue_t *tx);

/* The interrupt-driven implementation (impl_ampvq_intr.c), with the init
 * calls as parameters so that ampvq-suppress runs the same code with the
 * extended init. */
int ampvq_intr_setup_with(const bench_params_t *p, ampvq_bench_main_init_fn main_init,
                          ampvq_bench_sub_init_fn sub_init);
unsigned ampvq_intr_produce(uint32_t seq, unsigned n);
int ampvq_intr_ping_wait(void);
void ampvq_intr_counters(bench_counters_t *c);
void ampvq_intr_teardown(void);

#endif /* AMPVQ_BENCH_AMPVQ_COMMON_H */
