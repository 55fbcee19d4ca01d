/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jittered exponential reconnect backoff of BLE links and the MQTT broker link
 * (pure: the caller supplies randomness). */
#pragma once

#include <stdint.h>

#define GK_BACKOFF_BASE_USEC	500000ULL	/* first retry after 0.25-0.5 s */
#define GK_BACKOFF_CAP_USEC	8000000ULL	/* issue #5, reliability.md R2: 8 s */

/*
 * Delay before attempt number failures + 1, after `failures` consecutive
 * failures (failures >= 1; 0 is treated as 1). The nominal delay doubles
 * from GK_BACKOFF_BASE_USEC up to GK_BACKOFF_CAP_USEC; the result is
 * drawn uniformly from [nominal / 2, nominal] using random32 (any 32-bit
 * value), so sensors or gateways that fail together do not retry together,
 * at the cap too (half the delays there are not all the cap itself). Never
 * returns more than GK_BACKOFF_CAP_USEC.
 */
uint64_t gk_backoff_delay_usec(unsigned failures, uint32_t random32);
