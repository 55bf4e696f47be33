/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ampvq-inspect [--base-offset N] [--reorder] IMAGE
 *
 * Reads a raw image of shared memory and prints what is in it and every
 * invariant that does not hold (docs/inspect.md). Exit status: 0 consistent,
 * 1 violations found, 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

/* Offsets in the layout are 32-bit: nothing past 4 GiB from the base can
 * be named, so nothing past it is read. */
#define IMAGE_MAX ((unsigned long long)UINT32_MAX + 1ull)

static void usage(FILE *f)
{
    fprintf(f, "usage: ampvq-inspect [--base-offset N] [--reorder] IMAGE\n"
               "  IMAGE            raw bytes of shared memory (offset 0 = region header)\n"
               "  --base-offset N  the region starts N bytes into IMAGE (decimal or 0x hex)\n"
               "  --reorder        applications send or free out of order: a buffer named\n"
               "                   by two slots is a NOTE, not a VIOLATION\n"
               "exit status: 0 consistent, 1 violations found, 2 usage or I/O error\n");
}

static int parse_u64(const char *s, unsigned long long *v)
{
    char *end;
    if (*s == '\0' || *s == '-') {
        return -1;
    }
    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Whole file from `skip` on, at most IMAGE_MAX bytes. Works on pipes too. */
static int read_image(const char *path, unsigned long long skip, uint8_t **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ampvq-inspect: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    unsigned long long pos = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t grow = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, grow);
            if (b == NULL) {
                fprintf(stderr, "ampvq-inspect: out of memory\n");
                rc = -1;
                break;
            }
            buf = b;
            cap = grow;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "ampvq-inspect: %s: read error\n", path);
                rc = -1;
            }
            break;
        }
        /* Drop what lies before the base as it arrives. */
        if (pos < skip) {
            unsigned long long drop = skip - pos < got ? skip - pos : got;
            memmove(buf + len, buf + len + drop, got - (size_t)drop);
            got -= (size_t)drop;
            pos += drop;
        }
        len += got;
        if (len >= IMAGE_MAX) {
            len = (size_t)IMAGE_MAX;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && pos < skip) {
        fprintf(stderr, "ampvq-inspect: %s: --base-offset %llu is beyond the end of the file\n", path, skip);
        rc = -1;
    }
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *n = len;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long base = 0;
    ampvq_inspect_opts_t opts = {.reorder = false};
    const char *path = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--base-offset") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], &base) != 0) {
                fprintf(stderr, "ampvq-inspect: bad --base-offset '%s'\n", argv[i]);
                return 2;
            }
        } else if (strncmp(argv[i], "--base-offset=", 14) == 0) {
            if (parse_u64(argv[i] + 14, &base) != 0) {
                fprintf(stderr, "ampvq-inspect: bad --base-offset '%s'\n", argv[i] + 14);
                return 2;
            }
        } else if (strcmp(argv[i], "--reorder") == 0) {
            opts.reorder = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ampvq-inspect: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    uint8_t *img;
    size_t n;
    if (read_image(path, base, &img, &n) != 0) {
        return 2;
    }
    long v = ampvq_inspect(img, n, stdout, &opts);
    free(img);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ampvq-inspect: write error\n");
        return 2;
    }
    if (v < 0) {
        fprintf(stderr, "ampvq-inspect: out of memory\n");
        return 2;
    }
    return v == 0 ? 0 : 1;
}
