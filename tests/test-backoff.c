/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the jittered exponential reconnect backoff (common/backoff.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/backoff.h"

/* Nominal delay after n failures: 0.5 s doubling, capped at 8 s. */
static uint64_t nominal(unsigned n)
{
	uint64_t d = GK_BACKOFF_BASE_USEC;

	for (unsigned i = 1; i < n && d < GK_BACKOFF_CAP_USEC; i++)
		d *= 2;
	return d > GK_BACKOFF_CAP_USEC ? GK_BACKOFF_CAP_USEC : d;
}

static void test_bounds(void **state)
{
	static const uint32_t randoms[] = { 0, 1, 12345, UINT32_MAX / 2, UINT32_MAX - 1, UINT32_MAX };

	for (unsigned n = 0; n < 100; n++)
		for (size_t k = 0; k < sizeof(randoms) / sizeof(randoms[0]); k++) {
			uint64_t d = gk_backoff_delay_usec(n, randoms[k]);
			uint64_t nom = nominal(n ? n : 1);

			assert_true(d >= nom / 2);
			assert_true(d <= nom);
			assert_true(d <= GK_BACKOFF_CAP_USEC);
		}
}

static void test_doubling(void **state)
{
	/* with the largest random value the delay is the nominal one */
	assert_int_equal(gk_backoff_delay_usec(1, UINT32_MAX), 500000);
	assert_int_equal(gk_backoff_delay_usec(2, UINT32_MAX), 1000000);
	assert_int_equal(gk_backoff_delay_usec(3, UINT32_MAX), 2000000);
	assert_int_equal(gk_backoff_delay_usec(4, UINT32_MAX), 4000000);
	assert_int_equal(gk_backoff_delay_usec(5, UINT32_MAX), 8000000);
	assert_int_equal(gk_backoff_delay_usec(6, UINT32_MAX), 8000000);
	/* issue #5: capped at 8 s, also for absurd failure counts */
	assert_int_equal(gk_backoff_delay_usec(UINT32_MAX, UINT32_MAX), 8000000);
	/* the smallest random value gives half of it */
	assert_int_equal(gk_backoff_delay_usec(1, 0), 250000);
	assert_int_equal(gk_backoff_delay_usec(40, 0), 4000000);
	/* 0 failures behaves like 1 */
	assert_int_equal(gk_backoff_delay_usec(0, 0), 250000);
}

static void test_jitter_spreads(void **state)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	/* a linear congruential walk over the random input */
	for (uint32_t x = 1, i = 0; i < 1000; i++, x = x * 1664525u + 1013904223u) {
		uint64_t d = gk_backoff_delay_usec(5, x);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* two sensors failing together rarely retry together */
	assert_true(hi - lo > 3000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/backoff/bounds", test_bounds, NULL, NULL, NULL },
		{ "/backoff/doubling-and-cap", test_doubling, NULL, NULL, NULL },
		{ "/backoff/jitter-spreads", test_jitter_spreads, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
