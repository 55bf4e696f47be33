/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Software interrupts between the cores (include/esp_amp_sw_intr.h). The
 * handlers run on the receiving core's interrupt thread (posix port), so
 * they only record into atomics; the test thread asserts.
 *
 * To know that every trigger sent so far has been handled, quiesce() takes
 * the receiving core's critical section (which masks its interrupt, so no
 * dispatch is running) and checks that its pending word is empty.
 */
#include "unit_support.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    atomic_int runs;
    atomic_int wrong_core;  /* runs on a core other than `core` */
    atomic_int test_thread; /* runs on the test's own thread */
    int core;               /* where the handler must run */
} probe_t;

static probe_t probes[4];
static atomic_int bad_args; /* runs whose argument was not a probe */
static _Thread_local bool on_test_thread;

static void reset_probes(int core)
{
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        atomic_store(&probes[i].runs, 0);
        atomic_store(&probes[i].wrong_core, 0);
        atomic_store(&probes[i].test_thread, 0);
        probes[i].core = core;
    }
    atomic_store(&bad_args, 0);
    on_test_thread = true;
}

static int probe_handler(void *arg)
{
    probe_t *p = arg;
    /* Not one of ours: the dispatcher passed the wrong argument. */
    if (p < probes || p >= probes + sizeof(probes) / sizeof(probes[0])) {
        atomic_fetch_add(&bad_args, 1);
        return 0;
    }
    if (ampvq_port_core_id() != p->core) {
        atomic_fetch_add(&p->wrong_core, 1);
    }
    if (on_test_thread) {
        atomic_fetch_add(&p->test_thread, 1);
    }
    atomic_fetch_add(&p->runs, 1);
    return 0;
}

/* A second function, so that delete_handler's (id, handler) match can be
 * told apart from "delete everything on this id". */
static int probe_handler_b(void *arg)
{
    return probe_handler(arg);
}

static int idle_handler(void *arg)
{
    (void)arg;
    return 0;
}

static uint32_t pending_of(int core)
{
    return __atomic_load_n(&unit_region()->sw_intr_pending[core], __ATOMIC_ACQUIRE);
}

/* Every trigger aimed at `core` so far has been dispatched and its handlers
 * have returned. */
static void quiesce_at(int core, const char *file, int line)
{
    uint32_t t0 = ampvq_port_time_ms();
    int me = ampvq_port_core_id();
    for (;;) {
        ampvq_posix_set_core(core);
        uint32_t token = ampvq_port_critical_enter();
        bool idle = pending_of(core) == 0;
        ampvq_port_critical_exit(token);
        ampvq_posix_set_core(me);
        if (idle) {
            return;
        }
        if (ampvq_port_time_ms() - t0 > UNIT_WAIT_MS) {
            print_error("core %d never dispatched its pending interrupts\n", core);
            _fail(file, line);
        }
        ampvq_port_delay_us(100);
    }
}

#define QUIESCE(core) quiesce_at((core), __FILE__, __LINE__)

static void add_at(int core, esp_amp_sw_intr_id_t id, esp_amp_sw_intr_handler_t h, void *arg, const char *file,
                   int line)
{
    ampvq_posix_set_core(core);
    unit_check_err(esp_amp_sw_intr_add_handler(id, h, arg), ESP_OK, "esp_amp_sw_intr_add_handler", file, line);
}

#define ADD(core, id, h, arg) add_at((core), (id), (h), (arg), __FILE__, __LINE__)

static void trigger_from(int core, esp_amp_sw_intr_id_t id)
{
    ampvq_posix_set_core(core);
    esp_amp_sw_intr_trigger(id);
}

/* ------------------------------------------------------------------ */

static void test_sw_intr_add_handler_invalid_arg(void **state)
{
    (void)state;
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        CHECK_ERR(esp_amp_sw_intr_add_handler((esp_amp_sw_intr_id_t)32, idle_handler, NULL), ESP_ERR_INVALID_ARG);
        CHECK_ERR(esp_amp_sw_intr_add_handler((esp_amp_sw_intr_id_t)0xffff, idle_handler, NULL), ESP_ERR_INVALID_ARG);
        CHECK_ERR(esp_amp_sw_intr_add_handler(SW_INTR_ID_0, NULL, NULL), ESP_ERR_INVALID_ARG);
        /* The refused calls took no slot. */
        int n = 0;
        while (esp_amp_sw_intr_add_handler(SW_INTR_ID_MAX, idle_handler, NULL) == ESP_OK) {
            n++;
            assert_true(n <= AMPVQ_SW_INTR_MAX_HANDLERS);
        }
        assert_int_equal(n, AMPVQ_SW_INTR_MAX_HANDLERS);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_sw_intr_table_full_no_mem(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    for (int i = 0; i < AMPVQ_SW_INTR_MAX_HANDLERS; i++) {
        CHECK_OK(esp_amp_sw_intr_add_handler((esp_amp_sw_intr_id_t)(i % 32), idle_handler, NULL));
    }
    CHECK_ERR(esp_amp_sw_intr_add_handler(SW_INTR_ID_1, probe_handler, &probes[0]), ESP_ERR_NO_MEM);

    /* Each core has its own table. */
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_1, probe_handler, &probes[0]);

    /* Deleting frees the slots again. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_0, idle_handler);
    CHECK_OK(esp_amp_sw_intr_add_handler(SW_INTR_ID_1, idle_handler, NULL));
    CHECK_ERR(esp_amp_sw_intr_add_handler(SW_INTR_ID_1, idle_handler, NULL), ESP_ERR_NO_MEM);
}

static void trigger_runs_on_peer(int from, int to)
{
    reset_probes(to);
    ADD(to, SW_INTR_ID_5, probe_handler, &probes[1]);
    trigger_from(from, SW_INTR_ID_5);
    WAIT_UNTIL(atomic_load(&probes[1].runs) == 1);
    QUIESCE(to);
    assert_int_equal(atomic_load(&probes[1].runs), 1);
    assert_int_equal(atomic_load(&probes[1].wrong_core), 0);
    assert_int_equal(atomic_load(&probes[1].test_thread), 0);
    assert_int_equal(atomic_load(&probes[0].runs), 0);
    assert_int_equal(atomic_load(&bad_args), 0);
    ampvq_posix_set_core(to);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_5, probe_handler);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_sw_intr_trigger_runs_handler_on_peer_core(void **state)
{
    (void)state;
    trigger_runs_on_peer(AMPVQ_CORE_MAIN, AMPVQ_CORE_SUB);
    trigger_runs_on_peer(AMPVQ_CORE_SUB, AMPVQ_CORE_MAIN);
}

/* A trigger goes to the other core only, never to the caller's handlers. */
static void test_sw_intr_trigger_does_not_run_own_handlers(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_MAIN);
    ADD(AMPVQ_CORE_MAIN, SW_INTR_ID_6, probe_handler, &probes[0]);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_6);
    QUIESCE(AMPVQ_CORE_SUB);
    QUIESCE(AMPVQ_CORE_MAIN);
    assert_int_equal(atomic_load(&probes[0].runs), 0);
    /* ...while the sub core's trigger of the same id does reach it. */
    trigger_from(AMPVQ_CORE_SUB, SW_INTR_ID_6);
    WAIT_UNTIL(atomic_load(&probes[0].runs) == 1);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_sw_intr_several_handlers_on_one_id_all_run(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_2, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_2, probe_handler, &probes[1]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_2, probe_handler_b, &probes[2]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_3, probe_handler, &probes[3]);

    for (int round = 1; round <= 3; round++) {
        trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_2);
        QUIESCE(AMPVQ_CORE_SUB);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(atomic_load(&probes[i].runs), round);
            assert_int_equal(atomic_load(&probes[i].wrong_core), 0);
        }
        assert_int_equal(atomic_load(&probes[3].runs), 0);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* delete_handler removes exactly the (id, handler) pairs named: every
 * registration of it on that id, nothing else. */
static void test_sw_intr_delete_stops_handler(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_3, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_3, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_3, probe_handler_b, &probes[1]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_4, probe_handler, &probes[2]);

    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_3);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 2); /* registered twice */
    assert_int_equal(atomic_load(&probes[1].runs), 1);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_3, probe_handler);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_3);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_4);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 2);
    assert_int_equal(atomic_load(&probes[1].runs), 2);
    assert_int_equal(atomic_load(&probes[2].runs), 1);

    /* Deleting on the wrong core or an unregistered pair changes nothing. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_4, probe_handler);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_5, probe_handler);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_4);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[2].runs), 2);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* A handler that holds the interrupt until the test lets it go. */
static atomic_int slow_entered;
static atomic_int slow_inside;
static atomic_int slow_release;
static atomic_int slow_runs;

static int slow_handler(void *arg)
{
    (void)arg;
    atomic_store(&slow_inside, 1);
    atomic_fetch_add(&slow_entered, 1);
    /* Bounded, so that a failed test can still tear down. */
    uint32_t t0 = ampvq_port_time_ms();
    while (!atomic_load(&slow_release) && ampvq_port_time_ms() - t0 < 2 * UNIT_WAIT_MS) {
        ampvq_port_delay_us(100);
    }
    atomic_fetch_add(&slow_runs, 1);
    atomic_store(&slow_inside, 0);
    return 0;
}

static void reset_slow(void)
{
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_inside, 0);
    atomic_store(&slow_release, 0);
    atomic_store(&slow_runs, 0);
}

static void *release_later(void *arg)
{
    (void)arg;
    unit_sleep_ms(30);
    atomic_store(&slow_release, 1);
    return NULL;
}

/* "When it returns the handler is not running": delete waits for a run in
 * progress. */
static void test_sw_intr_delete_waits_for_running_handler(void **state)
{
    (void)state;
    reset_slow();
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_8, slow_handler, NULL);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_8);
    WAIT_UNTIL(atomic_load(&slow_entered) == 1);

    /* Let the handler go only after delete has started waiting for it. */
    pthread_t releaser;
    assert_int_equal(pthread_create(&releaser, NULL, release_later, NULL), 0);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_8, slow_handler);
    int inside = atomic_load(&slow_inside);
    int runs = atomic_load(&slow_runs);
    pthread_join(releaser, NULL);
    assert_int_equal(inside, 0);
    assert_int_equal(runs, 1);

    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_8);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&slow_entered), 1);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* A trigger that arrives while the handler runs (its bit already taken)
 * causes exactly one more run. */
static void test_sw_intr_trigger_during_handler_runs_again(void **state)
{
    (void)state;
    reset_slow();
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_10, slow_handler, NULL);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_10);
    WAIT_UNTIL(atomic_load(&slow_entered) == 1);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_10);
    unit_sleep_ms(5);
    assert_int_equal(atomic_load(&slow_entered), 1);
    atomic_store(&slow_release, 1);
    WAIT_UNTIL(atomic_load(&slow_runs) == 2);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&slow_runs), 2);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_10, slow_handler);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* Many triggers in a burst: the handler may run fewer times than it was
 * triggered, never more, and some run sees everything written before the
 * last trigger (the run that takes the last trigger's bit). */
static atomic_uint burst_seq;
static atomic_uint burst_max_seen;
static atomic_uint burst_runs;

static int burst_handler(void *arg)
{
    (void)arg;
    unsigned seen = atomic_load(&burst_seq);
    unsigned prev = atomic_load(&burst_max_seen);
    while (seen > prev && !atomic_compare_exchange_weak(&burst_max_seen, &prev, seen)) {
    }
    atomic_fetch_add(&burst_runs, 1);
    return 0;
}

static void test_sw_intr_burst_coalesces(void **state)
{
    (void)state;
    const unsigned n = 5000;
    atomic_store(&burst_seq, 0);
    atomic_store(&burst_max_seen, 0);
    atomic_store(&burst_runs, 0);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_9, burst_handler, NULL);

    for (unsigned i = 1; i <= n; i++) {
        atomic_store(&burst_seq, i);
        trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_9);
    }
    WAIT_UNTIL(atomic_load(&burst_max_seen) == n);
    QUIESCE(AMPVQ_CORE_SUB);
    unsigned runs = atomic_load(&burst_runs);
    assert_in_range(runs, 1, n);
    unit_sleep_ms(20);
    assert_int_equal(atomic_load(&burst_runs), runs);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_sw_intr_delete_handler(SW_INTR_ID_9, burst_handler);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* With the sub core's interrupt masked, triggers only set pending bits;
 * unmasking runs each pending id's handlers once, and only theirs. */
static void test_sw_intr_pending_ids_do_not_mix(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_1, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_2, probe_handler, &probes[1]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_12, probe_handler, &probes[2]);
    ADD(AMPVQ_CORE_MAIN, SW_INTR_ID_1, probe_handler, &probes[3]);

    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_1);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 1);
    assert_int_equal(atomic_load(&probes[1].runs), 0);
    assert_int_equal(atomic_load(&probes[2].runs), 0);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint32_t token = ampvq_port_critical_enter();
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_2);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_12);
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_2);
    /* Asserting while masked would leave the interrupt masked on failure. */
    uint32_t sub_pending = pending_of(AMPVQ_CORE_SUB);
    uint32_t main_pending = pending_of(AMPVQ_CORE_MAIN);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_port_critical_exit(token);
    assert_int_equal(sub_pending, (1u << 2) | (1u << 12));
    assert_int_equal(main_pending, 0);

    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 1);
    assert_int_equal(atomic_load(&probes[1].runs), 1);
    assert_int_equal(atomic_load(&probes[2].runs), 1);
    QUIESCE(AMPVQ_CORE_MAIN);
    assert_int_equal(atomic_load(&probes[3].runs), 0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_sw_intr_trigger_invalid_id_ignored(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    /* Where an id taken modulo 32 would land. */
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_0, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_1, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_MAX, probe_handler, &probes[0]);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint32_t token = ampvq_port_critical_enter();
    trigger_from(AMPVQ_CORE_MAIN, (esp_amp_sw_intr_id_t)32);
    trigger_from(AMPVQ_CORE_MAIN, (esp_amp_sw_intr_id_t)33);
    trigger_from(AMPVQ_CORE_MAIN, (esp_amp_sw_intr_id_t)0xffff);
    uint32_t sub_pending = pending_of(AMPVQ_CORE_SUB);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    ampvq_port_critical_exit(token);
    assert_int_equal(sub_pending, 0);
    unit_sleep_ms(10);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 0);

    /* The highest valid id works. */
    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_MAX);
    WAIT_UNTIL(atomic_load(&probes[0].runs) == 1);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* Re-running esp_amp_sw_intr_init() forgets this core's handlers. */
static void test_sw_intr_init_clears_handlers(void **state)
{
    (void)state;
    reset_probes(AMPVQ_CORE_SUB);
    probes[1].core = AMPVQ_CORE_MAIN;
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_4, probe_handler, &probes[0]);
    ADD(AMPVQ_CORE_MAIN, SW_INTR_ID_4, probe_handler, &probes[1]);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sw_intr_init());

    trigger_from(AMPVQ_CORE_MAIN, SW_INTR_ID_4);
    QUIESCE(AMPVQ_CORE_SUB);
    assert_int_equal(atomic_load(&probes[0].runs), 0);
    /* The main core's table was not touched. */
    trigger_from(AMPVQ_CORE_SUB, SW_INTR_ID_4);
    WAIT_UNTIL(atomic_load(&probes[1].runs) == 1);
    /* And the sub core's table has all its slots back. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    int n = 0;
    while (esp_amp_sw_intr_add_handler(SW_INTR_ID_MAX, idle_handler, NULL) == ESP_OK) {
        n++;
        assert_true(n <= AMPVQ_SW_INTR_MAX_HANDLERS);
    }
    assert_int_equal(n, AMPVQ_SW_INTR_MAX_HANDLERS);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* Fixture: mapped, not initialised. The header promises that init "clears
 * this core's handler table and pending bits": a trigger the main core sent
 * before the sub core came up must not be dispatched by the sub core's new
 * interrupt. */
/*
 * A trigger sent before the peer ran esp_amp_init() must not leave the
 * peer's pending word stuck non-zero: the core rings only on the word's
 * 0 -> non-0 edge, so a stuck word would silence every later trigger. The
 * early bit is dispatched once the peer is up (with no handler yet, it runs
 * nothing), and a later trigger reaches a handler registered after init.
 */
static void test_sw_intr_init_keeps_early_trigger_flowing(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_init());
    esp_amp_sw_intr_trigger(SW_INTR_ID_5);
    assert_int_equal(pending_of(AMPVQ_CORE_SUB), 1u << 5);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_init());
    WAIT_UNTIL(ampvq_posix_dispatch_count(AMPVQ_CORE_SUB) >= 1);
    WAIT_UNTIL(pending_of(AMPVQ_CORE_SUB) == 0);

    reset_probes(AMPVQ_CORE_SUB);
    ADD(AMPVQ_CORE_SUB, SW_INTR_ID_5, probe_handler, &probes[0]);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    esp_amp_sw_intr_trigger(SW_INTR_ID_5);
    WAIT_UNTIL(atomic_load(&probes[0].runs) == 1);
    assert_int_equal(atomic_load(&probes[0].wrong_core), 0);
}

/* Fixture: mapped, not initialised. */
static void test_sw_intr_init_before_sys_info_invalid_state(void **state)
{
    (void)state;
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        CHECK_ERR(esp_amp_sw_intr_init(), ESP_ERR_INVALID_STATE);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_sys_info_init());
    CHECK_OK(esp_amp_sw_intr_init());
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sw_intr_init());
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
#define T(f)      cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
#define T_BARE(f) cmocka_unit_test_setup_teardown(f, unit_setup_bare, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_sw_intr_add_handler_invalid_arg),
        T(test_sw_intr_table_full_no_mem),
        T(test_sw_intr_trigger_runs_handler_on_peer_core),
        T(test_sw_intr_trigger_does_not_run_own_handlers),
        T(test_sw_intr_several_handlers_on_one_id_all_run),
        T(test_sw_intr_delete_stops_handler),
        T(test_sw_intr_delete_waits_for_running_handler),
        T(test_sw_intr_trigger_during_handler_runs_again),
        T(test_sw_intr_burst_coalesces),
        T(test_sw_intr_pending_ids_do_not_mix),
        T(test_sw_intr_trigger_invalid_id_ignored),
        T(test_sw_intr_init_clears_handlers),
        T_BARE(test_sw_intr_init_keeps_early_trigger_flowing),
        T_BARE(test_sw_intr_init_before_sys_info_invalid_state),
    };
#undef T
#undef T_BARE
    return cmocka_run_group_tests_name("sw_intr", tests, NULL, NULL);
}
