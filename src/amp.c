/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Bring-up and the ESP-AMP platform helpers, over the port.
 */
#include "esp_amp.h"
#include "ampvq_atomic.h"
#include "ampvq_priv.h"

/* A sub core starting (again) takes the next instance number: queues it
 * opens from now on carry it, and the main core resets any ring an earlier
 * instance left behind (docs/sessions.md). */
void ampvq_sub_session_bump(void)
{
    ampvq_region_hdr_t *hdr = ampvq_region();
    uint32_t s = (AMPVQ_READ_ONCE(&hdr->session[AMPVQ_CORE_SUB]) + 1u) & ~AMPVQ_SESSION_FRESH;
    AMPVQ_WRITE_ONCE(&hdr->session[AMPVQ_CORE_SUB], s + (s == 0));
}

int esp_amp_init(void)
{
    int err = esp_amp_sys_info_init();

    if (err == ESP_OK && ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        ampvq_sub_session_bump();
    }
    if (err == ESP_OK) {
        err = esp_amp_sw_intr_init();
    }
    if (err == ESP_OK) {
        err = esp_amp_event_init();
    }
    return err;
}

int esp_amp_start_subcore(void)
{
    if (ampvq_port_core_id() != AMPVQ_CORE_MAIN) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    return ampvq_port_start_subcore() == 0 ? ESP_OK : ESP_FAIL;
}

int esp_amp_platform_get_core_id(void)
{
    return ampvq_port_core_id();
}

void esp_amp_platform_delay_ms(uint32_t time)
{
    while (time-- > 0) {
        ampvq_port_delay_us(1000);
    }
}

void esp_amp_platform_delay_us(uint32_t time)
{
    ampvq_port_delay_us(time);
}

uint32_t esp_amp_platform_get_time_ms(void)
{
    return ampvq_port_time_ms();
}
