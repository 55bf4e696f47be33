/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ampvq driven by interrupts, the way the seed's example uses it: the
 * master's notify function triggers a software interrupt on the peer
 * (esp_amp_sw_intr_trigger: set a pending bit, ring the doorbell), and the
 * remote's queue callback, run by the posix port's interrupt thread, drains
 * the queue. Every send notifies: this is what suppression has to beat.
 *
 * Ping-pong is interrupt-driven both ways: the sub core's callback echoes,
 * the main core's callback takes the echo and wakes the waiting ping
 * thread, so a round trip includes two doorbells and two wake-ups.
 */
#define _GNU_SOURCE /* sem_timedwait, clock_gettime */
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "ampvq_common.h"

/* Written by the producer thread only (in its notify function). */
static _Alignas(64) _Atomic uint64_t notifies;
static sem_t echo_sem;
static bool sem_ready;

static int fwd_notify(void *arg)
{
    (void)arg;
    /* Single writer: a relaxed load and store, not a locked RMW, so that
     * counting adds nothing the figure would then measure. */
    atomic_store_explicit(&notifies, atomic_load_explicit(&notifies, memory_order_relaxed) + 1u, memory_order_relaxed);
    esp_amp_sw_intr_trigger(AMPVQ_BENCH_INTR_FWD);
    return 0;
}

static int back_notify(void *arg)
{
    (void)arg;
    esp_amp_sw_intr_trigger(AMPVQ_BENCH_INTR_BACK);
    return 0;
}

/* Sub core's interrupt: interrupts coalesce, so drain everything there. */
static int fwd_callback(void *arg)
{
    (void)arg;
    bench_pin_self(BENCH_CONSUMER);
    if (bench_params()->two_way) {
        while (ampvq_bench_echo_one(&ampvq_bench_q.fwd_rx, &ampvq_bench_q.back_tx) != 0) {
        }
    } else {
        while (ampvq_bench_recv_one(&ampvq_bench_q.fwd_rx) != 0) {
        }
    }
    return 0;
}

/* Main core's interrupt (ping-pong only): take echoes, wake the ping side. */
static int back_callback(void *arg)
{
    (void)arg;
    bench_pin_self(BENCH_PRODUCER);
    while (ampvq_bench_recv_one(&ampvq_bench_q.back_rx) != 0) {
        sem_post(&echo_sem);
    }
    return 0;
}

int ampvq_intr_setup_with(const bench_params_t *p, ampvq_bench_main_init_fn main_init, ampvq_bench_sub_init_fn sub_init)
{
    const ampvq_bench_hooks_t hooks = {
        .main_init = main_init,
        .sub_init = sub_init,
        .fwd_notify = fwd_notify,
        .fwd_callback = fwd_callback,
        .back_notify = back_notify,
        .back_callback = back_callback,
    };

    atomic_store(&notifies, 0);
    if (sem_init(&echo_sem, 0, 0) != 0) {
        return -1;
    }
    sem_ready = true;
    return ampvq_bench_setup(p, &hooks);
}

static int intr_setup(const bench_params_t *p)
{
    return ampvq_intr_setup_with(p, NULL, NULL);
}

unsigned ampvq_intr_produce(uint32_t seq, unsigned n)
{
    (void)n;
    return ampvq_bench_send_one(&ampvq_bench_q.fwd_tx, seq);
}

int ampvq_intr_ping_wait(void)
{
    struct timespec ts;

    /* Bounded, so that the driver can notice a stop or a time-out. */
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&echo_sem, &ts) != 0) {
        if (errno != EINTR) {
            return 0;
        }
    }
    return 1;
}

void ampvq_intr_counters(bench_counters_t *c)
{
    c->notifies = atomic_load(&notifies);
    c->doorbells = ampvq_bench_sub_dispatches();
}

void ampvq_intr_teardown(void)
{
    /* Stops the interrupt threads first: no callback touches the
     * semaphore after this. */
    ampvq_bench_teardown();
    if (sem_ready) {
        sem_destroy(&echo_sem);
        sem_ready = false;
    }
}

const bench_impl_t bench_impl_ampvq_intr = {
    .name = "ampvq-intr",
    .summary = "ampvq seed API, interrupt-driven: notify -> sw_intr_trigger -> doorbell -> callback drains",
    .caps = BENCH_CAP_CALLBACK | BENCH_CAP_NOTIFY,
    .setup = intr_setup,
    .start = ampvq_bench_start,
    .produce = ampvq_intr_produce,
    .ping_wait = ampvq_intr_ping_wait,
    .counters = ampvq_intr_counters,
    .teardown = ampvq_intr_teardown,
};
