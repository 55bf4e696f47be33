/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What the two cores of the virtqueue example agree on.
 */
#ifndef EXAMPLE_VIRTQUEUE_H
#define EXAMPLE_VIRTQUEUE_H

#define SYS_INFO_ID_VQUEUE_EXAMPLE 0
#define SW_INTR_ID_VQUEUE_EXAMPLE  SW_INTR_ID_0

#define EVENT_SUBCORE_READY (1u << 0)
#define EVENT_SUBCORE_DONE  (1u << 1)

/* Messages the sub core sends; set with -DEXAMPLE_MSG_COUNT=N
 * (make demo DEMO_COUNT=N). */
#ifndef EXAMPLE_MSG_COUNT
#define EXAMPLE_MSG_COUNT 16
#endif

/* Pause between two sends, in microseconds. */
#ifndef EXAMPLE_SEND_INTERVAL_US
#define EXAMPLE_SEND_INTERVAL_US 1000
#endif

#define EXAMPLE_QUEUE_LEN       16
#define EXAMPLE_QUEUE_ITEM_SIZE 64
#define EXAMPLE_TIMEOUT_MS      10000

#endif /* EXAMPLE_VIRTQUEUE_H */
