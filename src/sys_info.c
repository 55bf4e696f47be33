/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The sys_info directory. The main core is the only writer: it fills an
 * entry and zeroes its block, then publishes the entry by bumping dir_count
 * with a release store. Readers acquire dir_count and check every field they
 * use against the region, because the other core can write all of it.
 */
#include "esp_err.h"
#include "esp_amp_sys_info.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

#define DIR_END (sizeof(ampvq_region_hdr_t) + (uint32_t)AMPVQ_SYS_INFO_MAX_ENTRIES * sizeof(ampvq_sys_info_entry_t))

/* Non-coherent builds split the blocks in two arenas: below UNCACHED_END
 * (mapped uncached, for words both cores update with atomic RMW) and the
 * cached rest, which starts on a line of its own. */
#define UNCACHED_END    ((uint32_t)AMPVQ_SHM_UNCACHED_BYTES)
#define DIR_END_ALIGNED ((DIR_END + AMPVQ_SYS_INFO_ALIGN - 1u) & ~((uint32_t)AMPVQ_SYS_INFO_ALIGN - 1u))
#if !AMPVQ_CACHE_COHERENT
/* Room for the header, the directory and the two event words of esp_amp_init(). */
_Static_assert(DIR_END_ALIGNED + 2u * AMPVQ_SYS_INFO_ALIGN <= UNCACHED_END,
               "AMPVQ_SHM_UNCACHED_BYTES too small for the sys_info directory and event words");
#endif

static bool in_uncached_arena(uint32_t offset)
{
#if AMPVQ_CACHE_COHERENT
    (void)offset;
    return false;
#else
    return offset < UNCACHED_END;
#endif
}

static ampvq_sys_info_entry_t *dir_of(ampvq_region_hdr_t *hdr)
{
    return (ampvq_sys_info_entry_t *)(hdr + 1);
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1u) & ~(a - 1u);
}

/* The region's geometry as read once from the header, after checking it fits
 * the memory the port gave us. */
typedef struct {
    uint32_t size;
    uint32_t capacity;
    uint32_t count;
    uint32_t dir_end;
} region_view_t;

static int region_read(ampvq_region_hdr_t *hdr, region_view_t *v)
{
    if (hdr == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    /* Pairs with the STORE_RELEASE of magic in esp_amp_sys_info_init(). */
    if (AMPVQ_LOAD_ACQUIRE(&hdr->magic) != AMPVQ_REGION_MAGIC) {
        return ESP_ERR_INVALID_STATE;
    }
    if (AMPVQ_READ_ONCE(&hdr->version) != AMPVQ_LAYOUT_VERSION) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    v->size = AMPVQ_READ_ONCE(&hdr->region_size);
    v->capacity = AMPVQ_READ_ONCE(&hdr->dir_capacity);
    /* Pairs with the STORE_RELEASE of dir_count in ampvq_sys_info_alloc_block(). */
    v->count = AMPVQ_LOAD_ACQUIRE(&hdr->dir_count);
    v->dir_end = (uint32_t)sizeof(ampvq_region_hdr_t) + v->capacity * (uint32_t)sizeof(ampvq_sys_info_entry_t);
    if (v->size > ampvq_port_shm_size() || v->dir_end > v->size || v->count > v->capacity) {
        return ESP_ERR_INVALID_RESPONSE;
    }
    return ESP_OK;
}

/* Reads entry i once into *e and checks it lies inside the region, after the
 * directory, 4-byte aligned. */
static bool entry_read(ampvq_region_hdr_t *hdr, const region_view_t *v, uint32_t i, ampvq_sys_info_entry_t *e)
{
    ampvq_sys_info_entry_t *src = &dir_of(hdr)[i];
    e->id = AMPVQ_READ_ONCE(&src->id);
    e->size = AMPVQ_READ_ONCE(&src->size);
    e->offset = AMPVQ_READ_ONCE(&src->offset);
    return e->offset >= v->dir_end && (e->offset & 3u) == 0 && e->offset <= v->size && e->size <= v->size - e->offset;
}

int esp_amp_sys_info_init(void)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    uint32_t shm_size = ampvq_port_shm_size();

    if (hdr == NULL || shm_size < DIR_END + AMPVQ_SYS_INFO_ALIGN || shm_size < UNCACHED_END + AMPVQ_SYS_INFO_ALIGN) {
        return ESP_ERR_INVALID_SIZE;
    }
    if (ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        region_view_t v;
        return region_read(hdr, &v);
    }

    /* Our instance number continues the one found in an earlier region
     * (memory that survived a reset of the main core), so that a sub core
     * still holding handles on that region sees the change. */
    uint32_t session = 1, sub_session = 0;
    if (AMPVQ_READ_ONCE(&hdr->magic) == AMPVQ_REGION_MAGIC) {
        session = (AMPVQ_READ_ONCE(&hdr->session[AMPVQ_CORE_MAIN]) + 1u) & ~AMPVQ_SESSION_FRESH;
        session += session == 0;
        /* The sub core's numbers must keep growing too: a sub instance
         * started after this re-init must not reuse the number of one that
         * attached to the old region's queues. */
        sub_session = AMPVQ_READ_ONCE(&hdr->session[AMPVQ_CORE_SUB]);
    }
    /* Withdraw the magic first so a sub core that looks while we rewrite
     * the header sees "not initialised" rather than a half-written one. */
    AMPVQ_STORE_RELEASE(&hdr->magic, 0u);
    ampvq_zero((uint8_t *)hdr + sizeof(hdr->magic), DIR_END - sizeof(hdr->magic));
    hdr->session[AMPVQ_CORE_MAIN] = session;
    hdr->session[AMPVQ_CORE_SUB] = sub_session;
    hdr->version = AMPVQ_LAYOUT_VERSION;
    hdr->dir_capacity = AMPVQ_SYS_INFO_MAX_ENTRIES;
    hdr->region_size = shm_size;
    /* Pairs with the LOAD_ACQUIRE in region_read(): the header is complete. */
    AMPVQ_STORE_RELEASE(&hdr->magic, AMPVQ_REGION_MAGIC);
    return ESP_OK;
}

static int alloc_in(uint16_t id, uint32_t size, bool uncached, ampvq_block_t *out)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    region_view_t v;
    int err;

    if (ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (id == SYS_INFO_ID_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size == 0) {
        return ESP_ERR_INVALID_SIZE;
    }

    uint32_t token = ampvq_port_critical_enter();
    err = region_read(hdr, &v);
    if (err != ESP_OK) {
        goto out;
    }
    /* Our own header is checked against what we wrote: the sub core could
     * have scribbled on it, and we must not allocate over live blocks. */
    if (v.capacity != AMPVQ_SYS_INFO_MAX_ENTRIES) {
        err = ESP_ERR_INVALID_RESPONSE;
        goto out;
    }
    /* With UNCACHED_END 0 (coherent) the cached arena is the whole region. */
    uint32_t next = align_up(uncached || v.dir_end > UNCACHED_END ? v.dir_end : UNCACHED_END, AMPVQ_SYS_INFO_ALIGN);
    uint32_t limit = uncached ? UNCACHED_END : v.size;
    for (uint32_t i = 0; i < v.count; i++) {
        ampvq_sys_info_entry_t e;
        if (!entry_read(hdr, &v, i, &e)) {
            err = ESP_ERR_INVALID_RESPONSE;
            goto out;
        }
        if (e.id == id) {
            err = ESP_ERR_INVALID_STATE;
            goto out;
        }
        if (in_uncached_arena(e.offset) == uncached && e.offset + e.size > next) {
            next = e.offset + e.size;
        }
    }
    if (v.count == v.capacity) {
        err = ESP_ERR_NO_MEM;
        goto out;
    }
    next = align_up(next, AMPVQ_SYS_INFO_ALIGN);
    if (next > limit || size > limit - next) {
        err = ESP_ERR_NO_MEM;
        goto out;
    }

    ampvq_sys_info_entry_t *e = &dir_of(hdr)[v.count];
    e->id = id;
    e->reserved = 0;
    e->size = size;
    e->offset = next;
    ampvq_zero(ampvq_shm_ptr(next), size);
    if (!AMPVQ_CACHE_COHERENT && !uncached) {
        /* The sub core reads the block from memory: the zeroes must be there
         * (it may hold stale data from an earlier session). */
        ampvq_port_cache_writeback(ampvq_shm_ptr(next), size);
    }
    /* Pairs with the LOAD_ACQUIRE in region_read(): entry and zeroed block
     * are visible before the entry is counted. */
    AMPVQ_STORE_RELEASE(&hdr->dir_count, v.count + 1u);

    out->ptr = ampvq_shm_ptr(next);
    out->size = size;
    out->offset = next;
    err = ESP_OK;
out:
    ampvq_port_critical_exit(token);
    return err;
}

int ampvq_sys_info_alloc_block(uint16_t id, uint32_t size, ampvq_block_t *out)
{
    return alloc_in(id, size, false, out);
}

int ampvq_sys_info_alloc_uncached_block(uint16_t id, uint32_t size, ampvq_block_t *out)
{
    return alloc_in(id, size, !AMPVQ_CACHE_COHERENT, out);
}

int ampvq_sys_info_find(uint16_t id, ampvq_block_t *out)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    region_view_t v;
    int err = region_read(hdr, &v);

    if (err != ESP_OK) {
        return err;
    }
    for (uint32_t i = 0; i < v.count; i++) {
        ampvq_sys_info_entry_t e;
        bool in_bounds = entry_read(hdr, &v, i, &e);
        if (e.id != id) {
            continue;
        }
        if (!in_bounds) {
            return ESP_ERR_INVALID_RESPONSE;
        }
        out->ptr = ampvq_shm_ptr(e.offset);
        out->size = e.size;
        out->offset = e.offset;
        return ESP_OK;
    }
    return ESP_ERR_NOT_FOUND;
}

void *esp_amp_sys_info_alloc(uint16_t info_id, size_t size)
{
    ampvq_block_t b;

    if (info_id >= SYS_INFO_RESERVED_ID || size != (uint32_t)size) {
        return NULL;
    }
    return ampvq_sys_info_alloc_block(info_id, (uint32_t)size, &b) == ESP_OK ? b.ptr : NULL;
}

void *esp_amp_sys_info_alloc_uncached(uint16_t info_id, size_t size)
{
    ampvq_block_t b;

    if (info_id >= SYS_INFO_RESERVED_ID || size != (uint32_t)size) {
        return NULL;
    }
    return ampvq_sys_info_alloc_uncached_block(info_id, (uint32_t)size, &b) == ESP_OK ? b.ptr : NULL;
}

void *esp_amp_sys_info_lookup(uint16_t info_id, uint32_t *size)
{
    ampvq_block_t b;

    if (ampvq_sys_info_find(info_id, &b) != ESP_OK) {
        return NULL;
    }
    if (size != NULL) {
        *size = b.size;
    }
    return b.ptr;
}

void *esp_amp_sys_info_get(uint16_t info_id, uint16_t *size)
{
    uint32_t size32;
    void *p = esp_amp_sys_info_lookup(info_id, &size32);

    if (p != NULL && size != NULL) {
        *size = size32 > UINT16_MAX ? UINT16_MAX : (uint16_t)size32;
    }
    return p;
}
