/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * sys_info: a directory of shared-memory blocks keyed by a 16-bit id. The
 * main core allocates blocks (before it starts the sub core, or at least
 * before the sub core looks them up); the sub core only looks them up, and
 * checks every directory entry against the region's bounds, because shared
 * memory is writable by the other core.
 */
#ifndef ESP_AMP_SYS_INFO_H
#define ESP_AMP_SYS_INFO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Block ids. Applications use 0x0000..0xfeff; 0xff00 and up are reserved. */
typedef enum {
    SYS_INFO_RESERVED_ID = 0xff00,
    SYS_INFO_RESERVED_ID_EVENT_MAIN, /**< events notified by the main core */
    SYS_INFO_RESERVED_ID_EVENT_SUB,  /**< events notified by the sub core */
    SYS_INFO_RESERVED_ID_VQUEUE,     /**< the RPMsg virtqueue */
    SYS_INFO_RESERVED_ID_SYSTEM,     /**< system services */
    SYS_INFO_RESERVED_ID_PM,         /**< power management */
    SYS_INFO_ID_MAX = 0xffff,        /**< never a valid id */
} esp_amp_sys_info_id_t;

/**
 * @brief Initialise (main core) or check (sub core) the region header and
 *        directory. Called by esp_amp_init(); call it yourself only when not
 *        using esp_amp_init().
 *
 * Main core: clears the directory and writes the header, publishing the
 * magic last. Sub core: checks magic, version and that the header and
 * directory fit in the port's shared memory.
 *
 * @retval ESP_OK                   ready
 * @retval ESP_ERR_INVALID_SIZE     shared memory too small for the header
 * @retval ESP_ERR_INVALID_STATE    (sub) the main core has not initialised it
 * @retval ESP_ERR_INVALID_RESPONSE (sub) the header is corrupt or a different
 *                                  layout version
 */
int esp_amp_sys_info_init(void);

/**
 * @brief Allocate a zeroed block of shared memory under `info_id`.
 *
 * Main core only, task context. The block is aligned to AMPVQ_SYS_INFO_ALIGN
 * and published to the sub core before this returns.
 *
 * @param info_id application id, 0x0000..0xfeff
 * @param size    bytes (32-bit sizes are supported; 0 is refused)
 * @return pointer to the block, or NULL if the id is reserved or taken, the
 *         size is 0, the directory is full, shared memory is exhausted, the
 *         region is not initialised or this is the sub core.
 */
void *esp_amp_sys_info_alloc(uint16_t info_id, size_t size);

/**
 * @brief Look up the block published under `info_id`. Either core.
 *
 * @param info_id id of the block
 * @param size    if not NULL, receives the block size, clamped to 0xffff
 *                (ESP-AMP's width); use esp_amp_sys_info_lookup() for the
 *                full 32-bit size
 * @return pointer to the block in this core's mapping, or NULL if the id is
 *         not published or its entry is out of the region's bounds.
 */
void *esp_amp_sys_info_get(uint16_t info_id, uint16_t *size);

/**
 * @brief ampvq extension: esp_amp_sys_info_get() with a 32-bit size.
 */
void *esp_amp_sys_info_lookup(uint16_t info_id, uint32_t *size);

/**
 * @brief ampvq extension: esp_amp_sys_info_alloc() for a block that both
 *        cores may update with atomic read-modify-write (flags, counters).
 *
 * In non-coherent builds (AMPVQ_CACHE_COHERENT 0) the block is placed in the
 * uncached prefix of shared memory (AMPVQ_SHM_UNCACHED_BYTES), which is
 * small: NULL when it is full. In coherent builds it is esp_amp_sys_info_alloc().
 */
void *esp_amp_sys_info_alloc_uncached(uint16_t info_id, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* ESP_AMP_SYS_INFO_H */
