/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * ampvq_bench: the benchmark driver. Runs every implementation of bench.h
 * on the same parameter grid and prints each figure as a value and as a
 * ratio to the baseline ring measured in the same run.
 *
 * Why ratios, and why this schedule: on the virtual machines this runs on,
 * the two vCPUs drift between a fast and a slow cache-line transfer state
 * every few seconds, so an absolute rate means little and two rates taken
 * a minute apart cannot be compared. The run is therefore cut into short
 * chunks (50 ms by default); each round runs every implementation once per
 * parameter set, one chunk right after the other, in an order that reverses
 * every round; an implementation's ratio in a round is its value over the
 * ring's in the same round and cell, and the figure printed is the median
 * over the rounds (of the values, and separately of the ratios).
 *
 * Instructions per message come from callgrind and are exact; they are the
 * figure to track for regressions. Code size and shared RAM are static.
 *
 *   ampvq_bench [--json] [--rounds N] [--chunk-ms MS] [--payloads 8,32,...]
 *               [--qlens 16,256] [--batch N] [--cpus P,C] [--impl a,b]
 *               [--figures throughput,latency,interrupts,insn,size,ram]
 *               [--plot DIR] [--smoke] [--list]    (--help for all)
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "esp_amp.h"
#include "ampvq/posix.h"
#include "bench.h"
#include "harness.h"
#include "offline.h"
#include "spsc_ring.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif
#ifndef BENCH_INSN_EXE
#define BENCH_INSN_EXE "ampvq_bench_insn"
#endif
#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif

/* ------------------------------------------------------------ registry */

static const bench_impl_t *const registry[] = {
    &bench_impl_ring, /* the baseline: keep it first */
    &bench_impl_ampvq_poll, &bench_impl_ampvq_intr, &bench_impl_ampvq_batch, &bench_impl_ampvq_suppress,
};
#define NIMPL      ((int)(sizeof(registry) / sizeof(registry[0])))
#define BASELINE   0
#define I_POLL     1
#define I_INTR     2
#define I_BATCH    3
#define I_SUPPRESS 4

/* ------------------------------------------------------------- options */

enum {
    F_TPUT = 1u << 0,
    F_LAT = 1u << 1,
    F_IRQ = 1u << 2,
    F_INSN = 1u << 3,
    F_SIZE = 1u << 4,
    F_RAM = 1u << 5,
    F_ALL = (1u << 6) - 1u,
};

static const char *const figure_names[] = {"throughput", "latency", "interrupts", "insn", "size", "ram"};

#define MAX_LIST   8
#define MAX_ROUNDS 99

typedef struct {
    bool json;
    bool smoke;
    bool verbose;
    unsigned rounds;
    double chunk_ms;
    uint32_t payloads[MAX_LIST];
    int npayloads;
    uint32_t qlens[MAX_LIST];
    int nqlens;
    uint32_t batch;
    int cpus[2];
    unsigned figures;
    bool impl_on[NIMPL];
    uint32_t lat_payload;
    uint32_t lat_qlen;
    uint32_t insn_n;
    const char *plot_dir;
    const char *json_file;
    const char *keep_dir;
    const char *src_dir;
    const char *insn_exe;
} opts_t;

static opts_t opt = {
    .rounds = 21,
    .chunk_ms = 50,
    .payloads = {8, 32, 256, 1024},
    .npayloads = 4,
    .qlens = {16, 256},
    .nqlens = 2,
    .batch = 16,
    .cpus = {0, 1},
    .figures = F_ALL,
    .lat_payload = 32,
    .lat_qlen = 256,
    .insn_n = 100000,
    .src_dir = BENCH_SOURCE_DIR,
    .insn_exe = BENCH_INSN_EXE,
};

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  --json              one JSON object per line per figure, nothing else on stdout\n"
            "  --rounds N          rounds of interleaved chunks (default %u); medians over them\n"
            "  --chunk-ms MS       length of one timed chunk (default %.0f)\n"
            "  --payloads a,b,..   payload bytes, multiples of 8 (default 8,32,256,1024)\n"
            "  --qlens a,b,..      queue lengths, powers of two (default 16,256)\n"
            "  --batch N           batch size of the batched runs (default %u)\n"
            "  --cpus P,C          CPUs of the producer and the consumer (default 0,1)\n"
            "  --impl a,b,..       implementations to run (default all built; the ring always runs)\n"
            "  --figures a,b,..    throughput,latency,interrupts,insn,size,ram (default all)\n"
            "  --lat-payload B     ping-pong payload (default 32)\n"
            "  --insn-n N          messages per callgrind run (default 100000)\n"
            "  --plot DIR          write PNGs (gnuplot) into DIR, their data into DIR/data\n"
            "  --json-file F       also write the JSON lines to F (with the table on stdout)\n"
            "  --keep-callgrind DIR  keep the callgrind files there (for callgrind_annotate)\n"
            "  --source DIR        project source (code size), default %s\n"
            "  --verbose           every chunk's result on stderr, as it is measured\n"
            "  --smoke             tiny counts: checks that everything runs, measures nothing\n"
            "  --list              list the implementations and exit\n",
            argv0, opt.rounds, opt.chunk_ms, opt.batch, BENCH_SOURCE_DIR);
}

static int parse_list(const char *s, uint32_t *out, int max)
{
    int n = 0;
    char *end;

    while (*s != '\0') {
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || n == max || v == 0 || v > 65532) {
            return -1;
        }
        out[n++] = (uint32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    return n;
}

static int find_impl(const char *name, size_t len)
{
    for (int i = 0; i < NIMPL; i++) {
        if (strlen(registry[i]->name) == len && strncmp(registry[i]->name, name, len) == 0) {
            return i;
        }
    }
    return -1;
}

static int parse_args(int argc, char **argv)
{
    bool impl_given = false;
    bool grid_given = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool used = true;
        if (strcmp(a, "--json") == 0) {
            opt.json = true;
            used = false;
        } else if (strcmp(a, "--smoke") == 0) {
            opt.smoke = true;
            used = false;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            opt.verbose = true;
            used = false;
        } else if (strcmp(a, "--list") == 0) {
            for (int k = 0; k < NIMPL; k++) {
                printf("%-15s %s%s%s\n", registry[k]->name, registry[k]->summary,
                       registry[k]->missing ? "\n                (not built: " : "",
                       registry[k]->missing ? registry[k]->missing : "");
                if (registry[k]->missing) {
                    printf(")\n");
                }
            }
            return 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 1;
        } else if (v == NULL) {
            fprintf(stderr, "%s: %s needs a value (or is unknown)\n", argv[0], a);
            return -1;
        } else if (strcmp(a, "--rounds") == 0) {
            opt.rounds = (unsigned)strtoul(v, NULL, 10);
            if (opt.rounds == 0 || opt.rounds > MAX_ROUNDS) {
                fprintf(stderr, "--rounds: 1..%d\n", MAX_ROUNDS);
                return -1;
            }
        } else if (strcmp(a, "--chunk-ms") == 0) {
            opt.chunk_ms = strtod(v, NULL);
            if (!(opt.chunk_ms > 0)) {
                return -1;
            }
        } else if (strcmp(a, "--payloads") == 0 || strcmp(a, "--qlens") == 0) {
            bool pl = a[2] == 'p';
            int n = parse_list(v, pl ? opt.payloads : opt.qlens, MAX_LIST);
            for (int k = 0; k < n; k++) {
                uint32_t x = pl ? opt.payloads[k] : opt.qlens[k];
                if (pl ? (x % 8u) != 0 : (x & (x - 1u)) != 0 || x > 32768u) {
                    n = -1;
                }
            }
            if (n <= 0) {
                fprintf(stderr, "%s: comma-separated %s\n", a, pl ? "multiples of 8" : "powers of two");
                return -1;
            }
            *(pl ? &opt.npayloads : &opt.nqlens) = n;
            grid_given = true;
        } else if (strcmp(a, "--batch") == 0) {
            opt.batch = (uint32_t)strtoul(v, NULL, 10);
            if (opt.batch < 1 || opt.batch > 256) {
                fprintf(stderr, "--batch: 1..256\n");
                return -1;
            }
        } else if (strcmp(a, "--cpus") == 0) {
            if (sscanf(v, "%d,%d", &opt.cpus[0], &opt.cpus[1]) != 2) {
                return -1;
            }
        } else if (strcmp(a, "--impl") == 0) {
            impl_given = true;
            memset(opt.impl_on, 0, sizeof(opt.impl_on));
            for (const char *s = v; *s != '\0';) {
                size_t len = strcspn(s, ",");
                int k = find_impl(s, len);
                if (k < 0) {
                    fprintf(stderr, "--impl: unknown '%.*s' (see --list)\n", (int)len, s);
                    return -1;
                }
                opt.impl_on[k] = true;
                s += len + (s[len] == ',');
            }
        } else if (strcmp(a, "--figures") == 0) {
            opt.figures = 0;
            for (const char *s = v; *s != '\0';) {
                size_t len = strcspn(s, ",");
                unsigned bit = 0;
                for (unsigned k = 0; k < sizeof(figure_names) / sizeof(figure_names[0]); k++) {
                    if (strlen(figure_names[k]) == len && strncmp(figure_names[k], s, len) == 0) {
                        bit = 1u << k;
                    }
                }
                if (bit == 0) {
                    fprintf(stderr, "--figures: unknown '%.*s'\n", (int)len, s);
                    return -1;
                }
                opt.figures |= bit;
                s += len + (s[len] == ',');
            }
        } else if (strcmp(a, "--lat-payload") == 0) {
            opt.lat_payload = (uint32_t)strtoul(v, NULL, 10);
            if (opt.lat_payload == 0 || opt.lat_payload % 8u != 0 || opt.lat_payload > 65528u) {
                return -1;
            }
        } else if (strcmp(a, "--insn-n") == 0) {
            opt.insn_n = (uint32_t)strtoul(v, NULL, 10);
            if (opt.insn_n == 0 || opt.insn_n > 100000000u) {
                return -1;
            }
        } else if (strcmp(a, "--plot") == 0) {
            opt.plot_dir = v;
        } else if (strcmp(a, "--json-file") == 0) {
            opt.json_file = v;
        } else if (strcmp(a, "--keep-callgrind") == 0) {
            opt.keep_dir = v;
        } else if (strcmp(a, "--source") == 0) {
            opt.src_dir = v;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
            usage(stderr, argv[0]);
            return -1;
        }
        i += used;
    }
    if (!impl_given) {
        for (int k = 0; k < NIMPL; k++) {
            opt.impl_on[k] = true;
        }
    }
    opt.impl_on[BASELINE] = true;
    for (int k = 0; k < NIMPL; k++) {
        if (registry[k]->missing != NULL) {
            opt.impl_on[k] = false;
        }
    }
    if (opt.smoke) {
        /* Every figure once, on a grid just big enough for the goals and
         * for index wrap-around (queue_len 16), unless a grid was given. */
        opt.rounds = 1;
        opt.chunk_ms = 3;
        opt.insn_n = 1000;
        if (!grid_given) {
            opt.payloads[0] = 32;
            opt.npayloads = 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- results */

typedef struct {
    double v[MAX_ROUNDS];      /* value per round, NAN if not measured */
    double ratio[MAX_ROUNDS];  /* to the ring in the same round and cell */
    double ratio1[MAX_ROUNDS]; /* batched runs: to the unbatched ring */
    double notify[MAX_ROUNDS]; /* per message */
    double door[MAX_ROUNDS];
} series_t;

/* [batched][impl][payload][qlen] */
static series_t tput[2][NIMPL][MAX_LIST][MAX_LIST];
/* [impl]: round-trip median and 99th percentile */
static series_t lat_med[NIMPL], lat_p99[NIMPL];
static offline_insn_t insn[2]; /* [0] ring, [1] ampvq */
static bool insn_ok[2];
static offline_size_t sizes[2];
static bool size_ok[2];
static int failures;

static void series_clear(series_t *s)
{
    for (int r = 0; r < MAX_ROUNDS; r++) {
        s->v[r] = s->ratio[r] = s->ratio1[r] = s->notify[r] = s->door[r] = NAN;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of the finite values, NAN if there are none. */
static double median(const double *v, unsigned n)
{
    double tmp[MAX_ROUNDS];
    unsigned k = 0;

    for (unsigned i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            tmp[k++] = v[i];
        }
    }
    if (k == 0) {
        return NAN;
    }
    qsort(tmp, k, sizeof(tmp[0]), cmp_double);
    return k % 2 ? tmp[k / 2] : (tmp[k / 2 - 1] + tmp[k / 2]) / 2;
}

static int index_of(const uint32_t *list, int n, uint32_t v)
{
    for (int i = 0; i < n; i++) {
        if (list[i] == v) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ schedule */

/* Batched runs: the baseline (batched the same way) and the implementations
 * that batch; unbatched runs: everything else. */
static bool runs_in(int batched, int k)
{
    if (!opt.impl_on[k]) {
        return false;
    }
    bool batching = (registry[k]->caps & BENCH_CAP_BATCH) != 0;
    if (batched) {
        return batching && opt.batch > 1 && (opt.figures & F_TPUT);
    }
    if (k != BASELINE && batching) {
        return false;
    }
    /* Interrupt implementations also give the interrupts figure. */
    return (opt.figures & F_TPUT) || ((opt.figures & F_IRQ) && (registry[k]->caps & BENCH_CAP_NOTIFY));
}

static void chunk_failed(const char *what, const bench_impl_t *im)
{
    failures++;
    fprintf(stderr, "ampvq_bench: %s chunk of %s failed: %s\n", what, im->name, harness_error());
}

static void run_round(unsigned r)
{
    int order[NIMPL];

    /* Reverse the order every round: no implementation always runs right
     * after the same other one. */
    for (int i = 0; i < NIMPL; i++) {
        order[i] = (r % 2) ? NIMPL - 1 - i : i;
    }
    if (opt.figures & (F_TPUT | F_IRQ)) {
        for (int b = 0; b < 2; b++) {
            for (int pi = 0; pi < opt.npayloads; pi++) {
                for (int qi = 0; qi < opt.nqlens; qi++) {
                    bench_params_t p = {
                        .payload = opt.payloads[pi],
                        .queue_len = opt.qlens[qi],
                        .batch = b ? opt.batch : 1u,
                    };
                    for (int i = 0; i < NIMPL; i++) {
                        int k = order[i];
                        if (!runs_in(b, k)) {
                            continue;
                        }
                        tput_result_t res;
                        series_t *s = &tput[b][k][pi][qi];
                        if (harness_throughput(registry[k], &p, &res) != 0) {
                            chunk_failed("throughput", registry[k]);
                            continue;
                        }
                        s->v[r] = res.rate;
                        if (opt.verbose) {
                            fprintf(stderr, "round %u %-14s payload %4u qlen %4u batch %3u: %8.3f Mmsg/s\n", r,
                                    registry[k]->name, (unsigned)p.payload, (unsigned)p.queue_len, (unsigned)p.batch,
                                    res.rate / 1e6);
                        }
                        if (registry[k]->caps & BENCH_CAP_NOTIFY) {
                            s->notify[r] = res.sent ? (double)res.counters.notifies / (double)res.sent : NAN;
                            s->door[r] = res.consumed ? (double)res.counters.doorbells / (double)res.consumed : NAN;
                        }
                    }
                }
            }
        }
    }
    if (opt.figures & F_LAT) {
        bench_params_t p = {.payload = opt.lat_payload, .queue_len = opt.lat_qlen, .batch = 1};
        for (int i = 0; i < NIMPL; i++) {
            int k = order[i];
            if (!opt.impl_on[k] || registry[k]->ping_wait == NULL) {
                continue;
            }
            lat_result_t res;
            if (harness_latency(registry[k], &p, &res) != 0) {
                chunk_failed("round-trip", registry[k]);
                continue;
            }
            lat_med[k].v[r] = res.median_ns;
            if (opt.verbose) {
                fprintf(stderr, "round %u %-14s round trip: median %.0f ns, p99 %.0f ns (%u samples)\n", r,
                        registry[k]->name, res.median_ns, res.p99_ns, (unsigned)res.samples);
            }
            lat_p99[k].v[r] = res.p99_ns;
        }
    }
}

/* Per-round ratios, once every round has run. */
static void compute_ratios(void)
{
    for (unsigned r = 0; r < opt.rounds; r++) {
        for (int b = 0; b < 2; b++) {
            for (int pi = 0; pi < opt.npayloads; pi++) {
                for (int qi = 0; qi < opt.nqlens; qi++) {
                    double base = tput[b][BASELINE][pi][qi].v[r];
                    double base1 = tput[0][BASELINE][pi][qi].v[r];
                    for (int k = 0; k < NIMPL; k++) {
                        series_t *s = &tput[b][k][pi][qi];
                        s->ratio[r] = s->v[r] / base;
                        s->ratio1[r] = s->v[r] / base1;
                    }
                }
            }
        }
        for (int k = 0; k < NIMPL; k++) {
            lat_med[k].ratio[r] = lat_med[k].v[r] / lat_med[BASELINE].v[r];
            lat_p99[k].ratio[r] = lat_p99[k].v[r] / lat_p99[BASELINE].v[r];
        }
    }
}

/* ----------------------------------------------------------- RAM figure */

/* Bytes of the queue's block as the library really allocates it (read back
 * from the sys_info directory), or 0. */
static uint32_t ampvq_block_bytes(uint32_t payload, uint32_t qlen)
{
    static esp_amp_queue_t q;
    uint32_t size = 0;

    if (ampvq_posix_threads_setup(64u * 1024u + 16u + qlen * (8u + payload)) != 0) {
        return 0;
    }
    if (esp_amp_sys_info_init() == ESP_OK && esp_amp_queue_main_init(&q, (uint16_t)qlen, (uint16_t)payload, NULL, NULL,
                                                                     true, (esp_amp_sys_info_id_t)0x0b00) == ESP_OK) {
        esp_amp_sys_info_lookup(0x0b00, &size);
    }
    ampvq_posix_teardown();
    return size;
}

/* ---------------------------------------------------------------- output */

static char machine[512];
static double load_before = NAN, load_after = NAN;

static void describe_machine(void)
{
    char model[128] = "unknown CPU";
    bool hv = false;
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");

    if (f != NULL) {
        char line[4096];
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "model name", 10) == 0 && strchr(line, ':') != NULL) {
                snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
                model[strcspn(model, "\n")] = '\0';
            } else if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor") != NULL) {
                hv = true;
            }
        }
        fclose(f);
    }
    if (uname(&u) != 0) {
        strcpy(u.release, "?");
        strcpy(u.machine, "?");
    }
    snprintf(machine, sizeof(machine), "%s, %ld CPUs%s, Linux %s %s; %s, %s build", model,
             sysconf(_SC_NPROCESSORS_ONLN), hv ? " (virtual machine)" : "", u.release, u.machine,
#if defined(__clang__)
             "clang " __clang_version__,
#else
             "gcc " __VERSION__,
#endif
             BENCH_BUILD_TYPE);
}

static double loadavg1(void)
{
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

/* JSON number or null. */
static void jnum(char *buf, size_t n, double v)
{
    if (isfinite(v)) {
        snprintf(buf, n, "%.6g", v);
    } else {
        snprintf(buf, n, "null");
    }
}

static FILE *json_out;

static void emit(const char *figure, const char *impl, const char *params, double value, const char *unit, double ratio)
{
    char v[32], r[32];

    jnum(v, sizeof(v), value);
    jnum(r, sizeof(r), ratio);
    fprintf(json_out,
            "{\"figure\": \"%s\", \"impl\": \"%s\", \"params\": {%s}, \"value\": %s, \"unit\": \"%s\", "
            "\"ratio_to_baseline\": %s}\n",
            figure, impl, params, v, unit, r);
}

typedef struct {
    const char *text;
    double value;
    const char *unit;  /* of value */
    const char *shown; /* how the value is printed, e.g. "0.81x" */
    bool measured;
    bool pass;
} goal_t;

#define NGOALS 6
static goal_t goals[NGOALS];
static char goal_shown[NGOALS][96];

static void evaluate_goals(void)
{
    int p32 = index_of(opt.payloads, opt.npayloads, 32);
    int q256 = index_of(opt.qlens, opt.nqlens, 256);
    bool cell = p32 >= 0 && q256 >= 0;
    double v;

    goals[0].text = "ampvq-poll throughput, 32 B, queue_len 256 >= 0.70x ring";
    v = cell ? median(tput[0][I_POLL][p32][q256].ratio, opt.rounds) : NAN;
    goals[0].unit = "x";
    goals[0].value = v;
    goals[0].measured = isfinite(v);
    goals[0].pass = v >= 0.70;
    snprintf(goal_shown[0], sizeof(goal_shown[0]), "%.3fx", v);

    goals[1].text = "ampvq-poll round-trip median <= 1.30x ring";
    v = median(lat_med[I_POLL].ratio, opt.rounds);
    goals[1].unit = "x";
    goals[1].value = v;
    goals[1].measured = isfinite(v);
    goals[1].pass = v <= 1.30;
    snprintf(goal_shown[1], sizeof(goal_shown[1]), "%.3fx", v);

    goals[2].text = "instructions per message in alloc+send+recv+free <= 100";
    v = insn_ok[1] ? insn[1].calls_per_msg : NAN;
    goals[2].unit = "insn";
    goals[2].value = v;
    goals[2].measured = isfinite(v);
    goals[2].pass = v <= 100.0;
    snprintf(goal_shown[2], sizeof(goal_shown[2]), "%.1f (ring %.1f, %.2fx)", v, insn[0].calls_per_msg,
             v / insn[0].calls_per_msg);

    goals[3].text = "queue.c text+rodata, rv32imac -Os <= 962 bytes";
    v = NAN;
    for (int i = 0; size_ok[0] && i < sizes[0].nobjs; i++) {
        if (strcmp(sizes[0].objs[i].object, "queue.c") == 0) {
            v = (double)sizes[0].objs[i].bytes;
        }
    }
    goals[3].unit = "bytes";
    goals[3].value = v;
    goals[3].measured = isfinite(v);
    goals[3].pass = v <= 962.0;
    snprintf(goal_shown[3], sizeof(goal_shown[3]), "%.0f bytes", v);

    static char batch_text[96];
    snprintf(batch_text, sizeof(batch_text), "ampvq-batch (batch %u), 32 B, queue_len 256 >= 1.00x ring",
             (unsigned)opt.batch);
    goals[4].text = batch_text;
    v = cell ? median(tput[1][I_BATCH][p32][q256].ratio1, opt.rounds) : NAN;
    goals[4].unit = "x";
    goals[4].value = v;
    goals[4].measured = isfinite(v);
    goals[4].pass = v >= 1.0;
    snprintf(goal_shown[4], sizeof(goal_shown[4]), "%.3fx (%.3fx the ring batched alike)", v,
             cell ? median(tput[1][I_BATCH][p32][q256].ratio, opt.rounds) : NAN);

    goals[5].text = "ampvq-suppress notifications per message under load < 0.1";
    v = cell ? median(tput[0][I_SUPPRESS][p32][q256].notify, opt.rounds) : NAN;
    goals[5].unit = "1/msg";
    goals[5].value = v;
    goals[5].measured = isfinite(v);
    goals[5].pass = v < 0.1;
    snprintf(goal_shown[5], sizeof(goal_shown[5]), "%.3f", v);

    for (int g = 0; g < NGOALS; g++) {
        goals[g].pass = goals[g].measured && goals[g].pass;
        goals[g].shown = goals[g].measured ? goal_shown[g] : "not measured";
    }
    if (!opt.impl_on[I_BATCH] && registry[I_BATCH]->missing) {
        goals[4].shown = "not measured: ampvq-batch not built (no AMPVQ_HAVE_BATCH)";
    }
    if (!opt.impl_on[I_SUPPRESS] && registry[I_SUPPRESS]->missing) {
        goals[5].shown = "not measured: ampvq-suppress not built (no AMPVQ_HAVE_EVENT_IDX)";
    }
}

static void print_json(FILE *f)
{
    json_out = f;
    char params[256];

    for (int b = 0; b < 2; b++) {
        for (int pi = 0; pi < opt.npayloads; pi++) {
            for (int qi = 0; qi < opt.nqlens; qi++) {
                for (int k = 0; k < NIMPL; k++) {
                    if (!runs_in(b, k)) {
                        continue;
                    }
                    series_t *s = &tput[b][k][pi][qi];
                    snprintf(params, sizeof(params), "\"payload\": %u, \"queue_len\": %u, \"batch\": %u",
                             (unsigned)opt.payloads[pi], (unsigned)opt.qlens[qi], b ? (unsigned)opt.batch : 1u);
                    if (opt.figures & F_TPUT) {
                        emit("throughput", registry[k]->name, params, median(s->v, opt.rounds), "msg/s",
                             median(s->ratio, opt.rounds));
                    }
                    if ((opt.figures & F_IRQ) && (registry[k]->caps & BENCH_CAP_NOTIFY)) {
                        emit("notify_per_msg", registry[k]->name, params, median(s->notify, opt.rounds), "1/msg", NAN);
                        emit("doorbell_per_msg", registry[k]->name, params, median(s->door, opt.rounds), "1/msg", NAN);
                    }
                }
            }
        }
    }
    if (opt.figures & F_LAT) {
        snprintf(params, sizeof(params), "\"payload\": %u, \"queue_len\": %u", (unsigned)opt.lat_payload,
                 (unsigned)opt.lat_qlen);
        for (int k = 0; k < NIMPL; k++) {
            if (opt.impl_on[k] && registry[k]->ping_wait != NULL) {
                emit("rtt_median", registry[k]->name, params, median(lat_med[k].v, opt.rounds), "ns",
                     median(lat_med[k].ratio, opt.rounds));
                emit("rtt_p99", registry[k]->name, params, median(lat_p99[k].v, opt.rounds), "ns",
                     median(lat_p99[k].ratio, opt.rounds));
            }
        }
    }
    if (opt.figures & F_INSN) {
        snprintf(params, sizeof(params),
                 "\"payload\": %u, \"queue_len\": %u, \"ops\": \"alloc+send+recv+free\", "
                 "\"build\": \"%s\"",
                 32u, 256u, BENCH_BUILD_TYPE);
        const char *names[2] = {"ring", "ampvq"};
        for (int i = 0; i < 2; i++) {
            emit("insn_per_msg", names[i], params, insn_ok[i] ? insn[i].per_msg : NAN, "insn",
                 insn_ok[i] && insn_ok[0] ? insn[i].per_msg / insn[0].per_msg : NAN);
            emit("insn_per_msg_calls", names[i], params, insn_ok[i] ? insn[i].calls_per_msg : NAN, "insn",
                 insn_ok[i] && insn_ok[0] ? insn[i].calls_per_msg / insn[0].calls_per_msg : NAN);
        }
        for (int i = 0; i < 2; i++) {
            for (int fn = 0; insn_ok[i] && fn < insn[i].nfns; fn++) {
                snprintf(params, sizeof(params), "\"function\": \"%s\"", insn[i].fns[fn].name);
                emit("insn_per_msg_fn", names[i], params, insn[i].fns[fn].per_msg, "insn", NAN);
            }
        }
    }
    if (opt.figures & F_SIZE) {
        for (int t = 0; t < 2; t++) {
            if (!size_ok[t]) {
                snprintf(params, sizeof(params), "\"target\": \"%s\", \"object\": \"queue.c\", \"opt\": \"-Os\"",
                         offline_targets[t]);
                emit("code_size", "ampvq", params, NAN, "bytes", NAN);
                continue;
            }
            const offline_size_t *z = &sizes[t];
            double ring = (double)z->objs[z->nobjs - 1].bytes;
            long core = 0;
            for (int i = 0; i < z->nobjs; i++) {
                bool is_ring = i == z->nobjs - 1;
                snprintf(params, sizeof(params), "\"target\": \"%s\", \"object\": \"%s\", \"opt\": \"-Os\"", z->target,
                         z->objs[i].object);
                bool q = strcmp(z->objs[i].object, "queue.c") == 0;
                emit("code_size", is_ring ? "ring" : "ampvq", params, (double)z->objs[i].bytes, "bytes",
                     q || is_ring ? (double)z->objs[i].bytes / ring : NAN);
                core += is_ring ? 0 : z->objs[i].bytes;
            }
            snprintf(params, sizeof(params), "\"target\": \"%s\", \"object\": \"core\", \"opt\": \"-Os\"", z->target);
            emit("code_size", "ampvq", params, (double)core, "bytes", NAN);
        }
    }
    if (opt.figures & F_RAM) {
        for (int pi = 0; pi < opt.npayloads; pi++) {
            for (int qi = 0; qi < opt.nqlens; qi++) {
                uint32_t p = opt.payloads[pi], q = opt.qlens[qi];
                double ring = (double)spsc_ring_bytes(q, p);
                double block = (double)ampvq_block_bytes(p, q);
                snprintf(params, sizeof(params), "\"payload\": %u, \"queue_len\": %u", (unsigned)p, (unsigned)q);
                emit("shm_bytes", "ring", params, ring, "bytes", 1.0);
                emit("shm_bytes", "ampvq", params, block, "bytes", block / ring);
            }
        }
        emit("shm_dir_entry_bytes", "ampvq", "", (double)sizeof(ampvq_sys_info_entry_t), "bytes", NAN);
    }
    for (int g = 0; g < NGOALS; g++) {
        char text[160];
        snprintf(text, sizeof(text), "\"goal\": \"%s\", \"pass\": %s", goals[g].text, goals[g].pass ? "true" : "false");
        emit("goal", "ampvq", text, goals[g].value, goals[g].unit, NAN);
    }
}

/* Throughput cell text: "12.34 0.81x" (Mmsg/s and ratio). */
static void cell_text(char *buf, size_t n, const series_t *s, bool ratio1)
{
    double v = median(s->v, opt.rounds);
    double r = median(ratio1 ? s->ratio1 : s->ratio, opt.rounds);

    if (!isfinite(v)) {
        snprintf(buf, n, "%14s", "-");
    } else if (!isfinite(r)) {
        snprintf(buf, n, "%7.2f      -", v / 1e6);
    } else {
        snprintf(buf, n, "%7.2f %5.2fx", v / 1e6, r);
    }
}

/*
 * The machine's cache-line state during the run, from the ring's round
 * trips (one per round). On the development VM it sits for minutes at a
 * time either near 170 ns or near 580 ns (presumably the two vCPUs sharing
 * an L3 or not), and the ratios differ between the two states, so a table
 * must say which one it was taken in.
 */
static void print_state(void)
{
    double lo = INFINITY, hi = 0;

    if (!(opt.figures & F_LAT)) {
        return;
    }
    for (unsigned r = 0; r < opt.rounds; r++) {
        double v = lat_med[BASELINE].v[r];
        if (isfinite(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    if (hi == 0) {
        return;
    }
    printf("cache-line state: ring round trip %.0f ns (median; %.0f..%.0f over the rounds)\n",
           median(lat_med[BASELINE].v, opt.rounds), lo, hi);
    if (hi <= 1.8 * lo) {
        return;
    }
    /* Two states: split the rounds at the geometric mean of the extremes
     * and give the headline ratios of each part. */
    double split = sqrt(lo * hi);
    int p32 = index_of(opt.payloads, opt.npayloads, 32);
    int q256 = index_of(opt.qlens, opt.nqlens, 256);
    printf("** the state changed during the run: the medians mix two states (--verbose shows each round) **\n");
    printf("by state (rounds split at a ring round trip of %.0f ns): ratios to ring", split);
    printf(p32 >= 0 && q256 >= 0 ? " of throughput at 32 B / 256 and of the round-trip median\n"
                                 : " of the round trip\n");
    for (int fast = 1; fast >= 0; fast--) {
        double sel[MAX_ROUNDS];
        unsigned n = 0;
        for (unsigned r = 0; r < opt.rounds; r++) {
            double v = lat_med[BASELINE].v[r];
            bool in = isfinite(v) && (fast ? v <= split : v > split);
            sel[r] = in ? v : NAN;
            n += in;
        }
        printf("  %s: %2u rounds, ring round trip %4.0f ns |", fast ? "fast" : "slow", n, median(sel, opt.rounds));
        for (int k = 1; k < NIMPL; k++) {
            if (!opt.impl_on[k] || !runs_in(0, k)) {
                continue;
            }
            double tr[MAX_ROUNDS], lr[MAX_ROUNDS];
            for (unsigned r = 0; r < opt.rounds; r++) {
                bool in = isfinite(sel[r]);
                tr[r] = in && p32 >= 0 && q256 >= 0 ? tput[0][k][p32][q256].ratio[r] : NAN;
                lr[r] = in ? lat_med[k].ratio[r] : NAN;
            }
            printf(" %s %.2fx %.2fx |", registry[k]->name, median(tr, opt.rounds), median(lr, opt.rounds));
        }
        printf("\n");
    }
}

static void print_table(void)
{
    char c[64];

    printf("ampvq bench: %u rounds x %.0f ms chunks per implementation and cell; medians over rounds.\n", opt.rounds,
           opt.chunk_ms);
    printf("ratio = value / ring's in the same round and cell (median of the per-round ratios).\n");
    printf("machine: %s\n", machine);
    /* The run's own two spinning threads add about 2 to the "after" load. */
    printf("producer on CPU %d, consumer on CPU %d; load average %.2f before the run (%.2f after, its own "
           "included)%s\n",
           opt.cpus[0], opt.cpus[1], load_before, load_after,
           load_before > 1.0 ? "\n** busy machine: the timings below are noise (counts and sizes are not) **" : "");
    print_state();
    for (int k = 0; k < NIMPL; k++) {
        if (registry[k]->missing) {
            printf("not built: %s (%s)\n", registry[k]->name, registry[k]->missing);
        }
    }

    if (opt.figures & F_TPUT) {
        printf("\nThroughput, Mmsg/s and ratio to ring (producer fills every byte, consumer checks every byte)\n");
        printf("payload qlen |");
        for (int k = 0; k < NIMPL; k++) {
            if (runs_in(0, k)) {
                printf(" %-14s |", registry[k]->name);
            }
        }
        printf("\n");
        for (int pi = 0; pi < opt.npayloads; pi++) {
            for (int qi = 0; qi < opt.nqlens; qi++) {
                printf("%7u %4u |", (unsigned)opt.payloads[pi], (unsigned)opt.qlens[qi]);
                for (int k = 0; k < NIMPL; k++) {
                    if (runs_in(0, k)) {
                        cell_text(c, sizeof(c), &tput[0][k][pi][qi], false);
                        printf(" %14s |", c);
                    }
                }
                printf("\n");
            }
        }
        bool any = false;
        for (int k = 0; k < NIMPL; k++) {
            any = any || (k != BASELINE && runs_in(1, k));
        }
        if (runs_in(1, BASELINE)) {
            printf("\nThroughput with batches of %u, Mmsg/s and ratio to ring batched alike%s\n", (unsigned)opt.batch,
                   any ? " | ratio to ring unbatched" : "");
            printf("payload qlen |");
            for (int k = 0; k < NIMPL; k++) {
                if (runs_in(1, k)) {
                    printf(" %-14s |", registry[k]->name);
                }
            }
            for (int k = 0; k < NIMPL; k++) {
                if (k != BASELINE && runs_in(1, k)) {
                    printf(" %-8s vs ring b1 |", registry[k]->name);
                }
            }
            printf("\n");
            for (int pi = 0; pi < opt.npayloads; pi++) {
                for (int qi = 0; qi < opt.nqlens; qi++) {
                    printf("%7u %4u |", (unsigned)opt.payloads[pi], (unsigned)opt.qlens[qi]);
                    for (int k = 0; k < NIMPL; k++) {
                        if (runs_in(1, k)) {
                            cell_text(c, sizeof(c), &tput[1][k][pi][qi], false);
                            printf(" %14s |", c);
                        }
                    }
                    for (int k = 0; k < NIMPL; k++) {
                        if (k != BASELINE && runs_in(1, k)) {
                            printf(" %19.2fx |", median(tput[1][k][pi][qi].ratio1, opt.rounds));
                        }
                    }
                    printf("\n");
                }
            }
        }
    }

    if (opt.figures & F_IRQ) {
        printf("\nInterrupt mode under load: notify calls and doorbells (interrupt-handler runs) per message\n");
        printf("payload qlen |");
        for (int k = 0; k < NIMPL; k++) {
            if (runs_in(0, k) && (registry[k]->caps & BENCH_CAP_NOTIFY)) {
                printf(" %-14s notify doorbell |", registry[k]->name);
            }
        }
        printf("\n");
        for (int pi = 0; pi < opt.npayloads; pi++) {
            for (int qi = 0; qi < opt.nqlens; qi++) {
                printf("%7u %4u |", (unsigned)opt.payloads[pi], (unsigned)opt.qlens[qi]);
                for (int k = 0; k < NIMPL; k++) {
                    if (runs_in(0, k) && (registry[k]->caps & BENCH_CAP_NOTIFY)) {
                        const series_t *s = &tput[0][k][pi][qi];
                        printf(" %21.3f %8.3f |", median(s->notify, opt.rounds), median(s->door, opt.rounds));
                    }
                }
                printf("\n");
            }
        }
    }

    if (opt.figures & F_LAT) {
        printf("\nRound trip (ping-pong over two queues, %u B, queue_len %u), ns and ratio to ring\n",
               (unsigned)opt.lat_payload, (unsigned)opt.lat_qlen);
        printf("%-15s %9s %7s %9s %7s\n", "impl", "median", "ratio", "p99", "ratio");
        for (int k = 0; k < NIMPL; k++) {
            if (opt.impl_on[k] && registry[k]->ping_wait != NULL) {
                printf("%-15s %9.0f %6.2fx %9.0f %6.2fx\n", registry[k]->name, median(lat_med[k].v, opt.rounds),
                       median(lat_med[k].ratio, opt.rounds), median(lat_p99[k].v, opt.rounds),
                       median(lat_p99[k].ratio, opt.rounds));
            }
        }
    }

    if (opt.figures & F_INSN) {
        printf("\nInstructions per message, alloc+send+recv+free in one thread (callgrind, (I(2N)-I(N))/N, "
               "N=%u, %s build)\n",
               (unsigned)opt.insn_n, BENCH_BUILD_TYPE);
        printf("total = the whole loop; calls = inside the four calls (total minus the loop's own instructions)\n");
        printf("%-6s %7s %7s %7s %7s\n", "", "total", "ratio", "calls", "ratio");
        const char *names[2] = {"ring", "ampvq"};
        for (int i = 0; i < 2; i++) {
            if (!insn_ok[i]) {
                printf("%-6s skipped: %s\n", names[i], insn[i].err);
                continue;
            }
            printf("%-6s %7.1f %6.2fx %7.1f %6.2fx   self per message:", names[i], insn[i].per_msg,
                   insn_ok[0] ? insn[i].per_msg / insn[0].per_msg : NAN, insn[i].calls_per_msg,
                   insn_ok[0] ? insn[i].calls_per_msg / insn[0].calls_per_msg : NAN);
            for (int f = 0; f < insn[i].nfns; f++) {
                printf(" %s %.1f%s", insn[i].fns[f].name, insn[i].fns[f].per_msg, f + 1 < insn[i].nfns ? "," : "");
            }
            printf("\n");
        }
    }

    if (opt.figures & F_SIZE) {
        printf("\nCode size, text+rodata bytes (-Os -ffreestanding; ratio of queue.c to the ring)\n");
        printf("%-14s", "object");
        for (int t = 0; t < 2; t++) {
            printf(" %10s", offline_targets[t]);
        }
        printf("\n");
        int nobjs = size_ok[0] ? sizes[0].nobjs : size_ok[1] ? sizes[1].nobjs : 0;
        const offline_size_t *ref = size_ok[0] ? &sizes[0] : &sizes[1];
        long core[2] = {0, 0};
        for (int i = 0; i < nobjs; i++) {
            bool is_ring = i == nobjs - 1;
            printf("%-14s", is_ring ? "spsc_ring.c" : ref->objs[i].object);
            for (int t = 0; t < 2; t++) {
                if (size_ok[t] && i < sizes[t].nobjs) {
                    printf(" %10ld", sizes[t].objs[i].bytes);
                    core[t] += is_ring ? 0 : sizes[t].objs[i].bytes;
                } else {
                    printf(" %10s", "-");
                }
            }
            printf("%s\n", is_ring ? "  (baseline)" : "");
        }
        printf("%-14s", "core (src/)");
        for (int t = 0; t < 2; t++) {
            printf(" %10ld", core[t]);
        }
        printf("\n");
        for (int t = 0; t < 2; t++) {
            if (!size_ok[t]) {
                printf("%s skipped: %s\n", offline_targets[t], sizes[t].err);
            }
        }
    }

    if (opt.figures & F_RAM) {
        printf("\nShared RAM per queue, bytes (ampvq block: 24 + len*8 + len*item + 16 control bytes; plus a %zu-byte sys_info "
               "directory entry)\n",
               sizeof(ampvq_sys_info_entry_t));
        printf("payload qlen %10s %10s %7s\n", "ampvq", "ring", "ratio");
        for (int pi = 0; pi < opt.npayloads; pi++) {
            for (int qi = 0; qi < opt.nqlens; qi++) {
                uint32_t p = opt.payloads[pi], q = opt.qlens[qi];
                uint32_t a = ampvq_block_bytes(p, q);
                size_t r = spsc_ring_bytes(q, p);
                printf("%7u %4u %10u %10zu %6.2fx\n", (unsigned)p, (unsigned)q, (unsigned)a, r, (double)a / (double)r);
            }
        }
    }

    printf("\nGoals\n");
    for (int g = 0; g < NGOALS; g++) {
        printf("%s  %-62s %s\n", goals[g].pass ? "PASS" : "MISS", goals[g].text, goals[g].shown);
    }
}

/* ----------------------------------------------------------------- plots */

static void write_plots(void)
{
    char path[1024], cmd[2048];

    /* PNGs in DIR, the numbers behind them in DIR/data. */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/data'", opt.plot_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "ampvq_bench: cannot create %s/data\n", opt.plot_dir);
        return;
    }

    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < NIMPL; k++) {
            if (!runs_in(b, k)) {
                continue;
            }
            for (int qi = 0; qi < opt.nqlens; qi++) {
                snprintf(path, sizeof(path), "%s/data/tput-%s-b%u-q%u.dat", opt.plot_dir, registry[k]->name,
                         b ? (unsigned)opt.batch : 1u, (unsigned)opt.qlens[qi]);
                FILE *f = fopen(path, "w");
                if (f == NULL) {
                    fprintf(stderr, "ampvq_bench: cannot write %s\n", path);
                    return;
                }
                fprintf(f, "# payload Mmsg/s ratio_to_ring\n");
                for (int pi = 0; pi < opt.npayloads; pi++) {
                    const series_t *s = &tput[b][k][pi][qi];
                    fprintf(f, "%u %.4f %.4f\n", (unsigned)opt.payloads[pi], median(s->v, opt.rounds) / 1e6,
                            median(s->ratio, opt.rounds));
                }
                fclose(f);
            }
            for (int pi = 0; pi < opt.npayloads; pi++) {
                snprintf(path, sizeof(path), "%s/data/tput-%s-b%u-p%u.dat", opt.plot_dir, registry[k]->name,
                         b ? (unsigned)opt.batch : 1u, (unsigned)opt.payloads[pi]);
                FILE *f = fopen(path, "w");
                if (f == NULL) {
                    return;
                }
                fprintf(f, "# queue_len Mmsg/s ratio_to_ring\n");
                for (int qi = 0; qi < opt.nqlens; qi++) {
                    const series_t *s = &tput[b][k][pi][qi];
                    fprintf(f, "%u %.4f %.4f\n", (unsigned)opt.qlens[qi], median(s->v, opt.rounds) / 1e6,
                            median(s->ratio, opt.rounds));
                }
                fclose(f);
            }
        }
    }
    /* gnuplot gets the lists; bench/plot.gp draws. */
    char impls[256] = "", batched[256] = "", pls[128] = "", qls[128] = "";
    for (int k = 0; k < NIMPL; k++) {
        if (runs_in(0, k)) {
            strcat(impls, registry[k]->name);
            strcat(impls, " ");
        }
        if (runs_in(1, k)) {
            strcat(batched, registry[k]->name);
            strcat(batched, " ");
        }
    }
    for (int i = 0; i < opt.npayloads; i++) {
        snprintf(pls + strlen(pls), sizeof(pls) - strlen(pls), "%u ", (unsigned)opt.payloads[i]);
    }
    for (int i = 0; i < opt.nqlens; i++) {
        snprintf(qls + strlen(qls), sizeof(qls) - strlen(qls), "%u ", (unsigned)opt.qlens[i]);
    }
    snprintf(cmd, sizeof(cmd),
             "gnuplot -e \"dir='%s'; impls='%s'; batched='%s'; batch=%u; payloads='%s'; qlens='%s'; "
             "machine='%.120s; ring round trip %.0f ns'\" '%s/bench/plot.gp' >&2",
             opt.plot_dir, impls, batched, (unsigned)opt.batch, pls, qls, machine,
             median(lat_med[BASELINE].v, opt.rounds), opt.src_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "ampvq_bench: gnuplot failed (plot data is in %s)\n", opt.plot_dir);
    }
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    describe_machine();
    load_before = loadavg1();

    harness_cfg_t hc = {
        .cpu = {opt.cpus[0], opt.cpus[1]},
        .chunk_s = opt.chunk_ms / 1000.0,
        .timeout_s = 30.0,
        .warmup = opt.smoke ? 100u : 2000u,
        .lat_max = opt.smoke ? 200u : 200000u,
    };
    harness_configure(&hc);

    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < NIMPL; k++) {
            for (int pi = 0; pi < MAX_LIST; pi++) {
                for (int qi = 0; qi < MAX_LIST; qi++) {
                    series_clear(&tput[b][k][pi][qi]);
                }
            }
        }
    }
    for (int k = 0; k < NIMPL; k++) {
        series_clear(&lat_med[k]);
        series_clear(&lat_p99[k]);
    }

    /* Static figures first: callgrind and compilers are single-threaded
     * and would disturb nothing, but they take seconds; better before the
     * timed part than between its rounds. */
    if (opt.figures & F_INSN) {
        const char *names[2] = {"ring", "ampvq"};
        for (int i = 0; i < 2; i++) {
            fprintf(stderr, "ampvq_bench: callgrind, %s ...\n", names[i]);
            insn_ok[i] = offline_insn(opt.insn_exe, names[i], opt.insn_n, 32, 256, opt.keep_dir, &insn[i]) == 0;
            if (!insn_ok[i]) {
                fprintf(stderr, "ampvq_bench: instructions of %s: %s\n", names[i], insn[i].err);
            }
        }
    }
    if (opt.figures & F_SIZE) {
        for (int t = 0; t < 2; t++) {
            size_ok[t] = offline_code_size(offline_targets[t], opt.src_dir, &sizes[t]) == 0;
            if (!size_ok[t]) {
                fprintf(stderr, "ampvq_bench: code size for %s: %s\n", offline_targets[t], sizes[t].err);
            }
        }
    }
    if (opt.figures & (F_TPUT | F_IRQ | F_LAT)) {
        double t0 = harness_now();
        for (unsigned r = 0; r < opt.rounds; r++) {
            run_round(r);
            fprintf(stderr, "ampvq_bench: round %u of %u done (%.0f s)\n", r + 1, opt.rounds, harness_now() - t0);
        }
        compute_ratios();
    }
    load_after = loadavg1();
    evaluate_goals();
    if (opt.json) {
        print_json(stdout);
    } else {
        print_table();
    }
    if (opt.json_file != NULL) {
        FILE *f = fopen(opt.json_file, "w");
        if (f == NULL) {
            fprintf(stderr, "ampvq_bench: cannot write %s\n", opt.json_file);
            failures++;
        } else {
            print_json(f);
            fclose(f);
        }
    }
    if (opt.plot_dir != NULL) {
        write_plots();
    }
    if (failures > 0) {
        fprintf(stderr, "ampvq_bench: %d chunk(s) failed\n", failures);
        return 1;
    }
    return 0;
}
