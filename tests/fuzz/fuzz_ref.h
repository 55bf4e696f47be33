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

#include "ampvq/config.h"
#include "fuzz_common.h"

/* ------------------------------------------------------ queue layout */

/*
 * Layout version 2 of a queue block (include/ampvq/shm_layout.h): a 24-byte
 * header {u16 len, u16 item_size, u32 desc_off, u32 buf_off, u16
 * desc_stride, u16 features, u32 ctl_off[2]}, `len` descriptors
 * desc_stride bytes apart, `len * item_size` bytes of buffers, then the two
 * roles' control words ampvq_queue_ctl_t {u32 wake; u32 session;}, always
 * present: [0] written by the remote, [1] by the master (its wake word
 * starts at 0x80000000). A coherent build packs descriptors 8 bytes apart
 * right after the header, rounds items to 4 and, without the event index,
 * puts both control structs next to each other, 8-aligned; with the event
 * index (or in a non-coherent build) each takes a cache line of its own.
 * A non-coherent build also gives every descriptor, the descriptor table
 * and every item whole cache lines.
 */
#define FZ_QHDR_BYTES 24u
#define FZ_WAKE_NEVER 0x80000000u
#define FZ_FEAT_EVENT_IDX 1u
#define FZ_SESSION_FRESH 0x80000000u
/* Region header: each core's instance number. */
#define FZ_REGION_SESSION(core) (24u + 4u * (uint32_t)(core))
#if AMPVQ_CACHE_COHERENT
#define FZ_DESC_STRIDE 8u
#define FZ_DESC_REL    24u
#define FZ_ITEM_ALIGN  4u
#else
#define FZ_DESC_STRIDE ((uint32_t)AMPVQ_CACHE_LINE)
#define FZ_DESC_REL    ((uint32_t)AMPVQ_CACHE_LINE)
#define FZ_ITEM_ALIGN  ((uint32_t)AMPVQ_CACHE_LINE)
#endif

/* Geometry of one queue: what a handle adopts, what a header says. */
typedef struct {
    uint32_t n, item, stride, desc_off, buf_off;
    bool evt;        /* features has the event-index bit */
    uint32_t ctl[2]; /* ctl_off[0] (remote's control words), [1] (master's) */
} fz_qgeom_t;

/* The block esp_amp_queue_main_init_ex(len, item, evt) lays out, offsets
 * relative to the block: ctl_rel the remote's control words, ctl_rel +
 * ctl_step the master's. False when the arguments are refused. */
typedef struct {
    uint32_t n, item, desc_rel, buf_rel, ctl_rel, ctl_step, total;
    uint32_t buf_end; /* relative end of the buffers */
    bool own_lines;   /* control structs on lines of their own */
} fz_ref_layout_t;

/* Where the control structs of a block at `block_off` are: lines of memory
 * (not of the block) when on lines of their own, else 8-aligned after the
 * buffers. ctl[0] the remote's, ctl[1] the master's. */
void fz_ref_ctl(const fz_ref_layout_t *l, uint32_t block_off, uint32_t ctl[2]);

/* Field by field (the struct has padding). */
bool fz_qgeom_eq(const fz_qgeom_t *a, const fz_qgeom_t *b);

bool fz_ref_layout(uint32_t queue_len, uint32_t item_size, bool evt, fz_ref_layout_t *l);

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
 * must adopt (and, when it accepts, the session word it must store for
 * role `master`: fz_ref_attach()). */
typedef struct {
    int rc;
    fz_qgeom_t g;
} fz_ref_queue_t;

void fz_ref_queue(const uint8_t *snap, uint32_t shm_size, uint16_t id, fz_ref_queue_t *q);

/* The session word the sub core stores in its role's control words when it
 * opens a queue (docs: queue_link.c): the instance number of region
 * session[SUB] (without the fresh bit), kept as it is when the word already
 * holds that instance, with AMPVQ_SESSION_FRESH when the word was 0. */
uint32_t fz_ref_attach(uint32_t region_sub_session, uint32_t old_word);

/* Expected esp_amp_sys_info_init() and esp_amp_event_init() on the sub core. */
int fz_ref_sys_info_init_sub(const uint8_t *snap, uint32_t shm_size);
int fz_ref_event_init_sub(const uint8_t *snap, uint32_t shm_size);

/* Non-coherent builds keep the bytes below AMPVQ_SHM_UNCACHED_BYTES for the
 * header, the directory and blocks of atomic words (the event words,
 * esp_amp_sys_info_alloc_uncached()); every other block starts after them.
 * Coherent builds: 0, one arena. The region must hold the directory and
 * the uncached prefix plus one alignment unit. */
#if AMPVQ_CACHE_COHERENT
#define FZ_UNCACHED_END 0u
#else
#define FZ_UNCACHED_END ((uint32_t)AMPVQ_SHM_UNCACHED_BYTES)
#endif
#define FZ_MIN_REGION                                                                                                  \
    ((FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES > FZ_UNCACHED_END                                     \
          ? FZ_HDR_BYTES + 12u * (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES                                                  \
          : FZ_UNCACHED_END) +                                                                                         \
     (uint32_t)AMPVQ_SYS_INFO_ALIGN)

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
/* The same in the uncached arena (event words, esp_amp_sys_info_alloc_uncached()). */
void fz_ref_alloc_ex(const uint8_t *snap, uint32_t shm_size, uint16_t id, uint32_t size, bool uncached,
                     fz_ref_alloc_t *a);

/* Geometry checks every accepted queue must pass, whatever the bytes said:
 * both areas inside the region after the region header, aligned to the
 * build's item alignment, not overlapping; n a power of two <= 32768; item
 * a non-zero multiple of the item alignment; the stride a power of two
 * from the build's minimum to 256; both control structs (8 bytes) inside
 * the region, 4-aligned. Fails the input (fz_fail) otherwise. */
void fz_check_geometry(const char *who, const fz_qgeom_t *g);

/* ------------------------------------------------------- corruption */

/* A new value for a `size`-byte field holding `cur`: near it, a bit flip,
 * 0, all ones, near the region size, or raw. */
uint32_t fz_field_value(fz_in_t *in, uint32_t cur, unsigned size);

/* Where the queue lives, for patches aimed at its header and descriptors. */
typedef struct {
    bool has_queue;
    uint32_t block_off; /* queue header */
    uint32_t desc_off;
    uint32_t n, stride;
    bool evt;
    uint32_t ctl[2]; /* control structs: [0] remote's, [1] master's */
} fz_patch_ctx_t;

/* One corruption of the region, as the other core could write it: a region
 * header field (session words included), a directory entry field (or a
 * copy of one entry over another), a queue header field (any of the eight,
 * or a plausible stride / feature / control-word offset), a descriptor
 * field, a wake or session word or raw bytes. */
void fz_patch(fz_in_t *in, const fz_patch_ctx_t *ctx);

/* Tear hook for region / directory / queue-header loads: may rewrite the
 * loaded field just before the load and again just after it. */
bool fz_tear_field(uint8_t *field, unsigned size, bool before, fz_in_t *in, void *ctx);

#endif /* AMPVQ_FUZZ_REF_H */
