/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The bytes two separately built images must agree on. The static asserts
 * break the build when a shared-memory struct changes shape; if that change
 * is intended, AMPVQ_LAYOUT_VERSION must change with it, and so must the
 * pinned version below. The run-time cases check what a queue's block looks
 * like after esp_amp_queue_main_init(), which no struct definition captures.
 */
#include "unit_support.h"

#include <stddef.h>

/* esp_amp_queue_desc_t: ESP-AMP's descriptor, byte for byte. */
_Static_assert(sizeof(esp_amp_queue_desc_t) == 8, "descriptor is 8 bytes");
_Static_assert(offsetof(esp_amp_queue_desc_t, addr) == 0, "desc.addr at 0");
_Static_assert(offsetof(esp_amp_queue_desc_t, len) == 4, "desc.len at 4");
_Static_assert(offsetof(esp_amp_queue_desc_t, flags) == 6, "desc.flags at 6");
_Static_assert(sizeof(((esp_amp_queue_desc_t *)0)->addr) == 4, "desc.addr is 32-bit");
_Static_assert(sizeof(((esp_amp_queue_desc_t *)0)->len) == 2, "desc.len is 16-bit");
_Static_assert(sizeof(((esp_amp_queue_desc_t *)0)->flags) == 2, "desc.flags is 16-bit");
_Static_assert(AMPVQ_DESC_F_AVAIL == 0x0080, "AVAIL is flags bit 7");
_Static_assert(AMPVQ_DESC_F_USED == 0x8000, "USED is flags bit 15");

/* Queue block header. */
_Static_assert(sizeof(ampvq_queue_hdr_t) == 24, "queue header is 24 bytes");
_Static_assert(offsetof(ampvq_queue_hdr_t, len) == 0, "qhdr.len at 0");
_Static_assert(offsetof(ampvq_queue_hdr_t, item_size) == 2, "qhdr.item_size at 2");
_Static_assert(offsetof(ampvq_queue_hdr_t, desc_off) == 4, "qhdr.desc_off at 4");
_Static_assert(offsetof(ampvq_queue_hdr_t, buf_off) == 8, "qhdr.buf_off at 8");
_Static_assert(offsetof(ampvq_queue_hdr_t, desc_stride) == 12, "qhdr.desc_stride at 12");
_Static_assert(offsetof(ampvq_queue_hdr_t, features) == 14, "qhdr.features at 14");
_Static_assert(offsetof(ampvq_queue_hdr_t, ctl_off) == 16, "qhdr.ctl_off at 16");
_Static_assert(sizeof(ampvq_queue_ctl_t) == 8 && offsetof(ampvq_queue_ctl_t, session) == 4, "control words");
_Static_assert(AMPVQ_SESSION_FRESH == 0x80000000u, "fresh-attach bit");
_Static_assert(AMPVQ_QUEUE_FEAT_EVENT_IDX == 1u, "event-index feature bit");
_Static_assert(sizeof(((ampvq_queue_hdr_t *)0)->len) == 2, "qhdr.len is 16-bit");
_Static_assert(sizeof(((ampvq_queue_hdr_t *)0)->item_size) == 2, "qhdr.item_size is 16-bit");

/* sys_info directory entry. */
_Static_assert(sizeof(ampvq_sys_info_entry_t) == 12, "directory entry is 12 bytes");
_Static_assert(offsetof(ampvq_sys_info_entry_t, id) == 0, "entry.id at 0");
_Static_assert(offsetof(ampvq_sys_info_entry_t, reserved) == 2, "entry.reserved at 2");
_Static_assert(offsetof(ampvq_sys_info_entry_t, size) == 4, "entry.size at 4");
_Static_assert(offsetof(ampvq_sys_info_entry_t, offset) == 8, "entry.offset at 8");

/* Region header. */
_Static_assert(sizeof(ampvq_region_hdr_t) == 32, "region header is 32 bytes");
_Static_assert(offsetof(ampvq_region_hdr_t, magic) == 0, "region.magic at 0");
_Static_assert(offsetof(ampvq_region_hdr_t, version) == 4, "region.version at 4");
_Static_assert(offsetof(ampvq_region_hdr_t, dir_capacity) == 6, "region.dir_capacity at 6");
_Static_assert(offsetof(ampvq_region_hdr_t, region_size) == 8, "region.region_size at 8");
_Static_assert(offsetof(ampvq_region_hdr_t, dir_count) == 12, "region.dir_count at 12");
_Static_assert(offsetof(ampvq_region_hdr_t, sw_intr_pending) == 16, "region.sw_intr_pending at 16");
_Static_assert(sizeof(((ampvq_region_hdr_t *)0)->sw_intr_pending) == 8, "two pending words");
_Static_assert(offsetof(ampvq_region_hdr_t, session) == 24, "region.session at 24");

/* Values both images use on the wire. */
_Static_assert(AMPVQ_REGION_MAGIC == 0x51564d41u, "magic is \"AMVQ\"");
_Static_assert(AMPVQ_LAYOUT_VERSION == 2u, "layout version: bump together with the asserts above");
_Static_assert(AMPVQ_CORE_MAIN == 0 && AMPVQ_CORE_SUB == 1, "core numbers index sw_intr_pending");
_Static_assert(AMPVQ_QUEUE_LEN_MAX == 32768u, "largest queue");
_Static_assert(AMPVQ_QUEUE_ITEM_SIZE_MAX == 65532u, "largest item");
_Static_assert(SYS_INFO_RESERVED_ID == 0xff00 && SYS_INFO_RESERVED_ID_EVENT_MAIN == 0xff01 &&
                   SYS_INFO_RESERVED_ID_EVENT_SUB == 0xff02 && SYS_INFO_RESERVED_ID_VQUEUE == 0xff03 &&
                   SYS_INFO_RESERVED_ID_SYSTEM == 0xff04 && SYS_INFO_RESERVED_ID_PM == 0xff05 &&
                   SYS_INFO_ID_MAX == 0xffff,
               "reserved sys_info ids");
_Static_assert(SW_INTR_ID_15 == 15 && SW_INTR_RESERVED_ID_SYS_SVC == 27 && SW_INTR_RESERVED_ID_PANIC == 28 &&
                   SW_INTR_RESERVED_ID_RPMSG == 29 && SW_INTR_RESERVED_ID_EVENT == 30 && SW_INTR_ID_MAX == 31,
               "software interrupt ids are bit numbers in the pending words");

/* ESP-IDF's esp_err_t values (DESIGN.md section 1). */
_Static_assert(ESP_OK == 0 && ESP_FAIL == -1, "ESP_OK / ESP_FAIL");
_Static_assert(ESP_ERR_NO_MEM == 0x101 && ESP_ERR_INVALID_ARG == 0x102 && ESP_ERR_INVALID_STATE == 0x103 &&
                   ESP_ERR_INVALID_SIZE == 0x104 && ESP_ERR_NOT_FOUND == 0x105 && ESP_ERR_NOT_SUPPORTED == 0x106 &&
                   ESP_ERR_TIMEOUT == 0x107 && ESP_ERR_INVALID_RESPONSE == 0x108 && ESP_ERR_NOT_FINISHED == 0x10c &&
                   ESP_ERR_NOT_ALLOWED == 0x10d,
               "esp_err_t values");

#define DESC_REL_OFFSET 24u

/* A queue's block as the layout promises it: header, descriptors right
 * after it (24 bytes in, 8 bytes apart), then the buffers; every descriptor lends its own buffer and all flags
 * are 0. Read through the sub core's view, which is what a second image
 * would see. */
static void check_fresh_block(uint16_t id, uint16_t len_arg, uint16_t item_arg, uint32_t len, uint32_t item)
{
    esp_amp_queue_t q;

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK_OK(esp_amp_queue_main_init(&q, len_arg, item_arg, NULL, NULL, true, (esp_amp_sys_info_id_t)id));

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    uint32_t block_size = 0;
    uint8_t *block = esp_amp_sys_info_lookup(id, &block_size);
    assert_non_null(block);
    uint32_t block_off = (uint32_t)(block - unit_base());
    const ampvq_queue_hdr_t *hdr = (const ampvq_queue_hdr_t *)(const void *)block;

    assert_int_equal(block_off % AMPVQ_SYS_INFO_ALIGN, 0);
    assert_int_equal(hdr->len, len);
    assert_int_equal(hdr->item_size, item);
    assert_int_equal(hdr->desc_off, block_off + DESC_REL_OFFSET);
    assert_int_equal(hdr->buf_off, hdr->desc_off + len * 8u);
    /* Then the two roles' control words, 8-aligned, 8 bytes each. */
    uint32_t ctl_rel = (DESC_REL_OFFSET + len * 8u + len * item + 7u) & ~7u;
    assert_int_equal(block_size, ctl_rel + 16u);
    assert_int_equal(hdr->desc_stride, 8);
    assert_int_equal(hdr->features, 0);
    assert_int_equal(hdr->ctl_off[0], block_off + ctl_rel);
    assert_int_equal(hdr->ctl_off[1], block_off + ctl_rel + 8u);
    const esp_amp_queue_desc_t *desc = (const esp_amp_queue_desc_t *)(const void *)(block + DESC_REL_OFFSET);
    for (uint32_t i = 0; i < len; i++) {
        assert_int_equal(desc[i].addr, hdr->buf_off + i * item);
        assert_int_equal(desc[i].len, 0);
        assert_int_equal(desc[i].flags, 0);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void test_abi_fresh_queue_block_layout(void **state)
{
    (void)state;
    check_fresh_block(0x10, 4, 12, 4, 12);
    check_fresh_block(0x11, 5, 10, 8, 12);
    check_fresh_block(0x12, 1, 1, 1, 4);
    check_fresh_block(0x13, 64, 256, 64, 256);
}

/* The descriptor and flags words a remote on another image reads after the
 * master's first send: addr of the buffer, len, AVAIL for wrap counter 1. */
static void test_abi_sent_descriptor_bytes(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, 0x20);
    unit_qview_t v;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    QVIEW(&v, 0x20);

    SEND_MSG(&p, 7, 10);
    assert_int_equal(v.desc[0].addr, v.hdr->buf_off);
    assert_int_equal(v.desc[0].len, 10);
    assert_int_equal(v.desc[0].flags, AMPVQ_DESC_F_AVAIL);
    assert_int_equal(v.desc[1].flags, 0);

    /* The remote's free of wrap 1 marks USED and keeps AVAIL: both bits. */
    RECV_MSG(&p, 7, 10);
    assert_int_equal(v.desc[0].flags, AMPVQ_DESC_F_AVAIL | AMPVQ_DESC_F_USED);
    assert_int_equal(v.desc[0].addr, v.hdr->buf_off);

    /* Second lap (wrap counter 0): send shows USED alone, free clears both. */
    for (uint32_t i = 1; i < 4; i++) {
        SEND_MSG(&p, i, 4);
        RECV_MSG(&p, i, 4);
    }
    SEND_MSG(&p, 100, 4);
    assert_int_equal(v.desc[0].flags, AMPVQ_DESC_F_USED);
    RECV_MSG(&p, 100, 4);
    assert_int_equal(v.desc[0].flags, 0);
}

/* The region header the main core writes, as the sub core reads it. */
static void test_abi_region_header(void **state)
{
    (void)state;
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    const ampvq_region_hdr_t *r = unit_region();
    assert_int_equal(r->magic, AMPVQ_REGION_MAGIC);
    assert_int_equal(r->version, AMPVQ_LAYOUT_VERSION);
    assert_int_equal(r->dir_capacity, AMPVQ_SYS_INFO_MAX_ENTRIES);
    assert_int_equal(r->region_size, AMPVQ_POSIX_SHM_DEFAULT_SIZE);

    /* Every block starts after the directory, which follows the header. */
    const ampvq_sys_info_entry_t *dir = (const ampvq_sys_info_entry_t *)(r + 1);
    uint32_t dir_end = (uint32_t)sizeof(*r) + AMPVQ_SYS_INFO_MAX_ENTRIES * (uint32_t)sizeof(*dir);
    assert_true(r->dir_count >= 2); /* the two default event words */
    for (uint32_t i = 0; i < r->dir_count; i++) {
        assert_true(dir[i].offset >= dir_end);
        assert_int_equal(dir[i].offset % AMPVQ_SYS_INFO_ALIGN, 0);
        uint32_t size = 0;
        const uint8_t *p = esp_amp_sys_info_lookup(dir[i].id, &size);
        assert_ptr_equal(p, unit_base() + dir[i].offset);
        assert_int_equal(size, dir[i].size);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_abi_fresh_queue_block_layout, unit_setup, unit_teardown),
        cmocka_unit_test_setup_teardown(test_abi_sent_descriptor_bytes, unit_setup, unit_teardown),
        cmocka_unit_test_setup_teardown(test_abi_region_header, unit_setup, unit_teardown),
    };
    return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
