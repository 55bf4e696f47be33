/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Checked calls of the sys_info directory API, shared by fuzz_sys_info and
 * fuzz_sub_init. Each runs one call with the shared-memory hooks armed
 * (tearing directory and header loads when `tear` is given) and checks:
 *  - it reads the region header and the directory entries below dir_count
 *    and nothing else (the rest of the region is poisoned for lookups),
 *    each field once, a number of fields bounded by the region's size;
 *  - a lookup writes nothing; an allocation writes only dir_count, the new
 *    entry and the new (zeroed) block;
 *  - what it returns lies inside the region, after the directory, aligned;
 *  - when nothing changed during the call, exactly the reference verdict
 *    (fuzz_ref.c) on a snapshot taken before it.
 */
#ifndef AMPVQ_FUZZ_DIR_H
#define AMPVQ_FUZZ_DIR_H

#include <stdint.h>

#include "fuzz_common.h"

/* Look `id` up on `core`: variant 0 esp_amp_sys_info_lookup() with a
 * size, 1 esp_amp_sys_info_get() with a size, 2 get() without, 3 lookup()
 * without. */
void fz_dir_lookup(int core, uint16_t id, unsigned variant, fz_in_t *tear);

/* esp_amp_sys_info_alloc(id, size) on `core`. */
void fz_dir_alloc(int core, uint16_t id, uint32_t size, fz_in_t *tear);
/* ... or esp_amp_sys_info_alloc_uncached(id, size) when `uncached`. */
void fz_dir_alloc_ex(int core, uint16_t id, uint32_t size, bool uncached, fz_in_t *tear);

/* esp_amp_sys_info_init() on the sub core (a check of the header). */
void fz_dir_init_sub(fz_in_t *tear);

/* An id worth asking for: one present in the directory, a reserved one,
 * or any. */
uint16_t fz_dir_pick_id(fz_in_t *in);

#endif /* AMPVQ_FUZZ_DIR_H */
