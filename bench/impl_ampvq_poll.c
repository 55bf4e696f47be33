/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ampvq through the seed API, polled on both sides: alloc_try / send_try on
 * the producer, recv_try / free_try on the consumer, one message per call,
 * no notify function. The closest match to the baseline ring's work.
 */
#include "ampvq_common.h"

static int poll_setup(const bench_params_t *p)
{
    static const ampvq_bench_hooks_t hooks = {0};
    return ampvq_bench_setup(p, &hooks);
}

static unsigned poll_produce(uint32_t seq, unsigned n)
{
    (void)n;
    return ampvq_bench_send_one(&ampvq_bench_q.fwd_tx, seq);
}

static unsigned poll_consume(unsigned n)
{
    (void)n;
    return ampvq_bench_recv_one(&ampvq_bench_q.fwd_rx);
}

static unsigned poll_pong(unsigned n)
{
    (void)n;
    return ampvq_bench_echo_one(&ampvq_bench_q.fwd_rx, &ampvq_bench_q.back_tx);
}

static int poll_ping_wait(void)
{
    return (int)ampvq_bench_recv_one(&ampvq_bench_q.back_rx);
}

const bench_impl_t bench_impl_ampvq_poll = {
    .name = "ampvq-poll",
    .summary = "ampvq seed API (alloc/send/recv/free_try), polled, no notify",
    .caps = 0,
    .setup = poll_setup,
    .start = ampvq_bench_start,
    .produce = poll_produce,
    .consume = poll_consume,
    .pong = poll_pong,
    .ping_wait = poll_ping_wait,
    .teardown = ampvq_bench_teardown,
};
