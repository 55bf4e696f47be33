/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_queue_master / fuzz_queue_remote: one queue, both ends in this
 * thread; the side under test is the master (FUZZ_LOCAL_MASTER=1) or the
 * remote (0), on whichever core the input picks. The input is
 *
 *   scenario header (queue_engine.c: fz_queue_params)
 *     mode bits: dual mapping, tear, race, which core is master, notify /
 *     callback present, event words, a block before the queue
 *     queue length, item size, sysinfo id, region slack
 *   then operations, one byte each plus arguments: calls of the side
 *   under test (single, blocking with time-out 0, batch, stats, dump, link
 *   callback), well-behaved calls of the peer, raw descriptor, wake-word
 *   and session-word writes of the peer, bursts of round trips, caller
 *   mistakes, interrupts, queue header rewrites, a sub-core restart (same
 *   or new instance: the main core then resets the ring).
 *
 * In tear mode every descriptor load of the side under test may be
 * preceded and followed by peer writes taken from the input; in race mode
 * a second thread rewrites descriptors while each of its calls runs.
 */
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "queue_engine.h"

#ifndef FUZZ_LOCAL_MASTER
#error "build with -DFUZZ_LOCAL_MASTER=1 (master under test) or 0 (remote)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_engine_t e;
    fz_in_t in = {data, size};
    fz_queue_params_t p;

    fz_queue_params(&in, &p);
    p.local_main = FUZZ_LOCAL_MASTER ? p.main_master : !p.main_master;
    if (fz_queue_create(&e, &in, &p) && fz_queue_open_sub(&e, true, NULL) == ESP_OK) {
        fz_queue_run(&e);
    }
    fz_queue_finish(&e);
    return 0;
}
