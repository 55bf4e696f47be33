/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The <string.h> functions the examples, the core (through GCC's
 * __builtin_memset) and GCC itself need on the riscv-virt port. Built with -fno-tree-loop-distribute-patterns (port.cmake):
 * otherwise GCC recognises the loops below as memset/memcpy and turns them
 * into calls to themselves.
 *
 * memcpy and memset move whole words when both ends allow it: the core
 * zeroes each sys_info block and queue handle with memset, and the stress
 * firmware copies payloads.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WORD sizeof(uint32_t)

/* A word that may alias any object: these functions copy bytes of every type. */
typedef uint32_t __attribute__((may_alias)) word_t;

static int aligned(const void *p)
{
    return ((uintptr_t)p & (WORD - 1u)) == 0;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    if (aligned(d) && aligned(s)) {
        for (; n >= WORD; n -= WORD, d += WORD, s += WORD) {
            *(word_t *)(void *)d = *(const word_t *)(const void *)s;
        }
    }
    while (n-- > 0) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    if (d == s || n == 0) {
        return dst;
    }
    /* Copy forwards unless the destination starts inside the source. */
    if ((uintptr_t)d - (uintptr_t)s >= n) {
        while (n-- > 0) {
            *d++ = *s++;
        }
    } else {
        while (n-- > 0) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    uint8_t b = (uint8_t)c;

    if (aligned(d)) {
        uint32_t w = b * 0x01010101u;
        for (; n >= WORD; n -= WORD, d += WORD) {
            *(word_t *)(void *)d = w;
        }
    }
    while (n-- > 0) {
        *d++ = b;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a;
    const uint8_t *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, SIZE_MAX);
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i];
        unsigned char y = (unsigned char)b[i];
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (x == '\0') {
            return 0;
        }
    }
    return 0;
}
