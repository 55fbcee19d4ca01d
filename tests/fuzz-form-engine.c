// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the form engine's state machines with whole sessions, not single
 * samples: the input is a small program. Random bytes alone never look like
 * running, so most operations drive a synthetic runner (half-sine stance
 * pulses, braking, lateral push, pelvic roll, noise, any orientation, any
 * rate) whose every parameter comes from the input; others feed raw
 * samples, gaps (some with the caller's clock advancing through them), time
 * going backwards, the 1 Hz sensors (in and out of
 * range), pain reports, sensor changes, stored baselines and session
 * starts and stops. Everything the engine emits is checked against its
 * documented contract; a broken promise aborts.
 */
#include <json.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* At most this many IMU samples per input: 10 min at 200 Hz. */
#define MAX_SAMPLES 120000
#define MAX_ALERT_IDS 256

struct prog {
	const uint8_t *p;
	size_t n, i;
};

static unsigned byte(struct prog *g)
{
	return g->i < g->n ? g->p[g->i++] : 0;
}

/* A byte mapped onto [lo, hi]. */
static double frac(struct prog *g, double lo, double hi)
{
	return lo + (hi - lo) * byte(g) / 255.0;
}

struct state {
	struct form_engine *e;
	uint64_t t;			/* next IMU sample time */
	uint64_t samples;
	double rate_hz;
	unsigned raised[MAX_ALERT_IDS];	/* ids raised and not yet cleared */
	unsigned n_raised;
	bool in_session;
};

/* A broken promise: say which, then abort (the fuzzer keeps the input). */
#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-form-engine: line %d: %s\n", __LINE__, #x); \
			abort();					\
		}							\
	} while (0)

static bool finite_or_nan(double x)
{
	return isnan(x) || isfinite(x);
}

static void check_metrics(const struct form_metrics *m)
{
	CHECK((unsigned)m->activity < _FORM_ACTIVITY_MAX);
	for (unsigned k = 0; k < _FORM_METRIC_MAX; k++) {
		const struct form_metric_value *v = &m->m[k];

		CHECK((unsigned)v->quality < _FORM_QUALITY_MAX);
		CHECK(finite_or_nan(v->value));
		/* null, never 0, when it cannot be measured */
		CHECK(v->quality != FORM_QUALITY_NONE || isnan(v->value));
	}
}

static void check_contact(const struct form_contact *c)
{
	CHECK((unsigned)c->side < _FORM_SIDE_MAX);
	if (c->has_to) {
		CHECK(c->to_usec > c->ic_usec);
		CHECK(c->gct_ms >= 60 && c->gct_ms <= 500);
	} else {
		CHECK(isnan(c->gct_ms));
	}
	CHECK(finite_or_nan(c->flight_ms) && finite_or_nan(c->step_time_ms));
	CHECK(isnan(c->step_time_ms) || c->step_time_ms > 0);
	CHECK(finite_or_nan(c->vertical_oscillation_mm) && finite_or_nan(c->peak_vertical_g));
	CHECK(finite_or_nan(c->braking_mps) && finite_or_nan(c->trunk_lean_deg));
	CHECK(finite_or_nan(c->pelvic_tilt_deg) && finite_or_nan(c->pelvic_drop_deg));
	CHECK(finite_or_nan(c->lateral_sway_pct));
}

static void check_summary(const struct form_summary *s)
{
	CHECK(s->end_usec >= s->start_usec);
	CHECK(isfinite(s->duration_s) && s->duration_s >= 0);
	CHECK(s->running_s >= 0 && s->walking_s >= 0 && s->standing_s >= 0);
	/* the activity split covers the session, never more */
	CHECK(s->running_s + s->walking_s + s->standing_s <= s->duration_s + 1e-6);
	CHECK(isnan(s->distance_m) || (isfinite(s->distance_m) && s->distance_m >= 0));
	for (unsigned k = 0; k < _FORM_METRIC_MAX; k++) {
		const struct form_metric_stats *st = &s->stats[k];

		if (st->n == 0) {
			CHECK(isnan(st->median));
			continue;
		}
		CHECK(isfinite(st->median) && isfinite(st->p10) && isfinite(st->p90));
		CHECK(st->p10 <= st->median && st->median <= st->p90);
		for (unsigned b = 0; b < 3; b++)
			CHECK(st->band_s[b] >= 0 && st->band_s[b] <= s->duration_s + 1.0);
		CHECK(finite_or_nan(s->drift[k]));
	}
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		CHECK(s->alert_s[k] >= 0 && s->alert_s[k] <= s->duration_s + 1.0);
}

/*
 * What the daemon stores of a session must load again: the digest (the
 * history of the last 90 sessions) and a learned baseline. A rejected load
 * would lose them.
 */
static void check_stored(const struct form_summary *s)
{
	uint8_t buf[FORM_DIGEST_SIZE];
	struct form_digest d;
	struct form_baseline b;
	size_t len = 0;

	CHECK(form_digest_serialize(&s->digest, buf, sizeof(buf), &len) == 0);
	CHECK(form_digest_parse(buf, len, &d) == 0);
	CHECK(d.steps == s->digest.steps && d.n_pain == s->digest.n_pain);
	if (s->baseline_learned) {
		CHECK(form_baseline_save(&s->baseline, buf, sizeof(buf), &len) == 0);
		CHECK(form_baseline_load(buf, len, &b) == 0);
		CHECK(b.steps == s->baseline.steps);
	}
}

static void on_event(const struct form_event *ev, void *userdata)
{
	struct state *st = userdata;
	struct json_object *o = NULL;

	CHECK((unsigned)ev->type < _FORM_EVENT_TYPE_MAX);
	switch (ev->type) {
	case FORM_EVENT_CONTACT:
		check_contact(&ev->contact);
		break;
	case FORM_EVENT_METRICS:
		check_metrics(&ev->metrics);
		break;
	case FORM_EVENT_ALERT:
		CHECK(ev->alert.id > 0 && ev->alert.cue);
		CHECK((unsigned)ev->alert.kind < _FORM_ALERT_KIND_MAX);
		CHECK((unsigned)ev->alert.severity < _FORM_SEVERITY_MAX);
		CHECK(finite_or_nan(ev->alert.value) && finite_or_nan(ev->alert.threshold));
		for (unsigned i = 0; i < st->n_raised; i++)
			CHECK(st->raised[i] != ev->alert.id);	/* ids are unique */
		if (st->n_raised < MAX_ALERT_IDS)
			st->raised[st->n_raised++] = ev->alert.id;
		break;
	case FORM_EVENT_CLEARED: {
		bool found = false;

		/* a cleared event repeats the id of a raised, open alert */
		for (unsigned i = 0; i < st->n_raised; i++)
			if (st->raised[i] == ev->alert.id) {
				st->raised[i] = st->raised[--st->n_raised];
				found = true;
				break;
			}
		CHECK(found || st->n_raised == MAX_ALERT_IDS);
		CHECK(ev->alert.end_usec >= ev->alert.start_usec);
		break;
	}
	case FORM_EVENT_SESSION_STARTED:
		CHECK(!st->in_session);
		st->in_session = true;
		break;
	case FORM_EVENT_SESSION_ENDED:
		CHECK(st->in_session);
		st->in_session = false;
		break;
	case FORM_EVENT_SUMMARY:
		check_summary(ev->summary);
		check_stored(ev->summary);
		/* every alert of the session is cleared by its end */
		CHECK(st->n_raised == 0);
		break;
	default:
		break;
	}
	/* every event must encode */
	if (form_event_to_json(ev, 0, &o) == 0)
		json_object_put(o);
}

/* Rotation of the body frame (x forward, y left, z up) into the sensor's. */
struct rot {
	double m[3][3];
};

static void rot_from(struct rot *r, double yaw, double pitch, double roll)
{
	double cy = cos(yaw), sy = sin(yaw), cp = cos(pitch), sp = sin(pitch);
	double cr = cos(roll), sr = sin(roll);

	r->m[0][0] = cy * cp;
	r->m[0][1] = cy * sp * sr - sy * cr;
	r->m[0][2] = cy * sp * cr + sy * sr;
	r->m[1][0] = sy * cp;
	r->m[1][1] = sy * sp * sr + cy * cr;
	r->m[1][2] = sy * sp * cr - cy * sr;
	r->m[2][0] = -sp;
	r->m[2][1] = cp * sr;
	r->m[2][2] = cp * cr;
}

static void rotate(const struct rot *r, const double in[3], double out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = r->m[i][0] * in[0] + r->m[i][1] * in[1] + r->m[i][2] * in[2];
}

/* Deterministic noise from the input's seed. */
static double noise(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return (double)(*seed >> 8) / (double)(1u << 24) - 0.5;
}

static void feed(struct state *st, const struct form_imu_sample *s)
{
	int r = form_engine_feed_imu(st->e, s);

	/* rejected samples are refused cleanly, never half-taken */
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	st->samples++;
}

/* A stretch of synthetic running (or walking / standing) from the program. */
static void op_run(struct state *st, struct prog *g)
{
	double seconds = 1 + byte(g) * 2.0;
	double step_s = frac(g, 0.24, 1.2);
	double gct = step_s * frac(g, 0.3, 1.05);	/* > step: no flight (walking) */
	double ap = frac(g, 0, 1.5), ml = frac(g, 0, 0.8), w = frac(g, 0, 90);
	double nz = frac(g, 0, 0.6);
	unsigned flags = byte(g);
	bool gyro = flags & 1, three = flags & 2, standing = (flags & 0x1c) == 0x1c;
	/* lost notifications: every 7th block of 1-40 samples missing */
	unsigned hole_block = flags & 0x20 ? 1 + byte(g) % 40 : 0;
	struct rot r;
	uint32_t seed = flags * 2654435761u + byte(g);
	double yaw, pitch, roll;
	uint64_t n = (uint64_t)(seconds * st->rate_hz);
	uint64_t dt = (uint64_t)llround(1e6 / st->rate_hz);

	/* one read per statement: argument order is unspecified in C */
	yaw = frac(g, -M_PI, M_PI);
	pitch = frac(g, -M_PI / 2, M_PI / 2);
	roll = frac(g, -M_PI, M_PI);
	rot_from(&r, yaw, pitch, roll);
	for (uint64_t i = 0; i < n && st->samples < MAX_SAMPLES; i++) {
		double t = (double)i / st->rate_hz, body[3] = { 0, 0, 1 }, wb[3] = { 0, 0, 0 };
		double a[3], gy[3];
		struct form_imu_sample s;

		if (!standing) {
			double k = floor(t / step_s), tau = t - k * step_s;
			int side = (long)k % 2;
			double g_ = fmin(gct, step_s);

			if (tau < g_) {
				double p = M_PI * step_s / (2 * g_);

				body[2] = p * sin(M_PI * tau / g_);
				body[0] = -ap * sin(2 * M_PI * tau / g_);
				body[1] = (side ? 1 : -1) * ml * sin(M_PI * tau / g_);
				wb[0] = w * sin(2 * M_PI * tau / g_);
			} else {
				body[2] = 0;
			}
		}
		for (int k = 0; k < 3; k++)
			body[k] += nz * noise(&seed);
		rotate(&r, body, a);
		rotate(&r, wb, gy);
		s = (struct form_imu_sample) {
			.t_usec = st->t,
			.ax = a[0], .ay = three ? a[1] : NAN, .az = a[2],
			.gx = gyro ? gy[0] : NAN, .gy = gyro ? gy[1] : NAN, .gz = gyro ? gy[2] : NAN,
		};
		if (!hole_block || (i / hole_block) % 7 != 3)
			feed(st, &s);
		st->t += dt;
	}
}

/* Raw samples straight from the bytes (int8 steps of 1/16 g, 4 deg/s). */
static void op_raw(struct state *st, struct prog *g)
{
	unsigned n = 1 + byte(g) % 64;

	for (unsigned i = 0; i < n && st->samples < MAX_SAMPLES; i++) {
		struct form_imu_sample s = { .t_usec = st->t, .gy = NAN, .gz = NAN };
		unsigned f;

		s.ax = (int8_t)byte(g) / 16.0;
		s.ay = (int8_t)byte(g) / 16.0;
		s.az = (int8_t)byte(g) / 16.0;
		s.gx = (int8_t)byte(g) * 4.0;
		f = byte(g);

		if (f & 1)
			s.ay = NAN;
		if (f & 2)
			s.gx = NAN;
		if (f & 4)
			s.ax = f & 8 ? INFINITY : NAN;
		feed(st, &s);
		st->t += 1 + byte(g) * 100;
	}
}

static double value_from(struct prog *g, double lo, double hi)
{
	unsigned b = byte(g);

	if (b == 255)
		return NAN;
	if (b == 254)
		return -INFINITY;
	if (b >= 250)
		return hi * 10;		/* out of range */
	return lo + (hi - lo) * b / 249.0;
}

static void op_sensor(struct state *st, struct prog *g)
{
	unsigned which = byte(g) % 4;
	double v;
	int r;

	switch (which) {
	case 0:
		v = value_from(g, 0, 7);
		r = form_engine_feed_speed(st->e, st->t, v);
		break;
	case 1:
		v = value_from(g, 0, 250);
		r = form_engine_feed_cadence(st->e, st->t, v);
		break;
	case 2:
		v = value_from(g, 30, 230);
		r = form_engine_feed_heart_rate(st->e, st->t, v);
		break;
	default:
		v = value_from(g, -10, 20);
		r = form_engine_feed_incline(st->e, st->t, v);
		break;
	}
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
}

static void op_baseline(struct state *st, struct prog *g)
{
	struct form_baseline b = {}, back;
	int r;

	/* one read per statement: initialiser order is unspecified in C */
	b.mount = (enum form_mount)(byte(g) % (_FORM_MOUNT_MAX + 1));
	b.steps = byte(g);
	b.speed_mps = value_from(g, 0, 7);
	b.cadence_spm = value_from(g, 100, 230);
	b.gct_ms = value_from(g, 100, 400);
	b.gct_balance_pct = value_from(g, 40, 60);
	b.vertical_oscillation_mm = value_from(g, 20, 150);
	b.trunk_lean_deg = value_from(g, -20, 30);
	b.pelvic_drop_deg = value_from(g, 0, 15);
	b.lateral_sway_pct = value_from(g, 0, 60);
	b.braking_mps = value_from(g, 0, 1.5);
	b.impact_g = value_from(g, 1, 6);
	b.heart_rate_bpm = value_from(g, 40, 220);
	r = form_engine_set_baseline(st->e, &b);

	CHECK(r == 0 || r == -EINVAL || r == -ERANGE || r == -EBUSY);
	r = form_engine_get_baseline(st->e, &back);
	CHECK(r == 0 || r == -ENODATA);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prog g = { .p = data, .n = size };
	struct form_params p;
	struct state st = { .t = 1000000 };
	static const double rates[] = { 25, 50, 52, 100, 130, 200, 208, 500, 1000 };

	form_params_default(&p);
	p.mount = (enum form_mount)(byte(&g) % _FORM_MOUNT_MAX);
	/* short warm-up, baseline and alert timing so a short input gets there */
	p.warmup_s = frac(&g, 0, 60);
	p.baseline_s = frac(&g, 30, 90);
	p.alert_min_duration_s = frac(&g, 1, 30);
	p.alert_clear_s = frac(&g, 1, 30);
	p.fatigue_min_s = frac(&g, 10, 60);
	p.auto_session = byte(&g) & 1;
	p.auto_stop_s = frac(&g, 5, 120);
	st.rate_hz = rates[byte(&g) % (sizeof(rates) / sizeof(rates[0]))];
	if (form_params_validate(&p) < 0 || form_engine_new(&p, &st.e) < 0)
		return 0;
	form_engine_set_event_cb(st.e, on_event, &st);

	while (g.i < g.n && st.samples < MAX_SAMPLES) {
		unsigned op = byte(&g);
		int r;

		switch (op % 12) {
		case 0: case 1: case 2: case 3:
			op_run(&st, &g);
			break;
		case 4:
			op_raw(&st, &g);
			break;
		case 5:
			op_sensor(&st, &g);
			break;
		case 6: {	/* a gap: from 0.1 s to 25 s, or hours; maybe with the clock on */
			unsigned flags = byte(&g);
			uint64_t gap = flags & 0x80 ? (uint64_t)byte(&g) * 3600000000ULL :
						      (uint64_t)byte(&g) * 100000ULL;

			if (flags & 0x40) {
				for (uint64_t dt = 1000000; dt < gap && dt <= 600000000; dt += 1000000)
					form_engine_advance(st.e, st.t + dt);
				form_engine_advance(st.e, st.t + gap);
			}
			st.t += gap;
			break;
		}
		case 7:		/* time goes back (refused unless a sensor change reset it) */
			if (st.t > 2000000) {
				struct form_imu_sample s = { .t_usec = st.t - 1000000, .ax = 0,
							     .ay = NAN, .az = 1, .gx = NAN,
							     .gy = NAN, .gz = NAN };

				feed(&st, &s);
			}
			break;
		case 8: {
			double lv = value_from(&g, 0, 10);
			const char *where = byte(&g) & 1 ? "lower back" : "left knee";

			r = form_engine_report_pain(st.e, st.t, lv, where);
			CHECK(r == 0 || r == -ERANGE || r == -EINVAL || r == -ENODATA);
			break;
		}
		case 9:
			r = form_engine_change_sensor(st.e, (enum form_mount)(byte(&g) %
									     (_FORM_MOUNT_MAX + 1)),
						      st.t);
			CHECK(r == 0 || r == -EINVAL);
			break;
		case 10:
			op_baseline(&st, &g);
			break;
		default:
			if (byte(&g) & 1)
				r = form_engine_session_start(st.e, st.t);
			else
				r = form_engine_session_stop(st.e, st.t);
			CHECK(r == 0 || r == -EBUSY || r == -ENODATA || r == -EINVAL);
			break;
		}
	}
	(void)form_engine_session_stop(st.e, st.t);
	CHECK(!form_engine_session_active(st.e));
	form_engine_free(st.e);
	return 0;
}
