/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * make_image OUTDIR: images of shared memory for the ampvq-inspect tests.
 *
 * Both cores run as threads of this process on the posix port; queues are
 * built and driven through the public API only, so the image is exactly
 * what a running pair leaves behind:
 *
 *   good.bin      queue 0x0100 (main = master, 8 x 32): one lap done, then
 *                 three sent (the first received and held by the remote),
 *                 two allocated and held by the master, three free;
 *                 queue 0x0101 (sub = master, event index, 4 x 16);
 *                 a plain block 0x0200; the two event words.
 *   reorder.bin   queue 0x0100 after an out-of-order send: one buffer named
 *                 by two slots, legal, accepted only with --reorder.
 *   bad_*.bin     good.bin with one corruption each (see main()).
 *   uninit.bin    good.bin with queue A's len 0 (taken during its init).
 *   offset.bin    good.bin after 100 bytes of something else.
 *   trunc_*.bin   good.bin cut short.
 *   stale.bin     queue 0x0100 (main = master) after the sub core restarted
 *                 (esp_amp_init() again: instance 2) and before it opened
 *                 the queue again: both session words still say instance 1.
 *   settling.bin  the same once the new sub instance has opened the queue:
 *                 its word says 2, the main core has not acknowledged yet.
 *   relinked.bin  the same after the main core's next alloc reset the ring
 *                 (two messages lost) and acknowledged session 2.
 *
 * It also prints esp_amp_queue_dump() of both ends of queue 0x0100, so the
 * test log shows the on-core view next to the offline one, and of the
 * main core's end after the reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_amp.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

#define SHM_SIZE (64u * 1024u)
#define ID_A     0x0100
#define ID_B     0x0101
#define ID_BLOCK 0x0200
#define A_LEN    8
#define A_ITEM   32

static const char *outdir;

#define CHECK(expr)                                                                                                    \
    do {                                                                                                               \
        int err_ = (expr);                                                                                             \
        if (err_ != ESP_OK) {                                                                                          \
            fprintf(stderr, "make_image:%d: %s returned 0x%x\n", __LINE__, #expr, (unsigned)err_);                     \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_image: cannot write %s\n", path);
        exit(1);
    }
}

static void print_line(void *ctx, const char *line)
{
    printf("%s: %s\n", (const char *)ctx, line);
}

static void up(void)
{
    if (ampvq_posix_threads_setup(SHM_SIZE) != 0) {
        fprintf(stderr, "make_image: posix setup failed\n");
        exit(1);
    }
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK(esp_amp_init());
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_init());
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
}

static void send_one(esp_amp_queue_t *m, int core, uint16_t size)
{
    void *buf;
    ampvq_posix_set_core(core);
    CHECK(esp_amp_queue_alloc_try(m, &buf, size));
    memset(buf, 0x5a, size);
    CHECK(esp_amp_queue_send_try(m, buf, size));
}

static void *recv_one(esp_amp_queue_t *r, int core)
{
    void *buf;
    uint16_t size;
    ampvq_posix_set_core(core);
    CHECK(esp_amp_queue_recv_try(r, &buf, &size));
    return buf;
}

/* Offset of a block in shared memory (main core's view), and its size. */
static uint32_t block_off_size(uint16_t id, uint32_t *size_out)
{
    uint32_t size;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    uint8_t *p = esp_amp_sys_info_lookup(id, &size);
    if (p == NULL) {
        fprintf(stderr, "make_image: no block 0x%04x\n", id);
        exit(1);
    }
    if (size_out != NULL) {
        *size_out = size;
    }
    return (uint32_t)(p - (uint8_t *)ampvq_port_shm_base());
}

static uint32_t block_off(uint16_t id)
{
    return block_off_size(id, NULL);
}

static uint8_t *snapshot(void)
{
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    uint8_t *img = malloc(SHM_SIZE);
    if (img == NULL) {
        exit(1);
    }
    memcpy(img, ampvq_port_shm_base(), SHM_SIZE);
    return img;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
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

/* A copy of `img` with one change applied by the caller. */
static uint8_t *copy_of(const uint8_t *img)
{
    uint8_t *c = malloc(SHM_SIZE);
    if (c == NULL) {
        exit(1);
    }
    memcpy(c, img, SHM_SIZE);
    return c;
}

static void good_and_corrupt(void)
{
    up();
    static esp_amp_queue_t am, ar, bm, br;
    /* Queue A: main core is the master. */
    CHECK(esp_amp_queue_main_init(&am, A_LEN, A_ITEM, NULL, NULL, true, ID_A));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_sub_init(&ar, NULL, NULL, false, ID_A));
    /* Queue B: the sub core is the master, event index on. */
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK(esp_amp_queue_main_init_ex(&br, 4, 16, NULL, NULL, false, ID_B, ESP_AMP_QUEUE_F_EVENT_IDX));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_sub_init(&bm, NULL, NULL, true, ID_B));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    uint8_t *blk = esp_amp_sys_info_alloc(ID_BLOCK, 16);
    if (blk == NULL) {
        exit(1);
    }
    put32(blk, 0xdeadbeefu);

    /* A: ten round trips (into lap 1), then indices 10..12 sent, 10
     * received and held, 13..14 allocated and held. */
    for (int i = 0; i < 10; i++) {
        send_one(&am, AMPVQ_CORE_MAIN, 8);
        CHECK(esp_amp_queue_free_try(&ar, recv_one(&ar, AMPVQ_CORE_SUB)));
    }
    send_one(&am, AMPVQ_CORE_MAIN, 4);
    send_one(&am, AMPVQ_CORE_MAIN, 16);
    send_one(&am, AMPVQ_CORE_MAIN, 32);
    (void)recv_one(&ar, AMPVQ_CORE_SUB);
    void *held;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK(esp_amp_queue_alloc_try(&am, &held, 1));
    CHECK(esp_amp_queue_alloc_try(&am, &held, 1));

    /* B: two sent and received, the first freed (in order: freeing the
     * second first would leave its buffer named twice, see reorder()). */
    send_one(&bm, AMPVQ_CORE_SUB, 3);
    send_one(&bm, AMPVQ_CORE_SUB, 5);
    void *first = recv_one(&br, AMPVQ_CORE_MAIN);
    (void)recv_one(&br, AMPVQ_CORE_MAIN);
    CHECK(esp_amp_queue_free_try(&br, first));

    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK(esp_amp_queue_dump(&am, print_line, "main (master)"));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_dump(&ar, print_line, "sub (remote)"));

    uint32_t qa_size;
    uint32_t qa = block_off_size(ID_A, &qa_size);
    uint32_t qb = block_off(ID_B);
    uint8_t *img = snapshot();
    ampvq_posix_teardown();
    write_file("good.bin", img, SHM_SIZE);

    uint32_t desc = get32(img + qa + 4);
    uint32_t item = A_ITEM;
    uint8_t *c;

    c = copy_of(img);
    c[0] ^= 0xff;
    write_file("bad_magic.bin", c, SHM_SIZE);
    free(c);

    /* The directory entry of queue A: its block now runs past the region. */
    c = copy_of(img);
    uint32_t count = get32(img + 12);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = c + 32 + 12 * i;
        if (e[0] == (ID_A & 0xff) && e[1] == (ID_A >> 8)) {
            put32(e + 4, SHM_SIZE);
        }
    }
    write_file("bad_dir.bin", c, SHM_SIZE);
    free(c);

    /* Slot 3 (index 11, sent): addr off a buffer boundary, then len too big. */
    c = copy_of(img);
    put32(c + desc + 3 * 8, get32(c + desc + 3 * 8) + 4);
    write_file("bad_addr.bin", c, SHM_SIZE);
    free(c);

    c = copy_of(img);
    put16(c + desc + 3 * 8 + 4, (uint16_t)(item + 1));
    write_file("bad_len.bin", c, SHM_SIZE);
    free(c);

    /* Slot 7 (free) names slot 0's buffer. */
    c = copy_of(img);
    put32(c + desc + 7 * 8, get32(c + desc + 0 * 8));
    write_file("bad_dup.bin", c, SHM_SIZE);
    free(c);

    c = copy_of(img);
    put16(c + qa + 12, 3);
    write_file("bad_stride.bin", c, SHM_SIZE);
    free(c);

    /* Control words of queue A (header bytes 16..23: remote, master). */
    uint32_t ctl0 = get32(img + qa + 16);
    c = copy_of(img);
    put32(c + qa + 20, ctl0 + 4); /* the master's half over the remote's */
    write_file("bad_ctl_overlap.bin", c, SHM_SIZE);
    free(c);

    c = copy_of(img);
    put32(c + qa + 16, qa + qa_size); /* just past the block */
    write_file("bad_ctl_outside.bin", c, SHM_SIZE);
    free(c);

    c = copy_of(img);
    put32(c + qa + 16, desc + 8); /* on descriptor 1 */
    write_file("bad_ctl_desc.bin", c, SHM_SIZE);
    free(c);

    /* Queue B has the event index: the master's words moved next to the
     * remote's, on the same 64-byte line. */
    c = copy_of(img);
    put32(c + qb + 20, get32(img + qb + 16) + 8);
    write_file("bad_ctl_line.bin", c, SHM_SIZE);
    free(c);

    /* Slot 6 (index 14, allocated: free pattern of lap 1) shows "sent" in
     * lap 1: a sent slot after free ones, which no ring order allows. */
    c = copy_of(img);
    put16(c + desc + 6 * 8 + 6, AMPVQ_DESC_F_USED);
    write_file("bad_flags.bin", c, SHM_SIZE);
    free(c);

    /* Header of queue A as the main core leaves it mid-init: len last. */
    c = copy_of(img);
    put16(c + qa, 0);
    write_file("uninit.bin", c, SHM_SIZE);
    free(c);

    /* The region 100 bytes into the file, as in a slice of a larger dump. */
    c = malloc(100 + SHM_SIZE);
    if (c == NULL) {
        exit(1);
    }
    memset(c, 0xee, 100);
    memcpy(c + 100, img, SHM_SIZE);
    write_file("offset.bin", c, 100 + SHM_SIZE);
    free(c);

    write_file("trunc_hdr.bin", img, 20);
    write_file("trunc_dir.bin", img, 32 + 12 * 2 + 5);
    write_file("trunc_queue.bin", img, desc + 8 * 4 + 3);
    free(img);
}

/* Master allocates two buffers and sends the second first: the first
 * slot's descriptor now names the buffer the second slot still names. */
static void reorder(void)
{
    up();
    static esp_amp_queue_t m, r;
    CHECK(esp_amp_queue_main_init(&m, 4, 8, NULL, NULL, true, ID_A));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_sub_init(&r, NULL, NULL, false, ID_A));
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    void *a, *b;
    CHECK(esp_amp_queue_alloc_try(&m, &a, 8));
    CHECK(esp_amp_queue_alloc_try(&m, &b, 8));
    CHECK(esp_amp_queue_send_try(&m, b, 8));
    uint8_t *img = snapshot();
    ampvq_posix_teardown();
    write_file("reorder.bin", img, SHM_SIZE);
    free(img);
}

/* A restart of the sub core as the main core sees it: the sub core runs
 * esp_amp_init() again (a new instance) and opens the queue again. */
static void restart(void)
{
    up();
    static esp_amp_queue_t m, r, r2;
    CHECK(esp_amp_queue_main_init(&m, 4, 8, NULL, NULL, true, ID_A));
    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_sub_init(&r, NULL, NULL, false, ID_A));
    /* Two messages in flight, one of them received by the old instance. */
    send_one(&m, AMPVQ_CORE_MAIN, 8);
    send_one(&m, AMPVQ_CORE_MAIN, 8);
    (void)recv_one(&r, AMPVQ_CORE_SUB);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_init());
    uint8_t *img = snapshot();
    write_file("stale.bin", img, SHM_SIZE);
    free(img);

    ampvq_posix_set_core(AMPVQ_CORE_SUB);
    CHECK(esp_amp_queue_sub_init(&r2, NULL, NULL, false, ID_A));
    img = snapshot();
    write_file("settling.bin", img, SHM_SIZE);
    free(img);

    /* The main core's next claim notices the new session and resets. */
    void *buf;
    ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    CHECK(esp_amp_queue_alloc_try(&m, &buf, 8));
    CHECK(esp_amp_queue_dump(&m, print_line, "main (master) after reset"));
    img = snapshot();
    ampvq_posix_teardown();
    write_file("relinked.bin", img, SHM_SIZE);
    free(img);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_image OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    good_and_corrupt();
    reorder();
    restart();
    return 0;
}
