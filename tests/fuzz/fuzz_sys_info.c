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
 *   more patches, queue creation on the main core (with or without the
 *   event index) and opening on the sub core.
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

/* Geometry of an open handle (fields of esp_amp_queue_t). */
static fz_qgeom_t handle_geom(int core, const esp_amp_queue_t *q, bool master)
{
    fz_qgeom_t g = {.n = q->size, .item = q->item_size, .stride = 1u << q->desc_shift, .buf_off = q->buf_off};
    int64_t d = fz_offset_in(core, q->desc, (uint64_t)g.stride * g.n);
    FZ_CHECK(d >= 0, "queue init: descriptor table %p outside core %d's view", (void *)q->desc, core);
    g.desc_off = (uint32_t)d;
    FZ_CHECK((q->wake_own != NULL) == (q->wake_peer != NULL), "queue init: one wake word without the other");
    /* The control structs, from the session words (second field). */
    int64_t own = fz_offset_in(core, q->sess_own, 4) - 4, peer = fz_offset_in(core, q->sess_peer, 4) - 4;
    FZ_CHECK(own >= 0 && peer >= 0, "queue init: session words outside core %d's view", core);
    g.ctl[master ? 1 : 0] = (uint32_t)own;
    g.ctl[master ? 0 : 1] = (uint32_t)peer;
    if (q->wake_own != NULL) {
        FZ_CHECK(fz_offset_in(core, q->wake_own, 4) == own && fz_offset_in(core, q->wake_peer, 4) == peer,
                 "queue init: wake words are not the first words of the control structs");
        g.evt = true;
    }
    return g;
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
    bool evt = flags & 8u;

    if (flags & 1u) {
        fz_as_core(AMPVQ_CORE_MAIN);
        fz_snapshot(snap);
        fz_ref_layout_t lay;
        FZ_CHECK(fz_ref_layout(len, item, evt, &lay), "harness: layout of %u x %u refused", len, item);
        fz_ref_alloc_t ref;
        fz_ref_alloc(snap, fz_shm.size, id, lay.total, &ref);
        fz_call_begin(tear, &field_tear);
        int rc = esp_amp_queue_main_init_ex(&mq, len, item, NULL, NULL, flags & 2u, (esp_amp_sys_info_id_t)id,
                                            evt ? ESP_AMP_QUEUE_F_EVENT_IDX : 0u);
        fz_call_stats_t st;
        fz_call_end(&st);
        fz_as_core(AMPVQ_CORE_MAIN);
        fz_expect("esp_amp_queue_main_init_ex (on a directory the sub core wrote)", rc,
                  st.tore ? FZ_MAIN_INIT_TORN : FZ_MAIN_INIT_ON_CORRUPT_DIR);
        if (!st.tore) {
            fz_expect("esp_amp_queue_main_init_ex (against the directory)", rc, ref.ok ? FZ_C_OK : ref.why);
        }
        if (rc == ESP_OK) {
            fz_qgeom_t g = handle_geom(AMPVQ_CORE_MAIN, &mq, flags & 2u);
            FZ_CHECK(g.desc_off >= OWN_DIR_END, "esp_amp_queue_main_init_ex: descriptors at %u", (unsigned)g.desc_off);
            fz_check_geometry("esp_amp_queue_main_init_ex", &g);
            if (!st.tore) {
                fz_qgeom_t exp = {.n = lay.n,
                                  .item = lay.item,
                                  .stride = FZ_DESC_STRIDE,
                                  .desc_off = ref.off + lay.desc_rel,
                                  .buf_off = ref.off + lay.buf_rel,
                                  .evt = evt,
                                  .ctl = {0, 0}};
                fz_ref_ctl(&lay, ref.off, exp.ctl);
                FZ_CHECK(fz_qgeom_eq(&g, &exp),
                         "esp_amp_queue_main_init_ex: the handle's geometry is not the layout's");
            }
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
    fz_qgeom_t g = {0};
    /* The stores it may make when it opens: its role's session word, and
     * (attaching after a restart, event index) its own wake word. */
    uint32_t sess = 0;
    if (rc == ESP_OK) {
        g = handle_geom(AMPVQ_CORE_SUB, &sq, flags & 4u);
        fz_check_geometry("esp_amp_queue_sub_init", &g);
        sess = g.ctl[(flags & 4u) ? 1 : 0] + 4u;
    }
    FZ_CHECK(st.writes <= (rc == ESP_OK ? 2u : 0u), "esp_amp_queue_sub_init made %u stores (%s)", st.writes,
             fz_code_name(rc));
    for (unsigned i = 0; i < st.nlog && i < FZ_MAX_ACCESS_LOG; i++) {
        bool wake = rc == ESP_OK && sq.wake_own != NULL && st.log[i].off == sess - 4u;
        FZ_CHECK(!st.log[i].store || ((st.log[i].off == sess || wake) && st.log[i].size == 4),
                 "esp_amp_queue_sub_init stored %u bytes at %u, not its session word at %u", (unsigned)st.log[i].size,
                 (unsigned)st.log[i].off, (unsigned)sess);
    }
    if (rc == ESP_OK && !st.tore) {
        uint32_t want = fz_ref_attach(fz_raw_get(snap + FZ_REGION_SESSION(AMPVQ_CORE_SUB), 4),
                                      fz_raw_get(snap + sess, 4));
        uint32_t got = fz_raw_get(fz_shm.view[0] + sess, 4);
        FZ_CHECK(got == want, "esp_amp_queue_sub_init left its session word at %08x, not %08x", (unsigned)got,
                 (unsigned)want);
    }
    if (!st.tore) {
        FZ_CHECK(rc == ref.rc, "esp_amp_queue_sub_init returned %s; the bytes say %s", fz_code_name(rc),
                 fz_code_name(ref.rc));
        if (rc == ESP_OK) {
            FZ_CHECK(fz_qgeom_eq(&g, &ref.g),
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
              fz_shm.size < FZ_MIN_REGION ? FZ_C_INVALID_SIZE : FZ_C_OK);
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
            fz_dir_alloc_ex(AMPVQ_CORE_MAIN, id, alloc_size(&in), (op >> 3) & 1u, tear);
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
