/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Shared by the unit tests: fixtures that bring both cores up on the posix
 * port (threads mode), error-code checks that report the caller's line, a
 * bounded wait for work done on the interrupt threads, and helpers that move
 * one numbered message through a queue.
 *
 * Everything here is static inline so that a test file that uses only part
 * of it still builds with -Wunused-function -Werror.
 */
#ifndef AMPVQ_UNIT_SUPPORT_H
#define AMPVQ_UNIT_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_amp.h"
#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

/* Generous: the sanitizer builds run the interrupt threads much slower, and
 * a wait only takes this long when the test is about to fail anyway. */
#define UNIT_WAIT_MS 5000u

static inline const char *unit_err_name(int e)
{
    switch (e) {
    case ESP_OK:
        return "ESP_OK";
    case ESP_FAIL:
        return "ESP_FAIL";
    case ESP_ERR_NO_MEM:
        return "ESP_ERR_NO_MEM";
    case ESP_ERR_INVALID_ARG:
        return "ESP_ERR_INVALID_ARG";
    case ESP_ERR_INVALID_STATE:
        return "ESP_ERR_INVALID_STATE";
    case ESP_ERR_INVALID_SIZE:
        return "ESP_ERR_INVALID_SIZE";
    case ESP_ERR_NOT_FOUND:
        return "ESP_ERR_NOT_FOUND";
    case ESP_ERR_NOT_SUPPORTED:
        return "ESP_ERR_NOT_SUPPORTED";
    case ESP_ERR_TIMEOUT:
        return "ESP_ERR_TIMEOUT";
    case ESP_ERR_INVALID_RESPONSE:
        return "ESP_ERR_INVALID_RESPONSE";
    case ESP_ERR_NOT_FINISHED:
        return "ESP_ERR_NOT_FINISHED";
    case ESP_ERR_NOT_ALLOWED:
        return "ESP_ERR_NOT_ALLOWED";
    default:
        return "(unknown)";
    }
}

static inline void unit_check_err(int got, int want, const char *expr, const char *file, int line)
{
    if (got != want) {
        print_error("%s returned %s (%d), expected %s (%d)\n", expr, unit_err_name(got), got, unit_err_name(want),
                    want);
        _fail(file, line);
    }
}

/* CHECK_ERR(call, ESP_ERR_x): names both codes on failure and points at the
 * line of the call, not at a helper. */
#define CHECK_ERR(expr, want) unit_check_err((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_OK(expr)        CHECK_ERR((expr), ESP_OK)

/* Poll `cond` until it holds or UNIT_WAIT_MS pass: for work that the posix
 * port runs on another core's interrupt thread. */
#define WAIT_UNTIL(cond)                                                                                               \
    do {                                                                                                               \
        uint32_t unit_t0_ = ampvq_port_time_ms();                                                                      \
        while (!(cond)) {                                                                                              \
            if (ampvq_port_time_ms() - unit_t0_ > UNIT_WAIT_MS) {                                                      \
                print_error("timed out after %u ms waiting for %s\n", (unsigned)UNIT_WAIT_MS, #cond);                  \
                _fail(__FILE__, __LINE__);                                                                             \
            }                                                                                                          \
            ampvq_port_delay_us(100);                                                                                  \
        }                                                                                                              \
    } while (0)

/* First line of a test that pins the coherent layout (8-byte descriptors,
 * 4-byte item rounding, blocks right after the directory) or that reads
 * shared memory across cores without cache maintenance: skipped when the
 * suite runs against the non-coherent build (ampvq_nc, docs/noncoherent.md). */
#define UNIT_COHERENT_ONLY()                                                                                           \
    do {                                                                                                               \
        if (!AMPVQ_CACHE_COHERENT) {                                                                                   \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static inline void unit_sleep_ms(uint32_t ms)
{
    ampvq_port_delay_us(ms * 1000u);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

/* Both cores' views mapped, neither initialised; the calling thread is the
 * main core. */
static inline int unit_setup_bare_size(uint32_t size)
{
    if (ampvq_posix_threads_setup(size) != 0) {
        print_error("ampvq_posix_threads_setup(%u) failed\n", (unsigned)size);
        return -1;
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    return 0;
}

/* Both cores brought up the way an application does: main first, then sub. */
static inline int unit_setup_size(uint32_t size)
{
    if (unit_setup_bare_size(size) != 0) {
        return -1;
    }
    int err = esp_amp_init();
    if (err != ESP_OK) {
        print_error("esp_amp_init() on the main core: %s\n", unit_err_name(err));
        ampvq_posix_teardown();
        return -1;
    }
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    err = esp_amp_init();
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    if (err != ESP_OK) {
        print_error("esp_amp_init() on the sub core: %s\n", unit_err_name(err));
        ampvq_posix_teardown();
        return -1;
    }
    return 0;
}

static inline int unit_setup(void **state)
{
    (void)state;
    return unit_setup_size(AMPVQ_POSIX_SHM_DEFAULT_SIZE);
}

static inline int unit_setup_bare(void **state)
{
    (void)state;
    return unit_setup_bare_size(AMPVQ_POSIX_SHM_DEFAULT_SIZE);
}

static inline int unit_teardown(void **state)
{
    (void)state;
    ampvq_posix_teardown();
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    return 0;
}

/* For a test that needs a fresh region part-way through. */
static inline void unit_reset_cores_at(const char *file, int line)
{
    unit_teardown(NULL);
    if (unit_setup(NULL) != 0) {
        _fail(file, line);
    }
}

#define UNIT_RESET_CORES() unit_reset_cores_at(__FILE__, __LINE__)

/* The calling thread's view of shared memory and of one sys_info block. */
static inline uint8_t *unit_base(void)
{
    return (uint8_t *)ampvq_port_shm_base();
}

static inline ampvq_region_hdr_t *unit_region(void)
{
    return (ampvq_region_hdr_t *)ampvq_port_shm_base();
}

/* The region header without its pending-interrupt words (which the
 * interrupt threads update concurrently), plus the directory: what the
 * sys_info code owns, to save, restore and compare field by field. */
typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t dir_capacity;
    uint32_t region_size;
    uint32_t dir_count;
    ampvq_sys_info_entry_t dir[AMPVQ_SYS_INFO_MAX_ENTRIES];
} unit_dir_t;

static inline void unit_dir_save(unit_dir_t *d)
{
    const ampvq_region_hdr_t *r = unit_region();
    memset(d, 0, sizeof(*d));
    d->magic = r->magic;
    d->version = r->version;
    d->dir_capacity = r->dir_capacity;
    d->region_size = r->region_size;
    d->dir_count = r->dir_count;
    memcpy(d->dir, r + 1, sizeof(d->dir));
}

static inline void unit_dir_restore(const unit_dir_t *d)
{
    ampvq_region_hdr_t *r = unit_region();
    r->magic = d->magic;
    r->version = (uint16_t)d->version;
    r->dir_capacity = (uint16_t)d->dir_capacity;
    r->region_size = d->region_size;
    r->dir_count = d->dir_count;
    memcpy(r + 1, d->dir, sizeof(d->dir));
}

static inline bool unit_dir_unchanged(const unit_dir_t *before)
{
    unit_dir_t now;
    unit_dir_save(&now);
    return memcmp(before, &now, sizeof(now)) == 0;
}

/* ------------------------------------------------------------------ */
/* Queues                                                              */
/* ------------------------------------------------------------------ */

/* The two ends of one queue. Never copied: a handle is tied to its address. */
typedef struct {
    esp_amp_queue_t master;
    esp_amp_queue_t remote;
    int master_core;
    int remote_core;
    uint16_t id;
} unit_pair_t;

/* Create the queue on the main core with the main core in role
 * `main_is_master`, then open the other end on the sub core. */
static inline void unit_open_pair_at(unit_pair_t *p, uint16_t len, uint16_t item, bool main_is_master, uint16_t id,
                                     esp_amp_queue_cb_t notify, void *notify_arg, esp_amp_queue_cb_t callback,
                                     void *callback_arg, const char *file, int line)
{
    p->master_core = main_is_master ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
    p->remote_core = main_is_master ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
    p->id = id;
    esp_amp_queue_t *on_main = main_is_master ? &p->master : &p->remote;
    esp_amp_queue_t *on_sub = main_is_master ? &p->remote : &p->master;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_check_err(esp_amp_queue_main_init(on_main, len, item, main_is_master ? notify : callback,
                                           main_is_master ? notify_arg : callback_arg, main_is_master,
                                           (esp_amp_sys_info_id_t)id),
                   ESP_OK, "esp_amp_queue_main_init", file, line);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    unit_check_err(esp_amp_queue_sub_init(on_sub, main_is_master ? callback : notify,
                                          main_is_master ? callback_arg : notify_arg, !main_is_master,
                                          (esp_amp_sys_info_id_t)id),
                   ESP_OK, "esp_amp_queue_sub_init", file, line);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

#define OPEN_PAIR(p, len, item, main_is_master, id)                                                                    \
    unit_open_pair_at((p), (len), (item), (main_is_master), (id), NULL, NULL, NULL, NULL, __FILE__, __LINE__)

/* Payload of message `seq`, `size` bytes: the sequence number first (when it
 * fits), then bytes that differ per message and per position, so a stale,
 * shifted or foreign buffer does not match. */
static inline uint8_t unit_payload_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + 1u);
}

static inline void unit_fill(void *buf, uint32_t seq, uint16_t size)
{
    uint8_t *b = (uint8_t *)buf;
    for (uint32_t i = 0; i < size; i++) {
        b[i] = unit_payload_byte(seq, i);
    }
    if (size >= sizeof(seq)) {
        memcpy(b, &seq, sizeof(seq));
    }
}

static inline bool unit_payload_ok(const void *buf, uint32_t seq, uint16_t size)
{
    const uint8_t *b = (const uint8_t *)buf;
    uint32_t i = 0;
    if (size >= sizeof(seq)) {
        uint32_t got;
        memcpy(&got, b, sizeof(got));
        if (got != seq) {
            return false;
        }
        i = sizeof(seq);
    }
    for (; i < size; i++) {
        if (b[i] != unit_payload_byte(seq, i)) {
            return false;
        }
    }
    return true;
}

/* Master side: alloc, fill with message `seq`, send. Leaves the calling
 * thread acting as the master's core. */
static inline void unit_send_at(unit_pair_t *p, uint32_t seq, uint16_t size, const char *file, int line)
{
    void *buf = NULL;
    ampvq_posix_set_core(p->master_core);
    unit_check_err(esp_amp_queue_alloc_try(&p->master, &buf, size), ESP_OK, "esp_amp_queue_alloc_try", file, line);
    unit_fill(buf, seq, size);
    unit_check_err(esp_amp_queue_send_try(&p->master, buf, size), ESP_OK, "esp_amp_queue_send_try", file, line);
}

/* Remote side: recv, check it is message `seq` of `size` bytes, free. */
static inline void unit_recv_at(unit_pair_t *p, uint32_t seq, uint16_t size, const char *file, int line)
{
    void *buf = NULL;
    uint16_t got = 0;
    ampvq_posix_set_core(p->remote_core);
    unit_check_err(esp_amp_queue_recv_try(&p->remote, &buf, &got), ESP_OK, "esp_amp_queue_recv_try", file, line);
    if (got != size || !unit_payload_ok(buf, seq, size)) {
        uint32_t first = 0;
        if (got >= sizeof(first)) {
            memcpy(&first, buf, sizeof(first));
        }
        print_error("received %u bytes starting %u, expected message %u of %u bytes\n", (unsigned)got, (unsigned)first,
                    (unsigned)seq, (unsigned)size);
        _fail(file, line);
    }
    unit_check_err(esp_amp_queue_free_try(&p->remote, buf), ESP_OK, "esp_amp_queue_free_try", file, line);
}

#define SEND_MSG(p, seq, size) unit_send_at((p), (seq), (size), __FILE__, __LINE__)
#define RECV_MSG(p, seq, size) unit_recv_at((p), (seq), (size), __FILE__, __LINE__)

/* The buffer area of a queue as the calling core sees it, from the block's
 * header in shared memory. */
typedef struct {
    ampvq_queue_hdr_t *hdr;
    esp_amp_queue_desc_t *desc;
    uint8_t *buf;
    uint32_t block_off;
    uint32_t block_size;
    uint32_t len;
    uint32_t item;
} unit_qview_t;

static inline void unit_qview_at(unit_qview_t *v, uint16_t id, const char *file, int line)
{
    uint32_t size = 0;
    uint8_t *block = (uint8_t *)esp_amp_sys_info_lookup(id, &size);
    memset(v, 0, sizeof(*v));
    if (block == NULL) {
        print_error("no sys_info block 0x%04x\n", (unsigned)id);
        _fail(file, line);
        return;
    }
    v->hdr = (ampvq_queue_hdr_t *)(void *)block;
    v->block_off = (uint32_t)(block - unit_base());
    v->block_size = size;
    v->len = v->hdr->len;
    v->item = v->hdr->item_size;
    v->desc = (esp_amp_queue_desc_t *)(void *)(unit_base() + v->hdr->desc_off);
    v->buf = unit_base() + v->hdr->buf_off;
}

#define QVIEW(v, id) unit_qview_at((v), (id), __FILE__, __LINE__)

/* `p` is the start of one of the queue's buffers in the calling core's view. */
static inline bool unit_is_slot(const unit_qview_t *v, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t lo = (uintptr_t)v->buf;
    return a >= lo && a - lo < (uintptr_t)v->len * v->item && (a - lo) % v->item == 0;
}

#endif /* AMPVQ_UNIT_SUPPORT_H */
