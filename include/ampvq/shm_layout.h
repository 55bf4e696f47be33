/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The bytes two cores agree on: every struct that lives in shared memory.
 * Fixed-width fields only, addressed by 32-bit offsets from the shared-memory
 * base (never pointers), so 32- and 64-bit cores and cores that map the region
 * at different addresses read the same layout. tests/unit/test_abi.c pins
 * every offset and size. See docs/layout.md for the picture.
 */
#ifndef AMPVQ_SHM_LAYOUT_H
#define AMPVQ_SHM_LAYOUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** "AMVQ" little-endian: written last by the main core's esp_amp_init(). */
#define AMPVQ_REGION_MAGIC 0x51564d41u
/** Bumped whenever any struct in this file changes. */
#define AMPVQ_LAYOUT_VERSION 2u

/** Core numbers, also the index of each core's pending-interrupt word. */
#define AMPVQ_CORE_MAIN 0
#define AMPVQ_CORE_SUB  1

/** One sys_info directory entry. An entry is valid once its index is below
 *  ampvq_region_hdr_t::dir_count (published with a release store). */
typedef struct ampvq_sys_info_entry_t {
    uint16_t id; /**< esp_amp_sys_info_id_t */
    uint16_t reserved;
    uint32_t size;   /**< bytes in the block */
    uint32_t offset; /**< block start, from the shared-memory base */
} ampvq_sys_info_entry_t;

/** Region header at offset 0 of shared memory, followed directly by
 *  dir_capacity directory entries. Only the main core writes it. */
typedef struct ampvq_region_hdr_t {
    uint32_t magic;              /**< AMPVQ_REGION_MAGIC once initialised */
    uint16_t version;            /**< AMPVQ_LAYOUT_VERSION */
    uint16_t dir_capacity;       /**< entries that follow this header */
    uint32_t region_size;        /**< bytes of shared memory in use, from offset 0 */
    uint32_t dir_count;          /**< valid entries; release-published by the main core */
    uint32_t sw_intr_pending[2]; /**< pending software-interrupt bits, indexed by core */
    uint32_t session[2];         /**< each core's instance number, bumped by that core's
                                      esp_amp_init(); 0 = never attached (docs/sessions.md) */
} ampvq_region_hdr_t;

/** Header of a queue's sys_info block: then `len` descriptors, `desc_stride`
 *  bytes apart, at desc_off, then `len * item_size` bytes of buffers at
 *  buf_off, then the two roles' control words. Written by the main core
 *  before it release-publishes `len`; read once by the other side. */
typedef struct ampvq_queue_hdr_t {
    uint16_t len;         /**< slots, a power of two 1..32768; 0 until initialised */
    uint16_t item_size;   /**< bytes per buffer, a multiple of 4 */
    uint32_t desc_off;    /**< descriptor table, from the shared-memory base */
    uint32_t buf_off;     /**< first buffer, from the shared-memory base */
    uint16_t desc_stride; /**< bytes from one descriptor to the next: 8 (ESP-AMP's
                               packing), or a cache line in non-coherent builds */
    uint16_t features;    /**< AMPVQ_QUEUE_FEAT_* */
    uint32_t ctl_off[2];  /**< each role's ampvq_queue_ctl_t, indexed [0] remote,
                               [1] master; on lines of their own when the wake
                               words are used or caches are not coherent */
} ampvq_queue_hdr_t;

/** Control words of one role of a queue; only the core in that role writes
 *  them. */
typedef struct ampvq_queue_ctl_t {
    uint32_t wake;    /**< event index: notify me when you publish slot `wake`
                           (remote: the master's send index; master: the
                           remote's free index) */
    uint32_t session; /**< link session this core attached with (docs/sessions.md) */
} ampvq_queue_ctl_t;

/** ampvq_queue_hdr_t::features: the wake words are in use (event index). */
#define AMPVQ_QUEUE_FEAT_EVENT_IDX ((uint16_t)1u)

/** ampvq_queue_ctl_t::session bit: the sub core attached to a queue no
 *  session had used before (so the main core need not reset it). */
#define AMPVQ_SESSION_FRESH 0x80000000u

/** One slot of the descriptor table (ESP-AMP's name and bytes). The peer may
 *  rewrite it at any moment: readers load flags with acquire, then copy addr
 *  and len once and check the copy. */
typedef struct esp_amp_queue_desc_t {
    uint32_t addr;  /**< buffer, as an offset from the shared-memory base */
    uint16_t len;   /**< bytes of payload (meaningful on send) */
    uint16_t flags; /**< AMPVQ_DESC_F_AVAIL / AMPVQ_DESC_F_USED */
} esp_amp_queue_desc_t;

/** Descriptor flag bits (packed-virtqueue style, one wrap counter each). */
#define AMPVQ_DESC_F_AVAIL ((uint16_t)(1u << 7))
#define AMPVQ_DESC_F_USED  ((uint16_t)(1u << 15))

/** Largest queue length and item size. */
#define AMPVQ_QUEUE_LEN_MAX       32768u
#define AMPVQ_QUEUE_ITEM_SIZE_MAX 65532u

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_SHM_LAYOUT_H */
