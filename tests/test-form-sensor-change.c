// SPDX-License-Identifier: GPL-2.0-or-later
/* Form engine: form_engine_change_sensor(), an IMU fail-over in the middle of a session. */
#include <json.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "form/form.h"

#define USEC 1000000ULL
#define MAX_ALERTS 32

struct recorder {
	unsigned n_contact, n_alert, n_cleared, n_summary;
	struct form_alert alert[MAX_ALERTS], cleared[MAX_ALERTS];
	struct form_contact last_contact;
	struct form_metrics last_metrics;
	struct form_summary summary;
};

static void on_event(const struct form_event *ev, void *userdata)
{
	struct recorder *r = userdata;

	switch (ev->type) {
	case FORM_EVENT_CONTACT:
		r->n_contact++;
		r->last_contact = ev->contact;
		break;
	case FORM_EVENT_METRICS:
		r->last_metrics = ev->metrics;
		break;
	case FORM_EVENT_ALERT:
		if (r->n_alert < MAX_ALERTS)
			r->alert[r->n_alert++] = ev->alert;
		break;
	case FORM_EVENT_CLEARED:
		if (r->n_cleared < MAX_ALERTS)
			r->cleared[r->n_cleared++] = ev->alert;
		break;
	case FORM_EVENT_SUMMARY:
		r->n_summary++;
		r->summary = *ev->summary;
		break;
	case FORM_EVENT_ACTIVITY:
	case FORM_EVENT_SESSION_STARTED:
	case FORM_EVENT_SESSION_ENDED:
	case _FORM_EVENT_TYPE_MAX:
	case _FORM_EVENT_TYPE_INVALID:
		break;
	}
}

/*
 * A runner: half-sine vertical impacts over gct_s of every step_s (mean 1 g),
 * a braking/propulsion swing forward. Sensor "upright" carries vertical on +z
 * and forward on +x; sensor "sideways" is turned by 90 degrees: vertical on
 * +x, forward on -z. Both have no y axis (NAN), as a two-axis recording.
 */
enum frame { UPRIGHT, SIDEWAYS };

static void sample_at(enum frame f, double t, double step_s, double gct_s,
		      struct form_imu_sample *ret)
{
	double tau = fmod(t, step_s);
	double v = tau < gct_s ? M_PI * step_s / (2 * gct_s) * sin(M_PI * tau / gct_s) : 0;
	double fwd = tau < gct_s ? -0.3 * sin(2 * M_PI * tau / gct_s) : 0;

	*ret = (struct form_imu_sample) {
		.t_usec = (uint64_t)llround(t * 1e6),
		.ax = f == UPRIGHT ? fwd : v,
		.ay = NAN,
		.az = f == UPRIGHT ? v : -fwd,
		.gx = NAN, .gy = NAN, .gz = NAN,
	};
}

/* Feed [from_s, to_s) at 100 Hz in frame f; speed once a second; returns the first error. */
static int feed(struct form_engine *e, enum frame f, double from_s, double to_s, double step_s,
		double speed)
{
	for (double t = from_s; t < to_s - 1e-9; t += 0.01) {
		struct form_imu_sample s;
		int r;

		sample_at(f, t, step_s, 0.2, &s);
		if (fmod(t, 1.0) < 0.005)
			assert_int_equal(form_engine_feed_speed(e, s.t_usec, speed), 0);
		r = form_engine_feed_imu(e, &s);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct form_engine *engine(enum form_mount mount, struct recorder *r)
{
	struct form_engine *e = NULL;
	struct form_params p;

	form_params_default(&p);
	p.mount = mount;
	p.auto_session = false;
	p.alert_min_duration_s = 5;
	p.alert_clear_s = 5;
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	return e;
}

static bool cleared(const struct recorder *r, unsigned id)
{
	for (unsigned i = 0; i < r->n_cleared; i++)
		if (r->cleared[i].id == id)
			return true;
	return false;
}

/*
 * Chest strap, then a sacrum clip turned 90 degrees whose clock lags: the
 * session carries on, alerts of the old sensor end, pain stays, steps and
 * lean come from the new frame.
 */
static void test_failover_mid_session(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e;
	const struct form_alert *over = NULL;
	unsigned contacts_before, cleared_before;

	assert_non_null(r);
	e = engine(FORM_MOUNT_CHEST, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);

	/* 150 spm at 5 m/s: below the 171 spm expected, overstriding after 5 s */
	assert_int_equal(feed(e, UPRIGHT, 0, 40, 0.4, 5.0), 0);
	assert_int_equal(form_engine_report_pain(e, 39 * USEC, 5, "knee"), 0);
	for (unsigned i = 0; i < r->n_alert; i++)
		if (r->alert[i].kind == FORM_ALERT_OVERSTRIDING)
			over = &r->alert[i];
	assert_non_null(over);
	assert_false(cleared(r, over->id));
	assert_true(fabs(r->last_contact.trunk_lean_deg) < 5);

	/* the new sensor's first stamp lies before the old sensor's last one */
	{
		struct form_imu_sample s;

		sample_at(SIDEWAYS, 39.8, 0.4, 0.2, &s);
		assert_int_equal(form_engine_feed_imu(e, &s), -EINVAL);
	}

	cleared_before = r->n_cleared;
	assert_int_equal(form_engine_change_sensor(e, FORM_MOUNT_SACRUM, 40 * USEC), 0);
	assert_int_equal(form_engine_mount(e), FORM_MOUNT_SACRUM);
	assert_true(form_engine_session_active(e));
	/* the overstriding alert ended at the switch; the pain alert did not */
	assert_true(cleared(r, over->id));
	assert_int_equal(r->n_cleared, cleared_before + 1);
	assert_int_equal(r->cleared[r->n_cleared - 1].kind, FORM_ALERT_OVERSTRIDING);
	assert_int_equal(r->cleared[r->n_cleared - 1].end_usec, 40 * USEC);

	contacts_before = r->n_contact;
	assert_int_equal(feed(e, SIDEWAYS, 39.8, 80, 0.4, 5.0), 0);
	/* steps from the new frame: 40 s at 2.5 steps/s, minus the orientation warm-up */
	assert_true(r->n_contact - contacts_before > 80);
	/* a sacrum contact carries pelvic tilt, measured against the new frame */
	assert_true(isnan(r->last_contact.trunk_lean_deg));
	assert_true(fabs(r->last_contact.pelvic_tilt_deg) < 5);
	assert_true(fabs(r->last_metrics.m[FORM_METRIC_CADENCE].value - 150) < 2);

	assert_int_equal(form_engine_session_stop(e, 80 * USEC), 0);
	assert_int_equal(r->n_summary, 1);
	/* one session over both sensors: 80 s, about 2.5 steps a second */
	assert_true(fabs(r->summary.duration_s - 80) < 1);
	assert_true(r->summary.steps > 170);
	assert_int_equal(r->summary.digest.n_pain, 1);
	/* chest lean and sacrum tilt in one summary: it says so */
	assert_int_equal(r->summary.digest.mount, FORM_DIGEST_MOUNT_MIXED);
	{
		struct json_object *o = NULL, *m;

		assert_int_equal(form_summary_to_json(&r->summary, 0, &o), 0);
		assert_true(json_object_object_get_ex(o, "mount", &m));
		assert_string_equal(json_object_get_string(m), "mixed");
		json_object_put(o);
	}

	/* the next session is the sacrum's alone */
	assert_int_equal(form_engine_session_start(e, 80 * USEC), 0);
	assert_int_equal(feed(e, SIDEWAYS, 80, 100, 0.4, 5.0), 0);
	assert_int_equal(form_engine_session_stop(e, 100 * USEC), 0);
	assert_int_equal(r->n_summary, 2);
	assert_int_equal(r->summary.digest.mount, FORM_MOUNT_SACRUM);
	form_engine_free(e);
	free(r);
}

/*
 * Without the change the same stream is refused where its times overlap; the
 * turned sensor is then taken for a sensor that slipped in the run
 * (slip_check(), docs/form-metrics.md): far off for some seconds, then the
 * lean carries on from the upright stretch.
 */
static void test_without_change(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e;

	assert_non_null(r);
	e = engine(FORM_MOUNT_SACRUM, r);
	assert_int_equal(feed(e, UPRIGHT, 0, 30, 0.4, NAN), 0);
	assert_true(fabs(r->last_contact.pelvic_tilt_deg) < 5);
	assert_int_equal(feed(e, SIDEWAYS, 29.8, 31, 0.4, NAN), -EINVAL);
	assert_int_equal(feed(e, SIDEWAYS, 31, 60, 0.4, NAN), 0);
	/* re-referenced after the turn: upright again, as before it */
	assert_true(fabs(r->last_contact.pelvic_tilt_deg) < 5);

	/* the same stream after a change: upright against its own frame */
	assert_int_equal(form_engine_change_sensor(e, FORM_MOUNT_SACRUM, 60 * USEC), 0);
	assert_int_equal(feed(e, UPRIGHT, 60, 90, 0.4, NAN), 0);
	assert_true(fabs(r->last_contact.pelvic_tilt_deg) < 5);

	/* a session whose mount changed before its first step is one mount's */
	assert_int_equal(form_engine_session_start(e, 90 * USEC), 0);
	assert_int_equal(form_engine_change_sensor(e, FORM_MOUNT_WAIST, 90 * USEC), 0);
	assert_int_equal(feed(e, UPRIGHT, 90, 110, 0.4, NAN), 0);
	assert_int_equal(form_engine_session_stop(e, 110 * USEC), 0);
	assert_int_equal(r->summary.digest.mount, FORM_MOUNT_WAIST);
	form_engine_free(e);
	free(r);
}

static void test_baseline_per_mount(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e;
	struct form_baseline b = {
		.mount = FORM_MOUNT_SACRUM, .steps = 100, .speed_mps = 3, .cadence_spm = 170,
		.gct_ms = 240, .gct_balance_pct = 50, .vertical_oscillation_mm = 80,
		.trunk_lean_deg = 2, .pelvic_drop_deg = NAN, .lateral_sway_pct = 20,
		.braking_mps = 0.1, .impact_g = 2.5, .heart_rate_bpm = 150,
	};
	struct form_baseline got;

	assert_non_null(r);
	e = engine(FORM_MOUNT_SACRUM, r);
	assert_int_equal(form_engine_set_baseline(e, &b), 0);

	/* another sacrum sensor: the runner's baseline still applies */
	assert_int_equal(form_engine_change_sensor(e, FORM_MOUNT_SACRUM, USEC), 0);
	assert_int_equal(form_engine_get_baseline(e, &got), 0);
	assert_int_equal(got.mount, FORM_MOUNT_SACRUM);

	/* a chest strap: not with a sacrum baseline */
	assert_int_equal(form_engine_change_sensor(e, FORM_MOUNT_CHEST, 2 * USEC), 0);
	assert_int_equal(form_engine_get_baseline(e, &got), -ENODATA);
	assert_int_equal(form_engine_set_baseline(e, &b), -EINVAL);
	b.mount = FORM_MOUNT_CHEST;
	assert_int_equal(form_engine_set_baseline(e, &b), 0);

	/* a value storage would refuse: refused (it became an alert threshold of -inf) */
	{
		struct form_baseline bad = b;

		bad.vertical_oscillation_mm = -INFINITY;
		assert_int_equal(form_engine_set_baseline(e, &bad), -ERANGE);
		bad = b;
		bad.cadence_spm = 900;
		assert_int_equal(form_engine_set_baseline(e, &bad), -ERANGE);
		bad = b;
		bad.steps = 0;
		assert_int_equal(form_engine_set_baseline(e, &bad), -EINVAL);
		bad = b;
		bad.pelvic_drop_deg = NAN;	/* unknown is fine */
		assert_int_equal(form_baseline_check(&bad), 0);
		assert_int_equal(form_engine_get_baseline(e, &got), 0);
		assert_true(got.vertical_oscillation_mm == 80);
	}

	/* out of range: refused, nothing changed */
	assert_int_equal(form_engine_change_sensor(e, _FORM_MOUNT_MAX, 3 * USEC), -EINVAL);
	assert_int_equal(form_engine_change_sensor(e, _FORM_MOUNT_INVALID, 3 * USEC), -EINVAL);
	assert_int_equal(form_engine_mount(e), FORM_MOUNT_CHEST);
	assert_int_equal(form_engine_get_baseline(e, &got), 0);
	form_engine_free(e);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/sensor-change/failover-mid-session", test_failover_mid_session, NULL,
		  NULL, NULL },
		{ "/form/sensor-change/without-change", test_without_change, NULL, NULL, NULL },
		{ "/form/sensor-change/baseline-per-mount", test_baseline_per_mount, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
