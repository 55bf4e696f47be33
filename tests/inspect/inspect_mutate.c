/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * inspect_mutate IMAGE N: runs the ampvq-inspect checker on N damaged
 * copies of IMAGE (random bytes and boundary values written over the
 * headers, directory and descriptors, offsets moved a few bytes so that
 * areas such as the control words overlap or share a cache line, and random
 * truncations). The checker
 * must return normally every time; in the sanitizer build any read outside
 * the copy (each is its own exactly-sized heap block) aborts the test.
 * Seeded, so a failure repeats: the seed and iteration are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

/* Headers, directory and the descriptor tables sit in the first few KiB. */
#define HOT_BYTES 8192u
/* The region and queue headers of the test images: the first KiB. */
#define HEADER_BYTES 1024u

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    /* xorshift64*: plenty for picking bytes. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void mutate(uint8_t *p, size_t n, size_t good_n)
{
    static const uint32_t edges[] = {0,          1,           3,           4,           7,          8,
                                     24,         32,          0x7fff,      0x8000,      0xffff,     0x10000,
                                     0x7fffffff, 0x80000000u, 0xfffffff0u, 0xfffffffcu, 0xffffffffu};
    uint32_t hot = (uint32_t)(n < HOT_BYTES ? n : HOT_BYTES);
    uint32_t edits = 1 + rnd() % 6;
    for (uint32_t i = 0; i < edits && hot >= 4; i++) {
        uint32_t at = rnd() % (hot - 3);
        switch (rnd() % 5) {
        case 0:
            p[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:
            p[at] = (uint8_t)rnd();
            break;
        case 2:
            put32(p + (at & ~3u), edges[rnd() % (sizeof(edges) / sizeof(edges[0]))]);
            break;
        case 3:
            /* An offset or size that points just past the end. */
            put32(p + (at & ~3u), (uint32_t)good_n - (rnd() % 16));
            break;
        default: {
            /* A word (an offset, typically ctl_off, desc_off, buf_off) set
             * to another word of the headers moved by -64..+64 bytes. */
            uint32_t near = hot < HEADER_BYTES ? hot - 3 : HEADER_BYTES - 3;
            uint32_t to = rnd() % near, from = rnd() % near;
            put32(p + (to & ~3u), get32(p + (from & ~3u)) + (rnd() % 129u) - 64u);
            break;
        }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: inspect_mutate IMAGE N\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    static uint8_t good[1u << 20];
    size_t good_n = fread(good, 1, sizeof(good), f);
    fclose(f);
    long iters = strtol(argv[2], NULL, 0);
    FILE *null = fopen("/dev/null", "w");
    if (null == NULL || good_n == 0) {
        return 2;
    }
    ampvq_inspect_opts_t opts = {.reorder = false};
    long with_violations = 0;
    for (long it = 0; it < iters; it++) {
        size_t n = good_n;
        if (rnd() % 4 == 0) {
            n = rnd() % (HOT_BYTES + 1);
            n = n < good_n ? n : good_n;
        }
        uint8_t *img = malloc(n ? n : 1);
        if (img == NULL) {
            return 2;
        }
        memcpy(img, good, n);
        mutate(img, n, good_n);
        opts.reorder = (it & 1) != 0;
        long v = ampvq_inspect(img, n, null, &opts);
        free(img);
        if (v < 0) {
            fprintf(stderr, "iteration %ld: checker failed\n", it);
            return 1;
        }
        with_violations += v > 0;
    }
    fclose(null);
    /* The untouched image must still be clean: the mutations above would
     * prove nothing if every image were rejected for one global reason. */
    long v = ampvq_inspect(good, good_n, stdout, &opts);
    printf("%ld of %ld damaged images had violations; the original has %ld\n", with_violations, iters, v);
    return v == 0 ? 0 : 1;
}
