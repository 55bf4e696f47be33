/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sys_info: the sys_info directory against a peer that writes any
 * bytes into the region header and directory. The input is
 *
 *   mode: bit 0 dual mapping, bit 1 tear (directory / header loads may be
 *         rewritten just before and after they happen), bit 2 raw (header
 *         and directory bytes straight from the input, with optional
 *         fix-ups) instead of built by the main core, bit 3 a large region
 *   region size
 *   raw bytes and fix-ups, or: allocations by the main core, then patches
 *   then operations: lookups (lookup / get, with and without a size) on
 *   either core, allocations on either core, the sub core's header check,
 *   more patches, queue creation on the main core and opening on the sub
 *   core.
 *
 * Invariants (fuzz_dir.h): each call reads only the header and the entries
 * below dir_count, each field once, a number bounded by the region; a
 * lookup writes nothing; an allocation writes only the count, its entry and
 * its zeroed block; every block returned lies in the region after the
 * directory; undisturbed calls match the reference reading of the bytes;
 * queue calls return documented codes and accept only queues that fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_err.h"
#include "esp_amp.h"
#include "ampvq/config.h"
#include "ampvq/shm_layout.h"
#include "fuzz_common.h"
#include "fuzz_dir.h"
#include "fuzz_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OWN_DIR_END (FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES)

static uint8_t snap[FZ_SHM_MAX];
static const fz_hook_cfg_t field_tear = {.tear = fz_tear_field};

static uint32_t alloc_size(fz_in_t *in)
{
    uint8_t b = fz_u8(in);
    switch (b & 3u) {
    case 0:
        return b >> 2; /* small, including 0 */
    case 1:
        return fz_u16(in);
    case 2:
        return fz_u32(in);
    default:
        return 4u * (b >> 2);
    }
}

/* The main core creates a queue in the (maybe corrupted) directory, then
 * the sub core opens whatever block has that id. */
static void queue_ops(fz_in_t *in, fz_in_t *tear)
{
    static esp_amp_queue_t mq, sq;
    uint16_t id = fz_dir_pick_id(in);
    uint16_t len = (uint16_t)(1u + fz_u8(in) % 64u);
    uint16_t item = (uint16_t)(1u + fz_u8(in));
    uint8_t flags = fz_u8(in);

    if (flags & 1u) {
        fz_as_core(AMPVQ_CORE_MAIN);
        fz_snapshot(snap);
        uint32_t len2 = 1, item4 = (item + 3u) & ~3u;
        while (len2 < len) {
            len2 <<= 1;
        }
        fz_ref_alloc_t ref;
        fz_ref_alloc(snap, fz_shm.size, id, 16u + 8u * len2 + len2 * item4, &ref);
        fz_call_begin(tear, &field_tear);
        int rc = esp_amp_queue_main_init(&mq, len, item, NULL, NULL, flags & 2u, (esp_amp_sys_info_id_t)id);
        fz_call_stats_t st;
        fz_call_end(&st);
        fz_as_core(AMPVQ_CORE_MAIN);
        fz_expect("esp_amp_queue_main_init (on a directory the sub core wrote)", rc,
                  st.tore ? FZ_MAIN_INIT_TORN : FZ_MAIN_INIT_ON_CORRUPT_DIR);
        if (!st.tore) {
            fz_expect("esp_amp_queue_main_init (against the directory)", rc, ref.ok ? FZ_C_OK : ref.why);
        }
        if (rc == ESP_OK) {
            int64_t d = fz_offset_in(AMPVQ_CORE_MAIN, mq.desc, 8u * mq.size);
            FZ_CHECK(d >= OWN_DIR_END, "esp_amp_queue_main_init: descriptors at %lld", (long long)d);
            fz_check_geometry("esp_amp_queue_main_init", mq.size, mq.item_size, (uint32_t)d, mq.buf_off);
        }
    }
    fz_as_core(AMPVQ_CORE_SUB);
    fz_snapshot(snap);
    fz_ref_queue_t ref;
    fz_ref_queue(snap, fz_shm.size, id, &ref);
    fz_call_begin(tear, &field_tear);
    int rc = esp_amp_queue_sub_init(&sq, NULL, NULL, flags & 4u, (esp_amp_sys_info_id_t)id);
    fz_call_stats_t st;
    fz_call_end(&st);
    fz_as_core(AMPVQ_CORE_MAIN);
    fz_expect("esp_amp_queue_sub_init", rc, FZ_DOC_SUB_INIT);
    FZ_CHECK(st.writes == 0, "esp_amp_queue_sub_init stored to shared memory");
    if (rc == ESP_OK) {
        int64_t d = fz_offset_in(AMPVQ_CORE_SUB, sq.desc, 8u * sq.size);
        FZ_CHECK(d >= 0, "esp_amp_queue_sub_init: descriptor table outside the region");
        fz_check_geometry("esp_amp_queue_sub_init", sq.size, sq.item_size, (uint32_t)d, sq.buf_off);
    }
    if (!st.tore) {
        FZ_CHECK(rc == ref.rc, "esp_amp_queue_sub_init returned %s; the bytes say %s", fz_code_name(rc),
                 fz_code_name(ref.rc));
        if (rc == ESP_OK) {
            FZ_CHECK(sq.size == ref.n && sq.item_size == ref.item && sq.buf_off == ref.buf_off &&
                         sq.desc == (void *)(fz_shm.view[1] + ref.desc_off),
                     "esp_amp_queue_sub_init adopted another geometry than the header's");
        }
    }
}

static void build(fz_in_t *in, bool raw)
{
    if (raw) {
        /* Header and directory from the input, then fix-ups that make the
         * deeper checks reachable without guessing a magic number. */
        uint32_t n = fz_u16(in) % (OWN_DIR_END + 64u);
        n = n > fz_shm.size ? fz_shm.size : n;
        n = n > in->n ? (uint32_t)in->n : n;
        fz_raw_write(fz_shm.view[0], in->p, n);
        in->p += n;
        in->n -= n;
        uint8_t fix = fz_u8(in);
        if (fix & 1u) {
            fz_raw_put(fz_shm.view[0], 4, AMPVQ_REGION_MAGIC);
        }
        if (fix & 2u) {
            fz_raw_put(fz_shm.view[0] + 4, 2, AMPVQ_LAYOUT_VERSION);
        }
        if (fix & 4u) {
            fz_raw_put(fz_shm.view[0] + 6, 2, AMPVQ_SYS_INFO_MAX_ENTRIES);
        }
        if (fix & 8u) {
            fz_raw_put(fz_shm.view[0] + 8, 4, fz_shm.size);
        }
        if (fix & 16u) {
            fz_raw_put(fz_shm.view[0] + 12, 4, (fix >> 5) * 4u);
        }
        return;
    }
    fz_as_core(AMPVQ_CORE_MAIN);
    int rc = esp_amp_sys_info_init();
    fz_expect("esp_amp_sys_info_init (main)", rc,
              fz_shm.size < OWN_DIR_END + AMPVQ_SYS_INFO_ALIGN ? FZ_C_INVALID_SIZE : FZ_C_OK);
    unsigned allocs = fz_u8(in) % 8u;
    for (unsigned i = 0; i < allocs; i++) {
        uint16_t id = fz_u8(in);
        fz_dir_alloc(AMPVQ_CORE_MAIN, id, alloc_size(in), NULL);
    }
    fz_patch_ctx_t ctx = {0};
    unsigned patches = fz_u8(in) % 8u;
    for (unsigned i = 0; i < patches; i++) {
        fz_patch(in, &ctx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t mode = fz_u8(&in);
    uint32_t region = (mode & 8u) ? fz_u32(&in) : fz_u16(&in) % 8192u;
    region = 2u * FZ_HDR_BYTES + region % (FZ_SHM_MAX - 2u * FZ_HDR_BYTES + 1u);
    fz_in_t *tear = (mode & 2u) ? &in : NULL;
    fz_patch_ctx_t ctx = {0};

    fz_shm_open(region, mode & 1u);
    build(&in, mode & 4u);
    while (in.n > 0) {
        uint8_t op = fz_u8(&in);
        switch (op % 8) {
        case 0:
        case 1: {
            uint16_t id = fz_dir_pick_id(&in);
            fz_dir_lookup(AMPVQ_CORE_SUB, id, op >> 3, tear);
            break;
        }
        case 2: {
            uint16_t id = fz_dir_pick_id(&in);
            fz_dir_lookup(AMPVQ_CORE_MAIN, id, op >> 3, tear);
            break;
        }
        case 3: {
            uint16_t id = fz_dir_pick_id(&in);
            fz_dir_alloc(AMPVQ_CORE_MAIN, id, alloc_size(&in), tear);
            break;
        }
        case 4: {
            uint16_t id = fz_dir_pick_id(&in);
            fz_dir_alloc(AMPVQ_CORE_SUB, id, alloc_size(&in), tear);
            fz_dir_init_sub(tear);
            break;
        }
        case 5:
            fz_patch(&in, &ctx);
            break;
        default:
            queue_ops(&in, tear);
            break;
        }
    }
    fz_shm_close();
    return 0;
}
