/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The part of <string.h> that applications (the examples) use, for the
 * riscv-virt port: the Debian bare-metal RISC-V toolchain has no libc, and a
 * freestanding C11 compiler only promises the headers without functions.
 * GCC also emits calls to memcpy/memset/memmove/memcmp on its own (struct
 * copies, the core's __builtin_memset), so every firmware needs these four
 * whether it calls them or not.
 */
#ifndef AMPVQ_RISCV_LIBC_STRING_H
#define AMPVQ_RISCV_LIBC_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_RISCV_LIBC_STRING_H */
