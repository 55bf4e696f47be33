/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Peer-restart test (tests/stress/restart_main.c, restart_sub.c): what the
 * two processes agree on.
 *
 *   data queue  main core master -> sub core remote: message `seq`
 *   ack queue   sub core master  -> main core remote: "I received seq"
 *
 * The main core kills the sub-core process at random moments, mid-stream,
 * and starts a new one, while it keeps sending. Every acknowledged message
 * must have been delivered exactly once; the rest are counted lost.
 */
#ifndef AMPVQ_TEST_RESTART_H
#define AMPVQ_TEST_RESTART_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RESTART_ID_DATA 0x0140
#define RESTART_ID_ACK  0x0141
#define RESTART_LEN     16
#define RESTART_ITEM    64
#define RESTART_QUIT    0xffffffffu

static inline uint8_t restart_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 151u + i * 13u + 5u);
}

/* Message `seq`: the number, then bytes that depend on it and the position,
 * so a stale or foreign buffer does not pass restart_check(). */
static inline void restart_fill(uint8_t *b, uint32_t seq)
{
    memcpy(b, &seq, sizeof(seq));
    for (uint32_t i = sizeof(seq); i < RESTART_ITEM; i++) {
        b[i] = restart_byte(seq, i);
    }
}

static inline bool restart_check(const uint8_t *b, uint16_t len, uint32_t *seq)
{
    if (len != RESTART_ITEM) {
        return false;
    }
    memcpy(seq, b, sizeof(*seq));
    for (uint32_t i = sizeof(*seq); i < RESTART_ITEM; i++) {
        if (b[i] != restart_byte(*seq, i)) {
            return false;
        }
    }
    return true;
}

#endif /* AMPVQ_TEST_RESTART_H */
