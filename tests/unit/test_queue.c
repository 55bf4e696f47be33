/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The queue API against its contract (include/esp_amp_queue.h): every
 * function's success path and every documented return code, the geometry
 * rules (length rounded to a power of two, item size to 4), ownership of
 * buffers through full queues, out-of-order sends and frees, index wrap-around
 * far past 2^16, and the notify / callback hooks.
 *
 * Both cores are threads of this process (posix port, threads mode); a test
 * switches the core it acts as with ampvq_posix_set_core(), so most cases
 * are single-threaded and deterministic. Only the callback cases involve a
 * core's interrupt thread.
 */
#include "unit_support.h"

#include <stdatomic.h>

#define ID_Q  0x0100
#define ID_Q2 0x0101

/* A handler that does nothing, to fill the interrupt table. */
static int idle_handler(void *arg)
{
    (void)arg;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Success paths, both role assignments                                */
/* ------------------------------------------------------------------ */

static void roundtrip(bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 36, main_is_master, ID_Q);

    /* Empty, item-sized and in-between payloads, one at a time and queued. */
    SEND_MSG(&p, 1, 0);
    RECV_MSG(&p, 1, 0);
    SEND_MSG(&p, 2, 36);
    RECV_MSG(&p, 2, 36);
    SEND_MSG(&p, 3, 17);
    SEND_MSG(&p, 4, 4);
    SEND_MSG(&p, 5, 33);
    RECV_MSG(&p, 3, 17);
    RECV_MSG(&p, 4, 4);
    RECV_MSG(&p, 5, 33);

    void *buf;
    uint16_t size;
    ampvq_posix_set_core(p.remote_core);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &size), ESP_ERR_NOT_FOUND);
}

static void test_queue_roundtrip_main_master(void **state)
{
    (void)state;
    roundtrip(true);
}

static void test_queue_roundtrip_sub_master(void **state)
{
    (void)state;
    roundtrip(false);
}

/* The RPMsg virtqueue's reserved id is for queues: main_init takes it, and
 * an id that is never valid is refused without touching the directory. */
static void test_queue_reserved_vqueue_id_usable(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 8, 64, true, SYS_INFO_RESERVED_ID_VQUEUE);
    SEND_MSG(&p, 1, 64);
    RECV_MSG(&p, 1, 64);

    esp_amp_queue_t q;
    unit_dir_t before;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_dir_save(&before);
    assert_int_not_equal(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, SYS_INFO_ID_MAX), ESP_OK);
    assert_true(unit_dir_unchanged(&before));
}

/* The remote reads in place what the master wrote in place, through its own
 * mapping at another address. */
static void test_queue_buffers_are_shared_not_copied(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 2, 64, true, ID_Q);
    unit_qview_t vm, vs;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vm, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vs, ID_Q);
    assert_ptr_not_equal(vm.buf, vs.buf);

    void *mbuf, *sbuf;
    uint16_t size;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &mbuf, 64));
    assert_true(unit_is_slot(&vm, mbuf));
    unit_fill(mbuf, 42, 64);
    CHECK_OK(esp_amp_queue_send_try(&p.master, mbuf, 64));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &sbuf, &size));
    assert_true(unit_is_slot(&vs, sbuf));
    assert_int_equal((uint8_t *)sbuf - vs.buf, (uint8_t *)mbuf - vm.buf);
    assert_int_equal(size, 64);
    assert_true(unit_payload_ok(sbuf, 42, 64));
    /* An in-place reply: the master sees it once it gets the buffer back. */
    memset(sbuf, 0x5a, 64);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, sbuf));

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *again;
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &again, 64));
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &again, 64));
    assert_ptr_equal(again, mbuf);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(((uint8_t *)again)[i], 0x5a);
    }
}

/* ------------------------------------------------------------------ */
/* Caller mistakes                                                     */
/* ------------------------------------------------------------------ */

static void test_queue_null_arguments_invalid_arg(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    void *buf = NULL;
    uint16_t size = 0;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_main_init(NULL, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q2),
              ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_try(NULL, &buf, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, NULL, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(NULL, buf, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, NULL, 4), ESP_ERR_INVALID_ARG);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(NULL, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_try(NULL, &buf, &size), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, NULL, &size), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_try(NULL, buf), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_try(&p.remote, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_intr_enable(NULL, SW_INTR_ID_0), ESP_ERR_INVALID_ARG);

    /* A NULL is not a half-done call: the queue still works. */
    SEND_MSG(&p, 9, 16);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, NULL), ESP_ERR_INVALID_ARG);
    RECV_MSG(&p, 9, 16);

    /* main_init(NULL) did not take the id. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_null(esp_amp_sys_info_get(ID_Q2, NULL));
}

/* Every call on a handle that was never initialised. */
static void check_all_invalid_state(esp_amp_queue_t *q)
{
    void *buf = NULL;
    uint16_t size = 0;
    uint8_t scratch[16];

    CHECK_ERR(esp_amp_queue_alloc_try(q, &buf, 4), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_send_try(q, scratch, 4), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_recv_try(q, &buf, &size), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_free_try(q, scratch), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_intr_enable(q, SW_INTR_ID_0), ESP_ERR_INVALID_STATE);
}

static void test_queue_uninitialised_handle_invalid_state(void **state)
{
    (void)state;
    esp_amp_queue_t q;

    memset(&q, 0, sizeof(q));
    check_all_invalid_state(&q);
    /* Stack garbage, as an application that forgot to init would have. */
    memset(&q, 0xa5, sizeof(q));
    check_all_invalid_state(&q);
}

/* A handle's state is tied to where it was initialised: a struct copy
 * would fork the private indices, so it is refused. */
static void test_queue_copied_handle_invalid_state(void **state)
{
    (void)state;
    unit_pair_t p;
    esp_amp_queue_t copy;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    memcpy(&copy, &p.master, sizeof(copy));
    check_all_invalid_state(&copy);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    memcpy(&copy, &p.remote, sizeof(copy));
    check_all_invalid_state(&copy);

    /* The originals are untouched. */
    SEND_MSG(&p, 1, 8);
    RECV_MSG(&p, 1, 8);
}

static void check_wrong_roles(unit_pair_t *p)
{
    void *buf = NULL;
    uint16_t size = 0;

    /* Real buffers, so only the role can be wrong. */
    ampvq_posix_set_core(p->master_core);
    void *mbuf;
    CHECK_OK(esp_amp_queue_alloc_try(&p->master, &mbuf, 8));
    CHECK_ERR(esp_amp_queue_recv_try(&p->master, &buf, &size), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_free_try(&p->master, mbuf), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_intr_enable(&p->master, SW_INTR_ID_1), ESP_ERR_NOT_SUPPORTED);
    unit_fill(mbuf, 77, 8);
    CHECK_OK(esp_amp_queue_send_try(&p->master, mbuf, 8));

    ampvq_posix_set_core(p->remote_core);
    void *rbuf;
    CHECK_OK(esp_amp_queue_recv_try(&p->remote, &rbuf, &size));
    CHECK_ERR(esp_amp_queue_alloc_try(&p->remote, &buf, 8), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_send_try(&p->remote, rbuf, 8), ESP_ERR_NOT_SUPPORTED);
    CHECK_OK(esp_amp_queue_free_try(&p->remote, rbuf));

    SEND_MSG(p, 78, 8);
    RECV_MSG(p, 78, 8);
}

static void test_queue_wrong_role_not_supported(void **state)
{
    (void)state;
    unit_pair_t a, b;
    OPEN_PAIR(&a, 4, 8, true, ID_Q);
    OPEN_PAIR(&b, 4, 8, false, ID_Q2);
    check_wrong_roles(&a);
    check_wrong_roles(&b);
}

static void test_queue_main_init_on_sub_core_not_supported(void **state)
{
    (void)state;
    esp_amp_queue_t q;

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q),
              ESP_ERR_NOT_SUPPORTED);
    assert_null(esp_amp_sys_info_get(ID_Q, NULL));
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NOT_FOUND);

    /* The id is still free for the main core. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
}

/* Fixture: shared memory mapped, esp_amp_init() not run on either core. */
static void test_queue_init_before_esp_amp_init(void **state)
{
    (void)state;
    esp_amp_queue_t q;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_INVALID_STATE);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NOT_FOUND);
    check_all_invalid_state(&q);
}

static void test_queue_sub_init_missing_id_not_found(void **state)
{
    (void)state;
    esp_amp_queue_t q;

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NOT_FOUND);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NOT_FOUND);
    check_all_invalid_state(&q);

    /* A block under the id whose header the main core has not written yet
     * (len still 0) is "not there yet", not an error in the peer. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_non_null(esp_amp_sys_info_alloc(ID_Q2, 256));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_sub_init(&q, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q2), ESP_ERR_NOT_FOUND);
}

static void test_queue_size_above_item_size_no_mem(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    unit_pair_t p;
    OPEN_PAIR(&p, 2, 16, true, ID_Q);
    void *buf;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 17), ESP_ERR_NO_MEM);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, UINT16_MAX), ESP_ERR_NO_MEM);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    unit_fill(buf, 5, 16);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, buf, 17), ESP_ERR_NO_MEM);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, buf, UINT16_MAX), ESP_ERR_NO_MEM);
    /* The refused sends published nothing and kept the buffer ours. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    void *rbuf;
    uint16_t size;
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &rbuf, &size), ESP_ERR_NOT_FOUND);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));
    RECV_MSG(&p, 5, 16);
}

static void test_queue_len_out_of_range_invalid_arg(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    static const uint16_t bad[] = {0, 32769, 32770, 40000, 65535};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_ERR(esp_amp_queue_main_init(&q, bad[i], 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q),
                  ESP_ERR_INVALID_ARG);
        CHECK_ERR(esp_amp_queue_main_init(&q, bad[i], 16, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q),
                  ESP_ERR_INVALID_ARG);
    }
    /* Nothing was allocated under the id by the refused calls. */
    assert_null(esp_amp_sys_info_get(ID_Q, NULL));
    CHECK_OK(esp_amp_queue_main_init(&q, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
}

static void test_queue_item_size_out_of_range_invalid_size(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    static const uint16_t bad[] = {0, 65533, 65534, 65535};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_ERR(esp_amp_queue_main_init(&q, 4, bad[i], NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q),
                  ESP_ERR_INVALID_SIZE);
    }
    assert_null(esp_amp_sys_info_get(ID_Q, NULL));
}

/* Slots the master can hold at once: the queue's real length. */
static uint32_t count_allocs(esp_amp_queue_t *master, uint16_t size, uint32_t limit)
{
    void *buf;
    uint32_t n = 0;

    while (n <= limit && esp_amp_queue_alloc_try(master, &buf, size) == ESP_OK) {
        n++;
    }
    return n;
}

/* The rounded length, seen from both ends: the master holds exactly that
 * many buffers, and after sending them the remote receives exactly that
 * many, all distinct slots. */
static void check_rounded_len(uint16_t id, uint16_t len_arg, uint32_t want)
{
    unit_pair_t pair;
    unit_pair_t *p = &pair;
    OPEN_PAIR(p, len_arg, 4, true, id);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    uint32_t block_size = 0;
    assert_non_null(esp_amp_sys_info_lookup(id, &block_size));
    assert_int_equal(block_size, ((24u + want * 12u + 7u) & ~7u) + 16u);

    void *buf;
    uint32_t n = 0;
    while (n <= want && esp_amp_queue_alloc_try(&p->master, &buf, 4) == ESP_OK) {
        memcpy(buf, &n, sizeof(n));
        CHECK_OK(esp_amp_queue_send_try(&p->master, buf, 4));
        n++;
    }
    assert_int_equal(n, want);
    CHECK_ERR(esp_amp_queue_alloc_try(&p->master, &buf, 4), ESP_ERR_NOT_FOUND);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint16_t size;
    for (uint32_t i = 0; i < want; i++) {
        CHECK_OK(esp_amp_queue_recv_try(&p->remote, &buf, &size));
        uint32_t seq;
        memcpy(&seq, buf, sizeof(seq));
        assert_int_equal(seq, i);
    }
    CHECK_ERR(esp_amp_queue_recv_try(&p->remote, &buf, &size), ESP_ERR_NOT_FOUND);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_queue_len_rounded_up_to_power_of_two(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    check_rounded_len(0x200, 1, 1);
    check_rounded_len(0x201, 2, 2);
    check_rounded_len(0x202, 3, 4);
    check_rounded_len(0x203, 5, 8);
    check_rounded_len(0x204, 8, 8);
    check_rounded_len(0x205, 9, 16);
    check_rounded_len(0x206, 100, 128);
    check_rounded_len(0x207, 1025, 2048);
    check_rounded_len(0x208, 32767, 32768);
    /* A second 32768-slot queue would not fit beside the first. */
    UNIT_RESET_CORES();
    check_rounded_len(0x209, 16385, 32768);
    UNIT_RESET_CORES();
    check_rounded_len(0x20a, 32768, 32768);
}

static void test_queue_item_size_rounded_up_to_4(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    static const uint16_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 65529, 65531, 65532};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint16_t id = (uint16_t)(0x300 + i);
        uint16_t rounded = (uint16_t)((sizes[i] + 3u) & ~3u);
        unit_pair_t pair;
        unit_pair_t *p = &pair;
        OPEN_PAIR(p, 1, sizes[i], true, id);

        uint32_t block_size = 0;
        assert_non_null(esp_amp_sys_info_lookup(id, &block_size));
        assert_int_equal(block_size, ((24u + 8u + rounded + 7u) & ~7u) + 16u);

        void *buf;
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        if (rounded < UINT16_MAX) {
            CHECK_ERR(esp_amp_queue_alloc_try(&p->master, &buf, (uint16_t)(rounded + 1u)), ESP_ERR_NO_MEM);
        }
        /* The whole rounded size is usable, not just what was asked for. */
        SEND_MSG(p, (uint32_t)i, rounded);
        RECV_MSG(p, (uint32_t)i, rounded);
    }
}

/* Taken by a queue or by a plain block: either way the id is in use. */
static void test_queue_duplicate_id_invalid_state(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    esp_amp_queue_t q1, q2;

    CHECK_OK(esp_amp_queue_main_init(&q1, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
    CHECK_ERR(esp_amp_queue_main_init(&q2, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q),
              ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_main_init(&q2, 8, 32, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q),
              ESP_ERR_INVALID_STATE);
    assert_non_null(esp_amp_sys_info_alloc(ID_Q2, 64));
    CHECK_ERR(esp_amp_queue_main_init(&q2, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q2),
              ESP_ERR_INVALID_STATE);
    /* The reserved default event words are taken by esp_amp_init(). */
    CHECK_ERR(esp_amp_queue_main_init(&q2, 4, 16, NULL, NULL, true, SYS_INFO_RESERVED_ID_EVENT_MAIN),
              ESP_ERR_INVALID_STATE);

    /* The first queue was not disturbed. */
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    assert_int_equal(v.len, 4);
    assert_int_equal(v.item, 16);
    void *buf;
    CHECK_OK(esp_amp_queue_alloc_try(&q1, &buf, 16));
}

static void test_queue_no_room_no_mem(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    esp_amp_queue_t q;

    /* 32768 slots of 65532 bytes: 2 GiB, far more than the region. */
    CHECK_ERR(esp_amp_queue_main_init(&q, 32768, 65532, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NO_MEM);
    /* Just over the 1 MiB region. */
    CHECK_ERR(esp_amp_queue_main_init(&q, 16, 65532, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NO_MEM);
    /* A full directory. */
    uint16_t id = 0x400;
    while (esp_amp_sys_info_alloc(id, 4) != NULL) {
        id++;
    }
    CHECK_ERR(esp_amp_queue_main_init(&q, 1, 4, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q), ESP_ERR_NO_MEM);
    check_all_invalid_state(&q);
}

static void test_queue_send_without_alloc_not_allowed(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&v, ID_Q);

    /* Never allocated. */
    CHECK_ERR(esp_amp_queue_send_try(&p.master, v.buf, 4), ESP_ERR_NOT_ALLOWED);
    /* Allocated once, sent twice. */
    void *buf;
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 4));
    unit_fill(buf, 1, 4);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 4));
    CHECK_ERR(esp_amp_queue_send_try(&p.master, buf, 4), ESP_ERR_NOT_ALLOWED);
    /* The refused send published nothing. */
    RECV_MSG(&p, 1, 4);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint16_t size;
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &size), ESP_ERR_NOT_FOUND);
}

static void test_queue_free_without_recv_not_allowed(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q); /* the main core is the remote */
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&v, ID_Q);

    /* Never received. */
    CHECK_ERR(esp_amp_queue_free_try(&p.remote, v.buf), ESP_ERR_NOT_ALLOWED);
    /* Received once, freed twice. */
    SEND_MSG(&p, 3, 16);
    RECV_MSG(&p, 3, 16);
    CHECK_ERR(esp_amp_queue_free_try(&p.remote, v.buf), ESP_ERR_NOT_ALLOWED);
    /* The refused free gave nothing back: the master holds one buffer fewer
     * than the queue has only until the remote really frees. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(count_allocs(&p.master, 16, 8), 4);
}

/* Pointers that are not this queue's buffers, for the master and for the
 * remote: memory elsewhere, another queue's buffer, and this very buffer
 * through the other core's mapping (right bytes, wrong address space). */
static void test_queue_foreign_pointer_invalid_arg(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    unit_pair_t p, other;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    OPEN_PAIR(&other, 4, 16, true, ID_Q2);
    unit_qview_t vm, vs, vo;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vm, ID_Q);
    QVIEW(&vo, ID_Q2);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vs, ID_Q);

    uint32_t on_stack[4] = {0};
    void *candidates_master[] = {on_stack, vo.buf, vs.buf, vm.buf - 16, vm.buf + 4 * 16, vm.hdr, vm.desc};
    void *buf;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    unit_fill(buf, 11, 16);
    for (size_t i = 0; i < sizeof(candidates_master) / sizeof(candidates_master[0]); i++) {
        CHECK_ERR(esp_amp_queue_send_try(&p.master, candidates_master[i], 16), ESP_ERR_INVALID_ARG);
    }
#if UINTPTR_MAX > UINT32_MAX
    /* 4 GiB away: the low 32 bits name a slot, the pointer does not. */
    void *far_up = (void *)((uintptr_t)vm.buf + ((uintptr_t)1 << 32));
    void *far_down = (void *)((uintptr_t)vm.buf - ((uintptr_t)1 << 32) + 16);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, far_up, 16), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, far_down, 16), ESP_ERR_INVALID_ARG);
#endif
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));

    void *rbuf;
    uint16_t size;
    void *candidates_remote[] = {on_stack, vo.buf, vm.buf, vs.buf - 16, vs.buf + 4 * 16, vs.hdr, vs.desc};
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rbuf, &size));
    for (size_t i = 0; i < sizeof(candidates_remote) / sizeof(candidates_remote[0]); i++) {
        CHECK_ERR(esp_amp_queue_free_try(&p.remote, candidates_remote[i]), ESP_ERR_INVALID_ARG);
    }
#if UINTPTR_MAX > UINT32_MAX
    CHECK_ERR(esp_amp_queue_free_try(&p.remote, (void *)((uintptr_t)vs.buf + ((uintptr_t)1 << 32))),
              ESP_ERR_INVALID_ARG);
#endif
    assert_true(unit_payload_ok(rbuf, 11, 16));
    CHECK_OK(esp_amp_queue_free_try(&p.remote, rbuf));
}

/*
 * Every byte offset around a queue's buffer area, given to send_try and to
 * free_try: only the exact start of one of the queue's `len` slots is taken
 * (src/queue.c checks this with a multiply by the inverse of the item size's
 * odd factor, so odd factors 1, 3, 5, 9, 25, 16383 and several powers of two
 * are covered below). Where a pointer is accepted, the other side must get
 * exactly that buffer.
 *
 * The master's allocs hand out first the len fresh slots, then, in order,
 * the buffers the remote freed; `expect` models that ring.
 */
typedef struct {
    uint32_t items[4 * AMPVQ_QUEUE_LEN_MAX];
    uint32_t head, tail;
} offset_fifo_t;

/* Static: too big for the stack, and only one sweep runs at a time. */
static offset_fifo_t expect;

static void fifo_push(offset_fifo_t *f, uint32_t off)
{
    assert_true(f->tail < sizeof(f->items) / sizeof(f->items[0]));
    f->items[f->tail++] = off;
}

static uint32_t fifo_pop(offset_fifo_t *f)
{
    assert_true(f->head < f->tail);
    return f->items[f->head++];
}

static void sweep_slot_offsets(uint16_t id, uint16_t len, uint16_t item)
{
    unit_pair_t p;
    OPEN_PAIR(&p, len, item, true, id);
    unit_qview_t vm, vs;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vm, id);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vs, id);
    assert_int_equal(vm.item, item);

    expect.head = expect.tail = 0;
    for (uint32_t i = 0; i < len; i++) {
        fifo_push(&expect, i * item);
    }
    const int64_t area = (int64_t)len * item;
    const int64_t lo = -(int64_t)item - 16;
    const int64_t hi = area + item + 16;
    void *buf, *rbuf;
    uint16_t size;
    uint32_t accepted = 0;

    /* Master side: one buffer allocated, so a valid pointer can be sent. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 0));
    assert_ptr_equal(buf, vm.buf + fifo_pop(&expect));
    for (int64_t off = lo; off < hi; off++) {
        bool slot = off >= 0 && off < area && off % item == 0;
        void *ptr = (void *)((uintptr_t)vm.buf + (uintptr_t)off);
        int err = esp_amp_queue_send_try(&p.master, ptr, 0);
        if (err != (slot ? ESP_OK : ESP_ERR_INVALID_ARG)) {
            print_error("item %u: send_try(buf %+lld) returned %s\n", (unsigned)item, (long long)off,
                        unit_err_name(err));
            fail();
        }
        if (!slot) {
            continue;
        }
        accepted++;
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rbuf, &size));
        assert_ptr_equal(rbuf, vs.buf + off);
        CHECK_OK(esp_amp_queue_free_try(&p.remote, rbuf));
        fifo_push(&expect, (uint32_t)off);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 0));
        assert_ptr_equal(buf, vm.buf + fifo_pop(&expect));
    }
    assert_int_equal(accepted, len);

    /* Remote side: one buffer received, so a valid pointer can be freed. */
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 0));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rbuf, &size));
    accepted = 0;
    for (int64_t off = lo; off < hi; off++) {
        bool slot = off >= 0 && off < area && off % item == 0;
        void *ptr = (void *)((uintptr_t)vs.buf + (uintptr_t)off);
        int err = esp_amp_queue_free_try(&p.remote, ptr);
        if (err != (slot ? ESP_OK : ESP_ERR_INVALID_ARG)) {
            print_error("item %u: free_try(buf %+lld) returned %s\n", (unsigned)item, (long long)off,
                        unit_err_name(err));
            fail();
        }
        if (!slot) {
            continue;
        }
        accepted++;
        fifo_push(&expect, (uint32_t)off);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 0));
        assert_ptr_equal(buf, vm.buf + fifo_pop(&expect));
        CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 0));
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rbuf, &size));
        assert_ptr_equal(rbuf, vs.buf + ((uint8_t *)buf - vm.buf));
    }
    assert_int_equal(accepted, len);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_queue_only_slot_starts_accepted(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    static const uint16_t items[] = {4, 8, 12, 20, 36, 64, 100, 4096, 65532};

    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        sweep_slot_offsets((uint16_t)(0x500 + i), 4, items[i]);
    }
    /* Largest length: slot numbers up to 32767 must still decode exactly. */
    UNIT_RESET_CORES();
    sweep_slot_offsets(0x510, 32768, 12);
}

static atomic_int cb_runs;
static atomic_int cb_wrong_core;
static atomic_int cb_on_test_thread;
static _Thread_local bool on_test_thread;

static int counting_callback(void *arg)
{
    (void)arg;
    atomic_fetch_add(&cb_runs, 1);
    return 0;
}

static void test_queue_intr_enable_errors(void **state)
{
    (void)state;
    unit_pair_t p, no_cb;
    atomic_store(&cb_runs, 0);
    unit_open_pair_at(&p, 4, 16, true, ID_Q, NULL, NULL, counting_callback, NULL, __FILE__, __LINE__);
    OPEN_PAIR(&no_cb, 4, 16, true, ID_Q2);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_intr_enable(&no_cb.remote, SW_INTR_ID_0), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_intr_enable(&p.remote, (esp_amp_sw_intr_id_t)32), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_intr_enable(&p.remote, (esp_amp_sw_intr_id_t)0xffff), ESP_ERR_INVALID_ARG);

    /* With every handler slot of this core taken the callback cannot be
     * registered. */
    int filled = 0;
    while (esp_amp_sw_intr_add_handler(SW_INTR_ID_15, idle_handler, NULL) == ESP_OK) {
        filled++;
    }
    assert_int_equal(filled, AMPVQ_SW_INTR_MAX_HANDLERS);
    CHECK_ERR(esp_amp_queue_intr_enable(&p.remote, SW_INTR_ID_2), ESP_ERR_NOT_FINISHED);
    unit_sleep_ms(20);
    assert_int_equal(atomic_load(&cb_runs), 0);

    esp_amp_sw_intr_delete_handler(SW_INTR_ID_15, idle_handler);
    CHECK_OK(esp_amp_queue_intr_enable(&p.remote, SW_INTR_ID_MAX));
    WAIT_UNTIL(atomic_load(&cb_runs) == 1);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_MAX, counting_callback);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* ------------------------------------------------------------------ */
/* Ownership: full queue, out-of-order send and free                   */
/* ------------------------------------------------------------------ */

static void test_queue_full_alloc_not_found_until_remote_frees(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    void *bufs[4], *buf, *rbuf;
    uint16_t size;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &bufs[i], 16));
        for (uint32_t j = 0; j < i; j++) {
            assert_ptr_not_equal(bufs[i], bufs[j]);
        }
    }
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);
    for (uint32_t i = 0; i < 4; i++) {
        unit_fill(bufs[i], i, 16);
        CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[i], 16));
        /* Sent is not free: the remote still owns it. */
        CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);
    }

    /* Received is not free either. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rbuf, &size));
    assert_true(unit_payload_ok(rbuf, 0, 16));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);

    /* Each free lets exactly one alloc through. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, rbuf));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    assert_ptr_equal(buf, bufs[0]);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 16), ESP_ERR_NOT_FOUND);
    unit_fill(bufs[0], 4, 16);
    CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[0], 16));

    /* Back-pressure, never an overwrite: all five arrive intact, in order. */
    for (uint32_t i = 1; i < 5; i++) {
        RECV_MSG(&p, i, 16);
    }
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &rbuf, &size), ESP_ERR_NOT_FOUND);
}

static void test_queue_recv_empty_not_found(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q);
    void *buf;
    uint16_t size;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &size), ESP_ERR_NOT_FOUND);
    /* Allocated but not yet sent is not visible to the remote. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &size), ESP_ERR_NOT_FOUND);
}

/* The remote frees in its own order; every buffer comes back to the master,
 * in the order it was freed. */
static void test_queue_free_out_of_order_returns_all(void **state)
{
    (void)state;
    static const int order[4] = {2, 0, 3, 1};
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 32, false, ID_Q); /* sub core is master */
    unit_qview_t vm, vr;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vm, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vr, ID_Q);

    for (uint32_t lap = 0; lap < 3; lap++) {
        for (uint32_t i = 0; i < 4; i++) {
            SEND_MSG(&p, lap * 4 + i, 32);
        }
        void *got[4];
        uint16_t size;
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        for (uint32_t i = 0; i < 4; i++) {
            CHECK_OK(esp_amp_queue_recv_try(&p.remote, &got[i], &size));
            assert_true(unit_payload_ok(got[i], lap * 4 + i, 32));
        }
        for (uint32_t i = 0; i < 4; i++) {
            CHECK_OK(esp_amp_queue_free_try(&p.remote, got[order[i]]));
        }
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        for (uint32_t i = 0; i < 4; i++) {
            void *buf;
            CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 32));
            assert_int_equal((uint8_t *)buf - vm.buf, (uint8_t *)got[order[i]] - vr.buf);
            CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 0));
        }
        void *buf;
        CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 32), ESP_ERR_NOT_FOUND);
        /* Drain the empty messages used to hand the buffers back. */
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        for (uint32_t i = 0; i < 4; i++) {
            CHECK_OK(esp_amp_queue_recv_try(&p.remote, &buf, &size));
            assert_int_equal(size, 0);
            CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
        }
    }
}

/* Buffers sent in another order than allocated arrive in send order. */
static void test_queue_send_out_of_alloc_order(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t vm, vs;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vs, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vm, ID_Q);

    for (uint32_t lap = 0; lap < 3; lap++) {
        void *bufs[3];
        static const int send_order[3] = {2, 0, 1};
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
        for (uint32_t i = 0; i < 3; i++) {
            CHECK_OK(esp_amp_queue_alloc_try(&p.master, &bufs[i], 16));
            unit_fill(bufs[i], 100 * lap + i, 16);
        }
        for (uint32_t i = 0; i < 3; i++) {
            CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[send_order[i]], 16));
        }
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        for (uint32_t i = 0; i < 3; i++) {
            void *r;
            uint16_t size;
            CHECK_OK(esp_amp_queue_recv_try(&p.remote, &r, &size));
            assert_int_equal((uint8_t *)r - vs.buf, (uint8_t *)bufs[send_order[i]] - vm.buf);
            assert_true(unit_payload_ok(r, 100 * lap + (uint32_t)send_order[i], 16));
            CHECK_OK(esp_amp_queue_free_try(&p.remote, r));
        }
    }
}

/* Every payload size up to the item size, both directions; the remote sees
 * the size the master sent and every byte of it. */
static void test_queue_payload_integrity(void **state)
{
    (void)state;
    unit_pair_t a, b;
    OPEN_PAIR(&a, 8, 100, true, ID_Q);
    OPEN_PAIR(&b, 8, 100, false, ID_Q2);

    for (uint32_t size = 0; size <= 100; size++) {
        SEND_MSG(&a, 1000 + size, (uint16_t)size);
        SEND_MSG(&b, 2000 + size, (uint16_t)size);
        SEND_MSG(&a, 3000 + size, (uint16_t)(100 - size));
        RECV_MSG(&b, 2000 + size, (uint16_t)size);
        RECV_MSG(&a, 1000 + size, (uint16_t)size);
        RECV_MSG(&a, 3000 + size, (uint16_t)(100 - size));
    }
}

/* ------------------------------------------------------------------ */
/* Index wrap-around                                                   */
/* ------------------------------------------------------------------ */

#define WRAP_MESSAGES (1u << 17)

/* `total` messages in bursts of 1..len, each burst received whole and
 * freed in a rotating order, so that both wrap counters flip tens of
 * thousands of times with the ring in every fill state. */
static void pump_wrap(unit_pair_t *p, uint16_t id, uint32_t total)
{
    unit_qview_t vr;
    ampvq_posix_set_core(p->remote_core);
    QVIEW(&vr, id);
    const uint32_t len = vr.len;
    const uint16_t item = (uint16_t)vr.item;
    uint32_t sent = 0, received = 0;
    void *held[64];
    assert_true(len <= 64);

    while (sent < total) {
        uint32_t burst = 1 + (sent / 7) % len;
        if (burst > total - sent) {
            burst = total - sent;
        }
        for (uint32_t i = 0; i < burst; i++) {
            uint32_t seq = sent++;
            SEND_MSG(p, seq, (uint16_t)(seq % (item + 1u)));
        }
        if (burst == len) {
            void *buf;
            CHECK_ERR(esp_amp_queue_alloc_try(&p->master, &buf, 0), ESP_ERR_NOT_FOUND);
        }
        ampvq_posix_set_core(p->remote_core);
        for (uint32_t i = 0; i < burst; i++) {
            uint32_t seq = received++;
            uint16_t size = 0;
            CHECK_OK(esp_amp_queue_recv_try(&p->remote, &held[i], &size));
            if (size != seq % (item + 1u) || !unit_payload_ok(held[i], seq, size) || !unit_is_slot(&vr, held[i])) {
                print_error("message %u: %u bytes, payload %s\n", (unsigned)seq, (unsigned)size,
                            unit_payload_ok(held[i], seq, size) ? "ok" : "wrong");
                fail();
            }
        }
        void *buf;
        uint16_t size;
        CHECK_ERR(esp_amp_queue_recv_try(&p->remote, &buf, &size), ESP_ERR_NOT_FOUND);
        for (uint32_t i = 0; i < burst; i++) {
            CHECK_OK(esp_amp_queue_free_try(&p->remote, held[(i + sent) % burst]));
        }
    }
    assert_int_equal(received, total);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_queue_wraparound_len4_main_master(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 12, true, ID_Q);
    pump_wrap(&p, ID_Q, WRAP_MESSAGES);
}

static void test_queue_wraparound_len4_sub_master(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 12, false, ID_Q);
    pump_wrap(&p, ID_Q, WRAP_MESSAGES);
}

static void test_queue_wraparound_len1(void **state)
{
    (void)state;
    unit_pair_t a, b;
    OPEN_PAIR(&a, 1, 8, true, ID_Q);
    OPEN_PAIR(&b, 1, 8, false, ID_Q2);
    pump_wrap(&a, ID_Q, WRAP_MESSAGES);
    pump_wrap(&b, ID_Q2, WRAP_MESSAGES);
}

/* An odd length between the two, and one long enough to hold many bursts. */
static void test_queue_wraparound_len2_len64(void **state)
{
    (void)state;
    unit_pair_t a, b;
    OPEN_PAIR(&a, 2, 4, true, ID_Q);
    OPEN_PAIR(&b, 64, 4, false, ID_Q2);
    pump_wrap(&a, ID_Q, WRAP_MESSAGES / 2);
    pump_wrap(&b, ID_Q2, WRAP_MESSAGES / 2);
}

/* 512 x 256 bytes: a block over 64 KiB, which ESP-AMP's 16-bit size field
 * truncates (DESIGN.md section 1). All 512 buffers must be usable and lie
 * inside the block. */
static void big_queue(uint16_t id, bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR(&p, 512, 256, main_is_master, id);

    uint32_t size32 = 0;
    uint16_t size16 = 0;
    uint8_t *block = esp_amp_sys_info_lookup(id, &size32);
    assert_non_null(block);
    assert_ptr_equal(esp_amp_sys_info_get(id, &size16), block);
    assert_int_equal(size32, 24u + 512u * 8u + 512u * 256u + 16u);
    assert_true(size32 > 0xffffu);
    assert_int_equal(size16, 0xffff);

    unit_qview_t vm;
    ampvq_posix_set_core(p.master_core);
    QVIEW(&vm, id);
    uint8_t *block_m = (uint8_t *)vm.hdr;
    for (uint32_t lap = 0; lap < 2; lap++) {
        ampvq_posix_set_core(p.master_core);
        void *bufs[512];
        for (uint32_t i = 0; i < 512; i++) {
            CHECK_OK(esp_amp_queue_alloc_try(&p.master, &bufs[i], 256));
            assert_true((uint8_t *)bufs[i] >= block_m + 16 + 512 * 8);
            assert_true((uint8_t *)bufs[i] + 256 <= block_m + size32);
            unit_fill(bufs[i], lap * 512 + i, 256);
        }
        void *extra;
        CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &extra, 256), ESP_ERR_NOT_FOUND);
        for (uint32_t i = 0; i < 512; i++) {
            CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[i], 256));
        }
        for (uint32_t i = 0; i < 512; i++) {
            RECV_MSG(&p, lap * 512 + i, 256);
        }
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_queue_512x256_block_over_64k(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    big_queue(ID_Q, true);
    big_queue(ID_Q2, false);
}

/* ------------------------------------------------------------------ */
/* Notify function and callback                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    int calls;
    void *last_arg;
    const esp_amp_queue_desc_t *desc; /* master's view of the table */
    uint32_t len;
    uint16_t flags_at_call[16];
} notify_log_t;

static notify_log_t notify_log;

/* Runs on the master's thread inside send_try: records that the descriptor
 * was already published when it was called. */
static int logging_notify(void *arg)
{
    notify_log_t *log = &notify_log;
    if (log->desc != NULL && log->calls < 16) {
        log->flags_at_call[log->calls] = log->desc[(uint32_t)log->calls % log->len].flags;
    }
    log->calls++;
    log->last_arg = arg;
    return 0;
}

static void test_queue_notify_once_per_successful_send(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    unit_pair_t p;
    int token;
    memset(&notify_log, 0, sizeof(notify_log));
    unit_open_pair_at(&p, 4, 16, false, ID_Q, logging_notify, &token, NULL, NULL, __FILE__, __LINE__);
    unit_qview_t vm;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vm, ID_Q);
    notify_log.desc = vm.desc;
    notify_log.len = vm.len;

    void *buf;
    uint8_t scratch[16];
    CHECK_ERR(esp_amp_queue_send_try(&p.master, vm.buf, 4), ESP_ERR_NOT_ALLOWED);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    assert_int_equal(notify_log.calls, 0);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, NULL, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, scratch, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, (uint8_t *)buf + 4, 4), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, buf, 17), ESP_ERR_NO_MEM);
    assert_int_equal(notify_log.calls, 0);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));
    assert_int_equal(notify_log.calls, 1);
    assert_ptr_equal(notify_log.last_arg, &token);
    assert_int_equal(notify_log.flags_at_call[0], AMPVQ_DESC_F_AVAIL);

    for (uint32_t i = 1; i < 4; i++) {
        SEND_MSG(&p, i, 8);
        assert_int_equal(notify_log.calls, (int)i + 1);
        assert_int_equal(notify_log.flags_at_call[i], AMPVQ_DESC_F_AVAIL);
    }
    /* Full: the failed alloc and the refused send do not notify. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 8), ESP_ERR_NOT_FOUND);
    CHECK_ERR(esp_amp_queue_send_try(&p.master, vm.buf, 8), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(notify_log.calls, 4);
    /* The remote's recv and free never call the master's notify. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *r;
    uint16_t size;
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &r, &size));
    CHECK_OK(esp_amp_queue_free_try(&p.remote, r));
    assert_int_equal(notify_log.calls, 4);
    notify_log.desc = NULL;
}

/* Remote side of the interrupt-driven case: the callback drains the queue
 * on the remote core's interrupt thread and checks the sequence there (it
 * may not assert: cmocka is not thread-safe), the master triggers the
 * remote's software interrupt from its notify function, as the seed shows.
 * Static, so that a late interrupt never touches a dead stack frame. */
typedef struct {
    unit_pair_t pair;
    esp_amp_sw_intr_id_t intr;
    atomic_uint received;
    atomic_uint errors;
    atomic_int core_seen;
} drain_ctx_t;

static drain_ctx_t drain;

static int trigger_notify(void *arg)
{
    drain_ctx_t *ctx = arg;
    esp_amp_sw_intr_trigger(ctx->intr);
    return 0;
}

static int draining_callback(void *arg)
{
    drain_ctx_t *ctx = arg;
    void *buf;
    uint16_t size;

    atomic_fetch_add(&cb_runs, 1);
    if (on_test_thread) {
        atomic_fetch_add(&cb_on_test_thread, 1);
    }
    if (ampvq_port_core_id() != ctx->pair.remote_core) {
        atomic_fetch_add(&cb_wrong_core, 1);
    }
    while (esp_amp_queue_recv_try(&ctx->pair.remote, &buf, &size) == ESP_OK) {
        uint32_t seq = atomic_load(&ctx->received);
        if (size != 8 || !unit_payload_ok(buf, seq, 8)) {
            atomic_fetch_add(&ctx->errors, 1);
        }
        if (esp_amp_queue_free_try(&ctx->pair.remote, buf) != ESP_OK) {
            atomic_fetch_add(&ctx->errors, 1);
        }
        atomic_store(&ctx->received, seq + 1);
    }
    return 0;
}

static void reset_drain(esp_amp_sw_intr_id_t intr)
{
    memset(&drain, 0, sizeof(drain));
    drain.intr = intr;
    atomic_store(&cb_runs, 0);
    atomic_store(&cb_wrong_core, 0);
    atomic_store(&cb_on_test_thread, 0);
    on_test_thread = true;
}

static void callback_from_interrupt(bool main_is_master, esp_amp_sw_intr_id_t intr)
{
    const uint32_t total = 2000;
    reset_drain(intr);
    unit_open_pair_at(&drain.pair, 4, 8, main_is_master, ID_Q, trigger_notify, &drain, draining_callback, &drain,
                      __FILE__, __LINE__);

    ampvq_posix_set_core(drain.pair.remote_core);
    CHECK_OK(esp_amp_queue_intr_enable(&drain.pair.remote, intr));
    /* intr_enable's catch-up run finds nothing to do. */
    WAIT_UNTIL(atomic_load(&cb_runs) >= 1);
    assert_int_equal(atomic_load(&drain.received), 0);

    ampvq_posix_set_core(drain.pair.master_core);
    for (uint32_t seq = 0; seq < total; seq++) {
        void *buf;
        uint32_t t0 = ampvq_port_time_ms();
        int err;
        /* The queue is full until the remote's interrupt drains it. */
        while ((err = esp_amp_queue_alloc_try(&drain.pair.master, &buf, 8)) == ESP_ERR_NOT_FOUND &&
               ampvq_port_time_ms() - t0 < UNIT_WAIT_MS) {
            ampvq_port_delay_us(20);
        }
        CHECK_OK(err);
        unit_fill(buf, seq, 8);
        CHECK_OK(esp_amp_queue_send_try(&drain.pair.master, buf, 8));
    }
    WAIT_UNTIL(atomic_load(&drain.received) == total);
    assert_int_equal(atomic_load(&drain.errors), 0);
    assert_int_equal(atomic_load(&cb_wrong_core), 0);
    assert_int_equal(atomic_load(&cb_on_test_thread), 0);
    /* Coalescing may merge interrupts, but never runs more than were raised. */
    assert_true(atomic_load(&cb_runs) <= (int)total + 1);

    /* No run after this: the handler is gone before the fixture tears down. */
    ampvq_posix_set_core(drain.pair.remote_core);
    esp_amp_sw_intr_delete_handler(intr, draining_callback);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_queue_callback_runs_from_sw_intr_main_master(void **state)
{
    (void)state;
    callback_from_interrupt(true, SW_INTR_ID_3);
}

static void test_queue_callback_runs_from_sw_intr_sub_master(void **state)
{
    (void)state;
    callback_from_interrupt(false, SW_INTR_RESERVED_ID_RPMSG);
}

/* Messages sent before the remote enabled its interrupt raised nothing the
 * remote handled; intr_enable runs the callback once to catch up. */
static void test_queue_callback_runs_once_after_intr_enable_with_queued(void **state)
{
    (void)state;
    reset_drain(SW_INTR_ID_7);
    /* No notify: nothing but intr_enable can cause a run. */
    unit_open_pair_at(&drain.pair, 4, 8, true, ID_Q, NULL, NULL, draining_callback, &drain, __FILE__, __LINE__);
    for (uint32_t seq = 0; seq < 3; seq++) {
        SEND_MSG(&drain.pair, seq, 8);
    }
    unit_sleep_ms(20);
    assert_int_equal(atomic_load(&cb_runs), 0);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_intr_enable(&drain.pair.remote, SW_INTR_ID_7));
    WAIT_UNTIL(atomic_load(&drain.received) == 3);
    unit_sleep_ms(50);
    assert_int_equal(atomic_load(&cb_runs), 1);
    assert_int_equal(atomic_load(&drain.errors), 0);
    assert_int_equal(atomic_load(&cb_wrong_core), 0);
    assert_int_equal(atomic_load(&cb_on_test_thread), 0);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_7, draining_callback);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_queue_roundtrip_main_master),
        T(test_queue_roundtrip_sub_master),
        T(test_queue_buffers_are_shared_not_copied),
        T(test_queue_reserved_vqueue_id_usable),
        T(test_queue_null_arguments_invalid_arg),
        T(test_queue_uninitialised_handle_invalid_state),
        T(test_queue_copied_handle_invalid_state),
        T(test_queue_wrong_role_not_supported),
        T(test_queue_main_init_on_sub_core_not_supported),
        cmocka_unit_test_setup_teardown(test_queue_init_before_esp_amp_init, unit_setup_bare, unit_teardown),
        T(test_queue_sub_init_missing_id_not_found),
        T(test_queue_size_above_item_size_no_mem),
        T(test_queue_len_out_of_range_invalid_arg),
        T(test_queue_item_size_out_of_range_invalid_size),
        T(test_queue_len_rounded_up_to_power_of_two),
        T(test_queue_item_size_rounded_up_to_4),
        T(test_queue_duplicate_id_invalid_state),
        T(test_queue_no_room_no_mem),
        T(test_queue_send_without_alloc_not_allowed),
        T(test_queue_free_without_recv_not_allowed),
        T(test_queue_foreign_pointer_invalid_arg),
        T(test_queue_only_slot_starts_accepted),
        T(test_queue_intr_enable_errors),
        T(test_queue_full_alloc_not_found_until_remote_frees),
        T(test_queue_recv_empty_not_found),
        T(test_queue_free_out_of_order_returns_all),
        T(test_queue_send_out_of_alloc_order),
        T(test_queue_payload_integrity),
        T(test_queue_wraparound_len4_main_master),
        T(test_queue_wraparound_len4_sub_master),
        T(test_queue_wraparound_len1),
        T(test_queue_wraparound_len2_len64),
        T(test_queue_512x256_block_over_64k),
        T(test_queue_notify_once_per_successful_send),
        T(test_queue_callback_runs_from_sw_intr_main_master),
        T(test_queue_callback_runs_from_sw_intr_sub_master),
        T(test_queue_callback_runs_once_after_intr_enable_with_queued),
    };
#undef T
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
