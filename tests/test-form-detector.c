// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The detector's stillness blocks (form/detector.c): what "standing still"
 * is, hand-computed. The engine takes "up" from the last one before the
 * first step and sees a sensor put back otherwise by them between runs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "form/detector.h"

static void no_step(const struct form_step *s, void *userdata)
{
	(void)s;
	(void)userdata;
}

static void feed(struct form_detector *d, uint64_t t_usec, double ax, double ay, double az)
{
	struct form_imu_sample x = {
		.t_usec = t_usec, .ax = ax, .ay = ay, .az = az,
		.gx = NAN, .gy = NAN, .gz = NAN,
	};

	form_detector_feed(d, &x, no_step, NULL);
}

/*
 * 100 Hz for 0.6 s: a pitched sensor (30 deg: 0.5 g forward, 0.866 g up)
 * with +-0.04 g alternating on every axis (SD 0.04 g < 0.05 g). The block
 * ends at 0.5 s; its mean is the tilt (51 samples, odd: one +0.04 left over).
 */
static void test_still_block(void **state)
{
	struct form_detector d;

	form_detector_init(&d);
	for (unsigned i = 0; i <= 60; i++) {
		double n = i % 2 ? -0.04 : 0.04;

		feed(&d, 1000000 + i * 10000ull, 0.5 + n, n, 0.866 + n);
	}
	assert_true(d.have_still);
	assert_int_equal(d.t_still, 1500000);
	assert_true(fabs(d.g_still[0] - (0.5 + 0.04 / 51)) < 1e-9);
	assert_true(fabs(d.g_still[1] - 0.04 / 51) < 1e-9);
	assert_true(fabs(d.g_still[2] - (0.866 + 0.04 / 51)) < 1e-9);
}

/* The same with +-0.06 g on one axis only (SD 0.06 g): not still. */
static void test_not_still(void **state)
{
	struct form_detector d;

	form_detector_init(&d);
	for (unsigned i = 0; i <= 60; i++)
		feed(&d, 1000000 + i * 10000ull, 0.5, i % 2 ? -0.06 : 0.06, 0.866);
	assert_false(d.have_still);
	/* nor a still sensor in free fall or under 1.3 g (|mean| not 1 +- 0.2 g) */
	form_detector_init(&d);
	for (unsigned i = 0; i <= 60; i++)
		feed(&d, 1000000 + i * 10000ull, 0, 0, 0.75);
	assert_false(d.have_still);
	form_detector_init(&d);
	for (unsigned i = 0; i <= 60; i++)
		feed(&d, 1000000 + i * 10000ull, 0, 0, 1.25);
	assert_false(d.have_still);
}

/* 25 Hz (a Polar H10's lowest rate): 13 samples in the block, still. */
static void test_still_25hz(void **state)
{
	struct form_detector d;

	form_detector_init(&d);
	for (unsigned i = 0; i <= 13; i++)
		feed(&d, 1000000 + i * 40000ull, 0, 0, 1);
	assert_true(d.have_still);
	assert_int_equal(d.t_still, 1520000);
}

/*
 * A block does not span a gap in the stream: two equal samples 1 s apart
 * (a dropout while bent over, say) are not half a second of stillness, and
 * neither are a few samples after it.
 */
static void test_still_not_across_gap(void **state)
{
	struct form_detector d;

	form_detector_init(&d);
	feed(&d, 1000000, 0.7, 0, 0.7);
	feed(&d, 2000000, 0.7, 0, 0.7);
	assert_false(d.have_still);
	for (unsigned i = 1; i <= 4; i++)
		feed(&d, 2000000 + i * 200000ull, 0.7, 0, 0.7);
	assert_false(d.have_still);
	/* the stream goes on at 100 Hz: a block from the gap on counts */
	for (unsigned i = 1; i <= 60; i++)
		feed(&d, 2800000 + i * 10000ull, 0.7, 0, 0.7);
	assert_true(d.have_still);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/detector/still-block", test_still_block, NULL, NULL, NULL },
		{ "/form/detector/not-still", test_not_still, NULL, NULL, NULL },
		{ "/form/detector/still-25hz", test_still_25hz, NULL, NULL, NULL },
		{ "/form/detector/still-not-across-gap", test_still_not_across_gap, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
