/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Entry points of an ampvq application, for ports that start the cores
 * themselves (posix launchers, bare-metal startup code). An application
 * defines one or both; the port's startup calls them on the right core.
 */
#ifndef AMPVQ_APP_H
#define AMPVQ_APP_H

#ifdef __cplusplus
extern "C" {
#endif

/** Main core's application. Its return value is the program's exit status
 *  (0 = success) on ports that have one. */
int app_main(void);

/** Sub core's application, started by esp_amp_start_subcore(). */
int subcore_main(void);

#ifdef __cplusplus
}
#endif

#endif /* AMPVQ_APP_H */
