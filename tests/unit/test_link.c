/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Link sessions (src/queue_link.c, docs/sessions.md): a restarted sub core
 * gets a reset ring and never a message of the ring its predecessor used; a
 * main core that restarts closes the sub core's handles. A restart is played
 * in one thread: the sub core takes the next instance number
 * (ampvq_sub_session_bump(), what esp_amp_init() does on the sub core) and
 * opens the queue again into a new handle, the old handle being the dead
 * instance's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "esp_amp.h"
#include "unit_support.h"

void ampvq_sub_session_bump(void); /* src/ampvq_priv.h: not public */

#define ID_Q 0x0240

typedef struct {
    int ups, downs;
} link_log_t;

static void on_link(esp_amp_queue_t *q, bool up, void *priv)
{
    (void)q;
    link_log_t *l = (link_log_t *)priv;
    if (up) {
        l->ups++;
    } else {
        l->downs++;
    }
}

static esp_amp_queue_stats_t stats_of(const esp_amp_queue_t *q)
{
    esp_amp_queue_stats_t s;
    CHECK_OK(esp_amp_queue_stats(q, &s));
    return s;
}

/* A new sub-core instance opening the queue `id` into `q`. */
static void sub_restart(esp_amp_queue_t *q, uint16_t id, bool sub_is_master)
{
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_sub_session_bump();
    CHECK_OK(esp_amp_queue_sub_init(q, NULL, NULL, sub_is_master, (esp_amp_sys_info_id_t)id));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_link_first_attach_needs_no_reset(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    link_log_t ml = {0};
    CHECK_OK(esp_amp_queue_set_link_cb(&p.master, on_link, &ml));
    for (uint32_t i = 0; i < 10; i++) {
        SEND_MSG(&p, i, 16);
        RECV_MSG(&p, i, 16);
    }
    esp_amp_queue_stats_t ms = stats_of(&p.master), rs = stats_of(&p.remote);
    assert_true(ms.link_up);
    assert_true(rs.link_up);
    assert_int_equal(ms.resets, 0);
    /* Nothing changed after the handles were open: no link events. */
    assert_int_equal(ml.ups, 0);
    assert_int_equal(ml.downs, 0);
    /* The sub core attached fresh; a fresh attach needs no acknowledgement,
     * so the main core's word stays 0 (read straight from shared memory:
     * coherent builds only). */
    UNIT_COHERENT_ONLY();
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    const ampvq_queue_ctl_t *rc = (const ampvq_queue_ctl_t *)(const void *)(unit_base() + v.hdr->ctl_off[0]);
    const ampvq_queue_ctl_t *mc = (const ampvq_queue_ctl_t *)(const void *)(unit_base() + v.hdr->ctl_off[1]);
    assert_true(rc->session & AMPVQ_SESSION_FRESH);
    assert_int_equal(mc->session, 0);
}

/* The main core (master) sent 3, the sub core received 1; the sub core
 * restarts. The new instance must not see messages 1 and 2, the main core
 * resets the ring and counts them lost, and traffic resumes. */
static void test_link_sub_restart_main_master(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    link_log_t ml = {0}, sl = {0};
    CHECK_OK(esp_amp_queue_set_link_cb(&p.master, on_link, &ml));
    SEND_MSG(&p, 0, 16);
    SEND_MSG(&p, 1, 16);
    SEND_MSG(&p, 2, 16);
    RECV_MSG(&p, 0, 16);

    esp_amp_queue_t fresh;
    sub_restart(&fresh, ID_Q, false);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_set_link_cb(&fresh, on_link, &sl));
    void *buf;
    uint16_t len;
    /* Waiting for the main core: the old ring's messages are not its. */
    CHECK_ERR(esp_amp_queue_recv_try(&fresh, &buf, &len), ESP_ERR_NOT_FOUND);
    assert_false(stats_of(&fresh).link_up);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16)); /* notices, resets, allocates */
    assert_int_equal(ml.downs, 1);
    assert_int_equal(ml.ups, 1);
    esp_amp_queue_stats_t ms = stats_of(&p.master);
    assert_int_equal(ms.resets, 1);
    assert_int_equal(ms.lost, 2);
    assert_int_equal(ms.held, 1);
    unit_fill(buf, 100, 16);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&fresh, &buf, &len));
    assert_int_equal(len, 16);
    assert_true(unit_payload_ok(buf, 100, 16));
    CHECK_OK(esp_amp_queue_free_try(&fresh, buf));
    CHECK_ERR(esp_amp_queue_recv_try(&fresh, &buf, &len), ESP_ERR_NOT_FOUND);
    assert_int_equal(sl.ups, 1);
    assert_true(stats_of(&fresh).link_up);

    /* Every buffer is back with the master: a full lap works. */
    p.remote = fresh; /* not used again: the pair's remote is now `fresh` */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *bufs[4];
    uint16_t got = 0;
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 16, 4, &got));
    assert_int_equal(got, 4);
}

/* The sub core (master) sent 3, the main core received 2 and still holds
 * one when the sub core restarts: the reset waits until that one is given
 * back; the new instance's alloc prompts the main core through its notify
 * function meanwhile. */
static int prompts;
static int count_prompt(void *arg)
{
    (void)arg;
    prompts++;
    return 0;
}

static void test_link_sub_restart_main_remote_waits_for_held(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, false, ID_Q); /* main core is the remote */
    SEND_MSG(&p, 0, 16);
    SEND_MSG(&p, 1, 16);
    SEND_MSG(&p, 2, 16);
    RECV_MSG(&p, 0, 16);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *held;
    uint16_t len;
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &held, &len));
    assert_true(unit_payload_ok(held, 1, 16));

    esp_amp_queue_t fresh;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_sub_session_bump();
    prompts = 0;
    CHECK_OK(esp_amp_queue_sub_init(&fresh, count_prompt, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
    void *buf;
    CHECK_ERR(esp_amp_queue_alloc_try(&fresh, &buf, 16), ESP_ERR_NOT_FOUND);
    assert_true(prompts >= 1);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    /* Link down noticed; message 2 stays in the old ring, not handed out. */
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &len), ESP_ERR_NOT_FOUND);
    assert_int_equal(stats_of(&p.remote).resets, 0);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, held));
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &len), ESP_ERR_NOT_FOUND); /* resets now */
    esp_amp_queue_stats_t rs = stats_of(&p.remote);
    assert_int_equal(rs.resets, 1);
    assert_int_equal(rs.lost, 1);
    assert_true(rs.link_up);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    for (uint32_t i = 0; i < 4; i++) { /* all four buffers are the new master's */
        CHECK_OK(esp_amp_queue_alloc_try(&fresh, &buf, 16));
        unit_fill(buf, 50 + i, 16);
        CHECK_OK(esp_amp_queue_send_try(&fresh, buf, 16));
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &buf, &len));
        assert_true(unit_payload_ok(buf, 50 + i, 16));
        CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
    }
}

/* Restarts in a row, some before the main core noticed the previous one:
 * one reset for the latest instance, no message delivered twice. */
static void test_link_back_to_back_restarts(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 8, 16, true, ID_Q);
    for (uint32_t seq = 0; seq < 3; seq++) {
        SEND_MSG(&p, seq, 16);
    }
    esp_amp_queue_t inst[3];
    for (int r = 0; r < 3; r++) {
        sub_restart(&inst[r], ID_Q, false);
    }
    esp_amp_queue_t *remote = &inst[2];
    void *buf;
    uint16_t len;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_queue_recv_try(remote, &buf, &len), ESP_ERR_NOT_FOUND);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 16));
    unit_fill(buf, 777, 16);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));
    esp_amp_queue_stats_t ms = stats_of(&p.master);
    assert_int_equal(ms.resets, 1);
    assert_int_equal(ms.lost, 3);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(remote, &buf, &len));
    assert_true(unit_payload_ok(buf, 777, 16));
    CHECK_OK(esp_amp_queue_free_try(remote, buf));
    CHECK_ERR(esp_amp_queue_recv_try(remote, &buf, &len), ESP_ERR_NOT_FOUND);
    /* The earlier instances never became current: they wait, forever. */
    CHECK_ERR(esp_amp_queue_recv_try(&inst[0], &buf, &len), ESP_ERR_NOT_FOUND);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* The main core restarts (esp_amp_init() again: new region, queues created
 * again). The sub core's handle must close, not run on in the new ring. */
static void test_link_main_restart_closes_sub_handles(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    link_log_t sl = {0};
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_set_link_cb(&p.remote, on_link, &sl));
    SEND_MSG(&p, 0, 16);
    RECV_MSG(&p, 0, 16);
    uint32_t main_session = unit_region()->session[AMPVQ_CORE_MAIN];

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_sys_info_init());
    assert_int_equal(unit_region()->session[AMPVQ_CORE_MAIN], main_session + 1u);
    /* The same blocks again, so the new queue lies where the old one was:
     * the sub core's words there (and, non-coherent, its cached copy of
     * them) are stale, and must not make the re-open look like a restart. */
    CHECK_OK(esp_amp_event_init());
    esp_amp_queue_t mq;
    CHECK_OK(esp_amp_queue_main_init(&mq, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
    void *buf;
    CHECK_OK(esp_amp_queue_alloc_try(&mq, &buf, 16));
    unit_fill(buf, 9, 16);
    CHECK_OK(esp_amp_queue_send_try(&mq, buf, 16));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint16_t len;
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &len), ESP_ERR_INVALID_STATE);
    assert_int_equal(sl.downs, 1);
    CHECK_ERR(esp_amp_queue_free_try(&p.remote, buf), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_recv_try(&p.remote, &buf, &len), ESP_ERR_INVALID_STATE);
    /* Opened again: a fresh attach to the new queue (nothing to reset), it
     * gets the new main core's message at once. */
    esp_amp_queue_t again;
    CHECK_OK(esp_amp_queue_sub_init(&again, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    CHECK_OK(esp_amp_queue_recv_try(&again, &buf, &len));
    assert_true(unit_payload_ok(buf, 9, 16));
    assert_true(stats_of(&again).link_up);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(stats_of(&mq).resets, 0);
}

/* Both cores restart: the main core re-creates the queue (same place), then
 * a new sub instance opens it. It is a fresh attach to a new queue, though
 * the sub core's own (cached, on non-coherent memory) copy of its control
 * line still holds the old instance's word: no reset, no waiting. */
static void test_link_both_restart_fresh_attach(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    SEND_MSG(&p, 0, 16);
    RECV_MSG(&p, 0, 16);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_sys_info_init());
    CHECK_OK(esp_amp_event_init()); /* the queue lands where it was */
    esp_amp_queue_t mq;
    CHECK_OK(esp_amp_queue_main_init(&mq, 4, 16, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q));
    void *buf;
    CHECK_OK(esp_amp_queue_alloc_try(&mq, &buf, 16));
    unit_fill(buf, 5, 16);
    CHECK_OK(esp_amp_queue_send_try(&mq, buf, 16));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_sub_session_bump();
    esp_amp_queue_t again;
    CHECK_OK(esp_amp_queue_sub_init(&again, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    uint16_t len;
    CHECK_OK(esp_amp_queue_recv_try(&again, &buf, &len));
    assert_true(unit_payload_ok(buf, 5, 16));
    CHECK_OK(esp_amp_queue_free_try(&again, buf));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&mq, &buf, 16));
    assert_int_equal(stats_of(&mq).resets, 0);
}

/* Event index across a reset: both wake words go back to their start
 * values. The old remote had asked to be woken at 2, the master at 0 (full
 * queue); the new remote must be notified of the first message (its word
 * says 0) and must not free-notify (the master's word says never). */
static int sends_notified, frees_notified;
static int count_send_notify(void *arg)
{
    (void)arg;
    sends_notified++;
    return 0;
}
static int count_free_notify(void *arg)
{
    (void)arg;
    frees_notified++;
    return 0;
}

static void test_link_reset_restores_wake_words(void **state)
{
    (void)state;
    esp_amp_queue_t m, r;
    sends_notified = frees_notified = 0;
    CHECK_OK(esp_amp_queue_main_init_ex(&m, 2, 16, count_send_notify, NULL, true, (esp_amp_sys_info_id_t)ID_Q,
                                        ESP_AMP_QUEUE_F_EVENT_IDX));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_sub_init(&r, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *buf;
    uint16_t len;
    for (uint32_t i = 0; i < 2; i++) {
        CHECK_OK(esp_amp_queue_alloc_try(&m, &buf, 16));
        unit_fill(buf, i, 16);
        CHECK_OK(esp_amp_queue_send_try(&m, buf, 16));
    }
    assert_int_equal(sends_notified, 1);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&r, &buf, &len));
    CHECK_OK(esp_amp_queue_recv_try(&r, &buf, &len));
    CHECK_ERR(esp_amp_queue_recv_try(&r, &buf, &len), ESP_ERR_NOT_FOUND); /* asks at 2 */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_ERR(esp_amp_queue_alloc_try(&m, &buf, 16), ESP_ERR_NOT_FOUND); /* full: asks at 0 */

    esp_amp_queue_t r2;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_sub_session_bump();
    CHECK_OK(esp_amp_queue_sub_init(&r2, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    CHECK_OK(esp_amp_queue_set_free_notify(&r2, count_free_notify, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_alloc_try(&m, &buf, 16)); /* resets */
    assert_int_equal(stats_of(&m).resets, 1);
    unit_fill(buf, 7, 16);
    CHECK_OK(esp_amp_queue_send_try(&m, buf, 16));
    assert_int_equal(sends_notified, 2);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_recv_try(&r2, &buf, &len));
    assert_true(unit_payload_ok(buf, 7, 16));
    CHECK_OK(esp_amp_queue_free_try(&r2, buf));
    assert_int_equal(frees_notified, 0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_link_set_link_cb_errors(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    memset(&q, 0, sizeof(q));
    CHECK_ERR(esp_amp_queue_set_link_cb(NULL, on_link, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_set_link_cb(&q, on_link, NULL), ESP_ERR_INVALID_STATE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_link_first_attach_needs_no_reset),
        T(test_link_sub_restart_main_master),
        T(test_link_sub_restart_main_remote_waits_for_held),
        T(test_link_back_to_back_restarts),
        T(test_link_main_restart_closes_sub_handles),
        T(test_link_both_restart_fresh_attach),
        T(test_link_reset_restores_wake_words),
        T(test_link_set_link_cb_errors),
    };
#undef T
    return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
