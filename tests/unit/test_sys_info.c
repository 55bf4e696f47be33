/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The sys_info directory (include/esp_amp_sys_info.h): blocks allocated by
 * the main core, looked up by either core through its own mapping.
 */
#include "unit_support.h"

#define SHM_SIZE AMPVQ_POSIX_SHM_DEFAULT_SIZE
#define DIR_END                                                                                                        \
    ((uint32_t)sizeof(ampvq_region_hdr_t) + AMPVQ_SYS_INFO_MAX_ENTRIES * (uint32_t)sizeof(ampvq_sys_info_entry_t))

static const ampvq_sys_info_entry_t *directory(void)
{
    return (const ampvq_sys_info_entry_t *)(unit_region() + 1);
}

/* First byte after every published block. */
static uint32_t used_end(void)
{
    uint32_t end = DIR_END;
    for (uint32_t i = 0; i < unit_region()->dir_count; i++) {
        uint32_t e = directory()[i].offset + directory()[i].size;
        end = e > end ? e : end;
    }
    return end;
}

static uint32_t align_up(uint32_t v)
{
    return (v + AMPVQ_SYS_INFO_ALIGN - 1u) & ~(uint32_t)(AMPVQ_SYS_INFO_ALIGN - 1u);
}

static uint32_t offset_of(const void *p)
{
    return (uint32_t)((const uint8_t *)p - unit_base());
}

static void test_sys_info_alloc_returns_zeroed_block(void **state)
{
    (void)state;
    /* Dirty every free byte first, as a previous run of the firmware would. */
    uint32_t start = used_end();
    memset(unit_base() + start, 0xa5, SHM_SIZE - start);

    static const uint32_t sizes[] = {1, 7, 100, 4096, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *b = esp_amp_sys_info_alloc((uint16_t)(0x10 + i), sizes[i]);
        assert_non_null(b);
        for (uint32_t j = 0; j < sizes[i]; j++) {
            if (b[j] != 0) {
                print_error("block %zu byte %u is 0x%02x\n", i, (unsigned)j, b[j]);
                fail();
            }
        }
    }
}

static void test_sys_info_alloc_aligned_and_disjoint(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33};
    const size_t n = sizeof(sizes) / sizeof(sizes[0]);
    uint32_t off[sizeof(sizes) / sizeof(sizes[0])];

    for (size_t i = 0; i < n; i++) {
        uint8_t *b = esp_amp_sys_info_alloc((uint16_t)(0x20 + i), sizes[i]);
        assert_non_null(b);
        assert_int_equal((uintptr_t)b % AMPVQ_SYS_INFO_ALIGN, 0);
        off[i] = offset_of(b);
        assert_int_equal(off[i] % AMPVQ_SYS_INFO_ALIGN, 0);
        assert_true(off[i] >= DIR_END);
        assert_true(off[i] + sizes[i] <= SHM_SIZE);
        memset(b, (int)(i + 1), sizes[i]);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (i != j) {
                assert_true(off[i] + sizes[i] <= off[j] || off[j] + sizes[j] <= off[i]);
            }
        }
    }
    /* Nothing written into one block leaked into another. */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = esp_amp_sys_info_get((uint16_t)(0x20 + i), NULL);
        for (uint32_t k = 0; k < sizes[i]; k++) {
            assert_int_equal(b[k], i + 1);
        }
    }
}

static void test_sys_info_get_and_lookup_report_block(void **state)
{
    (void)state;
    uint8_t *b = esp_amp_sys_info_alloc(0x0042, 300);
    assert_non_null(b);
    const uint32_t b_off = offset_of(b);

    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        uint16_t size16 = 0;
        uint32_t size32 = 0;
        uint8_t *g = esp_amp_sys_info_get(0x0042, &size16);
        uint8_t *l = esp_amp_sys_info_lookup(0x0042, &size32);
        assert_non_null(g);
        assert_ptr_equal(g, l);
        assert_ptr_equal(esp_amp_sys_info_get(0x0042, NULL), g);
        assert_ptr_equal(esp_amp_sys_info_lookup(0x0042, NULL), g);
        assert_int_equal(size16, 300);
        assert_int_equal(size32, 300);
        assert_int_equal(offset_of(g), b_off);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_ptr_equal(esp_amp_sys_info_get(0x0042, NULL), b);
}

static void test_sys_info_unknown_id_not_found(void **state)
{
    (void)state;
    assert_non_null(esp_amp_sys_info_alloc(0x0001, 16));
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        uint16_t size16 = 0;
        uint32_t size32 = 0;
        assert_null(esp_amp_sys_info_get(0x0002, &size16));
        assert_null(esp_amp_sys_info_lookup(0x0002, &size32));
        assert_null(esp_amp_sys_info_get(0xffff, NULL));
        assert_null(esp_amp_sys_info_get(SYS_INFO_RESERVED_ID_PM, NULL));
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* 0xff00 and up belong to ampvq itself; 0xffff is never an id. */
static void test_sys_info_reserved_ids_refused(void **state)
{
    (void)state;
    const uint32_t count = unit_region()->dir_count;

    for (uint32_t id = SYS_INFO_RESERVED_ID; id <= 0xffff; id++) {
        if (esp_amp_sys_info_alloc((uint16_t)id, 16) != NULL) {
            print_error("reserved id 0x%04x was allocated\n", (unsigned)id);
            fail();
        }
    }
    assert_int_equal(unit_region()->dir_count, count);
    assert_non_null(esp_amp_sys_info_alloc(0xfeff, 16));
    assert_non_null(esp_amp_sys_info_alloc(0x0000, 16));
    assert_int_equal(unit_region()->dir_count, count + 2);
}

static void test_sys_info_size_zero_or_over_32_bits_refused(void **state)
{
    (void)state;
    const uint32_t count = unit_region()->dir_count;

    assert_null(esp_amp_sys_info_alloc(0x0010, 0));
#if SIZE_MAX > UINT32_MAX
    /* Would be 16 after truncation to 32 bits. */
    assert_null(esp_amp_sys_info_alloc(0x0010, ((size_t)1 << 32) + 16));
    assert_null(esp_amp_sys_info_alloc(0x0010, SIZE_MAX));
#endif
    assert_int_equal(unit_region()->dir_count, count);
    assert_non_null(esp_amp_sys_info_alloc(0x0010, 16));
}

static void test_sys_info_duplicate_id_refused(void **state)
{
    (void)state;
    uint8_t *first = esp_amp_sys_info_alloc(0x0033, 32);
    assert_non_null(first);
    memset(first, 0x3c, 32);
    const uint32_t count = unit_region()->dir_count;

    assert_null(esp_amp_sys_info_alloc(0x0033, 32));
    assert_null(esp_amp_sys_info_alloc(0x0033, 64));
    /* The reserved ids esp_amp_init() took are refused for the same reason
     * and more. */
    assert_null(esp_amp_sys_info_alloc(SYS_INFO_RESERVED_ID_EVENT_MAIN, 4));
    assert_int_equal(unit_region()->dir_count, count);

    uint16_t size = 0;
    assert_ptr_equal(esp_amp_sys_info_get(0x0033, &size), first);
    assert_int_equal(size, 32);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(first[i], 0x3c);
    }
}

static void test_sys_info_directory_full(void **state)
{
    (void)state;
    const uint32_t used = unit_region()->dir_count;
    uint32_t n = 0;

    while (esp_amp_sys_info_alloc((uint16_t)(0x100 + n), 8) != NULL) {
        n++;
        assert_true(n <= AMPVQ_SYS_INFO_MAX_ENTRIES);
    }
    assert_int_equal(used + n, AMPVQ_SYS_INFO_MAX_ENTRIES);
    assert_int_equal(unit_region()->dir_count, AMPVQ_SYS_INFO_MAX_ENTRIES);
    assert_null(esp_amp_sys_info_alloc(0x0fff, 1));

    /* Every entry is still there, from both cores. */
    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        for (uint32_t i = 0; i < n; i++) {
            assert_non_null(esp_amp_sys_info_get((uint16_t)(0x100 + i), NULL));
        }
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_sys_info_shared_memory_exhausted(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    assert_null(esp_amp_sys_info_alloc(0x0001, SHM_SIZE));

    const uint32_t room = SHM_SIZE - align_up(used_end());
    assert_null(esp_amp_sys_info_alloc(0x0001, room + 1u));
    assert_null(esp_amp_sys_info_alloc(0x0001, 0xffffffffu));
    uint8_t *last = esp_amp_sys_info_alloc(0x0001, room);
    assert_non_null(last);
    assert_int_equal(offset_of(last) + room, SHM_SIZE);
    /* The last byte of the region is usable. */
    last[room - 1] = 0x77;
    assert_null(esp_amp_sys_info_alloc(0x0002, 1));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint8_t *seen = esp_amp_sys_info_lookup(0x0001, NULL);
    assert_non_null(seen);
    assert_int_equal(seen[room - 1], 0x77);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* esp_amp_sys_info_get() keeps ESP-AMP's 16-bit size and clamps it;
 * esp_amp_sys_info_lookup() gives the real one. */
static void test_sys_info_get_clamps_size_to_16_bits(void **state)
{
    (void)state;
    static const struct {
        uint32_t size;
        uint16_t clamped;
    } cases[] = {{100, 100}, {65534, 65534}, {65535, 65535}, {65536, 65535}, {65537, 65535}, {200000, 65535}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint16_t id = (uint16_t)(0x60 + i);
        assert_non_null(esp_amp_sys_info_alloc(id, cases[i].size));
        for (int core = 0; core < 2; core++) {
            ampvq_posix_set_core(core);
            uint16_t s16 = 0;
            uint32_t s32 = 0;
            assert_non_null(esp_amp_sys_info_get(id, &s16));
            assert_non_null(esp_amp_sys_info_lookup(id, &s32));
            assert_int_equal(s16, cases[i].clamped);
            assert_int_equal(s32, cases[i].size);
        }
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    }
}

static void test_sys_info_sub_core_cannot_alloc(void **state)
{
    (void)state;
    unit_dir_t before;
    unit_dir_save(&before);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_null(esp_amp_sys_info_alloc(0x0055, 16));
    assert_null(esp_amp_sys_info_get(0x0055, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_true(unit_dir_unchanged(&before));
    assert_non_null(esp_amp_sys_info_alloc(0x0055, 16));
}

/* One block, two addresses: what either core writes the other reads. */
static void test_sys_info_sub_sees_same_block_at_other_address(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    uint8_t *m = esp_amp_sys_info_alloc(0x0077, 256);
    assert_non_null(m);
    for (int i = 0; i < 256; i++) {
        m[i] = (uint8_t)(i ^ 0x5a);
    }
    const uint32_t m_off = offset_of(m);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint8_t *s = esp_amp_sys_info_get(0x0077, NULL);
    assert_non_null(s);
    assert_ptr_not_equal(s, m);
    assert_int_equal(offset_of(s), m_off);
    assert_memory_equal(s, m, 256);
    s[17] = 0xee;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_int_equal(m[17], 0xee);
}

/* An entry written past dir_count is not published yet. */
static void test_sys_info_unpublished_entry_invisible(void **state)
{
    (void)state;
    ampvq_region_hdr_t *r = unit_region();
    ampvq_sys_info_entry_t *dir = (ampvq_sys_info_entry_t *)(r + 1);
    uint32_t n = r->dir_count;
    dir[n].id = 0x0099;
    dir[n].size = 16;
    dir[n].offset = align_up(used_end());

    for (int core = 0; core < 2; core++) {
        ampvq_posix_set_core(core);
        assert_null(esp_amp_sys_info_get(0x0099, NULL));
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    /* Publishing it is what makes it visible (and takes the id). */
    r->dir_count = n + 1;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_non_null(esp_amp_sys_info_get(0x0099, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_null(esp_amp_sys_info_alloc(0x0099, 16));
}

/* Main re-initialising the region starts a new directory. */
static void test_sys_info_main_reinit_clears_directory(void **state)
{
    (void)state;
    assert_non_null(esp_amp_sys_info_alloc(0x0123, 64));
    CHECK_OK(esp_amp_sys_info_init());
    assert_int_equal(unit_region()->dir_count, 0);
    assert_int_equal(unit_region()->magic, AMPVQ_REGION_MAGIC);
    assert_null(esp_amp_sys_info_get(0x0123, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    assert_null(esp_amp_sys_info_get(0x0123, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_non_null(esp_amp_sys_info_alloc(0x0123, 64));
}

/* Fixture: mapped, not initialised. */
static void test_sys_info_sub_init_before_main_invalid_state(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_sys_info_init(), ESP_ERR_INVALID_STATE);
    CHECK_ERR(esp_amp_init(), ESP_ERR_INVALID_STATE);
    assert_null(esp_amp_sys_info_get(SYS_INFO_RESERVED_ID_EVENT_MAIN, NULL));

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    assert_null(esp_amp_sys_info_alloc(0x0001, 16));
    assert_null(esp_amp_sys_info_get(0x0001, NULL));
    CHECK_OK(esp_amp_sys_info_init());
    assert_non_null(esp_amp_sys_info_alloc(0x0001, 16));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_OK(esp_amp_sys_info_init());
    assert_non_null(esp_amp_sys_info_get(0x0001, NULL));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

/* The header, a full directory and one aligned block must fit. */
static void test_sys_info_init_shared_memory_too_small(void **state)
{
    (void)state;
    UNIT_COHERENT_ONLY();
    const uint32_t need = DIR_END + AMPVQ_SYS_INFO_ALIGN;

    unit_teardown(NULL);
    assert_int_equal(unit_setup_bare_size(need - 1u), 0);
    CHECK_ERR(esp_amp_sys_info_init(), ESP_ERR_INVALID_SIZE);
    CHECK_ERR(esp_amp_init(), ESP_ERR_INVALID_SIZE);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK_ERR(esp_amp_sys_info_init(), ESP_ERR_INVALID_SIZE);

    unit_teardown(NULL);
    assert_int_equal(unit_setup_bare_size(need), 0);
    CHECK_OK(esp_amp_sys_info_init());
    assert_non_null(esp_amp_sys_info_alloc(0x0001, AMPVQ_SYS_INFO_ALIGN));
    assert_null(esp_amp_sys_info_alloc(0x0002, 1));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_sys_info_alloc_returns_zeroed_block),
        T(test_sys_info_alloc_aligned_and_disjoint),
        T(test_sys_info_get_and_lookup_report_block),
        T(test_sys_info_unknown_id_not_found),
        T(test_sys_info_reserved_ids_refused),
        T(test_sys_info_size_zero_or_over_32_bits_refused),
        T(test_sys_info_duplicate_id_refused),
        T(test_sys_info_directory_full),
        T(test_sys_info_shared_memory_exhausted),
        T(test_sys_info_get_clamps_size_to_16_bits),
        T(test_sys_info_sub_core_cannot_alloc),
        T(test_sys_info_sub_sees_same_block_at_other_address),
        T(test_sys_info_unpublished_entry_invisible),
        T(test_sys_info_main_reinit_clears_directory),
        cmocka_unit_test_setup_teardown(test_sys_info_sub_init_before_main_invalid_state, unit_setup_bare,
                                        unit_teardown),
        cmocka_unit_test_setup_teardown(test_sys_info_init_shared_memory_too_small, unit_setup_bare, unit_teardown),
    };
#undef T
    return cmocka_run_group_tests_name("sys_info", tests, NULL, NULL);
}
