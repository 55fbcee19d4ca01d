/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jittered exponential reconnect backoff (pure: the caller supplies randomness). */
#pragma once

#include <stdint.h>

#define BLE_BACKOFF_BASE_USEC	500000ULL	/* first retry after 0.25-0.5 s */
#define BLE_BACKOFF_CAP_USEC	8000000ULL	/* issue #5: capped at 8 s */

/*
 * Delay before attempt number failures + 1, after `failures` consecutive
 * failures (failures >= 1; 0 is treated as 1). The nominal delay doubles
 * from BLE_BACKOFF_BASE_USEC up to BLE_BACKOFF_CAP_USEC; the result is
 * drawn uniformly from [nominal / 2, nominal] using random32 (any 32-bit
 * value), so sensors that fail together do not retry together. Never
 * returns more than BLE_BACKOFF_CAP_USEC.
 */
uint64_t ble_backoff_delay_usec(unsigned failures, uint32_t random32);
