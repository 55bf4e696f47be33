/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Spin model of the ampvq packed-virtqueue flag protocol (DESIGN.md section
 * 3, src/queue.c). docs/model.md maps every step below, tagged with a
 * "step NAME" comment on the line where it starts, to the lines of
 * src/queue.c it stands for; run_model.sh --check-map checks they agree.
 *
 * Two processes, master and remote, share N descriptors and N buffers. Each
 * descriptor field (addr, len, flags) is its own shared variable and each
 * access to one of them is its own Spin step, so the order of the writes is
 * visible to the peer. Spin interleaves steps with sequential consistency;
 * the C code gets the same guarantee only from its release store of flags
 * (writes before it stay before it) and acquire load of flags (reads after
 * it stay after it), so the model keeps exactly that program order and no
 * more. The BROKEN_* variants move a write or read across the flag access, or
 * break a flag rule, and must produce an error trail.
 *
 * Configuration (spin -D...):
 *   N=1..4                   slots (= buffers); default 2
 *   M=<count>                messages the master sends; default 2N+1, i.e.
 *                            every index passes the last slot at least twice
 *   OBSERVABLE_ONLY          drop the ghost-ownership assertions and keep
 *                            only what the applications can see (message
 *                            order, len, payload, end state): shows each bug
 *                            has a visible consequence, not just a ghost one
 *   NO_OUTSTANDING_CHECK     drop the `outstanding >= size` guards of
 *                            alloc_try/recv_try: shows the flags alone give
 *                            back-pressure
 *   REMOTE_IGNORE_USED       remote tests only AVAIL (a redundancy probe,
 *                            expected to pass; see docs/model.md)
 *   MASTER_IGNORE_AVAIL      master tests only USED (likewise)
 *   BROKEN_RELEASE_ORDER     send stores flags before writing addr and len
 *   BROKEN_ACQUIRE_ORDER     recv reads addr and len before loading flags
 *   BROKEN_FREE_ORDER        free stores flags before writing addr
 *   BROKEN_NO_FLIP_MASTER_HEAD / _MASTER_TAIL / _REMOTE_HEAD / _REMOTE_TAIL
 *                            that index's wrap counter is never flipped
 *   BROKEN_MASTER_IGNORE_USED    alloc's free test looks at AVAIL only
 *   BROKEN_REMOTE_IGNORE_AVAIL   recv's available test looks at USED only
 *   REACH=1..4               reachability probes: assert that an interesting
 *                            situation never happens, so Spin must refute
 *                            it (the model is not vacuous): 1 the master
 *                            chooses among several held buffers to send,
 *                            2 the remote among several to free, 3 the last
 *                            message is received after two wraps, 4 alloc
 *                            is refused with every buffer out (back-pressure)
 */

#ifndef N
#define N 2
#endif
#if N < 1 || N > 4
#error "N must be 1..4 (PICK below lists at most four buffers)"
#endif
#ifndef REACH
#define REACH 0
#endif
#ifndef M
#define M (2 * N + 1)
#endif

/* Flag bits, renumbered: bit 7 (AVAIL) and bit 15 (USED) of the C code
 * become bits 0 and 1. Only equality and single-bit tests are used, so the
 * positions do not matter. */
#define AVAIL 1
#define USED  2
#define BOTH  3

/* The same encodings as queue.c FLAGS_*. For counter c: free = both bits
 * != c, available = AVAIL == c and USED != c. init checks these against
 * DESIGN.md's wording. */
#define FLAGS_FREE(c)      ((c) -> 0 : BOTH)
#define FLAGS_AVAILABLE(c) ((c) -> AVAIL : USED)
#define FLAGS_SENT(c)      FLAGS_AVAILABLE(c)
#define FLAGS_FREED(c)     FLAGS_FREE(1 - (c))

#define BIT_AVAIL(f) (((f) & AVAIL) != 0)
#define BIT_USED(f)  (((f) & USED) != 0)

/* The tests in esp_amp_queue_alloc_try() and esp_amp_queue_recv_try(). */
#if defined(BROKEN_MASTER_IGNORE_USED)
#define MASTER_SEES_FREE(f, c) (BIT_AVAIL(f) != (c))
#elif defined(MASTER_IGNORE_AVAIL)
#define MASTER_SEES_FREE(f, c) (BIT_USED(f) != (c))
#else
#define MASTER_SEES_FREE(f, c) (((f) & BOTH) == FLAGS_FREE(c))
#endif

#if defined(BROKEN_REMOTE_IGNORE_AVAIL)
#define REMOTE_SEES_AVAILABLE(f, c) (BIT_USED(f) != (c))
#elif defined(REMOTE_IGNORE_USED)
#define REMOTE_SEES_AVAILABLE(f, c) (BIT_AVAIL(f) == (c))
#else
#define REMOTE_SEES_AVAILABLE(f, c) (((f) & BOTH) == FLAGS_AVAILABLE(c))
#endif

/* The `outstanding >= size` early returns of alloc_try and recv_try. */
#ifdef NO_OUTSTANDING_CHECK
#define ROOM(out) true
#else
#define ROOM(out) ((out) < N)
#endif

/* Ghost assertions talk about who owns what, which no application can see;
 * OBSERVABLE_ONLY compiles them out to show the visible checks suffice. */
#ifdef OBSERVABLE_ONLY
#define GHOST_ASSERT(x) skip
#else
#define GHOST_ASSERT(x) assert(x)
#endif

/* ---- shared memory: the descriptor table and the buffers ---- */
byte d_addr[N];   /* buffer number a slot names (the C code's offset) */
byte d_len[N];    /* len; the master writes the message number into it */
byte d_flags[N];  /* AVAIL | USED */
byte payload[N];  /* buffer contents: message number + 1, 0 = none */

/* ---- ghost state: ownership, for the assertions only ---- */
/* Per buffer. B_RING: in a descriptor the master may alloc from (returned,
 * or never used). */
#define B_RING   0
#define B_MHELD  1   /* master application holds it (alloc'd, not sent) */
#define B_FLIGHT 2   /* sent, not yet received */
#define B_RHELD  3   /* remote application holds it (received, not freed) */
byte own[N];

/* Per slot: which side's index logically owns the descriptor. */
#define S_FREE    0  /* free for the master's alloc (flags show free) */
#define S_MCLAIM  1  /* alloc took it; the master's send will fill it */
#define S_AVAIL   2  /* published by send; the remote's recv may take it */
#define S_RCLAIM  3  /* recv took it; the remote's free will fill it */
byte sown[N];

/* Buffer sent as message k, kept until message k is received (indexed k mod
 * N: at most N messages are in flight, so entries never collide). */
byte sent_buf[N];

/* The wrap-counter flips, each removable to make a broken variant. */
#ifdef BROKEN_NO_FLIP_MASTER_HEAD
#define FLIP_MH 0
#else
#define FLIP_MH 1
#endif
#ifdef BROKEN_NO_FLIP_MASTER_TAIL
#define FLIP_MT 0
#else
#define FLIP_MT 1
#endif
#ifdef BROKEN_NO_FLIP_REMOTE_HEAD
#define FLIP_RH 0
#else
#define FLIP_RH 1
#endif
#ifdef BROKEN_NO_FLIP_REMOTE_TAIL
#define FLIP_RT 0
#else
#define FLIP_RT 1
#endif

/* queue.c advance(): flip the counter when the index passes
 * the last slot. */
inline advance(idx, wrap, flip)
{
    idx = idx + 1;
    if
    :: idx == N -> idx = 0; if :: flip -> wrap = 1 - wrap :: else -> skip fi
    :: else -> skip
    fi
}

/* Nondeterministic choice of a buffer i for which HOLDS(i): the
 * applications send and free in any order, not the order they got the
 * buffers. HOLDS is what that application knows it holds (its own
 * bookkeeping, not the ghost own[]), so a ghost-free model still runs. */
#if N > 1
#define PICK1(b, HOLDS) :: HOLDS(1) -> b = 1
#else
#define PICK1(b, HOLDS)
#endif
#if N > 2
#define PICK2(b, HOLDS) :: HOLDS(2) -> b = 2
#else
#define PICK2(b, HOLDS)
#endif
#if N > 3
#define PICK3(b, HOLDS) :: HOLDS(3) -> b = 3
#else
#define PICK3(b, HOLDS)
#endif
#define PICK(b, HOLDS) \
    if :: HOLDS(0) -> b = 0 PICK1(b, HOLDS) PICK2(b, HOLDS) PICK3(b, HOLDS) fi
#define M_HOLDS(i) (((mheld >> (i)) & 1) != 0)
#define R_HOLDS(i) (got[i] != 0)

/* Reachability probe: `assert(!(cond))` only in configuration REACH == k. */
#define PROBE(k, cond) if :: REACH == k -> assert(!(cond)) :: else -> skip fi

/*
 * Master: allocates, fills and sends M messages (sending its held buffers
 * in any order), then allocates all N buffers once more: that drain succeeds
 * only if every buffer came back through the ring with the right flags.
 * Every guard below is the condition under which the C call succeeds; a
 * failed *_try changes no state, so "keeps calling" is the same as "blocks
 * until the call can succeed", and a state where neither side can go on
 * before both have finished is a deadlock (Spin: invalid end state).
 */
proctype master()
{
    byte head = 0, tail = 0, out = 0, nalloc = 0, seq = 0;
    bit hwrap = 1, twrap = 1;
    byte b = 0, slot = 0;
    byte mheld = 0;   /* bit i: the application holds buffer i */

m_loop:
    do
    /* alloc_try: the outstanding check and the acquire load of flags. The
     * model's bound lets the master alloc for M messages, then N more (the
     * drain) once all M are sent. */
    :: d_step { /* step m_alloc_acquire */
           (nalloc < M || (seq == M && nalloc < M + N)) && ROOM(out) &&
           MASTER_SEES_FREE(d_flags[head], hwrap) ->
           printf("master alloc_try: load flags[%d] = %d: free for c = %d\n",
                  head, d_flags[head], hwrap);
           GHOST_ASSERT(sown[head] == S_FREE);
           sown[head] = S_MCLAIM;
           slot = head
       };
       /* The addr read after the flag load, advance, outstanding++. The
        * buffer must be one nobody holds: back-pressure, not overwrite. */
       d_step { /* step m_alloc_read_addr */
           b = d_addr[slot];
           printf("master alloc_try: read addr[%d] = %d: gets buffer %d\n", slot, b, b);
           advance(head, hwrap, FLIP_MH);
           assert(b < N);   /* never INVALID_RESPONSE from a correct peer */
           assert(!M_HOLDS(b));   /* the application would see this */
           GHOST_ASSERT(own[b] == B_RING);
           own[b] = B_MHELD;
           mheld = mheld | (1 << b);
           out++;
           nalloc++;
           b = 0; slot = 0
       }

    /* send_try of any buffer the master holds: the application has filled
     * it; then addr, len, and last the release store of flags. */
    :: atomic { /* step m_send_fill */
           out > 0 && seq < M ->
           PROBE(1, out > 1);
           PICK(b, M_HOLDS);
           printf("master: message %d in buffer %d\n", seq, b);
           payload[b] = seq + 1
       };
#ifdef BROKEN_RELEASE_ORDER
       d_step { /* step m_send_release */
           printf("master send_try: store flags[%d] = %d (release, too early)\n",
                  tail, FLAGS_SENT(twrap));
           d_flags[tail] = FLAGS_SENT(twrap)
       };
#endif
       d_step { /* step m_send_addr */
           printf("master send_try: write addr[%d] = %d\n", tail, b);
           GHOST_ASSERT(sown[tail] == S_MCLAIM);
           d_addr[tail] = b
       };
       d_step { /* step m_send_len */
           printf("master send_try: write len[%d] = %d\n", tail, seq);
           GHOST_ASSERT(sown[tail] == S_MCLAIM);
           d_len[tail] = seq
       };
#ifndef BROKEN_RELEASE_ORDER
       d_step { /* step m_send_release */
           printf("master send_try: store flags[%d] = %d (release)\n",
                  tail, FLAGS_SENT(twrap));
           d_flags[tail] = FLAGS_SENT(twrap);
#else
       d_step { /* step m_send_done */
#endif
           GHOST_ASSERT(sown[tail] == S_MCLAIM);
           sown[tail] = S_AVAIL;
           own[b] = B_FLIGHT;
           mheld = mheld & ~(1 << b);
           sent_buf[seq % N] = b;
           advance(tail, twrap, FLIP_MT);
           out--;
           seq++;
           b = 0
       }

#if REACH == 4
    /* alloc_try would return ESP_ERR_NOT_FOUND while the application wants
     * a buffer, and indeed every buffer is out of the ring. (`i % N` keeps
     * the index in range where N < 4; the N test already decided.) */
    :: atomic {
           nalloc < M &&
           !(ROOM(out) && MASTER_SEES_FREE(d_flags[head], hwrap)) &&
           own[0] != B_RING && (N < 2 || own[1 % N] != B_RING) &&
           (N < 3 || own[2 % N] != B_RING) && (N < 4 || own[3 % N] != B_RING) ->
           assert(false)
       }
#endif

    :: nalloc == M + N -> break
    od;

    /* Valid end: every message sent, and the drain got all N buffers back,
     * each once. */
    assert(seq == M && out == N && mheld == (1 << N) - 1)
}

/*
 * Remote: receives until it has M messages and frees its held buffers in
 * any order (each into the next slot of its free index, whichever buffer).
 */
proctype remote()
{
    byte head = 0, tail = 0, out = 0, seq = 0;
    bit hwrap = 1, twrap = 1;
    byte a = 0, l = 0, b = 0, slot = 0;
    byte got[N];   /* what the application received in each buffer */

r_loop:
    do
#ifdef BROKEN_ACQUIRE_ORDER
    /* addr and len read before the flag load: a stale copy. The outstanding
     * check comes first, as in the C code, so that a remote holding every
     * buffer frees instead of waiting here. */
    :: d_step {
           seq < M && ROOM(out) -> a = d_addr[head];
           printf("remote recv_try: read addr[%d] = %d (too early)\n", head, a)
       };
       d_step {
           l = d_len[head];
           printf("remote recv_try: read len[%d] = %d (too early)\n", head, l)
       };
       d_step { /* step r_recv_acquire */
#else
    /* recv_try: the outstanding check and the acquire load of flags. */
    :: d_step { /* step r_recv_acquire */
#endif
           seq < M && ROOM(out) && REMOTE_SEES_AVAILABLE(d_flags[head], hwrap) ->
           printf("remote recv_try: load flags[%d] = %d: available for c = %d\n",
                  head, d_flags[head], hwrap);
           GHOST_ASSERT(sown[head] == S_AVAIL);
           sown[head] = S_RCLAIM;
           slot = head
       };
#ifndef BROKEN_ACQUIRE_ORDER
       d_step { /* step r_recv_read_addr */
           a = d_addr[slot];
           printf("remote recv_try: read addr[%d] = %d\n", slot, a)
       };
#endif
       d_step { /* step r_recv_read_len */
#ifndef BROKEN_ACQUIRE_ORDER
           l = d_len[slot];
           printf("remote recv_try: read len[%d] = %d\n", slot, l);
#endif
           printf("remote: expects message %d in buffer %d; got len %d, buffer %d holding message %d (-1: none)\n",
                  seq, sent_buf[seq % N], l, a, payload[a] - 1);
           PROBE(3, seq == 2 * N && hwrap == 1);   /* head wrapped twice */
           advance(head, hwrap, FLIP_RH);
           assert(a < N);   /* never INVALID_RESPONSE from a correct peer */
           /* In order, exactly once: message `seq`, in the buffer it was
            * sent in, with its len and payload. */
           assert(l == seq);
           assert(payload[a] == seq + 1);
           assert(a == sent_buf[seq % N]);
           GHOST_ASSERT(own[a] == B_FLIGHT);
           own[a] = B_RHELD;
           got[a] = seq + 1;
           sent_buf[seq % N] = 0;
           out++;
           seq++;
           a = 0; l = 0; slot = 0
       }

    /* free_try of any held buffer: addr, then the release store of flags. */
    :: atomic { /* step r_free_addr */
           out > 0 ->
           PROBE(2, out > 1);
           PICK(b, R_HOLDS);
           printf("remote free_try: buffer %d into slot %d\n", b, tail);
           /* The buffer still holds what was received: nobody wrote it
            * while the remote owned it. */
           assert(payload[b] == got[b]);
#ifdef BROKEN_FREE_ORDER
           printf("remote free_try: store flags[%d] = %d (release, too early)\n",
                  tail, FLAGS_FREED(twrap));
           d_flags[tail] = FLAGS_FREED(twrap)
       };
       d_step {
#else
           GHOST_ASSERT(sown[tail] == S_RCLAIM);
#endif
           printf("remote free_try: write addr[%d] = %d\n", tail, b);
           d_addr[tail] = b
       };
#ifdef BROKEN_FREE_ORDER
       d_step { /* step r_free_done */
#else
       d_step { /* step r_free_release */
           printf("remote free_try: store flags[%d] = %d (release)\n",
                  tail, FLAGS_FREED(twrap));
           d_flags[tail] = FLAGS_FREED(twrap);
#endif
           GHOST_ASSERT(sown[tail] == S_RCLAIM);
           sown[tail] = S_FREE;
           own[b] = B_RING;
           got[b] = 0;
           /* The remote may write into what it owns; clearing the dead
            * contents also keeps them out of the state space. */
           payload[b] = 0;
           advance(tail, twrap, FLIP_RT);
           out--;
           b = 0
       }

    :: seq == M && out == 0 -> break
    od
}

/*
 * Invariant, checked in every reachable state: whenever a side is between
 * calls, its flag test at its head index says "yes" exactly when the slot
 * really is free (master) or available (remote). So a failed try is true
 * back-pressure or a truly empty queue, never a spurious refusal. The
 * watcher can only step to a violated assertion; blocked at an end label it
 * does not hide deadlocks.
 */
#define MASTER_VIEW_OK \
    ((ROOM(master[1]:out) && \
      MASTER_SEES_FREE(d_flags[master[1]:head], master[1]:hwrap)) == \
     (sown[master[1]:head] == S_FREE))
#define REMOTE_VIEW_OK \
    ((ROOM(remote[2]:out) && \
      REMOTE_SEES_AVAILABLE(d_flags[remote[2]:head], remote[2]:hwrap)) == \
     (sown[remote[2]:head] == S_AVAIL))

proctype watch()
{
#ifndef OBSERVABLE_ONLY
end_watch:
    atomic {
        (master[1]@m_loop && !MASTER_VIEW_OK) ||
        (remote[2]@r_loop && !REMOTE_VIEW_OK) ->
        printf("watch: a flag test disagrees with who owns the slot\n");
        assert(false)
    }
#else
    skip   /* ghost check: nothing to watch */
#endif
}

/* Initial shared state (queue.c esp_amp_queue_main_init():
 * flags 0, slot i lends buffer i) and a check that the C encodings say what
 * DESIGN.md says; then the two sides start. In C the main core publishes the
 * block with a release store before the sub core can open it, so no side
 * ever sees a half-initialised table. */
init
{
    d_step {
        byte i = 0;
        do
        :: i < N -> d_addr[i] = i; i++
        :: else -> break
        od;
        byte c = 0;
        do
        :: c < 2 ->
           /* free for the master: AVAIL != c and USED != c */
           assert(BIT_AVAIL(FLAGS_FREE(c)) != c && BIT_USED(FLAGS_FREE(c)) != c);
           /* available to the remote: AVAIL == c and USED != c */
           assert(BIT_AVAIL(FLAGS_AVAILABLE(c)) == c && BIT_USED(FLAGS_AVAILABLE(c)) != c);
           /* send sets AVAIL to c, USED stays !c: free(c) becomes available(c) */
           assert(FLAGS_SENT(c) == (FLAGS_FREE(c) ^ AVAIL));
           /* free sets USED to c, AVAIL stays c: both c, which is free(!c) */
           assert(FLAGS_FREED(c) == (FLAGS_AVAILABLE(c) ^ USED));
           assert(FLAGS_FREED(c) == FLAGS_FREE(1 - c));
           c++
        :: else -> break
        od;
        /* all flags start 0, which is free for a counter of 1 */
        assert(FLAGS_FREE(1) == 0);
        i = 0; c = 0
    };
    /* pids 1, 2, 3: the watcher's remote references rely on them. */
    atomic { run master(); run remote(); run watch() }
}
