/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Bring-up and platform helpers (include/esp_amp.h, esp_amp_platform.h):
 * esp_amp_init() on each core, esp_amp_start_subcore(), and the seed's
 * flow end to end with the sub core started as a thread.
 */
#include "unit_support.h"

#include <stdatomic.h>

#define ID_Q    0x0100
#define MSGS    64u
#define EV_UP   0x1u
#define EV_DONE 0x2u

static atomic_int sub_core_seen;

static int sub_entry_record(void *arg)
{
    atomic_store(&sub_core_seen, esp_amp_platform_get_core_id());
    return (int)(intptr_t)arg;
}

static void test_amp_start_subcore_runs_entry_as_sub(void **state)
{
    (void)state;
    atomic_store(&sub_core_seen, -1);
    ampvq_posix_set_subcore_entry(sub_entry_record, (void *)(intptr_t)42);
    CHECK_OK(esp_amp_start_subcore());
    int rc = -1;
    assert_int_equal(ampvq_posix_join_subcore(UNIT_WAIT_MS, &rc), 0);
    assert_int_equal(rc, 42);
    assert_int_equal(atomic_load(&sub_core_seen), AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_platform_get_core_id(), AMPVQ_CORE_MAIN);
}

static void test_amp_start_subcore_errors(void **state)
{
    (void)state;
    /* Nothing to start. */
    CHECK_ERR(esp_amp_start_subcore(), ESP_FAIL);
    /* Only the main core starts the sub core. */
    ampvq_posix_set_subcore_entry(sub_entry_record, NULL);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_start_subcore(), ESP_ERR_NOT_SUPPORTED);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(ampvq_posix_join_subcore(10, NULL), 1);
}

static void test_amp_platform_helpers(void **state)
{
    (void)state;
    assert_int_equal(esp_amp_platform_get_core_id(), AMPVQ_CORE_MAIN);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_platform_get_core_id(), AMPVQ_CORE_SUB);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);

    /* Delays last at least as long as asked (lower bounds only). */
    uint32_t t0 = esp_amp_platform_get_time_ms();
    esp_amp_platform_delay_ms(20);
    uint32_t t1 = esp_amp_platform_get_time_ms();
    assert_true(t1 - t0 + 1 >= 20);
    esp_amp_platform_delay_us(5000);
    assert_true(esp_amp_platform_get_time_ms() - t1 + 1 >= 5);
}

/* Fixture: mapped, not initialised. Bringing the sub core up first fails;
 * the main core may re-initialise, which starts a fresh directory. */
static void test_amp_init_order(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_init(), ESP_ERR_INVALID_STATE);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_init());
    assert_non_null(esp_amp_sys_info_alloc(0x0001, 16));
    CHECK_OK(esp_amp_init());
    assert_null(esp_amp_sys_info_get(0x0001, NULL));
    assert_non_null(esp_amp_sys_info_get(SYS_INFO_RESERVED_ID_EVENT_MAIN, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_init());
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* The seed's example shape: the sub core is the master and sends, the main
 * core is the remote and receives; link-up and completion through events.
 * The sub core only reports through its return value (cmocka asserts are
 * not thread-safe). */
static int sub_sender(void *arg)
{
    (void)arg;
    esp_amp_queue_t q;
    if (esp_amp_init() != ESP_OK || esp_amp_queue_sub_init(&q, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q)) {
        return 1;
    }
    esp_amp_event_notify(EV_UP);
    for (uint32_t seq = 0; seq < MSGS; seq++) {
        void *buf;
        uint32_t t0 = esp_amp_platform_get_time_ms();
        while (esp_amp_queue_alloc_try(&q, &buf, 16) != ESP_OK) {
            if (esp_amp_platform_get_time_ms() - t0 > UNIT_WAIT_MS) {
                return 2;
            }
            esp_amp_platform_delay_us(50);
        }
        unit_fill(buf, seq, 16);
        if (esp_amp_queue_send_try(&q, buf, 16) != ESP_OK) {
            return 3;
        }
    }
    /* Wait for the main core to say it has everything. */
    uint32_t bits = esp_amp_event_wait(EV_DONE, true, true, UNIT_WAIT_MS);
    return (bits & EV_DONE) ? 0 : 4;
}

static void test_amp_seed_flow_sub_sends_main_receives(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    CHECK_OK(esp_amp_init());
    CHECK_OK(esp_amp_queue_main_init(&q, 8, 16, NULL, NULL, false, (esp_amp_sys_info_id_t)ID_Q));
    ampvq_posix_set_subcore_entry(sub_sender, NULL);
    CHECK_OK(esp_amp_start_subcore());
    assert_true(esp_amp_event_wait(EV_UP, true, true, UNIT_WAIT_MS) & EV_UP);

    uint32_t next = 0;
    uint32_t t0 = esp_amp_platform_get_time_ms();
    while (next < MSGS && esp_amp_platform_get_time_ms() - t0 < UNIT_WAIT_MS) {
        void *buf;
        uint16_t size;
        if (esp_amp_queue_recv_try(&q, &buf, &size) != ESP_OK) {
            esp_amp_platform_delay_us(50);
            continue;
        }
        assert_int_equal(size, 16);
        assert_true(unit_payload_ok(buf, next, 16));
        CHECK_OK(esp_amp_queue_free_try(&q, buf));
        next++;
    }
    esp_amp_event_notify(EV_DONE);
    int rc = -1;
    assert_int_equal(ampvq_posix_join_subcore(UNIT_WAIT_MS, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(next, MSGS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_amp_start_subcore_runs_entry_as_sub, unit_setup, unit_teardown),
        cmocka_unit_test_setup_teardown(test_amp_start_subcore_errors, unit_setup, unit_teardown),
        cmocka_unit_test_setup_teardown(test_amp_platform_helpers, unit_setup, unit_teardown),
        cmocka_unit_test_setup_teardown(test_amp_init_order, unit_setup_bare, unit_teardown),
        cmocka_unit_test_setup_teardown(test_amp_seed_flow_sub_sends_main_receives, unit_setup_bare, unit_teardown),
    };
    return cmocka_run_group_tests_name("amp", tests, NULL, NULL);
}
