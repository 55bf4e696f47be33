/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Checked sys_info directory calls; see fuzz_dir.h.
 */
#include <string.h>

#include "esp_err.h"
#include "esp_amp_sys_info.h"
#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/shm_layout.h"
#include "fuzz_dir.h"
#include "fuzz_ref.h"

#define OWN_DIR_END (FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES)

static uint8_t snap[FZ_SHM_MAX];
static uint8_t scratch[FZ_SHM_MAX];

/* The region header fields the core loaded during the current call. */
static struct {
    bool size, cap, count;
    uint32_t v_size, v_cap, v_count;
    bool poison; /* widen the readable directory as the header is read */
} seen;

/* Entries the core may read given the header it loaded: all below
 * dir_count if the header is consistent, none otherwise. */
static uint32_t allowed_entries(void)
{
    if (!seen.size || !seen.cap || !seen.count) {
        return 0;
    }
    uint64_t dir_end = FZ_HDR_BYTES + 12ull * seen.v_cap;
    bool ok = seen.v_count <= seen.v_cap && dir_end <= seen.v_size && seen.v_size <= fz_shm.size;
    return ok ? seen.v_count : 0;
}

static void observe(const uint8_t *field, unsigned size, uint64_t v, void *ctx)
{
    int64_t off = fz_offset_in(ampvq_port_core_id() & 1, field, size);

    (void)ctx;
    if (off == 8 && size == 4) {
        seen.size = true;
        seen.v_size = (uint32_t)v;
    } else if (off == 6 && size == 2) {
        seen.cap = true;
        seen.v_cap = (uint32_t)v;
    } else if (off == 12 && size == 4) {
        seen.count = true;
        seen.v_count = (uint32_t)v;
    } else {
        return;
    }
    if (seen.poison) {
        fz_unpoison(FZ_HDR_BYTES, FZ_HDR_BYTES + 12u * allowed_entries());
    }
}

static const fz_hook_cfg_t hooks = {.tear = fz_tear_field, .observe = observe};

/* Loads: 5 header fields, then 3 per entry it may read. */
static void check_reads(const char *what, const fz_call_stats_t *st)
{
    unsigned bound = 5u + 3u * allowed_entries();
    FZ_CHECK(st->reads <= bound, "%s loaded %u fields; the header it read allows %u", what, st->reads, bound);
    unsigned region_bound = 5u + 3u * ((fz_shm.size - FZ_HDR_BYTES) / 12u);
    FZ_CHECK(st->reads <= region_bound, "%s loaded %u fields, more than the region can hold", what, st->reads);
}

void fz_dir_lookup(int core, uint16_t id, unsigned variant, fz_in_t *tear)
{
    fz_ref_block_t ref;
    fz_call_stats_t st;
    void *p = NULL;
    uint32_t sz32 = 0;
    uint16_t sz16 = 0;

    fz_as_core(core);
    fz_snapshot(snap);
    fz_ref_find(snap, fz_shm.size, id, &ref);
    memset(&seen, 0, sizeof(seen));
    seen.poison = true;
    /* Only the header is readable until the core has read it. */
    fz_poison(FZ_HDR_BYTES, fz_shm.size);
    fz_call_begin(tear, &hooks);
    variant %= 4;
    switch (variant) {
    case 0:
        p = esp_amp_sys_info_lookup(id, &sz32);
        break;
    case 1:
        p = esp_amp_sys_info_get(id, &sz16);
        break;
    case 2:
        p = esp_amp_sys_info_get(id, NULL);
        break;
    default:
        p = esp_amp_sys_info_lookup(id, NULL);
        break;
    }
    fz_call_end(&st);
    seen.poison = false;
    fz_unpoison(FZ_HDR_BYTES, fz_shm.size);
    fz_as_core(AMPVQ_CORE_MAIN);

    check_reads("sys_info lookup", &st);
    FZ_CHECK(st.writes == 0, "sys_info lookup stored to shared memory");
    if (p != NULL) {
        int64_t off = fz_offset_in(core, p, 0);
        uint32_t len = variant == 0 ? sz32 : variant == 1 ? sz16 : 0;
        FZ_CHECK(off >= 0 && fz_offset_in(core, p, len) >= 0,
                 "sys_info lookup of %04x returned %p (+%u bytes): not inside core %d's view", (unsigned)id, p,
                 (unsigned)len, core);
        FZ_CHECK(off % 4 == 0, "sys_info lookup of %04x returned an unaligned block at %lld", (unsigned)id,
                 (long long)off);
        FZ_CHECK(seen.cap && off >= FZ_HDR_BYTES + 12ll * seen.v_cap,
                 "sys_info lookup of %04x returned a block at %lld, inside the directory it read", (unsigned)id,
                 (long long)off);
    }
    if (!st.tore) {
        int64_t d = fz_snapshot_diff(snap, NULL, 0);
        FZ_CHECK(d < 0, "sys_info lookup changed region byte %lld", (long long)d);
        FZ_CHECK((p != NULL) == (ref.rc == ESP_OK), "sys_info lookup of %04x returned %p; the directory says %s",
                 (unsigned)id, p, fz_code_name(ref.rc));
        if (p != NULL) {
            FZ_CHECK(p == fz_shm.view[core] + ref.off, "sys_info lookup of %04x: block %p, expected offset %u",
                     (unsigned)id, p, (unsigned)ref.off);
            FZ_CHECK(variant != 0 || sz32 == ref.size, "sys_info_lookup size %u, expected %u", (unsigned)sz32,
                     (unsigned)ref.size);
            FZ_CHECK(variant != 1 || sz16 == (ref.size > 0xffffu ? 0xffffu : ref.size),
                     "sys_info_get size %u, expected %u clamped to 16 bits", (unsigned)sz16, (unsigned)ref.size);
        }
    }
}

void fz_dir_alloc(int core, uint16_t id, uint32_t size, fz_in_t *tear)
{
    fz_dir_alloc_ex(core, id, size, false, tear);
}

void fz_dir_alloc_ex(int core, uint16_t id, uint32_t size, bool uncached, fz_in_t *tear)
{
    fz_ref_alloc_t ref;
    fz_call_stats_t st;

    fz_as_core(core);
    fz_snapshot(snap);
    fz_ref_alloc_ex(snap, fz_shm.size, id, size, uncached, &ref);
    bool want = ref.ok && core == AMPVQ_CORE_MAIN && id < SYS_INFO_RESERVED_ID;
    memset(&seen, 0, sizeof(seen));
    fz_call_begin(tear, &hooks);
    uint8_t *p = uncached ? esp_amp_sys_info_alloc_uncached(id, size) : esp_amp_sys_info_alloc(id, size);
    fz_call_end(&st);
    fz_as_core(AMPVQ_CORE_MAIN);

    check_reads("esp_amp_sys_info_alloc", &st);
    if (p == NULL) {
        FZ_CHECK(st.writes == 0, "esp_amp_sys_info_alloc failed but stored to shared memory");
        if (!st.tore) {
            int64_t d = fz_snapshot_diff(snap, NULL, 0);
            FZ_CHECK(d < 0, "esp_amp_sys_info_alloc failed but changed region byte %lld", (long long)d);
            FZ_CHECK(!want, "esp_amp_sys_info_alloc(%04x, %u) refused; there is room at %u", (unsigned)id,
                     (unsigned)size, (unsigned)ref.off);
        }
        return;
    }
    FZ_CHECK(core == AMPVQ_CORE_MAIN && id < SYS_INFO_RESERVED_ID && size != 0,
             "esp_amp_sys_info_alloc(%04x, %u) on core %d succeeded", (unsigned)id, (unsigned)size, core);
    int64_t off = fz_offset_in(core, p, size);
    FZ_CHECK(off >= 0, "esp_amp_sys_info_alloc(%04x, %u) returned %p: not inside the region", (unsigned)id,
             (unsigned)size, (void *)p);
    FZ_CHECK(off % AMPVQ_SYS_INFO_ALIGN == 0 && off >= OWN_DIR_END,
             "esp_amp_sys_info_alloc placed a block at %lld (unaligned or over the directory)", (long long)off);
    fz_raw_read(scratch, p, size);
    for (uint32_t i = 0; i < size; i++) {
        FZ_CHECK(scratch[i] == 0, "esp_amp_sys_info_alloc: byte %u of the new block is not zero", (unsigned)i);
    }
    FZ_CHECK(seen.count, "esp_amp_sys_info_alloc allocated without reading dir_count");
    uint32_t idx = seen.v_count;
    FZ_CHECK(idx < AMPVQ_SYS_INFO_MAX_ENTRIES, "esp_amp_sys_info_alloc wrote entry %u, past the directory",
             (unsigned)idx);
    const uint8_t *e = fz_shm.view[0] + FZ_HDR_BYTES + 12u * idx;
    FZ_CHECK(fz_raw_get(e, 2) == id && fz_raw_get(e + 2, 2) == 0 && fz_raw_get(e + 4, 4) == size &&
                 fz_raw_get(e + 8, 4) == (uint32_t)off,
             "esp_amp_sys_info_alloc: entry %u does not describe the block", (unsigned)idx);
    FZ_CHECK(fz_raw_get(fz_shm.view[0] + 12, 4) == idx + 1u, "esp_amp_sys_info_alloc: dir_count not %u",
             (unsigned)(idx + 1u));
    if (!st.tore) {
        FZ_CHECK(want && (uint32_t)off == ref.off, "esp_amp_sys_info_alloc placed the block at %lld, expected %s %u",
                 (long long)off, want ? "offset" : "a refusal, not", (unsigned)ref.off);
        fz_range_t ok[3] = {{12, 16},
                            {FZ_HDR_BYTES + 12u * idx, FZ_HDR_BYTES + 12u * idx + 12u},
                            {(uint32_t)off, (uint32_t)off + size}};
        int64_t d = fz_snapshot_diff(snap, ok, 3);
        FZ_CHECK(d < 0, "esp_amp_sys_info_alloc changed region byte %lld besides count, entry and block", (long long)d);
    }
}

void fz_dir_init_sub(fz_in_t *tear)
{
    fz_call_stats_t st;

    fz_as_core(AMPVQ_CORE_SUB);
    fz_snapshot(snap);
    int want = fz_ref_sys_info_init_sub(snap, fz_shm.size);
    memset(&seen, 0, sizeof(seen));
    fz_poison(FZ_HDR_BYTES, fz_shm.size); /* it checks the header only */
    fz_call_begin(tear, &hooks);
    int rc = esp_amp_sys_info_init();
    fz_call_end(&st);
    fz_unpoison(FZ_HDR_BYTES, fz_shm.size);
    fz_as_core(AMPVQ_CORE_MAIN);

    fz_expect("esp_amp_sys_info_init (sub)", rc, FZ_DOC_SYS_INFO_INIT);
    FZ_CHECK(st.reads <= 5 && st.writes == 0, "esp_amp_sys_info_init (sub) loaded %u and stored %u fields", st.reads,
             st.writes);
    if (!st.tore) {
        FZ_CHECK(rc == want, "esp_amp_sys_info_init (sub) returned %s; the header says %s", fz_code_name(rc),
                 fz_code_name(want));
        FZ_CHECK(fz_snapshot_diff(snap, NULL, 0) < 0, "esp_amp_sys_info_init (sub) changed the region");
    }
}

uint16_t fz_dir_pick_id(fz_in_t *in)
{
    uint8_t b = fz_u8(in);

    switch (b & 3u) {
    case 0: {
        uint32_t at = FZ_HDR_BYTES + 12u * ((b >> 2) % AMPVQ_SYS_INFO_MAX_ENTRIES);
        return at + 2u <= fz_shm.size ? (uint16_t)fz_raw_get(fz_shm.view[0] + at, 2) : 0u;
    }
    case 1:
        return (uint16_t)(SYS_INFO_RESERVED_ID + (b >> 2) % 8u);
    case 2:
        return fz_u16(in);
    default:
        return (uint16_t)(b >> 2);
    }
}
