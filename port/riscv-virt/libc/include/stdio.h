/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * A tiny <stdio.h> for the riscv-virt port: formatted output to the 16550
 * UART and into buffers, nothing else (no FILE, no input). Conversions:
 * %d %i %u %x %X %o %c %s %p %%, flags '-' '0' '+' ' ' '#', width and
 * precision (digits or '*'), length modifiers hh h l ll z j t.
 *
 * One printf() call is one unit on the console: the two harts' output never
 * interleaves inside a call (a spinlock, taken with interrupts masked, so a
 * handler may print too).
 */
#ifndef AMPVQ_RISCV_LIBC_STDIO_H
#define AMPVQ_RISCV_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EOF (-1)

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
int putchar(int c);
int puts(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_RISCV_LIBC_STDIO_H */
