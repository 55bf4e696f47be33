/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What the two sides of the riscv-virt queue stress agree on. The sub core
 * (master) sends STRESS_MSGS messages through a queue of STRESS_QUEUE_LEN
 * slots, so the ring wraps STRESS_MSGS / STRESS_QUEUE_LEN times; the main
 * core (remote) checks that each arrives once, in order and intact.
 *
 * Message: {seq, len, sum} then len - 12 payload bytes. len varies with seq
 * so short and full buffers alternate; sum is FNV-1a over seq, len and the
 * payload, computed by the sender and recomputed by the receiver.
 */
#ifndef AMPVQ_RISCV_TEST_STRESS_H
#define AMPVQ_RISCV_TEST_STRESS_H

#include <stdint.h>
#include <stdio.h>

#include "esp_amp_queue.h"

#ifndef STRESS_MSGS
#define STRESS_MSGS 1000000u
#endif
#ifndef STRESS_QUEUE_LEN
#define STRESS_QUEUE_LEN 4
#endif
/* 1: the main core receives in its software-interrupt handler; 0: both
 * sides poll and no interrupt is raised. */
#ifndef STRESS_INTERRUPT
#define STRESS_INTERRUPT 0
#endif

#define STRESS_ITEM_SIZE 64u
#define STRESS_HDR_SIZE  12u
#define STRESS_SYS_INFO  0x10
#define STRESS_SW_INTR   SW_INTR_ID_3
#define STRESS_EV_READY  (1u << 0)
#define STRESS_EV_DONE   (1u << 1)
#define STRESS_EV_FAILED (1u << 2)
/* A side that makes no progress for this long gives up. */
#define STRESS_STALL_MS 10000u
/* A side that finds nothing to do for this many tries in a row sleeps a
 * little (wfi) instead of spinning on: in QEMU that hands the host CPU to
 * the peer's thread, which a loaded host may otherwise not run for a whole
 * time slice. On an idle host the peer answers long before. */
#define STRESS_BACKOFF_SPINS 4096u
#define STRESS_BACKOFF_US    50u

typedef struct {
    uint32_t seq;
    uint32_t len; /* whole message, header included */
    uint32_t sum;
    uint8_t payload[STRESS_ITEM_SIZE - STRESS_HDR_SIZE];
} stress_msg_t;

/* Length of message `seq`: every value from the bare header to a full
 * buffer comes round (53 is prime to the range, so lengths cycle fully). */
static inline uint32_t stress_len(uint32_t seq)
{
    return STRESS_HDR_SIZE + (seq * 53u) % (STRESS_ITEM_SIZE - STRESS_HDR_SIZE + 1u);
}

static inline uint8_t stress_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31u + i * 7u + (seq >> 8));
}

static inline uint32_t stress_fnv(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h = (h ^ ((v >> (8 * i)) & 0xffu)) * 16777619u;
    }
    return h;
}

/* FNV-1a of seq, len and the payload as the buffer holds them. */
static inline uint32_t stress_sum(const stress_msg_t *m, uint32_t len)
{
    uint32_t h = stress_fnv(stress_fnv(2166136261u, m->seq), m->len);
    for (uint32_t i = 0; i + STRESS_HDR_SIZE < len; i++) {
        h = (h ^ m->payload[i]) * 16777619u;
    }
    return h;
}

/* On failure: this side's indices and the shared descriptors as it sees
 * them, to tell a protocol error from a stalled side. */
static inline void stress_dump(const char *who, const esp_amp_queue_t *q)
{
    printf("%s: head %u tail %u (free-running) held %u\n", who, (unsigned)q->head, (unsigned)q->tail,
           (unsigned)(q->head - q->tail));
    for (uint32_t i = 0; i < q->size; i++) {
        const esp_amp_queue_desc_t *d = (const esp_amp_queue_desc_t *)(const void *)(q->desc + (i << q->desc_shift));
        printf("%s:   desc %u: addr 0x%05x len %2u flags 0x%04x\n", who, (unsigned)i,
               (unsigned)__atomic_load_n(&d->addr, __ATOMIC_RELAXED),
               (unsigned)__atomic_load_n(&d->len, __ATOMIC_RELAXED),
               (unsigned)__atomic_load_n(&d->flags, __ATOMIC_ACQUIRE));
    }
}

#endif /* AMPVQ_RISCV_TEST_STRESS_H */
