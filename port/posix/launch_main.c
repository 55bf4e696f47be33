/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * main() of a posix main-core process: create and map shared memory, run
 * app_main(), then wait for the sub-core process that app_main() started.
 * The exit status is app_main()'s, or the sub core's if app_main() succeeded.
 *
 * Environment: AMPVQ_SHM_SIZE (bytes), AMPVQ_SUBCORE_EXE (path of the sub
 * core, default: AMPVQ_SUBCORE_EXE_NAME beside this executable),
 * AMPVQ_SUB_TIMEOUT_MS (how long to wait for it, default 10000).
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ampvq/app.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

#ifndef AMPVQ_SUBCORE_EXE_NAME
#error "define AMPVQ_SUBCORE_EXE_NAME (ampvq_add_app() does)"
#endif

static uint32_t env_u32(const char *name, uint32_t dflt)
{
    const char *s = getenv(name);
    return s != NULL && *s != '\0' ? (uint32_t)strtoul(s, NULL, 0) : dflt;
}

int main(void)
{
    /* Two processes share the terminal or pipe: whole lines, promptly. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint32_t size = env_u32("AMPVQ_SHM_SIZE", AMPVQ_POSIX_SHM_DEFAULT_SIZE);
    int fd = ampvq_posix_shm_create(size);
    void *base = fd >= 0 ? ampvq_posix_shm_map(fd, size, NULL) : NULL;
    if (base == NULL) {
        perror("ampvq: shared memory");
        return 2;
    }
    ampvq_posix_attach(AMPVQ_CORE_MAIN, base, size);
    ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);

    char path[PATH_MAX];
    const char *exe = getenv("AMPVQ_SUBCORE_EXE");
    if (exe == NULL || *exe == '\0') {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0) {
            perror("ampvq: /proc/self/exe");
            return 2;
        }
        self[n] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dirname(self), AMPVQ_SUBCORE_EXE_NAME);
        exe = path;
    }
    ampvq_posix_set_subcore_exe(exe);

    int rc = app_main();
    int sub_rc = 0;
    int joined = ampvq_posix_join_subcore(env_u32("AMPVQ_SUB_TIMEOUT_MS", 10000), &sub_rc);
    if (joined < 0) {
        fprintf(stderr, "ampvq: sub core did not finish in time; killed\n");
        sub_rc = 3;
    }
    ampvq_posix_teardown();
    ampvq_posix_shm_unmap(base, size);
    if (rc == 0 && sub_rc != 0) {
        fprintf(stderr, "ampvq: sub core exited with %d\n", sub_rc);
        rc = sub_rc;
    }
    return rc;
}
