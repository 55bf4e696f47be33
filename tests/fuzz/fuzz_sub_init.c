/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sub_init: the sub core bringing itself up against shared memory the
 * main core wrote and then anybody corrupted. The input is
 *
 *   scenario header as for the queue targets (fz_queue_params): mapping,
 *     tear, race, roles, callbacks, event words, event index, geometry
 *   one byte: bit 0 run the full esp_amp_init() on the sub core (its
 *     interrupt thread included) rather than its parts; bits 1..4 the
 *     number of patches
 *   patches: region header fields, directory entries, the queue header
 *     (len, item size, offsets, descriptor stride, features, control-word
 *     offsets), descriptors, wake and session words, raw words
 *     (fuzz_ref.c: fz_patch)
 *   then, on the sub core: esp_amp_init() (or esp_amp_sys_info_init() and
 *   the event words' lookups), esp_amp_sys_info_get() of the queue's id,
 *   esp_amp_queue_sub_init(), and when that succeeds the queue operations
 *   of the other targets, the sub core's side being the one under test.
 *
 * Invariants: every call returns a documented code and, when no byte
 * changed under it, exactly the code the reference reading of the bytes
 * gives (fuzz_ref.c); a queue the sub core accepts lies inside the region,
 * after the directory, its areas not overlapping; the directory and header
 * are read each field once, only the entries below dir_count, in a number
 * of loads bounded by the region; then the queue invariants of
 * queue_engine.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_amp.h"
#include "ampvq/shm_layout.h"
#include "fuzz_common.h"
#include "fuzz_dir.h"
#include "fuzz_ref.h"
#include "queue_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t snap[FZ_SHM_MAX];

/* The sub core's esp_amp_init(): the sum of its steps, each checked. */
static void sub_amp_init(fz_in_t *tear, bool full)
{
    fz_as_core(AMPVQ_CORE_SUB);
    fz_snapshot(snap);
    int want = fz_ref_sys_info_init_sub(snap, fz_shm.size);
    if (want == ESP_OK) {
        /* sw_intr: arms the interrupt (the port's thread); events: both
         * words must be found. */
        want = fz_ref_event_init_sub(snap, fz_shm.size);
    }
    if (!full) {
        fz_dir_init_sub(tear);
        /* Two lookups, each reading the header: checked one by one. */
        fz_dir_lookup(AMPVQ_CORE_SUB, SYS_INFO_RESERVED_ID_EVENT_MAIN, 0, tear);
        fz_dir_lookup(AMPVQ_CORE_SUB, SYS_INFO_RESERVED_ID_EVENT_SUB, 0, tear);
        fz_as_core(AMPVQ_CORE_SUB);
        fz_snapshot(snap);
        int rc = esp_amp_event_init();
        fz_as_core(AMPVQ_CORE_MAIN);
        fz_expect("esp_amp_event_init (sub)", rc, FZ_DOC_EVENT_INIT);
        FZ_CHECK(rc == fz_ref_event_init_sub(snap, fz_shm.size),
                 "esp_amp_event_init (sub) returned %s against the directory", fz_code_name(rc));
        return;
    }
    /* esp_amp_init() reads the header several times (once per step), so
     * the once-per-call rule does not apply to it as a whole: no hooks. */
    int rc = esp_amp_init();
    fz_as_core(AMPVQ_CORE_MAIN);
    fz_expect("esp_amp_init (sub)", rc, FZ_DOC_AMP_INIT);
    FZ_CHECK(rc == want, "esp_amp_init (sub) returned %s; the region says %s", fz_code_name(rc), fz_code_name(want));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_engine_t e;
    fz_in_t in = {data, size};
    fz_queue_params_t p;

    fz_queue_params(&in, &p);
    p.local_main = false; /* the sub core's side is under test */
    uint8_t b = fz_u8(&in);
    bool full = b & 1u;
    unsigned patches = (b >> 1) % 16u;
    if (fz_queue_create(&e, &in, &p)) {
        /* The sub core's interrupt thread, once esp_amp_init() started
         * it, runs its handlers on its own: keep interrupts out of the
         * operations (they have their own checks in the queue targets). */
        e.no_intr = true;
        fz_patch_ctx_t ctx = {.has_queue = true,
                              .block_off = e.block_off,
                              .desc_off = e.side[AMPVQ_CORE_MAIN].desc_off,
                              .n = e.side[AMPVQ_CORE_MAIN].n,
                              .stride = e.side[AMPVQ_CORE_MAIN].stride,
                              .evt = e.evt,
                              .ctl = {e.ctl_off[0], e.ctl_off[1]}};
        for (unsigned i = 0; i < patches; i++) {
            fz_patch(&in, &ctx);
        }
        fz_in_t *tear = p.tear ? &in : NULL;
        if (patches > 0 || tear != NULL) {
            /* Patched, or about to be torn: the header may no longer be the
             * one main_init wrote, nor the queue what the model assumes. */
            e.tainted = true;
            e.hdr_dirty = true;
        }
        sub_amp_init(tear, full);
        fz_dir_lookup(AMPVQ_CORE_SUB, p.qid, 1, tear);
        /* Torn lookups above may have left changed bytes behind. */
        if (fz_queue_open_sub(&e, patches == 0 && tear == NULL, tear) == ESP_OK) {
            fz_queue_run(&e);
        }
    }
    fz_queue_finish(&e);
    return 0;
}
