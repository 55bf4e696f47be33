/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Blocking-call test (block.h), processes form, sub core.
 */
#include "ampvq/app.h"
#include "block.h"

int subcore_main(void)
{
    return block_sub_core();
}
