/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Instructions per message and code size (see offline.h). Both shell out:
 * callgrind and the cross toolchains are programs, and their output formats
 * are stable enough to read here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "offline.h"

/* snprintf that may truncate (paths and messages are bounded; a cut one is
 * still useful), through a va_list so that no truncation warning fires. */
static void strfmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void strfmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static bool have_program(const char *name)
{
    char cmd[256];
    strfmt(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(cmd)) {
        return -1;
    }
    int st = system(cmd);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

/* ------------------------------------------------------------ callgrind */

typedef struct {
    char name[64];
    unsigned long long self;
} fn_total_t;

typedef struct {
    unsigned long long total;
    int n;
    fn_total_t fn[256];
} profile_t;

static fn_total_t *fn_slot(profile_t *p, const char *name)
{
    for (int i = 0; i < p->n; i++) {
        if (strcmp(p->fn[i].name, name) == 0) {
            return &p->fn[i];
        }
    }
    if (p->n == (int)(sizeof(p->fn) / sizeof(p->fn[0]))) {
        return NULL;
    }
    fn_total_t *f = &p->fn[p->n++];
    strfmt(f->name, sizeof(f->name), "%s", name);
    f->self = 0;
    return f;
}

/*
 * Self cost per function from a callgrind file written with
 * --compress-strings=no --compress-pos=no: "fn=NAME" starts a function's
 * block; a cost line is "<line> <Ir>"; the cost line right after a
 * "calls=" line is the callee's inclusive cost and is not the caller's own.
 */
static int read_profile(const char *path, profile_t *p)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    fn_total_t *cur = NULL;
    bool after_calls = false;

    if (f == NULL) {
        return -1;
    }
    memset(p, 0, sizeof(*p));
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "fn=", 3) == 0) {
            cur = fn_slot(p, line + 3);
        } else if (strncmp(line, "calls=", 6) == 0) {
            after_calls = true;
        } else if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
            p->total = strtoull(strchr(line, ':') + 1, NULL, 10);
        } else if ((line[0] >= '0' && line[0] <= '9') || line[0] == '+' || line[0] == '-' || line[0] == '*') {
            if (after_calls) {
                after_calls = false;
                continue;
            }
            char *sp = strchr(line, ' ');
            if (cur != NULL && sp != NULL) {
                cur->self += strtoull(sp + 1, NULL, 10);
            }
        }
    }
    fclose(f);
    return 0;
}

static int profile_run(const char *dir, const char *insn_exe, const char *impl, uint32_t n, uint32_t payload,
                       uint32_t qlen, profile_t *p, char *err, size_t errlen)
{
    char out[512], log[512];

    strfmt(out, sizeof(out), "%s/callgrind.%s.%u", dir, impl, (unsigned)n);
    strfmt(log, sizeof(log), "%s/valgrind.%s.%u.log", dir, impl, (unsigned)n);
    int rc = run("valgrind --tool=callgrind --callgrind-out-file='%s' --collect-atstart=no "
                 "--toggle-collect=insn_loop_%s --compress-strings=no --compress-pos=no "
                 "'%s' --impl %s --n %u --payload %u --qlen %u >'%s' 2>&1",
                 out, impl, insn_exe, impl, (unsigned)n, (unsigned)payload, (unsigned)qlen, log);
    if (rc != 0) {
        strfmt(err, errlen, "valgrind run failed (status %d), see %s", rc, log);
        return -1;
    }
    if (read_profile(out, p) != 0 || p->total == 0) {
        strfmt(err, errlen, "no counts in %s", out);
        return -1;
    }
    return 0;
}

static int cmp_fn_desc(const void *a, const void *b)
{
    double x = ((const offline_fn_t *)a)->per_msg, y = ((const offline_fn_t *)b)->per_msg;
    return x < y ? 1 : x > y ? -1 : 0;
}

int offline_insn(const char *insn_exe, const char *impl, uint32_t n, uint32_t payload, uint32_t qlen,
                 const char *keep_dir, offline_insn_t *r)
{
    static profile_t p1, p2;
    char tmp[] = "/tmp/ampvq-bench-insn.XXXXXX";
    const char *dir = keep_dir;

    memset(r, 0, sizeof(*r));
    if (!have_program("valgrind")) {
        strfmt(r->err, sizeof(r->err), "valgrind not installed");
        return -1;
    }
    if (access(insn_exe, X_OK) != 0) {
        strfmt(r->err, sizeof(r->err), "%s not built", insn_exe);
        return -1;
    }
    if (dir == NULL) {
        dir = mkdtemp(tmp);
        if (dir == NULL) {
            strfmt(r->err, sizeof(r->err), "no temporary directory");
            return -1;
        }
    }
    int rc = profile_run(dir, insn_exe, impl, n, payload, qlen, &p1, r->err, sizeof(r->err));
    if (rc == 0) {
        rc = profile_run(dir, insn_exe, impl, 2u * n, payload, qlen, &p2, r->err, sizeof(r->err));
    }
    if (rc == 0) {
        r->per_msg = (double)(p2.total - p1.total) / n;
        /* Per function: the same difference, so that set-up cancels. */
        for (int i = 0; i < p2.n && r->nfns < OFFLINE_MAX_FNS; i++) {
            unsigned long long before = 0;
            for (int j = 0; j < p1.n; j++) {
                if (strcmp(p1.fn[j].name, p2.fn[i].name) == 0) {
                    before = p1.fn[j].self;
                }
            }
            double d = ((double)p2.fn[i].self - (double)before) / n;
            if (d >= 0.05) {
                offline_fn_t *f = &r->fns[r->nfns++];
                strfmt(f->name, sizeof(f->name), "%s", p2.fn[i].name);
                f->per_msg = d;
            }
        }
        qsort(r->fns, (size_t)r->nfns, sizeof(r->fns[0]), cmp_fn_desc);
        /* The loop function's own instructions (counter, branches, call
         * set-up) are the caller's; the rest is the queue's code. */
        r->calls_per_msg = r->per_msg;
        for (int i = 0; i < r->nfns; i++) {
            if (strncmp(r->fns[i].name, "insn_loop_", 10) == 0) {
                r->calls_per_msg -= r->fns[i].per_msg;
            }
        }
    }
    if (keep_dir == NULL) {
        run("rm -rf '%s'", dir);
    }
    return rc;
}

/* ------------------------------------------------------------ code size */

typedef struct {
    const char *name;
    const char *cc;
    const char *size;
    const char *flags;
} target_t;

static const target_t targets[] = {
    {"rv32imac", "riscv64-unknown-elf-gcc", "riscv64-unknown-elf-size", "-march=rv32imac_zicsr -mabi=ilp32"},
    {"cortex-m4", "arm-none-eabi-gcc", "arm-none-eabi-size", "-mcpu=cortex-m4 -mthumb"},
};

const char *const offline_targets[] = {"rv32imac", "cortex-m4", NULL};

/* As tests/cross builds the core: freestanding, -Os, no libc headers. */
#define COMMON_FLAGS "-std=c11 -ffreestanding -Os"

/* text + rodata of one object, from `size -A` (sysv format: one line per
 * section). .srodata is rv32's small read-only data. */
static long object_bytes(const char *size_tool, const char *obj)
{
    char cmd[1024], line[512];
    long total = 0;

    strfmt(cmd, sizeof(cmd), "'%s' -A '%s' 2>/dev/null", size_tool, obj);
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char sec[256];
        long sz;
        if (sscanf(line, "%255s %ld", sec, &sz) == 2 &&
            (strncmp(sec, ".text", 5) == 0 || strncmp(sec, ".rodata", 7) == 0 || strncmp(sec, ".srodata", 8) == 0)) {
            total += sz;
        }
    }
    return pclose(f) == 0 ? total : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int offline_code_size(const char *target, const char *source_dir, offline_size_t *r)
{
    const target_t *t = NULL;
    char tmp[] = "/tmp/ampvq-bench-size.XXXXXX";
    char *names[OFFLINE_MAX_OBJS];
    int nnames = 0;

    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        if (strcmp(targets[i].name, target) == 0) {
            t = &targets[i];
        }
    }
    if (t == NULL) {
        strfmt(r->err, sizeof(r->err), "unknown target %s", target);
        return -1;
    }
    r->target = t->name;
    r->flags = t->flags;
    if (!have_program(t->cc) || !have_program(t->size)) {
        strfmt(r->err, sizeof(r->err), "%s not installed", t->cc);
        return -1;
    }
    char src[1024];
    strfmt(src, sizeof(src), "%s/src", source_dir);
    DIR *d = opendir(src);
    if (d == NULL) {
        strfmt(r->err, sizeof(r->err), "cannot read %s", src);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nnames < OFFLINE_MAX_OBJS - 1) {
        size_t len = strlen(e->d_name);
        if (len > 2 && strcmp(e->d_name + len - 2, ".c") == 0) {
            names[nnames++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, (size_t)nnames, sizeof(names[0]), cmp_str);

    char *dir = mkdtemp(tmp);
    int rc = dir != NULL ? 0 : -1;
    /* The core's files, then the baseline ring (last). */
    for (int i = 0; rc == 0 && i <= nnames; i++) {
        const char *name = i < nnames ? names[i] : "spsc_ring.c";
        char path[1200], obj[1200];
        strfmt(path, sizeof(path), "%s/%s/%s", source_dir, i < nnames ? "src" : "bench", name);
        strfmt(obj, sizeof(obj), "%s/%s.o", dir, name);
        if (run("'%s' %s %s -I'%s/include' -I'%s/src' -c '%s' -o '%s' 2>'%s/log'", t->cc, t->flags, COMMON_FLAGS,
                source_dir, source_dir, path, obj, dir) != 0) {
            strfmt(r->err, sizeof(r->err), "%s does not compile for %s", name, t->name);
            rc = -1;
            break;
        }
        long bytes = object_bytes(t->size, obj);
        if (bytes < 0) {
            strfmt(r->err, sizeof(r->err), "%s -A %s failed", t->size, obj);
            rc = -1;
            break;
        }
        strfmt(r->objs[r->nobjs].object, sizeof(r->objs[0].object), "%s", name);
        r->objs[r->nobjs++].bytes = bytes;
    }
    if (dir != NULL) {
        run("rm -rf '%s'", dir);
    }
    for (int i = 0; i < nnames; i++) {
        free(names[i]);
    }
    return rc;
}
