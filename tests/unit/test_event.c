/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Event bits (include/esp_amp_event.h): each core notifies in its own word
 * and waits on the peer's; *_by_id works on any event word.
 */
#include "unit_support.h"

#include <pthread.h>
#include <stdatomic.h>

#define EV_ID 0x0042

/* Bits in a word without changing it: clear nothing, get the old value. */
static uint32_t peek_by_id(uint16_t id)
{
    return esp_amp_event_clear_by_id(id, 0);
}

static void test_event_notify_then_wait(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_event_notify(0x5), 0);
    assert_int_equal(esp_amp_event_notify(0x2), 0x5);

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_wait(0x1, false, false, 0), 0x7);
    assert_int_equal(esp_amp_event_wait(0x7, false, true, 0), 0x7);
    /* Without clear_on_exit the bits stay. */
    assert_int_equal(esp_amp_event_wait(0x1, false, false, 0), 0x7);
}

/* Each core notifies in its own word and waits on the peer's. */
static void test_event_words_are_per_core(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    esp_amp_event_notify(0x10);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_MAIN), 0x10);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0);
    /* The main core does not see its own notification... */
    assert_int_equal(esp_amp_event_wait(0x10, false, false, 0), 0);
    /* ...the sub core does, and its clear acts on that word. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_event_wait(0x10, false, false, 0), 0x10);
    assert_int_equal(esp_amp_event_clear(0x10), 0x10);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_MAIN), 0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_event_wait_for_all_vs_any(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x1);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);

    /* Any: one of the two is enough. */
    assert_int_equal(esp_amp_event_wait(0x3, false, false, 0), 0x1);
    /* All: not yet, so it waits out the time-out. */
    uint32_t t0 = ampvq_port_time_ms();
    uint32_t bits = esp_amp_event_wait(0x3, false, true, 20);
    uint32_t elapsed = ampvq_port_time_ms() - t0;
    assert_int_equal(bits, 0x1);
    assert_true(elapsed + 1 >= 20);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x2);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_wait(0x3, false, true, 0), 0x3);
}

/* clear_on_exit clears the awaited bits that were set, and nothing else. */
static void test_event_clear_on_exit(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x7);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);

    assert_int_equal(esp_amp_event_wait(0x3, true, false, 0), 0x7);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0x4);
    /* Awaited but not set (0x8) is not "cleared into" anything. */
    assert_int_equal(esp_amp_event_wait(0xc, true, false, 0), 0x4);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x30);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_wait(0x30, true, true, 0), 0x30);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0);
    /* A wait that times out clears nothing. */
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x100);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_wait(0x200, true, false, 5), 0x100);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0x100);
}

static void test_event_clear_returns_previous_bits(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0xf0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_clear(0x30), 0xf0);
    assert_int_equal(esp_amp_event_clear(0x30), 0xc0);
    assert_int_equal(esp_amp_event_clear(0xffffffffu), 0xc0);
    assert_int_equal(esp_amp_event_clear(0), 0);
}

/* On time-out the result lacks the awaited bits, and at least the time-out
 * has passed (no upper bound: the machine may be slow). */
static void test_event_wait_times_out(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x10);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);

    static const uint32_t timeouts[] = {1, 30, 60};
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        uint32_t t0 = ampvq_port_time_ms();
        uint32_t bits = esp_amp_event_wait(0x1, false, false, timeouts[i]);
        uint32_t elapsed = ampvq_port_time_ms() - t0;
        assert_int_equal(bits, 0x10);
        /* Millisecond clock: the wait's own start may fall late in a tick. */
        assert_true(elapsed + 1 >= timeouts[i]);

        t0 = ampvq_port_time_ms();
        bits = esp_amp_event_wait(0x11, false, true, timeouts[i]);
        elapsed = ampvq_port_time_ms() - t0;
        assert_int_equal(bits, 0x10);
        assert_true(elapsed + 1 >= timeouts[i]);
    }
}

static atomic_uint second_notify_ms;

/* Acts as the sub core: two notifications some time apart. */
static void *late_notifier(void *arg)
{
    (void)arg;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    unit_sleep_ms(20);
    esp_amp_event_notify(0x1);
    unit_sleep_ms(30);
    atomic_store(&second_notify_ms, ampvq_port_time_ms());
    esp_amp_event_notify(0x2);
    return NULL;
}

static void test_event_wait_wakes_on_notify(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_notifier, NULL), 0);
    uint32_t t0 = ampvq_port_time_ms();
    uint32_t bits = esp_amp_event_wait(0x3, true, true, 4000);
    uint32_t end = ampvq_port_time_ms();
    pthread_join(t, NULL);

    assert_int_equal(bits & 0x3, 0x3);
    /* Not on the first bit alone: it returned after the second notify... */
    assert_true((int32_t)(end - atomic_load(&second_notify_ms)) >= 0);
    /* ...and on the notification, not at the time-out. */
    assert_true(end - t0 < 3000);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0);
}

static void test_event_unknown_id_returns_zero(void **state)
{
    (void)state;
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        assert_int_equal(esp_amp_event_notify_by_id(0x1234, 0x1), 0);
        assert_int_equal(esp_amp_event_wait_by_id(0x1234, 0x1, true, false, 10), 0);
        assert_int_equal(esp_amp_event_clear_by_id(0x1234, 0x1), 0);
        /* Still unknown: the notify did not create it. */
        assert_int_equal(esp_amp_event_notify_by_id(0x1234, 0x1), 0);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* A block too small for a 32-bit word is not an event word, and is not
 * written past its end. */
static void test_event_block_too_small_is_not_an_event(void **state)
{
    (void)state;
    uint8_t *b = esp_amp_sys_info_alloc(0x0600, 2);
    assert_non_null(b);
    uint8_t *next = esp_amp_sys_info_alloc(0x0601, 8);
    assert_non_null(next);
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        assert_int_equal(esp_amp_event_notify_by_id(0x0600, 0xffffffffu), 0);
        assert_int_equal(esp_amp_event_wait_by_id(0x0600, 0x1, false, false, 0), 0);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    /* Everything from the block to the next one is untouched. */
    for (uint8_t *p = b; p < next + 8; p++) {
        assert_int_equal(*p, 0);
    }
}

static void test_event_create_and_use_by_id(void **state)
{
    (void)state;
    CHECK_OK(esp_amp_event_create(EV_ID));
    uint32_t size = 0;
    assert_non_null(esp_amp_sys_info_lookup(EV_ID, &size));
    assert_true(size >= sizeof(uint32_t));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_int_equal(esp_amp_event_notify_by_id(EV_ID, 0x80), 0);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(esp_amp_event_wait_by_id(EV_ID, 0x80, true, true, 0), 0x80);
    assert_int_equal(esp_amp_event_wait_by_id(EV_ID, 0x80, false, true, 0), 0);
    /* The default words were not involved. */
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_MAIN), 0);
    assert_int_equal(peek_by_id(SYS_INFO_RESERVED_ID_EVENT_SUB), 0);
}

static void test_event_create_on_sub_not_supported(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_event_create(EV_ID), ESP_ERR_NOT_SUPPORTED);
    assert_null(esp_amp_sys_info_get(EV_ID, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_event_create(EV_ID));
}

static void test_event_create_duplicate_invalid_state(void **state)
{
    (void)state;
    CHECK_OK(esp_amp_event_create(EV_ID));
    CHECK_ERR(esp_amp_event_create(EV_ID), ESP_ERR_INVALID_STATE);
    /* esp_amp_init() created the default words. */
    CHECK_ERR(esp_amp_event_create(SYS_INFO_RESERVED_ID_EVENT_MAIN), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_event_create(SYS_INFO_RESERVED_ID_EVENT_SUB), ESP_ERR_INVALID_STATE);
    /* Any block under the id counts. */
    assert_non_null(esp_amp_sys_info_alloc(0x0043, 64));
    CHECK_ERR(esp_amp_event_create(0x0043), ESP_ERR_INVALID_STATE);
}

static void test_event_create_no_room_no_mem(void **state)
{
    (void)state;
    uint16_t id = 0x0100;
    while (esp_amp_sys_info_alloc(id, 4) != NULL) {
        id++;
    }
    CHECK_ERR(esp_amp_event_create(EV_ID), ESP_ERR_NO_MEM);
}

static atomic_int event_irq_runs;
static atomic_int event_irq_core;

static int event_irq_handler(void *arg)
{
    (void)arg;
    atomic_store(&event_irq_core, ampvq_port_core_id());
    atomic_fetch_add(&event_irq_runs, 1);
    return 0;
}

/* A notification also raises SW_INTR_RESERVED_ID_EVENT on the peer, so a
 * waiter there can sleep on the interrupt instead of polling. */
static void test_event_notify_raises_event_interrupt_on_peer(void **state)
{
    (void)state;
    atomic_store(&event_irq_runs, 0);
    atomic_store(&event_irq_core, -1);
    CHECK_OK(esp_amp_sw_intr_add_handler(SW_INTR_RESERVED_ID_EVENT, event_irq_handler, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    esp_amp_event_notify(0x1);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    WAIT_UNTIL(atomic_load(&event_irq_runs) >= 1);
    assert_int_equal(atomic_load(&event_irq_core), AMPVQ_CORE_MAIN);
    esp_amp_sw_intr_delete_handler(SW_INTR_RESERVED_ID_EVENT, event_irq_handler);
}

/* Fixture: mapped, not initialised. */
static void test_event_before_init(void **state)
{
    (void)state;
    CHECK_ERR(esp_amp_event_create(EV_ID), ESP_ERR_INVALID_STATE);
    assert_int_equal(esp_amp_event_notify(0x1), 0);
    assert_int_equal(esp_amp_event_wait(0x1, false, false, 0), 0);

    /* Main without its event words: the sub core cannot find them. */
    CHECK_OK(esp_amp_sys_info_init());
    CHECK_OK(esp_amp_sw_intr_init());
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sys_info_init());
    CHECK_ERR(esp_amp_event_init(), ESP_ERR_NOT_FOUND);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_event_init());
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_event_init());
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_event_notify_then_wait),
        T(test_event_words_are_per_core),
        T(test_event_wait_for_all_vs_any),
        T(test_event_clear_on_exit),
        T(test_event_clear_returns_previous_bits),
        T(test_event_wait_times_out),
        T(test_event_wait_wakes_on_notify),
        T(test_event_unknown_id_returns_zero),
        T(test_event_block_too_small_is_not_an_event),
        T(test_event_create_and_use_by_id),
        T(test_event_create_on_sub_not_supported),
        T(test_event_create_duplicate_invalid_state),
        T(test_event_create_no_room_no_mem),
        T(test_event_notify_raises_event_interrupt_on_peer),
        cmocka_unit_test_setup_teardown(test_event_before_init, unit_setup_bare, unit_teardown),
    };
#undef T
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
