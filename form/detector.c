// SPDX-License-Identifier: GPL-2.0-or-later
/* form internals: orientation, step, initial contact and toe-off detection. */
#include <math.h>
#include <string.h>

#include "form/detector.h"
#include "form/stats.h"
#include "form/vec3.h"

#define G0 9.80665			/* m/s^2 per g */

/*
 * Contact timing (notes 5.3, tuned on the sacral force-plate trials, see
 * docs/validation.md). IC: the vertical acceleration rises through 30 % of
 * the way from the flight minimum to the stance peak, minus 7 ms. TO: a
 * linear model of when the vertical acceleration falls through 0.25 g and
 * 1.25 g after the stance peak, and of the step time. Both use levels
 * measured from the gravity-projected signal, not the flat zero of the
 * published (clipped) trials.
 */
#define IC_LEVEL_FRAC 0.3
#define IC_OFFSET_MS 7.0
#define TO_SEARCH_MS 80.0
#define TO_LEVEL_LOW_G 0.25
#define TO_LEVEL_HIGH_G 1.25
#define TO_C0_MS (-35.2)
#define TO_C_LOW 0.235
#define TO_C_HIGH 0.885
#define TO_C_STEP 0.158
/* Physiological limits (REID_IMU, Kiernan 2023; notes 5): <= 4.75 steps/s. */
#define STEP_MIN_S 0.21
#define STEP_MAX_S 1.5
#define PEAK_MIN_AMPLITUDE_G 0.25
#define FLIGHT_LEVEL_G 0.45
#define GRAVITY_TAU_S 4.0

/* Steps are coming and the first 4 s are over: gravity from whole strides. */
static bool gravity_by_stride(const struct form_detector *d)
{
	double dt = d->dt_s > 0 ? d->dt_s : 0.01;

	return d->n_peaks >= 2 && d->g_n * dt > GRAVITY_TAU_S &&
		d->n < d->last_peak_seen + (uint64_t)(2.0 / dt);
}

void form_detector_reset(struct form_detector *d)
{
	d->n = 0;
	d->n_holes = 0;
	d->box_i = 0;
	d->have_cand = false;
	d->n_peaks = 0;
	d->last_peak_seen = 0;	/* a sample number of the old count: not after n */
	/* a stride or a still block across the gap is not whole */
	memset(d->still_sum, 0, sizeof(d->still_sum));
	memset(d->still_sq, 0, sizeof(d->still_sq));
	d->still_n = 0;
	memset(d->whole_sum, 0, sizeof(d->whole_sum));
	memset(d->whole_hsum, 0, sizeof(d->whole_hsum));
	d->whole_n = 0;
	memset(d->sum1, 0, sizeof(d->sum1));
	memset(d->sum2, 0, sizeof(d->sum2));
	memset(d->box1, 0, sizeof(d->box1));
	memset(d->box2, 0, sizeof(d->box2));
}

void form_detector_forget_forward(struct form_detector *d)
{
	memset(d->ap_acc, 0, sizeof(d->ap_acc));
	memset(d->ap_pair, 0, sizeof(d->ap_pair));
	d->ap_steps = 0;
	d->ap_valid = false;
}

void form_detector_init(struct form_detector *d)
{
	memset(d, 0, sizeof(*d));
	d->w = 1;
	d->step_ema_s = 0.35;
	form_detector_reset(d);
}

static double ring_t(const struct form_detector *d, uint64_t i)
{
	return (double)d->t[i & FORM_RING_MASK];
}

static double ring_v(const struct form_detector *d, uint64_t i)
{
	return d->v[i & FORM_RING_MASK];
}

static double ring_ap(const struct form_detector *d, uint64_t i)
{
	double h1 = d->h1[i & FORM_RING_MASK], h2 = d->h2[i & FORM_RING_MASK];

	return h1 * d->ap[0] + h2 * d->ap[1];
}

static double ring_ml(const struct form_detector *d, uint64_t i)
{
	double h1 = d->h1[i & FORM_RING_MASK], h2 = d->h2[i & FORM_RING_MASK];

	return -h1 * d->ap[1] + h2 * d->ap[0];
}

/*
 * A hole in the samples between a and b: some sample in (a, b] came after
 * one (or, smoothed, w - 1 samples either side of it, which mix both sides).
 */
static bool hole_in(const struct form_detector *d, uint64_t a, uint64_t b)
{
	for (unsigned k = 0; k < d->n_holes; k++) {
		uint64_t h = d->hole[k];

		if (h + d->w > a + 1 && h <= b + d->w)
			return true;
	}
	return false;
}

/*
 * A time read off the signal (a level crossing, a minimum, a peak) within
 * a hole, or as close to one as the smoothing reaches (w samples): it may
 * lie in the hole, and is not to be trusted.
 */
static bool hole_near_len(const struct form_detector *d, double t, double min_len_us)
{
	double margin = d->w * (d->dt_s > 0 ? d->dt_s : 0.01) * 1e6;

	for (unsigned k = 0; k < d->n_holes; k++) {
		uint64_t h = d->hole[k];

		if (h == 0 || h + FORM_RING <= d->n + 1)
			continue;
		if (ring_t(d, h) - ring_t(d, h - 1) < min_len_us)
			continue;
		if (t > ring_t(d, h - 1) - margin && t < ring_t(d, h) + margin)
			return true;
	}
	return false;
}

static bool hole_near(const struct form_detector *d, double t)
{
	return hole_near_len(d, t, 0);
}

/* Time (usec) where v crosses level between samples i-1 and i. */
static double cross_time(const struct form_detector *d, uint64_t i, double level)
{
	double v0 = ring_v(d, i - 1), v1 = ring_v(d, i);
	double t0 = ring_t(d, i - 1), t1 = ring_t(d, i);
	double f = v1 != v0 ? (level - v0) / (v1 - v0) : 0.5;

	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	return t0 + f * (t1 - t0);
}

/* First sample index in (from, to] whose time is >= t. */
static uint64_t index_at(const struct form_detector *d, uint64_t from, uint64_t to, double t)
{
	uint64_t i = from;

	while (i < to && ring_t(d, i) < t)
		i++;
	return i;
}

/* Falling crossing time of level after 'from', up to 'to'; d_ms from peak. */
static bool fall_time(const struct form_detector *d, uint64_t from, uint64_t to,
		      double level, double *ret_t)
{
	if (ring_v(d, from) <= level) {
		*ret_t = ring_t(d, from);
		return true;
	}
	for (uint64_t i = from + 1; i <= to; i++)
		if (ring_v(d, i) <= level) {
			*ret_t = cross_time(d, i, level);
			return true;
		}
	return false;
}

/*
 * Per-step vertical oscillation: double integration of the vertical
 * acceleration over one step with mean removal and linear detrending
 * (Zijlstra & Hof 2003; notes 5.5).
 */
static double step_vo_mm(const struct form_detector *d, uint64_t a, uint64_t b)
{
	double mean = 0, vel = 0, pos = 0, vmean = 0, pmin, pmax, dt;
	unsigned n = (unsigned)(b - a);
	double p_end;

	if (n < 4)
		return NAN;

	dt = (ring_t(d, b) - ring_t(d, a)) / 1e6 / n;
	for (uint64_t i = a; i < b; i++)
		mean += ring_v(d, i);
	mean /= n;

	/* velocity, then its mean */
	for (uint64_t i = a; i < b; i++) {
		vel += (ring_v(d, i) - mean) * G0 * dt;
		vmean += vel;
	}
	vmean /= n;

	/* position with the velocity mean removed; then linear detrend */
	vel = 0;
	for (uint64_t i = a; i < b; i++) {
		vel += (ring_v(d, i) - mean) * G0 * dt;
		pos += (vel - vmean) * dt;
	}
	p_end = pos;
	vel = 0;
	pos = 0;
	pmin = INFINITY;
	pmax = -INFINITY;
	for (uint64_t i = a; i < b; i++) {
		double z;

		vel += (ring_v(d, i) - mean) * G0 * dt;
		pos += (vel - vmean) * dt;
		z = pos - p_end * (double)(i - a + 1) / n;
		if (z < pmin)
			pmin = z;
		if (z > pmax)
			pmax = z;
	}
	return (pmax - pmin) * 1000.0;
}

/*
 * Braking: forward velocity fluctuation from the AP acceleration (mean
 * removed over the step); speed loss = v(IC) - min v in stance (notes 5.8).
 */
static double step_braking_mps(const struct form_detector *d, uint64_t a, uint64_t to_i,
			       uint64_t b)
{
	double mean = 0, vel = 0, vmin = 0, dt;
	unsigned n = (unsigned)(b - a);

	if (n < 4 || !d->ap_valid)
		return NAN;

	dt = (ring_t(d, b) - ring_t(d, a)) / 1e6 / n;
	for (uint64_t i = a; i < b; i++)
		mean += ring_ap(d, i);
	mean /= n;
	for (uint64_t i = a; i <= to_i && i < b; i++) {
		vel += (ring_ap(d, i) - mean) * G0 * dt;
		if (vel < vmin)
			vmin = vel;
	}
	return -vmin;
}

/* Pelvic drop: obliquity excursion from IC to mid-stance (notes 5.7). */
static double step_pelvic_drop_deg(const struct form_detector *d, uint64_t a, uint64_t mid,
				   uint64_t b)
{
	double mean = 0, ang = 0, best = 0, dt;
	unsigned n = (unsigned)(b - a);

	if (!d->has_gyro || !d->ap_valid || n < 4)
		return NAN;

	dt = (ring_t(d, b) - ring_t(d, a)) / 1e6 / n;
	for (uint64_t i = a; i < b; i++)
		mean += d->gyro_ap[i & FORM_RING_MASK];
	mean /= n;
	for (uint64_t i = a; i <= mid && i < b; i++) {
		ang += (d->gyro_ap[i & FORM_RING_MASK] - mean) * dt;
		if (fabs(ang) > best)
			best = fabs(ang);
	}
	return best;
}

/*
 * Lateral sway: RMS of the lateral acceleration over the RMS of the whole
 * dynamic acceleration, step means removed ("ML RMS ratio"; Schutte 2015,
 * notes 5.10). Needs three axes and a known forward direction.
 */
static double step_sway_pct(const struct form_detector *d, uint64_t a, uint64_t b)
{
	double sv = 0, sa = 0, sm = 0, qv = 0, qa = 0, qm = 0, var_m, var_all;
	unsigned n = (unsigned)(b - a);

	if (n < 4 || !d->ap_valid || !(d->axis[0] && d->axis[1] && d->axis[2]))
		return NAN;

	for (uint64_t i = a; i < b; i++) {
		double v = ring_v(d, i), ap = ring_ap(d, i), ml = ring_ml(d, i);

		sv += v;
		sa += ap;
		sm += ml;
		qv += v * v;
		qa += ap * ap;
		qm += ml * ml;
	}
	var_m = qm / n - (sm / n) * (sm / n);
	var_all = var_m + qa / n - (sa / n) * (sa / n) + qv / n - (sv / n) * (sv / n);
	if (!(var_all > 0) || var_m < 0)
		return NAN;
	return 100.0 * sqrt(var_m / var_all);
}

/*
 * Finish step k (peak p, initial contact ic) now that the next initial
 * contact ic_next (peak pn) is known.
 */
static void finish_step(struct form_detector *d, uint64_t p, double ic, uint64_t pn,
			double ic_next, bool last, form_step_cb_t cb, void *userdata)
{
	struct form_step s = {};
	double step_ms = (ic_next - ic) / 1000.0, t_low, t_high, tp = ring_t(d, p);
	uint64_t from, i_ic, i_next, i_to, i_mid, lo_i = p;
	double lo = INFINITY;
	bool holed, to_ok;

	/* an IC whose flight phase was not observed is not reported */
	if (isnan(ic) || ic < 0)
		return;
	s.c.ic_usec = (uint64_t)llround(ic);
	s.c.step_time_ms = NAN;
	s.c.gct_ms = NAN;
	s.c.flight_ms = NAN;
	s.c.vertical_oscillation_mm = NAN;
	s.c.peak_vertical_g = NAN;
	s.c.braking_mps = NAN;
	s.c.trunk_lean_deg = NAN;
	s.c.pelvic_tilt_deg = NAN;
	s.c.pelvic_drop_deg = NAN;
	s.c.lateral_sway_pct = NAN;
	s.c.side = FORM_SIDE_UNKNOWN;
	s.stance_ml = NAN;

	i_ic = index_at(d, p > 200 ? p - 200 : 0, p, ic);
	/* walk back to the IC sample (index_at searched forward from a bound) */
	while (i_ic > 0 && ring_t(d, i_ic - 1) >= ic && i_ic + FORM_RING > d->n + 2)
		i_ic--;
	i_next = index_at(d, p, pn, ic_next);
	if (i_ic + FORM_RING <= d->n + 2)
		return;			/* fell out of the ring: skip */

	for (uint64_t i = p; i <= pn; i++)
		if (ring_v(d, i) < lo) {
			lo = ring_v(d, i);
			lo_i = i;
		}
	s.flight_min_g = lo;

	/*
	 * A hole anywhere in the step may have swallowed a whole stance (the
	 * interval would span two steps) and breaks the integrals over it:
	 * no step time, and so no toe-off (its model needs the step time),
	 * flight, vertical oscillation, braking, drop or sway.
	 */
	holed = hole_in(d, i_ic, i_next);
	if (step_ms / 1000.0 <= STEP_MAX_S && !last && !holed)
		s.c.step_time_ms = step_ms;

	/* toe-off: from the peak and two falls, none of them by a hole */
	from = index_at(d, p, pn, tp + TO_SEARCH_MS * 1000.0);
	to_ok = (isfinite(s.c.step_time_ms) || (last && !holed)) && !hole_near(d, tp) &&
		fall_time(d, from, pn, TO_LEVEL_HIGH_G, &t_high) && !hole_near(d, t_high);
	if (to_ok && !fall_time(d, from, pn, TO_LEVEL_LOW_G, &t_low))
		t_low = ring_t(d, lo_i);
	if (to_ok && !hole_near(d, t_low)) {
		double dl, dh, to_ms;

		dl = fmax(TO_SEARCH_MS, (t_low - tp) / 1000.0);
		dh = fmax(TO_SEARCH_MS, (t_high - tp) / 1000.0);
		to_ms = TO_C0_MS + TO_C_LOW * dl + TO_C_HIGH * dh + TO_C_STEP * step_ms;
		double to = tp + to_ms * 1000.0;
		double gct = (to - ic) / 1000.0;

		if (gct >= 60 && gct <= 500 && to < ic_next && to <= ring_t(d, pn)) {
			s.c.has_to = true;
			s.c.to_usec = (uint64_t)llround(to);
			s.c.gct_ms = gct;
			if (!last)
				s.c.flight_ms = (ic_next - to) / 1000.0;
		}
	}

	i_to = s.c.has_to ? index_at(d, i_ic, i_next, (double)s.c.to_usec) :
		index_at(d, i_ic, i_next, ic + 0.4 * step_ms * 1000.0);
	i_mid = i_ic + (i_to - i_ic) / 2;

	/*
	 * impact: peak vertical acceleration 0-60 ms after IC (notes 5.9), up
	 * to the next peak: i_next is this peak when the next contact is not
	 * reported (its IC is NAN), which would leave out the peak sample.
	 */
	{
		double pk = -INFINITY;

		for (uint64_t i = i_ic; i < pn && ring_t(d, i) <= ic + 60000.0; i++)
			pk = fmax(pk, ring_v(d, i));
		/* no sample there (a stream that ended at the IC): unknown */
		s.c.peak_vertical_g = isfinite(pk) && !hole_in(d, i_ic, p) ? pk : NAN;
	}

	if (isfinite(s.c.step_time_ms)) {
		s.c.vertical_oscillation_mm = step_vo_mm(d, i_ic, i_next);
		s.c.braking_mps = step_braking_mps(d, i_ic, i_to, i_next);
		s.c.pelvic_drop_deg = step_pelvic_drop_deg(d, i_ic, i_mid, i_next);
		s.c.lateral_sway_pct = step_sway_pct(d, i_ic, i_next);
	}

	/*
	 * Forward direction: early stance is braking (notes 5.1, 5.8). Steps
	 * are added in pairs (a stride) so that the left and right lateral
	 * pushes cancel; older strides fade by 0.9 each (re-checked all run).
	 */
	{
		uint64_t e = index_at(d, i_ic, i_next, ic + 30000.0);
		double m1 = 0, m2 = 0, ml = 0;
		unsigned n = 0;

		for (uint64_t i = i_ic; i <= e; i++, n++) {
			m1 += d->h1[i & FORM_RING_MASK];
			m2 += d->h2[i & FORM_RING_MASK];
		}
		if (n > 0 && isfinite(s.c.step_time_ms)) {
			d->ap_pair[0] -= m1 / n;
			d->ap_pair[1] -= m2 / n;
			d->ap_steps++;
			if (d->ap_steps % 2 == 0) {
				d->ap_acc[0] = 0.9 * d->ap_acc[0] + d->ap_pair[0];
				d->ap_acc[1] = 0.9 * d->ap_acc[1] + d->ap_pair[1];
				d->ap_pair[0] = 0;
				d->ap_pair[1] = 0;
			}
			if (d->ap_steps >= 4 && d->ap_steps % 2 == 0) {
				double nn = hypot(d->ap_acc[0], d->ap_acc[1]);

				if (nn > 0) {
					d->ap[0] = d->ap_acc[0] / nn;
					d->ap[1] = d->ap_acc[1] / nn;
					d->ap_valid = true;
				}
			}
		}
		if (d->ap_valid && d->axis[0] + d->axis[1] + d->axis[2] == 3) {
			n = 0;
			for (uint64_t i = i_ic; i <= i_mid; i++, n++)
				ml += ring_ml(d, i);
			if (n)
				s.stance_ml = ml / n;
		}
	}

	{
		double u[3] = { d->g[0], d->g[1], d->g[2] };

		normalize3(u);
		memcpy(s.orient_u, u, sizeof(u));
		s.orient_by_stride = d->g_by_stride;
		if (d->ap_valid)
			for (int k = 0; k < 3; k++)
				s.orient_ap[k] = d->ap[0] * d->b1[k] +
					d->ap[1] * d->b2[k];
	}
	cb(&s, userdata);
}

static void confirm_peak(struct form_detector *d, uint64_t p, form_step_cb_t cb, void *userdata)
{
	uint64_t start, lo_i = p, q;
	double lo = INFINITY, amp, level, ic, step_s;
	double span = 0.6e6;

	/* search window: since the previous peak, at most 0.6 s, inside the ring */
	start = p;
	while (start > 0 && start + FORM_RING > d->n + 4 &&
	       ring_t(d, p) - ring_t(d, start - 1) < span &&
	       (d->n_peaks == 0 || start - 1 > d->peak[1]))
		start--;
	for (uint64_t i = start; i <= p; i++)
		if (ring_v(d, i) < lo) {
			lo = ring_v(d, i);
			lo_i = i;
		}
	amp = ring_v(d, p) - lo;
	if (amp < PEAK_MIN_AMPLITUDE_G || lo_i == p)
		return;

	d->peak_ema = d->n_peaks ? 0.8 * d->peak_ema + 0.2 * ring_v(d, p) : ring_v(d, p);

	level = lo + IC_LEVEL_FRAC * amp;
	q = p;
	while (q > lo_i + 1 && ring_v(d, q - 1) > level)
		q--;
	ic = cross_time(d, q, level) - IC_OFFSET_MS * 1000.0;
	/*
	 * The stream started in stance: the flight minimum before the first
	 * peak is unseen. Either the lowest sample is the first one, or the
	 * look-back reached the stream's start and found no flight level,
	 * only the dip within a stance (a walk has no flight either: its
	 * first contact goes too).
	 */
	if (d->n_peaks == 0 &&
	    (lo_i == start || (start == 0 && ring_t(d, p) - ring_t(d, 0) < span &&
			       lo > FLIGHT_LEVEL_G)))
		ic = NAN;
	/*
	 * The crossing or the peak may lie in a long hole: like an unseen
	 * flight minimum, no contact and no step time (the peak still paces
	 * the detector). A flight minimum by a hole is kept: flight is flat
	 * enough that a lower one in the hole moves the level little (on
	 * the lost-block variants of docs/validation.md, gating it too only
	 * lost contacts).
	 */
	if (hole_near_len(d, ic + IC_OFFSET_MS * 1000.0, FORM_HOLE_RISE_S * 1e6) ||
	    hole_near_len(d, ring_t(d, p), FORM_HOLE_RISE_S * 1e6))
		ic = NAN;

	if (d->n_peaks >= 1) {
		step_s = (ic - d->ic_usec[1]) / 1e6;
		if (isfinite(step_s) && step_s >= STEP_MIN_S * 0.8 && step_s <= STEP_MAX_S)
			d->step_ema_s = 0.8 * d->step_ema_s + 0.2 * step_s;
		if (d->peak[1] + FORM_RING > d->n + 4)
			finish_step(d, d->peak[1], d->ic_usec[1], p, ic, false, cb, userdata);
	}
	d->peak[0] = d->peak[1];
	d->ic_usec[0] = d->ic_usec[1];
	d->peak[1] = p;
	d->ic_usec[1] = ic;
	d->n_peaks++;
	d->last_peak_seen = p;

	/* every second step ends a stride: its mean acceleration is gravity */
	if (d->n_peaks % 2 == 0) {
		bool by_stride = gravity_by_stride(d);

		/*
		 * Until the switch, gravity is the running mean, which ends part
		 * way through a stride: about 1 deg off while running. The whole
		 * strides meanwhile (from the second stride end) are summed, and
		 * at the switch gravity starts again from them alone. A stride
		 * with a hole in it lost part of its samples: it is not whole.
		 */
		if (d->stride_holed)
			d->stride_n = 0;
		d->stride_holed = false;
		if (d->stride_n > 0 && (by_stride ? d->whole_n > 0 : d->n_peaks >= 4)) {
			for (int i = 0; i < 3; i++)
				d->whole_sum[i] += d->stride_sum[i];
			for (int i = 0; i < 2; i++)
				d->whole_hsum[i] += d->stride_hsum[i];
			d->whole_n += d->stride_n;
		}
		if (by_stride && d->whole_n > 0) {
			for (int i = 0; i < 3; i++)
				d->g[i] = d->whole_sum[i] / d->whole_n;
			for (int i = 0; i < 2; i++)
				d->hmean[i] = d->whole_hsum[i] / d->whole_n;
			memset(d->whole_sum, 0, sizeof(d->whole_sum));
			memset(d->whole_hsum, 0, sizeof(d->whole_hsum));
			d->whole_n = 0;
			d->g_by_stride = true;
		} else if (by_stride && d->stride_n > 0) {
			double beta = fmin(1.0, d->stride_n * d->dt_s / GRAVITY_TAU_S);

			for (int i = 0; i < 3; i++)
				d->g[i] += (d->stride_sum[i] / d->stride_n - d->g[i]) * beta;
			for (int i = 0; i < 2; i++)
				d->hmean[i] += (d->stride_hsum[i] / d->stride_n - d->hmean[i]) * beta;
			d->g_by_stride = true;
		}
		memset(d->stride_sum, 0, sizeof(d->stride_sum));
		memset(d->stride_hsum, 0, sizeof(d->stride_hsum));
		d->stride_n = 0;
	}
}

void form_detector_flush(struct form_detector *d, form_step_cb_t cb, void *userdata)
{
	uint64_t head;

	if (d->n < d->w)
		return;
	head = d->n - d->w;	/* last smoothed sample */
	if (d->have_cand) {
		d->have_cand = false;
		confirm_peak(d, d->cand, cb, userdata);
	}
	if (d->n_peaks >= 1 && d->peak[1] + FORM_RING > d->n + 4 && head > d->peak[1])
		finish_step(d, d->peak[1], d->ic_usec[1], head,
			    d->ic_usec[1] + d->step_ema_s * 1e6, true, cb, userdata);
	d->n_peaks = 0;
}

/*
 * Sample m is r sample periods or more after sample from: counted in
 * samples, or in time when a hole (whose samples never came) may lie between.
 */
static bool samples_after(const struct form_detector *d, uint64_t m, uint64_t from, uint64_t r,
			  double dt)
{
	return m >= from + r ||
	       (d->n_holes > 0 && ring_t(d, m) - ring_t(d, from) >= ((double)r - 0.5) * dt * 1e6);
}

static void process(struct form_detector *d, uint64_t m, form_step_cb_t cb, void *userdata)
{
	double x = ring_v(d, m), thr, low, r_s, dt = d->dt_s > 0 ? d->dt_s : 0.01;
	uint64_t r;

	/* about 1 g whatever happens: kept over a reset */
	d->v_mean = !d->have_v_mean ? x : d->v_mean + (x - d->v_mean) * fmin(1.0, dt / 2.0);
	d->have_v_mean = true;
	if (d->peak_ema == 0)
		d->peak_ema = d->v_mean + 1.0;

	if (d->n % 16 == 0 || d->refractory == 0) {
		r_s = fmin(fmax(0.5 * d->step_ema_s, STEP_MIN_S), 0.3);
		d->refractory = (uint64_t)(r_s / dt);
		if (d->refractory == 0)
			d->refractory = 1;
	}
	r = d->refractory;
	thr = d->v_mean + fmax(0.15, 0.25 * (d->peak_ema - d->v_mean));
	/*
	 * Near free fall: the stance is over (running has a flight phase).
	 * Stance never gets this low, even between the humps of a forefoot
	 * landing (>= 0.8 g in the sacral trials); flight reads about 0 g.
	 */
	low = FLIGHT_LEVEL_G;

	/*
	 * A stance can have several humps (forefoot strikes); its peak is the
	 * highest. It ends when the signal drops to "low" (flight) or, without
	 * a flight phase (walking), after the refractory time; a higher hump
	 * after a flight belongs to the next stance, never to this one.
	 */
	if (x > thr && (!d->have_cand || x > d->cand_v) &&
	    (d->n_peaks == 0 || samples_after(d, m, d->peak[1], r, dt))) {
		d->have_cand = true;
		d->cand = m;
		d->cand_v = x;
	}
	if (x < low && d->have_cand) {
		d->have_cand = false;
		confirm_peak(d, d->cand, cb, userdata);
	}
	if (d->have_cand && samples_after(d, m, d->cand, r, dt)) {
		d->have_cand = false;
		confirm_peak(d, d->cand, cb, userdata);
	}

	/* no steps for 2 s: let the expected peak height decay (walking) */
	if (m > d->last_peak_seen + (uint64_t)(2.0 / dt)) {
		d->peak_ema = d->v_mean + 0.9 * (d->peak_ema - d->v_mean);
		if (d->peak_ema < d->v_mean + 0.3)
			d->peak_ema = d->v_mean + 0.3;
		d->last_peak_seen = m - (uint64_t)(1.5 / dt);
	}
}

/*
 * Stillness (standing quietly, the sensor worn): a 0.5 s block whose every
 * axis varies by less than 0.05 g SD and whose mean is about 1 g. On the
 * outdoor hip run standing reads under 0.03 g, the first motion 0.07 g and
 * more (docs/validation.md).
 */
#define STILL_BLOCK_USEC 500000
#define STILL_SD_G 0.05
#define STILL_MIN_SAMPLES 10		/* 0.5 s at 25 Hz is 13 */

static void still_feed(struct form_detector *d, uint64_t t, const double a[3])
{
	double m[3], var_max = 0;

	if (d->still_n == 0)
		d->still_t0 = t;
	for (int i = 0; i < 3; i++) {
		d->still_sum[i] += a[i];
		d->still_sq[i] += a[i] * a[i];
	}
	d->still_n++;
	if (t - d->still_t0 < STILL_BLOCK_USEC)
		return;
	for (int i = 0; i < 3; i++) {
		m[i] = d->still_sum[i] / d->still_n;
		var_max = fmax(var_max, d->still_sq[i] / d->still_n - m[i] * m[i]);
	}
	if (d->still_n >= STILL_MIN_SAMPLES && var_max < STILL_SD_G * STILL_SD_G &&
	    fabs(sqrt(dot3(m, m)) - 1) < 0.2) {
		memcpy(d->g_still, m, sizeof(m));
		d->t_still = t;
		d->have_still = true;
	}
	memset(d->still_sum, 0, sizeof(d->still_sum));
	memset(d->still_sq, 0, sizeof(d->still_sq));
	d->still_n = 0;
}

/* Width of each boxcar for sample period dt: about 8 ms, odd (linear phase). */
static unsigned smooth_width(double dt)
{
	long w = 2 * lround(0.004 / dt) + 1;

	return (unsigned)(w < 1 ? 1 : w > 31 ? 31 : w);
}

/*
 * One more interval (s, not a pause) into the block; at its end the period
 * may be set from it (FORM_RATE_BLOCK). A new smoothing width starts the step
 * history again, as at the start: the width is taken at the next sample.
 */
static void rate_check(struct form_detector *d, double dts)
{
	double iv[FORM_RATE_BLOCK], m;
	bool first = !d->rate_started, known = d->rate_known, steady = true;

	d->rate_iv[d->rate_n++] = dts;
	if (d->rate_n < FORM_RATE_BLOCK)
		return;
	d->rate_n = 0;
	d->rate_known = true;
	d->rate_started = true;
	memcpy(iv, d->rate_iv, sizeof(iv));
	m = form_median(iv, FORM_RATE_BLOCK);
	if (!(m > 0))
		return;
	for (unsigned i = 0; i < FORM_RATE_BLOCK; i++)
		steady &= d->rate_iv[i] <= FORM_RATE_STEADY * m &&
			  d->rate_iv[i] * FORM_RATE_STEADY >= m;
	/* the stream's first block sets the smoothing; later ones only a new rate */
	bool new_width = first && smooth_width(m) != d->w;
	bool off = m > FORM_RATE_OFF * d->dt_s || m * FORM_RATE_OFF < d->dt_s;

	if (!new_width && !(off && (!known || steady)))
		return;
	d->dt_s = m;
	if (smooth_width(m) == d->w)
		return;
	form_detector_reset(d);
	d->w = 1;
}

static double smooth(struct form_detector *d, int ch, double x)
{
	unsigned k = d->box_i;
	double y;

	d->sum1[ch] += x - d->box1[ch][k];
	d->box1[ch][k] = x;
	y = d->sum1[ch] / d->w;
	d->sum2[ch] += y - d->box2[ch][k];
	d->box2[ch][k] = y;
	return d->sum2[ch] / d->w;
}

void form_detector_feed(struct form_detector *d, const struct form_imu_sample *s,
			form_step_cb_t cb, void *userdata)
{
	double a[3] = { s->ax, s->ay, s->az }, gy[3] = { s->gx, s->gy, s->gz };
	double v, h1, h2, gap = NAN, alpha;
	uint64_t idx;

	if (d->have_last) {
		double dts = (double)(s->t_usec - d->t_last) / 1e6;

		/*
		 * Samples missing (a lost BLE notification holds 30-180 ms of
		 * them): the holes are noted, and a contact or step they touch
		 * is left unmeasured (hole_in()); a longer pause starts the step
		 * history again. Neither feeds the sample period estimate.
		 */
		if (dts > FORM_GAP_S) {
			form_detector_reset(d);
			d->holes_total++;
			d->lost_s_total += fmax(0, dts - d->dt_s);
			/* the sensor may stream at another rate now */
			d->rate_known = false;
			d->rate_n = 0;
		} else if (d->dt_s > 0 &&
			   dts > fmax(FORM_HOLE_PERIODS * d->dt_s, FORM_HOLE_MIN_S)) {
			/* before a block is in, this may be the period itself (rate_check()) */
			if (d->rate_known) {
				if (d->n_holes == FORM_HOLES) {
					memmove(d->hole, d->hole + 1,
						sizeof(d->hole[0]) * (FORM_HOLES - 1));
					d->n_holes--;
				}
				d->hole[d->n_holes++] = d->n;
				d->stride_holed = true;
				d->holes_total++;
				d->lost_s_total += dts - d->dt_s;
			}
		} else if (dts > 0) {
			d->dt_s = d->dt_s > 0 ? 0.99 * d->dt_s + 0.01 * dts : dts;
		}
		if (dts <= FORM_GAP_S)
			rate_check(d, dts);
		/*
		 * A minute without samples: the sensor may have been taken off
		 * and put on again, turned. Forward is learnt afresh (its strides
		 * fade by 0.9 each otherwise); gravity follows in 4 s anyway.
		 */
		if (dts * 1e6 >= FORM_REMOUNT_GAP_USEC)
			form_detector_forget_forward(d);
	}
	d->have_last = true;
	d->t_last = s->t_usec;

	for (int i = 0; i < 3; i++) {
		if (isfinite(a[i]))
			d->axis[i] = true;
		else
			a[i] = 0;
	}
	d->has_gyro = isfinite(gy[0]) && isfinite(gy[1]) && isfinite(gy[2]);
	still_feed(d, s->t_usec, a);

	/*
	 * Gravity (notes 5.1): the running mean for the first 4 s; then, while
	 * steps come, the mean of each whole stride folded into a 4 s average
	 * (confirm_peak()): a per-sample average would wobble with the
	 * left/right lateral means and tilt "up" toward the stance foot. With
	 * no steps (standing, 2 s without a peak) a per-sample 4 s average.
	 */
	d->g_n++;
	alpha = 1.0 / d->g_n;
	if (d->dt_s > 0 && alpha < d->dt_s / GRAVITY_TAU_S)
		alpha = d->dt_s / GRAVITY_TAU_S;
	for (int i = 0; i < 3; i++)
		d->stride_sum[i] += a[i];
	d->stride_n++;
	if (!gravity_by_stride(d))
		for (int i = 0; i < 3; i++)
			d->g[i] += (a[i] - d->g[i]) * alpha;
	/*
	 * Gravity moves slowly: the unit vectors are recomputed every 8th
	 * sample (every sample during the first 0.3 s). b1 and b2 are
	 * orthogonal to u, so a . b1 is the horizontal component itself.
	 */
	if (d->g_n < 64 || d->g_n % 8 == 0) {
		double *u = d->u, *b1 = d->b1, *b2 = d->b2, e;
		int k;

		memcpy(u, d->g, sizeof(d->u));
		normalize3(u);
		if (dot3(u, u) == 0)
			u[2] = 1;

		/* fixed horizontal basis: the present axis least aligned with gravity */
		if (!d->basis_valid) {
			k = -1;
			for (int i = 0; i < 3; i++)
				if (d->axis[i] && (k < 0 || fabs(u[i]) < fabs(u[k])))
					k = i;
			d->basis1[k < 0 ? 0 : k] = 1;
			d->basis_valid = true;
		}
		k = d->basis1[0] ? 0 : d->basis1[1] ? 1 : 2;
		e = u[k];
		for (int i = 0; i < 3; i++)
			b1[i] = (i == k) - e * u[i];
		normalize3(b1);
		b2[0] = u[1] * b1[2] - u[2] * b1[1];
		b2[1] = u[2] * b1[0] - u[0] * b1[2];
		b2[2] = u[0] * b1[1] - u[1] * b1[0];
		for (int i = 0; i < 3; i++)
			d->apv[i] = d->ap[0] * b1[i] + d->ap[1] * b2[i];
	}
	v = dot3(a, d->u);
	h1 = dot3(a, d->b1);
	h2 = dot3(a, d->b2);
	if (d->has_gyro && d->ap_valid)
		gap = dot3(gy, d->apv);
	/*
	 * The horizontal mean is gravity leakage and offsets: remove it. Like
	 * gravity, it follows whole strides while steps come.
	 */
	d->stride_hsum[0] += h1;
	d->stride_hsum[1] += h2;
	if (!gravity_by_stride(d)) {
		d->hmean[0] += (h1 - d->hmean[0]) * alpha;
		d->hmean[1] += (h2 - d->hmean[1]) * alpha;
	}
	h1 -= d->hmean[0];
	h2 -= d->hmean[1];

	if (d->dt_s > 0 && d->w == 1 && d->n == 1) {
		d->w = smooth_width(d->dt_s);
		d->box_i = 1 % d->w;
		if (d->w > 1)
			d->have_v_mean = false;	/* start it again from smoothed samples */
	}

	idx = d->n;
	d->t[idx & FORM_RING_MASK] = s->t_usec;
	v = smooth(d, 0, v);
	h1 = smooth(d, 1, h1);
	h2 = smooth(d, 2, h2);
	if (++d->box_i >= d->w)
		d->box_i = 0;
	d->n++;
	if (idx + 1 < d->w)
		return;

	/* the smoothed value belongs to sample idx - (w - 1) */
	idx -= d->w - 1;
	d->v[idx & FORM_RING_MASK] = (float)v;
	d->h1[idx & FORM_RING_MASK] = (float)h1;
	d->h2[idx & FORM_RING_MASK] = (float)h2;
	d->gyro_ap[(idx + d->w - 1) & FORM_RING_MASK] = (float)gap;
	process(d, idx, cb, userdata);
}
