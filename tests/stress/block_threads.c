/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Blocking-call test (block.h), threads form: both cores are threads of
 * this process, each with its own mapping of the shared memory, or with
 * --views one a single mapping, so that ThreadSanitizer (which tracks
 * addresses) sees the cross-core accesses.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"
#include "block.h"

#define SHM_SIZE (1u << 20)

static int sub_entry(void *arg)
{
    (void)arg;
    return block_sub_core();
}

int main(int argc, char **argv)
{
    block_cfg_t cfg;
    int fd = -1;
    void *view = NULL;

    setvbuf(stdout, NULL, _IOLBF, 0);
    block_cfg_default(&cfg);
    if (block_parse_args(&cfg, argc - 1, argv + 1) != 0) {
        return 2;
    }
    if (cfg.one_view) {
        fd = ampvq_posix_shm_create(SHM_SIZE);
        view = fd >= 0 ? ampvq_posix_shm_map(fd, SHM_SIZE, NULL) : NULL;
        if (view == NULL) {
            perror("block: shared memory");
            return 2;
        }
        ampvq_posix_attach(AMPVQ_CORE_MAIN, view, SHM_SIZE);
        ampvq_posix_attach(AMPVQ_CORE_SUB, view, SHM_SIZE);
        ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
        ampvq_posix_set_core(AMPVQ_CORE_MAIN);
    } else if (ampvq_posix_threads_setup(SHM_SIZE) != 0) {
        perror("block: ampvq_posix_threads_setup");
        return 2;
    }
    ampvq_posix_set_subcore_entry(sub_entry, NULL);

    int rc = block_main_core(&cfg, "threads");
    int sub_rc = 0;
    /* The sub core's own calls time out after cfg.timeout_ms at the most. */
    int joined = ampvq_posix_join_subcore(cfg.timeout_ms + 30000u, &sub_rc);
    if (joined < 0) {
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
        ampvq_posix_shm_unmap(view, SHM_SIZE);
        close(fd);
    }
    return rc;
}
