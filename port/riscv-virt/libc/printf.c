/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Formatted output for the riscv-virt port (see libc/include/stdio.h for
 * what is supported). One formatter writes through a sink, so printf()
 * streams to the UART with no line-length limit and snprintf() shares every
 * rule with it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../riscv_virt_priv.h"

typedef struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;    /* snprintf: destination */
    size_t size;  /* snprintf: capacity including the NUL */
    size_t count; /* characters produced so far (also past `size`) */
} sink_t;

typedef struct {
    bool left;  /* '-' */
    bool zero;  /* '0' */
    bool plus;  /* '+' */
    bool space; /* ' ' */
    bool alt;   /* '#' */
    int width;
    int prec; /* -1: none */
} spec_t;

static void out(sink_t *s, char c)
{
    s->put(s, c);
    s->count++;
}

static void pad(sink_t *s, char c, int n)
{
    while (n-- > 0) {
        out(s, c);
    }
}

static void put_uart(sink_t *s, char c)
{
    (void)s;
    ampvq_riscv_console_putc(c);
}

static void put_buf(sink_t *s, char c)
{
    if (s->count + 1u < s->size) {
        s->buf[s->count] = c;
    }
}

/* Digits of v in `base`, least significant first, into tmp; returns the
 * count. 32-bit values take the 32-bit path: no libgcc call for %d/%u/%x. */
static int digits(char *tmp, unsigned long long v, unsigned base, bool upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;

    if (v <= UINT32_MAX) {
        uint32_t w = (uint32_t)v;
        do {
            tmp[n++] = set[w % base];
            w /= base;
        } while (w != 0);
        return n;
    }
    do {
        tmp[n++] = set[v % base];
        v /= base;
    } while (v != 0);
    return n;
}

static void put_int(sink_t *s, const spec_t *sp, unsigned long long mag, bool neg, unsigned base, bool upper,
                    bool is_ptr)
{
    char tmp[24]; /* 2^64 in octal is 22 digits */
    int nd = 0;
    char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : '\0';
    const char *prefix = "";

    /* C: precision 0 and value 0 print no digits at all. */
    if (!(sp->prec == 0 && mag == 0)) {
        nd = digits(tmp, mag, base, upper);
    }
    if (is_ptr || (sp->alt && base == 16 && mag != 0)) {
        prefix = upper ? "0X" : "0x";
    } else if (sp->alt && base == 8 && (nd == 0 || tmp[nd - 1] != '0')) {
        prefix = "0";
    }
    int zeros = sp->prec > nd ? sp->prec - nd : 0;
    int len = nd + zeros + (int)strlen(prefix) + (sign != '\0');
    int fill = sp->width > len ? sp->width - len : 0;

    /* The '0' flag pads between sign/prefix and digits, unless a precision
     * was given or the field is left-justified. */
    if (sp->zero && !sp->left && sp->prec < 0) {
        zeros += fill;
        fill = 0;
    }
    if (!sp->left) {
        pad(s, ' ', fill);
    }
    if (sign != '\0') {
        out(s, sign);
    }
    for (const char *p = prefix; *p != '\0'; p++) {
        out(s, *p);
    }
    pad(s, '0', zeros);
    while (nd > 0) {
        out(s, tmp[--nd]);
    }
    if (sp->left) {
        pad(s, ' ', fill);
    }
}

static void put_str(sink_t *s, const spec_t *sp, const char *str)
{
    size_t n = 0;

    if (str == NULL) {
        str = "(null)";
    }
    /* With a precision the string need not be NUL-terminated: stop there. */
    while (str[n] != '\0' && (sp->prec < 0 || n < (size_t)sp->prec)) {
        n++;
    }
    int fill = sp->width > (int)n ? sp->width - (int)n : 0;
    if (!sp->left) {
        pad(s, ' ', fill);
    }
    for (size_t i = 0; i < n; i++) {
        out(s, str[i]);
    }
    if (sp->left) {
        pad(s, ' ', fill);
    }
}

static int parse_num(const char **fmt)
{
    int v = 0;
    while (**fmt >= '0' && **fmt <= '9') {
        v = v * 10 + (*(*fmt)++ - '0');
    }
    return v;
}

enum { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_MAX, LEN_PTRDIFF };

static int format(sink_t *s, const char *fmt, va_list ap)
{
    while (*fmt != '\0') {
        if (*fmt != '%') {
            out(s, *fmt++);
            continue;
        }
        const char *start = fmt++;
        spec_t sp = {.prec = -1};

        for (;; fmt++) {
            if (*fmt == '-') {
                sp.left = true;
            } else if (*fmt == '0') {
                sp.zero = true;
            } else if (*fmt == '+') {
                sp.plus = true;
            } else if (*fmt == ' ') {
                sp.space = true;
            } else if (*fmt == '#') {
                sp.alt = true;
            } else {
                break;
            }
        }
        if (*fmt == '*') {
            fmt++;
            sp.width = va_arg(ap, int);
            if (sp.width < 0) { /* C: a negative '*' width means '-' */
                sp.left = true;
                sp.width = -sp.width;
            }
        } else {
            sp.width = parse_num(&fmt);
        }
        if (*fmt == '.') {
            fmt++;
            if (*fmt == '*') {
                fmt++;
                sp.prec = va_arg(ap, int);
                if (sp.prec < 0) {
                    sp.prec = -1;
                }
            } else {
                sp.prec = parse_num(&fmt);
            }
        }

        int len = LEN_INT;
        switch (*fmt) {
        case 'h':
            len = fmt[1] == 'h' ? LEN_CHAR : LEN_SHORT;
            fmt += len == LEN_CHAR ? 2 : 1;
            break;
        case 'l':
            len = fmt[1] == 'l' ? LEN_LLONG : LEN_LONG;
            fmt += len == LEN_LLONG ? 2 : 1;
            break;
        case 'z':
            len = LEN_SIZE;
            fmt++;
            break;
        case 'j':
            len = LEN_MAX;
            fmt++;
            break;
        case 't':
            len = LEN_PTRDIFF;
            fmt++;
            break;
        default:
            break;
        }

        char conv = *fmt;
        if (conv == '\0') {
            /* A lone '%' at the end: print what we skipped. */
            for (const char *p = start; p < fmt; p++) {
                out(s, *p);
            }
            break;
        }
        fmt++;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case LEN_LLONG:
            case LEN_MAX:
                v = va_arg(ap, long long);
                break;
            case LEN_LONG:
                v = va_arg(ap, long);
                break;
            case LEN_SIZE:
            case LEN_PTRDIFF:
                v = va_arg(ap, ptrdiff_t);
                break;
            case LEN_CHAR:
                v = (signed char)va_arg(ap, int);
                break;
            case LEN_SHORT:
                v = (short)va_arg(ap, int);
                break;
            default:
                v = va_arg(ap, int);
                break;
            }
            /* Negate in unsigned arithmetic: LLONG_MIN has no positive twin. */
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_int(s, &sp, mag, v < 0, 10, false, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v;
            switch (len) {
            case LEN_LLONG:
            case LEN_MAX:
                v = va_arg(ap, unsigned long long);
                break;
            case LEN_LONG:
                v = va_arg(ap, unsigned long);
                break;
            case LEN_SIZE:
            case LEN_PTRDIFF:
                v = va_arg(ap, size_t);
                break;
            case LEN_CHAR:
                v = (unsigned char)va_arg(ap, unsigned);
                break;
            case LEN_SHORT:
                v = (unsigned short)va_arg(ap, unsigned);
                break;
            default:
                v = va_arg(ap, unsigned);
                break;
            }
            unsigned base = conv == 'o' ? 8u : conv == 'u' ? 10u : 16u;
            sp.plus = sp.space = false; /* only for signed conversions */
            put_int(s, &sp, v, false, base, conv == 'X', false);
            break;
        }
        case 'p':
            sp.plus = sp.space = false;
            put_int(s, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, true);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            int fill = sp.width > 1 ? sp.width - 1 : 0;
            if (!sp.left) {
                pad(s, ' ', fill);
            }
            out(s, c);
            if (sp.left) {
                pad(s, ' ', fill);
            }
            break;
        }
        case 's':
            put_str(s, &sp, va_arg(ap, const char *));
            break;
        case '%':
            out(s, '%');
            break;
        default:
            /* Unknown conversion: show it rather than eat arguments. */
            for (const char *p = start; p < fmt; p++) {
                out(s, *p);
            }
            break;
        }
    }
    return s->count > (size_t)INT32_MAX ? INT32_MAX : (int)s->count;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    sink_t s = {.put = put_buf, .buf = buf, .size = buf != NULL ? size : 0};
    int n = format(&s, fmt, ap);

    if (s.size > 0) {
        s.buf[s.count < s.size ? s.count : s.size - 1u] = '\0';
    }
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    sink_t s = {.put = put_uart};
    /* The whole call is one unit on the console. */
    uint32_t token = ampvq_riscv_console_lock();
    int n = format(&s, fmt, ap);
    ampvq_riscv_console_unlock(token);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int putchar(int c)
{
    uint32_t token = ampvq_riscv_console_lock();
    ampvq_riscv_console_putc((char)c);
    ampvq_riscv_console_unlock(token);
    return (unsigned char)c;
}

int puts(const char *str)
{
    uint32_t token = ampvq_riscv_console_lock();
    while (*str != '\0') {
        ampvq_riscv_console_putc(*str++);
    }
    ampvq_riscv_console_putc('\n');
    ampvq_riscv_console_unlock(token);
    return 0;
}
