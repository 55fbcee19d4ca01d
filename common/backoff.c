/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jittered exponential reconnect backoff. */
#include "common/backoff.h"

uint64_t gk_backoff_delay_usec(unsigned failures, uint32_t random32)
{
	uint64_t nominal = GK_BACKOFF_BASE_USEC;
	uint64_t half;

	if (failures < 1)
		failures = 1;

	/* Double per failure; stop before overflow once the cap is reached. */
	for (unsigned i = 1; i < failures && nominal < GK_BACKOFF_CAP_USEC; i++)
		nominal *= 2;
	if (nominal > GK_BACKOFF_CAP_USEC)
		nominal = GK_BACKOFF_CAP_USEC;

	/*
	 * "Equal jitter": half fixed, half random. The full-range variant
	 * could retry at once after a failure, which hammers a busy adapter or broker.
	 */
	half = nominal / 2;
	return half + (half * (uint64_t)random32) / UINT32_MAX;
}
