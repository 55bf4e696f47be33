/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Stress test, processes form, sub core: started by the main core's
 * esp_amp_start_subcore(); takes its knobs from shared memory.
 */
#include "ampvq/app.h"
#include "stress.h"

int subcore_main(void)
{
    return stress_sub_core(true);
}
