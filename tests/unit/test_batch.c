/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The batch calls (esp_amp_queue_alloc_n / send_n / recv_n / free_n) against
 * their contract in include/esp_amp_queue.h: counts, the all-or-nothing
 * checks of send_n and free_n, one notify per batch, bad descriptors from
 * the peer at the start and in the middle of a batch, role and state errors,
 * batch and single calls on one queue, and a randomised model check that
 * runs many laps through queues of 1, 2, 4 and 8 slots with every batch size
 * and out-of-order sends and frees, comparing counts and stats with a model
 * after every call.
 *
 * Both cores are threads of this process (posix port, threads mode); the
 * test switches the core it acts as with ampvq_posix_set_core(), so every
 * case is single-threaded and deterministic.
 */
#include "unit_support.h"

#include "esp_amp_queue.h"

#define ID_Q 0x0200

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Counts notify-function calls and records, at each call, what the peer
 * could see of the batch: the flags of every slot of the queue. */
typedef struct {
    int calls;
    void *last_arg;
    const esp_amp_queue_desc_t *desc;
    uint32_t len;
    uint16_t flags_at_last[8];
} notify_log_t;

static notify_log_t notify_log;

static int logging_notify(void *arg)
{
    notify_log.calls++;
    notify_log.last_arg = arg;
    for (uint32_t i = 0; notify_log.desc != NULL && i < notify_log.len && i < 8; i++) {
        notify_log.flags_at_last[i] = notify_log.desc[i].flags;
    }
    return 0;
}

static int free_notify_calls;

static int counting_free_notify(void *arg)
{
    (void)arg;
    free_notify_calls++;
    return 0;
}

static void get_stats(const esp_amp_queue_t *q, esp_amp_queue_stats_t *st)
{
    memset(st, 0xee, sizeof(*st));
    CHECK_OK(esp_amp_queue_stats(q, st));
}

/* Deterministic generator for the randomised cases (xorshift32). */
static uint32_t rng_state;

static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static void shuffle(void **a, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng() % i;
        void *t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ------------------------------------------------------------------ */
/* Success paths                                                       */
/* ------------------------------------------------------------------ */

static void roundtrip(bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 36, main_is_master, ID_Q);
    void *bufs[8] = {0};
    uint16_t sizes[8] = {0};
    uint16_t count = 99;

    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 36, 8, &count));
    assert_int_equal(count, 4); /* every slot, no more than the queue has */
    const uint16_t want_sizes[4] = {0, 36, 17, 4};
    for (uint32_t i = 0; i < 4; i++) {
        unit_fill(bufs[i], 100 + i, want_sizes[i]);
        /* four different buffers */
        for (uint32_t j = 0; j < i; j++) {
            assert_ptr_not_equal(bufs[i], bufs[j]);
        }
    }
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, want_sizes, 4));

    ampvq_posix_set_core(p.remote_core);
    void *got[8] = {0};
    count = 99;
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 8, &count));
    assert_int_equal(count, 4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(sizes[i], want_sizes[i]);
        assert_true(unit_payload_ok(got[i], 100 + i, sizes[i]));
    }
    count = 99;
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got + 4, sizes + 4, 4, &count), ESP_ERR_NOT_FOUND);
    assert_int_equal(count, 0);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 4));

    /* Everything came back: the master can take all four again. */
    ampvq_posix_set_core(p.master_core);
    count = 0;
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, 4, &count));
    assert_int_equal(count, 4);
}

static void test_batch_roundtrip_main_master(void **state)
{
    (void)state;
    roundtrip(true);
}

static void test_batch_roundtrip_sub_master(void **state)
{
    (void)state;
    roundtrip(false);
}

/* alloc_n takes what there is, up to max; none at all is NOT_FOUND with a
 * count of 0, and only that counts as "full". */
static void test_batch_alloc_n_partial_then_not_found(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    void *bufs[4];
    uint16_t count = 0;
    esp_amp_queue_stats_t st;

    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 16, 3, &count));
    assert_int_equal(count, 3);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs + 3, 16, 3, &count));
    assert_int_equal(count, 1);
    get_stats(&p.master, &st);
    assert_int_equal(st.full, 0); /* a short batch is not a full queue */
    count = 77;
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs, 16, 3, &count), ESP_ERR_NOT_FOUND);
    assert_int_equal(count, 0);
    get_stats(&p.master, &st);
    assert_int_equal(st.full, 1);
    assert_int_equal(st.taken, 4);
    assert_int_equal(st.held, 4);
    assert_int_equal(st.given, 0);
}

/* ------------------------------------------------------------------ */
/* Caller mistakes                                                     */
/* ------------------------------------------------------------------ */

static void test_batch_bad_arguments(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    void *bufs[4] = {0};
    uint16_t sizes[4] = {4, 4, 4, 4};
    uint16_t count = 55;

    ampvq_posix_set_core(p.master_core);
    CHECK_ERR(esp_amp_queue_alloc_n(NULL, bufs, 4, 1, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, NULL, 4, 1, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs, 4, 1, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs, 4, 0, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs, 17, 1, &count), ESP_ERR_NO_MEM);
    assert_int_equal(count, 0);

    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 16, 2, &count));
    assert_int_equal(count, 2);
    CHECK_ERR(esp_amp_queue_send_n(NULL, bufs, sizes, 2), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, NULL, sizes, 2), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, bufs, NULL, 2), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, bufs, sizes, 0), ESP_ERR_INVALID_ARG);
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 2));

    ampvq_posix_set_core(p.remote_core);
    void *got[4] = {0};
    CHECK_ERR(esp_amp_queue_recv_n(NULL, got, sizes, 4, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, NULL, sizes, 4, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got, NULL, 4, &count), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got, sizes, 0, &count), ESP_ERR_INVALID_ARG);
    /* None of the refused calls consumed anything. */
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count));
    assert_int_equal(count, 2);
    CHECK_ERR(esp_amp_queue_free_n(NULL, got, 2), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, NULL, 2), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, got, 0), ESP_ERR_INVALID_ARG);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 2));
}

/* send_n checks every buffer and size before it publishes anything: a bad
 * entry anywhere in the array leaves the ring, the indices and the notify
 * count as they were, and the same buffers can then be sent correctly. */
static void test_batch_send_n_all_or_nothing(void **state)
{
    (void)state;
    unit_pair_t p;
    memset(&notify_log, 0, sizeof(notify_log));
    unit_open_pair_at(&p, 4, 16, true, ID_Q, logging_notify, &notify_log, NULL, NULL, __FILE__, __LINE__);
    unit_qview_t v, vs;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&vs, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&v, ID_Q);
    void *bufs[4];
    uint16_t count = 0;
    uint8_t scratch[16];
    esp_amp_queue_desc_t before[4];
    esp_amp_queue_stats_t st;

    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 16, 3, &count));
    assert_int_equal(count, 3);
    memcpy(before, v.desc, sizeof(before));

    void *foreign[3] = {bufs[0], bufs[1], scratch};
    void *inside[3] = {bufs[0], (uint8_t *)bufs[1] + 4, bufs[2]};
    void *null_last[3] = {bufs[0], bufs[1], NULL};
    const uint16_t ok_sizes[4] = {16, 5, 0, 4};
    const uint16_t big_last[3] = {4, 4, 17};
    const uint16_t big_first[3] = {17, 4, 4};
    void *four[4] = {bufs[0], bufs[1], bufs[2], bufs[0]};

    CHECK_ERR(esp_amp_queue_send_n(&p.master, foreign, ok_sizes, 3), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, inside, ok_sizes, 3), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, null_last, ok_sizes, 3), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, bufs, big_last, 3), ESP_ERR_NO_MEM);
    CHECK_ERR(esp_amp_queue_send_n(&p.master, bufs, big_first, 3), ESP_ERR_NO_MEM);
    /* Three held, four to send. */
    CHECK_ERR(esp_amp_queue_send_n(&p.master, four, ok_sizes, 4), ESP_ERR_NOT_ALLOWED);

    assert_memory_equal(v.desc, before, sizeof(before));
    assert_int_equal(notify_log.calls, 0);
    get_stats(&p.master, &st);
    assert_int_equal(st.given, 0);
    assert_int_equal(st.held, 3);
    assert_int_equal(st.notify, 0);
    ampvq_posix_set_core(p.remote_core);
    void *got[4];
    uint16_t sizes[4];
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count), ESP_ERR_NOT_FOUND);

    ampvq_posix_set_core(p.master_core);
    for (uint32_t i = 0; i < 3; i++) {
        unit_fill(bufs[i], i, ok_sizes[i]);
    }
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, ok_sizes, 3));
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count));
    assert_int_equal(count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal((uint8_t *)got[i] - vs.buf, (uint8_t *)bufs[i] - v.buf); /* in send_n's order */
        assert_int_equal(sizes[i], ok_sizes[i]);
        assert_true(unit_payload_ok(got[i], i, sizes[i]));
    }
}

/* free_n: the same checks, the same all-or-nothing. */
static void test_batch_free_n_all_or_nothing(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v, vm;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&vm, ID_Q);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&v, ID_Q);
    for (uint32_t i = 0; i < 3; i++) {
        SEND_MSG(&p, i, 8);
    }
    ampvq_posix_set_core(p.remote_core);
    void *got[4];
    uint16_t sizes[4];
    uint16_t count = 0;
    uint8_t scratch[16];
    esp_amp_queue_desc_t before[4];
    esp_amp_queue_stats_t st;
    free_notify_calls = 0;
    CHECK_OK(esp_amp_queue_set_free_notify(&p.remote, counting_free_notify, NULL));

    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count));
    assert_int_equal(count, 3);
    memcpy(before, v.desc, sizeof(before));
    void *foreign[3] = {got[0], got[1], scratch};
    void *inside[3] = {(uint8_t *)got[0] + 1, got[1], got[2]};
    void *four[4] = {got[0], got[1], got[2], got[0]};
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, foreign, 3), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, inside, 3), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, four, 4), ESP_ERR_NOT_ALLOWED);
    assert_memory_equal(v.desc, before, sizeof(before));
    assert_int_equal(free_notify_calls, 0);
    get_stats(&p.remote, &st);
    assert_int_equal(st.held, 3);
    assert_int_equal(st.given, 0);

    /* Out of order, in one batch: one free-notify (no event index). */
    void *rev[3] = {got[2], got[0], got[1]};
    CHECK_OK(esp_amp_queue_free_n(&p.remote, rev, 3));
    assert_int_equal(free_notify_calls, 1);
    get_stats(&p.remote, &st);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.given, 3);
    assert_int_equal(st.notify, 1);
    CHECK_ERR(esp_amp_queue_free_n(&p.remote, rev, 1), ESP_ERR_NOT_ALLOWED);

    /* The master gets all three buffers back, in the order they were freed. */
    ampvq_posix_set_core(p.master_core);
    void *back[4];
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, back, 16, 4, &count));
    assert_int_equal(count, 4);
    assert_int_equal((uint8_t *)back[0] - vm.buf, 3 * v.item); /* never used */
    assert_int_equal((uint8_t *)back[1] - vm.buf, (uint8_t *)rev[0] - v.buf);
    assert_int_equal((uint8_t *)back[2] - vm.buf, (uint8_t *)rev[1] - v.buf);
    assert_int_equal((uint8_t *)back[3] - vm.buf, (uint8_t *)rev[2] - v.buf);
}

/* ------------------------------------------------------------------ */
/* Notify                                                              */
/* ------------------------------------------------------------------ */

/* One call of the notify function per send_n, made after the whole batch
 * is visible (every slot's flags say "available" when it runs). */
static void test_batch_send_n_notifies_once_after_publishing(void **state)
{
    (void)state;
    unit_pair_t p;
    int token;
    memset(&notify_log, 0, sizeof(notify_log));
    unit_open_pair_at(&p, 8, 16, false, ID_Q, logging_notify, &token, NULL, NULL, __FILE__, __LINE__);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&v, ID_Q);
    notify_log.desc = v.desc;
    notify_log.len = v.len;
    void *bufs[8];
    uint16_t sizes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t count = 0;

    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 8, 5, &count));
    assert_int_equal(count, 5);
    assert_int_equal(notify_log.calls, 0);
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 5));
    assert_int_equal(notify_log.calls, 1);
    assert_ptr_equal(notify_log.last_arg, &token);
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(notify_log.flags_at_last[i], AMPVQ_DESC_F_AVAIL);
        assert_int_equal(v.desc[i].len, sizes[i]);
        assert_int_equal(v.desc[i].addr, v.hdr->buf_off + (uint32_t)((uint8_t *)bufs[i] - v.buf));
    }
    for (uint32_t i = 5; i < 8; i++) {
        assert_int_equal(notify_log.flags_at_last[i], 0);
    }
    /* A batch of one, and a single send: one each. */
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 8, 8, &count));
    assert_int_equal(count, 3);
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 1));
    assert_int_equal(notify_log.calls, 2);
    CHECK_OK(esp_amp_queue_send_try(&p.master, bufs[1], 4));
    assert_int_equal(notify_log.calls, 3);
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs + 2, sizes, 1));
    assert_int_equal(notify_log.calls, 4);
    esp_amp_queue_stats_t st;
    get_stats(&p.master, &st);
    assert_int_equal(st.notify, 4);
    assert_int_equal(st.given, 8);
    assert_int_equal(st.taken, 8);
    notify_log.desc = NULL;
}

/* ------------------------------------------------------------------ */
/* Bad descriptors from the peer                                       */
/* ------------------------------------------------------------------ */

/* The first slot of a recv_n is bad: INVALID_RESPONSE, nothing handed out,
 * the slot consumed and counted; the next call gets what follows. */
static void test_batch_recv_n_bad_first_invalid_response(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&v, ID_Q);
    for (uint32_t i = 0; i < 3; i++) {
        SEND_MSG(&p, i, 8);
    }
    /* A faulty master: slot 0's buffer is outside the buffer area. */
    v.desc[0].addr = v.hdr->buf_off + v.len * v.item;

    ampvq_posix_set_core(p.remote_core);
    void *got[4] = {0};
    uint16_t sizes[4];
    uint16_t count = 9;
    esp_amp_queue_stats_t st;
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count), ESP_ERR_INVALID_RESPONSE);
    assert_int_equal(count, 0);
    assert_null(got[0]);
    get_stats(&p.remote, &st);
    assert_int_equal(st.peer_errors, 1);
    assert_int_equal(st.held, 0);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 4, &count));
    assert_int_equal(count, 2);
    assert_true(unit_payload_ok(got[0], 1, sizes[0]));
    assert_true(unit_payload_ok(got[1], 2, sizes[1]));
    get_stats(&p.remote, &st);
    assert_int_equal(st.peer_errors, 1);
    assert_int_equal(st.taken, 2);
    assert_int_equal(st.held, 2);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 2));
}

/* A bad slot after the first ends the batch early: the buffers before it
 * are handed out with ESP_OK, the bad one is consumed and counted in
 * peer_errors at once, and the next call goes on with the slot after it
 * (it does not report the bad slot again). */
static void test_batch_recv_n_bad_later_ends_batch(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 8, 16, true, ID_Q);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&v, ID_Q);
    for (uint32_t i = 0; i < 5; i++) {
        SEND_MSG(&p, i, 12);
    }
    v.desc[2].len = (uint16_t)(v.item + 1); /* longer than a buffer */

    ampvq_posix_set_core(p.remote_core);
    void *got[8];
    uint16_t sizes[8];
    uint16_t count = 0;
    esp_amp_queue_stats_t st;
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 8, &count));
    assert_int_equal(count, 2);
    assert_true(unit_payload_ok(got[0], 0, sizes[0]));
    assert_true(unit_payload_ok(got[1], 1, sizes[1]));
    get_stats(&p.remote, &st);
    assert_int_equal(st.peer_errors, 1);
    assert_int_equal(st.taken, 2);
    assert_int_equal(st.held, 2);

    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got + 2, sizes + 2, 8, &count));
    assert_int_equal(count, 2);
    assert_true(unit_payload_ok(got[2], 3, sizes[2]));
    assert_true(unit_payload_ok(got[3], 4, sizes[3]));
    get_stats(&p.remote, &st);
    assert_int_equal(st.peer_errors, 1);
    assert_int_equal(st.held, 4);
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got + 4, sizes + 4, 8, &count), ESP_ERR_NOT_FOUND);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 4));
    get_stats(&p.remote, &st);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.given, 4);
}

/* The master's alloc_n meets a bad descriptor (a faulty remote freed a
 * pointer that is not one of the queue's buffers): first slot ->
 * INVALID_RESPONSE; later slot -> short batch. */
static void test_batch_alloc_n_bad_descriptor(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    QVIEW(&v, ID_Q);
    void *bufs[4];
    uint16_t count = 5;
    esp_amp_queue_stats_t st;

    v.desc[0].addr = v.hdr->buf_off + 2; /* not a slot start */
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs, 16, 4, &count), ESP_ERR_INVALID_RESPONSE);
    assert_int_equal(count, 0);
    v.desc[2].addr = 0;
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 16, 4, &count));
    assert_int_equal(count, 1);
    assert_ptr_equal(bufs[0], v.buf + v.item);
    get_stats(&p.master, &st);
    assert_int_equal(st.peer_errors, 2);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.full, 0);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs + 1, 16, 4, &count));
    assert_int_equal(count, 1);
    assert_ptr_equal(bufs[1], v.buf + 3 * v.item);
}

/* ------------------------------------------------------------------ */
/* Roles and state                                                     */
/* ------------------------------------------------------------------ */

static void test_batch_wrong_role_not_supported(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    void *bufs[2] = {0};
    uint16_t sizes[2] = {4, 4};
    uint16_t count = 0;

    /* Checked before the arguments: every call below has valid ones. */
    ampvq_posix_set_core(p.remote_core);
    CHECK_ERR(esp_amp_queue_alloc_n(&p.remote, bufs, 4, 2, &count), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_send_n(&p.remote, bufs, sizes, 2), ESP_ERR_NOT_SUPPORTED);
    ampvq_posix_set_core(p.master_core);
    CHECK_ERR(esp_amp_queue_recv_n(&p.master, bufs, sizes, 2, &count), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_free_n(&p.master, bufs, 2), ESP_ERR_NOT_SUPPORTED);
    CHECK_ERR(esp_amp_queue_set_free_notify(&p.master, counting_free_notify, NULL), ESP_ERR_NOT_SUPPORTED);
    /* Nothing moved. */
    SEND_MSG(&p, 1, 4);
    RECV_MSG(&p, 1, 4);
}

static void check_batch_invalid_state(esp_amp_queue_t *q)
{
    uint8_t scratch[16];
    void *bufs[1] = {scratch};
    uint16_t sizes[1] = {4};
    uint16_t count = 0;
    esp_amp_queue_stats_t st;

    CHECK_ERR(esp_amp_queue_alloc_n(q, bufs, 4, 1, &count), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_send_n(q, bufs, sizes, 1), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_recv_n(q, bufs, sizes, 1, &count), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_free_n(q, bufs, 1), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_set_free_notify(q, counting_free_notify, NULL), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_stats(q, &st), ESP_ERR_INVALID_STATE);
}

static void test_batch_uninitialised_invalid_state(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    memset(&q, 0, sizeof(q));
    check_batch_invalid_state(&q);
    memset(&q, 0xa5, sizeof(q));
    check_batch_invalid_state(&q);
    CHECK_ERR(esp_amp_queue_stats(NULL, NULL), ESP_ERR_INVALID_ARG);
}

/* ------------------------------------------------------------------ */
/* Batch and single calls together                                     */
/* ------------------------------------------------------------------ */

static void test_batch_mixed_with_single_calls(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 8, 32, false, ID_Q);
    void *m[8];
    void *r[8];
    uint16_t sizes[8];
    uint16_t count = 0;
    uint32_t seq_out = 0, seq_in = 0;

    for (uint32_t round = 0; round < 50; round++) {
        ampvq_posix_set_core(p.master_core);
        /* Two singles, then a batch of what is left, sent as: single,
         * batch, single, in an order unlike the allocation's. */
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &m[0], 32));
        CHECK_OK(esp_amp_queue_alloc_try(&p.master, &m[1], 32));
        CHECK_OK(esp_amp_queue_alloc_n(&p.master, m + 2, 32, 8, &count));
        assert_int_equal(count, 6);
        CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &m[7], 32), ESP_ERR_NOT_FOUND);
        void *order[8] = {m[5], m[0], m[7], m[2], m[6], m[1], m[3], m[4]};
        for (uint32_t i = 0; i < 8; i++) {
            sizes[i] = (uint16_t)(4 + (round + i) % 29);
            unit_fill(order[i], seq_out + i, sizes[i]);
        }
        CHECK_OK(esp_amp_queue_send_try(&p.master, order[0], sizes[0]));
        CHECK_OK(esp_amp_queue_send_n(&p.master, order + 1, sizes + 1, 6));
        CHECK_OK(esp_amp_queue_send_try(&p.master, order[7], sizes[7]));
        uint16_t want[8];
        memcpy(want, sizes, sizeof(want));
        seq_out += 8;

        ampvq_posix_set_core(p.remote_core);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &r[0], &sizes[0]));
        CHECK_OK(esp_amp_queue_recv_n(&p.remote, r + 1, sizes + 1, 3, &count));
        assert_int_equal(count, 3);
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &r[4], &sizes[4]));
        CHECK_OK(esp_amp_queue_recv_n(&p.remote, r + 5, sizes + 5, 8, &count));
        assert_int_equal(count, 3);
        for (uint32_t i = 0; i < 8; i++) {
            assert_int_equal(sizes[i], want[i]);
            assert_true(unit_payload_ok(r[i], seq_in + i, sizes[i]));
        }
        seq_in += 8;
        void *fr[6] = {r[7], r[3], r[0], r[5], r[1], r[6]};
        CHECK_OK(esp_amp_queue_free_try(&p.remote, r[4]));
        CHECK_OK(esp_amp_queue_free_n(&p.remote, fr, 6));
        CHECK_OK(esp_amp_queue_free_try(&p.remote, r[2]));
        CHECK_ERR(esp_amp_queue_free_try(&p.remote, r[2]), ESP_ERR_NOT_ALLOWED);
    }
    esp_amp_queue_stats_t st;
    ampvq_posix_set_core(p.master_core);
    get_stats(&p.master, &st);
    assert_int_equal(st.taken, 400);
    assert_int_equal(st.given, 400);
    assert_int_equal(st.full, 50);
    ampvq_posix_set_core(p.remote_core);
    get_stats(&p.remote, &st);
    assert_int_equal(st.taken, 400);
    assert_int_equal(st.given, 400);
    assert_int_equal(st.held, 0);
}

/* ------------------------------------------------------------------ */
/* Randomised model check: wrap-around, every batch size, any order    */
/* ------------------------------------------------------------------ */

/* The test keeps its own account of where every buffer is and checks each
 * call against it: alloc_n must return min(max, free buffers) (NOT_FOUND at
 * 0), recv_n min(max, in flight), and the messages arrive in send order. */
typedef struct {
    unit_pair_t p;
    uint32_t len;
    uint32_t item;
    void *m_held[8]; /* allocated, not sent (master's view) */
    uint32_t n_m;
    void *r_held[8]; /* received, not freed (remote's view) */
    uint32_t n_r;
    uint32_t in_flight; /* sent, not received */
    uint32_t seq_out, seq_in;
    uint32_t taken, given, received, freed, full, notify;
} model_t;

static model_t mdl;

static int model_notify(void *arg)
{
    (void)arg;
    mdl.notify++;
    return 0;
}

static uint16_t model_size(uint32_t seq, uint32_t item)
{
    return (uint16_t)(seq * 7u % (item + 1u));
}

static void model_master_step(model_t *md)
{
    ampvq_posix_set_core(md->p.master_core);
    uint32_t free_bufs = md->len - md->n_m - md->in_flight - md->n_r;
    if (rng() % 2 == 0) {
        uint16_t max = (uint16_t)(1 + rng() % md->len), count = 99;
        int err = esp_amp_queue_alloc_n(&md->p.master, md->m_held + md->n_m, (uint16_t)md->item, max, &count);
        uint32_t want = free_bufs < max ? free_bufs : max;
        if (want == 0) {
            CHECK_ERR(err, ESP_ERR_NOT_FOUND);
            md->full++;
        } else {
            CHECK_OK(err);
        }
        assert_int_equal(count, want);
        md->n_m += count;
        md->taken += count;
    }
    if (md->n_m != 0 && rng() % 3 != 0) {
        /* A random subset, in random order; the rest stays held. */
        shuffle(md->m_held, md->n_m);
        uint32_t n = 1 + rng() % md->n_m;
        uint16_t sizes[8];
        for (uint32_t i = 0; i < n; i++) {
            sizes[i] = model_size(md->seq_out + i, md->item);
            unit_fill(md->m_held[i], md->seq_out + i, sizes[i]);
        }
        if (n == 1 && rng() % 2 == 0) {
            CHECK_OK(esp_amp_queue_send_try(&md->p.master, md->m_held[0], sizes[0]));
        } else {
            CHECK_OK(esp_amp_queue_send_n(&md->p.master, md->m_held, sizes, (uint16_t)n));
        }
        memmove(md->m_held, md->m_held + n, (md->n_m - n) * sizeof(void *));
        md->n_m -= n;
        md->seq_out += n;
        md->in_flight += n;
        md->given += n;
    }
}

static void model_remote_step(model_t *md)
{
    ampvq_posix_set_core(md->p.remote_core);
    if (rng() % 2 == 0) {
        uint16_t max = (uint16_t)(1 + rng() % md->len), count = 99;
        uint16_t sizes[8];
        int err = esp_amp_queue_recv_n(&md->p.remote, md->r_held + md->n_r, sizes, max, &count);
        uint32_t want = md->in_flight < max ? md->in_flight : max;
        CHECK_ERR(err, want == 0 ? ESP_ERR_NOT_FOUND : ESP_OK);
        assert_int_equal(count, want);
        for (uint32_t i = 0; i < count; i++) {
            uint32_t seq = md->seq_in + i;
            if (sizes[i] != model_size(seq, md->item) || !unit_payload_ok(md->r_held[md->n_r + i], seq, sizes[i])) {
                fail_msg("len %u: message %u: %u bytes, wrong size or payload", (unsigned)md->len, (unsigned)seq,
                         (unsigned)sizes[i]);
            }
        }
        md->n_r += count;
        md->seq_in += count;
        md->in_flight -= count;
        md->received += count;
    }
    if (md->n_r != 0 && rng() % 3 != 0) {
        shuffle(md->r_held, md->n_r);
        uint32_t n = 1 + rng() % md->n_r;
        if (n == 1 && rng() % 2 == 0) {
            CHECK_OK(esp_amp_queue_free_try(&md->p.remote, md->r_held[0]));
        } else {
            CHECK_OK(esp_amp_queue_free_n(&md->p.remote, md->r_held, (uint16_t)n));
        }
        memmove(md->r_held, md->r_held + n, (md->n_r - n) * sizeof(void *));
        md->n_r -= n;
        md->freed += n;
    }
}

static void model_check_stats(model_t *md)
{
    esp_amp_queue_stats_t st;
    ampvq_posix_set_core(md->p.master_core);
    get_stats(&md->p.master, &st);
    assert_true(st.master);
    assert_int_equal(st.len, md->len);
    assert_int_equal(st.taken, md->taken);
    assert_int_equal(st.given, md->given);
    assert_int_equal(st.held, md->n_m);
    assert_int_equal(st.full, md->full);
    assert_int_equal(st.notify, md->notify);
    assert_int_equal(st.peer_errors, 0);
    ampvq_posix_set_core(md->p.remote_core);
    get_stats(&md->p.remote, &st);
    assert_false(st.master);
    assert_int_equal(st.taken, md->received);
    assert_int_equal(st.given, md->freed);
    assert_int_equal(st.held, md->n_r);
    assert_int_equal(st.peer_errors, 0);
}

static void model_run(uint16_t len, uint16_t id, bool main_is_master, uint32_t steps)
{
    memset(&mdl, 0, sizeof(mdl));
    mdl.len = len;
    mdl.item = 20;
    unit_open_pair_at(&mdl.p, len, (uint16_t)mdl.item, main_is_master, id, model_notify, NULL, NULL, NULL, __FILE__,
                      __LINE__);
    for (uint32_t s = 0; s < steps; s++) {
        model_master_step(&mdl);
        model_remote_step(&mdl);
        if (s % 64 == 0) {
            model_check_stats(&mdl);
        }
    }
    /* Drain and give everything back; then the master holds every buffer. */
    while (mdl.in_flight != 0 || mdl.n_r != 0) {
        model_remote_step(&mdl);
    }
    model_check_stats(&mdl);
    ampvq_posix_set_core(mdl.p.master_core);
    void *all[8];
    uint16_t count = 0;
    uint32_t want = len - mdl.n_m;
    if (want != 0) {
        CHECK_OK(esp_amp_queue_alloc_n(&mdl.p.master, all, (uint16_t)mdl.item, 8, &count));
        assert_int_equal(count, want);
    }
    /* Many laps: every slot was used, the wrap counter flipped many times. */
    assert_true(mdl.given / len >= 200);
}

static void test_batch_model_wraparound(void **state)
{
    (void)state;
    static const uint16_t lens[] = {1, 2, 4, 8};
    uint16_t id = ID_Q;
    for (uint32_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int role = 0; role < 2; role++) {
            rng_state = 0x9e3779b9u ^ (lens[i] * 2u + (uint32_t)role);
            model_run(lens[i], id++, role == 0, 6000);
        }
    }
}

/* No event index: the notify count is one per sending call, checked exactly
 * (the model counts calls, the stats count notify-function runs). */
static void test_batch_notify_count_matches_send_calls(void **state)
{
    (void)state;
    memset(&mdl, 0, sizeof(mdl));
    mdl.len = 8;
    mdl.item = 20;
    rng_state = 12345;
    unit_open_pair_at(&mdl.p, 8, 20, true, ID_Q, model_notify, NULL, NULL, NULL, __FILE__, __LINE__);
    uint32_t calls = 0;
    for (uint32_t s = 0; s < 2000; s++) {
        uint32_t given = mdl.given;
        model_master_step(&mdl);
        calls += mdl.given != given;
        assert_int_equal(mdl.notify, calls);
        model_remote_step(&mdl);
    }
    assert_true(calls < mdl.given); /* some calls sent more than one */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_batch_roundtrip_main_master),
        T(test_batch_roundtrip_sub_master),
        T(test_batch_alloc_n_partial_then_not_found),
        T(test_batch_bad_arguments),
        T(test_batch_send_n_all_or_nothing),
        T(test_batch_free_n_all_or_nothing),
        T(test_batch_send_n_notifies_once_after_publishing),
        T(test_batch_recv_n_bad_first_invalid_response),
        T(test_batch_recv_n_bad_later_ends_batch),
        T(test_batch_alloc_n_bad_descriptor),
        T(test_batch_wrong_role_not_supported),
        T(test_batch_uninitialised_invalid_state),
        T(test_batch_mixed_with_single_calls),
        T(test_batch_model_wraparound),
        T(test_batch_notify_count_matches_send_calls),
    };
#undef T
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
