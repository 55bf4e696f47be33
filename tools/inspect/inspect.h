/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The checker behind ampvq-inspect, as a function so that tests can run it
 * on many mutated images in one process (tests/inspect).
 */
#ifndef AMPVQ_INSPECT_H
#define AMPVQ_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    /** Applications send or free buffers out of order: a buffer named by two
     *  slots is then legal (see docs/inspect.md) and reported as a NOTE. */
    bool reorder;
} ampvq_inspect_opts_t;

/**
 * Print the region in `img` (`n` bytes, shared-memory offset 0 at img[0])
 * to `out`, then one VIOLATION: line per broken invariant. Reads nothing
 * outside img[0..n). @return the number of violations (0: consistent), or
 * -1 if memory ran out.
 */
long ampvq_inspect(const uint8_t *img, size_t n, FILE *out, const ampvq_inspect_opts_t *opts);

#endif /* AMPVQ_INSPECT_H */
