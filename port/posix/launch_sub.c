/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * main() of a posix sub-core process, started by esp_amp_start_subcore() in
 * the main-core process: map the inherited shared memory (at an address that
 * differs from the main core's) and run subcore_main().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ampvq/app.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

int main(void)
{
    /* Two processes share the terminal or pipe: whole lines, promptly. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *fd_s = getenv("AMPVQ_SHM_FD");
    const char *size_s = getenv("AMPVQ_SHM_SIZE");
    const char *avoid_s = getenv("AMPVQ_SHM_AVOID");

    if (fd_s == NULL || size_s == NULL) {
        fprintf(stderr, "ampvq: sub core must be started by its main core\n");
        return 2;
    }
    uint32_t size = (uint32_t)strtoul(size_s, NULL, 0);
    const void *avoid = avoid_s != NULL ? (const void *)(uintptr_t)strtoull(avoid_s, NULL, 16) : NULL;
    void *base = ampvq_posix_shm_map(atoi(fd_s), size, avoid);
    if (base == NULL) {
        perror("ampvq: map shared memory");
        return 2;
    }
    ampvq_posix_attach(AMPVQ_CORE_SUB, base, size);
    ampvq_posix_set_default_core(AMPVQ_CORE_SUB);

    int rc = subcore_main();
    ampvq_posix_teardown();
    ampvq_posix_shm_unmap(base, size);
    return rc;
}
