/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Build-time knobs. Every one can be overridden with -D on the compiler
 * command line (or target_compile_definitions); both cores of a system must
 * be built with the same values for the knobs marked "layout".
 */
#ifndef AMPVQ_CONFIG_H
#define AMPVQ_CONFIG_H

/** Entries in the sys_info directory (layout: the main core writes it into
 *  the region header, the sub core reads the capacity from there). */
#ifndef AMPVQ_SYS_INFO_MAX_ENTRIES
#define AMPVQ_SYS_INFO_MAX_ENTRIES 32
#endif

/** Software-interrupt handlers each core can register (all ids together). */
#ifndef AMPVQ_SW_INTR_MAX_HANDLERS
#define AMPVQ_SW_INTR_MAX_HANDLERS 32
#endif

/** 1 when the two cores see shared memory coherently (no cache maintenance
 *  needed); 0 makes the core call the port's write-back / invalidate hooks. */
#ifndef AMPVQ_CACHE_COHERENT
#define AMPVQ_CACHE_COHERENT 1
#endif

/** Data-cache line in bytes (layout), a power of two 16..256. The wake
 *  words of an event-index queue sit on lines of their own; in non-coherent
 *  builds descriptors and buffers are also line-sized and line-aligned. */
#ifndef AMPVQ_CACHE_LINE
#define AMPVQ_CACHE_LINE 64
#endif

/** Alignment of every sys_info block in shared memory, a power of two >= 8
 *  (at least a cache line in non-coherent builds). */
#ifndef AMPVQ_SYS_INFO_ALIGN
#if AMPVQ_CACHE_COHERENT
#define AMPVQ_SYS_INFO_ALIGN 8
#else
#define AMPVQ_SYS_INFO_ALIGN AMPVQ_CACHE_LINE
#endif
#endif

/** Non-coherent builds (layout): bytes from shared-memory offset 0 that the
 *  port maps uncached on both cores. Atomic read-modify-write words cannot
 *  live in cached memory that the cores do not see coherently, so the region
 *  header (software-interrupt pending words), the sys_info directory, the
 *  event words and blocks from esp_amp_sys_info_alloc_uncached() go here;
 *  every other block starts after it. Coherent builds ignore it (0). */
#ifndef AMPVQ_SHM_UNCACHED_BYTES
#if AMPVQ_CACHE_COHERENT
#define AMPVQ_SHM_UNCACHED_BYTES 0
#else
#define AMPVQ_SHM_UNCACHED_BYTES 1024
#endif
#endif

/** Poll period of esp_amp_event_wait() in microseconds. */
#ifndef AMPVQ_EVENT_POLL_US
#define AMPVQ_EVENT_POLL_US 100
#endif

#if (AMPVQ_SYS_INFO_ALIGN & (AMPVQ_SYS_INFO_ALIGN - 1)) != 0 || AMPVQ_SYS_INFO_ALIGN < 8
#error "AMPVQ_SYS_INFO_ALIGN must be a power of two >= 8"
#endif
#if (AMPVQ_CACHE_LINE & (AMPVQ_CACHE_LINE - 1)) != 0 || AMPVQ_CACHE_LINE < 16 || AMPVQ_CACHE_LINE > 256
#error "AMPVQ_CACHE_LINE must be a power of two 16..256"
#endif
#if !AMPVQ_CACHE_COHERENT && AMPVQ_SYS_INFO_ALIGN < AMPVQ_CACHE_LINE
#error "non-coherent builds need AMPVQ_SYS_INFO_ALIGN >= AMPVQ_CACHE_LINE"
#endif
#if !AMPVQ_CACHE_COHERENT && (AMPVQ_SHM_UNCACHED_BYTES % AMPVQ_CACHE_LINE) != 0
#error "AMPVQ_SHM_UNCACHED_BYTES must be a multiple of AMPVQ_CACHE_LINE"
#endif
#if AMPVQ_SYS_INFO_MAX_ENTRIES < 4 || AMPVQ_SYS_INFO_MAX_ENTRIES > 4096
#error "AMPVQ_SYS_INFO_MAX_ENTRIES must be 4..4096"
#endif

#endif /* AMPVQ_CONFIG_H */
