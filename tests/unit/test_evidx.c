/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Notification suppression (ESP_AMP_QUEUE_F_EVENT_IDX) and the remote's
 * free-notify (esp_amp_queue_set_free_notify), single-threaded: the test
 * plays both cores with ampvq_posix_set_core() and checks, after every
 * step, how often each side's notify function ran (own counters and
 * esp_amp_queue_stats()) and what the wake words in shared memory say.
 *
 *   master -> remote: the remote writes its wake word (= its head) when a
 *   recv_try / recv_n finds nothing; the master's send notifies only when
 *   it publishes that slot.
 *   remote -> master: the master writes its wake word (= head - len, in the
 *   remote's free numbering) when an alloc finds the queue full; the
 *   remote's free calls the free-notify only when it frees that slot.
 *
 * Without the flag both hooks run on every call (the seed's behaviour).
 * The races between the two sides are the stress tests' business
 * (tests/stress/evidx_stress.c).
 */
#include "unit_support.h"

#include "esp_amp_queue.h"

#include <stdlib.h>

#define ID_Q 0x0300

/* The master's wake word before it ever asks (src/queue.c WAKE_NEVER). */
#define WAKE_NEVER 0x80000000u

static int notify_calls;
static int free_notify_calls;

static int count_notify(void *arg)
{
    (void)arg;
    notify_calls++;
    return 0;
}

static int count_free_notify(void *arg)
{
    (void)arg;
    free_notify_calls++;
    return 0;
}

/* unit_open_pair_at() with flags, plus the remote's free-notify; leaves
 * the calling thread as the main core. */
static void open_pair_ex_at(unit_pair_t *p, uint16_t len, uint16_t item, bool main_is_master, uint32_t flags,
                            const char *file, int line)
{
    notify_calls = 0;
    free_notify_calls = 0;
    p->master_core = main_is_master ? AMPVQ_CORE_MAIN : AMPVQ_CORE_SUB;
    p->remote_core = main_is_master ? AMPVQ_CORE_SUB : AMPVQ_CORE_MAIN;
    p->id = ID_Q;
    esp_amp_queue_t *on_main = main_is_master ? &p->master : &p->remote;
    esp_amp_queue_t *on_sub = main_is_master ? &p->remote : &p->master;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_check_err(esp_amp_queue_main_init_ex(on_main, len, item, main_is_master ? count_notify : NULL, NULL,
                                              main_is_master, ID_Q, flags),
                   ESP_OK, "esp_amp_queue_main_init_ex", file, line);
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    unit_check_err(esp_amp_queue_sub_init(on_sub, main_is_master ? NULL : count_notify, NULL, !main_is_master, ID_Q),
                   ESP_OK, "esp_amp_queue_sub_init", file, line);
    ampvq_posix_set_core(p->remote_core);
    unit_check_err(esp_amp_queue_set_free_notify(&p->remote, count_free_notify, NULL), ESP_OK,
                   "esp_amp_queue_set_free_notify", file, line);
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

#define OPEN_PAIR_EX(p, len, item, main_is_master, flags)                                                              \
    open_pair_ex_at((p), (len), (item), (main_is_master), (flags), __FILE__, __LINE__)

/* The wake words: [0] the remote's, [1] the master's (ampvq_queue_hdr_t). */
static uint32_t wake_word(int role)
{
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    const ampvq_queue_ctl_t *ctl = (const ampvq_queue_ctl_t *)(const void *)(unit_base() + v.hdr->ctl_off[role]);
    return ctl->wake;
}

#define WAKE_REMOTE() wake_word(0)
#define WAKE_MASTER() wake_word(1)

static uint32_t stat_notify(const esp_amp_queue_t *q)
{
    esp_amp_queue_stats_t st;
    CHECK_OK(esp_amp_queue_stats(q, &st));
    return st.notify;
}

static uint32_t stat_full(const esp_amp_queue_t *q)
{
    esp_amp_queue_stats_t st;
    CHECK_OK(esp_amp_queue_stats(q, &st));
    return st.full;
}

/* The remote looks and finds nothing (this is what asks for a wake-up). */
static void poll_empty_at(unit_pair_t *p, const char *file, int line)
{
    void *buf;
    uint16_t size;
    ampvq_posix_set_core(p->remote_core);
    unit_check_err(esp_amp_queue_recv_try(&p->remote, &buf, &size), ESP_ERR_NOT_FOUND, "esp_amp_queue_recv_try", file,
                   line);
}

#define POLL_EMPTY(p) poll_empty_at((p), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static void test_evidx_init_flags_and_layout(void **state)
{
    (void)state;
    esp_amp_queue_t q;
    unit_dir_t before;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    unit_dir_save(&before);
    CHECK_ERR(esp_amp_queue_main_init_ex(&q, 4, 16, NULL, NULL, true, ID_Q, 2u), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_main_init_ex(&q, 4, 16, NULL, NULL, true, ID_Q, 0x80000001u), ESP_ERR_INVALID_ARG);
    assert_true(unit_dir_unchanged(&before));

    unit_pair_t p;
    OPEN_PAIR_EX(&p, 4, 16, true, ESP_AMP_QUEUE_F_EVENT_IDX);
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    assert_int_equal(v.hdr->features, AMPVQ_QUEUE_FEAT_EVENT_IDX);
    /* The two roles' words are a line apart (each written by one core),
     * after the buffers and inside the block. (Only a line apart: in the
     * coherent build blocks are 8-aligned, so a word may share its line
     * with the last buffer or the next block.) */
    assert_true(v.hdr->ctl_off[1] - v.hdr->ctl_off[0] >= AMPVQ_CACHE_LINE);
    assert_true(v.hdr->ctl_off[0] >= v.hdr->buf_off + v.len * v.item);
    assert_true(v.hdr->ctl_off[1] + sizeof(ampvq_queue_ctl_t) <= v.block_off + v.block_size);
    /* The remote's word starts at 0 (its head: the very first message
     * notifies), the master's far away (no free-notify before it asks). */
    assert_int_equal(WAKE_REMOTE(), 0);
    assert_int_equal(WAKE_MASTER(), WAKE_NEVER);

    /* Without the flag: no feature bit, and the words never move. */
    UNIT_RESET_CORES();
    OPEN_PAIR_EX(&p, 4, 16, true, 0);
    QVIEW(&v, ID_Q);
    assert_int_equal(v.hdr->features, 0);
    POLL_EMPTY(&p);
    SEND_MSG(&p, 0, 4);
    SEND_MSG(&p, 1, 4);
    SEND_MSG(&p, 2, 4);
    SEND_MSG(&p, 3, 4);
    ampvq_posix_set_core(p.master_core);
    void *buf;
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 4), ESP_ERR_NOT_FOUND);
    assert_int_equal(WAKE_REMOTE(), 0);
    assert_int_equal(WAKE_MASTER(), WAKE_NEVER);
}

static void test_evidx_set_free_notify_errors(void **state)
{
    (void)state;
    unit_pair_t p;
    esp_amp_queue_t q;
    OPEN_PAIR_EX(&p, 4, 16, true, ESP_AMP_QUEUE_F_EVENT_IDX);
    CHECK_ERR(esp_amp_queue_set_free_notify(NULL, count_free_notify, NULL), ESP_ERR_INVALID_ARG);
    CHECK_ERR(esp_amp_queue_set_free_notify(&p.master, count_free_notify, NULL), ESP_ERR_NOT_SUPPORTED);
    memset(&q, 0, sizeof(q));
    CHECK_ERR(esp_amp_queue_set_free_notify(&q, count_free_notify, NULL), ESP_ERR_INVALID_STATE);

    /* NULL turns it off (no event index: it would run on every free). */
    UNIT_RESET_CORES();
    OPEN_PAIR_EX(&p, 4, 16, false, 0);
    SEND_MSG(&p, 0, 4);
    RECV_MSG(&p, 0, 4);
    assert_int_equal(free_notify_calls, 1);
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_set_free_notify(&p.remote, NULL, NULL));
    SEND_MSG(&p, 1, 4);
    RECV_MSG(&p, 1, 4);
    assert_int_equal(free_notify_calls, 1);
    ampvq_posix_set_core(p.remote_core);
    assert_int_equal(stat_notify(&p.remote), 1);
}

/* ------------------------------------------------------------------ */
/* master -> remote                                                    */
/* ------------------------------------------------------------------ */

static void notify_only_when_remote_asked(bool main_is_master)
{
    unit_pair_t p;
    OPEN_PAIR_EX(&p, 16, 16, main_is_master, ESP_AMP_QUEUE_F_EVENT_IDX);
    uint32_t seq = 0;

    /* The remote polls an empty queue: it asks for slot 0. */
    POLL_EMPTY(&p);
    assert_int_equal(WAKE_REMOTE(), 0);
    /* Five sends: only the first notifies. */
    for (int i = 0; i < 5; i++) {
        SEND_MSG(&p, seq++, 8);
    }
    assert_int_equal(notify_calls, 1);
    /* The remote takes all five without finding the queue empty: it did not
     * ask again, so five more sends notify nobody. */
    for (uint32_t s = 0; s < 5; s++) {
        RECV_MSG(&p, s, 8);
    }
    assert_int_equal(WAKE_REMOTE(), 0);
    for (int i = 0; i < 5; i++) {
        SEND_MSG(&p, seq++, 8);
    }
    assert_int_equal(notify_calls, 1);
    /* It drains and finds nothing: it asks for slot 10, the next send
     * notifies once, the ones after it do not. */
    for (uint32_t s = 5; s < 10; s++) {
        RECV_MSG(&p, s, 8);
    }
    POLL_EMPTY(&p);
    assert_int_equal(WAKE_REMOTE(), 10);
    SEND_MSG(&p, seq++, 8);
    assert_int_equal(notify_calls, 2);
    SEND_MSG(&p, seq++, 8);
    SEND_MSG(&p, seq++, 8);
    assert_int_equal(notify_calls, 2);
    /* Polling again while messages wait changes nothing (recv succeeds
     * without asking). */
    RECV_MSG(&p, 10, 8);
    assert_int_equal(WAKE_REMOTE(), 10);
    RECV_MSG(&p, 11, 8);
    RECV_MSG(&p, 12, 8);
    /* Empty twice in a row: one request, one notify. */
    POLL_EMPTY(&p);
    POLL_EMPTY(&p);
    assert_int_equal(WAKE_REMOTE(), 13);
    SEND_MSG(&p, seq++, 8);
    SEND_MSG(&p, seq++, 8);
    assert_int_equal(notify_calls, 3);
    ampvq_posix_set_core(p.master_core);
    assert_int_equal(stat_notify(&p.master), 3);
    /* The master never found the queue full: no free-notify. */
    assert_int_equal(free_notify_calls, 0);
}

static void test_evidx_notify_only_when_remote_asked_main_master(void **state)
{
    (void)state;
    notify_only_when_remote_asked(true);
}

static void test_evidx_notify_only_when_remote_asked_sub_master(void **state)
{
    (void)state;
    notify_only_when_remote_asked(false);
}

/* A claim that finds its slot ready asks for nothing: the wake words move
 * only when an alloc / recv comes back empty-handed. On the main core the
 * first claim also settles the link (src/queue_link.c); that must not arm
 * either (take_slow() once armed after every link check, ready slot or
 * not; this caught it). */
static void test_evidx_successful_claim_does_not_arm(void **state)
{
    (void)state;
    unit_pair_t p;
    for (int role = 0; role < 2; role++) {
        if (role != 0) {
            UNIT_RESET_CORES();
        }
        OPEN_PAIR_EX(&p, 4, 16, role == 0, ESP_AMP_QUEUE_F_EVENT_IDX);
        SEND_MSG(&p, 0, 4);
        SEND_MSG(&p, 1, 4);
        RECV_MSG(&p, 0, 4);
        uint32_t master_wake = WAKE_MASTER();
        uint32_t remote_wake = WAKE_REMOTE();
        assert_int_equal(master_wake, WAKE_NEVER);
        assert_int_equal(remote_wake, 0);
        assert_int_equal(free_notify_calls, 0);
    }
}

/* Batches: one notify per send_n at most, and only if the batch covers the
 * slot the remote asked for. recv_n asks only when it gets nothing. */
static void test_evidx_batch_notifies_at_most_once(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR_EX(&p, 8, 16, true, ESP_AMP_QUEUE_F_EVENT_IDX);
    void *bufs[8], *got[8];
    uint16_t sizes[8] = {4, 4, 4, 4, 4, 4, 4, 4}, rsizes[8], count = 0;

    /* Initial word 0: the first batch notifies once. */
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, 5, &count));
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 5));
    assert_int_equal(notify_calls, 1);
    /* A partial recv_n that empties the queue does not ask... */
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, rsizes, 8, &count));
    assert_int_equal(count, 5);
    assert_int_equal(WAKE_REMOTE(), 0);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 5));
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, 3, &count));
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 3));
    assert_int_equal(notify_calls, 1);
    /* ... an empty one does (slot 8), and the next batch notifies once. */
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, rsizes, 8, &count));
    assert_int_equal(count, 3);
    count = 9;
    CHECK_ERR(esp_amp_queue_recv_n(&p.remote, got + 3, rsizes, 8, &count), ESP_ERR_NOT_FOUND);
    assert_int_equal(count, 0);
    assert_int_equal(WAKE_REMOTE(), 8);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 3));
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, 8, &count));
    assert_int_equal(count, 8);
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 8));
    assert_int_equal(notify_calls, 2);
    assert_int_equal(stat_notify(&p.master), 2);

    /* The requested slot in the middle of a batch, at its last slot, and
     * just past it (the word written by hand, as a remote that asked for a
     * later slot would): notify iff the batch publishes that slot, and
     * once. Master's tail is now 16. */
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, rsizes, 8, &count));
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, count));
    unit_qview_t v;
    QVIEW(&v, ID_Q);
    ampvq_queue_ctl_t *rctl = (ampvq_queue_ctl_t *)(void *)(unit_base() + v.hdr->ctl_off[0]);
    static const struct {
        uint32_t wake, n, notifies;
    } cases[] = {{16 + 2, 5, 1}, {21 + 3, 4, 1}, {25 + 3, 3, 0}, {28, 1, 1}, {28, 2, 0}};
    uint32_t tail = 16;
    int want = 2;
    for (uint32_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        ampvq_posix_set_core(p.remote_core);
        rctl->wake = cases[c].wake;
        ampvq_posix_set_core(p.master_core);
        CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, (uint16_t)cases[c].n, &count));
        assert_int_equal(count, cases[c].n);
        CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, count));
        want += (int)cases[c].notifies;
        if (notify_calls != want) {
            fail_msg("send_n of slots [%u, %u) with the remote's word at %u: %d notifies, expected %d", (unsigned)tail,
                     (unsigned)(tail + cases[c].n), (unsigned)cases[c].wake, notify_calls, want);
        }
        tail += cases[c].n;
        ampvq_posix_set_core(p.remote_core);
        CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, rsizes, 8, &count));
        assert_int_equal(count, cases[c].n);
        CHECK_OK(esp_amp_queue_free_n(&p.remote, got, count));
    }
}

/* ------------------------------------------------------------------ */
/* remote -> master: free-notify                                       */
/* ------------------------------------------------------------------ */

static void free_notify_only_when_master_full(bool main_is_master)
{
    unit_pair_t p;
    const uint32_t len = 4;
    OPEN_PAIR_EX(&p, (uint16_t)len, 16, main_is_master, ESP_AMP_QUEUE_F_EVENT_IDX);
    void *got[4];
    uint16_t size;
    void *buf;

    /* Frees while the master has not found the queue full: no notify. */
    SEND_MSG(&p, 0, 4);
    RECV_MSG(&p, 0, 4);
    assert_int_equal(free_notify_calls, 0);
    /* The master fills the queue (slots 1..4), the remote takes everything. */
    for (uint32_t s = 1; s <= len; s++) {
        SEND_MSG(&p, s, 4);
    }
    ampvq_posix_set_core(p.remote_core);
    for (uint32_t i = 0; i < len; i++) {
        CHECK_OK(esp_amp_queue_recv_try(&p.remote, &got[i], &size));
    }
    /* The master's alloc finds nothing: it asks for the free of its head
     * (5) one lap earlier in the remote's numbering: 5 - 4 = 1. */
    ampvq_posix_set_core(p.master_core);
    CHECK_ERR(esp_amp_queue_alloc_try(&p.master, &buf, 4), ESP_ERR_NOT_FOUND);
    assert_int_equal(stat_full(&p.master), 1);
    assert_int_equal(WAKE_MASTER(), 5 - len);
    /* The remote's next free (its free index 1) is the one asked for. */
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, got[2]));
    assert_int_equal(free_notify_calls, 1);
    CHECK_OK(esp_amp_queue_free_try(&p.remote, got[0]));
    assert_int_equal(free_notify_calls, 1);
    /* Two buffers back; the master takes them and finds nothing again:
     * another request (7 - 4 = 3), and the next free (index 3) notifies.
     * The master's allocs that succeed ask for nothing. */
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_try(&p.master, &buf, 4));
    assert_int_equal(WAKE_MASTER(), 1);
    void *bufs[4];
    uint16_t count = 0;
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 4, 4, &count));
    assert_int_equal(count, 1);
    count = 7;
    CHECK_ERR(esp_amp_queue_alloc_n(&p.master, bufs + 1, 4, 4, &count), ESP_ERR_NOT_FOUND);
    assert_int_equal(count, 0);
    assert_int_equal(WAKE_MASTER(), 7 - len);
    assert_int_equal(stat_full(&p.master), 2);
    /* free_n covering the requested index: one notify for the batch. */
    ampvq_posix_set_core(p.remote_core);
    void *rest[2] = {got[3], got[1]};
    CHECK_OK(esp_amp_queue_free_n(&p.remote, rest, 2));
    assert_int_equal(free_notify_calls, 2);
    assert_int_equal(stat_notify(&p.remote), 2);
    /* The master's send notify is independent (the remote asked only at
     * the start: the word is 0, so only message 0 notified). */
    assert_int_equal(notify_calls, 1);
}

static void test_evidx_free_notify_only_when_master_full_main_master(void **state)
{
    (void)state;
    free_notify_only_when_master_full(true);
}

static void test_evidx_free_notify_only_when_master_full_sub_master(void **state)
{
    (void)state;
    free_notify_only_when_master_full(false);
}

/* Without the flag: notify after every send call, free-notify after every
 * free call (once per batch), as the seed does. */
static void test_evidx_off_notifies_every_call(void **state)
{
    (void)state;
    unit_pair_t p;
    OPEN_PAIR_EX(&p, 8, 16, true, 0);
    for (uint32_t s = 0; s < 20; s++) {
        SEND_MSG(&p, s, 8);
        RECV_MSG(&p, s, 8);
        assert_int_equal(notify_calls, (int)s + 1);
        assert_int_equal(free_notify_calls, (int)s + 1);
    }
    void *bufs[8], *got[8];
    uint16_t sizes[8] = {8, 8, 8, 8, 8, 8, 8, 8}, count = 0;
    ampvq_posix_set_core(p.master_core);
    CHECK_OK(esp_amp_queue_alloc_n(&p.master, bufs, 8, 6, &count));
    CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, 6));
    assert_int_equal(notify_calls, 21);
    ampvq_posix_set_core(p.remote_core);
    CHECK_OK(esp_amp_queue_recv_n(&p.remote, got, sizes, 8, &count));
    assert_int_equal(count, 6);
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got, 4));
    CHECK_OK(esp_amp_queue_free_n(&p.remote, got + 4, 2));
    assert_int_equal(free_notify_calls, 22);
    assert_int_equal(stat_notify(&p.remote), 22);
    ampvq_posix_set_core(p.master_core);
    assert_int_equal(stat_notify(&p.master), 21);
}

/* Many laps with random batch sizes through a queue of 4: the wake words
 * follow the indices, and the counts match what a model of the rule
 * "notify iff the batch publishes the requested slot" predicts. Long enough
 * for the free-running indices to pass 2^16 (wrap of 16-bit quantities). */
static void test_evidx_many_laps_match_model(void **state)
{
    (void)state;
    unit_pair_t p;
    const uint32_t len = 4;
    OPEN_PAIR_EX(&p, (uint16_t)len, 16, false, ESP_AMP_QUEUE_F_EVENT_IDX);
    uint32_t rng = 0x2545f491u;
    uint32_t tail = 0, head = 0, freed = 0;
    uint32_t remote_wake = 0, master_wake = WAKE_NEVER;
    int want_notify = 0, want_free_notify = 0;
    void *bufs[4], *got[4];
    uint16_t sizes[4] = {4, 4, 4, 4}, count = 0;

    while (tail < 70000) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        uint16_t n = (uint16_t)(1 + rng % len);
        uint32_t pick = (rng >> 8) % 12;
        ampvq_posix_set_core(p.master_core);
        int err = pick < 9 ? esp_amp_queue_alloc_n(&p.master, bufs, 4, n, &count) : ESP_ERR_TIMEOUT;
        if (err == ESP_ERR_NOT_FOUND) {
            master_wake = tail - len; /* head == tail here: all sent */
        } else if (err != ESP_ERR_TIMEOUT) {
            CHECK_OK(err);
            CHECK_OK(esp_amp_queue_send_n(&p.master, bufs, sizes, count));
            want_notify += remote_wake - tail < count;
            tail += count;
        }
        assert_int_equal(WAKE_MASTER(), master_wake);
        assert_int_equal(notify_calls, want_notify);

        /* The remote skips a turn, takes one batch, or drains the queue
         * until it finds nothing (which asks for a wake-up). */
        ampvq_posix_set_core(p.remote_core);
        for (uint32_t turns = pick % 3 == 0 ? 0 : pick % 3 == 1 ? 1 : UINT32_MAX; turns != 0; turns--) {
            err = esp_amp_queue_recv_n(&p.remote, got, sizes, (uint16_t)(1 + (rng >> 4) % len), &count);
            if (err == ESP_ERR_NOT_FOUND) {
                remote_wake = head;
                break;
            }
            CHECK_OK(err);
            head += count;
            CHECK_OK(esp_amp_queue_free_n(&p.remote, got, count));
            want_free_notify += master_wake - freed < count;
            freed += count;
        }
        assert_int_equal(WAKE_REMOTE(), remote_wake);
        assert_int_equal(free_notify_calls, want_free_notify);
    }
    /* Both hooks ran, and far less often than once per message. */
    assert_true(want_notify > 100 && (uint32_t)want_notify < tail / 2);
    assert_true(want_free_notify > 100 && (uint32_t)want_free_notify < tail / 2);
    ampvq_posix_set_core(p.master_core);
    assert_int_equal(stat_notify(&p.master), (uint32_t)want_notify);
    ampvq_posix_set_core(p.remote_core);
    assert_int_equal(stat_notify(&p.remote), (uint32_t)want_free_notify);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
    const struct CMUnitTest tests[] = {
        T(test_evidx_init_flags_and_layout),
        T(test_evidx_set_free_notify_errors),
        T(test_evidx_notify_only_when_remote_asked_main_master),
        T(test_evidx_notify_only_when_remote_asked_sub_master),
        T(test_evidx_successful_claim_does_not_arm),
        T(test_evidx_batch_notifies_at_most_once),
        T(test_evidx_free_notify_only_when_master_full_main_master),
        T(test_evidx_free_notify_only_when_master_full_sub_master),
        T(test_evidx_off_notifies_every_call),
        T(test_evidx_many_laps_match_model),
    };
#undef T
    return cmocka_run_group_tests_name("evidx", tests, NULL, NULL);
}
