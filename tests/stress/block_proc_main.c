/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Blocking-call test (block.h), processes form, main core. The posix
 * launcher passes no arguments: the knobs come from AMPVQ_BLOCK_ARGS, and
 * the sub core reads them from shared memory.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ampvq/app.h"
#include "block.h"

int app_main(void)
{
    block_cfg_t cfg;

    block_cfg_default(&cfg);
    if (block_parse_string(&cfg, getenv("AMPVQ_BLOCK_ARGS")) != 0) {
        return 2;
    }
    return block_main_core(&cfg, "processes");
}
