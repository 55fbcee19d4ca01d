/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of IMU clock mapping and ACC/gyro pairing (ble/imu.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ble/imu.h"

#define MS 1000ULL
#define S 1000000ULL

/* The least-delayed frame sets the offset; slower ones do not move it. */
static void test_clock_min_delay(void **state)
{
	struct ble_imu_clock c = {};
	uint64_t sensor0 = 700000000000000000ULL;	/* ns, ~22 years after 2000 */

	/* frame 1 arrives 30 ms after its last sample */
	int64_t o1 = ble_imu_clock_update(&c, 10 * S + 30 * MS, sensor0);
	/* frame 2, 180 ms of sensor time later, arrives with only 5 ms delay */
	int64_t o2 = ble_imu_clock_update(&c, 10 * S + 185 * MS, sensor0 + 180000000ULL);
	/* frame 3 is late (50 ms): the offset creeps by 200 ppm at most */
	int64_t o3 = ble_imu_clock_update(&c, 10 * S + 410 * MS, sensor0 + 360000000ULL);

	assert_true(o2 < o1);
	assert_int_equal(o1 - o2, 25 * MS);
	assert_true(o3 >= o2 && o3 - o2 <= (int64_t)(180 * MS * 200 / 1000000 + 1));
	/* a sample at the frame-2 time maps to that frame's arrival (+ the creep) */
	assert_int_equal(ble_imu_clock_map(&c, sensor0 + 180000000ULL),
			 10 * S + 185 * MS + (uint64_t)(o3 - o2));
}

/* A sensor clock 100 ppm slower than ours is followed (offset grows). */
static void test_clock_follows_drift(void **state)
{
	struct ble_imu_clock c = {};
	uint64_t arrival = 5 * S, sensor = 1000000000ULL;
	int64_t first = 0, last = 0;

	for (int i = 0; i < 3600; i++) {	/* one hour, one frame a second */
		last = ble_imu_clock_update(&c, arrival + 2 * MS, sensor);
		if (!i)
			first = last;
		arrival += S + 100;		/* ours runs 100 us/s ahead */
		sensor += 1000000000ULL;
	}
	/* the true offset grew by 3600 * 100 us; we follow within a frame's delay */
	assert_true(last - first > (int64_t)(360 * MS - 3 * MS));
	assert_true(last - first < (int64_t)(360 * MS + 3 * MS));
}

static void test_clock_map_clamps(void **state)
{
	struct ble_imu_clock c = {};

	/* arrival far earlier than the sensor time: no negative times */
	(void)ble_imu_clock_update(&c, 1000, 5000000000000ULL);
	assert_int_equal(ble_imu_clock_map(&c, 0), 0);
	(void)ble_imu_clock_update(&c, UINT64_MAX / 4, UINT64_MAX);
	(void)ble_imu_clock_map(&c, UINT64_MAX);
}

static void push3(struct ble_imu_pairer *p, bool gyro, uint64_t t, float x)
{
	const float v[3] = { x, x + 1, x + 2 };

	if (gyro)
		ble_imu_push_gyro(p, t, 0, v);
	else
		ble_imu_push_acc(p, t, 0, v);
}

/* Without gyro every ACC sample goes out at once, in order. */
static void test_pair_acc_only(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample out[8];

	assert_non_null(p);
	p->rate_hz = 200;
	for (int i = 0; i < 5; i++)
		push3(p, false, 1000 * S + i * 5 * MS, (float)i);
	assert_int_equal(ble_imu_pop(p, 1000 * S, out, 8), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(out[i].t_usec, 1000 * S + i * 5 * MS);
		assert_true(out[i].acc_g[0] == (float)i);
		assert_true(isnan(out[i].gyro_dps[0]));
	}
	assert_int_equal(ble_imu_pop(p, 1000 * S, out, 8), 0);
	free(p);
}

/* Grids offset by 9 ms at 52 Hz (period 19.2 ms) pair up one to one. */
static void test_pair_offset_grids(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample out[64];
	uint64_t period = S / 52;

	assert_non_null(p);
	p->rate_hz = 52;
	p->gyro = true;
	p->gyro_span_usec = 36 * period;	/* learnt from earlier gyro frames */
	for (int i = 0; i < 36; i++)
		push3(p, false, 50 * S + i * period, (float)i);
	/* ACC frame first: everything waits for the gyro frame */
	assert_int_equal(ble_imu_pop(p, 50 * S + 36 * period, out, 64), 0);
	for (int i = 0; i < 36; i++)
		push3(p, true, 50 * S + i * period + 9 * MS, 100.0f + i);
	assert_int_equal(ble_imu_pop(p, 50 * S + 37 * period, out, 64), 36);
	for (int i = 0; i < 36; i++)
		assert_true(out[i].gyro_dps[0] == 100.0f + i);
	free(p);
}

/* A lost gyro frame: ACC goes out with NAN after the hold, not forever late. */
static void test_pair_hold_expires(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample out[8];

	assert_non_null(p);
	p->rate_hz = 52;
	p->gyro = true;
	push3(p, false, 10 * S, 1);
	assert_int_equal(ble_imu_pop(p, 10 * S + 400 * MS, out, 8), 0);
	assert_int_equal(ble_imu_pop(p, 10 * S + BLE_IMU_PAIR_HOLD_USEC, out, 8), 1);
	assert_true(isnan(out[0].gyro_dps[0]));

	/* a longer gyro frame span extends the hold to 1.5 frames */
	p->gyro_span_usec = 700 * MS;
	push3(p, false, 20 * S, 1);
	assert_int_equal(ble_imu_pop(p, 20 * S + 1000 * MS, out, 8), 0);
	assert_int_equal(ble_imu_pop(p, 20 * S + 1050 * MS, out, 8), 1);
	free(p);
}

/* A gyro sample later than any partner lets the ACC sample go with NAN. */
static void test_pair_no_partner(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample out[8];

	assert_non_null(p);
	p->rate_hz = 52;
	p->gyro = true;
	push3(p, true, 10 * S - 100 * MS, 7);	/* too old: dropped */
	push3(p, false, 10 * S, 1);
	push3(p, true, 10 * S + 100 * MS, 9);	/* too new for it */
	assert_int_equal(ble_imu_pop(p, 10 * S, out, 8), 1);
	assert_true(isnan(out[0].gyro_dps[0]));
	free(p);
}

/* A flood (or hostile timestamps) never grows memory: the FIFO drops oldest. */
static void test_pair_bounded(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample *out = calloc(BLE_IMU_FIFO, sizeof(*out));

	assert_non_null(p);
	assert_non_null(out);
	p->rate_hz = 52;
	p->gyro = true;
	for (unsigned i = 0; i < 3 * BLE_IMU_FIFO; i++) {
		push3(p, false, 1000 * S + i, (float)i);
		push3(p, true, UINT64_MAX - i, 0);
	}
	assert_int_equal(p->acc.n, BLE_IMU_FIFO);
	assert_int_equal(ble_imu_pop(p, UINT64_MAX / 2, out, BLE_IMU_FIFO), BLE_IMU_FIFO);
	assert_true(out[0].acc_g[0] == (float)(2 * BLE_IMU_FIFO));
	assert_int_equal(ble_imu_pop(p, UINT64_MAX / 2, out, 1), 0);
	ble_imu_pairer_reset(p);
	assert_int_equal(p->gyro_fifo.n, 0);
	free(out);
	free(p);
}

/*
 * The clock offset steps down by 12 ms between two frames (a frame with less
 * delay than all before): the samples never go backwards, keep at least 95 %
 * of a period apart, and are back on the new mapping after 12 / (5 * 0.05)
 * = 48 samples.
 */
static void test_pair_slew(void **state)
{
	struct ble_imu_pairer *p = calloc(1, sizeof(*p));
	struct ble_imu_sample out[128];
	size_t n;

	assert_non_null(p);
	p->rate_hz = 200;
	for (int i = 0; i < 10; i++)	/* old mapping */
		push3(p, false, 1000 * S + i * 5 * MS, (float)i);
	for (int i = 10; i < 100; i++)	/* new mapping: 12 ms earlier */
		push3(p, false, 1000 * S + i * 5 * MS - 12 * MS, (float)i);
	n = ble_imu_pop(p, 1000 * S, out, 128);
	assert_int_equal(n, 100);
	for (size_t i = 1; i < n; i++)
		assert_true(out[i].t_usec >= out[i - 1].t_usec + 4750);
	assert_int_equal(out[9].t_usec, 1000 * S + 45 * MS);
	assert_true(out[10].t_usec == 1000 * S + 45 * MS + 4750);
	for (size_t i = 60; i < n; i++)
		assert_int_equal(out[i].t_usec, 1000 * S + i * 5 * MS - 12 * MS);
	/* a new connection starts afresh */
	ble_imu_pairer_reset(p);
	push3(p, false, 10 * S, 0);
	assert_int_equal(ble_imu_pop(p, 10 * S, out, 1), 1);
	assert_int_equal(out[0].t_usec, 10 * S);
	/* rate_hz says 25, the sensor's times 5 ms apart: their spacing rules,
	 * the times are not pushed 38 ms apart */
	ble_imu_pairer_reset(p);
	p->rate_hz = 25;
	for (int i = 0; i < 100; i++) {
		const float v[3] = { 0, 0, 1 };

		ble_imu_push_acc(p, 20 * S + i * 5 * MS, i ? 5 * MS : 0, v);
	}
	n = ble_imu_pop(p, 21 * S, out, 128);
	assert_int_equal(n, 100);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].t_usec, 20 * S + i * 5 * MS);
	free(p);
}

/* Frames of n samples at hz, from sensor time t0 (ns); returns the rate fed back. */
static unsigned rate_frames(struct ble_pmd_rate *r, unsigned assumed, double hz, unsigned n,
			    unsigned frames, uint64_t *t_ns)
{
	unsigned got = 0;
	uint64_t lost;

	for (unsigned i = 0; i < frames && !got; i++) {
		*t_ns += (uint64_t)(n * 1e9 / hz);
		got = ble_pmd_rate_feed(r, assumed, *t_ns, n, &lost);
	}
	return got;
}

/*
 * A stream fed as decode_pmd_data() in ble/manager.c does: one frame of n
 * samples every gap_frames x n / hz s of sensor time (2: one frame lost
 * before it), at the rate in use, which follows what ble_pmd_rate_feed()
 * returns. Adds the frames booked lost to *lost.
 */
static void lost_frames(struct ble_pmd_rate *r, unsigned *rate_hz, double hz, unsigned n,
			unsigned gap_frames, unsigned frames, uint64_t *t_ns, uint64_t *lost)
{
	for (unsigned i = 0; i < frames; i++) {
		uint64_t booked;
		unsigned got;

		*t_ns += (uint64_t)(gap_frames * n * 1e9 / hz);
		got = ble_pmd_rate_feed(r, *rate_hz, *t_ns, n, &booked);
		*lost += booked;
		if (got)
			*rate_hz = got;
	}
}

static void test_pmd_rate(void **state)
{
	struct ble_pmd_rate r = {};
	uint64_t t = 1000000000ULL, lost;

	/* as started: never reported */
	assert_int_equal(rate_frames(&r, 52, 52.0, 36, 50, &t), 0);
	/* asked 200, the stream runs at 50 (another client's): reported on the
	 * 4th frame (the first has no predecessor, then 3 votes) */
	r = (struct ble_pmd_rate) {};
	assert_int_equal(rate_frames(&r, 200, 50.0, 10, 3, &t), 0);
	assert_int_equal(rate_frames(&r, 200, 50.0, 10, 1, &t), 50);
	/* asked 25, runs at 200 (the direction that would stall the times) */
	r = (struct ble_pmd_rate) {};
	assert_int_equal(rate_frames(&r, 25, 200.0, 40, 4, &t), 200);
	/* snapped to a Polar rate within 5 %; other rates rounded */
	r = (struct ble_pmd_rate) {};
	assert_int_equal(rate_frames(&r, 200, 51.0, 36, 4, &t), 52);
	r = (struct ble_pmd_rate) {};
	assert_int_equal(rate_frames(&r, 200, 60.0, 36, 4, &t), 60);
	/* lost notifications (one frame spans two) never decide */
	r = (struct ble_pmd_rate) {};
	for (unsigned i = 0; i < 40; i++)
		assert_int_equal(rate_frames(&r, 50, i % 3 == 2 ? 25.0 : 50.0, 10, 1, &t), 0);
	/* two disagreeing frames, then an agreeing one: the votes start over */
	r = (struct ble_pmd_rate) {};
	assert_int_equal(rate_frames(&r, 50, 50.0, 10, 1, &t), 0);
	assert_int_equal(rate_frames(&r, 50, 100.0, 10, 2, &t), 0);
	assert_int_equal(rate_frames(&r, 50, 50.0, 10, 1, &t), 0);
	assert_int_equal(rate_frames(&r, 50, 100.0, 10, 2, &t), 0);
	/* a sensor clock that goes back, no samples, no rate: 0 */
	assert_int_equal(ble_pmd_rate_feed(&r, 50, 1, 10, &lost), 0);
	assert_int_equal(ble_pmd_rate_feed(&r, 50, 2, 0, &lost), 0);
	assert_int_equal(ble_pmd_rate_feed(&r, 0, 3, 10, &lost), 0);
	assert_int_equal(lost, 0);
}

static void test_pmd_rate_lost(void **state)
{
	struct ble_pmd_rate r = {};
	uint64_t t = 1000000000ULL, lost = 0;
	unsigned rate = 200;

	/*
	 * A 100 Hz stream (another client's, "already in state") started as
	 * 200 Hz: frames 2-4 each span two frames' time at 200 Hz, as if one
	 * was lost before each, until the 4th makes 100 Hz the rate. Nothing
	 * was lost: 0 (counting at once gave 3).
	 */
	lost_frames(&r, &rate, 100.0, 36, 1, 4, &t, &lost);
	assert_int_equal(rate, 100);
	assert_int_equal(lost, 0);
	lost_frames(&r, &rate, 100.0, 36, 1, 20, &t, &lost);
	assert_int_equal(lost, 0);
	/* at the right rate one frame lost counts 1, booked by the next frame */
	lost_frames(&r, &rate, 100.0, 36, 2, 1, &t, &lost);
	assert_int_equal(lost, 0);
	lost_frames(&r, &rate, 100.0, 36, 1, 1, &t, &lost);
	assert_int_equal(lost, 1);
	/* three in a row: one gap of four frames' time */
	lost_frames(&r, &rate, 100.0, 36, 4, 1, &t, &lost);
	lost_frames(&r, &rate, 100.0, 36, 1, 5, &t, &lost);
	assert_int_equal(lost, 4);
	assert_int_equal(rate, 100);

	/* started right, a frame lost before any frame agreed: still 1 */
	r = (struct ble_pmd_rate) {};
	rate = 200;
	lost = 0;
	lost_frames(&r, &rate, 200.0, 36, 1, 1, &t, &lost);
	lost_frames(&r, &rate, 200.0, 36, 2, 1, &t, &lost);
	lost_frames(&r, &rate, 200.0, 36, 1, 10, &t, &lost);
	assert_int_equal(rate, 200);
	assert_int_equal(lost, 1);

	/* started as 25 Hz, runs at 200: the gaps are short, never a loss */
	r = (struct ble_pmd_rate) {};
	rate = 25;
	lost = 0;
	lost_frames(&r, &rate, 200.0, 36, 1, 10, &t, &lost);
	assert_int_equal(rate, 200);
	assert_int_equal(lost, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/ble/imu/clock-min-delay", test_clock_min_delay, NULL, NULL, NULL },
		{ "/ble/imu/clock-follows-drift", test_clock_follows_drift, NULL, NULL, NULL },
		{ "/ble/imu/clock-map-clamps", test_clock_map_clamps, NULL, NULL, NULL },
		{ "/ble/imu/pair-acc-only", test_pair_acc_only, NULL, NULL, NULL },
		{ "/ble/imu/pair-offset-grids", test_pair_offset_grids, NULL, NULL, NULL },
		{ "/ble/imu/pair-hold-expires", test_pair_hold_expires, NULL, NULL, NULL },
		{ "/ble/imu/pair-no-partner", test_pair_no_partner, NULL, NULL, NULL },
		{ "/ble/imu/pair-bounded", test_pair_bounded, NULL, NULL, NULL },
		{ "/ble/imu/pair-slew", test_pair_slew, NULL, NULL, NULL },
		{ "/ble/imu/pmd-rate", test_pmd_rate, NULL, NULL, NULL },
		{ "/ble/imu/pmd-rate-lost", test_pmd_rate_lost, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("ble/imu", tests, NULL, NULL);
}
