/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * A hostile or broken peer core (DESIGN.md section 5): the test writes bad
 * descriptors, queue headers, directory entries and region headers straight
 * into shared memory and checks that the core reports them
 * (ESP_ERR_INVALID_RESPONSE, or NOT_FOUND / NULL where documented), never
 * hands out a pointer outside the queue's buffer area, and keeps working
 * afterwards.
 *
 * Each core's view of shared memory is mapped here between two PROT_NONE
 * guard pages, so an access outside the region by the core under test is a
 * crash (a failed test), not a silent read of whatever the next mapping is.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "unit_support.h"

#include <sys/mman.h>
#include <unistd.h>

#define ID_Q    0x0100
#define ID_Q2   0x0101
#define F_AVAIL AMPVQ_DESC_F_AVAIL
#define F_USED  AMPVQ_DESC_F_USED
#define F_BOTH  ((uint16_t)(F_AVAIL | F_USED))

#define SHM_SIZE (1u << 20)

/* ------------------------------------------------------------------ */
/* Fixture: guarded views                                              */
/* ------------------------------------------------------------------ */

/* Views: main, sub, and a spare for a test that remaps the sub core (the
 * sub core's interrupt thread keeps using the view it started with, so a
 * view is never unmapped before the fixture's teardown). */
#define VIEW_SPARE 2

typedef struct {
    int fd;
    size_t page;
    uint8_t *reserve[3];
    size_t reserve_len[3];
} guarded_t;

static guarded_t guarded = {.fd = -1};

/* Map `size` bytes of the memfd with a PROT_NONE page on each side. */
static uint8_t *map_guarded(int slot, uint32_t size)
{
    size_t len = size + 2 * guarded.page;
    void *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) {
        return NULL;
    }
    guarded.reserve[slot] = r;
    guarded.reserve_len[slot] = len;
    void *v = mmap((uint8_t *)r + guarded.page, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, guarded.fd, 0);
    return v == MAP_FAILED ? NULL : v;
}

static void unmap_guarded(int slot)
{
    if (guarded.reserve[slot] != NULL) {
        munmap(guarded.reserve[slot], guarded.reserve_len[slot]);
        guarded.reserve[slot] = NULL;
    }
}

static int guarded_teardown(void **state)
{
    (void)state;
    /* Stops the interrupt threads; our views are not the port's to unmap. */
    ampvq_posix_teardown();
    unmap_guarded(AMPVQ_CORE_MAIN);
    unmap_guarded(AMPVQ_CORE_SUB);
    unmap_guarded(VIEW_SPARE);
    if (guarded.fd >= 0) {
        close(guarded.fd);
        guarded.fd = -1;
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    return 0;
}

static int guarded_setup(void **state)
{
    guarded.page = (size_t)sysconf(_SC_PAGESIZE);
    guarded.fd = ampvq_posix_shm_create(SHM_SIZE);
    if (guarded.fd < 0) {
        return -1;
    }
    uint8_t *main_view = map_guarded(AMPVQ_CORE_MAIN, SHM_SIZE);
    uint8_t *sub_view = map_guarded(AMPVQ_CORE_SUB, SHM_SIZE);
    if (main_view == NULL || sub_view == NULL) {
        guarded_teardown(state);
        return -1;
    }
    ampvq_posix_attach(AMPVQ_CORE_MAIN, main_view, SHM_SIZE);
    ampvq_posix_attach(AMPVQ_CORE_SUB, sub_view, SHM_SIZE);
    ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    int err = esp_amp_init();
    if (err == ESP_OK) {
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        err = esp_amp_init();
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    }
    if (err != ESP_OK) {
        print_error("esp_amp_init: %s\n", unit_err_name(err));
        guarded_teardown(state);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* A fake peer that writes descriptors by hand                         */
/* ------------------------------------------------------------------ */

/* Mirrors the victim's head index and wrap counter, writing through the
 * hostile core's own view. */
typedef struct {
    unit_qview_t v;
    uint32_t idx;
    uint8_t wrap;
} fake_peer_t;

static void fake_open(fake_peer_t *f, uint16_t id, int core)
{
    ampvq_posix_set_core(core);
    QVIEW(&f->v, id);
    f->idx = 0;
    f->wrap = 1;
}

static void fake_advance(fake_peer_t *f)
{
    if (++f->idx == f->v.len) {
        f->idx = 0;
        f->wrap ^= 1u;
    }
}

static void fake_write(fake_peer_t *f, uint32_t addr, uint16_t len, uint16_t flags)
{
    esp_amp_queue_desc_t *d = &f->v.desc[f->idx];
    d->addr = addr;
    d->len = len;
    __atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
}

/* A master's send: the slot shows available for the current wrap. */
static void fake_send(fake_peer_t *f, uint32_t addr, uint16_t len)
{
    fake_write(f, addr, len, f->wrap ? F_AVAIL : F_USED);
    fake_advance(f);
}

/* A remote's free: the slot shows free for the master's current wrap. */
static void fake_free(fake_peer_t *f, uint32_t addr)
{
    fake_write(f, addr, 0, f->wrap ? 0 : F_BOTH);
    fake_advance(f);
}

/* recv_try that must give exactly `err`; on ESP_OK the buffer must be the
 * one at byte `off` of the remote's buffer area, `len` long, and is freed. */
static void expect_recv_at(esp_amp_queue_t *q, const unit_qview_t *rv, int err, uint32_t off, uint16_t len,
                           const char *file, int line)
{
    void *buf = NULL;
    uint16_t size = 0;
    int got = esp_amp_queue_recv_try(q, &buf, &size);
    unit_check_err(got, err, "esp_amp_queue_recv_try", file, line);
    if (got != ESP_OK) {
        return;
    }
    if (!unit_is_slot(rv, buf) || buf != rv->buf + off || size != len) {
        print_error("recv handed out %p (%u bytes), expected buf+%u (%u bytes)\n", buf, (unsigned)size, (unsigned)off,
                    (unsigned)len);
        _fail(file, line);
    }
    unit_check_err(esp_amp_queue_free_try(q, buf), ESP_OK, "esp_amp_queue_free_try", file, line);
}

#define EXPECT_RECV(q, rv, err, off, len) expect_recv_at((q), (rv), (err), (off), (len), __FILE__, __LINE__)

/* alloc_try that must give exactly `err`; on ESP_OK the buffer must be at
 * byte `off` of the master's buffer area, and is sent straight back. */
static void expect_alloc_at(esp_amp_queue_t *q, const unit_qview_t *mv, int err, uint32_t off, const char *file,
                            int line)
{
    void *buf = NULL;
    int got = esp_amp_queue_alloc_try(q, &buf, 0);
    unit_check_err(got, err, "esp_amp_queue_alloc_try", file, line);
    if (got != ESP_OK) {
        return;
    }
    if (!unit_is_slot(mv, buf) || buf != mv->buf + off) {
        print_error("alloc handed out %p, expected buf+%u\n", buf, (unsigned)off);
        _fail(file, line);
    }
    unit_check_err(esp_amp_queue_send_try(q, buf, 0), ESP_OK, "esp_amp_queue_send_try", file, line);
}

#define EXPECT_ALLOC(q, mv, err, off) expect_alloc_at((q), (mv), (err), (off), __FILE__, __LINE__)

/* Buffer offsets no honest peer would publish, for a queue of `v`. */
static size_t bad_addrs(const unit_qview_t *v, uint32_t *out)
{
    uint32_t buf_off = v->hdr->buf_off;
    uint32_t end = buf_off + v->len * v->item;
    size_t n = 0;
    out[n++] = 0;
    out[n++] = v->block_off;
    out[n++] = v->hdr->desc_off;
    out[n++] = buf_off - v->item;
    out[n++] = buf_off - 4;
    out[n++] = buf_off - 1;
    out[n++] = buf_off + 1;
    out[n++] = buf_off + v->item - 4;
    out[n++] = end;
    out[n++] = end + v->item;
    out[n++] = end - 4;
    out[n++] = SHM_SIZE;
    out[n++] = SHM_SIZE + buf_off;
    out[n++] = 0x80000000u + buf_off;
    out[n++] = 0xfffffffcu;
    out[n++] = 0xffffffffu;
    return n;
}

/* ------------------------------------------------------------------ */
/* Bad descriptors from a master                                       */
/* ------------------------------------------------------------------ */

static void test_peer_recv_offset_outside_buffer_area(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q); /* main core is the remote */
    fake_peer_t m;
    fake_open(&m, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&rv, ID_Q);

    uint32_t bad[32];
    size_t n = bad_addrs(&rv, bad);
    for (size_t i = 0; i < n; i++) {
        fake_send(&m, bad[i], 4);
        EXPECT_RECV(&p.remote, &rv, ESP_ERR_INVALID_RESPONSE, 0, 0);
        /* The bad slot was consumed: the next good one is received. */
        uint32_t off = (uint32_t)(i % 4) * 16;
        fake_send(&m, rv.hdr->buf_off + off, 12);
        EXPECT_RECV(&p.remote, &rv, ESP_OK, off, 12);
    }
    void *buf;
    uint16_t size;
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &size), ESP_ERR_NOT_FOUND);
}

/* Every byte offset inside the buffer area (and a little around it) as a
 * master-published address: only slot starts are handed out, and then at
 * exactly that slot. The recv path's own multiply-inverse check. */
static void sweep_recv(uint16_t id, uint16_t len, uint16_t item)
{
    unit_pair_t p;
    OPEN_PAIR(&p, len, item, false, id);
    fake_peer_t m;
    fake_open(&m, id, AMPVQ_CORE_SUB);
    unit_qview_t rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&rv, id);

    const int64_t area = (int64_t)rv.len * rv.item;
    uint32_t handed_out = 0;
    for (int64_t off = -(int64_t)item - 16; off < area + item + 16; off++) {
        bool slot = off >= 0 && off < area && off % item == 0;
        fake_send(&m, (uint32_t)((int64_t)rv.hdr->buf_off + off), 1);
        void *buf = NULL;
        uint16_t size = 0;
        int err = esp_amp_queue_recv_try(&p.remote, &buf, &size);
        if (err != (slot ? ESP_OK : ESP_ERR_INVALID_RESPONSE) ||
            (err == ESP_OK && (buf != rv.buf + off || size != 1))) {
            print_error("item %u, buf%+lld: recv returned %s\n", (unsigned)item, (long long)off, unit_err_name(err));
            fail();
        }
        if (err == ESP_OK) {
            handed_out++;
            CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
        }
    }
    assert_int_equal(handed_out, len);
}

static void test_peer_recv_offset_off_slot_boundary(void **state)
{
    (void)state;
    static const uint16_t items[] = {4, 12, 36, 64, 100, 4096, 65532};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        sweep_recv((uint16_t)(0x500 + i), 4, items[i]);
    }
}

static void test_peer_recv_len_above_item_size(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q);
    fake_peer_t m;
    fake_open(&m, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&rv, ID_Q);
    const uint32_t b = rv.hdr->buf_off;

    static const uint16_t bad_len[] = {17, 20, 0x8000, 0xffff};
    for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
        fake_send(&m, b, bad_len[i]);
        EXPECT_RECV(&p.remote, &rv, ESP_ERR_INVALID_RESPONSE, 0, 0);
    }
    fake_send(&m, b + 16, 16);
    EXPECT_RECV(&p.remote, &rv, ESP_OK, 16, 16);
    fake_send(&m, b + 32, 0);
    EXPECT_RECV(&p.remote, &rv, ESP_OK, 32, 0);
}

/* Flags that do not say "available for this lap" are not a message, and
 * the remote does not move past them. */
static void test_peer_recv_flags_not_available_not_found(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 2, 16, false, ID_Q);
    fake_peer_t m;
    fake_open(&m, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&rv, ID_Q);
    const uint32_t b = rv.hdr->buf_off;

    for (uint32_t lap = 0; lap < 4; lap++) {
        uint16_t avail = m.wrap ? F_AVAIL : F_USED;
        const uint16_t not_avail[] = {0, F_BOTH, (uint16_t)(avail ^ F_BOTH), (uint16_t)(m.wrap ? F_USED : F_AVAIL)};
        for (size_t i = 0; i < sizeof(not_avail) / sizeof(not_avail[0]); i++) {
            if (not_avail[i] == avail) {
                continue;
            }
            fake_write(&m, b, 4, not_avail[i]);
            EXPECT_RECV(&p.remote, &rv, ESP_ERR_NOT_FOUND, 0, 0);
        }
        fake_write(&m, b + 16 * (m.idx & 1u), 8, avail);
        fake_advance(&m);
        EXPECT_RECV(&p.remote, &rv, ESP_OK, 16 * (lap & 1u), 8);
    }
}

/* A master that marks a slot available without filling it: whatever the
 * slot's stale descriptor says is handed out only if it names a slot. */
static void test_peer_recv_flags_flipped_available(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t hv, rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&hv, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&rv, ID_Q);

    SEND_MSG(&p, 1, 16);
    /* Slot 1 never sent: its descriptor still lends buffer 1, length 0. */
    __atomic_store_n(&hv.desc[1].flags, F_AVAIL, __ATOMIC_RELEASE);
    /* Slot 2 never sent, and its address is garbage. */
    hv.desc[2].addr = 0xdeadbeefu;
    __atomic_store_n(&hv.desc[2].flags, F_AVAIL, __ATOMIC_RELEASE);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    RECV_MSG(&p, 1, 16);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    EXPECT_RECV(&p.remote, &rv, ESP_OK, 16, 0);
    EXPECT_RECV(&p.remote, &rv, ESP_ERR_INVALID_RESPONSE, 0, 0);
    EXPECT_RECV(&p.remote, &rv, ESP_ERR_NOT_FOUND, 0, 0);
}

/* A master that keeps publishing while the remote holds every buffer: the
 * remote never holds more than `len` buffers at once (which would mean one
 * buffer twice), however many slots say "available". */
static void test_peer_recv_never_more_than_len_held(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q);
    fake_peer_t m;
    fake_open(&m, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t rv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&rv, ID_Q);

    void *held[4];
    uint16_t size;
    for (uint32_t i = 0; i < 4; i++) {
        fake_send(&m, rv.hdr->buf_off + i * 16, 16);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &held[i], &size));
    }
    /* Second lap already "available", pointing at buffers the remote holds. */
    fake_send(&m, rv.hdr->buf_off, 16);
    fake_send(&m, rv.hdr->buf_off + 16, 16);
    void *extra;
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &extra, &size), ESP_ERR_NOT_FOUND);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &extra, &size), ESP_ERR_NOT_FOUND);

    /* Giving one back makes room for exactly one. (Its free reuses slot 0,
     * so the premature message there is gone; publish it again, as an
     * honest master could only now.) */
    CHECK_OK(esp_amp_queue_free_try(&p.remote, held[0]));
    m.idx = 0;
    fake_send(&m, rv.hdr->buf_off, 16);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &extra, &size));
    assert_ptr_equal(extra, rv.buf);
    fake_send(&m, rv.hdr->buf_off + 16, 16);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &extra, &size), ESP_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------------ */
/* Bad descriptors from a remote                                       */
/* ------------------------------------------------------------------ */

static void test_peer_alloc_offset_outside_buffer_area(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q); /* main core is the master */
    fake_peer_t r;
    fake_open(&r, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t mv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&mv, ID_Q);

    uint32_t bad[32];
    size_t n = bad_addrs(&mv, bad);
    for (size_t i = 0; i < n; i++) {
        fake_free(&r, bad[i]);
        EXPECT_ALLOC(&p.master, &mv, ESP_ERR_INVALID_RESPONSE, 0);
        uint32_t off = (uint32_t)((i + 1) % 4) * 16;
        fake_free(&r, mv.hdr->buf_off + off);
        EXPECT_ALLOC(&p.master, &mv, ESP_OK, off);
    }
}

static void sweep_alloc(uint16_t id, uint16_t len, uint16_t item)
{
    unit_pair_t p;
    OPEN_PAIR(&p, len, item, true, id);
    fake_peer_t r;
    fake_open(&r, id, AMPVQ_CORE_SUB);
    unit_qview_t mv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&mv, id);

    const int64_t area = (int64_t)mv.len * mv.item;
    uint32_t handed_out = 0;
    for (int64_t off = -(int64_t)item - 16; off < area + item + 16; off++) {
        bool slot = off >= 0 && off < area && off % item == 0;
        fake_free(&r, (uint32_t)((int64_t)mv.hdr->buf_off + off));
        void *buf = NULL;
        int err = esp_amp_queue_alloc_try(&p.master, &buf, 0);
        if (err != (slot ? ESP_OK : ESP_ERR_INVALID_RESPONSE) || (err == ESP_OK && buf != mv.buf + off)) {
            print_error("item %u, buf%+lld: alloc returned %s\n", (unsigned)item, (long long)off, unit_err_name(err));
            fail();
        }
        if (err == ESP_OK) {
            handed_out++;
            CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 0));
        }
    }
    assert_int_equal(handed_out, len);
}

static void test_peer_alloc_offset_off_slot_boundary(void **state)
{
    (void)state;
    static const uint16_t items[] = {4, 12, 36, 64, 100, 4096, 65532};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        sweep_alloc((uint16_t)(0x500 + i), 4, items[i]);
    }
}

static void test_peer_alloc_flags_not_free_not_found(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 2, 16, true, ID_Q);
    fake_peer_t r;
    fake_open(&r, ID_Q, AMPVQ_CORE_SUB);
    unit_qview_t mv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&mv, ID_Q);
    const uint32_t b = mv.hdr->buf_off;

    for (uint32_t lap = 0; lap < 4; lap++) {
        uint16_t free_flags = r.wrap ? 0 : F_BOTH;
        const uint16_t not_free[] = {F_AVAIL, F_USED, (uint16_t)(free_flags ^ F_BOTH)};
        for (size_t i = 0; i < sizeof(not_free) / sizeof(not_free[0]); i++) {
            fake_write(&r, b, 0, not_free[i]);
            EXPECT_ALLOC(&p.master, &mv, ESP_ERR_NOT_FOUND, 0);
        }
        fake_write(&r, b + 16 * (r.idx & 1u), 0, free_flags);
        fake_advance(&r);
        EXPECT_ALLOC(&p.master, &mv, ESP_OK, 16 * (lap & 1u));
    }
}

/* A remote that marks slots free when they are not: while the master holds
 * every buffer nothing more is handed out; once they are sent, the stale
 * descriptors are handed out only where they name a slot. */
static void test_peer_alloc_flags_flipped_free(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t mv;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&mv, ID_Q);

    void *held[4], *buf;
    for (int i = 0; i < 4; i++) {
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &held[i], 16));
        unit_fill(held[i], (uint32_t)i, 16);
    }
    /* Second-lap "free" is both bits. */
    for (int i = 0; i < 4; i++) {
        __atomic_store_n(&mv.desc[i].flags, F_BOTH, __ATOMIC_RELEASE);
    }
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);

    for (int i = 0; i < 4; i++) {
        CHECK_OK(esp_amp_queue_send_try(&p.master, held[i], 16));
    }
    for (int i = 0; i < 4; i++) {
        __atomic_store_n(&mv.desc[i].flags, F_BOTH, __ATOMIC_RELEASE);
    }
    mv.desc[1].addr = 0x7ffffff0u;
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 0);
    EXPECT_ALLOC(&p.master, &mv, ESP_ERR_INVALID_RESPONSE, 0);
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 32);
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 48);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------------ */
/* After a bad slot the queue keeps working, one buffer short          */
/* ------------------------------------------------------------------ */

/* Moves `total` messages in bursts of at most `depth`. */
static void pump(unit_pair_t *p, uint32_t first_seq, uint32_t total, uint32_t depth)
{
    uint32_t seq = first_seq;
    while (seq < first_seq + total) {
        uint32_t burst = 1 + seq % depth;
        for (uint32_t i = 0; i < burst; i++) {
            SEND_MSG(p, seq + i, 8);
        }
        for (uint32_t i = 0; i < burst; i++) {
            RECV_MSG(p, seq + i, 8);
        }
        seq += burst;
    }
}

static void test_peer_bad_sent_slot_skipped_queue_keeps_working(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 8, true, ID_Q);
    unit_qview_t sv;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&sv, ID_Q);

    SEND_MSG(&p, 0, 8);
    SEND_MSG(&p, 1, 8);
    SEND_MSG(&p, 2, 8);
    /* The master's image scribbles on the second descriptor after sending. */
    sv.desc[1].addr = 0x12345678u;

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    RECV_MSG(&p, 0, 8);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    EXPECT_RECV(&p.remote, &sv, ESP_ERR_INVALID_RESPONSE, 0, 0);
    RECV_MSG(&p, 2, 8);

    /* That buffer is out of circulation: the master can hold 3, not 4. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *bufs[4];
    for (int i = 0; i < 3; i++) {
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &bufs[i], 8));
    }
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &bufs[3], 8), ESP_ERR_NOT_FOUND);
    for (int i = 0; i < 3; i++) {
        unit_fill(bufs[i], 100 + (uint32_t)i, 8);
        CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[i], 8));
    }
    for (uint32_t i = 0; i < 3; i++) {
        RECV_MSG(&p, 100 + i, 8);
    }
    pump(&p, 1000, 5000, 3);
}

static void test_peer_bad_freed_slot_skipped_queue_keeps_working(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 8, false, ID_Q); /* sub core is master */
    unit_qview_t mv;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&mv, ID_Q);

    for (uint32_t i = 0; i < 4; i++) {
        SEND_MSG(&p, i, 8);
    }
    for (uint32_t i = 0; i < 4; i++) {
        RECV_MSG(&p, i, 8);
    }
    /* The remote's image scribbles on the first slot it freed. */
    mv.desc[0].addr = mv.hdr->buf_off + 3;

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    EXPECT_ALLOC(&p.master, &mv, ESP_ERR_INVALID_RESPONSE, 0);
    /* The other three come back; the sends above hand them on. */
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 8);
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 16);
    EXPECT_ALLOC(&p.master, &mv, ESP_OK, 24);
    void *buf;
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 8), ESP_ERR_NOT_FOUND);
    for (int i = 0; i < 3; i++) {
        uint16_t size;
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &buf, &size));
        assert_int_equal(size, 0);
        CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
    }
    pump(&p, 1000, 5000, 3);
}

/* ------------------------------------------------------------------ */
/* Queue header                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *what;
    int field;     /* 0 len, 1 item_size, 2 desc_off, 3 buf_off, 4 desc_stride, 5 features, 6 ctl_off[0] */
    int64_t value; /* absolute, or relative to the block when rel */
    bool rel;
    int err;
} hdr_case_t;

static void test_peer_queue_header_corrupt_before_sub_init(void **state)
{
    (void)state;
    esp_amp_queue_t mq, sq;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    /* 4 slots of 16: header 0..24, descriptors 24..56, buffers 56..120,
     * control words 120..136. */
    CHECK_OK(esp_amp_queue_main_init(&mq, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    assert_int_equal(v.block_size, 136);
    const ampvq_queue_hdr_t good = *v.hdr;
    const int IR = ESP_ERR_INVALID_RESPONSE;

    const hdr_case_t cases[] = {
        {"len 0", 0, 0, false, ESP_ERR_NOT_FOUND},
        {"len 3", 0, 3, false, IR},
        {"len 6", 0, 6, false, IR},
        {"len 65535", 0, 65535, false, IR},
        {"len 8 (past the block)", 0, 8, false, IR},
        {"len 32768", 0, 32768, false, IR},
        {"item 0", 1, 0, false, IR},
        {"item 2", 1, 2, false, IR},
        {"item 6", 1, 6, false, IR},
        {"item 17", 1, 17, false, IR},
        {"item 65535", 1, 65535, false, IR},
        {"item 24 (past the block)", 1, 24, false, IR},
        {"desc in header", 2, 0, true, IR},
        {"desc in header +4", 2, 4, true, IR},
        {"desc unaligned", 2, 26, true, IR},
        {"desc past end", 2, 120 - 16, true, IR},
        {"desc at end", 2, 136, true, IR},
        {"desc before block", 2, -32, true, IR},
        {"desc 0", 2, 0, false, IR},
        {"desc wraps", 2, 0xfffffff8, false, IR},
        {"desc region end", 2, SHM_SIZE, false, IR},
        {"buf in header", 3, 8, true, IR},
        {"buf on descriptors", 3, 24, true, IR},
        {"buf overlaps last descriptor", 3, 52, true, IR},
        {"buf unaligned", 3, 58, true, IR},
        {"buf past end", 3, 80, true, IR},
        {"buf after block", 3, 136, true, IR},
        {"stride 0", 4, 0, false, IR},
        {"stride 3", 4, 3, false, IR},
        {"stride 4 (descriptors overlap)", 4, 4, false, IR},
        {"stride 12", 4, 12, false, IR},
        {"stride 16 (past the block)", 4, 16, false, IR},
        {"stride 512", 4, 512, false, IR},
        {"control words in header", 6, 20, true, IR},
        {"control words at 0", 6, 0, false, IR},
        {"control words unaligned", 6, 122, true, IR},
        {"control words past the block", 6, 132, true, IR},
        {"control words before the block", 6, -4, true, IR},
        {"buf 0", 3, 0, false, IR},
        {"buf wraps", 3, 0xfffffffc, false, IR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const hdr_case_t *c = &cases[i];
        uint32_t value = (uint32_t)(c->rel ? (int64_t)v.block_off + c->value : c->value);
        *v.hdr = good;
        switch (c->field) {
        case 0:
            v.hdr->len = (uint16_t)value;
            break;
        case 1:
            v.hdr->item_size = (uint16_t)value;
            break;
        case 2:
            v.hdr->desc_off = value;
            break;
        case 3:
            v.hdr->buf_off = value;
            break;
        case 4:
            v.hdr->desc_stride = (uint16_t)value;
            break;
        case 5:
            v.hdr->features = (uint16_t)value;
            break;
        default:
            v.hdr->ctl_off[0] = value;
            break;
        }
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        int err = esp_amp_queue_sub_init(&sq, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q);
        if (err != c->err) {
            print_error("%s: sub_init returned %s, expected %s\n", c->what, unit_err_name(err), unit_err_name(c->err));
            fail();
        }
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    }

    /* Misaligned and nothing else wrong: descriptors and buffers are
     * accessed as 32-bit words, atomically. */
    *v.hdr = good;
    v.hdr->desc_off = v.block_off + 14;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&sq, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), IR);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    v.hdr->desc_off = v.block_off + 24;
    v.hdr->buf_off = v.block_off + 58;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&sq, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), IR);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);

    /* The same block with its header intact opens and works. */
    *v.hdr = good;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_sub_init(&sq, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *buf;
    uint16_t size;
    CHECK_OK(esp_amp_queue_alloc_try(&mq, &buf, 16));
    unit_fill(buf, 5, 16);
    CHECK_OK(esp_amp_queue_send_try(&mq, buf, 16));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&sq, &buf, &size));
    assert_true(unit_payload_ok(buf, 5, 16));
}

static void test_peer_queue_block_too_small(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    uint8_t *tiny = esp_amp_sys_info_alloc(ID_Q, 8);
    assert_non_null(tiny);
    tiny[0] = 1; /* would be len 1 */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_INVALID_RESPONSE);

    /* Room for the header only: a len-1 queue claims areas it has not got. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    ampvq_queue_hdr_t *h = esp_amp_sys_info_alloc(ID_Q2, sizeof(ampvq_queue_hdr_t));
    assert_non_null(h);
    uint32_t off = (uint32_t)((uint8_t *)h - unit_base());
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q2), ESP_ERR_NOT_FOUND);
    h->item_size = 4;
    h->desc_off = off + 12;
    h->buf_off = off + 20;
    h->len = 1;
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q2), ESP_ERR_INVALID_RESPONSE);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* The header is read once at sub_init; scribbling on it later changes
 * nothing for either side. */
static void test_peer_queue_header_changed_after_init_ignored(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    v.hdr->len = 0x8000;
    v.hdr->item_size = 3;
    v.hdr->desc_off = 0xffffff00u;
    v.hdr->buf_off = 0;
    for (uint32_t i = 0; i < 40; i++) {
        SEND_MSG(&p, i, 16);
        RECV_MSG(&p, i, 16);
    }
}

/* ------------------------------------------------------------------ */
/* Directory and region header                                         */
/* ------------------------------------------------------------------ */

static ampvq_sys_info_entry_t *dir_entry(uint16_t id)
{
    ampvq_region_hdr_t *r = unit_region();
    ampvq_sys_info_entry_t *dir = (ampvq_sys_info_entry_t *)(r + 1);
    for (uint32_t i = 0; i < r->dir_count; i++) {
        if (dir[i].id == id) {
            return &dir[i];
        }
    }
    return NULL;
}

/* What the main core must refuse while the directory is bad: a new block, a
 * new queue, a new event word; none of them may change the directory. */
static void check_main_refuses_alloc(const char *what, int queue_err, const char *file, int line)
{
    esp_amp_queue_t q;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_dir_t before;
    unit_dir_save(&before);
    if (esp_amp_sys_info_alloc(0x0700, 16) != NULL) {
        print_error("%s: esp_amp_sys_info_alloc succeeded\n", what);
        _fail(file, line);
    }
    unit_check_err(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)0x0701), queue_err,
                   "esp_amp_queue_main_init", file, line);
    if (esp_amp_event_create(0x0702) == ESP_OK) {
        print_error("%s: esp_amp_event_create succeeded\n", what);
        _fail(file, line);
    }
    if (!unit_dir_unchanged(&before)) {
        print_error("%s: the region header or directory changed\n", what);
        _fail(file, line);
    }
}

static void test_peer_directory_entry_out_of_bounds(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_non_null(esp_amp_sys_info_alloc(ID_Q2, 64));
    ampvq_sys_info_entry_t *e = dir_entry(ID_Q);
    assert_non_null(e);
    const ampvq_sys_info_entry_t good = *e;
    const uint32_t dir_end = (uint32_t)(sizeof(ampvq_region_hdr_t) + AMPVQ_SYS_INFO_MAX_ENTRIES * 12u);

    const struct {
        const char *what;
        uint32_t offset, size;
    } cases[] = {
        {"offset past region", SHM_SIZE + 8, 16},
        {"offset at region end", SHM_SIZE, 16},
        {"offset 2^31", 0x80000000u, 16},
        {"end past region", SHM_SIZE - 8, 16},
        {"size past region", good.offset, SHM_SIZE},
        {"size 2^32-1", good.offset, 0xffffffffu},
        {"offset+size wraps to 0", good.offset, 0u - good.offset},
        {"offset in region header", 0, 16},
        {"offset in directory", 32, 16},
        {"offset at last entry", dir_end - 12, 16},
        {"offset unaligned", good.offset + 2, good.size},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        e->offset = cases[i].offset;
        e->size = cases[i].size;
        for (int core = 0; core < 2; core++) {
            ampvq_posix_set_core(core);
            uint32_t size32 = 0;
            uint16_t size16 = 0;
            if (esp_amp_sys_info_lookup(ID_Q, &size32) != NULL || esp_amp_sys_info_get(ID_Q, &size16) != NULL) {
                print_error("%s: core %d looked the entry up\n", cases[i].what, core);
                fail();
            }
            /* Other entries are still usable. */
            assert_non_null(esp_amp_sys_info_lookup(ID_Q2, NULL));
        }
        esp_amp_queue_t q;
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_INVALID_RESPONSE);
        check_main_refuses_alloc(cases[i].what, ESP_ERR_INVALID_RESPONSE, __FILE__, __LINE__);
    }

    /* Put back, everything works again. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    *e = good;
    assert_non_null(esp_amp_sys_info_alloc(0x0700, 16));
    SEND_MSG(&p, 1, 16);
    RECV_MSG(&p, 1, 16);
}

typedef struct {
    const char *what;
    int field; /* 0 magic, 1 version, 2 dir_capacity, 3 region_size, 4 dir_count */
    uint32_t value;
    int sub_init_err;   /* esp_amp_sys_info_init() on the sub core */
    int queue_err;      /* esp_amp_queue_sub_init() */
    int main_queue_err; /* esp_amp_queue_main_init() */
    bool events_gone;   /* the default event words can no longer be found */
} region_case_t;

static void test_peer_region_header_corrupt(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    ampvq_region_hdr_t *r = unit_region();
    unit_dir_t good;
    unit_dir_save(&good);
    const int IR = ESP_ERR_INVALID_RESPONSE;
    const int IS = ESP_ERR_INVALID_STATE;

    /* A region that ends inside the queue's block, after the event words. */
    const uint32_t cut = dir_entry(ID_Q)->offset + 8;
    assert_true(cut > dir_entry(SYS_INFO_RESERVED_ID_EVENT_SUB)->offset + 4);

    const region_case_t cases[] = {
        {"magic 0", 0, 0, IS, ESP_ERR_NOT_FOUND, IS, true},
        {"magic byte-swapped", 0, 0x414d5651u, IS, ESP_ERR_NOT_FOUND, IS, true},
        {"version 0", 1, 0, IR, IR, IR, true},
        {"version 1", 1, 1, IR, IR, IR, true},
        {"version 3", 1, 3, IR, IR, IR, true},
        {"dir_count > capacity", 4, AMPVQ_SYS_INFO_MAX_ENTRIES + 1, IR, IR, IR, true},
        {"dir_count 2^32-1", 4, 0xffffffffu, IR, IR, IR, true},
        {"region_size > mapping", 3, SHM_SIZE + 4096, IR, IR, IR, true},
        {"region_size 2^32-1", 3, 0xffffffffu, IR, IR, IR, true},
        {"region_size < directory", 3, 100, IR, IR, IR, true},
        {"region_size 0", 3, 0, IR, IR, IR, true},
        {"region_size inside the queue", 3, cut, ESP_OK, IR, IR, false},
        {"dir_capacity < dir_count", 2, 1, IR, IR, IR, true},
        {"dir_capacity 0", 2, 0, IR, IR, IR, true},
        /* Fits the region, but then every entry lies inside the directory. */
        {"dir_capacity 65535", 2, 65535, ESP_OK, IR, IR, true},
        /* Harmless to a reader, but not what the main core wrote: it must
         * not allocate on the strength of a header someone else changed. */
        {"dir_capacity - 1", 2, AMPVQ_SYS_INFO_MAX_ENTRIES - 1, ESP_OK, ESP_OK, IR, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const region_case_t *c = &cases[i];
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        unit_dir_restore(&good);
        switch (c->field) {
        case 0:
            r->magic = c->value;
            break;
        case 1:
            r->version = (uint16_t)c->value;
            break;
        case 2:
            r->dir_capacity = (uint16_t)c->value;
            break;
        case 3:
            r->region_size = c->value;
            break;
        default:
            r->dir_count = c->value;
            break;
        }
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        int err = esp_amp_sys_info_init();
        if (err != c->sub_init_err) {
            print_error("%s: sub esp_amp_sys_info_init returned %s\n", c->what, unit_err_name(err));
            fail();
        }
        for (int core = 0; core < 2; core++) {
            ampvq_posix_set_core(core);
            if ((esp_amp_sys_info_lookup(ID_Q, NULL) != NULL) != (c->queue_err == ESP_OK)) {
                print_error("%s: core %d lookup of the queue is wrong\n", c->what, core);
                fail();
            }
            /* The event API finds nothing and says so with 0. */
            if (c->events_gone) {
                assert_int_equal(esp_amp_event_notify(1), 0);
                assert_int_equal(esp_amp_event_wait(1, false, false, 0), 0);
            }
        }
        esp_amp_queue_t q;
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        err = esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q);
        if (err != c->queue_err) {
            print_error("%s: esp_amp_queue_sub_init returned %s\n", c->what, unit_err_name(err));
            fail();
        }
        check_main_refuses_alloc(c->what, c->main_queue_err, __FILE__, __LINE__);
    }

    /* Put back, everything works again: the queue opened before never
     * depended on the directory. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_dir_restore(&good);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sys_info_init());
    assert_non_null(esp_amp_sys_info_lookup(ID_Q, NULL));
    SEND_MSG(&p, 1, 16);
    RECV_MSG(&p, 1, 16);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_non_null(esp_amp_sys_info_alloc(0x0700, 16));
}

/* The sub core maps less memory than the region the main core declared:
 * it must refuse the region rather than read past its mapping (a guard
 * page follows it here). */
static void test_peer_sub_mapping_smaller_than_region(void **state)
{
    (void)state;
    esp_amp_queue_t mq, sq;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    /* Push a queue into the upper half of the region. */
    assert_non_null(esp_amp_sys_info_alloc(ID_Q2, SHM_SIZE / 2));
    CHECK_OK(esp_amp_queue_main_init(&mq, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));

    const uint32_t half = SHM_SIZE / 2;
    uint8_t *small = map_guarded(VIEW_SPARE, half);
    assert_non_null(small);
    ampvq_posix_attach(AMPVQ_CORE_SUB, small, half);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_sys_info_init(), ESP_ERR_INVALID_RESPONSE);
    assert_null(esp_amp_sys_info_lookup(ID_Q, NULL));
    assert_null(esp_amp_sys_info_lookup(SYS_INFO_RESERVED_ID_EVENT_MAIN, NULL));
    CHECK_ERR(esp_amp_queue_sub_init(&sq, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_INVALID_RESPONSE);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, guarded_setup, guarded_teardown)
    const struct CMUnitTest tests[] = {
        T(test_peer_recv_offset_outside_buffer_area),
        T(test_peer_recv_offset_off_slot_boundary),
        T(test_peer_recv_len_above_item_size),
        T(test_peer_recv_flags_not_available_not_found),
        T(test_peer_recv_flags_flipped_available),
        T(test_peer_recv_never_more_than_len_held),
        T(test_peer_alloc_offset_outside_buffer_area),
        T(test_peer_alloc_offset_off_slot_boundary),
        T(test_peer_alloc_flags_not_free_not_found),
        T(test_peer_alloc_flags_flipped_free),
        T(test_peer_bad_sent_slot_skipped_queue_keeps_working),
        T(test_peer_bad_freed_slot_skipped_queue_keeps_working),
        T(test_peer_queue_header_corrupt_before_sub_init),
        T(test_peer_queue_block_too_small),
        T(test_peer_queue_header_changed_after_init_ignored),
        T(test_peer_directory_entry_out_of_bounds),
        T(test_peer_region_header_corrupt),
        T(test_peer_sub_mapping_smaller_than_region),
    };
#undef T
    return cmocka_run_group_tests_name("peer", tests, NULL, NULL);
}
