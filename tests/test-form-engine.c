// SPDX-License-Identifier: GPL-2.0-or-later
/* Form engine: activity, automatic sessions, baseline, alerts, pain, summary and JSON. */
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

#include "common/macro.h"
#include "form/form.h"

#define MAX_EVENTS 64

/* One phase of a synthetic run (see tests/test-form-metrics.c for the model). */
struct phase {
	double until_s;
	enum { STAND, RUN, WALK } kind;
	double step_s, gct_s;
};

struct recorder {
	unsigned n_alert, n_cleared, n_activity, n_started, n_ended, n_summary, n_contact;
	unsigned n_walk_contact, n_walk_with_to;	/* contacts while walking, with a TO */
	bool walking;
	struct form_alert alert[MAX_EVENTS], cleared[MAX_EVENTS];
	struct form_activity_change act[MAX_EVENTS];
	uint64_t act_t[MAX_EVENTS];
	struct form_session_change started, ended;
	struct form_summary summary;
	struct form_metrics last;
};

static void on_event(const struct form_event *ev, void *userdata)
{
	struct recorder *r = userdata;

	switch (ev->type) {
	case FORM_EVENT_CONTACT:
		r->n_contact++;
		r->n_walk_contact += r->walking;
		r->n_walk_with_to += r->walking &&
			(ev->contact.has_to || isfinite(ev->contact.gct_ms) ||
			 isfinite(ev->contact.flight_ms));
		break;
	case FORM_EVENT_METRICS:
		r->last = ev->metrics;
		break;
	case FORM_EVENT_ALERT:
		if (r->n_alert < MAX_EVENTS)
			r->alert[r->n_alert++] = ev->alert;
		break;
	case FORM_EVENT_CLEARED:
		if (r->n_cleared < MAX_EVENTS)
			r->cleared[r->n_cleared++] = ev->alert;
		break;
	case FORM_EVENT_ACTIVITY:
		if (r->n_activity < MAX_EVENTS) {
			r->act_t[r->n_activity] = ev->t_usec;
			r->act[r->n_activity++] = ev->activity;
		}
		r->walking = ev->activity.to == FORM_ACTIVITY_WALKING;
		break;
	case FORM_EVENT_SESSION_STARTED:
		r->n_started++;
		r->started = ev->session;
		break;
	case FORM_EVENT_SESSION_ENDED:
		r->n_ended++;
		r->ended = ev->session;
		break;
	case FORM_EVENT_SUMMARY:
		r->n_summary++;
		r->summary = *ev->summary;
		break;
	case _FORM_EVENT_TYPE_MAX:
	case _FORM_EVENT_TYPE_INVALID:
		break;
	}
}

/* A new engine (params NULL: the defaults) whose events go to a new recorder. */
static struct form_engine *engine_recorded(const struct form_params *p, struct recorder **ret_r)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;

	assert_non_null(r);
	assert_int_equal(form_engine_new(p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	*ret_r = r;
	return e;
}

static void sample_at(const struct phase *ph, double t, struct form_imu_sample *ret)
{
	double v = 1;

	if (ph->kind == RUN) {
		double tau = fmod(t, ph->step_s);

		v = tau < ph->gct_s ?
			M_PI * ph->step_s / (2 * ph->gct_s) * sin(M_PI * tau / ph->gct_s) : 0;
	} else if (ph->kind == WALK) {
		v = 1 + 0.4 * sin(2 * M_PI * t / ph->step_s);
	}
	*ret = (struct form_imu_sample) {
		.t_usec = (uint64_t)llround(t * 1e6),
		.ax = ph->kind == STAND ? 0 : 0.02 * sin(2 * M_PI * t / ph->step_s),
		.ay = NAN, .az = v,
		.gx = NAN, .gy = NAN, .gz = NAN,
	};
}

/* Feed phases at 100 Hz; speed (m/s, NAN = none) once a second. */
static void feed(struct form_engine *e, const struct phase *phases, size_t n, double speed)
{
	uint64_t i = 0;

	for (size_t k = 0; k < n; k++)
		for (; i < (uint64_t)llround(phases[k].until_s * 100); i++) {
			struct form_imu_sample s;

			sample_at(&phases[k], i / 100.0, &s);
			if (!isnan(speed) && i % 100 == 0)
				assert_int_equal(form_engine_feed_speed(e, s.t_usec, speed), 0);
			assert_int_equal(form_engine_feed_imu(e, &s), 0);
		}
}

static void test_activity_and_auto_session(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	struct form_params p;
	const struct phase ph[] = {
		{ 5, STAND, 0, 0 }, { 65, RUN, 0.35, 0.2 }, { 100, STAND, 0, 0 },
		{ 130, WALK, 0.6, 0 }, { 140, STAND, 0, 0 },
	};

	form_params_default(&p);
	p.auto_start_s = 10;
	p.auto_stop_s = 20;
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	feed(e, ph, 5, NAN);

	/* standing, running, standing, walking, standing */
	assert_true(r->n_activity >= 5);
	assert_int_equal(r->act[1].from, FORM_ACTIVITY_STANDING);
	assert_int_equal(r->act[1].to, FORM_ACTIVITY_RUNNING);
	assert_true(r->act_t[1] >= 5000000 && r->act_t[1] <= 9000000);
	assert_int_equal(r->act[2].to, FORM_ACTIVITY_STANDING);
	assert_true(r->act_t[2] >= 65000000 && r->act_t[2] <= 69000000);
	assert_int_equal(r->act[3].to, FORM_ACTIVITY_WALKING);
	assert_int_equal(r->act[4].to, FORM_ACTIVITY_STANDING);

	/* auto session: started at the start of running, ended 20 s after */
	assert_int_equal(r->n_started, 1);
	assert_true(r->started.automatic);
	assert_true(r->started.start_usec >= 5000000 && r->started.start_usec <= 9000000);
	assert_int_equal(r->n_ended, 1);
	assert_true(r->ended.automatic);
	assert_int_equal(r->n_summary, 1);
	assert_true(fabs(r->summary.running_s - 59) < 4);
	/*
	 * The session is dated back to when the running stopped: the 20 s of
	 * standing it waited for are not its time, and the running since the
	 * automatic start is counted once.
	 */
	assert_true(r->summary.standing_s + r->summary.walking_s <= 1.5);
	assert_true(fabs(r->summary.running_s - r->summary.duration_s) <= 1.5);
	assert_true(r->summary.running_s + r->summary.walking_s + r->summary.standing_s <=
		    r->summary.duration_s + 1.0);
	assert_true(r->summary.steps > 150);
	assert_true(fabs(r->summary.stats[FORM_METRIC_CADENCE].median - 171.4) < 1.0);
	assert_false(form_engine_session_active(e));
	form_engine_free(e);

	/*
	 * Running for less than auto_start_s (6 s against 10: a dash across the
	 * room) starts no session, nor does anything with auto_session off.
	 */
	{
		const struct phase dash[] = {
			{ 5, STAND, 0, 0 }, { 11, RUN, 0.35, 0.2 }, { 40, STAND, 0, 0 },
		};

		memset(r, 0, sizeof(*r));
		assert_int_equal(form_engine_new(&p, &e), 0);
		form_engine_set_event_cb(e, on_event, r);
		feed(e, dash, 3, NAN);
		assert_int_equal(r->act[1].to, FORM_ACTIVITY_RUNNING);
		assert_int_equal(r->n_started, 0);
		form_engine_free(e);

		memset(r, 0, sizeof(*r));
		p.auto_session = false;
		assert_int_equal(form_engine_new(&p, &e), 0);
		form_engine_set_event_cb(e, on_event, r);
		feed(e, ph, 5, NAN);
		assert_int_equal(r->act[1].to, FORM_ACTIVITY_RUNNING);
		assert_int_equal(r->n_started, 0);
		assert_int_equal(r->n_summary, 0);
		form_engine_free(e);
	}
	free(r);
}

/*
 * A run at 0.35 s a step with the IMU silent over [gap_from, gap_to) s and,
 * with pod, a footpod saying its cadence (171.4 spm) every second; with a
 * belt (not NAN), a treadmill saying that speed every second, belt_gap in
 * the IMU's gap: the summary's steps and steps_estimated.
 */
static unsigned run_with_gap(double gap_from, double gap_to, bool pod, double belt,
			     double belt_gap, struct form_summary *ret)
{
	unsigned n_activity;
	struct recorder *r = calloc(1, sizeof(*r));
	const struct phase run = { 60, RUN, 0.35, 0.2 };
	struct form_engine *e = NULL;
	struct form_params p;

	assert_non_null(r);
	form_params_default(&p);
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	for (uint64_t i = 0; i < 6000; i++) {
		struct form_imu_sample s;

		sample_at(&run, i / 100.0, &s);
		if (pod && i % 100 == 0)
			assert_int_equal(form_engine_feed_cadence(e, s.t_usec, 60 / 0.35), 0);
		if (!isnan(belt) && i % 100 == 0) {
			bool in_gap = i / 100.0 >= gap_from && i / 100.0 < gap_to;

			assert_int_equal(form_engine_feed_speed(e, s.t_usec,
								in_gap ? belt_gap : belt), 0);
		}
		if (i / 100.0 < gap_from || i / 100.0 >= gap_to)
			assert_int_equal(form_engine_feed_imu(e, &s), 0);
	}
	assert_int_equal(form_engine_session_stop(e, 60000000), 0);
	assert_int_equal(r->n_summary, 1);
	*ret = r->summary;
	n_activity = r->n_activity;
	form_engine_free(e);
	free(r);
	return n_activity;
}

/*
 * Steps with no IMU steps to count come from a footpod's cadence, as
 * estimated ones: a footpod alone (170 spm for 120 s: 340 steps, none
 * before), and a 10 s IMU dropout in a run, from the last IMU step on, so
 * the run keeps the steps it has without the dropout (without a footpod the
 * dropout's 28 or so are lost). The IMU streaming, the footpod adds none.
 * With no footpod but a treadmill belt running on at the same speed, the
 * IMU's cadence from before the dropout is held; not when the belt's speed
 * changed by more than 20 % (the cadence then is not known).
 */
static void test_footpod_steps(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	struct form_params p;
	struct form_summary full, pod, none, both, belt, faster, belt_full;

	assert_non_null(r);
	form_params_default(&p);
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	for (uint64_t t = 0; t <= 120; t++) {
		assert_int_equal(form_engine_feed_speed(e, t * 1000000, 3.0), 0);
		assert_int_equal(form_engine_feed_cadence(e, t * 1000000, 170), 0);
	}
	/* the live metrics carry the session so far: 120 s at 170 spm and 3 m/s */
	assert_true(r->last.session_steps >= 339 && r->last.session_steps <= 340);
	assert_true(fabs(r->last.session_distance_m - 360) < 0.01);
	assert_int_equal(form_engine_session_stop(e, 120000000), 0);
	assert_int_equal(r->n_summary, 1);
	assert_true(r->summary.steps >= 339 && r->summary.steps <= 340);
	assert_int_equal(r->summary.steps_estimated, r->summary.steps);
	assert_int_equal(r->last.session_steps, r->summary.steps);
	assert_true(fabs(r->summary.distance_m - 360) < 0.01);
	form_engine_free(e);
	free(r);

	run_with_gap(0, 0, false, NAN, NAN, &full);
	run_with_gap(0, 0, true, NAN, NAN, &both);
	run_with_gap(30, 40, true, NAN, NAN, &pod);
	run_with_gap(30, 40, false, NAN, NAN, &none);
	run_with_gap(30, 40, false, 3.0, 3.0, &belt);
	run_with_gap(30, 40, false, 3.0, 3.7, &faster);
	run_with_gap(0, 0, false, 3.0, 3.0, &belt_full);
	print_message("steps: %llu lossless, %llu with the footpod, %llu (%llu estimated) with "
		      "the dropout and the footpod, %llu without the footpod, %llu (%llu "
		      "estimated) with the belt alone, %llu with the belt 23 %% faster\n",
		      (unsigned long long)full.steps, (unsigned long long)both.steps,
		      (unsigned long long)pod.steps, (unsigned long long)pod.steps_estimated,
		      (unsigned long long)none.steps, (unsigned long long)belt.steps,
		      (unsigned long long)belt.steps_estimated, (unsigned long long)faster.steps);
	assert_int_equal(belt_full.steps, full.steps);
	assert_int_equal(belt_full.steps_estimated, 0);
	assert_true(belt.steps_estimated >= 28);
	assert_true(llabs((long long)belt.steps - (long long)full.steps) <= 3);
	/* the belt is back at 3 m/s one tick before the IMU: up to 3 steps */
	assert_true(faster.steps >= none.steps && faster.steps <= none.steps + 3);
	assert_int_equal(full.steps_estimated, 0);
	assert_int_equal(both.steps, full.steps);
	assert_int_equal(both.steps_estimated, 0);
	assert_true(pod.steps_estimated >= 28);
	assert_true(llabs((long long)pod.steps - (long long)full.steps) <= 3);
	assert_true(none.steps + 25 <= full.steps);
}

/*
 * IMU dropouts of every length in a run at 0.35 s a step: each keeps the
 * run's steps (a hole's from the step time around it, up to the 3 s after
 * which the IMU counts as silent and the belt's held cadence stands in),
 * with or without a belt (without one, a silence has no steps: nothing says
 * the runner ran on), and none is taken for standing still. Before, a
 * dropout of 2-2.8 s lost 7-9 steps and flapped running-standing-running:
 * too long for the step history, too short for the silence. A runner who
 * stops in the dropout is standing 2.5 s of samples after it, with no step
 * added for the dropout.
 */
static void test_gap_lengths(void **state)
{
	static const double gaps[] = { 0.3, 0.6, 1.0, 1.5, 2.0, 2.2, 2.5, 2.8, 2.95, 3.2,
					4.0, 6.0 };
	const struct phase ph[] = { { 30, RUN, 0.35, 0.2 }, { 60, STAND, 0, 0 } };
	struct form_summary full, s, nobelt;
	struct recorder *r;
	struct form_engine *e;
	uint64_t i = 0;

	run_with_gap(0, 0, false, 3.0, 3.0, &full);
	for (size_t k = 0; k < ELEMENTSOF(gaps); k++) {
		unsigned na = run_with_gap(30, 30 + gaps[k], false, 3.0, 3.0, &s);
		unsigned nb = run_with_gap(30, 30 + gaps[k], false, NAN, NAN, &nobelt);

		print_message("dropout %.2f s: %llu steps (%llu estimated) with the belt, %llu "
			      "without, of %llu; %u and %u activity changes\n", gaps[k],
			      (unsigned long long)s.steps, (unsigned long long)s.steps_estimated,
			      (unsigned long long)nobelt.steps, (unsigned long long)full.steps,
			      na, nb);
		assert_true(llabs((long long)s.steps - (long long)full.steps) <= 1);
		assert_int_equal(na, 1);	/* unknown to running, once */
		if (gaps[k] < 2.9) {	/* a hole, not a silence: no belt needed */
			assert_true(llabs((long long)nobelt.steps - (long long)full.steps) <= 1);
			assert_int_equal(nb, 1);
		} else if (gaps[k] > 3.5) {	/* a silence with no rate: no steps */
			assert_true(nobelt.steps + (uint64_t)(gaps[k] / 0.35) <= full.steps + 2);
		}
	}

	/* stopped in a 2 s dropout: standing, and the dropout adds no step */
	e = engine_recorded(NULL, &r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	for (size_t k = 0; k < ELEMENTSOF(ph); k++)
		for (; i < (uint64_t)llround(ph[k].until_s * 100); i++) {
			struct form_imu_sample smp;

			sample_at(&ph[k], i / 100.0, &smp);
			if (i < 3000 || i >= 3200)
				assert_int_equal(form_engine_feed_imu(e, &smp), 0);
		}
	assert_int_equal(r->n_activity, 2);
	assert_int_equal(r->act[1].to, FORM_ACTIVITY_STANDING);
	assert_true(r->act_t[1] >= 32000000 && r->act_t[1] <= 36000000);
	assert_int_equal(form_engine_session_stop(e, 60000000), 0);
	assert_int_equal(r->summary.steps_estimated, 0);
	assert_true(r->summary.steps >= 84 && r->summary.steps <= 86);
	form_engine_free(e);
	free(r);
}

/*
 * 60 s of running at 0.35 s a step with a belt at 3 m/s; the IMU's samples of
 * [30, 30 + delay) s held back and delivered at once at 30 + delay s (late,
 * not lost), or, with cycle_off, the IMU silent for cycle_off s out of every
 * cycle_off + 0.3 s after 20 s (back too briefly to count a step), a footpod
 * saying the cadence: the summary.
 */
static void run_late_or_flapping(double delay_s, double cycle_off, struct form_summary *ret)
{
	struct recorder *r;
	const struct phase run = { 60, RUN, 0.35, 0.2 };
	struct form_engine *e;
	uint64_t late_from = 3000, late_to = (uint64_t)llround((30 + delay_s) * 100);

	e = engine_recorded(NULL, &r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	for (uint64_t i = 0; i < 6000; i++) {
		struct form_imu_sample s;
		double t = i / 100.0;

		sample_at(&run, t, &s);
		if (i % 100 == 0) {
			assert_int_equal(form_engine_feed_speed(e, s.t_usec, 3.0), 0);
			if (cycle_off > 0)
				assert_int_equal(form_engine_feed_cadence(e, s.t_usec, 60 / 0.35),
						 0);
		}
		if (cycle_off > 0 && t >= 20 && fmod(t - 20, cycle_off + 0.3) < cycle_off)
			continue;
		if (delay_s > 0 && i >= late_from && i < late_to)
			continue;
		if (delay_s > 0 && i == late_to)
			for (uint64_t j = late_from; j < late_to; j++) {
				struct form_imu_sample b;

				sample_at(&run, j / 100.0, &b);
				assert_int_equal(form_engine_feed_imu(e, &b), 0);
			}
		assert_int_equal(form_engine_feed_imu(e, &s), 0);
	}
	assert_int_equal(form_engine_session_stop(e, 60000000), 0);
	*ret = r->summary;
	form_engine_free(e);
	free(r);
}

/*
 * Steps counted while the IMU was silent are not counted again: not when the
 * samples were only late (delivered in a batch 4 or 6 s on, their steps
 * were counted as estimated meanwhile: 184 and 189 steps of 171 before), nor
 * when the IMU comes back for less than a step between silences (each
 * silence counted again from the last IMU step: 183 of 171 before).
 */
static void test_silent_steps_once(void **state)
{
	struct form_summary base, late4, late6, flap;

	run_late_or_flapping(0, 0, &base);
	run_late_or_flapping(4, 0, &late4);
	run_late_or_flapping(6, 0, &late6);
	run_late_or_flapping(0, 4, &flap);
	print_message("steps: %llu on time, %llu (%llu estimated) 4 s late, %llu (%llu) 6 s late, "
		      "%llu (%llu) flapping\n", (unsigned long long)base.steps,
		      (unsigned long long)late4.steps, (unsigned long long)late4.steps_estimated,
		      (unsigned long long)late6.steps, (unsigned long long)late6.steps_estimated,
		      (unsigned long long)flap.steps, (unsigned long long)flap.steps_estimated);
	assert_true(llabs((long long)late4.steps - (long long)base.steps) <= 2);
	assert_true(llabs((long long)late6.steps - (long long)base.steps) <= 2);
	/* the last 1.4 s, silent for less than the 3 s it takes to count, is short */
	assert_true(flap.steps <= base.steps + 2 && flap.steps + 8 >= base.steps);
	assert_true(flap.steps_estimated > 100);
}

/*
 * Every sensor silent after a run (the strap out of range, the treadmill
 * off): the caller's clock (form_engine_advance(), the daemon's 1 s tick)
 * ends the automatic session after auto_stop_s, dated back to when the
 * running stopped. The core has no clock: before, the session stayed open
 * until the next data, and an hour later its duration held the hour.
 */
static void test_advance_ends_session(void **state)
{
	struct recorder *r;
	const struct phase run[] = { { 60, RUN, 0.35, 0.2 } };
	struct form_engine *e;
	struct form_params p;

	form_params_default(&p);
	e = engine_recorded(&p, &r);
	feed(e, run, 1, NAN);
	assert_true(form_engine_session_active(e));
	form_engine_advance(e, 30000000);	/* before the data: nothing */
	assert_true(form_engine_session_active(e));
	for (uint64_t t = 61; t <= 60 + (uint64_t)p.auto_stop_s + 10; t++)
		form_engine_advance(e, t * 1000000);
	assert_int_equal(r->n_summary, 1);
	assert_false(form_engine_session_active(e));
	print_message("session %.1f s, running %.1f s, standing %.1f s\n", r->summary.duration_s,
		      r->summary.running_s, r->summary.standing_s);
	assert_true(r->summary.duration_s > 55 && r->summary.duration_s < 66);
	assert_true(r->summary.running_s > 50);
	assert_true(r->summary.running_s + r->summary.walking_s + r->summary.standing_s <=
		    r->summary.duration_s + 1e-6);
	form_engine_free(e);
	free(r);
}

/*
 * An automatic start counts what came since the running began: its time, and
 * also its distance and steps (here with auto_start_s 60 and a belt at 3 m/s,
 * 300 s of running at 0.35 s a step: 900 m and 857 steps). Before, the steps
 * came from the 32-step window only (713) and the distance of the first
 * 60 s was lost (720 m). A footpod alone likewise.
 */
static void test_auto_start_backfill(void **state)
{
	struct recorder *r;
	const struct phase run[] = { { 300, RUN, 0.35, 0.2 } };
	struct form_engine *e;
	struct form_params p;

	form_params_default(&p);
	p.auto_start_s = 60;
	e = engine_recorded(&p, &r);
	feed(e, run, 1, 3.0);
	assert_int_equal(r->n_started, 1);
	assert_int_equal(form_engine_session_stop(e, 300000000), 0);
	assert_int_equal(r->n_summary, 1);
	print_message("running %.1f s, %.1f m, %llu steps\n", r->summary.running_s,
		      r->summary.distance_m, (unsigned long long)r->summary.steps);
	assert_true(fabs(r->summary.running_s - 300) < 6);
	assert_true(fabs(r->summary.distance_m - 900) < 18);
	assert_true(llabs((long long)r->summary.steps - 857) <= 12);
	form_engine_free(e);

	/* a footpod alone, 170 spm at 3 m/s for 120 s: 340 steps, 360 m (325, 330) */
	memset(r, 0, sizeof(*r));
	assert_int_equal(form_engine_new(NULL, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	for (uint64_t t = 0; t <= 120; t++) {
		assert_int_equal(form_engine_feed_speed(e, t * 1000000, 3.0), 0);
		assert_int_equal(form_engine_feed_cadence(e, t * 1000000, 170), 0);
	}
	assert_int_equal(r->n_started, 1);
	assert_int_equal(form_engine_session_stop(e, 120000000), 0);
	print_message("footpod alone: running %.1f s, %.1f m, %llu steps\n",
		      r->summary.running_s, r->summary.distance_m,
		      (unsigned long long)r->summary.steps);
	assert_true(fabs(r->summary.distance_m - 360) < 7);
	assert_true(llabs((long long)r->summary.steps - 340) <= 6);
	form_engine_free(e);
	free(r);
}

/*
 * Walking right after an IMU gap longer than a hole (the sensor off and on
 * again, here for 2 s after 120 s of running): its steps are seen. The
 * detector's reset after the gap restarted its sample count but kept the
 * number of the last peak from before, so the expected peak height (the
 * running's) did not decay for as long as the IMU had streamed before: no
 * walking step was seen for that long (0 of ~218 here).
 */
/*
 * Steps timed unevenly, 320 and 820 ms in turn (a hip clip on the outdoor run
 * times walking steps so): the cadence is two steps a 1.14 s stride, 105.3
 * steps/min, at every tick. Taken from single steps (those within 40 % of
 * their median) it kept one side's steps: 79-148 on that run.
 */
static void test_uneven_steps(void **state)
{
	struct recorder *r;
	struct form_engine *e = engine_recorded(NULL, &r);
	double lo = INFINITY, hi = -INFINITY;

	for (uint64_t i = 0; i < 6000; i++) {
		double t = i / 100.0, tau = fmod(t, 1.14), v = 0;
		struct form_imu_sample smp;

		/* stances of 0.2 s at 0 and 0.32 s into each stride: 1 g on average */
		if (tau < 0.2)
			v = M_PI * 0.57 / 0.4 * sin(M_PI * tau / 0.2);
		else if (tau >= 0.32 && tau < 0.52)
			v = M_PI * 0.57 / 0.4 * sin(M_PI * (tau - 0.32) / 0.2);
		smp = (struct form_imu_sample) {
			.t_usec = i * 10000, .ax = 0.02 * sin(2 * M_PI * t / 1.14), .ay = NAN,
			.az = v, .gx = NAN, .gy = NAN, .gz = NAN,
		};
		assert_int_equal(form_engine_feed_imu(e, &smp), 0);
		if (t >= 30 && i % 100 == 0) {
			double c = r->last.m[FORM_METRIC_CADENCE].value;

			lo = fmin(lo, c);
			hi = fmax(hi, c);
		}
	}
	print_message("cadence %.1f-%.1f steps/min (two steps a 1.14 s stride: 105.3)\n", lo, hi);
	assert_true(lo > 104 && hi < 106.5);
	form_engine_free(e);
	free(r);
}

static void test_walk_after_gap(void **state)
{
	struct recorder *r;
	const struct phase run = { 120, RUN, 0.35, 0.2 }, walk = { 1e9, WALK, 0.55, 0 };
	struct form_engine *e;
	unsigned before = 0;

	e = engine_recorded(NULL, &r);
	for (uint64_t i = 0; i < 24200; i++) {
		struct form_imu_sample s;
		double t = i / 100.0;

		if (t >= 120 && t < 122)
			continue;
		if (i == 12200)
			before = r->n_contact;
		sample_at(t < 120 ? &run : &walk, t, &s);
		assert_int_equal(form_engine_feed_imu(e, &s), 0);
	}
	print_message("walking contacts after the gap: %u (120 s at 0.55 s a step)\n",
		      r->n_contact - before);
	assert_true(r->n_contact - before >= 180);
	assert_int_equal(r->last.activity, FORM_ACTIVITY_WALKING);
	form_engine_free(e);
	free(r);
}

/*
 * A stop stamped before samples already fed (the daemon's clock a little
 * behind the sensor's): the session ends at the last time its totals
 * counted, so its running, walking and standing time fit in its duration
 * and its digest is stored. Before, 60 s of samples stopped at 55 s gave a
 * 55 s session with 58 s of running, a digest storage refused (EBADMSG),
 * and the session dropped out of the history.
 */
static void test_session_stop_behind(void **state)
{
	struct recorder *r;
	const struct phase run[] = { { 60, RUN, 0.35, 0.2 } };
	struct form_engine *e;
	uint8_t buf[FORM_DIGEST_SIZE];
	struct form_digest back;
	size_t len;

	e = engine_recorded(NULL, &r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	feed(e, run, 1, NAN);
	assert_int_equal(form_engine_session_stop(e, 55000000), 0);
	assert_int_equal(r->n_summary, 1);
	print_message("duration %.2f s, running %.2f s\n", r->summary.duration_s,
		      r->summary.running_s);
	assert_true(r->summary.running_s + r->summary.walking_s + r->summary.standing_s <=
		    r->summary.duration_s + 1e-6);
	assert_int_equal(form_digest_serialize(&r->summary.digest, buf, sizeof(buf), &len), 0);
	assert_int_equal(form_digest_parse(buf, len, &back), 0);
	form_engine_free(e);
	free(r);
}

/*
 * A session's digest keeps 8 pain reports: once full, a worse report takes
 * the mildest one's place, with its own time and site, and the order stays
 * by time. Before, the 9th and later only raised the level of the 8th and
 * kept its site: seven mild knee reports and a severe lower-back one lost
 * the lower back (and its advice).
 */
static void test_pain_digest_full(void **state)
{
	struct recorder *r;
	struct form_engine *e;
	const struct form_digest *d;

	e = engine_recorded(NULL, &r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(form_engine_report_pain(e, (i + 1) * 1000000ULL, 1, "knee"), 0);
	assert_int_equal(form_engine_report_pain(e, 8000000, 5, "knee"), 0);
	assert_int_equal(form_engine_report_pain(e, 9000000, 4, "lower-back"), 0);
	assert_int_equal(form_engine_report_pain(e, 10000000, 9, "lower-back"), 0);
	assert_int_equal(form_engine_report_pain(e, 11000000, 0, "hip"), 0);
	assert_int_equal(form_engine_session_stop(e, 12000000), 0);
	d = &r->summary.digest;
	assert_int_equal(d->n_pain, 8);
	/* five of the level-1 knees are left, then the 5 knee, the 4 and the 9 */
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(d->pain[i].level, 1);
	assert_int_equal(d->pain[0].t_s, 3);
	assert_int_equal(d->pain[5].level, 5);
	assert_int_equal(d->pain[6].level, 4);
	assert_int_equal(d->pain[6].site, FORM_PAIN_SITE_LOWER_BACK);
	assert_int_equal(d->pain[7].level, 9);
	assert_int_equal(d->pain[7].site, FORM_PAIN_SITE_LOWER_BACK);
	assert_int_equal(d->pain[7].t_s, 10);
	for (unsigned i = 1; i < 8; i++)
		assert_true(d->pain[i].t_s > d->pain[i - 1].t_s);
	assert_true(r->summary.advice[FORM_ADVICE_STRETCH_LOWER_BACK]);
	form_engine_free(e);
	free(r);
}

/*
 * A session started at a time the samples have not reached yet (the daemon
 * starts it at its clock; samples come over BLE a little behind it): the
 * tick between owns none of the session. Before, now - start wrapped around
 * as unsigned, was capped at 5 s, and the summary held 5 s more than its
 * duration.
 */
static void test_session_start_ahead(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	const struct phase stand[] = { { 10.0, STAND, 0, 0 } }, more[] = { { 20.0, STAND, 0, 0 } };

	assert_int_equal(form_engine_new(NULL, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	feed(e, stand, 1, NAN);
	/* the data is at 9.99 s; the next tick comes at 10 s, before the start */
	assert_int_equal(form_engine_session_start(e, 10500000), 0);
	for (uint64_t i = 1000; i < 2000; i++) {
		struct form_imu_sample s;

		sample_at(&more[0], i / 100.0, &s);
		assert_int_equal(form_engine_feed_imu(e, &s), 0);
	}
	assert_int_equal(form_engine_session_stop(e, 20000000), 0);
	assert_int_equal(r->n_summary, 1);
	assert_true(fabs(r->summary.duration_s - 9.5) < 1e-9);
	/* ticks at 11 ... 19 s and the stop: 9.5 s of standing, not 14.5 */
	assert_true(r->summary.running_s + r->summary.walking_s + r->summary.standing_s <=
		    r->summary.duration_s + 1e-6);
	assert_true(r->summary.standing_s >= 8.5);
	form_engine_free(e);
	free(r);
}

static void test_alerts_hysteresis_repeat(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	struct form_baseline b;
	struct form_params p;
	/* normal, overstride, normal, overstride, normal, overstride */
	const struct phase ph[] = {
		{ 60, RUN, 0.35, 0.2 }, { 100, RUN, 0.41, 0.26 }, { 140, RUN, 0.35, 0.2 },
		{ 180, RUN, 0.41, 0.26 }, { 220, RUN, 0.35, 0.2 }, { 260, RUN, 0.41, 0.26 },
		{ 280, RUN, 0.35, 0.2 },
	};
	unsigned over = 0;

	form_params_default(&p);
	p.warmup_s = 10;
	p.baseline_s = 30;
	p.alert_min_duration_s = 5;
	p.alert_clear_s = 5;
	p.alert_repeat_s = 20;
	p.alert_max_repeats = 2;
	p.fatigue_min_s = 15;
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_get_baseline(e, &b), -ENODATA);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	assert_int_equal(form_engine_session_start(e, 0), -EBUSY);
	feed(e, ph, 7, 3.0);

	assert_int_equal(form_engine_get_baseline(e, &b), 0);
	assert_true(fabs(b.cadence_spm - 171.4) < 1.0);
	assert_true(fabs(b.speed_mps - 3.0) < 0.1);

	for (unsigned i = 0; i < r->n_alert; i++) {
		const struct form_alert *a = &r->alert[i];

		if (a->kind != FORM_ALERT_OVERSTRIDING)
			continue;
		over++;
		assert_int_equal(a->metric, FORM_METRIC_CADENCE);
		assert_true(a->value < a->threshold);
		/* 60 / 0.41 = 146.3 spm against 0.95 x 171.4 = 162.9 */
		assert_true(fabs(a->value - 146.3) < 1.5);
		assert_true(fabs(a->threshold - 162.9) < 1.5);
		assert_non_null(a->cue);
		assert_int_equal(a->severity, FORM_SEVERITY_WARNING);
		/* min duration: raised >= 5 s after it went beyond */
		assert_true(a->start_usec >= (over == 1 ? 60000000u : 140000000u));
	}
	/* the third overstride (220-260 s) hits the repeat limit of 2 */
	assert_int_equal(over, 2);
	/* every raised alert was cleared (hysteresis or session end), same id */
	for (unsigned i = 0; i < r->n_alert; i++) {
		bool found = false;

		for (unsigned k = 0; k < r->n_cleared; k++)
			found |= r->cleared[k].id == r->alert[i].id &&
				r->cleared[k].end_usec > r->alert[i].start_usec;
		assert_true(found);
	}
	/* a cleared event says where the cadence is back to, not its last bad value */
	{
		unsigned back = 0;

		for (unsigned k = 0; k < r->n_cleared; k++)
			back += r->cleared[k].kind == FORM_ALERT_OVERSTRIDING &&
				r->cleared[k].value >= r->cleared[k].threshold;
		assert_true(back >= 1);
	}
	/* overstride phases also drift from the early-run baseline: fatigue */
	{
		bool fatigue = false;

		for (unsigned i = 0; i < r->n_alert; i++)
			fatigue |= r->alert[i].kind == FORM_ALERT_FATIGUE;
		assert_true(fatigue);
	}
	assert_int_equal(form_engine_session_stop(e, 280000000), 0);
	assert_int_equal(r->summary.alert_count[FORM_ALERT_OVERSTRIDING], 2);
	assert_true(r->summary.alert_s[FORM_ALERT_OVERSTRIDING] > 20);
	assert_true(r->summary.advice[FORM_ADVICE_SHORTER_STEPS]);
	assert_true(r->summary.advice[FORM_ADVICE_STRETCH_HIP_FLEXORS]);
	assert_true(r->summary.baseline_learned);
	assert_true(fabs(r->summary.distance_m - 3.0 * 280) < 10);
	form_engine_free(e);
	free(r);
}

/*
 * The summary's drift is the late steady running against the early
 * baseline: not the cool-down walk the session ends with, and none when
 * too little running followed the baseline.
 */
static void test_drift_late_window(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	struct form_params p;
	/* baseline at 60/0.35 = 171.4 spm, then 60/0.38 = 157.9 spm, then a walk */
	const struct phase ph[] = {
		{ 60, RUN, 0.35, 0.2 }, { 400, RUN, 0.38, 0.23 }, { 440, WALK, 0.6, 0 },
	};
	const struct phase short_ph[] = { { 60, RUN, 0.35, 0.2 } };

	form_params_default(&p);
	p.warmup_s = 10;
	p.baseline_s = 30;
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	feed(e, ph, 3, 3.0);
	assert_true(r->n_activity > 0);
	assert_int_equal(r->act[r->n_activity - 1].to, FORM_ACTIVITY_WALKING);
	/* walking: double support, no toe-off, GCT or flight from the running model */
	assert_true(r->n_walk_contact > 30);
	assert_int_equal(r->n_walk_with_to, 0);
	assert_int_equal(form_engine_session_stop(e, 440000000), 0);
	assert_true(r->summary.baseline_learned);
	assert_true(fabs(r->summary.baseline.cadence_spm - 171.4) < 1.0);
	/* 157.9 - 171.4 = -13.5 spm; the walk at the end (100 spm) is not in it */
	assert_true(fabs(r->summary.drift[FORM_METRIC_CADENCE] + 13.5) < 1.5);
	assert_true(r->summary.drift[FORM_METRIC_GCT] > 15);
	form_engine_free(e);

	/* about 20 s of running after the baseline: too little for a drift */
	memset(r, 0, sizeof(*r));
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	feed(e, short_ph, 1, 3.0);
	assert_int_equal(form_engine_session_stop(e, 60000000), 0);
	assert_true(r->summary.baseline_learned);
	assert_true(isnan(r->summary.drift[FORM_METRIC_CADENCE]));
	assert_true(isnan(r->summary.drift[FORM_METRIC_GCT]));
	form_engine_free(e);
	free(r);
}

/*
 * Bouncing: landing harder than the baseline (impact +29 % at the same
 * cadence) raises it; the same impact with 9 % more cadence, a faster pace
 * with lower vertical oscillation, does not (impact is judged against the
 * baseline at its pace; no speed here, so cadence stands for the pace).
 */
static void test_bouncing_same_pace(void **state)
{
	static const struct {
		double step_s, gct_s;
		bool alert;
	} cases[] = {
		{ 0.35, 0.16, true },	/* 171.4 spm, impact 2.45 -> 3.17 g */
		{ 0.32, 0.15, false },	/* 187.5 spm, impact 3.19 g, VO lower */
		{ 0.35, 0.2, false },	/* unchanged */
	};

	for (unsigned c = 0; c < ELEMENTSOF(cases); c++) {
		struct recorder *r = calloc(1, sizeof(*r));
		struct form_engine *e = NULL;
		struct form_params p;
		const struct phase ph[] = {
			{ 60, RUN, 0.35, 0.2 }, { 160, RUN, cases[c].step_s, cases[c].gct_s },
		};
		unsigned n = 0;

		form_params_default(&p);
		p.warmup_s = 10;
		p.baseline_s = 30;
		p.alert_min_duration_s = 5;
		assert_int_equal(form_engine_new(&p, &e), 0);
		form_engine_set_event_cb(e, on_event, r);
		assert_int_equal(form_engine_session_start(e, 0), 0);
		feed(e, ph, 2, NAN);
		for (unsigned i = 0; i < r->n_alert; i++) {
			const struct form_alert *a = &r->alert[i];

			assert_int_equal(a->kind, FORM_ALERT_BOUNCING);
			assert_int_equal(a->metric, FORM_METRIC_IMPACT);
			assert_true(a->value > a->threshold);
			assert_true(a->start_usec >= 60000000);
			n++;
		}
		assert_int_equal(n, cases[c].alert ? 1 : 0);
		assert_int_equal(form_engine_session_stop(e, 160000000), 0);
		assert_int_equal(r->summary.alert_count[FORM_ALERT_BOUNCING], n);
		form_engine_free(e);
		free(r);
	}
}

static void test_pain(void **state)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	const struct phase ph[] = { { 30, RUN, 0.35, 0.2 } };

	assert_int_equal(form_engine_new(NULL, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	assert_int_equal(form_engine_session_start(e, 0), 0);
	feed(e, ph, 1, NAN);
	assert_int_equal(form_engine_report_pain(e, 30000000, 2, "knee"), 0);
	assert_int_equal(r->n_alert, 0);		/* below the alert level */
	assert_int_equal(form_engine_report_pain(e, 31000000, 5, "Lower back"), 0);
	assert_int_equal(r->n_alert, 1);		/* immediate */
	assert_int_equal(r->alert[0].kind, FORM_ALERT_PAIN);
	assert_int_equal(r->alert[0].severity, FORM_SEVERITY_WARNING);
	assert_int_equal(r->alert[0].metric, FORM_METRIC_PAIN);
	assert_true(r->alert[0].start_usec == 31000000);
	assert_int_equal(form_engine_report_pain(e, 32000000, 8, "back"), 0);
	assert_int_equal(r->n_alert, 2);
	assert_int_equal(r->n_cleared, 1);
	assert_int_equal(r->cleared[0].id, r->alert[0].id);
	assert_int_equal(r->alert[1].severity, FORM_SEVERITY_CRITICAL);
	assert_int_equal(form_engine_report_pain(e, 33000000, 0, NULL), 0);
	assert_int_equal(r->n_cleared, 2);
	assert_int_equal(form_engine_session_stop(e, 34000000), 0);

	assert_int_equal(r->summary.digest.n_pain, 4);
	/* the reports 2, 5, 8, 0: exact levels, nearest rank */
	assert_int_equal(r->summary.stats[FORM_METRIC_PAIN].n, 4);
	assert_true(r->summary.stats[FORM_METRIC_PAIN].median == 2);
	assert_true(r->summary.stats[FORM_METRIC_PAIN].p10 == 0);
	assert_true(r->summary.stats[FORM_METRIC_PAIN].p90 == 8);
	assert_int_equal(r->summary.digest.pain[1].site, FORM_PAIN_SITE_LOWER_BACK);
	assert_int_equal(r->summary.digest.pain[0].site, FORM_PAIN_SITE_KNEE);
	assert_int_equal(r->summary.digest.pain[2].level, 8);
	assert_true(r->summary.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	assert_true(r->summary.advice[FORM_ADVICE_LISTEN_TO_BODY]);
	assert_true(r->summary.advice[FORM_ADVICE_STRETCH_LOWER_BACK]);
	assert_true(r->summary.advice[FORM_ADVICE_CORE_STRENGTH]);

	/* pain between sessions: raised, and cleared (not dropped) by the next start */
	assert_int_equal(form_engine_report_pain(e, 35000000, 6, "hip"), 0);
	assert_int_equal(r->n_alert, 3);
	assert_int_equal(r->n_cleared, 2);
	assert_int_equal(form_engine_session_start(e, 36000000), 0);
	assert_int_equal(r->n_cleared, 3);
	assert_int_equal(r->cleared[2].id, r->alert[2].id);
	assert_true(r->cleared[2].end_usec == 36000000);
	assert_int_equal(form_engine_session_stop(e, 37000000), 0);
	assert_int_equal(r->summary.alert_count[FORM_ALERT_PAIN], 0);

	/*
	 * The levels at the edges (defaults 4 and 7): 3 raises nothing, 4 a
	 * warning at once; 6 is not severe, 7 is: critical, and the summary
	 * says to see a physiotherapist or doctor.
	 */
	assert_int_equal(form_engine_session_start(e, 38000000), 0);
	assert_int_equal(form_engine_report_pain(e, 38000000, 3, "back"), 0);
	assert_int_equal(r->n_alert, 3);
	assert_int_equal(form_engine_report_pain(e, 39000000, 4, "back"), 0);
	assert_int_equal(r->n_alert, 4);
	assert_int_equal(r->alert[3].severity, FORM_SEVERITY_WARNING);
	assert_true(r->alert[3].threshold == 4);
	assert_int_equal(form_engine_report_pain(e, 40000000, 6, "back"), 0);
	assert_int_equal(r->alert[4].severity, FORM_SEVERITY_WARNING);
	assert_int_equal(form_engine_session_stop(e, 41000000), 0);
	assert_false(r->summary.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	assert_true(r->summary.advice[FORM_ADVICE_LISTEN_TO_BODY]);
	assert_int_equal(form_engine_session_start(e, 42000000), 0);
	assert_int_equal(form_engine_report_pain(e, 42000000, 7, "back"), 0);
	assert_int_equal(r->alert[5].severity, FORM_SEVERITY_CRITICAL);
	assert_true(r->alert[5].threshold == 7);
	assert_int_equal(form_engine_session_stop(e, 43000000), 0);
	assert_true(r->summary.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	form_engine_free(e);
	free(r);
}

static void test_json(void **state)
{
	struct form_event ev = {
		.type = FORM_EVENT_CONTACT,
		.contact = {
			.ic_usec = 2232000, .to_usec = 2446000, .has_to = true,
			.side = FORM_SIDE_LEFT, .gct_ms = 214, .flight_ms = NAN,
			.step_time_ms = 300, .vertical_oscillation_mm = NAN,
			.peak_vertical_g = 3.5, .braking_mps = NAN, .trunk_lean_deg = NAN,
			.pelvic_tilt_deg = 2, .pelvic_drop_deg = NAN,
		},
	};
	struct json_object *o = NULL, *x;
	struct form_metrics mt = {};

	assert_int_equal(form_event_to_json(&ev, 1000000, &o), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "event")), "contact");
	assert_true(fabs(json_object_get_double(json_object_object_get(o, "ic_s")) - 1.232) < 1e-9);
	assert_true(fabs(json_object_get_double(json_object_object_get(o, "to_s")) - 1.446) < 1e-9);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "side")), "left");
	/* missing values are null, never 0 */
	assert_true(json_object_object_get_ex(o, "flight_ms", &x));
	assert_null(x);
	assert_true(json_object_object_get_ex(o, "braking_mps", &x));
	assert_null(x);
	json_object_put(o);

	ev.contact.has_to = false;
	assert_int_equal(form_event_to_json(&ev, 1000000, &o), 0);
	assert_true(json_object_object_get_ex(o, "to_s", &x));
	assert_null(x);
	json_object_put(o);

	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		mt.m[m] = (struct form_metric_value) { NAN, FORM_QUALITY_NONE };
	mt.m[FORM_METRIC_CADENCE] = (struct form_metric_value) { 171.43, FORM_QUALITY_GOOD };
	ev = (struct form_event) { .type = FORM_EVENT_METRICS, .t_usec = 3000000, .metrics = mt };
	assert_int_equal(form_event_to_json(&ev, 1000000, &o), 0);
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(o, "cadence_spm"),
							   JSON_C_TO_STRING_PLAIN), "171.4");
	assert_true(json_object_object_get_ex(o, "gct_ms", &x));
	assert_null(x);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_object_get(o, "quality"), "gct_ms")), "none");
	assert_true(fabs(json_object_get_double(json_object_object_get(o, "t_s")) - 2) < 1e-9);
	json_object_put(o);

	/*
	 * An alert as `gaitctl analyze` prints it: id, kind, severity, metric,
	 * value and threshold with the metric's decimals, start time, cue; its
	 * cleared event adds the end, and a value not measured then is null.
	 */
	ev = (struct form_event) {
		.type = FORM_EVENT_ALERT, .t_usec = 66000000,
		.alert = {
			.id = 3, .kind = FORM_ALERT_OVERSTRIDING, .severity = FORM_SEVERITY_WARNING,
			.metric = FORM_METRIC_CADENCE, .value = 150.06, .threshold = 162.87,
			.start_usec = 61500000,
			.cue = "Shorten your stride, land under your hips",
		},
	};
	assert_int_equal(form_event_to_json(&ev, 1000000, &o), 0);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"event\":\"alert\",\"t_s\":65.000,\"id\":3,\"kind\":\"overstriding\","
			    "\"severity\":\"warning\",\"metric\":\"cadence_spm\",\"value\":150.1,"
			    "\"threshold\":162.9,\"start_s\":60.500,"
			    "\"cue\":\"Shorten your stride, land under your hips\"}");
	json_object_put(o);
	ev.type = FORM_EVENT_CLEARED;
	ev.t_usec = ev.alert.end_usec = 101000000;
	ev.alert.value = NAN;
	assert_int_equal(form_event_to_json(&ev, 1000000, &o), 0);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"event\":\"cleared\",\"t_s\":100.000,\"id\":3,\"kind\":\"overstriding\","
			    "\"severity\":\"warning\",\"metric\":\"cadence_spm\",\"value\":null,"
			    "\"threshold\":162.9,\"start_s\":60.500,\"end_s\":100.000,"
			    "\"cue\":\"Shorten your stride, land under your hips\"}");
	json_object_put(o);
}

static void test_names(void **state)
{
	size_t n;
	const struct form_param_info *t = form_param_table(&n);
	struct form_params p;

	assert_int_equal(form_mount_from_string("chest"), FORM_MOUNT_CHEST);
	assert_int_equal(form_mount_from_string("ankle"), -EINVAL);
	assert_string_equal(form_mount_to_string(FORM_MOUNT_WAIST), "waist");
	assert_null(form_mount_to_string(_FORM_MOUNT_MAX));
	assert_string_equal(form_metric_to_string(FORM_METRIC_GCT), "gct_ms");
	assert_int_equal(form_metric_from_string("cadence_spm"), FORM_METRIC_CADENCE);
	assert_int_equal(form_pain_site_from_text("my LOWER back"), FORM_PAIN_SITE_LOWER_BACK);
	assert_int_equal(form_pain_site_from_text("left knee"), FORM_PAIN_SITE_KNEE);
	assert_int_equal(form_pain_site_from_text("elbow"), FORM_PAIN_SITE_OTHER);
	for (unsigned a = 0; a < _FORM_ADVICE_MAX; a++)
		assert_non_null(form_advice_text(a));

	/* the table drives the defaults: issue 4 values */
	form_params_default(&p);
	assert_true(n >= 20 && t[0].name);
	assert_true(p.warmup_s == 120 && p.baseline_s == 180 && p.alert_min_duration_s == 30);
	assert_true(p.auto_session && isnan(p.runner_height_m));
	assert_int_equal(form_params_validate(&p), 0);
	p.pain_severe_level = 3;			/* below the alert level */
	assert_int_equal(form_params_validate(&p), -EINVAL);
}

/* docs/form-metrics.md lists every parameter with the code's default. */
static void test_docs_params(void **state)
{
	size_t n;
	const struct form_param_info *t = form_param_table(&n);
	char line[512];
	bool seen[64] = {};
	FILE *f = fopen("docs/form-metrics.md", "re");

	assert_non_null(f);
	assert_true(n <= 64);
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < n; i++) {
			char want[128], def[32];

			if (isnan(t[i].def))
				snprintf(def, sizeof(def), "unknown");
			else if (t[i].type == 'b')
				snprintf(def, sizeof(def), "%s", t[i].def ? "true" : "false");
			else
				snprintf(def, sizeof(def), "%g", t[i].def);
			snprintf(want, sizeof(want), "| `%s` | %s | %s |", t[i].name, def,
				 t[i].unit);
			if (strncmp(line, want, strlen(want)) == 0)
				seen[i] = true;
		}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			fail_msg("docs/form-metrics.md lacks '%s' with its default", t[i].name);
}

/*
 * Every fixed threshold has its row in docs/form-metrics.md ("Fixed
 * thresholds"), with the value, unit, use and source form_threshold_table()
 * gives; a missing or stale row prints the row the table wants.
 */
static void test_docs_thresholds(void **state)
{
	size_t n;
	const struct form_threshold_info *t = form_threshold_table(&n);
	char line[1024], want[64][512];
	bool seen[64] = {};
	FILE *f = fopen("docs/form-metrics.md", "re");

	assert_non_null(f);
	assert_true(n > 0 && n <= 64);
	for (size_t i = 0; i < n; i++)
		snprintf(want[i], sizeof(want[i]), "| `%s` | %g | %s | %s | %s |\n", t[i].name,
			 t[i].value, t[i].unit, t[i].use, t[i].source);
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < n; i++)
			seen[i] |= strcmp(line, want[i]) == 0;
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			fail_msg("docs/form-metrics.md lacks the row\n%s", want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/engine/activity-auto-session", test_activity_and_auto_session, NULL, NULL,
		  NULL },
		{ "/form/engine/session-start-ahead", test_session_start_ahead, NULL, NULL, NULL },
		{ "/form/engine/footpod-steps", test_footpod_steps, NULL, NULL, NULL },
		{ "/form/engine/gap-lengths", test_gap_lengths, NULL, NULL, NULL },
		{ "/form/engine/uneven-steps", test_uneven_steps, NULL, NULL, NULL },
		{ "/form/engine/walk-after-gap", test_walk_after_gap, NULL, NULL, NULL },
		{ "/form/engine/auto-start-backfill", test_auto_start_backfill, NULL, NULL, NULL },
		{ "/form/engine/advance-ends-session", test_advance_ends_session, NULL, NULL, NULL },
		{ "/form/engine/silent-steps-once", test_silent_steps_once, NULL, NULL, NULL },
		{ "/form/engine/session-stop-behind", test_session_stop_behind, NULL, NULL, NULL },
		{ "/form/engine/pain-digest-full", test_pain_digest_full, NULL, NULL, NULL },
		{ "/form/engine/alerts-hysteresis-repeat", test_alerts_hysteresis_repeat, NULL,
		  NULL, NULL },
		{ "/form/engine/drift-late-window", test_drift_late_window, NULL, NULL, NULL },
		{ "/form/engine/bouncing-same-pace", test_bouncing_same_pace, NULL, NULL, NULL },
		{ "/form/engine/pain", test_pain, NULL, NULL, NULL },
		{ "/form/engine/json", test_json, NULL, NULL, NULL },
		{ "/form/engine/names-params", test_names, NULL, NULL, NULL },
		{ "/form/engine/docs-params", test_docs_params, NULL, NULL, NULL },
		{ "/form/engine/docs-thresholds", test_docs_thresholds, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
