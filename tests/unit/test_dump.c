/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * esp_amp_queue_dump() against docs/inspect.md: the exact lines for both
 * roles with slots in every state a side can tell apart, the control-word
 * and link lines (also after a restart of the sub core and the ring reset
 * it causes), the marks for corrupt descriptors, and the error codes. It must not
 * write shared memory, so the block is compared before and after.
 */
#include "unit_support.h"

#include <stdio.h>
#include <stdlib.h>

#define ID_Q 0x0100

#define MAX_LINES 64
/* queue, indices, stats, ctl, link: then one line per slot. */
#define HDR_LINES 5

typedef struct {
    char *line[MAX_LINES];
    int n;
    int overflow;
} capture_t;

static void capture(void *ctx, const char *line)
{
    capture_t *c = (capture_t *)ctx;
    if (c->n >= MAX_LINES) {
        c->overflow++;
        return;
    }
    size_t len = strlen(line);
    c->line[c->n] = malloc(len + 1);
    assert_non_null(c->line[c->n]);
    memcpy(c->line[c->n], line, len + 1);
    c->n++;
}

static void capture_free(capture_t *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->line[i]);
    }
    memset(c, 0, sizeof(*c));
}

static void dump(const esp_amp_queue_t *q, capture_t *c)
{
    memset(c, 0, sizeof(*c));
    CHECK_OK(esp_amp_queue_dump(q, capture, c));
    assert_int_equal(c->overflow, 0);
}

static void check_line(const capture_t *c, int i, const char *want)
{
    assert_true(i < c->n);
    assert_string_equal(c->line[i], want);
}

/* "slot ... flags 0x.... owner": the fixed-format prefix up to the addr is
 * checked separately, so compare index, len, flags and owner. */
static void check_slot(const capture_t *c, int i, const unit_qview_t *v, uint32_t slot, uint32_t index, uint32_t buffer,
                       uint32_t len, uint32_t flags, const char *owner)
{
    char want[200];
    snprintf(want, sizeof(want), "slot %u index %u addr 0x%08x len %u flags 0x%04x %s", (unsigned)slot, (unsigned)index,
             (unsigned)(v->hdr->buf_off + buffer * v->item), (unsigned)len, (unsigned)flags, owner);
    check_line(c, i, want);
}

static void test_dump_errors(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 36, true, ID_Q);
    capture_t c = {0};

    CHECK_ERR(esp_amp_queue_dump(NULL, capture, &c), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_dump(&p.master, NULL, &c), ESP_ERR_INVALID_ARG);
    esp_amp_queue_t zero;
    memset(&zero, 0, sizeof(zero));
    CHECK_ERR(esp_amp_queue_dump(&zero, capture, &c), ESP_ERR_INVALID_STATE);
    /* A copy of a handle is not a handle (its tag names the original). */
    esp_amp_queue_t copy = p.master;
    CHECK_ERR(esp_amp_queue_dump(&copy, capture, &c), ESP_ERR_INVALID_STATE);
    assert_int_equal(c.n, 0);
}

static void test_dump_fresh(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 3, 33, true, ID_Q);
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    capture_t c;
    char want[200];

    dump(&p.master, &c);
    assert_int_equal(c.n, HDR_LINES + 4);
    snprintf(want, sizeof(want), "queue id 0x0100 role master len 4 item_size 36 stride 8 buf_off 0x%08x event_idx off",
             (unsigned)v.hdr->buf_off);
    check_line(&c, 0, want);
    check_line(&c, 1, "indices head 0 tail 0 held 0");
    check_line(&c, 2, "stats taken 0 given 0 full 0 peer_errors 0 notify 0 resets 0 lost 0");
    /* The sub core attached (instance 1, first attach): a fresh attach is
     * never acknowledged (nothing to reset). The master's wake word starts
     * at 0x80000000 even without the event index. */
    check_line(&c, 3, "ctl own wake 2147483648 session 0x00000000 peer wake 0 session 0x80000001");
    check_line(&c, 4, "link none core main peer_instance 0x00000001");
    for (uint32_t i = 0; i < 4; i++) {
        check_slot(&c, HDR_LINES + (int)i, &v, i, i, i, 0, 0, "free");
    }
    capture_free(&c);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    dump(&p.remote, &c);
    assert_int_equal(c.n, HDR_LINES + 4);
    snprintf(want, sizeof(want), "queue id 0x0100 role remote len 4 item_size 36 stride 8 buf_off 0x%08x event_idx off",
             (unsigned)v.hdr->buf_off);
    check_line(&c, 0, want);
    check_line(&c, 3, "ctl own wake 0 session 0x80000001 peer wake 2147483648 session 0x00000000");
    /* A first attach may use the ring as it is: up at once. */
    check_line(&c, 4, "link up core sub peer_instance 0x00000001 attached 0x80000001");
    for (uint32_t i = 0; i < 4; i++) {
        check_slot(&c, HDR_LINES + (int)i, &v, i, i, i, 0, 0, "at master (free or allocated)");
    }
    capture_free(&c);
}

/* Master: one lap done, then A and B sent (A received, not freed), C
 * allocated: each side's window shows every state it can tell apart. */
static void test_dump_states(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 16, true, ID_Q);
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    for (uint32_t seq = 0; seq < 5; seq++) {
        SEND_MSG(&p, seq, 8);
        RECV_MSG(&p, seq, 8);
    }
    SEND_MSG(&p, 5, 12); /* index 5, slot 1 */
    SEND_MSG(&p, 6, 3);  /* index 6, slot 2 */
    void *held = NULL;
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &held, 4)); /* index 7, slot 3 */
    void *rx = NULL;
    uint16_t rx_len = 0;
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rx, &rx_len)); /* index 5 */

    uint8_t before[4096];
    assert_true(v.block_size <= sizeof(before));
    memcpy(before, v.hdr, v.block_size);

    capture_t c;
    ampvq_posix_set_core(p.master_core);
    dump(&p.master, &c);
    assert_int_equal(c.n, HDR_LINES + 4);
    check_line(&c, 1, "indices head 8 tail 7 held 1");
    check_line(&c, 2, "stats taken 8 given 7 full 0 peer_errors 0 notify 0 resets 0 lost 0");
    check_line(&c, 3, "ctl own wake 2147483648 session 0x00000000 peer wake 0 session 0x80000001");
    check_line(&c, 4, "link none core main peer_instance 0x00000001");
    /* Window from the master's tail (7): its allocation, then the slot the
     * remote freed in lap 1 (free in lap 2), then what it sent in lap 1. */
    check_slot(&c, HDR_LINES + 0, &v, 3, 7, 3, 0, 0x8080, "held by app (allocated, not sent)");
    check_slot(&c, HDR_LINES + 1, &v, 0, 8, 0, 0, 0x0000, "free");
    check_slot(&c, HDR_LINES + 2, &v, 1, 9, 1, 12, 0x8000, "in flight or at remote");
    check_slot(&c, HDR_LINES + 3, &v, 2, 10, 2, 3, 0x8000, "in flight or at remote");
    capture_free(&c);

    ampvq_posix_set_core(p.remote_core);
    dump(&p.remote, &c);
    check_line(&c, 1, "indices head 6 tail 5 held 1");
    check_line(&c, 2, "stats taken 6 given 5 full 0 peer_errors 0 notify 0 resets 0 lost 0");
    check_line(&c, 3, "ctl own wake 0 session 0x80000001 peer wake 2147483648 session 0x00000000");
    check_slot(&c, HDR_LINES + 0, &v, 1, 5, 1, 12, 0x8000, "held by app (received, not freed)");
    check_slot(&c, HDR_LINES + 1, &v, 2, 6, 2, 3, 0x8000, "ready to receive");
    check_slot(&c, HDR_LINES + 2, &v, 3, 7, 3, 0, 0x8080, "at master (free or allocated)");
    check_slot(&c, HDR_LINES + 3, &v, 0, 8, 0, 0, 0x0000, "at master (free or allocated)");
    capture_free(&c);

    assert_memory_equal(before, v.hdr, v.block_size);
}

static void test_dump_event_idx(void **state)
{
    (void)state;
    esp_amp_queue_t m;
    CHECK_OK(
        esp_amp_queue_main_init_ex(&m, 2, 8, NULL, NULL, true, (esp_amp_sys_info_id_t)ID_Q, ESP_AMP_QUEUE_F_EVENT_IDX));
    capture_t c;
    dump(&m, &c);
    assert_int_equal(c.n, HDR_LINES + 2);
    assert_non_null(strstr(c.line[0], " event_idx on"));
    /* The master's own word starts at "never" (0x80000000), the remote's at
     * 0; no sub core has attached, so both session words are 0. */
    check_line(&c, 3, "ctl own wake 2147483648 session 0x00000000 peer wake 0 session 0x00000000");
    check_line(&c, 4, "link none core main peer_instance 0x00000001");
    capture_free(&c);
}

/* The sub core restarts (esp_amp_init() again: instance 2) and opens the
 * queue again; the main core's next alloc resets the ring, counting the two
 * messages the old instance never gave back, and acknowledges session 2. */
static void test_dump_after_reset(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 4, 8, true, ID_Q);
    SEND_MSG(&p, 0, 8);
    SEND_MSG(&p, 1, 8);
    void *rx = NULL;
    uint16_t rx_len = 0;
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_try(&p.remote, &rx, &rx_len));
    CHECK_OK(esp_amp_init());
    esp_amp_queue_t r2;
    CHECK_OK(esp_amp_queue_sub_init(&r2, NULL, NULL, false, ID_Q));

    capture_t c;
    dump(&r2, &c);
    check_line(&c, 3, "ctl own wake 0 session 0x00000002 peer wake 2147483648 session 0x00000000");
    /* Not fresh: waits for the main core's acknowledgement (none seen). */
    check_line(&c, 4, "link pending core sub peer_instance 0xffffffff attached 0x00000002");
    capture_free(&c);

    ampvq_posix_set_core(p.master_core);
    void *buf = NULL;
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 8));
    dump(&p.master, &c);
    assert_int_equal(c.n, HDR_LINES + 4);
    check_line(&c, 1, "indices head 1 tail 0 held 1");
    check_line(&c, 2, "stats taken 1 given 0 full 0 peer_errors 0 notify 0 resets 1 lost 2");
    check_line(&c, 3, "ctl own wake 2147483648 session 0x00000002 peer wake 0 session 0x00000002");
    check_line(&c, 4, "link up core main peer_instance 0x00000002");
    capture_free(&c);
}

static void test_dump_marks_bad_descriptors(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR(&p, 2, 8, true, ID_Q);
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    v.desc[0].addr += 4;
    v.desc[1].len = 9;
    v.desc[1].flags = 0x0080;
    capture_t c;
    dump(&p.master, &c);
    assert_non_null(strstr(c.line[HDR_LINES + 0], " free [bad addr]"));
    assert_non_null(strstr(c.line[HDR_LINES + 1], " flags 0x0080 unexpected flags [bad len]"));
    capture_free(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_dump_errors),
        T(test_dump_fresh),
        T(test_dump_states),
        T(test_dump_event_idx),
        T(test_dump_after_reset),
        T(test_dump_marks_bad_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
