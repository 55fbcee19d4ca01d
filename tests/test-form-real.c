// SPDX-License-Identifier: GPL-2.0-or-later
/* Form core on the real recordings shipped in data/: contacts vs force plate, cadence vs ankle. */
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
#include "form/trace-csv.h"

#define MAX_C 4096

struct run {
	unsigned n;
	double ic[MAX_C], to[MAX_C];	/* seconds from the first sample; to NAN */
	struct form_summary summary;
	unsigned activity_ticks[_FORM_ACTIVITY_MAX];
	enum form_activity at[400];	/* activity per second */
	double lean[400];		/* live trunk lean / pelvic tilt per second */
	unsigned alerts[_FORM_ALERT_KIND_MAX];
};

static const char *data_dir(void)
{
	const char *d = getenv("GK_DATA");

	return d ? d : "data";
}

static void on_event(const struct form_event *ev, void *userdata)
{
	struct run *r = userdata;

	if (ev->type == FORM_EVENT_CONTACT && r->n < MAX_C) {
		r->ic[r->n] = ev->contact.ic_usec / 1e6;
		r->to[r->n] = ev->contact.has_to ? ev->contact.to_usec / 1e6 : NAN;
		r->n++;
	}
	if (ev->type == FORM_EVENT_METRICS) {
		unsigned s = (unsigned)(ev->t_usec / 1000000);

		if (s < 400) {
			r->at[s] = ev->metrics.activity;
			r->lean[s] = ev->metrics.m[FORM_METRIC_TRUNK_LEAN].value;
		}
	}
	if (ev->type == FORM_EVENT_ALERT && ev->alert.kind >= 0 &&
	    ev->alert.kind < _FORM_ALERT_KIND_MAX)
		r->alerts[ev->alert.kind]++;
	if (ev->type == FORM_EVENT_SUMMARY)
		r->summary = *ev->summary;
}

/*
 * Replay a trace exactly as gaitctl analyze does; with loss > 0, that share
 * of its 180 ms blocks is lost (a lost BLE notification), drawn from a fixed
 * seed; with turn_deg, the sensor turns by that much about its z axis at
 * turn_s s, as a clip or strap that slips (accelerometer and gyro alike).
 */
static struct run *replay_full(const char *name, enum form_mount mount, double speed,
			       double loss, double turn_s, double turn_deg)
{
	struct run *r = calloc(1, sizeof(*r));
	struct form_engine *e = NULL;
	struct form_params p;
	struct trace_csv csv;
	char path[512], line[TRACE_CSV_MAX_LINE + 2];
	uint64_t last = 0, t_speed = 0, block = UINT64_MAX;
	uint32_t seed = 12345;
	bool lost = false;
	FILE *f;

	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "re");
	if (!f)
		fail_msg("cannot open %s", path);
	form_params_default(&p);
	p.mount = mount;
	assert_int_equal(form_engine_new(&p, &e), 0);
	form_engine_set_event_cb(e, on_event, r);
	trace_csv_init(&csv);
	while (fgets(line, sizeof(line), f)) {
		struct form_imu_sample s;
		size_t len = strlen(line);
		int k;

		assert_true(len > 0 && line[len - 1] == '\n');
		k = trace_csv_feed_line(&csv, line, len - 1, &s);
		assert_true(k >= 0);
		if (k == 0)
			continue;
		if (loss > 0 && s.t_usec / 180000 != block) {
			block = s.t_usec / 180000;
			seed = seed * 1103515245u + 12345u;
			/* never the first sample: the session starts there */
			lost = csv.samples > 1 && (seed >> 8) % 10000 < loss * 10000;
		}
		if (lost)
			continue;
		if (turn_deg != 0 && s.t_usec >= turn_s * 1e6) {
			double c = cos(turn_deg * M_PI / 180), sn = sin(turn_deg * M_PI / 180);
			double ax = s.ax, ay = s.ay, gx = s.gx, gy = s.gy;

			s.ax = c * ax - sn * ay;
			s.ay = sn * ax + c * ay;
			s.gx = c * gx - sn * gy;
			s.gy = sn * gx + c * gy;
		}
		if (csv.samples == 1)
			assert_int_equal(form_engine_session_start(e, s.t_usec), 0);
		if (!isnan(speed) && (t_speed == 0 || s.t_usec >= t_speed + 1000000)) {
			assert_int_equal(form_engine_feed_speed(e, s.t_usec, speed), 0);
			t_speed = s.t_usec;
		}
		assert_int_equal(form_engine_feed_imu(e, &s), 0);
		last = s.t_usec;
	}
	fclose(f);
	assert_int_equal(form_engine_session_stop(e, last), 0);
	form_engine_free(e);
	return r;
}

static struct run *replay_lossy(const char *name, enum form_mount mount, double speed,
				double loss)
{
	return replay_full(name, mount, speed, loss, 0, 0);
}

static struct run *replay(const char *name, enum form_mount mount, double speed)
{
	return replay_lossy(name, mount, speed, 0);
}

struct score {
	unsigned tp, fp, fn;
	double ic_abs, to_abs, gct_sq;
};

/* The scoring rules of shared/tools/score-contacts, on one trial. */
static void score_trial(const struct run *r, int trial, struct score *sc)
{
	char path[512], line[256];
	double tic[64], tto[64];
	int tcomplete[64];
	bool used[MAX_C] = {}, scored[64];
	unsigned nt = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sacral-treadmill/contacts.csv", data_dir());
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f) && nt < 64) {
		int tr, idx, complete;
		double ic, to, ct;

		assert_int_equal(sscanf(line, "%d,%d,%lf,%lf,%lf,%d", &tr, &idx, &ic, &to, &ct,
					&complete), 6);
		if (tr != trial)
			continue;
		tic[nt] = ic;
		tto[nt] = to;
		tcomplete[nt] = complete;
		nt++;
	}
	fclose(f);
	assert_true(nt > 5);

	for (unsigned i = 0; i < nt; i++) {
		int best = -1;

		scored[i] = tcomplete[i] && tic[i] >= 0.5 && tto[i] <= 4.86;
		for (unsigned k = 0; k < r->n; k++)
			if (!used[k] && fabs(r->ic[k] - tic[i]) <= 0.06 &&
			    (best < 0 || fabs(r->ic[k] - tic[i]) < fabs(r->ic[best] - tic[i])))
				best = (int)k;
		if (best < 0) {
			sc->fn += scored[i];
			continue;
		}
		used[best] = true;
		if (!scored[i])
			continue;
		sc->tp++;
		sc->ic_abs += fabs(r->ic[best] - tic[i]) * 1000;
		assert_false(isnan(r->to[best]));
		sc->to_abs += fabs(r->to[best] - tto[i]) * 1000;
		sc->gct_sq += pow(((r->to[best] - r->ic[best]) - (tto[i] - tic[i])) * 1000, 2);
	}
	for (unsigned k = 0; k < r->n; k++) {
		double end = isnan(r->to[k]) ? r->ic[k] : r->to[k];

		if (!used[k] && r->ic[k] >= 0.5 && end <= 4.86)
			sc->fp++;
	}
}

static void test_sacral_contacts(void **state)
{
	static const struct {
		const char *file;
		int trial;
		double speed;
	} trials[] = {
		{ "sacral-treadmill/trial_04.csv", 4, 3.33 },
		{ "sacral-treadmill/trial_06.csv", 6, 3.33 },
		{ "sacral-treadmill/trial_16.csv", 16, 3.33 },
		{ "sacral-treadmill/trial_22.csv", 22, 4.17 },
		{ "sacral-treadmill/trial_28.csv", 28, 3.33 },
	};
	struct score sc = {};
	double f1;

	for (size_t i = 0; i < sizeof(trials) / sizeof(trials[0]); i++) {
		struct run *r = replay(trials[i].file, FORM_MOUNT_SACRUM, trials[i].speed);

		score_trial(r, trials[i].trial, &sc);
		free(r);
	}
	f1 = 2.0 * sc.tp / (2.0 * sc.tp + sc.fp + sc.fn);
	print_message("tp %u fp %u fn %u F1 %.3f IC MAE %.1f TO MAE %.1f GCT RMSE %.1f\n",
		      sc.tp, sc.fp, sc.fn, f1, sc.ic_abs / sc.tp, sc.to_abs / sc.tp,
		      sqrt(sc.gct_sq / sc.tp));
	/* issue 4 targets */
	assert_true(sc.tp >= 55);
	assert_true(f1 >= 0.98);
	assert_true(sc.ic_abs / sc.tp <= 10);
	assert_true(sc.to_abs / sc.tp <= 15);
	assert_true(sqrt(sc.gct_sq / sc.tp) <= 15);
}

/*
 * A stream that starts in stance: trial 6 starts 0.18 s into a contact (the
 * force plate's first, incomplete, at 0.000 s). Its loading rise is unseen,
 * so it is not reported: it used to come out at 0.019 s with a 148 ms
 * contact and a 267 ms step, which the live cadence then took in. Trial 4
 * starts in one too, but its first whole contact (0.108 s, after a flight
 * seen from the stream's start) is reported.
 */
static void test_stream_starts_in_stance(void **state)
{
	struct run *r6 = replay("sacral-treadmill/trial_06.csv", FORM_MOUNT_SACRUM, 3.33);
	struct run *r4 = replay("sacral-treadmill/trial_04.csv", FORM_MOUNT_SACRUM, 3.33);

	assert_true(r6->n > 10);
	print_message("trial 6 first IC %.4f s, trial 4 first IC %.4f s\n", r6->ic[0], r4->ic[0]);
	assert_true(r6->ic[0] > 0.2 && fabs(r6->ic[0] - 0.286) <= 0.02);
	assert_true(fabs(r4->ic[0] - 0.108) <= 0.02);
	free(r6);
	free(r4);
}

static void test_raw_512hz(void **state)
{
	struct run *r = replay("sacral-treadmill/raw-sacral-512hz.csv", FORM_MOUNT_SACRUM, 3.0);
	double cad;
	unsigned n = 0;

	/* README: ~1 s standing, then 13 steps at about 160 steps/min */
	assert_true(r->n >= 12 && r->n <= 14);
	n = r->n - 1;
	cad = 60.0 * n / (r->ic[r->n - 1] - r->ic[0]);
	assert_true(cad > 155 && cad < 168);
	assert_true(r->ic[0] > 0.9);
	free(r);
}

/* Left-foot strikes at the ankle: magnitude peaks > 3 g, 0.45 s apart. */
static unsigned ankle_strikes(double *t, unsigned cap)
{
	char path[512], line[256];
	struct trace_csv csv;
	double prev_m = 0, prev2_m = 0, prev_t = 0, last_m = 0;
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/outdoor-hip/ankle-0000-0200.csv", data_dir());
	f = fopen(path, "re");
	assert_non_null(f);
	trace_csv_init(&csv);
	while (fgets(line, sizeof(line), f)) {
		struct form_imu_sample s;
		double m;

		if (trace_csv_feed_line(&csv, line, strlen(line) - 1, &s) != 1)
			continue;
		m = sqrt(s.ax * s.ax + s.ay * s.ay + s.az * s.az);
		if (prev_m > 3 && prev_m >= prev2_m && prev_m >= m) {
			if (n > 0 && prev_t - t[n - 1] < 0.45) {
				/* within the refractory time: keep the larger peak */
				if (prev_m > last_m) {
					t[n - 1] = prev_t;
					last_m = prev_m;
				}
			} else if (n < cap) {
				t[n++] = prev_t;
				last_m = prev_m;
			}
		}
		prev2_m = prev_m;
		prev_m = m;
		prev_t = s.t_usec / 1e6;
	}
	fclose(f);
	return n;
}

static void test_outdoor_hip(void **state)
{
	struct run *r = replay("demo/hip-run-5min30.csv", FORM_MOUNT_WAIST, NAN);
	double strikes[400], first = 0, last = 0;
	unsigned ns = ankle_strikes(strikes, 400), a = 0, h = 0;
	double fa = 0, la = 0;

	/* minute 1 (60-120 s): hip step rate vs 2 x ankle stride rate */
	for (unsigned i = 0; i < ns; i++)
		if (strikes[i] >= 60 && strikes[i] < 120) {
			if (!a++)
				fa = strikes[i];
			la = strikes[i];
		}
	for (unsigned i = 0; i < r->n; i++)
		if (r->ic[i] >= 60 && r->ic[i] < 120) {
			if (!h++)
				first = r->ic[i];
			last = r->ic[i];
		}
	assert_true(a > 70 && h > 140);
	print_message("ankle %.2f spm, hip %.2f spm\n", 2 * 60.0 * (a - 1) / (la - fa),
		      60.0 * (h - 1) / (last - first));
	assert_true(fabs(2 * 60.0 * (a - 1) / (la - fa) - 60.0 * (h - 1) / (last - first)) <= 1.0);

	/* 0:20-4:50 running, then slowing, walking, standing (4:55-5:15) */
	for (unsigned s = 20; s < 290; s++)
		assert_int_equal(r->at[s], FORM_ACTIVITY_RUNNING);
	{
		bool stopped = false;

		for (unsigned s = 297; s < 318; s++)
			stopped |= r->at[s] == FORM_ACTIVITY_STANDING;
		assert_true(stopped);
	}
	assert_true(r->summary.running_s > 280 && r->summary.running_s < 320);
	assert_true(fabs(r->summary.stats[FORM_METRIC_CADENCE].median - 158) < 3);
	free(r);
}

/*
 * Steps in the holes of a lossy stream: the outdoor hip run with 5 % of its
 * 180 ms blocks lost loses about 6 % of its contacts (a contact whose rise
 * or peak is in a hole is not timed); the summary counts them from the step
 * time around the holes, so its steps and impact load stay within 0.5 % of
 * the lossless run's (a step before an untimed contact used to lose its
 * peak from its impact: 1.4 % less load).
 */
static void test_steps_in_holes(void **state)
{
	struct run *full = replay("demo/hip-run-5min30.csv", FORM_MOUNT_WAIST, NAN);
	struct run *lossy = replay_lossy("demo/hip-run-5min30.csv", FORM_MOUNT_WAIST, NAN, 0.05);
	double n = (double)full->summary.steps, load = full->summary.digest.impact_load;

	print_message("steps %llu lossless, %u contacts + %llu estimated lossy (%llu holes); "
		      "impact load %.1f vs %.1f\n", (unsigned long long)full->summary.steps,
		      lossy->n, (unsigned long long)lossy->summary.steps_estimated,
		      (unsigned long long)lossy->summary.imu_holes, load,
		      lossy->summary.digest.impact_load);
	assert_int_equal(full->summary.steps_estimated, 0);
	assert_int_equal(full->summary.imu_holes, 0);
	assert_true(lossy->summary.imu_holes > 50);
	assert_true(lossy->n < 0.97 * n);
	assert_int_equal(lossy->summary.steps, lossy->n + lossy->summary.steps_estimated);
	assert_true(fabs((double)lossy->summary.steps - n) <= 0.005 * n);
	assert_true(fabs(lossy->summary.digest.impact_load - load) <= 0.005 * load);
	free(full);
	free(lossy);
}

/* The median of the finite live lean values of seconds [from, to). */
static double lean_median(const struct run *r, unsigned from, unsigned to)
{
	double v[400];
	unsigned n = 0;

	for (unsigned i = from; i < to && i < 400; i++)
		if (isfinite(r->lean[i]))
			v[n++] = r->lean[i];
	for (unsigned i = 1; i < n; i++)	/* insertion sort: a few hundred */
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : NAN;
}

/*
 * A sensor that slips during a run: the hip clip turned by 20 deg about its
 * z axis (a pitch: the lean would read -17 deg instead of 2) 150 s into the
 * shipped outdoor run. The lean goes on from where it was, within 2 deg of
 * the unturned run's, and no not-upright alert follows (one did).
 */
static void test_sensor_slip(void **state)
{
	struct run *r0 = replay("demo/hip-run-5min30.csv", FORM_MOUNT_WAIST, NAN);
	struct run *r = replay_full("demo/hip-run-5min30.csv", FORM_MOUNT_WAIST, NAN, 0, 150, 20);
	double b0 = lean_median(r0, 100, 145), a0 = lean_median(r0, 170, 280);
	double b = lean_median(r, 100, 145), a = lean_median(r, 170, 280);

	print_message("lean before / after the slip: %.1f / %.1f deg (unturned run %.1f / %.1f); "
		      "not-upright alerts %u (unturned %u); summary slips %u\n", b, a, b0, a0,
		      r->alerts[FORM_ALERT_NOT_UPRIGHT], r0->alerts[FORM_ALERT_NOT_UPRIGHT],
		      r->summary.sensor_slips);
	assert_true(fabs(b - b0) < 0.5);
	assert_true(fabs((a - b) - (a0 - b0)) < 2.0);
	assert_int_equal(r->alerts[FORM_ALERT_NOT_UPRIGHT], r0->alerts[FORM_ALERT_NOT_UPRIGHT]);
	assert_int_equal(r->summary.sensor_slips, 1);
	assert_int_equal(r0->summary.sensor_slips, 0);
	free(r0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/real/sacral-contacts", test_sacral_contacts, NULL, NULL, NULL },
		{ "/form/real/stream-starts-in-stance", test_stream_starts_in_stance, NULL, NULL,
		  NULL },
		{ "/form/real/raw-512hz", test_raw_512hz, NULL, NULL, NULL },
		{ "/form/real/outdoor-hip-vs-ankle", test_outdoor_hip, NULL, NULL, NULL },
		{ "/form/real/steps-in-holes", test_steps_in_holes, NULL, NULL, NULL },
		{ "/form/real/sensor-slip", test_sensor_slip, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
