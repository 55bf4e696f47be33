/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Stress test, processes form, main core (the posix launcher provides
 * main() and starts stress_proc-sub, which maps the shared memory at another
 * address). The launcher passes no arguments, so the knobs come from the
 * environment variable AMPVQ_STRESS_ARGS, e.g.
 *   AMPVQ_STRESS_ARGS="--count 1000000 --mode intr --master sub" stress_proc
 * The sub core reads them from shared memory, where this core puts them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ampvq/app.h"
#include "ampvq/port.h"
#include "stress.h"

int app_main(void)
{
    stress_cfg_t cfg;

    stress_cfg_default(&cfg);
    int p = stress_parse_string(&cfg, getenv("AMPVQ_STRESS_ARGS"));
    if (p != 0) {
        return p > 0 ? 0 : 2;
    }
    if (cfg.one_view) {
        printf("FAIL: --views one is for the threads form (two processes always map twice)\n");
        return 2;
    }
    uint32_t need = stress_shm_bytes(&cfg);
    if (need > ampvq_port_shm_size()) {
        printf("FAIL: this queue needs %u bytes of shared memory, the launcher made %u: set AMPVQ_SHM_SIZE\n",
               need, ampvq_port_shm_size());
        return 2;
    }
    return stress_main_core(&cfg, "processes");
}
