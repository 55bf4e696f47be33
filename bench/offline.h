/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The figures that do not depend on timing: instructions per message
 * (callgrind) and code size (cross compilers). Both run external tools;
 * when a tool is missing the figure is reported as skipped, with why.
 */
#ifndef AMPVQ_BENCH_OFFLINE_H
#define AMPVQ_BENCH_OFFLINE_H

#include <stdbool.h>
#include <stdint.h>

#define OFFLINE_MAX_FNS  24
#define OFFLINE_MAX_OBJS 16

typedef struct {
    char name[64];
    double per_msg; /* instructions per message spent in the function itself */
} offline_fn_t;

typedef struct {
    double per_msg;       /* instructions per message, whole loop */
    double calls_per_msg; /* of which inside the four calls (per_msg minus the loop's own) */
    int nfns;
    offline_fn_t fns[OFFLINE_MAX_FNS]; /* largest first */
    char err[256];                     /* set when the figure could not be taken */
} offline_insn_t;

/* Run `insn_exe --impl impl` under callgrind with n and 2n messages.
 * keep_dir (may be NULL) keeps the callgrind files. 0 or -1 (r->err). */
int offline_insn(const char *insn_exe, const char *impl, uint32_t n, uint32_t payload, uint32_t qlen,
                 const char *keep_dir, offline_insn_t *r);

typedef struct {
    char object[32]; /* source file name, e.g. "queue.c" */
    long bytes;      /* text + rodata */
} offline_obj_t;

typedef struct {
    const char *target; /* "rv32imac" or "cortex-m4" */
    const char *flags;  /* what the objects were built with */
    int nobjs;
    offline_obj_t objs[OFFLINE_MAX_OBJS]; /* the core's files sorted, then the ring */
    char err[256];
} offline_size_t;

/* Names of the targets offline_code_size() knows, NULL-terminated. */
extern const char *const offline_targets[];

/* Compile every C file of src/ and bench/spsc_ring.c for `target` in a temporary
 * directory and sum text+rodata per object. 0 or -1 (r->err). */
int offline_code_size(const char *target, const char *source_dir, offline_size_t *r);

#endif /* AMPVQ_BENCH_OFFLINE_H */
