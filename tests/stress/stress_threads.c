/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Stress test, threads form: both cores are threads of this process. By
 * default each core sees the shared memory through its own mapping (as the
 * processes form and real hardware do); --views one gives both cores one
 * mapping, so that ThreadSanitizer, which tracks addresses rather than
 * pages, sees the cross-core accesses and checks their release/acquire
 * pairing. Knobs: stress_threads --help.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"
#include "stress.h"

static int sub_entry(void *arg)
{
    (void)arg;
    return stress_sub_core(false);
}

int main(int argc, char **argv)
{
    stress_cfg_t cfg;
    int fd = -1;
    void *view = NULL;

    /* The watchdog leaves with _exit(): nothing may sit in a buffer. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    stress_cfg_default(&cfg);
    int p = stress_parse_args(&cfg, argc, argv);
    if (p != 0) {
        return p > 0 ? 0 : 2;
    }
#if AMPVQ_POSIX_NONCOHERENT
    /* One view would be one "cache" for both cores: coherent again. */
    cfg.one_view = 0u;
#endif
    uint32_t size = stress_shm_bytes(&cfg);
    if (cfg.one_view) {
        fd = ampvq_posix_shm_create(size);
        view = fd >= 0 ? ampvq_posix_shm_map(fd, size, NULL) : NULL;
        if (view == NULL) {
            perror("stress: shared memory");
            return 2;
        }
        ampvq_posix_attach(AMPVQ_CORE_MAIN, view, size);
        ampvq_posix_attach(AMPVQ_CORE_SUB, view, size);
        ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    } else if (ampvq_posix_threads_setup(size) != 0) {
        perror("stress: ampvq_posix_threads_setup");
        return 2;
    }
    ampvq_posix_set_subcore_entry(sub_entry, NULL);

    int rc = stress_main_core(&cfg, "threads");
    int sub_rc = 0;
    int joined = ampvq_posix_join_subcore(cfg.timeout_s * 1000u, &sub_rc);
    if (joined < 0) {
        /* teardown would wait for the thread forever */
        printf("FAIL: the sub-core thread did not finish\n");
        fflush(stdout);
        _exit(3);
    }
    if (joined == 0 && sub_rc != 0 && rc == 0) {
        printf("FAIL: the sub core returned %d\n", sub_rc);
        rc = 1;
    }
    ampvq_posix_teardown();
    if (view != NULL) {
        ampvq_posix_shm_unmap(view, size);
        close(fd);
    }
    return rc;
}
