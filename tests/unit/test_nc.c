/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Non-coherent builds only (ampvq_nc): the padded layout, the uncached
 * prefix, and one test per cache hook of the core that fails when that hook
 * is missing (tools/hook_deletion.sh deletes them one at a time). The posix
 * port simulates the caches: each core works on a private copy of shared
 * memory beyond the uncached prefix, and only the hooks move 64-byte lines
 * between that copy and the memory (docs/noncoherent.md).
 *
 * Each test drives both cores from the test thread (ampvq_posix_set_core),
 * so a missing hook is seen at once, as a wrong byte or an empty queue, not
 * as a hang.
 */
#include <stdlib.h>

#include "unit_support.h"

#if AMPVQ_CACHE_COHERENT || !AMPVQ_POSIX_NONCOHERENT
#error "test_nc is built against ampvq_nc only"
#endif

#define LINE    AMPVQ_CACHE_LINE
#define QID     0x4e43u
#define ROUNDS  24u
#define NC_ITEM 200u /* rounded up to 256: four lines, and a partial last one in use */

static bool line_aligned(uint32_t v)
{
    return (v % LINE) == 0;
}

/* ------------------------------------------------------------ layout */

static void check_layout(uint16_t id, bool event_idx)
{
    unit_qview_t v;
    QVIEW(&v, id);
    assert_int_equal(v.hdr->desc_stride, LINE);
    assert_true(line_aligned(v.block_off));
    assert_true(line_aligned(v.hdr->desc_off));
    assert_true(line_aligned(v.hdr->buf_off));
    assert_true(line_aligned(v.item));
    /* The header owns its line: nothing the peer writes shares it. */
    assert_true(v.hdr->desc_off >= v.block_off + LINE);
    assert_true(v.hdr->buf_off >= v.hdr->desc_off + v.len * LINE);
    /* Ordinary blocks are cached: after the uncached prefix. */
    assert_true(v.block_off >= AMPVQ_SHM_UNCACHED_BYTES);
    /* Each role's control words (wake, session) on a line of their own,
     * event index or not: each is written by one core only. */
    assert_int_equal(!!(v.hdr->features & AMPVQ_QUEUE_FEAT_EVENT_IDX), event_idx);
    assert_true(line_aligned(v.hdr->ctl_off[0]));
    assert_true(line_aligned(v.hdr->ctl_off[1]));
    assert_true(v.hdr->ctl_off[1] >= v.hdr->ctl_off[0] + LINE);
    assert_true(v.hdr->ctl_off[0] >= v.hdr->buf_off + v.len * v.item);
}

static void test_nc_padded_layout(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 8, NC_ITEM, true, QID);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    check_layout(QID, false);

    esp_amp_queue_t m;
    CHECK_OK(esp_amp_queue_main_init_ex(&m, 4, 8, NULL, NULL, true, (esp_amp_sys_info_id_t)(QID + 1),
                                        ESP_AMP_QUEUE_F_EVENT_IDX));
    check_layout(QID + 1, true);
}

static void test_nc_rmw_words_uncached(void **state)
{
    (void)state;
    uint32_t size = 0;
    uint8_t *ev = esp_amp_sys_info_lookup(SYS_INFO_RESERVED_ID_EVENT_MAIN, &size);
    assert_non_null(ev);
    assert_true((uint32_t)(ev - unit_base()) + size <= AMPVQ_SHM_UNCACHED_BYTES);
    ev = esp_amp_sys_info_lookup(SYS_INFO_RESERVED_ID_EVENT_SUB, &size);
    assert_non_null(ev);
    assert_true((uint32_t)(ev - unit_base()) + size <= AMPVQ_SHM_UNCACHED_BYTES);
    /* esp_amp_event_create() of an application id, and the public uncached
     * alloc, land there too; ordinary blocks do not. */
    CHECK_OK(esp_amp_event_create(0x0e01));
    ev = esp_amp_sys_info_lookup(0x0e01, &size);
    assert_true((uint32_t)(ev - unit_base()) < AMPVQ_SHM_UNCACHED_BYTES);
    uint8_t *u = esp_amp_sys_info_alloc_uncached(0x0e02, 100);
    assert_non_null(u);
    assert_true((uint32_t)(u - unit_base()) + 100u <= AMPVQ_SHM_UNCACHED_BYTES);
    assert_true(line_aligned((uint32_t)(u - unit_base())));
    uint8_t *c = esp_amp_sys_info_alloc(0x0e03, 100);
    assert_non_null(c);
    assert_true((uint32_t)(c - unit_base()) >= AMPVQ_SHM_UNCACHED_BYTES);
    /* The prefix fills up; the cached arena goes on. */
    uint16_t id = 0x0e10;
    while (esp_amp_sys_info_alloc_uncached(id, 1024) != NULL) {
        id++;
    }
    assert_true(id - 0x0e10u < AMPVQ_SHM_UNCACHED_BYTES / 1024u);
    assert_non_null(esp_amp_sys_info_alloc(id, 1024));
    /* An event notified by one core is seen by the other at once: no hook. */
    assert_int_equal(esp_amp_event_notify_by_id(0x0e01, 0x5), 0);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_event_wait_by_id(0x0e01, 0x5, true, true, 0), 0x5);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* What the padding is for: a write-back moves the whole line, so two sides
 * that write neighbouring descriptors of one line clobber each other. */
static void test_nc_simulation_moves_whole_lines(void **state)
{
    (void)state;
    uint8_t *blk = esp_amp_sys_info_alloc(0x0e20, LINE);
    assert_non_null(blk);
    uint32_t off = (uint32_t)(blk - unit_base());
    esp_amp_queue_desc_t *d_main = (esp_amp_queue_desc_t *)(void *)blk;
    d_main[0] = (esp_amp_queue_desc_t){.addr = 0x1111, .len = 1, .flags = 1};
    ampvq_port_cache_writeback(&d_main[0], sizeof(d_main[0]));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_queue_desc_t *d_sub = (esp_amp_queue_desc_t *)(void *)(unit_base() + off);
    /* The sub core writes descriptor 1 of the same line without having
     * invalidated it: its copy of descriptor 0 is the stale zero. */
    d_sub[1] = (esp_amp_queue_desc_t){.addr = 0x2222, .len = 2, .flags = 2};
    ampvq_port_cache_writeback(&d_sub[1], sizeof(d_sub[1]));

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    ampvq_port_cache_invalidate(&d_main[0], sizeof(d_main[0]));
    assert_int_equal(d_main[1].addr, 0x2222);
    assert_int_equal(d_main[0].addr, 0); /* the main core's descriptor is lost */
}

/* A queue header with ESP-AMP's 8-byte stride is refused: with it, our
 * descriptor write-backs would clobber the peer's. */
static void test_nc_sub_refuses_coherent_stride(void **state)
{
    (void)state;
    esp_amp_queue_t m, r;
    CHECK_OK(esp_amp_queue_main_init(&m, 8, 64, NULL, NULL, true, (esp_amp_sys_info_id_t)QID));
    unit_qview_t v;
    QVIEW(&v, QID);
    v.hdr->desc_stride = 8;
    ampvq_port_cache_writeback(v.hdr, sizeof(*v.hdr));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&r, NULL, NULL, false, (esp_amp_sys_info_id_t)QID), ESP_ERR_INVALID_RESPONSE);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    v.hdr->desc_stride = LINE;
    ampvq_port_cache_writeback(v.hdr, sizeof(*v.hdr));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_sub_init(&r, NULL, NULL, false, (esp_amp_sys_info_id_t)QID));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* ----------------------------------------------- payloads, in-place replies */

static uint8_t reply_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(0x5a ^ (seq * 29u) ^ (i * 13u));
}

/* Sizes that end inside a line, on a line boundary and fill the buffer. */
static uint16_t size_of(uint32_t seq, uint16_t item)
{
    static const uint16_t sizes[] = {5, 64, 100, 129, 256, 1, 192, 70};
    uint16_t s = sizes[seq % (sizeof(sizes) / sizeof(sizes[0]))];
    return s > item ? item : s;
}

/* The remote writes a reply over the whole buffer before it frees it; the
 * master, on allocating that buffer again, must see the reply, not what it
 * sent: free writes back item_size bytes, alloc invalidates them. */
static void check_reply(const uint8_t *b, uint32_t seq, uint16_t item)
{
    for (uint32_t i = 0; i < item; i++) {
        if (b[i] != reply_byte(seq, i)) {
            print_error("reply %u: byte %u is 0x%02x, expected 0x%02x\n", (unsigned)seq, (unsigned)i, b[i],
                        reply_byte(seq, i));
            fail();
        }
    }
}

static void write_reply(uint8_t *b, uint32_t seq, uint16_t item)
{
    for (uint32_t i = 0; i < item; i++) {
        b[i] = reply_byte(seq, i);
    }
}

/* One buffer per lap (len 1) so every alloc gets the buffer of the last
 * reply, singly. */
static void inplace_single(bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR(&p, 1, NC_ITEM, main_is_master, QID);
    uint16_t item = p.master.item_size;
    for (uint32_t seq = 0; seq < ROUNDS; seq++) {
        void *buf = NULL;
        ampvq_posix_set_core(p.master_core);
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, item));
        if (seq != 0) {
            check_reply(buf, seq - 1, item);
        }
        uint16_t size = size_of(seq, item);
        unit_fill(buf, seq, size);
        CHECK_OK(esp_amp_queue_send_try(&p.master, buf, size));

        void *rb = NULL;
        uint16_t got = 0;
        ampvq_posix_set_core(p.remote_core);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rb, &got));
        assert_int_equal(got, size);
        assert_true(unit_payload_ok(rb, seq, size));
        write_reply(rb, seq, item);
        CHECK_OK(esp_amp_queue_free_try(&p.remote, rb));
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_nc_inplace_reply_main_master(void **state)
{
    (void)state;
    inplace_single(true);
}

static void test_nc_inplace_reply_sub_master(void **state)
{
    (void)state;
    inplace_single(false);
}

/* The same through the batch calls, four buffers per batch. */
#define NB 4u
static void inplace_batch(bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR(&p, NB, NC_ITEM, main_is_master, QID);
    uint16_t item = p.master.item_size;
    uint32_t seq = 0;
    uint32_t replied[NB * 2] = {0}; /* by buffer index: seq of its last reply + 1 */
    unit_qview_t v;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        void *bufs[NB];
        uint16_t sizes[NB], n = 0;
        ampvq_posix_set_core(p.master_core);
        QVIEW(&v, QID);
        CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, item, NB, &n));
        assert_int_equal(n, NB);
        for (uint32_t i = 0; i < NB; i++) {
            uint32_t slot = (uint32_t)((uint8_t *)bufs[i] - v.buf) / v.item;
            if (replied[slot] != 0) {
                check_reply(bufs[i], replied[slot] - 1u, item);
            }
            sizes[i] = size_of(seq + i, item);
            unit_fill(bufs[i], seq + i, sizes[i]);
        }
        CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, NB));

        void *rb[NB];
        uint16_t rs[NB];
        ampvq_posix_set_core(p.remote_core);
        QVIEW(&v, QID);
        CHECK_OK(esp_amp_queue_recv_n(&p.remote, rb, rs, NB, &n));
        assert_int_equal(n, NB);
        for (uint32_t i = 0; i < NB; i++) {
            assert_int_equal(rs[i], sizes[i]);
            assert_true(unit_payload_ok(rb[i], seq + i, rs[i]));
            write_reply(rb[i], seq + i, item);
            replied[(uint32_t)((uint8_t *)rb[i] - v.buf) / v.item] = seq + i + 1u;
        }
        /* Freed in reverse, so the next alloc_n meets them out of order. */
        void *rev[NB];
        for (uint32_t i = 0; i < NB; i++) {
            rev[i] = rb[NB - 1u - i];
        }
        CHECK_OK(esp_amp_queue_free_n(&p.remote, rev, NB));
        seq += NB;
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_nc_batch_inplace_main_master(void **state)
{
    (void)state;
    inplace_batch(true);
}

static void test_nc_batch_inplace_sub_master(void **state)
{
    (void)state;
    inplace_batch(false);
}

/* Several buffers in flight across many laps, one at a time, sizes that
 * end inside a line: a stale line shows as a payload that does not match. */
static void test_nc_payloads_across_laps(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, NC_ITEM, true, QID);
    uint16_t item = p.master.item_size;
    uint32_t sent = 0, recvd = 0;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        uint32_t burst = 1u + round % 4u;
        for (uint32_t i = 0; i < burst; i++, sent++) {
            SEND_MSG(&p, sent, size_of(sent, item));
        }
        for (; recvd < sent; recvd++) {
            RECV_MSG(&p, recvd, size_of(recvd, item));
        }
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* ------------------------------------------------------------ event index */

static int count_cb(void *arg)
{
    (*(uint32_t *)arg)++;
    return 0;
}

/* Each side asks for a notification when it finds nothing (the wake word it
 * writes back), and the other side must see that request (the wake word it
 * invalidates): round after round, one notify per request. */
static void event_idx_rounds(bool main_is_master)
{
    uint32_t sends = 0, frees = 0;
    esp_amp_queue_t q_main, q_sub;
    esp_amp_queue_t *master = main_is_master ? &q_main : &q_sub;
    esp_amp_queue_t *remote = main_is_master ? &q_sub : &q_main;
    int mcore = main_is_master ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
    int rcore = main_is_master ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_main_init_ex(&q_main, 2, 32, main_is_master ? count_cb : NULL,
                                        main_is_master ? (void *)&sends : NULL, main_is_master,
                                        (esp_amp_sys_info_id_t)QID, ESP_AMP_QUEUE_F_EVENT_IDX));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_sub_init(&q_sub, main_is_master ? NULL : count_cb, main_is_master ? NULL : (void *)&sends,
                                    !main_is_master, (esp_amp_sys_info_id_t)QID));
    ampvq_posix_set_core(rcore);
    CHECK_OK(esp_amp_queue_set_free_notify(remote, count_cb, &frees));

    for (uint32_t r = 0; r < ROUNDS; r++) {
        void *b = NULL, *b2 = NULL;
        uint16_t len = 0;
        /* The remote finds the queue empty: asks to be told. */
        ampvq_posix_set_core(rcore);
        CHECK_ERR(esp_amp_queue_recv_try(remote, &b, &len), ESP_ERR_NOT_FOUND);
        /* The master takes both buffers and sends one. */
        ampvq_posix_set_core(mcore);
        CHECK_OK(esp_amp_queue_alloc_try(master, &b, 8));
        CHECK_OK(esp_amp_queue_alloc_try(master, &b2, 8));
        unit_fill(b2, r, 8);
        uint32_t before = sends;
        CHECK_OK(esp_amp_queue_send_try(master, b2, 8));
        if (sends != before + 1u) {
            print_error("round %u: the send after the remote's request did not notify\n", (unsigned)r);
            fail();
        }
        /* It holds one buffer and the next slot is not back: asks too. */
        CHECK_ERR(esp_amp_queue_alloc_try(master, &b2, 8), ESP_ERR_NOT_FOUND);
        /* The remote takes the message and frees it: the master asked. */
        ampvq_posix_set_core(rcore);
        CHECK_OK(esp_amp_queue_recv_try(remote, &b2, &len));
        assert_int_equal(len, 8);
        assert_true(unit_payload_ok(b2, r, 8));
        before = frees;
        CHECK_OK(esp_amp_queue_free_try(remote, b2));
        if (frees != before + 1u) {
            print_error("round %u: the free after the master's request did not notify\n", (unsigned)r);
            fail();
        }
        /* The other buffer goes round empty. */
        ampvq_posix_set_core(mcore);
        CHECK_OK(esp_amp_queue_send_try(master, b, 0));
        ampvq_posix_set_core(rcore);
        CHECK_OK(esp_amp_queue_recv_try(remote, &b, &len));
        CHECK_OK(esp_amp_queue_free_try(remote, b));
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_nc_event_idx_main_master(void **state)
{
    (void)state;
    event_idx_rounds(true);
}

static void test_nc_event_idx_sub_master(void **state)
{
    (void)state;
    event_idx_rounds(false);
}

/* ------------------------------------------------------------ sys_info */

/* A block is published zeroed even when memory still holds an earlier
 * session's bytes: the main core writes the zeroes back. */
/* esp_amp_queue_dump() shows shared memory as it is, not this core's
 * cached copy: the remote sees the master's send in the slot line, and the
 * main core sees the session word the sub core wrote at attach. */
typedef struct {
    bool ready_seen, session_seen, master_wake_seen;
} nc_dump_t;

static void nc_dump_line(void *ctx, const char *line)
{
    nc_dump_t *d = (nc_dump_t *)ctx;
    if (getenv("NC_DUMP_DEBUG") != NULL) {
        print_message("%s\n", line);
    }
    if (strstr(line, "slot 0 ") == line && strstr(line, "ready to receive") != NULL) {
        d->ready_seen = true;
    }
    if (strstr(line, "ctl own") == line && strstr(line, "peer wake 0 session 0x80000001") != NULL) {
        d->session_seen = true;
    }
    /* The remote never reads the master's control line otherwise: only the
     * dump's own invalidate shows the master's initial wake word. */
    if (strstr(line, "ctl own wake 0 ") == line && strstr(line, "peer wake 2147483648 ") != NULL) {
        d->master_wake_seen = true;
    }
}

static void test_nc_dump_reads_shared_memory(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, NC_ITEM, true, QID);
    nc_dump_t d = {0};
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_dump(&p.master, nc_dump_line, &d));
    assert_true(d.session_seen);
    SEND_MSG(&p, 1, 8);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_dump(&p.remote, nc_dump_line, &d));
    assert_true(d.ready_seen);
    assert_true(d.master_wake_seen);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_nc_sys_info_block_published_zeroed(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_sys_info_init());
    uint8_t *a = esp_amp_sys_info_alloc(0x0e30, 300);
    assert_non_null(a);
    memset(a, 0xa5, 300);
    ampvq_port_cache_writeback(a, 300);

    CHECK_OK(esp_amp_sys_info_init()); /* a new session: the directory is empty */
    uint8_t *b = esp_amp_sys_info_alloc(0x0e30, 300);
    assert_ptr_equal(a, b);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sys_info_init());
    uint32_t size = 0;
    uint8_t *s = esp_amp_sys_info_lookup(0x0e30, &size);
    assert_non_null(s);
    assert_int_equal(size, 300);
    ampvq_port_cache_invalidate(s, size);
    for (uint32_t i = 0; i < size; i++) {
        if (s[i] != 0) {
            print_error("byte %u of the new block is 0x%02x on the sub core\n", (unsigned)i, s[i]);
            fail();
        }
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_nc_padded_layout),
        T(test_nc_rmw_words_uncached),
        T(test_nc_simulation_moves_whole_lines),
        T(test_nc_sub_refuses_coherent_stride),
        T(test_nc_inplace_reply_main_master),
        T(test_nc_inplace_reply_sub_master),
        T(test_nc_batch_inplace_main_master),
        T(test_nc_batch_inplace_sub_master),
        T(test_nc_payloads_across_laps),
        T(test_nc_event_idx_main_master),
        T(test_nc_event_idx_sub_master),
        T(test_nc_dump_reads_shared_memory),
        cmocka_unit_test_setup_teardown(test_nc_sys_info_block_published_zeroed, unit_setup_bare, unit_teardown),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
