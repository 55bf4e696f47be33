/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What the core's files share. Not installed.
 */
#ifndef AMPVQ_PRIV_H
#define AMPVQ_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/shm_layout.h"

/* Zero-fill. The core includes no libc header (bare-metal toolchains such as
 * Debian's riscv64-unknown-elf have none); GCC and Clang expect a freestanding
 * environment to provide memset, which this may call for large sizes. */
static inline void ampvq_zero(void *p, size_t n)
{
    __builtin_memset(p, 0, n);
}

/* This core's view of the region header; NULL if the port has no memory. */
static inline ampvq_region_hdr_t *ampvq_region(void)
{
    return (ampvq_region_hdr_t *)ampvq_port_shm_base();
}

/* Pointer for a shared-memory offset in this core's mapping. The caller has
 * already checked that the offset is in bounds. */
static inline void *ampvq_shm_ptr(uint32_t offset)
{
    return (uint8_t *)ampvq_port_shm_base() + offset;
}

/* A sys_info block as this core sees it. */
typedef struct {
    void *ptr;
    uint32_t size;
    uint32_t offset;
} ampvq_block_t;

/* Like esp_amp_sys_info_alloc() but returns an esp_err_t and takes reserved
 * ids: ESP_OK, ESP_ERR_INVALID_ARG (id 0xffff), ESP_ERR_INVALID_SIZE (0),
 * ESP_ERR_INVALID_STATE (id taken / region not initialised),
 * ESP_ERR_NO_MEM, ESP_ERR_NOT_SUPPORTED (sub core),
 * ESP_ERR_INVALID_RESPONSE (directory corrupted). */
int ampvq_sys_info_alloc_block(uint16_t id, uint32_t size, ampvq_block_t *out);

/* Same, in the uncached prefix of a non-coherent build (for blocks that
 * hold atomic read-modify-write words); plain alloc_block when coherent. */
int ampvq_sys_info_alloc_uncached_block(uint16_t id, uint32_t size, ampvq_block_t *out);

/* Look a block up, checking the directory entry against the region:
 * ESP_OK, ESP_ERR_NOT_FOUND, ESP_ERR_INVALID_STATE (region not initialised),
 * ESP_ERR_INVALID_RESPONSE (entry or header out of bounds). */
int ampvq_sys_info_find(uint16_t id, ampvq_block_t *out);

/* Raise software interrupt `id` on this core itself, so that its handlers
 * run once soon (used to catch up on work that arrived before a handler was
 * registered). */
void ampvq_sw_intr_raise_local(uint32_t id);

/* This core's dispatch generation (see ampvq_port_wait_intr()): read it
 * with AMPVQ_LOAD_ACQUIRE before checking a condition, then sleep on it. */
const uint32_t *ampvq_sw_intr_gen(void);

/* Sub core: take the next instance number (region session[SUB]); done by
 * esp_amp_init(), exported for tests that play a restarted sub core. */
void ampvq_sub_session_bump(void);

#endif /* AMPVQ_PRIV_H */
