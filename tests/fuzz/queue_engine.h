/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The queue scenario engine behind fuzz_queue_master, fuzz_queue_remote and
 * fuzz_sub_init. Both ends of one queue are real ampvq handles in this one
 * thread (the calling thread switches core with ampvq_posix_set_core()):
 * the *local* side is the one under test (its calls may be torn or raced),
 * the other is the *peer*, which the input drives either through the API
 * (a well-behaved peer) or by writing descriptor bytes directly (a buggy or
 * hostile one). After every API call the engine checks the call's return
 * code, what it handed out, what it read and wrote in shared memory, and,
 * while the peer has only behaved, that the queue delivered exactly what
 * was sent, in order.
 */
#ifndef AMPVQ_FUZZ_QUEUE_ENGINE_H
#define AMPVQ_FUZZ_QUEUE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_amp_queue.h"
#include "fuzz_common.h"

/* A buffer the application holds, by slot number in its side's area. */
typedef struct {
    uint32_t slot;
    uint16_t len;
    uint32_t seq;
} fz_buf_t;

typedef struct {
    esp_amp_queue_t q;
    int core;    /* AMPVQ_CORE_MAIN / AMPVQ_CORE_SUB */
    bool master; /* role asked for at init */
    bool ready;  /* init returned ESP_OK */
    bool has_cb; /* init got a callback / notify function */
    /* Mirrors the core's private counter of buffers the application holds:
     * only this side's own successful calls change it, so it stays exact
     * whatever the peer writes. */
    uint32_t outstanding;
    fz_buf_t *held; /* the valid buffers the application holds */
    uint32_t nheld;
    uint64_t cb_calls;  /* notify (master) / callback (remote) runs */
    uint64_t fn_calls;  /* free-notify runs (remote, esp_amp_queue_set_free_notify) */
    bool free_notify;   /* remote: a free-notify function is installed */
    uint32_t intr_ids;  /* ids registered by esp_amp_queue_intr_enable() */
    uint32_t intr_regs; /* registrations made (the core has 32 per core) */
    /* Geometry the handle adopted (checked when adopted). */
    uint8_t *view;
    uint32_t desc_off, buf_off, n, item, stride;
    bool evt;                    /* event index: the handle has wake words */
    uint32_t wake_own, wake_peer; /* their region offsets (evt) */
    uint32_t ctl_own, ctl_peer;   /* control structs {wake, session}: region offsets */
    bool dead;                    /* sub core: a link check closed the handle */
    uint64_t prompts;             /* notify-function runs that were no publish (link prompts) */
    bool link_cb;                 /* esp_amp_queue_set_link_cb() installed a callback */
    uint64_t link_calls;          /* its runs */
    bool link_last_up;            /* the `up` of its last run */
    uint32_t resets, lost;        /* what stats must report for ring resets */
    /* What esp_amp_queue_stats() must report, counted from this side's own
     * calls since the handle was opened. */
    uint32_t taken, given, full, peer_err;
    uint64_t notify_base; /* cb_calls (master) / fn_calls (remote) at open */
    /* Untainted only: the last take found the queue empty (remote) or full
     * (master) and armed its wake word; the peer's next give must notify. */
    bool waiting;
} fz_side_t;

typedef struct {
    fz_in_t *in;
    fz_side_t side[2]; /* [AMPVQ_CORE_MAIN], [AMPVQ_CORE_SUB] */
    int local;         /* index of the side under test */
    bool tear, race;
    /* Compare the whole region before / after each data-path call (off
     * when tearing or racing changes memory during the call, or when the
     * region is large). */
    bool snap;
    /* The peer has done something the model cannot follow (raw writes,
     * torn or raced calls, a restart, a misused buffer): from here on only
     * the safety invariants are checked, not delivery. */
    bool tainted;
    bool hdr_dirty; /* the queue header was rewritten after init */
    bool no_intr;   /* a port interrupt thread runs the sub core's handlers */
    uint16_t qid;
    bool evt;                       /* created with ESP_AMP_QUEUE_F_EVENT_IDX */
    uint32_t block_off, block_size; /* the queue's block, as main_init made it */
    uint32_t ctl_off[2];            /* its control structs: [0] remote's, [1] master's */
    uint32_t ev_off[2];             /* the two event words (link events OR bits into them) */
    bool ev_ok[2];                  /* ... found in the directory, inside the region */
    /* During one call: the side calling and what it loaded. */
    fz_side_t *cur;
    bool own_wake_loaded, peer_wake_loaded, addr_len_loaded;
    uint32_t peer_wake_value;
    unsigned reloads;
    unsigned sess_loads;   /* loads of the peer's session word */
    unsigned rsess_loads;  /* loads of the region's session words */
    uint32_t sess_value;   /* the last peer session value loaded */
    uint8_t link_before;   /* the handle's link state when the call began */
    uint32_t resets_before, lost_before;
    /* Sent and not yet received, oldest first (valid while !tainted). */
    fz_buf_t *fifo;
    uint32_t fifo_head, fifo_count;
    uint32_t next_seq;
    fz_hook_cfg_t hooks;
} fz_engine_t;

/* Scenario parameters, decoded from the input by the target. */
typedef struct {
    bool dual;        /* main and sub cores see the block at different addresses */
    bool main_master; /* the main core's side is the master */
    bool local_main;  /* the side under test is the main core's */
    bool tear, race;
    bool master_cb, remote_cb;
    uint16_t queue_len, item_size, qid;
    uint16_t pre_size; /* a block allocated before the queue's (0: none) */
    bool pre_same_id;  /* ... under the queue's id (main_init must refuse) */
    int32_t slack;     /* region bytes beyond what the queue needs (may be < 0) */
    bool event_words;  /* the main core creates the two event words first */
    bool event_idx;    /* the queue is created with ESP_AMP_QUEUE_F_EVENT_IDX */
} fz_queue_params_t;

/* Decode the common scenario header from the input. */
void fz_queue_params(fz_in_t *in, fz_queue_params_t *p);

/* Open the region, let the main core create the queue with the checked
 * return code. Returns false when the input ends there (setup refused, as
 * it must be, for these parameters). */
bool fz_queue_create(fz_engine_t *e, fz_in_t *in, const fz_queue_params_t *p);

/* Open the sub core's side with esp_amp_queue_sub_init() and check it: the
 * documented codes, no store, a bounded number of loads and, when nothing
 * changed during the call, the reference's verdict and geometry. When
 * `exact` the header is as the main core wrote it: OK is required. With
 * `tear_in`, directory and header loads may be torn. Returns the code. */
int fz_queue_open_sub(fz_engine_t *e, bool exact, fz_in_t *tear_in);

/* Run the input's remaining bytes as operations. */
void fz_queue_run(fz_engine_t *e);

/* Undo per-input state (handlers, poison). */
void fz_queue_finish(fz_engine_t *e);

#endif /* AMPVQ_FUZZ_QUEUE_ENGINE_H */
