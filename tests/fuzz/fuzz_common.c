/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Runtime shared by the fuzz targets; see fuzz_common.h.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "esp_err.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"
#include "fuzz_common.h"
#include "fuzz_hooks.h"

/* ---------------------------------------------------------------- input */

uint8_t fz_u8(fz_in_t *in)
{
    if (in == NULL || in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(fz_in_t *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}

uint32_t fz_u32(fz_in_t *in)
{
    uint32_t lo = fz_u16(in);
    return lo | ((uint32_t)fz_u16(in) << 16);
}

/* ------------------------------------------------------------- failures */

void fz_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\n==ampvq-fuzz== INVARIANT VIOLATED: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    abort();
}

/* ---------------------------------------------------------- return codes */

uint32_t fz_code_bit(int rc)
{
    switch (rc) {
    case ESP_OK:
        return FZ_C_OK;
    case ESP_FAIL:
        return FZ_C_FAIL;
    case ESP_ERR_NO_MEM:
        return FZ_C_NO_MEM;
    case ESP_ERR_INVALID_ARG:
        return FZ_C_INVALID_ARG;
    case ESP_ERR_INVALID_STATE:
        return FZ_C_INVALID_STATE;
    case ESP_ERR_INVALID_SIZE:
        return FZ_C_INVALID_SIZE;
    case ESP_ERR_NOT_FOUND:
        return FZ_C_NOT_FOUND;
    case ESP_ERR_NOT_SUPPORTED:
        return FZ_C_NOT_SUPPORTED;
    case ESP_ERR_TIMEOUT:
        return FZ_C_TIMEOUT;
    case ESP_ERR_INVALID_RESPONSE:
        return FZ_C_INVALID_RESPONSE;
    case ESP_ERR_NOT_FINISHED:
        return FZ_C_NOT_FINISHED;
    case ESP_ERR_NOT_ALLOWED:
        return FZ_C_NOT_ALLOWED;
    default:
        return 0; /* not an esp_err_t the API ever documents */
    }
}

const char *fz_code_name(int rc)
{
    static const char *const names[] = {
        "OK",        "FAIL",          "NO_MEM",  "INVALID_ARG",      "INVALID_STATE", "INVALID_SIZE",
        "NOT_FOUND", "NOT_SUPPORTED", "TIMEOUT", "INVALID_RESPONSE", "NOT_FINISHED",  "NOT_ALLOWED"};
    uint32_t bit = fz_code_bit(rc);

    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (bit == (1u << i)) {
            return names[i];
        }
    }
    return "UNDOCUMENTED";
}

void fz_expect(const char *what, int rc, uint32_t allowed)
{
    if ((fz_code_bit(rc) & allowed) != 0) {
        return;
    }
    char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (unsigned i = 0; i < 12; i++) {
        if ((allowed >> i) & 1u) {
            static const int codes[] = {ESP_OK,
                                        ESP_FAIL,
                                        ESP_ERR_NO_MEM,
                                        ESP_ERR_INVALID_ARG,
                                        ESP_ERR_INVALID_STATE,
                                        ESP_ERR_INVALID_SIZE,
                                        ESP_ERR_NOT_FOUND,
                                        ESP_ERR_NOT_SUPPORTED,
                                        ESP_ERR_TIMEOUT,
                                        ESP_ERR_INVALID_RESPONSE,
                                        ESP_ERR_NOT_FINISHED,
                                        ESP_ERR_NOT_ALLOWED};
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", fz_code_name(codes[i]));
            if (w > 0 && (size_t)w < sizeof(list) - used) {
                used += (size_t)w;
            }
        }
    }
    fz_fail("%s returned %d (%s); expected one of: %s", what, rc, fz_code_name(rc), list);
}

/* --------------------------------------------------------- shared block */

fz_shm_t fz_shm;

/* Poisoned bytes before the heap view: catches reads just below offset 0. */
#define HEAP_PAD 64u

static uint8_t *heap_view;
static uint8_t *dual_view[2];
static uint8_t snap_scratch[FZ_SHM_MAX];

static uint8_t *map_guarded(int fd)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t span = FZ_SHM_MAX + 2u * (size_t)page;
    /* Reserve guard + view + guard inaccessible, then put the file in the
     * middle: one byte before or after the view faults. */
    uint8_t *res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) {
        return NULL;
    }
    void *v = mmap(res + page, FZ_SHM_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    return v == MAP_FAILED ? NULL : (uint8_t *)v;
}

static void shm_init_once(void)
{
    if (heap_view != NULL) {
        return;
    }
    /* One more granule after the largest region, so even a region of
     * FZ_SHM_MAX bytes has poisoned bytes behind it. */
    uint8_t *heap = malloc(HEAP_PAD + FZ_SHM_MAX + 64u);
    int fd = ampvq_posix_shm_create(FZ_SHM_MAX);
    if (heap == NULL || fd < 0) {
        fz_fail("cannot allocate the shared block");
    }
    ASAN_POISON_MEMORY_REGION(heap, HEAP_PAD);
    heap_view = heap + HEAP_PAD;
    ASAN_POISON_MEMORY_REGION(heap_view + FZ_SHM_MAX, 64u);
    dual_view[0] = map_guarded(fd);
    dual_view[1] = map_guarded(fd);
    if (dual_view[0] == NULL || dual_view[1] == NULL) {
        fz_fail("cannot map the shared block twice");
    }
}

static unsigned view_count(void)
{
    return fz_shm.dual ? 2u : 1u;
}

/* Between inputs every view is poisoned but for the region header; an
 * input unpoisons only its region, so the cost follows the region's size,
 * not FZ_SHM_MAX. The header stays addressable: the sub core's interrupt
 * thread (esp_amp_init() in fuzz_sub_init) polls its pending word there at
 * any time, also between inputs. Every region is larger than the header. */
static void poison_views_once(void)
{
    static bool done;
    if (!done) {
        ASAN_POISON_MEMORY_REGION(heap_view + FZ_HDR_BYTES, FZ_SHM_MAX - FZ_HDR_BYTES);
        ASAN_POISON_MEMORY_REGION(dual_view[0] + FZ_HDR_BYTES, FZ_SHM_MAX - FZ_HDR_BYTES);
        ASAN_POISON_MEMORY_REGION(dual_view[1] + FZ_HDR_BYTES, FZ_SHM_MAX - FZ_HDR_BYTES);
        done = true;
    }
}

/* Private words the core accesses through the AMPVQ_* macros too: each
 * core's software-interrupt dispatch generation (sw_intr.c; the blocking
 * calls sleep on it). Not shared memory, not logged; any other address
 * outside the block still fails. */
const uint32_t *ampvq_sw_intr_gen(void);
static const void *private_word[2];

static bool is_private(const void *p)
{
    return p != NULL && (p == private_word[0] || p == private_word[1]);
}

void fz_shm_open(uint32_t size, bool dual)
{
    shm_init_once();
    poison_views_once();
    if (size > FZ_SHM_MAX || size < 2u * FZ_HDR_BYTES) {
        fz_fail("harness bug: region of %u bytes", (unsigned)size);
    }
    fz_shm.dual = dual;
    fz_shm.size = size;
    fz_shm.view[0] = dual ? dual_view[0] : heap_view;
    fz_shm.view[1] = dual ? dual_view[1] : heap_view;
    for (unsigned v = 0; v < view_count(); v++) {
        ASAN_UNPOISON_MEMORY_REGION(fz_shm.view[v], size);
    }
    memset(fz_shm.view[0], 0, size);
    ampvq_posix_attach(AMPVQ_CORE_MAIN, fz_shm.view[0], size);
    ampvq_posix_attach(AMPVQ_CORE_SUB, fz_shm.view[1], size);
    ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
    for (int core = 1; core >= 0; core--) {
        fz_as_core(core);
        private_word[core] = ampvq_sw_intr_gen();
    }
}

void fz_shm_close(void)
{
    for (unsigned v = 0; v < view_count(); v++) {
        ASAN_POISON_MEMORY_REGION(fz_shm.view[v] + FZ_HDR_BYTES, fz_shm.size - FZ_HDR_BYTES);
    }
    fz_as_core(AMPVQ_CORE_MAIN);
}

void fz_poison(uint32_t lo, uint32_t hi)
{
    hi = hi > fz_shm.size ? fz_shm.size : hi;
    if (lo >= hi) {
        return;
    }
    for (unsigned v = 0; v < view_count(); v++) {
        ASAN_POISON_MEMORY_REGION(fz_shm.view[v] + lo, hi - lo);
    }
}

void fz_unpoison(uint32_t lo, uint32_t hi)
{
    hi = hi > fz_shm.size ? fz_shm.size : hi;
    if (lo >= hi) {
        return;
    }
    for (unsigned v = 0; v < view_count(); v++) {
        ASAN_UNPOISON_MEMORY_REGION(fz_shm.view[v] + lo, hi - lo);
    }
}

int64_t fz_offset_in(int core, const void *p, uint64_t len)
{
    uintptr_t base = (uintptr_t)fz_shm.view[core & 1];
    uintptr_t a = (uintptr_t)p;

    if (a < base || a - base > fz_shm.size || len > fz_shm.size - (a - base)) {
        return -1;
    }
    return (int64_t)(a - base);
}

/* Offset of [p, p + len) in the calling core's view; fails the input if
 * it is outside the shared block, or inside only the other core's view
 * (with two mappings, a core must never use the other's addresses). */
static uint32_t locate(const char *what, const void *p, uint64_t len)
{
    int core = ampvq_port_core_id() & 1;
    int64_t off = fz_offset_in(core, p, len);

    if (off < 0) {
        if (fz_offset_in(core ^ 1, p, len) >= 0) {
            fz_fail("core %d %s %llu bytes at %p through core %d's mapping", core, what, (unsigned long long)len, p,
                    core ^ 1);
        }
        fz_fail("core %d %s %llu bytes at %p, outside the shared block", core, what, (unsigned long long)len, p);
    }
    return (uint32_t)off;
}

/* Volatile accesses: the compiler may not turn them into memcpy or memset,
 * which AddressSanitizer intercepts and checks. Eight bytes at a time where
 * both pointers allow it (snapshots of the region are taken often). */
__attribute__((no_sanitize("address", "coverage"), noinline)) void fz_raw_write(void *dst, const void *src, size_t n)
{
    size_t i = 0;
    if (((uintptr_t)dst | (uintptr_t)src) % 8u == 0) {
        volatile uint64_t *d8 = dst;
        const volatile uint64_t *s8 = src;
        for (; i + 8 <= n; i += 8) {
            d8[i / 8] = s8 != NULL ? s8[i / 8] : 0;
        }
    }
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;
    for (; i < n; i++) {
        d[i] = s != NULL ? s[i] : 0;
    }
}

__attribute__((no_sanitize("address", "coverage"), noinline)) void fz_raw_read(void *dst, const void *src, size_t n)
{
    fz_raw_write(dst, src, n);
}

uint32_t fz_raw_get(const void *p, unsigned size)
{
    uint8_t b[4] = {0};
    fz_raw_read(b, p, size > 4 ? 4 : size);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void fz_raw_put(void *p, unsigned size, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fz_raw_write(p, b, size > 4 ? 4 : size);
}

void fz_snapshot(uint8_t *dst)
{
    fz_raw_read(dst, fz_shm.view[0], fz_shm.size);
}

static int64_t first_diff(const uint8_t *a, const uint8_t *b, uint32_t lo, uint32_t hi)
{
    if (lo >= hi || memcmp(a + lo, b + lo, hi - lo) == 0) {
        return -1;
    }
    while (a[lo] == b[lo]) {
        lo++;
    }
    return lo;
}

int64_t fz_snapshot_diff(const uint8_t *snap, const fz_range_t *skip, unsigned nskip)
{
    uint32_t size = fz_shm.size, at = 0;

    fz_raw_read(snap_scratch, fz_shm.view[0], size);
    if (memcmp(snap_scratch, snap, size) == 0) {
        return -1;
    }
    /* Walk the gaps between the allowed ranges, lowest first. The two
     * pending-interrupt words are always allowed: interrupt triggers and
     * dispatches of either core (the sub core's interrupt thread in
     * fuzz_sub_init) write them at any time. */
    const fz_range_t pending = {16, 24};
    for (;;) {
        uint32_t next_lo = size, next_hi = size;
        for (unsigned i = 0; i <= nskip; i++) {
            const fz_range_t *r = i < nskip ? &skip[i] : &pending;
            if (r->hi > at && r->lo < next_lo) {
                next_lo = r->lo < at ? at : r->lo;
                next_hi = r->hi;
            }
        }
        next_lo = next_lo > size ? size : next_lo;
        int64_t d = first_diff(snap_scratch, snap, at, next_lo);
        if (d >= 0 || next_hi >= size) {
            return d;
        }
        at = next_hi;
    }
}

void fz_as_core(int core)
{
    ampvq_posix_set_core(core);
}

/* ---------------------------------------------- instrumented core calls */

/* Only the fuzzing thread's calls are checked: the port's interrupt thread
 * (fuzz_sub_init runs esp_amp_init() on the sub core) is not part of it. */
static _Thread_local bool harness_thread;

static struct {
    bool armed;
    fz_in_t *tear_in;
    const fz_hook_cfg_t *cfg;
    fz_call_stats_t st;
    uint32_t epoch;
} hook;

/* Per region byte: the call (epoch) that last loaded it. Byte-exact, so a
 * 4-byte load overlapping an earlier 2-byte load of the same call is a
 * second read too. */
static uint32_t read_epoch[FZ_SHM_MAX];
static fz_access_t access_log[FZ_MAX_ACCESS_LOG];

static void log_access(uint32_t off, unsigned size, bool store)
{
    if (hook.st.nlog < FZ_MAX_ACCESS_LOG) {
        access_log[hook.st.nlog] = (fz_access_t){.off = off, .size = (uint8_t)size, .store = store};
    }
    hook.st.nlog++;
}

void fz_call_begin(fz_in_t *tear_in, const fz_hook_cfg_t *cfg)
{
    harness_thread = true;
    hook.armed = true;
    hook.tear_in = tear_in;
    hook.cfg = cfg;
    hook.st = (fz_call_stats_t){.lo = -1, .hi = -1, .log = access_log};
    if (++hook.epoch == 0) {
        for (uint32_t i = 0; i < FZ_SHM_MAX; i++) {
            read_epoch[i] = 0;
        }
        hook.epoch = 1;
    }
}

void fz_call_end(fz_call_stats_t *st)
{
    hook.armed = false;
    if (st != NULL) {
        *st = hook.st;
    }
}

static void note_span(uint32_t off, unsigned size)
{
    if (hook.st.lo < 0 || off < hook.st.lo) {
        hook.st.lo = off;
    }
    if (hook.st.hi < 0 || off + size > hook.st.hi) {
        hook.st.hi = off + size;
    }
}

static uint64_t raw_load(const void *p, unsigned size, int order)
{
    /* Keep the memory order the core asked for; the builtins want a
     * constant, hence the two branches. */
    bool acq = order == __ATOMIC_ACQUIRE;
    switch (size) {
    case 1:
        return acq ? __atomic_load_n((const uint8_t *)p, __ATOMIC_ACQUIRE)
                   : __atomic_load_n((const uint8_t *)p, __ATOMIC_RELAXED);
    case 2:
        return acq ? __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE)
                   : __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
    case 4:
        return acq ? __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE)
                   : __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
    case 8:
        return acq ? __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE)
                   : __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
    default:
        fz_fail("core loaded a %u-byte shared field", size);
    }
}

/* A load the hook allowed although the bytes are poisoned. */
__attribute__((no_sanitize("address"))) static uint64_t raw_load_poisoned(const void *p, unsigned size)
{
    switch (size) {
    case 1:
        return __atomic_load_n((const uint8_t *)p, __ATOMIC_ACQUIRE);
    case 2:
        return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
    case 4:
        return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
    default:
        return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
    }
}

static void raw_store(void *p, unsigned size, uint64_t v, int order)
{
    bool rel = order == __ATOMIC_RELEASE;
    switch (size) {
    case 1:
        rel ? __atomic_store_n((uint8_t *)p, (uint8_t)v, __ATOMIC_RELEASE)
            : __atomic_store_n((uint8_t *)p, (uint8_t)v, __ATOMIC_RELAXED);
        break;
    case 2:
        rel ? __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELEASE)
            : __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED);
        break;
    case 4:
        rel ? __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELEASE)
            : __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED);
        break;
    case 8:
        rel ? __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELEASE)
            : __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
        break;
    default:
        fz_fail("core stored a %u-byte shared field", size);
    }
}

uint64_t ampvq_fuzz_load(const void *p, unsigned size, int order)
{
    if (is_private(p)) {
        return raw_load(p, size, order);
    }
    uint32_t off = locate("loaded", p, size);

    if (!harness_thread || !hook.armed) {
        return raw_load(p, size, order);
    }
    const fz_hook_cfg_t *cfg = hook.cfg;
    uint8_t *field = (uint8_t *)(uintptr_t)p;
    bool poisoned = __asan_region_is_poisoned((void *)(uintptr_t)p, size) != NULL;
    if (poisoned && (cfg == NULL || cfg->poison_ok == NULL || !cfg->poison_ok(field, size, cfg->ctx))) {
        fz_fail("core loaded %u bytes at region offset %u, which this call must not read", size, (unsigned)off);
    }
    if (hook.tear_in != NULL && cfg != NULL && cfg->tear != NULL &&
        cfg->tear(field, size, true, hook.tear_in, cfg->ctx)) {
        hook.st.tore = true;
    }
    uint64_t v = poisoned ? raw_load_poisoned(p, size) : raw_load(p, size, order);
    for (unsigned i = 0; i < size; i++) {
        if (read_epoch[off + i] == hook.epoch) {
            if (cfg != NULL && cfg->reload_ok != NULL && cfg->reload_ok(field, size, cfg->ctx)) {
                break;
            }
            fz_fail("core loaded region offset %u twice in one call (each shared field must be read once)",
                    (unsigned)(off + i));
        }
    }
    for (unsigned i = 0; i < size; i++) {
        read_epoch[off + i] = hook.epoch;
    }
    hook.st.reads++;
    note_span(off, size);
    log_access(off, size, false);
    if (hook.tear_in != NULL && cfg != NULL && cfg->tear != NULL &&
        cfg->tear(field, size, false, hook.tear_in, cfg->ctx)) {
        hook.st.tore = true;
    }
    if (cfg != NULL && cfg->observe != NULL) {
        cfg->observe(field, size, v, cfg->ctx);
    }
    return v;
}

void ampvq_fuzz_store(void *p, unsigned size, uint64_t v, int order)
{
    if (is_private(p)) {
        raw_store(p, size, v, order);
        return;
    }
    uint32_t off = locate("stored", p, size);

    if (harness_thread && hook.armed) {
        if (__asan_region_is_poisoned(p, size) != NULL) {
            fz_fail("core stored %u bytes at region offset %u, which this call must not write", size, (unsigned)off);
        }
        hook.st.writes++;
        note_span(off, size);
        log_access(off, size, true);
    }
    raw_store(p, size, v, order);
}

/* ---------------------------------------------------- cache op wrapping */

static void cache_check(const char *what, const void *addr, size_t len)
{
    int core = ampvq_port_core_id() & 1;
    int64_t off = fz_offset_in(core, addr, len);

    if (off < 0) {
        fz_fail("cache %s of %zu bytes at %p: not inside core %d's view of the shared block", what, len, addr, core);
    }
    if (harness_thread && hook.armed && hook.st.ncache < FZ_MAX_CACHE_OPS) {
        hook.st.cache[hook.st.ncache].off = off;
        hook.st.cache[hook.st.ncache].len = len;
        hook.st.ncache++;
    }
}

void __wrap_ampvq_port_cache_writeback(const void *addr, size_t len)
{
    cache_check("write-back", addr, len);
    __real_ampvq_port_cache_writeback(addr, len);
}

void __wrap_ampvq_port_cache_invalidate(const void *addr, size_t len)
{
    cache_check("invalidate", addr, len);
    __real_ampvq_port_cache_invalidate(addr, len);
}

/* -------------------------------------------------------- racing peer */

static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t race_stopped = PTHREAD_COND_INITIALIZER;
static fz_race_cfg_t race_cfg;
static unsigned race_gen;     /* bumped to start a round */
static atomic_bool race_run;  /* the round goes on while set */
static bool race_idle = true; /* the racer is not writing (under race_mu) */
static bool racer_started;

/* The racer is not what is being fuzzed: no coverage feedback from it (its
 * timing would make coverage noisy), and its stores are plain peer writes,
 * not checked by AddressSanitizer (the table may be re-poisoned while it
 * runs, e.g. when the side under test fails to reopen). */
#define RACER_ATTR __attribute__((no_sanitize("address", "coverage")))

RACER_ATTR static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

RACER_ATTR static void race_write_one(const fz_race_cfg_t *c, uint32_t *x)
{
    uint32_t r = xorshift(x);
    uint8_t *d = c->table + c->stride * (r % c->n);
    uint32_t pick = xorshift(x);

    if (c->wake[0] != NULL && (r >> 20) % 16 == 0) {
        /* A wake word: near the indices in use, or anything. */
        uint32_t w = (pick & 1) ? (pick >> 1) % (4u * c->n) : pick;
        __atomic_store_n((uint32_t *)(void *)c->wake[(pick >> 8) & 1], w, __ATOMIC_RELAXED);
        return;
    }
    switch ((r >> 24) % 3) {
    case 0: {
        uint32_t a = (pick & 1) ? c->buf_off + c->item * ((pick >> 1) % c->n) : pick;
        __atomic_store_n((uint32_t *)(void *)d, a, __ATOMIC_RELAXED);
        break;
    }
    case 1:
        __atomic_store_n((uint16_t *)(void *)(d + 4), (uint16_t)((pick & 1) ? (pick >> 1) % (c->item + 2) : pick),
                         __ATOMIC_RELAXED);
        break;
    default: {
        static const uint16_t combos[4] = {0, AMPVQ_DESC_F_AVAIL, AMPVQ_DESC_F_USED,
                                           AMPVQ_DESC_F_AVAIL | AMPVQ_DESC_F_USED};
        __atomic_store_n((uint16_t *)(void *)(d + 6), (uint16_t)((pick & 4) ? pick >> 8 : combos[pick & 3]),
                         __ATOMIC_RELEASE);
        break;
    }
    }
}

/* Waits block (condition variables) rather than spin: the machines this
 * runs on are often loaded, and a spinning waiter can starve the racer for
 * seconds. */
RACER_ATTR static void *racer_main(void *arg)
{
    unsigned seen = 0;

    (void)arg;
    /* A lower priority: on a busy machine the fuzzing thread, not the
     * racer, should get the CPU they share (inputs must stay fast). */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&race_mu);
    for (;;) {
        while (race_gen == seen) {
            pthread_cond_wait(&race_go, &race_mu);
        }
        seen = race_gen;
        fz_race_cfg_t c = race_cfg;
        pthread_mutex_unlock(&race_mu);

        uint32_t x = c.seed | 1u;
        /* The session word (if given) once, at a write count from the seed:
         * the peer restarting in the middle of the run. */
        uint32_t sess_at = (c.seed >> 8) % 4096u, k = 0;
        while (atomic_load(&race_run)) {
            if (c.sess != NULL && k++ == sess_at) {
                uint32_t v = (x & 3u) == 0 ? 0u : (x & 3u) == 1 ? x % 4u : x;
                __atomic_store_n((uint32_t *)(void *)c.sess, v, __ATOMIC_RELEASE);
            }
            race_write_one(&c, &x);
        }
        pthread_mutex_lock(&race_mu);
        race_idle = true;
        pthread_cond_signal(&race_stopped);
    }
    return NULL;
}

void fz_race_begin(const fz_race_cfg_t *cfg)
{
    if (!racer_started) {
        pthread_t t;
        if (pthread_create(&t, NULL, racer_main, NULL) != 0) {
            fz_fail("cannot start the racing thread");
        }
        pthread_detach(t);
        racer_started = true;
    }
    pthread_mutex_lock(&race_mu);
    atomic_store(&race_run, true);
    race_idle = false;
    race_cfg = *cfg;
    race_gen++;
    pthread_cond_signal(&race_go);
    pthread_mutex_unlock(&race_mu);
}

void fz_race_end(void)
{
    /* The racer must be done writing before the region is reused. */
    pthread_mutex_lock(&race_mu);
    atomic_store(&race_run, false);
    while (!race_idle) {
        pthread_cond_wait(&race_stopped, &race_mu);
    }
    pthread_mutex_unlock(&race_mu);
}
