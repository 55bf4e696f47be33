/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * A reference reading of the shared-memory directory and queue header,
 * written from docs/layout.md (not from src/), for differential checks:
 * when no byte changed during a call, the core must reach exactly the
 * verdict the reference reaches from a snapshot of the region. Plus the
 * corruption generators shared by fuzz_sub_init and fuzz_sys_info.
 */
#ifndef AMPVQ_FUZZ_REF_H
#define AMPVQ_FUZZ_REF_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"

/* Region header as the sub core must judge it. rc: ESP_OK,
 * ESP_ERR_INVALID_STATE (no magic yet) or ESP_ERR_INVALID_RESPONSE. */
typedef struct {
    int rc;
    uint32_t size, cap, count, dir_end;
} fz_ref_region_t;

void fz_ref_region(const uint8_t *snap, uint32_t shm_size, fz_ref_region_t *r);

/* Directory lookup. rc: ESP_OK, ESP_ERR_NOT_FOUND, ESP_ERR_INVALID_STATE,
 * ESP_ERR_INVALID_RESPONSE (header or the matching entry out of bounds). */
typedef struct {
    int rc;
    uint32_t off, size;
} fz_ref_block_t;

void fz_ref_find(const uint8_t *snap, uint32_t shm_size, uint16_t id, fz_ref_block_t *b);

/* esp_amp_queue_sub_init()'s verdict on block `id` and the geometry it
 * must adopt. */
typedef struct {
    int rc;
    uint32_t n, item, desc_off, buf_off;
} fz_ref_queue_t;

void fz_ref_queue(const uint8_t *snap, uint32_t shm_size, uint16_t id, fz_ref_queue_t *q);

/* Expected esp_amp_sys_info_init() and esp_amp_event_init() on the sub core. */
int fz_ref_sys_info_init_sub(const uint8_t *snap, uint32_t shm_size);
int fz_ref_event_init_sub(const uint8_t *snap, uint32_t shm_size);

/* Main core's allocation of `size` bytes under `id` in a directory the sub
 * core may have scribbled on: ok and the block's offset, else refused, with
 * every reason that applies (FZ_C_* bits: INVALID_ARG id 0xffff,
 * INVALID_SIZE size 0, INVALID_STATE region not initialised or id taken,
 * INVALID_RESPONSE header or an entry corrupt, NO_MEM no room or no free
 * entry). Which of several reasons a call reports is the core's choice. */
typedef struct {
    bool ok;
    uint32_t why;
    uint32_t off;
    uint32_t index; /* directory slot the new entry goes into */
} fz_ref_alloc_t;

void fz_ref_alloc(const uint8_t *snap, uint32_t shm_size, uint16_t id, uint32_t size, fz_ref_alloc_t *a);

/* Geometry checks every accepted queue must pass, whatever the bytes said:
 * both areas inside the region after the region header, 4-byte aligned,
 * not overlapping; n a power of two <= 32768; item a non-zero multiple of
 * 4. Fails the input (fz_fail) otherwise. */
void fz_check_geometry(const char *who, uint32_t n, uint32_t item, uint32_t desc_off, uint32_t buf_off);

/* ------------------------------------------------------- corruption */

/* A new value for a `size`-byte field holding `cur`: near it, a bit flip,
 * 0, all ones, near the region size, or raw. */
uint32_t fz_field_value(fz_in_t *in, uint32_t cur, unsigned size);

/* Where the queue lives, for patches aimed at its header and descriptors. */
typedef struct {
    bool has_queue;
    uint32_t block_off; /* queue header */
    uint32_t desc_off;
    uint32_t n;
} fz_patch_ctx_t;

/* One corruption of the region, as the other core could write it: a region
 * header field, a directory entry field (or a copy of one entry over
 * another), a queue header field, a descriptor field or raw bytes. */
void fz_patch(fz_in_t *in, const fz_patch_ctx_t *ctx);

/* Tear hook for region / directory / queue-header loads: may rewrite the
 * loaded field just before the load and again just after it. */
bool fz_tear_field(uint8_t *field, unsigned size, bool before, fz_in_t *in, void *ctx);

#endif /* AMPVQ_FUZZ_REF_H */
