/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * SLOT: ampvq interrupt-driven with event-index notification suppression.
 * The same code as ampvq-intr (impl_ampvq_intr.c: notify -> sw_intr_trigger
 * -> doorbell -> callback drains), with the queues opened through the
 * extended init that opts in to suppression; the library then calls the
 * notify function only when the remote has asked to be woken, so under load
 * notifications per message should fall far below 1.
 *
 * Compiled in only when esp_amp_queue.h defines AMPVQ_HAVE_EVENT_IDX (it
 * does); otherwise the entry below says why it is missing.
 */
#include "ampvq_common.h"

#if defined(AMPVQ_HAVE_EVENT_IDX)

/* ---- The only lines that name the suppression API: the extended init.
 * The sub core learns the choice from the queue's header (plain
 * esp_amp_queue_sub_init), and the remote re-arms by itself when a drain
 * finds the queue empty, so nothing else changes. */
static int suppress_main_init(esp_amp_queue_t *queue, uint16_t queue_len, uint16_t queue_item_size,
                              esp_amp_queue_cb_t cb_func, void *priv_data, bool is_master,
                              esp_amp_sys_info_id_t sysinfo_id)
{
    return esp_amp_queue_main_init_ex(queue, queue_len, queue_item_size, cb_func, priv_data, is_master, sysinfo_id,
                                      ESP_AMP_QUEUE_F_EVENT_IDX);
}
/* ------------------------------------------------------------------------- */

static int suppress_setup(const bench_params_t *p)
{
    return ampvq_intr_setup_with(p, suppress_main_init, NULL);
}

const bench_impl_t bench_impl_ampvq_suppress = {
    .name = "ampvq-suppress",
    .summary = "ampvq interrupt-driven with event-index notification suppression",
    .caps = BENCH_CAP_CALLBACK | BENCH_CAP_NOTIFY,
    .setup = suppress_setup,
    .start = ampvq_bench_start,
    .produce = ampvq_intr_produce,
    .ping_wait = ampvq_intr_ping_wait,
    .counters = ampvq_intr_counters,
    .teardown = ampvq_intr_teardown,
};

#else

const bench_impl_t bench_impl_ampvq_suppress = {
    .name = "ampvq-suppress",
    .summary = "ampvq interrupt-driven with event-index notification suppression",
    .missing = "esp_amp_queue.h has no AMPVQ_HAVE_EVENT_IDX (extended init with suppression)",
};

#endif
