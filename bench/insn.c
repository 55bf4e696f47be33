/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Instructions per message, for callgrind: one thread does N rounds of
 * alloc + send + recv + free, on ampvq (master and remote handles of one
 * queue) or on the baseline ring. The driver runs this under
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=insn_loop_<impl>
 * with N and 2N and divides the difference by N, so that set-up and the
 * loop function's entry and exit cancel and only the per-message cost
 * remains. The counts are deterministic: no second thread, no interrupt
 * thread (the sub side needs no esp_amp_init here), no payload work.
 *
 *   ampvq_bench_insn --impl ampvq|ring [--n N] [--payload B] [--qlen L]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_amp.h"
#include "ampvq/posix.h"
#include "spsc_ring.h"

/* Not static, not inlined: callgrind toggles collection on these names. */
uint32_t insn_loop_ampvq(esp_amp_queue_t *tx, esp_amp_queue_t *rx, uint32_t n, uint16_t size) __attribute__((noinline));
uint32_t insn_loop_ring(spsc_prod_t *p, spsc_cons_t *c, uint32_t n, uint32_t size) __attribute__((noinline));

uint32_t insn_loop_ampvq(esp_amp_queue_t *tx, esp_amp_queue_t *rx, uint32_t n, uint16_t size)
{
    for (uint32_t i = 0; i < n; i++) {
        void *buf;
        uint16_t len;
        if (esp_amp_queue_alloc_try(tx, &buf, size) != ESP_OK || esp_amp_queue_send_try(tx, buf, size) != ESP_OK ||
            esp_amp_queue_recv_try(rx, &buf, &len) != ESP_OK || esp_amp_queue_free_try(rx, buf) != ESP_OK) {
            return i;
        }
    }
    return n;
}

uint32_t insn_loop_ring(spsc_prod_t *p, spsc_cons_t *c, uint32_t n, uint32_t size)
{
    for (uint32_t i = 0; i < n; i++) {
        void *buf;
        uint32_t len;
        if (spsc_ring_alloc(p, &buf) != 0) {
            return i;
        }
        spsc_ring_send(p, size);
        if (spsc_ring_recv(c, &buf, &len) != 0) {
            return i;
        }
        spsc_ring_free(c);
    }
    return n;
}

static int run_ampvq(uint32_t n, uint16_t payload, uint16_t qlen)
{
    static esp_amp_queue_t tx, rx;
    uint32_t size = 64u * 1024u + 16u + (uint32_t)qlen * (8u + payload);

    if (ampvq_posix_threads_setup(size) != 0) {
        fprintf(stderr, "insn: no shared memory\n");
        return 1;
    }
    /* Main core: region and queue. Sub core: only its side of the queue;
     * esp_amp_init() would start interrupt threads, whose wake-ups would
     * land in the count. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    int err = esp_amp_sys_info_init();
    if (err == ESP_OK) {
        err = esp_amp_queue_main_init(&tx, qlen, payload, NULL, NULL, true, (esp_amp_sys_info_id_t)0x0b00);
    }
    if (err == ESP_OK) {
        ampvq_posix_set_core(AMPVQ_CORE_SUB);
        err = esp_amp_queue_sub_init(&rx, NULL, NULL, false, (esp_amp_sys_info_id_t)0x0b00);
    }
    if (err != ESP_OK) {
        fprintf(stderr, "insn: queue set-up failed: 0x%x\n", (unsigned)err);
        return 1;
    }
    uint32_t done = insn_loop_ampvq(&tx, &rx, n, payload);
    ampvq_posix_teardown();
    if (done != n) {
        fprintf(stderr, "insn: ampvq stopped after %u of %u\n", (unsigned)done, (unsigned)n);
        return 1;
    }
    return 0;
}

static int run_ring(uint32_t n, uint32_t payload, uint32_t qlen)
{
    static spsc_prod_t p;
    static spsc_cons_t c;
    size_t bytes = (spsc_ring_bytes(qlen, payload) + 63u) & ~(size_t)63u;
    void *mem = aligned_alloc(64, bytes);

    if (mem == NULL) {
        return 1;
    }
    memset(mem, 0, bytes);
    spsc_ring_init(mem, qlen, payload, &p, &c);
    uint32_t done = insn_loop_ring(&p, &c, n, payload);
    free(mem);
    if (done != n) {
        fprintf(stderr, "insn: ring stopped after %u of %u\n", (unsigned)done, (unsigned)n);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *impl = "ampvq";
    unsigned long n = 100000, payload = 32, qlen = 256;

    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(a, "--impl") == 0) {
            impl = v;
        } else if (v != NULL && strcmp(a, "--n") == 0) {
            n = strtoul(v, NULL, 0);
        } else if (v != NULL && strcmp(a, "--payload") == 0) {
            payload = strtoul(v, NULL, 0);
        } else if (v != NULL && strcmp(a, "--qlen") == 0) {
            qlen = strtoul(v, NULL, 0);
        } else {
            fprintf(stderr, "usage: %s --impl ampvq|ring [--n N] [--payload B] [--qlen L]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0 || n > UINT32_MAX || payload == 0 || payload > 65532 || qlen == 0 || qlen > 32768 ||
        (qlen & (qlen - 1)) != 0) {
        fprintf(stderr, "insn: bad arguments\n");
        return 2;
    }
    if (strcmp(impl, "ampvq") == 0) {
        return run_ampvq((uint32_t)n, (uint16_t)payload, (uint16_t)qlen);
    }
    if (strcmp(impl, "ring") == 0) {
        return run_ring((uint32_t)n, (uint32_t)payload, (uint32_t)qlen);
    }
    fprintf(stderr, "insn: unknown --impl %s\n", impl);
    return 2;
}
