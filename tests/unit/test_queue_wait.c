/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The blocking calls, esp_amp_queue_alloc() and esp_amp_queue_recv(), on one
 * queue: time-outs on a full or empty queue (lower bound only: a loaded
 * machine may run late, never early), timeout 0, immediate success, errors
 * of the try calls passed through without waiting, and waits that a peer
 * thread ends by sending or freeing and triggering a software interrupt, in
 * plain and in event-index mode. Interrupts that bring nothing (another id,
 * or a dispatch with no bits) must not end a wait early.
 *
 * The test thread switches cores with ampvq_posix_set_core(); a helper
 * thread plays the peer where a wait must be ended from outside.
 */
#include "unit_support.h"

#include <pthread.h>
#include <stdatomic.h>

#define ID_Q      0x0200
#define WAKE_INTR SW_INTR_ID_4
#define SHORT_MS  100u
/* A wait that should end early ends long before this; one that times out
 * after this much is a failure, whatever the machine's load. */
#define LONG_MS 10000u

/* Notify and free-notify: trigger the wake id on the peer of the caller. */
static atomic_int wake_triggers;

static int trigger_peer(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wake_triggers, 1);
    esp_amp_sw_intr_trigger(WAKE_INTR);
    return 0;
}

/* The pair of unit_support.h, created with flags and with the wake-ups
 * wired: the master's notify and the remote's free-notify both trigger. */
static void open_waiting_pair(unit_pair_t *p, uint16_t len, uint16_t item, bool main_is_master, uint32_t flags)
{
    p->master_core = main_is_master ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
    p->remote_core = main_is_master ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
    p->id = ID_Q;
    esp_amp_queue_t *on_main = main_is_master ? &p->master : &p->remote;
    esp_amp_queue_t *on_sub = main_is_master ? &p->remote : &p->master;

    atomic_store(&wake_triggers, 0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_main_init_ex(on_main, len, item, main_is_master ? trigger_peer : NULL, NULL, main_is_master,
                                        ID_Q, flags));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_queue_sub_init(on_sub, main_is_master ? NULL : trigger_peer, NULL, !main_is_master, ID_Q));
    ampvq_posix_set_core(p->remote_core);
    CHECK_OK(esp_amp_queue_set_free_notify(&p->remote, trigger_peer, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void fill_queue(unit_pair_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        SEND_MSG(p, i, 8);
    }
}

/* ------------------------------------------------------------------ */
/* Time-outs                                                           */
/* ------------------------------------------------------------------ */

static void recv_times_out(bool main_is_master, uint32_t flags)
{
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, main_is_master, flags);
    void *buf = (void *)&p;
    uint16_t size = 77;

    ampvq_posix_set_core(p.remote_core);
    uint32_t t0 = ampvq_port_time_ms();
    CHECK_ERR(esp_amp_queue_recv(&p.remote, &buf, &size, SHORT_MS), ESP_ERR_TIMEOUT);
    uint32_t took = ampvq_port_time_ms() - t0;
    assert_true(took >= SHORT_MS);
    assert_true(took < LONG_MS);
    /* Still usable afterwards, and what was sent is there. */
    SEND_MSG(&p, 1, 16);
    RECV_MSG(&p, 1, 16);
}

static void test_wait_recv_empty_times_out(void **state)
{
    (void)state;
    recv_times_out(true, 0);
    UNIT_RESET_CORES();
    recv_times_out(false, 0);
}

static void test_wait_recv_empty_times_out_event_idx(void **state)
{
    (void)state;
    recv_times_out(true, ESP_AMP_QUEUE_F_EVENT_IDX);
    UNIT_RESET_CORES();
    recv_times_out(false, ESP_AMP_QUEUE_F_EVENT_IDX);
}

static void alloc_times_out(bool main_is_master, uint32_t flags)
{
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, main_is_master, flags);
    fill_queue(&p, 4);
    void *buf = NULL;

    ampvq_posix_set_core(p.master_core);
    uint32_t t0 = ampvq_port_time_ms();
    CHECK_ERR(esp_amp_queue_alloc(&p.master, &buf, 16, SHORT_MS), ESP_ERR_TIMEOUT);
    uint32_t took = ampvq_port_time_ms() - t0;
    assert_true(took >= SHORT_MS);
    assert_true(took < LONG_MS);
    RECV_MSG(&p, 0, 8);
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc(&p.master, &buf, 16, SHORT_MS));
}

static void test_wait_alloc_full_times_out(void **state)
{
    (void)state;
    alloc_times_out(true, 0);
    UNIT_RESET_CORES();
    alloc_times_out(false, 0);
}

static void test_wait_alloc_full_times_out_event_idx(void **state)
{
    (void)state;
    alloc_times_out(true, ESP_AMP_QUEUE_F_EVENT_IDX);
    UNIT_RESET_CORES();
    alloc_times_out(false, ESP_AMP_QUEUE_F_EVENT_IDX);
}

/* timeout 0 is one try: ESP_ERR_TIMEOUT (not ESP_ERR_NOT_FOUND) when there
 * is nothing, success when there is. */
static void test_wait_timeout_zero_tries_once(void **state)
{
    (void)state;
    unit_pair_t p;
    open_waiting_pair(&p, 2, 16, true, 0);
    void *buf;
    uint16_t size;

    ampvq_posix_set_core(p.remote_core);
    CHECK_ERR(esp_amp_queue_recv(&p.remote, &buf, &size, 0), ESP_ERR_TIMEOUT);
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc(&p.master, &buf, 16, 0));
    unit_fill(buf, 5, 16);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 16));
    CHECK_OK(esp_amp_queue_alloc(&p.master, &buf, 16, 0));
    CHECK_ERR(esp_amp_queue_alloc(&p.master, &buf, 16, 0), ESP_ERR_TIMEOUT);
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 4));

    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv(&p.remote, &buf, &size, 0));
    assert_int_equal(size, 16);
    assert_true(unit_payload_ok(buf, 5, 16));
    CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
}

/* Work already there: no wait, even with WAIT_FOREVER. */
static void test_wait_immediate_success(void **state)
{
    (void)state;
    unit_pair_t p;
    open_waiting_pair(&p, 4, 32, false, 0);
    void *buf;
    uint16_t size;

    for (uint32_t i = 0; i < 8; i++) {
        ampvq_posix_set_core(p.master_core);
        CHECK_OK(esp_amp_queue_alloc(&p.master, &buf, 32, ESP_AMP_QUEUE_WAIT_FOREVER));
        unit_fill(buf, i, 32);
        CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 32));
        ampvq_posix_set_core(p.remote_core);
        CHECK_OK(esp_amp_queue_recv(&p.remote, &buf, &size, ESP_AMP_QUEUE_WAIT_FOREVER));
        assert_int_equal(size, 32);
        assert_true(unit_payload_ok(buf, i, 32));
        CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
    }
}

/* ------------------------------------------------------------------ */
/* Errors pass through at once                                         */
/* ------------------------------------------------------------------ */

static void test_wait_errors_pass_through(void **state)
{
    (void)state;
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, true, 0);
    esp_amp_queue_t blank;
    memset(&blank, 0, sizeof(blank));
    void *buf;
    uint16_t size;
    uint32_t t0 = ampvq_port_time_ms();

    /* Every one of these would hang the test if it waited. */
    ampvq_posix_set_core(p.master_core);
    CHECK_ERR(esp_amp_queue_alloc(NULL, &buf, 4, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc(&p.master, NULL, 4, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_alloc(&p.master, &buf, 17, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_NO_MEM);
    CHECK_ERR(esp_amp_queue_alloc(&blank, &buf, 4, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_recv(&p.master, &buf, &size, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_NOT_SUPPORTED);

    ampvq_posix_set_core(p.remote_core);
    CHECK_ERR(esp_amp_queue_recv(NULL, &buf, &size, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv(&p.remote, NULL, &size, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv(&p.remote, &buf, NULL, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_recv(&blank, &buf, &size, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_queue_alloc(&p.remote, &buf, 4, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_NOT_SUPPORTED);

    assert_true(ampvq_port_time_ms() - t0 < LONG_MS);
}

/* A bad descriptor from the peer is reported, not waited out. */
static void test_wait_peer_error_passes_through(void **state)
{
    (void)state;
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, true, 0);
    unit_qview_t v;
    void *buf;
    uint16_t size;

    SEND_MSG(&p, 1, 8);
    ampvq_posix_set_core(p.remote_core);
    QVIEW(&v, ID_Q);
    /* The master publishes a length above the item size. */
    v.desc[0].len = 999;
    CHECK_ERR(esp_amp_queue_recv(&p.remote, &buf, &size, ESP_AMP_QUEUE_WAIT_FOREVER), ESP_ERR_INVALID_RESPONSE);
}

/* ------------------------------------------------------------------ */
/* Waits ended by the peer                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    unit_pair_t *p;
    uint32_t delay_ms;
    bool send;     /* true: master sends one message; false: remote frees one */
    void *to_free; /* remote's buffer to free */
    atomic_int done;
} peer_job_t;

static void *peer_thread(void *arg)
{
    peer_job_t *job = (peer_job_t *)arg;
    unit_sleep_ms(job->delay_ms);
    if (job->send) {
        void *buf = NULL;
        ampvq_posix_set_core(job->p->master_core);
        if (esp_amp_queue_alloc_try(&job->p->master, &buf, 16) == ESP_OK) {
            unit_fill(buf, 99, 16);
            (void)esp_amp_queue_send_try(&job->p->master, buf, 16);
        }
    } else {
        ampvq_posix_set_core(job->p->remote_core);
        (void)esp_amp_queue_free_try(&job->p->remote, job->to_free);
    }
    atomic_store(&job->done, 1);
    return NULL;
}

static void recv_woken_by_send(bool main_is_master, uint32_t flags)
{
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, main_is_master, flags);
    peer_job_t job = {.p = &p, .delay_ms = 50, .send = true};
    pthread_t t;
    void *buf;
    uint16_t size;

    assert_int_equal(pthread_create(&t, NULL, peer_thread, &job), 0);
    ampvq_posix_set_core(p.remote_core);
    uint32_t t0 = ampvq_port_time_ms();
    int err = esp_amp_queue_recv(&p.remote, &buf, &size, LONG_MS);
    uint32_t took = ampvq_port_time_ms() - t0;
    pthread_join(t, NULL);
    CHECK_OK(err);
    assert_true(took < LONG_MS);
    assert_int_equal(size, 16);
    assert_true(unit_payload_ok(buf, 99, 16));
    assert_true(atomic_load(&wake_triggers) >= 1);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, buf));
}

static void test_wait_recv_woken_by_send(void **state)
{
    (void)state;
    recv_woken_by_send(true, 0);
    UNIT_RESET_CORES();
    recv_woken_by_send(false, 0);
}

static void test_wait_recv_woken_by_send_event_idx(void **state)
{
    (void)state;
    recv_woken_by_send(true, ESP_AMP_QUEUE_F_EVENT_IDX);
    UNIT_RESET_CORES();
    recv_woken_by_send(false, ESP_AMP_QUEUE_F_EVENT_IDX);
}

static void alloc_woken_by_free(bool main_is_master, uint32_t flags)
{
    unit_pair_t p;
    open_waiting_pair(&p, 2, 16, main_is_master, flags);
    fill_queue(&p, 2);
    void *held;
    uint16_t size;
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &held, &size));
    peer_job_t job = {.p = &p, .delay_ms = 50, .send = false, .to_free = held};
    pthread_t t;
    void *buf = NULL;

    assert_int_equal(pthread_create(&t, NULL, peer_thread, &job), 0);
    ampvq_posix_set_core(p.master_core);
    uint32_t t0 = ampvq_port_time_ms();
    int err = esp_amp_queue_alloc(&p.master, &buf, 16, LONG_MS);
    uint32_t took = ampvq_port_time_ms() - t0;
    pthread_join(t, NULL);
    CHECK_OK(err);
    assert_true(took < LONG_MS);
    /* The freed buffer is the one handed out again. */
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    assert_true(unit_is_slot(&v, buf));
    CHECK_OK(esp_amp_queue_send_try(&p.master, buf, 4));
}

static void test_wait_alloc_woken_by_free(void **state)
{
    (void)state;
    alloc_woken_by_free(true, 0);
    UNIT_RESET_CORES();
    alloc_woken_by_free(false, 0);
}

static void test_wait_alloc_woken_by_free_event_idx(void **state)
{
    (void)state;
    alloc_woken_by_free(true, ESP_AMP_QUEUE_F_EVENT_IDX);
    UNIT_RESET_CORES();
    alloc_woken_by_free(false, ESP_AMP_QUEUE_F_EVENT_IDX);
}

/* Interrupts that bring nothing for the queue: a wait goes on to its
 * time-out rather than returning ESP_ERR_NOT_FOUND or ending early. */
typedef struct {
    int core;
    atomic_int stop;
    atomic_int rang;
} noise_t;

static void *noise_thread(void *arg)
{
    noise_t *n = (noise_t *)arg;
    while (!atomic_load(&n->stop)) {
        /* Alternately another id, and a dispatch with nothing pending. */
        (void)ampvq_posix_fault_spurious(n->core, 1u << SW_INTR_ID_6);
        (void)ampvq_posix_fault_spurious(n->core, 0);
        atomic_fetch_add(&n->rang, 1);
        unit_sleep_ms(5);
    }
    return NULL;
}

static void test_wait_unrelated_interrupts_do_not_end_wait(void **state)
{
    (void)state;
    unit_pair_t p;
    open_waiting_pair(&p, 4, 16, true, 0);
    noise_t n = {.core = p.remote_core};
    pthread_t t;
    void *buf;
    uint16_t size;

    assert_int_equal(pthread_create(&t, NULL, noise_thread, &n), 0);
    ampvq_posix_set_core(p.remote_core);
    uint32_t t0 = ampvq_port_time_ms();
    int err = esp_amp_queue_recv(&p.remote, &buf, &size, SHORT_MS);
    uint32_t took = ampvq_port_time_ms() - t0;
    atomic_store(&n.stop, 1);
    pthread_join(t, NULL);
    CHECK_ERR(err, ESP_ERR_TIMEOUT);
    assert_true(took >= SHORT_MS);
    assert_true(atomic_load(&n.rang) > 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_wait_recv_empty_times_out),
        T(test_wait_recv_empty_times_out_event_idx),
        T(test_wait_alloc_full_times_out),
        T(test_wait_alloc_full_times_out_event_idx),
        T(test_wait_timeout_zero_tries_once),
        T(test_wait_immediate_success),
        T(test_wait_errors_pass_through),
        T(test_wait_peer_error_passes_through),
        T(test_wait_recv_woken_by_send),
        T(test_wait_recv_woken_by_send_event_idx),
        T(test_wait_alloc_woken_by_free),
        T(test_wait_alloc_woken_by_free_event_idx),
        T(test_wait_unrelated_interrupts_do_not_end_wait),
    };
#undef T
    return cmocka_run_group_tests_name("queue_wait", tests, NULL, NULL);
}
