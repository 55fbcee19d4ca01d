/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IMU samples: sensor clock to CLOCK_MONOTONIC, ACC/gyro pairing. */
#include <math.h>
#include <string.h>

#include "ble/imu.h"
#include "common/macro.h"
#include "proto/pmd.h"

int64_t ble_imu_clock_update(struct ble_imu_clock *c, uint64_t arrival_usec,
			     uint64_t sensor_ns)
{
	/* Both fit in int64: sensor time < 2^64 ns = 1.8e13 us. */
	int64_t sensor_usec = (int64_t)(sensor_ns / 1000);
	int64_t off = (int64_t)arrival_usec - sensor_usec;

	if (c->has_offset && sensor_usec > c->last_sensor_usec)
		c->offset_usec += (sensor_usec - c->last_sensor_usec) *
				  BLE_IMU_CLOCK_DRIFT_PPM / 1000000;
	if (!c->has_offset || off < c->offset_usec) {
		c->offset_usec = off;
		c->has_offset = true;
	}
	c->last_sensor_usec = sensor_usec;
	return c->offset_usec;
}

uint64_t ble_imu_clock_map(const struct ble_imu_clock *c, uint64_t sensor_ns)
{
	int64_t t = (int64_t)(sensor_ns / 1000) + c->offset_usec;

	return t > 0 ? (uint64_t)t : 0;
}

static void fifo_push(struct ble_imu_fifo *f, unsigned rate_hz, uint64_t period_usec, uint64_t t,
		      const float v[3])
{
	double period = period_usec ? (double)period_usec : 1e6 / (rate_hz ? rate_hz : 1);
	uint64_t gap = (uint64_t)(period * (1 - BLE_IMU_SLEW));
	unsigned i;

	if (gap < 1)
		gap = 1;
	if (f->has_last && f->last_t_usec <= UINT64_MAX - gap && t < f->last_t_usec + gap)
		t = f->last_t_usec + gap;
	f->has_last = true;
	f->last_t_usec = t;

	if (f->n == BLE_IMU_FIFO) {	/* overflow: drop the oldest */
		f->head = (f->head + 1) % BLE_IMU_FIFO;
		f->n--;
	}
	i = (f->head + f->n) % BLE_IMU_FIFO;
	f->e[i].t_usec = t;
	memcpy(f->e[i].v, v, sizeof(f->e[i].v));
	f->n++;
}

static const struct ble_imu_entry *fifo_peek(const struct ble_imu_fifo *f)
{
	return f->n ? &f->e[f->head] : NULL;
}

static void fifo_pop(struct ble_imu_fifo *f)
{
	f->head = (f->head + 1) % BLE_IMU_FIFO;
	f->n--;
}

void ble_imu_pairer_reset(struct ble_imu_pairer *p)
{
	p->acc.n = p->acc.head = 0;
	p->gyro_fifo.n = p->gyro_fifo.head = 0;
	p->acc.has_last = p->gyro_fifo.has_last = false;
	p->gyro_span_usec = 0;
}

void ble_imu_push_acc(struct ble_imu_pairer *p, uint64_t t_usec, uint64_t period_usec,
		      const float g[3])
{
	fifo_push(&p->acc, p->rate_hz, period_usec, t_usec, g);
}

void ble_imu_push_gyro(struct ble_imu_pairer *p, uint64_t t_usec, uint64_t period_usec,
		       const float dps[3])
{
	fifo_push(&p->gyro_fifo, p->rate_hz, period_usec, t_usec, dps);
}

size_t ble_imu_pop(struct ble_imu_pairer *p, uint64_t now_usec,
		   struct ble_imu_sample *out, size_t cap)
{
	unsigned rate = p->rate_hz ? p->rate_hz : 1;
	/* Grids of equal rate are at most half a period apart; allow rounding. */
	uint64_t half = 1000000ULL / rate / 2 + 200;
	uint64_t hold = p->gyro_span_usec * 3 / 2;
	const struct ble_imu_entry *a;
	size_t n = 0;

	if (hold < BLE_IMU_PAIR_HOLD_USEC)
		hold = BLE_IMU_PAIR_HOLD_USEC;

	while (n < cap && (a = fifo_peek(&p->acc))) {
		struct ble_imu_sample *o = &out[n];
		const struct ble_imu_entry *g;

		/* Gyro samples older than this ACC sample have no partner. */
		while ((g = fifo_peek(&p->gyro_fifo)) && g->t_usec + half < a->t_usec)
			fifo_pop(&p->gyro_fifo);

		o->t_usec = a->t_usec;
		for (unsigned k = 0; k < 3; k++) {
			o->acc_g[k] = a->v[k];
			o->gyro_dps[k] = NAN;
		}
		if (g && g->t_usec <= a->t_usec + half) {
			memcpy(o->gyro_dps, g->v, sizeof(o->gyro_dps));
			fifo_pop(&p->gyro_fifo);
		} else if (p->gyro && !g && a->t_usec + hold > now_usec) {
			break;		/* its gyro frame may still come */
		}
		fifo_pop(&p->acc);
		n++;
	}
	return n;
}

/* ---- PMD stream rate --------------------------------------------------------- */

static unsigned snap_polar_rate(double hz)
{
	static const unsigned rates[] = { 25, 26, 50, 52, 100, 104, 200, 208, 416, 833, 1666 };

	unsigned best = 0;

	for (size_t i = 0; i < ELEMENTSOF(rates); i++)
		if (fabs(hz - rates[i]) <= 0.05 * rates[i] &&
		    (!best || fabs(hz - rates[i]) < fabs(hz - best)))
			best = rates[i];
	if (best)
		return best;
	return hz >= 1 ? (unsigned)lround(hz) : 1;
}

unsigned ble_pmd_rate_feed(struct ble_pmd_rate *r, unsigned rate_hz, uint64_t sensor_ns,
			   size_t n_samples, uint64_t *ret_lost)
{
	uint64_t prev = r->last_ns;
	double hz;
	unsigned c;

	*ret_lost = 0;
	r->last_ns = sensor_ns;
	if (!prev || sensor_ns <= prev || n_samples == 0 || !rate_hz) {
		r->votes = 0;
		return 0;
	}
	hz = (double)n_samples * 1e9 / (double)(sensor_ns - prev);
	if (fabs(hz - rate_hz) <= BLE_PMD_RATE_TOLERANCE * rate_hz) {
		/*
		 * The stream runs at rate_hz: what the frames before counted
		 * at it was lost. This frame's own gap is within 1.25 of its
		 * span, never a loss (pmd_frames_missed() wants over 1.5).
		 */
		*ret_lost = r->lost_held;
		r->lost_held = 0;
		r->votes = 0;
		return 0;
	}
	/* A lost frame, or a stream at another rate: the next frames say which. */
	r->lost_held += pmd_frames_missed(prev, sensor_ns, n_samples, rate_hz);
	c = snap_polar_rate(hz);
	if (r->votes && fabs((double)c - r->candidate_hz) <=
			BLE_PMD_RATE_TOLERANCE * r->candidate_hz) {
		r->votes++;
	} else {
		r->candidate_hz = c;
		r->votes = 1;
	}
	if (r->votes < BLE_PMD_RATE_VOTES)
		return 0;
	/* The gaps held were the stream's own rate, measured against the wrong one. */
	r->lost_held = 0;
	r->votes = 0;
	return r->candidate_hz;
}
