/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * What each hart runs once start.S has given it a stack: the application's
 * entry points, then the exit status. Compiled into every firmware (like the
 * posix port's launchers), not into the library, because it calls the
 * application and takes the application's DEFINITIONS.
 *
 * The status mirrors the posix launcher: app_main()'s, or the sub core's if
 * app_main() succeeded, or AMPVQ_RISCV_EXIT_SUB_TIMEOUT if the sub core is
 * still running AMPVQ_RISCV_SUB_TIMEOUT_MS after app_main() returned.
 */
#include <stdint.h>
#include <stdio.h>

#include "ampvq/app.h"
#include "ampvq/port.h"
#include "ampvq/riscv_virt.h"
#include "riscv_virt_priv.h"

#ifndef AMPVQ_RISCV_SUB_TIMEOUT_MS
#define AMPVQ_RISCV_SUB_TIMEOUT_MS 10000u
#endif

static uint32_t sub_finished;
static int sub_rc;

void ampvq_riscv_main_hart(void)
{
    ampvq_riscv_hart_setup();
    int rc = app_main();

    if (rc == 0 && __atomic_load_n(&ampvq_riscv_sub_go, __ATOMIC_RELAXED) != 0) {
        uint32_t start = ampvq_port_time_ms();
        /* Acquire pairs with the release in ampvq_riscv_sub_hart(): sub_rc. */
        while (__atomic_load_n(&sub_finished, __ATOMIC_ACQUIRE) == 0) {
            if (ampvq_port_time_ms() - start >= AMPVQ_RISCV_SUB_TIMEOUT_MS) {
                printf("ampvq riscv-virt: sub core did not finish in time\n");
                ampvq_riscv_exit(AMPVQ_RISCV_EXIT_SUB_TIMEOUT);
            }
            ampvq_port_delay_us(1000);
        }
        if (sub_rc != 0) {
            printf("ampvq riscv-virt: sub core exited with %d\n", sub_rc);
            rc = sub_rc;
        }
    }
    ampvq_riscv_exit(rc);
}

void ampvq_riscv_sub_abandoned(void)
{
    /* Hart 0, with hart 1 held in its boot wait: nobody else writes these.
     * The next instance's result is the one that counts. */
    sub_rc = 0;
    __atomic_store_n(&sub_finished, 0u, __ATOMIC_RELAXED);
}

void ampvq_riscv_sub_hart(void)
{
    ampvq_riscv_hart_setup();
    sub_rc = subcore_main();
    __atomic_store_n(&sub_finished, 1u, __ATOMIC_RELEASE);
    /* Stay alive with interrupts on: the sub core's handlers keep serving
     * the main core until it exits. */
    for (;;) {
        __asm__ volatile("wfi" : : : "memory");
    }
}
