// SPDX-License-Identifier: GPL-2.0-or-later
/* form engine: steps to live metrics, activity, sessions, baseline, alerts, summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "form/detector.h"
#include "form/form.h"
#include "form/stats.h"
#include "form/thresholds.h"
#include "form/vec3.h"

#define USEC 1000000ULL
#define WINDOW_STEPS 32u		/* ring of recent steps */
#define ENGINE_HOLES 8u			/* recent holes kept (steps_in_hole()) */
#define METRIC_STEPS 20u		/* medians over the last 20 steps (notes 3) */
#define METRIC_WINDOW_USEC (10 * USEC)
#define GAP_MAX_USEC (5 * USEC)		/* longer between ticks: a gap, not session time */
#define ACTIVITY_WINDOW_USEC (4 * USEC)
#define CONTEXT_FRESH_USEC (5 * USEC)
/*
 * The summary's fatigue drift compares the late run with the early
 * baseline: the late run is the last DRIFT_BLOCK_S to 2 x DRIFT_BLOCK_S of
 * steady running after the baseline (two alternating blocks), never the
 * cool-down walk that ends most sessions; at least DRIFT_MIN_S of it.
 */
#define DRIFT_BLOCK_S 120.0
#define DRIFT_MIN_S 60.0

/* The metrics the summary reports a drift for. */
static const enum form_metric drift_metrics[] = {
	FORM_METRIC_CADENCE, FORM_METRIC_GCT, FORM_METRIC_VERTICAL_OSCILLATION,
	FORM_METRIC_TRUNK_LEAN, FORM_METRIC_BRAKING, FORM_METRIC_PELVIC_DROP,
	FORM_METRIC_LATERAL_SWAY, FORM_METRIC_IMPACT,
};
#define N_DRIFT 8
_Static_assert(ELEMENTSOF(drift_metrics) == N_DRIFT, "N_DRIFT");


/* Histogram range of each metric (resolution = range / 128). */
static const struct {
	double lo, hi;
} metric_range[_FORM_METRIC_MAX] = {
	[FORM_METRIC_CADENCE] = { 60, 260 },
	[FORM_METRIC_GCT] = { 50, 450 },
	[FORM_METRIC_GCT_BALANCE] = { 30, 70 },
	[FORM_METRIC_FLIGHT] = { -100, 300 },
	[FORM_METRIC_VERTICAL_OSCILLATION] = { 0, 200 },
	[FORM_METRIC_VERTICAL_RATIO] = { 0, 20 },
	[FORM_METRIC_STEP_LENGTH] = { 0, 3 },
	[FORM_METRIC_TRUNK_LEAN] = { -30, 30 },
	[FORM_METRIC_PELVIC_DROP] = { 0, 20 },
	[FORM_METRIC_LATERAL_SWAY] = { 0, 100 },
	[FORM_METRIC_BRAKING] = { 0, 1 },
	[FORM_METRIC_IMPACT] = { 0, 10 },
	[FORM_METRIC_HEART_RATE] = { 40, 220 },
	[FORM_METRIC_SPEED] = { 0, 8 },
	[FORM_METRIC_PAIN] = { 0, 11 },
};

struct step_rec {
	uint64_t ic_usec;
	double step_ms, gct_ms, flight_ms, vo_mm, braking, impact, lean, drop, sway;
	double flight_min_g;
	enum form_side side;
};

struct alert_state {
	bool active;
	unsigned id;
	unsigned raises;
	uint64_t beyond_since;		/* 0: not beyond */
	uint64_t back_since;		/* 0: not back */
	uint64_t last_raise;
	uint64_t start_usec;
	enum form_severity severity;
	enum form_metric metric;
	double value, threshold;
};

struct form_engine {
	struct form_params p;
	form_event_cb_t cb;
	void *userdata;

	struct form_detector det;
	bool have_imu;
	uint64_t t_imu_first;		/* first IMU sample */
	uint64_t t_imu;			/* last IMU sample */
	uint64_t t_now;			/* latest time seen on any input */

	/* context inputs */
	double speed, cadence_pod, hr, incline;
	uint64_t t_speed, t_cadence_pod, t_hr, t_incline;

	/* recent steps */
	struct step_rec steps[WINDOW_STEPS];
	unsigned n_steps_ring;
	uint64_t total_steps;
	uint64_t t_last_step;
	/*
	 * The latest holes in the IMU stream, [0] the last sample before,
	 * [1] the first after: steps come out of the detector a step late,
	 * so a count at the last step would not say which gap a hole is in.
	 */
	uint64_t hole_t[ENGINE_HOLES][2];
	unsigned n_hole_t;		/* holes seen, the latest ENGINE_HOLES kept */

	/* side vote (notes 5.4) */
	int side_vote;
	unsigned side_count;
	unsigned side_parity;
	double side_next_ic;		/* the last step's next contact, usec; NAN unknown */

	/* lean reference: gravity and forward at the reference time */
	bool lean_ref;
	double u_ref[3], ap_ref[3];
	double lean_ref_slope_deg;	/* belt slope the reference stands for */
	double lean_ref_deg;		/* the lean the reference stands for */
	bool lean_ref_running;		/* the next reference is taken while running */
	bool have_u_first;
	bool u_first_still;		/* u_first from a still block just before */
	double u_first[3];		/* gravity at this sensor's first step */
	/*
	 * A sensor slipping in a run (slip_check()): gravity in the sensor
	 * frame at the last SLIP_STEADY_STEPS running steps, and where it, the
	 * incline and the lean last were while gravity held steady; the lean a
	 * new reference is to stand for (NAN: the baseline's).
	 */
	float slip_u[SLIP_STEADY_STEPS][3];
	unsigned slip_n;		/* running steps seen, for the ring */
	bool have_steady;
	float u_steady[3], incline_steady;
	double lean_steady;
	double lean_carry_deg;
	unsigned sensor_slips;		/* in this session */
	uint64_t t_still_seen;		/* the detector's last still block, as checked */

	/* activity */
	enum form_activity activity;
	enum form_activity pending_activity;
	unsigned pending_ticks;
	uint64_t running_since;		/* 0: not running */
	uint64_t not_running_since;

	/* ticks */
	uint64_t t_tick;
	bool tick_started;
	/*
	 * In or out of a session: distance (speed over time) and steps so
	 * far, and both when the running began (an automatic start counts
	 * what came since).
	 */
	double odo_m, odo_at_running;
	uint64_t steps_at_running;

	/* session */
	bool session;
	bool session_auto;
	uint64_t session_start;
	double running_s, walking_s, standing_s;
	double distance_m;
	bool distance_known;
	double impact_load;
	uint64_t session_steps;		/* with the estimated ones */
	uint64_t steps_estimated;	/* of them, not detected one by one */
	/*
	 * Steps while the IMU is silent (silent_steps_count()): counted up
	 * to this time (0: not counting), the fraction of a step carried to
	 * the next tick; with no footpod, the IMU's cadence and the belt
	 * speed when it fell silent (NAN: none steady enough to hold).
	 */
	uint64_t t_silent_tick;		/* (reset when the IMU streams) */
	double silent_steps_frac;
	double held_cadence_spm, held_speed_mps, held_impact_g;
	/*
	 * Up to here the session's steps were counted while the IMU was
	 * silent: an IMU step before it (samples late, not lost) is not
	 * counted again, nor is that time when the IMU drops again.
	 */
	uint64_t t_silent_counted;
	double speed_last_step;		/* speed_now() at the last IMU step */
	uint64_t imu_holes;		/* in this session */
	double imu_lost_s;
	bool session_mixed;		/* steps from two mounts this session */
	/*
	 * The session's totals when running last stopped: an automatic end is
	 * dated back to then, so what came after (the auto_stop_s wait) is
	 * not the session's.
	 */
	struct {
		double walking_s, standing_s, distance_m;
		bool distance_known;
		uint64_t steps, steps_estimated, imu_holes;
		double imu_lost_s;
	} at_stop;
	bool at_stop_pending;
	struct form_hist hist[_FORM_METRIC_MAX];
	double band_s[_FORM_METRIC_MAX][3];
	uint8_t n_pain;
	struct form_pain_report pain[FORM_DIGEST_MAX_PAIN];
	uint32_t pain_n[11];		/* this session's reports per level 0-10 */
	double pain_last;

	/* baselines: personal (stored or learned) and this session's early one */
	bool have_personal;
	struct form_baseline personal;
	bool have_early;
	struct form_baseline early;
	struct form_hist learn[_FORM_METRIC_MAX];
	uint32_t learn_steps;
	double learn_incline_sum;	/* known incline over the baseline ticks */
	uint32_t learn_incline_n;
	struct form_hist16 late[2][N_DRIFT];	/* late-run blocks, see DRIFT_BLOCK_S */
	double late_s[2];
	unsigned late_cur;

	/* alerts */
	unsigned next_alert_id;
	struct alert_state alert[_FORM_ALERT_KIND_MAX];
	unsigned alert_count[_FORM_ALERT_KIND_MAX];
	double alert_s[_FORM_ALERT_KIND_MAX];
	/* alert seconds since running stopped: not the session's if it ends then */
	double alert_s_wait[_FORM_ALERT_KIND_MAX];
	uint64_t fatigue_since;

	struct form_summary summary;
};

/* Issue 4: bounded state, under 64 KiB per engine, fixed at creation. */
_Static_assert(sizeof(struct form_engine) < 64 * 1024, "form engine state over 64 KiB");

static const char *const alert_cues[_FORM_ALERT_KIND_MAX] = {
	[FORM_ALERT_OVERSTRIDING] = "Shorten your stride, land under your hips",
	[FORM_ALERT_NOT_UPRIGHT] = "Run tall",
	[FORM_ALERT_PELVIC_INSTABILITY] = "Engage your core, keep your hips level",
	[FORM_ALERT_IMBALANCE] = "Even out your steps left and right",
	[FORM_ALERT_BOUNCING] = "Less bounce: quicker, lighter steps",
	[FORM_ALERT_FATIGUE] = "Your form is fading: ease off or walk for a bit",
	[FORM_ALERT_PAIN] = "Listen to your body: slow down or stop",
};

/* Smallest meaningful change per metric (notes 5.13). */
static double metric_floor(enum form_metric m)
{
	switch (m) {
	case FORM_METRIC_CADENCE:
		return 2;
	case FORM_METRIC_GCT:
	case FORM_METRIC_FLIGHT:
		return 30;
	case FORM_METRIC_VERTICAL_OSCILLATION:
		return 10;
	case FORM_METRIC_TRUNK_LEAN:
		return 3;
	case FORM_METRIC_PELVIC_DROP:
		return 2;
	case FORM_METRIC_LATERAL_SWAY:
		return 2;
	case FORM_METRIC_GCT_BALANCE:
		return 1;
	case FORM_METRIC_BRAKING:
		return 0.02;
	case FORM_METRIC_IMPACT:
		return 0.2;
	case FORM_METRIC_VERTICAL_RATIO:
		return 1;
	case FORM_METRIC_STEP_LENGTH:
		return 0.05;
	case FORM_METRIC_HEART_RATE:
		return 5;
	case FORM_METRIC_SPEED:
		return 0.1;
	case FORM_METRIC_PAIN:
		return 1;
	case _FORM_METRIC_MAX:
	case _FORM_METRIC_INVALID:
		break;
	}
	return 0;
}

static void emit(struct form_engine *e, struct form_event *ev)
{
	if (e->cb)
		e->cb(ev, e->userdata);
}

static bool fresh(uint64_t now, uint64_t t, double v)
{
	return !isnan(v) && t <= now && now - t <= CONTEXT_FRESH_USEC;
}

static double speed_now(const struct form_engine *e)
{
	return fresh(e->t_now, e->t_speed, e->speed) ? e->speed : NAN;
}

static double incline_now(const struct form_engine *e)
{
	return fresh(e->t_now, e->t_incline, e->incline) ? e->incline : NAN;
}

/* Belt slope in degrees for an incline in % (rise over run); unknown counts as level. */
static double slope_deg(double incline_pct)
{
	return isnan(incline_pct) ? 0 : atan(incline_pct / 100.0) * 180.0 / M_PI;
}

/*
 * How much of the lean (from the reference) the belt explains: the trunk and
 * pelvis tip forward about one degree per degree of slope (the sacral trials
 * in docs/validation.md; notes 5.6: "subtract the FTMS incline for lean vs
 * the belt"). Alerts, bands and baselines use the lean minus this.
 */
static double lean_slope_offset(const struct form_engine *e)
{
	return slope_deg(incline_now(e)) - e->lean_ref_slope_deg;
}

/* Cadence prior without a baseline (notes 4): 165 + 7 (v - 3.0) spm. */
static double cadence_expected(double v)
{
	return 165.0 + 7.0 * (v - 3.0);
}

/* ---- lifetime --------------------------------------------------------- */

int form_engine_new(const struct form_params *params, struct form_engine **ret)
{
	struct form_engine *e;
	int r;

	if (!ret)
		return -EINVAL;
	if (params) {
		r = form_params_validate(params);
		if (r < 0)
			return r;
	}

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;

	if (params)
		e->p = *params;
	else
		form_params_default(&e->p);
	form_detector_init(&e->det);
	e->speed = e->cadence_pod = e->hr = e->incline = NAN;
	e->held_cadence_spm = e->held_speed_mps = NAN;
	e->pain_last = NAN;
	e->lean_carry_deg = NAN;
	e->side_next_ic = NAN;
	e->activity = FORM_ACTIVITY_UNKNOWN;
	*ret = e;
	return 0;
}

struct form_engine *form_engine_free(struct form_engine *e)
{
	free(e);
	return NULL;
}

void form_engine_set_event_cb(struct form_engine *e, form_event_cb_t cb, void *userdata)
{
	e->cb = cb;
	e->userdata = userdata;
}

bool form_engine_session_active(const struct form_engine *e)
{
	return e->session;
}

enum form_activity form_engine_activity(const struct form_engine *e)
{
	return e->activity;
}

/* ---- window medians --------------------------------------------------- */

#define STEP_FIELD(f) offsetof(struct step_rec, f)

/* Median of one step field over steps younger than max_age; *ret_n: count. */
static double window_median_age(const struct form_engine *e, size_t off, int side,
				uint64_t max_age, unsigned *ret_n)
{
	double v[METRIC_STEPS];
	unsigned n = 0, k = 0;

	for (unsigned i = 0; i < e->n_steps_ring && n < METRIC_STEPS; i++) {
		const struct step_rec *s =
			&e->steps[(e->total_steps - 1 - i) % WINDOW_STEPS];
		double x;

		if (e->t_now > s->ic_usec + max_age)
			break;
		if (side >= 0 && s->side != (enum form_side)side)
			continue;
		memcpy(&x, (const char *)s + off, sizeof(x));
		v[n++] = x;
		if (!isnan(x))
			k++;
	}
	if (ret_n)
		*ret_n = k;
	return form_median(v, n);
}

static double window_median(const struct form_engine *e, size_t off, int side, unsigned *ret_n)
{
	return window_median_age(e, off, side, METRIC_WINDOW_USEC, ret_n);
}

/* Mean of one step field over the window's values in (lo, hi); NAN if none. */
static double window_mean(const struct form_engine *e, size_t off, double lo, double hi)
{
	double sum = 0;
	unsigned k = 0;

	for (unsigned i = 0; i < e->n_steps_ring && i < METRIC_STEPS; i++) {
		const struct step_rec *r = &e->steps[(e->total_steps - 1 - i) % WINDOW_STEPS];
		double x;

		if (e->t_now > r->ic_usec + METRIC_WINDOW_USEC)
			break;
		memcpy(&x, (const char *)r + off, sizeof(x));
		if (x > lo && x < hi) {
			sum += x;
			k++;
		}
	}
	return k > 0 ? sum / k : NAN;
}

/*
 * The window's mean step time: half its mean stride (two consecutive step
 * times), strides more than 40 % from their median dropped. A median of
 * steps alone flips between the clusters of a runner whose left and right
 * step times differ (by over 100 ms on the outdoor hip run), and a hip clip
 * times walking steps unevenly (320 and 820 ms in turn on that run, where the
 * 40 % cut of single steps kept one side only: 79-148 steps/min for about
 * 100): strides do neither. Fewer than 2 strides: the mean of the steps
 * within 40 % of their median (given).
 */
static double mean_step_ms(const struct form_engine *e, double median_ms)
{
	double v[METRIC_STEPS], prev = NAN, med, sum = 0, m;
	unsigned n = 0, k = 0;

	for (unsigned i = 0; i < e->n_steps_ring && i < METRIC_STEPS; i++) {
		const struct step_rec *r = &e->steps[(e->total_steps - 1 - i) % WINDOW_STEPS];

		if (e->t_now > r->ic_usec + METRIC_WINDOW_USEC)
			break;
		if (isfinite(prev) && isfinite(r->step_ms))
			v[n++] = prev + r->step_ms;
		prev = r->step_ms;
	}
	med = n >= 2 ? form_median(v, n) : NAN;	/* drops nothing: all finite */
	for (unsigned i = 0; i < n && isfinite(med); i++)
		if (v[i] > 0.6 * med && v[i] < 1.4 * med) {
			sum += v[i];
			k++;
		}
	if (k > 0)
		return sum / k / 2;
	m = window_mean(e, STEP_FIELD(step_ms), 0.6 * median_ms, 1.4 * median_ms);
	return isnan(m) ? median_ms : m;
}

/* ---- steps ------------------------------------------------------------ */

/* The personal baseline, else this session's early one, else none. */
static const struct form_baseline *baseline_for_alerts(const struct form_engine *e)
{
	if (e->have_personal)
		return &e->personal;
	if (e->have_early)
		return &e->early;
	return NULL;
}

/* A baseline's median of metric m; NAN for metrics a baseline does not keep. */
static double baseline_value(const struct form_baseline *b, enum form_metric m)
{
	switch (m) {
	case FORM_METRIC_CADENCE:
		return b->cadence_spm;
	case FORM_METRIC_GCT:
		return b->gct_ms;
	case FORM_METRIC_VERTICAL_OSCILLATION:
		return b->vertical_oscillation_mm;
	case FORM_METRIC_TRUNK_LEAN:
		return b->trunk_lean_deg;
	case FORM_METRIC_PELVIC_DROP:
		return b->pelvic_drop_deg;
	case FORM_METRIC_LATERAL_SWAY:
		return b->lateral_sway_pct;
	case FORM_METRIC_BRAKING:
		return b->braking_mps;
	case FORM_METRIC_IMPACT:
		return b->impact_g;
	default:
		return NAN;
	}
}

/* Speed v within the steady-belt tolerance of baseline b's speed, or either unknown. */
static bool at_speed_of(const struct form_baseline *b, double v)
{
	return isnan(v) || isnan(b->speed_mps) ||
		fabs(v - b->speed_mps) <= FATIGUE_SPEED_TOLERANCE_MPS;
}

/* Incline within one treadmill step of baseline b's, or either unknown. */
static bool at_incline_of(const struct form_baseline *b, double incline)
{
	return isnan(incline) || isnan(b->incline_pct) ||
		fabs(incline - b->incline_pct) <= INCLINE_TOLERANCE_PCT;
}

/*
 * Only at the baseline's speed and incline is a change of form fatigue: a
 * faster pace or a hill is not (notes 5.12, 5.13). Without speed, cadence
 * is the pace proxy (it rises with speed, notes 4), one-sided: a cadence
 * well above the baseline's is a faster pace (a sprint finish: longer
 * contact is not expected there, but more lean and bounce are), while a
 * falling cadence is one of the signs of fatigue itself.
 */
static bool at_baseline_pace(const struct form_engine *e, double v, double cadence)
{
	const struct form_baseline *b = &e->early;

	if (!at_speed_of(b, v) || !at_incline_of(b, incline_now(e)))
		return false;
	if (!isnan(v) && !isnan(b->speed_mps))
		return true;
	return isnan(cadence) || isnan(b->cadence_spm) ||
		cadence <= b->cadence_spm * (1 + PACE_CADENCE_TOLERANCE_PCT / 100.0);
}

/* The early-run baseline starts learning afresh (a new session, another mount). */
static void learn_reset(struct form_engine *e)
{
	memset(e->learn, 0, sizeof(e->learn));
	e->learn_steps = 0;
	e->learn_incline_sum = 0;
	e->learn_incline_n = 0;
}

static void late_reset(struct form_engine *e)
{
	memset(e->late, 0, sizeof(e->late));
	e->late_s[0] = e->late_s[1] = 0;
	e->late_cur = 0;
}

/* One second of steady running after the baseline, into the late-run window. */
static void late_add(struct form_engine *e, const struct form_metrics *mt, double v, double dt)
{
	unsigned c = e->late_cur;

	if (!e->have_early || !at_baseline_pace(e, v, mt->m[FORM_METRIC_CADENCE].value))
		return;
	for (unsigned i = 0; i < N_DRIFT; i++) {
		enum form_metric m = drift_metrics[i];
		double x = mt->m[m].value;

		if (m == FORM_METRIC_TRUNK_LEAN)
			x -= lean_slope_offset(e);	/* as the baseline's */
		form_hist16_add(&e->late[c][i], metric_range[m].lo, metric_range[m].hi, x);
	}
	e->late_s[c] += dt;
	if (e->late_s[c] >= DRIFT_BLOCK_S) {
		c ^= 1;
		memset(e->late[c], 0, sizeof(e->late[c]));
		e->late_s[c] = 0;
		e->late_cur = c;
	}
}

static void learn_add(struct form_engine *e, enum form_metric m, double x)
{
	form_hist_add(&e->learn[m], metric_range[m].lo, metric_range[m].hi, x);
}

static void session_add(struct form_engine *e, enum form_metric m, double x)
{
	form_hist_add(&e->hist[m], metric_range[m].lo, metric_range[m].hi, x);
}

/*
 * "Up" when standing, at this sensor's first step: the last still moment
 * (docs/form-metrics.md) if it ended at most 3 s before, else gravity as it
 * is at the first step. That one (a 4 s average) has already moved by some
 * 15 % of a lean taken up on the first strides. The age limit keeps a clip
 * that lay on a table until it was put on (which takes longer) from taking
 * the table for standing.
 */
#define STILL_MAX_AGE_USEC (3 * USEC)

static void standing_up_take(struct form_engine *e, const struct form_step *s)
{
	const struct form_detector *d = &e->det;

	memcpy(e->u_first, s->orient_u, sizeof(e->u_first));
	e->have_u_first = true;
	e->u_first_still = false;
	if (!d->have_still || d->t_still > s->c.ic_usec ||
	    s->c.ic_usec - d->t_still > STILL_MAX_AGE_USEC)
		return;
	memcpy(e->u_first, d->g_still, sizeof(e->u_first));
	normalize3(e->u_first);
	e->u_first_still = true;
}

/*
 * The lean reference (notes 5.6), taken at the first step with a known
 * forward direction; false while it cannot be taken yet.
 */
static bool lean_reference_take(struct form_engine *e, const struct form_step *s)
{
	const struct form_baseline *bl = baseline_for_alerts(e);
	/*
	 * Standing still just before the first step wins over a belt already
	 * at speed: the runner straddled it, then stepped on.
	 */
	bool running = (e->lean_ref_running || speed_now(e) >= WALK_MAX_SPEED_MPS) &&
		!e->u_first_still;
	double d;

	/*
	 * While running, the posture is the step's own gravity, which must come
	 * from whole strides: the first seconds' running mean ends part way
	 * through one and is about 1 deg off.
	 */
	if (running && !s->orient_by_stride)
		return false;

	/*
	 * After standing, "up" is the standing one (standing_up_take(), at the
	 * first step). The forward direction needs a few strides, by which time
	 * gravity (4 s average) has moved part of the way to the running
	 * posture, which the lean would then miss. Forward is made square to it.
	 */
	memcpy(e->u_ref, running ? s->orient_u : e->u_first, sizeof(e->u_ref));
	d = dot3(s->orient_ap, e->u_ref);
	for (int k = 0; k < 3; k++)
		e->ap_ref[k] = s->orient_ap[k] - d * e->u_ref[k];
	normalize3(e->ap_ref);
	e->lean_ref = true;
	e->lean_ref_running = false;

	/*
	 * A reference taken from standing is upright, whatever the belt does.
	 * One taken while running (a sensor joining mid-run, a fail-over) is
	 * the runner's running posture on the slope of that moment: it stands
	 * for the baseline's lean, if there is one, so that the lean carries on
	 * instead of restarting at 0 (which the baseline would read as leaning
	 * back). The activity cannot tell the two apart (no steps yet reads as
	 * standing); a belt or footpod at running speed, or running at a sensor
	 * change, can.
	 */
	e->lean_ref_slope_deg = running ? slope_deg(incline_now(e)) : 0;
	e->lean_ref_deg = running && bl && !isnan(bl->trunk_lean_deg) ? bl->trunk_lean_deg : 0;
	/* after a slip, the lean from before it (slip_check()) */
	if (running && isfinite(e->lean_carry_deg))
		e->lean_ref_deg = e->lean_carry_deg;
	e->lean_carry_deg = NAN;
	return true;
}

/*
 * A forward pitch by t from the reference moves "up" in the sensor frame to
 * cos(t) u_ref - sin(t) ap_ref (notes 5.6).
 */
static double step_lean(struct form_engine *e, const struct form_step *s)
{
	if (!e->have_u_first)
		standing_up_take(e, s);
	if (s->orient_ap[0] == 0 && s->orient_ap[1] == 0 && s->orient_ap[2] == 0)
		return NAN;
	if (!e->lean_ref && !lean_reference_take(e, s))
		return NAN;
	/* an angle, whatever the reference stands for: within +-180 */
	return remainder(e->lean_ref_deg + atan2(-dot3(s->orient_u, e->ap_ref),
						 dot3(s->orient_u, e->u_ref)) * 180.0 / M_PI,
			 360.0);
}

/*
 * The lean reference is taken again for a new sensor, and when the stream
 * resumes after a minute without samples outside a run (no session, or one
 * without steps yet): the daemon keeps one engine for weeks, and a strap
 * taken off after a run (an H10 stops streaming) or a clip switched off is
 * never put back exactly as it was. A dropout in the middle of a run keeps
 * it. The detector learns forward again after such a gap in either case.
 */
static void lean_reference_forget(struct form_engine *e, bool running)
{
	e->lean_ref = false;
	e->lean_ref_running = running;
	e->have_u_first = false;
}

/* In a run: a session with steps in it (what a sensor change or remount would split). */
static bool session_has_steps(const struct form_engine *e)
{
	return e->session && e->session_steps > 0;
}

/*
 * A sensor taken off and put back while it streams (a clip laid on a table,
 * turned in the hand, worn again) shows when it is still: outside a run, a
 * still block more than 20 deg from standing as the reference has it (its
 * "up" pitched back by the lean it stands for) sets reference and forward
 * aside, to be taken at the next start. Standing postures of one runner
 * differ by some 6 deg (docs/validation.md); sitting or bending down between
 * runs also counts, which only means the next run starts afresh. Within a
 * run a stretch or a stop keeps the reference, as a dropout does.
 */
#define REMOUNT_MIN_DEG 20.0

static void remount_check(struct form_engine *e)
{
	const struct form_detector *d = &e->det;
	double l, u0[3], g[3];

	if (!d->have_still || d->t_still == e->t_still_seen)
		return;
	e->t_still_seen = d->t_still;
	if (!e->lean_ref || session_has_steps(e))
		return;
	l = e->lean_ref_deg * M_PI / 180;
	for (int k = 0; k < 3; k++)
		u0[k] = cos(l) * e->u_ref[k] + sin(l) * e->ap_ref[k];
	memcpy(g, d->g_still, sizeof(g));
	normalize3(g);
	if (dot3(g, u0) >= cos(REMOUNT_MIN_DEG * M_PI / 180))
		return;
	lean_reference_forget(e, false);
	form_detector_forget_forward(&e->det);
}

static double angle_deg(const float *a, const float *b)
{
	double x[3] = { a[0], a[1], a[2] }, y[3] = { b[0], b[1], b[2] }, c;

	normalize3(x);
	normalize3(y);
	c = dot3(x, y);
	return acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180.0 / M_PI;
}

/*
 * A clip or strap that slips during a run turns the sensor, not the runner:
 * gravity in the sensor frame moves to a new direction within seconds (as fast
 * as the stride-averaged gravity follows, about 4 s) and stays there, and the
 * lean against the old reference would jump by the turn (a false "run tall"
 * for the rest of the run). A runner's lean drifts by a few degrees, slowly
 * enough that gravity counts as steady all along (within SLIP_STEADY_DEG over
 * SLIP_STEADY_STEPS steps), and where it last held steady follows it; a slip
 * is steady again SLIP_MIN_DEG or more from there. A belt incline moves the
 * lean too (notes 5.6), so the incline must be as it was then. The reference
 * is then taken again at the next step (lean_reference_take()) standing for
 * the lean from before the slip: the lean carries on. Only while running, from
 * whole strides; s is the step just stored in the ring.
 */
static void slip_check(struct form_engine *e, const struct form_step *s)
{
	float u[3] = { (float)s->orient_u[0], (float)s->orient_u[1], (float)s->orient_u[2] };
	float incl = (float)incline_now(e);
	bool same_incline;
	unsigned n;

	if (e->activity != FORM_ACTIVITY_RUNNING || !s->orient_by_stride || !e->lean_ref) {
		e->slip_n = 0;
		e->have_steady = false;
		return;
	}
	memcpy(e->slip_u[e->slip_n % SLIP_STEADY_STEPS], u, sizeof(u));
	if (++e->slip_n < SLIP_STEADY_STEPS ||
	    angle_deg(e->slip_u[e->slip_n % SLIP_STEADY_STEPS], u) >= SLIP_STEADY_DEG)
		return;		/* not steady (yet): moving, or too few steps */
	same_incline = (isnan(incl) && isnan(e->incline_steady)) ||
		       fabsf(incl - e->incline_steady) < SLIP_INCLINE_TOLERANCE_PCT;
	if (e->have_steady && same_incline && angle_deg(e->u_steady, u) >= SLIP_MIN_DEG) {
		e->lean_carry_deg = e->lean_steady;
		lean_reference_forget(e, true);
		e->slip_n = 0;
		e->have_steady = false;
		if (e->session)
			e->sensor_slips++;
		return;
	}
	memcpy(e->u_steady, u, sizeof(u));
	e->incline_steady = incl;
	e->lean_steady = window_median(e, STEP_FIELD(lean), -1, &n);
	e->have_steady = true;
}

/*
 * Whether step s follows the last one: its contact is where the last step's
 * next one was (the detector never finishes the last step before a stop, nor
 * reports a contact whose flight it did not see), at a typical step's time
 * (a contact it did not find at all makes a step of two, one it found twice
 * two of half a step).
 */
static bool side_follows(const struct form_engine *e, const struct form_step *s)
{
	double next_ic = e->side_next_ic, gap, typical;
	unsigned n;

	if (isnan(next_ic) ||
	    fabs((double)s->c.ic_usec - next_ic) > SIDE_SUCCESSOR_TOL * s->c.step_time_ms * 1000.0)
		return false;
	typical = window_median(e, STEP_FIELD(step_ms), -1, &n);
	if (n < 3 || !(typical > 0))
		return true;
	typical = mean_step_ms(e, typical);
	gap = (double)(s->c.ic_usec - e->t_last_step) / 1000.0;
	return fabs(gap / typical - 1) <= SIDE_STEP_TOL;
}

static void side_assign(struct form_engine *e, struct form_step *s)
{
	int parity = (e->side_parity++ % 2) ? 1 : -1;
	bool follows;
	int expect;

	/*
	 * A clip on one hip sees the lateral push of its own leg differently:
	 * on the outdoor run the vote agrees within each bout, but which foot
	 * pushes which way changes from one bout to the next, and against the
	 * ankle this labelling was right for only ~60 % of the steps (each
	 * bout all right or all wrong), so a waist mount reports no side.
	 */
	if (e->p.mount == FORM_MOUNT_WAIST)
		return;
	follows = side_follows(e, s);
	e->side_next_ic = (double)s->c.ic_usec + s->c.step_time_ms * 1000.0;
	/*
	 * The vote stands on the steps alternating, so it holds only while
	 * each step is the one after the last: past a step lost (at a stop, a
	 * contact missed) the feet may have swapped. Voting on would label
	 * every step after it the wrong foot, and the whole run's votes
	 * before it would keep them so: start over, from this step if it can
	 * vote.
	 */
	if (isnan(s->stance_ml) || isnan(s->c.step_time_ms) || !follows) {
		e->side_vote = 0;
		e->side_count = 0;
		if (isnan(s->stance_ml) || isnan(s->c.step_time_ms))
			return;
	}
	e->side_vote += (s->stance_ml > 0 ? 1 : -1) * parity;
	e->side_count++;
	if (e->side_count < 6 ||
	    abs(e->side_vote) < SIDE_MIN_AGREEMENT * e->side_count)
		return;

	/*
	 * During stance on the left foot the trunk is pushed toward the right
	 * (medial ground reaction force): lateral (+left) acceleration < 0.
	 */
	expect = (e->side_vote > 0 ? 1 : -1) * parity;
	s->c.side = expect < 0 ? FORM_SIDE_LEFT : FORM_SIDE_RIGHT;
}

/*
 * Time of (a, b) the IMU stream spent in holes, from the latest holes kept:
 * a hole is no evidence of standing still, nor of a missed step.
 */
static uint64_t hole_usec(const struct form_engine *e, uint64_t a, uint64_t b)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < e->n_hole_t && i < ENGINE_HOLES; i++) {
		uint64_t lo = e->hole_t[i][0] > a ? e->hole_t[i][0] : a;
		uint64_t hi = e->hole_t[i][1] < b ? e->hole_t[i][1] : b;

		if (hi > lo)
			sum += hi - lo;
	}
	return sum;
}

/*
 * Steps a hole in the IMU stream swallowed between the last step and this
 * one (ic): the interval over the typical step time of the steps before,
 * less the one it is. Only across a hole (a missed step elsewhere is the
 * detector's, not the stream's), only while the steps go on (at most
 * STANDING_AFTER_USEC of streamed time apart, as long as a stop takes to be
 * seen; the holes themselves may be longer, up to IMU_SILENT_USEC: a
 * longer silence has its steps from silent_steps_count(), or none where no
 * rate is known) and with a steady step time from at least 3 steps of the
 * last 10 s.
 */
static unsigned steps_in_hole(const struct form_engine *e, uint64_t ic)
{
	double step_ms, k;
	unsigned n;
	bool holed = false;
	uint64_t lost;

	if (e->total_steps == 0 || ic <= e->t_last_step || e->t_silent_counted > e->t_last_step)
		return 0;
	lost = hole_usec(e, e->t_last_step, ic);
	if (lost > IMU_SILENT_USEC || ic - e->t_last_step - lost > STANDING_AFTER_USEC)
		return 0;
	for (unsigned i = 0; i < e->n_hole_t && i < ENGINE_HOLES; i++)
		holed |= e->hole_t[i][1] > e->t_last_step && e->hole_t[i][0] < ic &&
			 e->hole_t[i][1] - e->hole_t[i][0] >= FORM_HOLE_RISE_S * USEC;
	if (!holed)
		return 0;
	step_ms = window_median(e, STEP_FIELD(step_ms), -1, &n);
	if (n < 3 || !(step_ms > 0))
		return 0;
	k = (double)(ic - e->t_last_step) / 1000.0 / mean_step_ms(e, step_ms);
	/* a whole number of steps, give or take 30 %: else the pace changed */
	if (k < 1.5 || fabs(k - round(k)) > 0.3)
		return 0;
	return (unsigned)lround(k) - 1;
}

static double silent_cadence(const struct form_engine *e, uint64_t now);

/*
 * The first IMU step (ic) after a silence whose steps were counted
 * (silent_steps_count(), up to t_silent_counted): the steps between that
 * count and this one, which the detector, starting again after the gap, did
 * not see (its first strides back). At the silence's rate, which is then
 * spent; the step at ic is this one.
 */
static unsigned steps_after_silence(struct form_engine *e, uint64_t ic)
{
	double spm, n;

	if (!e->session || e->t_silent_counted <= e->t_last_step || ic <= e->t_silent_counted)
		return 0;
	spm = silent_cadence(e, ic);
	e->held_cadence_spm = NAN;
	if (isnan(spm))
		return 0;
	n = e->silent_steps_frac + spm * (double)(ic - e->t_silent_counted) / USEC / 60.0;
	return n >= 2 ? (unsigned)n - 1 : 0;
}

/* Steps counted, not detected one by one (in a hole, from a footpod). */
static void steps_estimated_add(struct form_engine *e, uint64_t n)
{
	e->session_steps += n;
	e->steps_estimated += n;
}

/*
 * The session's impact load, a load and so never negative: a peak below
 * 0 g (a sensor turned over without a sensor change) adds nothing; storage
 * refuses a negative load, which would drop the session from the history.
 * n steps with no peak of their own (in or by a hole) add the mean peak
 * of the window's: the load is what the runner took, not what was heard.
 */
static void impact_add(struct form_engine *e, double peak_g, unsigned n)
{
	if (!isfinite(peak_g))
		peak_g = window_mean(e, STEP_FIELD(impact), -INFINITY, INFINITY);
	if (isfinite(peak_g) && peak_g > 0)
		e->impact_load += n * peak_g;
}

static void on_step(const struct form_step *cs, void *userdata)
{
	struct form_engine *e = userdata;
	struct form_step s = *cs;
	struct form_event ev = { .type = FORM_EVENT_CONTACT };
	struct step_rec *r;
	unsigned missed = steps_in_hole(e, cs->c.ic_usec) + steps_after_silence(e, cs->c.ic_usec);
	bool counted;
	double lean;

	e->speed_last_step = speed_now(e);
	/*
	 * A walk has double support and no flight: the toe-off model, fitted
	 * on running, finds none, and a GCT or flight from it would be
	 * invented (docs/form-metrics.md: to_s null when walking).
	 */
	if (e->activity == FORM_ACTIVITY_WALKING) {
		s.c.has_to = false;
		s.c.gct_ms = NAN;
		s.c.flight_ms = NAN;
	}
	side_assign(e, &s);
	lean = step_lean(e, &s);
	if (e->p.mount == FORM_MOUNT_CHEST)
		s.c.trunk_lean_deg = lean;
	else
		s.c.pelvic_tilt_deg = lean;

	r = &e->steps[e->total_steps % WINDOW_STEPS];
	*r = (struct step_rec) {
		.ic_usec = s.c.ic_usec,
		.step_ms = s.c.step_time_ms,
		.gct_ms = s.c.gct_ms,
		.flight_ms = s.c.flight_ms,
		.vo_mm = s.c.vertical_oscillation_mm,
		.braking = s.c.braking_mps,
		.impact = s.c.peak_vertical_g,
		.lean = lean,
		.drop = s.c.pelvic_drop_deg,
		.sway = s.c.lateral_sway_pct,
		.flight_min_g = s.flight_min_g,
		.side = s.c.side,
	};
	e->total_steps++;
	if (e->n_steps_ring < WINDOW_STEPS)
		e->n_steps_ring++;
	e->t_last_step = s.c.ic_usec;
	slip_check(e, &s);

	/* counted already, as estimated, while its samples were late */
	counted = e->session && s.c.ic_usec >= e->t_silent_counted;
	if (counted) {
		e->session_steps++;
		steps_estimated_add(e, missed);
	}
	if (e->session && e->activity == FORM_ACTIVITY_RUNNING) {
		const double vals[] = {
			[FORM_METRIC_CADENCE] = NAN,	/* per tick, see tick() */
			[FORM_METRIC_GCT] = s.c.gct_ms,
			[FORM_METRIC_GCT_BALANCE] = NAN,
			[FORM_METRIC_FLIGHT] = s.c.flight_ms,
			[FORM_METRIC_VERTICAL_OSCILLATION] = s.c.vertical_oscillation_mm,
			[FORM_METRIC_VERTICAL_RATIO] = NAN,
			[FORM_METRIC_STEP_LENGTH] = NAN,
			[FORM_METRIC_TRUNK_LEAN] = lean,
			[FORM_METRIC_PELVIC_DROP] = s.c.pelvic_drop_deg,
			[FORM_METRIC_LATERAL_SWAY] = s.c.lateral_sway_pct,
			[FORM_METRIC_BRAKING] = s.c.braking_mps,
			[FORM_METRIC_IMPACT] = s.c.peak_vertical_g,
		};
		double warm = e->p.warmup_s;

		for (unsigned m = 0; m < ELEMENTSOF(vals); m++)
			session_add(e, m, vals[m]);
		if (counted) {
			impact_add(e, s.c.peak_vertical_g, 1);
			if (missed)
				impact_add(e, NAN, missed);
		}
		if (e->running_s >= warm && e->running_s < warm + e->p.baseline_s) {
			for (unsigned m = 0; m < ELEMENTSOF(vals); m++)
				learn_add(e, m, m == FORM_METRIC_TRUNK_LEAN ?
					  vals[m] - lean_slope_offset(e) : vals[m]);
			e->learn_steps++;
		}
	}

	ev.t_usec = s.c.ic_usec;
	ev.contact = s.c;
	emit(e, &ev);
}

/* ---- alerts ----------------------------------------------------------- */

static void alert_emit(struct form_engine *e, enum form_alert_kind k, bool raised, uint64_t t)
{
	struct alert_state *a = &e->alert[k];
	struct form_event ev = {
		.type = raised ? FORM_EVENT_ALERT : FORM_EVENT_CLEARED,
		.t_usec = t,
		.alert = {
			.id = a->id,
			.kind = k,
			.severity = a->severity,
			.metric = a->metric,
			.value = a->value,
			.threshold = a->threshold,
			.start_usec = a->start_usec,
			.end_usec = raised ? 0 : t,
			.cue = alert_cues[k],
		},
	};

	emit(e, &ev);
}

static void alert_clear(struct form_engine *e, enum form_alert_kind k, uint64_t t)
{
	struct alert_state *a = &e->alert[k];

	if (!a->active)
		return;
	a->active = false;
	a->back_since = 0;
	a->beyond_since = 0;
	if (t > a->start_usec)
		e->alert_s[k] += (double)(t - a->start_usec) / USEC;
	if (e->not_running_since && t > e->not_running_since)
		e->alert_s_wait[k] += (double)(t - (a->start_usec > e->not_running_since ?
						   a->start_usec : e->not_running_since)) / USEC;
	alert_emit(e, k, false, t);
}

static void alert_raise(struct form_engine *e, enum form_alert_kind k, uint64_t start,
			uint64_t now)
{
	struct alert_state *a = &e->alert[k];

	a->active = true;
	a->id = ++e->next_alert_id;
	a->start_usec = start;
	a->last_raise = now;
	a->raises++;
	a->back_since = 0;
	e->alert_count[k]++;
	alert_emit(e, k, true, now);
}

/*
 * One evaluation (1 Hz) of a form alert. beyond: past the threshold now;
 * back: within threshold minus half the floor (hysteresis, notes 5.13).
 */
static void alert_eval(struct form_engine *e, enum form_alert_kind k, uint64_t now,
		       bool beyond, bool back, enum form_metric m, double value,
		       double threshold, enum form_severity sev)
{
	struct alert_state *a = &e->alert[k];
	uint64_t min_dur = (uint64_t)(e->p.alert_min_duration_s * USEC);

	if (!a->active) {
		if (!beyond) {
			a->beyond_since = 0;
			return;
		}
		if (!a->beyond_since)
			a->beyond_since = now;
		a->metric = m;
		a->value = value;
		a->threshold = threshold;
		a->severity = sev;
		if (now - a->beyond_since >= min_dur &&
		    a->raises < e->p.alert_max_repeats &&
		    (a->raises == 0 ||
		     now - a->last_raise >= (uint64_t)(e->p.alert_repeat_s * USEC)))
			alert_raise(e, k, a->beyond_since, now);
		return;
	}

	if (beyond) {
		a->value = value;
		a->threshold = threshold;
	}
	if (!back) {
		a->back_since = 0;
		return;
	}
	if (!a->back_since)
		a->back_since = now;
	if (now - a->back_since >= (uint64_t)(e->p.alert_clear_s * USEC)) {
		/*
		 * The cleared event says where the metric is now, not its last
		 * bad value; unknown (null) when it is not measured now (the
		 * runner stopped, the sensor went).
		 */
		bool same = m == a->metric;

		a->value = same ? value : NAN;
		if (same && isfinite(threshold))
			a->threshold = threshold;
		alert_clear(e, k, now);
	}
}

/* The same, but only one learned on this incline (either unknown matches). */
static const struct form_baseline *baseline_at_incline(const struct form_engine *e,
						       double incline)
{
	if (e->have_personal && at_incline_of(&e->personal, incline))
		return &e->personal;
	if (e->have_early && at_incline_of(&e->early, incline))
		return &e->early;
	return NULL;
}

static void alerts_evaluate(struct form_engine *e, const struct form_metrics *mt, uint64_t now)
{
	/*
	 * Lean is judged against the belt, on any incline (notes 5.6: the
	 * lean minus what the slope explains); everything else only against
	 * a baseline from this incline (notes 3: "BL at the same speed and
	 * incline"), as a hill changes cadence, contact and braking.
	 */
	const struct form_baseline *bl_lean = baseline_for_alerts(e);
	const struct form_baseline *bl = baseline_at_incline(e, incline_now(e));
	double lean_off = lean_slope_offset(e);
	bool running = e->activity == FORM_ACTIVITY_RUNNING &&
		mt->window_steps >= GOOD_STEPS;
	double cad = mt->m[FORM_METRIC_CADENCE].value;
	double gct = mt->m[FORM_METRIC_GCT].value;
	double brk = mt->m[FORM_METRIC_BRAKING].value;
	double lean = mt->m[FORM_METRIC_TRUNK_LEAN].value;
	double drop = mt->m[FORM_METRIC_PELVIC_DROP].value;
	double bal = mt->m[FORM_METRIC_GCT_BALANCE].value;
	double vo = mt->m[FORM_METRIC_VERTICAL_OSCILLATION].value;
	double v = speed_now(e);
	double thr;
	bool beyond, back;

	/* overstriding: low cadence for the speed with more braking or contact */
	thr = NAN;
	if (bl && !isnan(bl->cadence_spm)) {
		double bl_cad = bl->cadence_spm;

		if (!isnan(v) && !isnan(bl->speed_mps))
			bl_cad += 7.0 * (v - bl->speed_mps);	/* speed-matched, notes 4 */
		thr = bl_cad * (1.0 - e->p.cadence_drop_pct / 100.0);
	} else if (!isnan(v)) {
		thr = cadence_expected(v) - e->p.cadence_prior_margin_spm;
	}
	beyond = running && !isnan(thr) && !isnan(cad) && cad < thr;
	if (beyond && bl && !isnan(bl->braking_mps) && !isnan(bl->gct_ms))
		beyond = (!isnan(brk) &&
			  brk > bl->braking_mps * (1 + e->p.braking_rise_pct / 100.0)) ||
			(!isnan(gct) && gct > bl->gct_ms + e->p.gct_rise_ms);
	back = !running || isnan(cad) || isnan(thr) ||
		cad >= thr + metric_floor(FORM_METRIC_CADENCE) / 2;
	alert_eval(e, FORM_ALERT_OVERSTRIDING, now, beyond, back, FORM_METRIC_CADENCE, cad,
		   thr, FORM_SEVERITY_WARNING);

	/* not upright: lean (or pelvic tilt) out of the band around baseline */
	thr = NAN;
	beyond = false;
	back = true;
	if (bl_lean && !isnan(bl_lean->trunk_lean_deg) && !isnan(lean)) {
		double dev = fabs(lean - lean_off - bl_lean->trunk_lean_deg);

		/* reported as the live metric is: against gravity, band moved with the belt */
		thr = bl_lean->trunk_lean_deg + lean_off +
			(lean - lean_off >= bl_lean->trunk_lean_deg ? 1 : -1) * e->p.lean_band_deg;
		beyond = running && dev > e->p.lean_band_deg;
		back = !running ||
			dev <= e->p.lean_band_deg - metric_floor(FORM_METRIC_TRUNK_LEAN) / 2;
	}
	/* soft absolute limit from the reference, with or without a baseline */
	if (!isnan(lean) && fabs(lean - lean_off) > e->p.lean_max_deg) {
		thr = lean_off + (lean - lean_off > 0 ? e->p.lean_max_deg : -e->p.lean_max_deg);
		beyond = running;
		back = !running;
	}
	alert_eval(e, FORM_ALERT_NOT_UPRIGHT, now, beyond, back, FORM_METRIC_TRUNK_LEAN, lean,
		   thr, FORM_SEVERITY_WARNING);

	/*
	 * Pelvic instability / core not engaged: pelvic drop above baseline
	 * (gyro), or lateral sway above baseline (three accelerometer axes).
	 */
	{
		double sway = mt->m[FORM_METRIC_LATERAL_SWAY].value;
		enum form_metric pm = FORM_METRIC_PELVIC_DROP;
		double pv = drop;

		thr = NAN;
		beyond = false;
		back = true;
		if (bl && !isnan(bl->pelvic_drop_deg) && !isnan(drop)) {
			thr = bl->pelvic_drop_deg + e->p.pelvic_drop_rise_deg;
			beyond = running && drop > thr;
			back = !running ||
				drop <= thr - metric_floor(FORM_METRIC_PELVIC_DROP) / 2;
		}
		if (bl && !isnan(bl->lateral_sway_pct) && !isnan(sway)) {
			double sthr = bl->lateral_sway_pct * (1 + e->p.lateral_sway_rise_pct / 100.0);

			back = back && (!running ||
					sway <= sthr - metric_floor(FORM_METRIC_LATERAL_SWAY) / 2);
			if (!beyond && running && sway > sthr) {
				beyond = true;
				pm = FORM_METRIC_LATERAL_SWAY;
				pv = sway;
				thr = sthr;
			}
		}
		alert_eval(e, FORM_ALERT_PELVIC_INSTABILITY, now, beyond, back, pm, pv, thr,
			   FORM_SEVERITY_WARNING);
	}

	/*
	 * L/R imbalance: either side above the Garmin red band. An alert is
	 * one side's (its threshold says which): the balance gone over to the
	 * other side is that alert back, cleared as such, and the other side's
	 * alert to come (a repeat). Else a runner (or labels) turning from
	 * left- to right-heavy kept an alert saying left for the rest of it.
	 */
	{
		struct alert_state *a = &e->alert[FORM_ALERT_IMBALANCE];
		bool other = (a->active || a->beyond_since) && !isnan(bal) &&
			     (bal >= 50) != (a->threshold >= 50);

		if (other && !a->active)
			a->beyond_since = 0;	/* beyond on this side from now */
		thr = e->p.gct_balance_max_pct;
		beyond = running && !isnan(bal) && fabs(bal - 50) > thr - 50 &&
			 !(other && a->active);
		back = !running || isnan(bal) || (other && a->active) ||
			fabs(bal - 50) <= thr - 50 - metric_floor(FORM_METRIC_GCT_BALANCE) / 2;
		alert_eval(e, FORM_ALERT_IMBALANCE, now, beyond, back, FORM_METRIC_GCT_BALANCE,
			   bal, other && a->active ? a->threshold : bal >= 50 ? thr : 100 - thr,
			   FORM_SEVERITY_INFO);
	}

	/* bouncing: vertical oscillation above baseline */
	thr = NAN;
	beyond = false;
	back = true;
	if (bl && !isnan(bl->vertical_oscillation_mm) && !isnan(vo)) {
		thr = bl->vertical_oscillation_mm + e->p.vertical_oscillation_rise_mm;
		beyond = running && vo > thr;
		back = !running ||
			vo <= thr - metric_floor(FORM_METRIC_VERTICAL_OSCILLATION) / 2;
	}
	/* or landing harder: impact above baseline (trend only; notes 3, 5.9) */
	{
		double imp = mt->m[FORM_METRIC_IMPACT].value;
		enum form_metric bm = FORM_METRIC_VERTICAL_OSCILLATION;
		double bv = vo;

		/*
		 * Impact grows with speed, so it is judged against the baseline
		 * only at the baseline's pace: BL(v) (notes 5.9). Without speed,
		 * cadence is the pace proxy (it rises with speed, notes 4).
		 */
		bool same_pace = !isnan(v) && !isnan(bl ? bl->speed_mps : NAN) ?
			at_speed_of(bl, v) :
			!isnan(cad) && bl && !isnan(bl->cadence_spm) ?
			fabs(cad - bl->cadence_spm) <= PACE_CADENCE_TOLERANCE_PCT / 100.0 *
				bl->cadence_spm :
			true;

		if (bl && !isnan(bl->impact_g) && !isnan(imp) && same_pace) {
			double ithr = bl->impact_g * (1 + e->p.impact_rise_pct / 100.0);

			back = back && (!running ||
					imp <= ithr - metric_floor(FORM_METRIC_IMPACT) / 2);
			if (!beyond && running && imp > ithr) {
				beyond = true;
				bm = FORM_METRIC_IMPACT;
				bv = imp;
				thr = ithr;
			}
		}
		alert_eval(e, FORM_ALERT_BOUNCING, now, beyond, back, bm, bv, thr,
			   FORM_SEVERITY_INFO);
	}

	/*
	 * Fatigue drift (notes 5.12): metrics beyond their floors in the
	 * fatigue direction against this session's early baseline, for
	 * fatigue_min_s; alert at >= fatigue_min_indicators.
	 */
	{
		static const struct {
			enum form_metric m;
			int dir;
		} fat[] = {
			{ FORM_METRIC_GCT, +1 },
			{ FORM_METRIC_CADENCE, -1 },
			{ FORM_METRIC_VERTICAL_OSCILLATION, +1 },
			{ FORM_METRIC_TRUNK_LEAN, +1 },
			{ FORM_METRIC_PELVIC_DROP, +1 },
			{ FORM_METRIC_LATERAL_SWAY, +1 },
		};
		unsigned count = 0;
		enum form_metric first = FORM_METRIC_GCT;
		double fv = NAN, ft = NAN;

		bool steady = at_baseline_pace(e, v, cad);

		for (unsigned i = 0; e->have_early && running && steady && i < ELEMENTSOF(fat);
		     i++) {
			const struct form_baseline *b = &e->early;
			double base = baseline_value(b, fat[i].m);
			double x = mt->m[fat[i].m].value -
				(fat[i].m == FORM_METRIC_TRUNK_LEAN ? lean_off : 0);
			double fl = metric_floor(fat[i].m);

			if (isnan(base) || isnan(x))
				continue;
			if ((x - base) * fat[i].dir > fl) {
				if (count == 0) {
					first = fat[i].m;
					fv = x;
					ft = base + fat[i].dir * fl;
				}
				count++;
			}
		}
		beyond = count >= e->p.fatigue_min_indicators;
		if (!beyond)
			e->fatigue_since = 0;
		else if (!e->fatigue_since)
			e->fatigue_since = now;
		/* the drift must last fatigue_min_s before the usual min duration */
		beyond = beyond &&
			now - e->fatigue_since >=
			(uint64_t)((e->p.fatigue_min_s - e->p.alert_min_duration_s) > 0 ?
				   (e->p.fatigue_min_s - e->p.alert_min_duration_s) * USEC : 0);
		alert_eval(e, FORM_ALERT_FATIGUE, now, beyond, count == 0 || !running, first,
			   fv, ft, FORM_SEVERITY_WARNING);
	}
}

/* ---- baseline --------------------------------------------------------- */

static void baseline_from_hist(const struct form_engine *e, const struct form_hist *h,
			       uint32_t steps, double speed, double incline,
			       struct form_baseline *ret)
{
#define MED(m) form_hist_quantile(&h[m], metric_range[m].lo, metric_range[m].hi, 0.5)
	*ret = (struct form_baseline) {
		.mount = e->p.mount,
		.steps = steps,
		.speed_mps = speed,
		.cadence_spm = MED(FORM_METRIC_CADENCE),
		.gct_ms = MED(FORM_METRIC_GCT),
		.gct_balance_pct = MED(FORM_METRIC_GCT_BALANCE),
		.vertical_oscillation_mm = MED(FORM_METRIC_VERTICAL_OSCILLATION),
		.trunk_lean_deg = MED(FORM_METRIC_TRUNK_LEAN),
		.pelvic_drop_deg = MED(FORM_METRIC_PELVIC_DROP),
		.lateral_sway_pct = MED(FORM_METRIC_LATERAL_SWAY),
		.braking_mps = MED(FORM_METRIC_BRAKING),
		.impact_g = MED(FORM_METRIC_IMPACT),
		.heart_rate_bpm = MED(FORM_METRIC_HEART_RATE),
		.incline_pct = incline,
	};
#undef MED
}

static void baseline_check_learned(struct form_engine *e)
{
	if (e->have_early || e->running_s < e->p.warmup_s + e->p.baseline_s ||
	    e->learn_steps < BASELINE_MIN_STEPS)
		return;

	baseline_from_hist(e, e->learn, e->learn_steps,
			   form_hist_quantile(&e->learn[FORM_METRIC_SPEED],
					      metric_range[FORM_METRIC_SPEED].lo,
					      metric_range[FORM_METRIC_SPEED].hi, 0.5),
			   e->learn_incline_n ? e->learn_incline_sum / e->learn_incline_n : NAN,
			   &e->early);
	e->have_early = true;
	if (!e->have_personal) {
		e->personal = e->early;
		e->have_personal = true;
	}
}

int form_engine_get_baseline(const struct form_engine *e, struct form_baseline *ret)
{
	if (e->have_early) {
		*ret = e->early;
		return 0;
	}
	if (e->have_personal) {
		*ret = e->personal;
		return 0;
	}
	return -ENODATA;
}

int form_engine_set_baseline(struct form_engine *e, const struct form_baseline *b)
{
	int r = form_baseline_check(b);

	if (r < 0)
		return r;
	if (b->mount != e->p.mount)
		return -EINVAL;
	e->personal = *b;
	e->have_personal = true;
	return 0;
}

/* ---- a different IMU sensor ------------------------------------------ */

int form_engine_change_sensor(struct form_engine *e, enum form_mount mount, uint64_t t_usec)
{
	if ((unsigned)mount >= _FORM_MOUNT_MAX)
		return -EINVAL;
	if (t_usec > e->t_now)
		e->t_now = t_usec;

	/*
	 * Form alerts rest on the old sensor's steps: end them now. Their
	 * counters and repeat timers stay (one session, one budget); pain is
	 * the runner's word, not a sensor's, and stays.
	 */
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++) {
		if (k == FORM_ALERT_PAIN)
			continue;
		alert_clear(e, k, e->t_now);
		e->alert[k].beyond_since = 0;
		e->alert[k].back_since = 0;
	}
	e->fatigue_since = 0;

	/*
	 * A new frame: gravity, forward, the lean reference and the left/right
	 * vote are learnt again from the new samples, whose clock may lag the
	 * old sensor's (so the time-order check starts over too). The step
	 * window is emptied so that no median mixes two sensors.
	 */
	form_detector_init(&e->det);
	e->t_still_seen = 0;
	e->have_imu = false;
	e->t_imu_first = e->t_imu = 0;
	lean_reference_forget(e, e->activity == FORM_ACTIVITY_RUNNING);
	e->side_vote = 0;
	e->side_count = 0;
	e->side_parity = 0;
	e->side_next_ic = NAN;
	e->n_steps_ring = 0;

	if (mount == e->p.mount)
		return 0;

	/*
	 * The summary's lean, bounce, impact... now mix two mounts: its digest
	 * says so, and the history compares such metrics within one mount.
	 */
	if (session_has_steps(e))
		e->session_mixed = true;

	/* Baselines are per mount (form_engine_set_baseline() checks it). */
	e->p.mount = mount;
	e->have_personal = false;
	e->have_early = false;
	learn_reset(e);
	late_reset(e);
	return 0;
}

enum form_mount form_engine_mount(const struct form_engine *e)
{
	return e->p.mount;
}

const struct form_params *form_engine_params(const struct form_engine *e)
{
	return &e->p;
}

/* ---- session start, summary, end ------------------------------------- */

static int session_start(struct form_engine *e, uint64_t t_usec, bool automatic)
{
	struct form_event ev = { .type = FORM_EVENT_SESSION_STARTED, .t_usec = t_usec };

	if (e->session)
		return -EBUSY;

	/*
	 * A new session, new alerts: one still open from before (pain reported
	 * between sessions) is cleared now, not dropped, so that every listener
	 * that saw it raised sees it end.
	 */
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		alert_clear(e, k, t_usec > e->t_now ? t_usec : e->t_now);

	e->session = true;
	e->session_auto = automatic;
	e->session_start = t_usec;
	e->running_s = e->walking_s = e->standing_s = 0;
	e->distance_m = 0;
	e->distance_known = false;
	e->impact_load = 0;
	e->session_steps = 0;
	e->steps_estimated = 0;
	e->t_silent_tick = 0;
	e->silent_steps_frac = 0;
	e->held_cadence_spm = e->held_speed_mps = NAN;
	e->t_silent_counted = 0;
	e->imu_holes = 0;
	e->sensor_slips = 0;
	e->imu_lost_s = 0;
	e->session_mixed = false;
	memset(e->hist, 0, sizeof(e->hist));
	memset(e->band_s, 0, sizeof(e->band_s));
	memset(e->pain_n, 0, sizeof(e->pain_n));
	learn_reset(e);
	e->have_early = false;
	late_reset(e);
	e->n_pain = 0;
	e->pain_last = NAN;
	memset(e->alert, 0, sizeof(e->alert));
	memset(e->alert_count, 0, sizeof(e->alert_count));
	memset(e->alert_s, 0, sizeof(e->alert_s));
	memset(e->alert_s_wait, 0, sizeof(e->alert_s_wait));
	e->fatigue_since = 0;
	ev.session.start_usec = t_usec;
	ev.session.automatic = automatic;
	emit(e, &ev);
	return 0;
}

/* Seconds for the digest: whole, within what storage accepts. */
static uint32_t digest_s(double x)
{
	if (!(x > 0))
		return 0;
	return x >= FORM_DIGEST_MAX_S ? FORM_DIGEST_MAX_S : (uint32_t)lround(x);
}

/* Pain levels are whole numbers: exact nearest-rank quantiles of the reports. */
static double pain_quantile(const struct form_engine *e, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)n), acc = 0;

	if (rank < 1)
		rank = 1;
	for (unsigned lv = 0; lv < ELEMENTSOF(e->pain_n); lv++) {
		acc += e->pain_n[lv];
		if (acc >= rank)
			return lv;
	}
	return NAN;
}

static void pain_stats(const struct form_engine *e, struct form_metric_stats *st)
{
	uint64_t n = 0;

	for (unsigned lv = 0; lv < ELEMENTSOF(e->pain_n); lv++)
		n += e->pain_n[lv];
	st->n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	st->median = n ? pain_quantile(e, n, 0.5) : NAN;
	st->p10 = n ? pain_quantile(e, n, 0.1) : NAN;
	st->p90 = n ? pain_quantile(e, n, 0.9) : NAN;
}

static void summary_build(struct form_engine *e, uint64_t t)
{
	struct form_summary *s = &e->summary;
	struct form_digest *d = &s->digest;
	uint8_t max_pain = 0;
	bool back_pain = false;

	memset(s, 0, sizeof(*s));
	s->start_usec = e->session_start;
	s->end_usec = t;
	s->duration_s = (double)(t - e->session_start) / USEC;
	s->running_s = e->running_s;
	s->walking_s = e->walking_s;
	s->standing_s = e->standing_s;
	s->distance_m = e->distance_known ? e->distance_m : NAN;
	s->steps = e->session_steps;
	s->steps_estimated = e->steps_estimated;
	s->imu_holes = e->imu_holes;
	s->sensor_slips = e->sensor_slips;
	s->imu_lost_s = e->imu_lost_s;
	s->baseline_learned = e->have_early;
	if (e->have_early)
		s->baseline = e->early;

	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++) {
		struct form_metric_stats *st = &s->stats[m];
		const struct form_hist *h = &e->hist[m];

		st->n = h->n;
		st->median = form_hist_quantile(h, metric_range[m].lo, metric_range[m].hi, 0.5);
		st->p10 = form_hist_quantile(h, metric_range[m].lo, metric_range[m].hi, 0.1);
		st->p90 = form_hist_quantile(h, metric_range[m].lo, metric_range[m].hi, 0.9);
		memcpy(st->band_s, e->band_s[m], sizeof(st->band_s));
		s->drift[m] = NAN;
	}
	pain_stats(e, &s->stats[FORM_METRIC_PAIN]);
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++) {
		s->alert_count[k] = e->alert_count[k];
		s->alert_s[k] = e->alert_s[k];
	}

	/* drift: median of the late-run window minus the early-run baseline */
	if (e->have_early && e->late_s[0] + e->late_s[1] >= DRIFT_MIN_S) {
		for (unsigned i = 0; i < N_DRIFT; i++) {
			enum form_metric m = drift_metrics[i];
			struct form_hist h = { 0 };
			double base = baseline_value(&e->early, m);

			form_hist16_merge(&h, &e->late[0][i]);
			form_hist16_merge(&h, &e->late[1][i]);
			s->drift[m] = form_hist_quantile(&h, metric_range[m].lo,
							 metric_range[m].hi, 0.5) - base;
		}
	}

	/* advice, tied to the guidance (issue 4; notes 1.4) */
	for (unsigned i = 0; i < e->n_pain; i++) {
		if (e->pain[i].level > max_pain)
			max_pain = e->pain[i].level;
		if (e->pain[i].site == FORM_PAIN_SITE_LOWER_BACK && e->pain[i].level > 0)
			back_pain = true;
	}
	/* the stretches for overstriding itself (docs/form-metrics.md, advice) */
	if (s->alert_count[FORM_ALERT_OVERSTRIDING]) {
		s->advice[FORM_ADVICE_STRETCH_HAMSTRINGS] = true;
		s->advice[FORM_ADVICE_STRETCH_HIP_FLEXORS] = true;
	}
	if (s->alert_count[FORM_ALERT_OVERSTRIDING] || s->alert_count[FORM_ALERT_BOUNCING] ||
	    (e->running_s >= ADVICE_BAND_MIN_RUNNING_S &&
	     s->stats[FORM_METRIC_CADENCE].band_s[0] > 0.25 * e->running_s))
		s->advice[FORM_ADVICE_SHORTER_STEPS] = true;
	if (s->alert_count[FORM_ALERT_NOT_UPRIGHT]) {
		s->advice[FORM_ADVICE_RUN_TALL] = true;
		s->advice[FORM_ADVICE_STRETCH_HIP_FLEXORS] = true;
		s->advice[FORM_ADVICE_CORE_STRENGTH] = true;
	}
	if (s->alert_count[FORM_ALERT_PELVIC_INSTABILITY] || s->alert_count[FORM_ALERT_IMBALANCE]) {
		s->advice[FORM_ADVICE_ENGAGE_CORE] = true;
		s->advice[FORM_ADVICE_CORE_STRENGTH] = true;
		s->advice[FORM_ADVICE_HIP_STRENGTH] = true;
	}
	if (s->alert_count[FORM_ALERT_FATIGUE]) {
		s->advice[FORM_ADVICE_CORE_STRENGTH] = true;
		s->advice[FORM_ADVICE_LISTEN_TO_BODY] = true;
	}
	if (max_pain > 0) {
		s->advice[FORM_ADVICE_LISTEN_TO_BODY] = true;
		if (back_pain) {
			s->advice[FORM_ADVICE_STRETCH_LOWER_BACK] = true;
			s->advice[FORM_ADVICE_STRETCH_HIP_FLEXORS] = true;
			s->advice[FORM_ADVICE_STRETCH_HAMSTRINGS] = true;
			s->advice[FORM_ADVICE_CORE_STRENGTH] = true;
		}
	}
	if (max_pain >= e->p.pain_severe_level)
		s->advice[FORM_ADVICE_SEE_PROFESSIONAL] = true;
	/* nothing flagged: the general part of the guidance still applies */
	{
		bool any = false;

		for (unsigned a = 0; a < _FORM_ADVICE_MAX; a++)
			any |= s->advice[a];
		if (!any)
			s->advice[FORM_ADVICE_LISTEN_TO_BODY] = true;
	}

	/*
	 * digest: durations saturate at what storage accepts (a session left
	 * open across days of silence must still be stored, not refused)
	 */
	d->duration_s = digest_s(s->duration_s);
	d->running_s = digest_s(s->running_s);
	d->steps = (uint32_t)(s->steps > UINT32_MAX ? UINT32_MAX : s->steps);
	d->mount = e->session_mixed ? FORM_DIGEST_MOUNT_MIXED : (uint8_t)e->p.mount;
	d->distance_m = s->distance_m;
	d->impact_load = e->impact_load;
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++) {
		d->median[m] = s->stats[m].median;
		for (unsigned b = 0; b < 3; b++)
			d->band_s[m][b] = fmin(s->stats[m].band_s[b], FORM_DIGEST_MAX_S);
	}
	d->median[FORM_METRIC_PAIN] = e->n_pain ? max_pain : NAN;
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++) {
		d->alert_count[k] = (uint16_t)(s->alert_count[k] > UINT16_MAX ? UINT16_MAX :
					       s->alert_count[k]);
		d->alert_s[k] = digest_s(s->alert_s[k]);
	}
	d->n_pain = e->n_pain;
	memcpy(d->pain, e->pain, sizeof(d->pain));
}

static void session_end_emit(struct form_engine *e, uint64_t t, bool automatic)
{
	struct form_event ev = { .type = FORM_EVENT_SESSION_ENDED, .t_usec = t };

	if (t < e->session_start)
		t = e->session_start;
	/* an alert raised after a back-dated end (pain in the wait) ends as it began */
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		alert_clear(e, k, t > e->alert[k].start_usec ? t : e->alert[k].start_usec);
	summary_build(e, t);
	e->session = false;
	ev.session.start_usec = e->session_start;
	ev.session.automatic = automatic;
	emit(e, &ev);
	ev = (struct form_event) {
		.type = FORM_EVENT_SUMMARY,
		.t_usec = t,
		.summary = &e->summary,
	};
	emit(e, &ev);
}

/* ---- metrics tick, activity, session ---------------------------------- */

static void metric_set(struct form_metrics *mt, enum form_metric m, double v, enum form_quality q)
{
	if (isnan(v))
		q = FORM_QUALITY_NONE;
	mt->m[m].value = q == FORM_QUALITY_NONE ? NAN : v;
	mt->m[m].quality = q;
}

/*
 * Is the IMU too slow for metric m (TIMING_MIN_HZ, IMPACT_MIN_HZ)? Then its
 * value is shown with quality "low" and no alert is raised on it.
 */
static bool rate_too_low(const struct form_engine *e, enum form_metric m)
{
	double hz = e->det.dt_s > 0 ? 1.0 / e->det.dt_s : NAN;

	switch (m) {
	case FORM_METRIC_GCT:
	case FORM_METRIC_FLIGHT:
	case FORM_METRIC_GCT_BALANCE:
	case FORM_METRIC_BRAKING:
		return hz < TIMING_MIN_HZ;
	case FORM_METRIC_IMPACT:
		return hz < IMPACT_MIN_HZ;
	default:
		return false;
	}
}

static void metrics_compute(struct form_engine *e, struct form_metrics *mt)
{
	unsigned n = 0, nl = 0, nr = 0;
	double step_ms = window_median(e, STEP_FIELD(step_ms), -1, &n), x;
	enum form_quality q = n >= GOOD_STEPS && e->activity == FORM_ACTIVITY_RUNNING ?
		FORM_QUALITY_GOOD : FORM_QUALITY_LOW;
	double cad = NAN, v = speed_now(e), vo, sl = NAN;

	memset(mt, 0, sizeof(*mt));
	mt->activity = e->activity;
	mt->window_steps = n;
	mt->total_steps = e->total_steps;
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		metric_set(mt, m, NAN, FORM_QUALITY_NONE);

	if (n >= 4) {
		cad = 60000.0 / mean_step_ms(e, step_ms);
		metric_set(mt, FORM_METRIC_CADENCE, cad, q);
	} else if (fresh(e->t_now, e->t_cadence_pod, e->cadence_pod)) {
		cad = e->cadence_pod;	/* footpod only: no IMU steps */
		metric_set(mt, FORM_METRIC_CADENCE, cad, FORM_QUALITY_LOW);
	}
	if (n < 4)
		q = FORM_QUALITY_NONE;

	metric_set(mt, FORM_METRIC_GCT, window_median(e, STEP_FIELD(gct_ms), -1, NULL), q);
	metric_set(mt, FORM_METRIC_FLIGHT, window_median(e, STEP_FIELD(flight_ms), -1, NULL), q);
	vo = window_median(e, STEP_FIELD(vo_mm), -1, NULL);
	metric_set(mt, FORM_METRIC_VERTICAL_OSCILLATION, vo, q);
	metric_set(mt, FORM_METRIC_BRAKING, window_median(e, STEP_FIELD(braking), -1, NULL), q);
	metric_set(mt, FORM_METRIC_IMPACT, window_median(e, STEP_FIELD(impact), -1, NULL), q);
	metric_set(mt, FORM_METRIC_TRUNK_LEAN, window_median(e, STEP_FIELD(lean), -1, NULL), q);
	metric_set(mt, FORM_METRIC_PELVIC_DROP, window_median(e, STEP_FIELD(drop), -1, NULL), q);
	metric_set(mt, FORM_METRIC_LATERAL_SWAY, window_median(e, STEP_FIELD(sway), -1, NULL), q);

	{
		double gl = window_median(e, STEP_FIELD(gct_ms), FORM_SIDE_LEFT, &nl);
		double gr = window_median(e, STEP_FIELD(gct_ms), FORM_SIDE_RIGHT, &nr);

		/*
		 * Balance needs a midline sensor: a clip on one hip sees its own
		 * leg's stance differently from the other's.
		 */
		if (nl >= 3 && nr >= 3 && e->p.mount != FORM_MOUNT_WAIST)
			metric_set(mt, FORM_METRIC_GCT_BALANCE, 100.0 * gl / (gl + gr),
				   nl + nr >= 2 * GOOD_STEPS ? q : FORM_QUALITY_LOW);
	}

	if (!isnan(v)) {
		metric_set(mt, FORM_METRIC_SPEED, v, FORM_QUALITY_GOOD);
		if (!isnan(cad) && cad > 0) {
			sl = v * 60.0 / cad;	/* notes 3: SL = v / (SR / 60) */
			metric_set(mt, FORM_METRIC_STEP_LENGTH, sl,
				   mt->m[FORM_METRIC_CADENCE].quality);
		}
		if (!isnan(sl) && sl > 0.1 && !isnan(vo))
			metric_set(mt, FORM_METRIC_VERTICAL_RATIO, vo / (sl * 1000.0) * 100.0, q);
	}
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		if (mt->m[m].quality == FORM_QUALITY_GOOD && rate_too_low(e, m))
			mt->m[m].quality = FORM_QUALITY_LOW;
	x = fresh(e->t_now, e->t_hr, e->hr) ? e->hr : NAN;
	metric_set(mt, FORM_METRIC_HEART_RATE, x, FORM_QUALITY_GOOD);
	if (e->session)
		metric_set(mt, FORM_METRIC_PAIN, e->pain_last, FORM_QUALITY_GOOD);
}

/* No IMU stream, or none for 3 s: the footpod stands in (activity, steps). */
static bool imu_silent(const struct form_engine *e, uint64_t now)
{
	return !e->have_imu || now > e->t_imu + IMU_SILENT_USEC;
}

/*
 * The IMU's running cadence as it fell silent, to hold while the belt runs
 * on: from at least 3 steps of the window (the last 10 s before now, 3 s
 * after the last sample), a running cadence, and the speed at the last
 * step. NAN when there is none to hold.
 */
static void cadence_hold(struct form_engine *e)
{
	unsigned n;
	double step_ms = window_median(e, STEP_FIELD(step_ms), -1, &n);
	double spm = n >= 3 && step_ms > 0 ? 60000.0 / mean_step_ms(e, step_ms) : NAN;

	e->held_speed_mps = e->speed_last_step;
	e->held_cadence_spm = spm >= e->p.running_min_cadence_spm &&
			      e->held_speed_mps >= WALK_MAX_SPEED_MPS ? spm : NAN;
	e->held_impact_g = window_mean(e, STEP_FIELD(impact), -INFINITY, INFINITY);
}

/*
 * The step rate while the IMU is silent: the footpod's cadence, else the
 * cadence held from the IMU while the belt (or any speed source) stays
 * within HELD_SPEED_BAND of the speed it had then. NAN: none known.
 */
static double silent_cadence(const struct form_engine *e, uint64_t now)
{
	double v = speed_now(e);

	if (fresh(now, e->t_cadence_pod, e->cadence_pod) && e->cadence_pod > 0)
		return e->cadence_pod;
	if (isnan(e->held_cadence_spm) ||
	    !(fabs(v - e->held_speed_mps) <= HELD_SPEED_BAND * e->held_speed_mps))
		return NAN;
	return e->held_cadence_spm;
}

/*
 * Steps while no IMU streams (a footpod alone, or an IMU dropout longer than
 * a hole): silent_cadence() over the time since they were last counted,
 * from the last IMU step when the IMU has just gone silent, at most
 * GAP_MAX_USEC back (a gap is not session time, as in tick()). Counted as
 * estimated.
 */
static void silent_steps_count(struct form_engine *e, uint64_t now)
{
	uint64_t from = e->t_silent_tick;
	bool first = !from;
	double n, spm;

	if (!imu_silent(e, now)) {
		/* the held cadence stays for steps_after_silence() */
		e->t_silent_tick = 0;
		return;
	}
	if (!from) {
		/* just fallen silent (or never streamed): from the last step */
		from = e->total_steps ? e->t_last_step : e->session_start;
		if (e->total_steps)
			cadence_hold(e);
		else
			e->held_impact_g = NAN;
	}
	if (from < e->session_start)
		from = e->session_start;
	if (from < e->t_silent_counted)
		from = e->t_silent_counted;
	/* an automatic start owns the running since it began: no cap then */
	if (from + GAP_MAX_USEC < now &&
	    !(first && e->session_auto && from == e->session_start))
		from = now - GAP_MAX_USEC;
	e->t_silent_tick = now;
	spm = silent_cadence(e, now);
	/* no rate known since the last count: that time has no steps */
	if (isnan(spm) || now <= from)
		return;
	e->t_silent_counted = now;
	n = e->silent_steps_frac + spm * (double)(now - from) / USEC / 60.0;
	e->silent_steps_frac = n - floor(n);
	steps_estimated_add(e, (uint64_t)n);
	/* their load: the IMU's mean peak before it fell silent, if any */
	if (isfinite(e->held_impact_g))
		impact_add(e, e->held_impact_g, (unsigned)n);
}

static enum form_activity activity_classify(struct form_engine *e, uint64_t now)
{
	unsigned n = 0;
	double step_ms, fmin;

	if (imu_silent(e, now)) {
		/* no IMU: fall back to the footpod (speed and cadence) */
		double v = speed_now(e);

		if (isnan(v))
			return FORM_ACTIVITY_UNKNOWN;
		return v < 0.3 ? FORM_ACTIVITY_STANDING :
			v < WALK_MAX_SPEED_MPS ? FORM_ACTIVITY_WALKING : FORM_ACTIVITY_RUNNING;
	}
	/*
	 * no step for 2.5 s of samples (a hole in the stream, up to the
	 * silence above, is none) while the IMU has been streaming for 2 s:
	 * standing
	 */
	if (e->total_steps == 0 ||
	    (e->t_imu > e->t_last_step &&
	     e->t_imu - e->t_last_step - hole_usec(e, e->t_last_step, e->t_imu) >
		     STANDING_AFTER_USEC))
		return now >= e->t_imu_first + 2 * USEC ? FORM_ACTIVITY_STANDING : e->activity;

	/* the activity looks at the last 4 s only, so it follows stops quickly */
	step_ms = window_median_age(e, STEP_FIELD(step_ms), -1, ACTIVITY_WINDOW_USEC, &n);
	if (n < 3)
		return e->activity == FORM_ACTIVITY_UNKNOWN ? FORM_ACTIVITY_UNKNOWN :
			e->activity;
	fmin = window_median_age(e, STEP_FIELD(flight_min_g), -1, ACTIVITY_WINDOW_USEC, NULL);
	if (60000.0 / step_ms >= e->p.running_min_cadence_spm && fmin < FLIGHT_MAX_G)
		return FORM_ACTIVITY_RUNNING;
	return FORM_ACTIVITY_WALKING;
}

static void activity_update(struct form_engine *e, uint64_t now)
{
	enum form_activity a = activity_classify(e, now);

	if (a == e->activity) {
		e->pending_ticks = 0;
	} else {
		if (a != e->pending_activity)
			e->pending_ticks = 0;
		e->pending_activity = a;
		/* two consecutive ticks, except the first classification */
		if (++e->pending_ticks >= 2 || e->activity == FORM_ACTIVITY_UNKNOWN) {
			struct form_event ev = {
				.type = FORM_EVENT_ACTIVITY,
				.t_usec = now,
				.activity = { .from = e->activity, .to = a },
			};

			e->activity = a;
			e->pending_ticks = 0;
			emit(e, &ev);
		}
	}

	if (e->activity == FORM_ACTIVITY_RUNNING) {
		if (!e->running_since) {
			e->running_since = now;
			e->odo_at_running = e->odo_m;
			e->steps_at_running = e->total_steps;
		}
		e->not_running_since = 0;
	} else {
		e->running_since = 0;
		if (!e->not_running_since) {
			/* a new wait: totals taken at the end of this tick, alert time from 0 */
			e->not_running_since = now;
			e->at_stop_pending = true;
			memset(e->alert_s_wait, 0, sizeof(e->alert_s_wait));
		}
	}

	if (!e->p.auto_session)
		return;
	if (!e->session && e->running_since &&
	    now - e->running_since >= (uint64_t)(e->p.auto_start_s * USEC)) {
		(void)session_start(e, e->running_since, true);
		/* the session began when the running did: its time, distance, steps */
		e->running_s = (double)(now - e->running_since) / USEC;
		if (e->odo_m > e->odo_at_running) {
			e->distance_m = e->odo_m - e->odo_at_running;
			e->distance_known = true;
		}
		e->session_steps = e->total_steps - e->steps_at_running;
	} else if (e->session && e->session_auto && e->not_running_since &&
		   now - e->not_running_since >= (uint64_t)(e->p.auto_stop_s * USEC)) {
		/* the session ends when the running did: drop the wait since */
		e->walking_s = e->at_stop.walking_s;
		e->standing_s = e->at_stop.standing_s;
		e->distance_m = e->at_stop.distance_m;
		e->distance_known = e->at_stop.distance_known;
		e->session_steps = e->at_stop.steps;
		e->steps_estimated = e->at_stop.steps_estimated;
		e->imu_holes = e->at_stop.imu_holes;
		e->imu_lost_s = e->at_stop.imu_lost_s;
		for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
			e->alert_s[k] = fmax(0, e->alert_s[k] - e->alert_s_wait[k]);
		session_end_emit(e, e->not_running_since, true);
	}
}

static int band_of(const struct form_engine *e, enum form_metric m, double x)
{
	double lo = NAN, hi = NAN, v = speed_now(e);

	switch (m) {
	case FORM_METRIC_CADENCE:
		/* prior +-1 SD at the speed (notes 4), else +-5 % of baseline */
		if (!isnan(v)) {
			lo = cadence_expected(v) - e->p.cadence_prior_margin_spm;
			hi = cadence_expected(v) + e->p.cadence_prior_margin_spm;
		} else {
			const struct form_baseline *bl = baseline_at_incline(e, incline_now(e));

			if (bl) {
				lo = bl->cadence_spm * (1 - e->p.cadence_drop_pct / 100);
				hi = bl->cadence_spm * (1 + e->p.cadence_drop_pct / 100);
			}
		}
		break;
	case FORM_METRIC_GCT:
		lo = GCT_BAND_LO_MS;
		hi = GCT_BAND_HI_MS;
		break;
	case FORM_METRIC_GCT_BALANCE:
		lo = 100 - e->p.gct_balance_max_pct;
		hi = e->p.gct_balance_max_pct;
		break;
	case FORM_METRIC_VERTICAL_RATIO:
		lo = 0;
		hi = VERTICAL_RATIO_MAX_PCT;
		break;
	case FORM_METRIC_TRUNK_LEAN:
		/* the alert's band: against the belt */
		if (baseline_for_alerts(e)) {
			double c = baseline_for_alerts(e)->trunk_lean_deg + lean_slope_offset(e);

			lo = c - e->p.lean_band_deg;
			hi = c + e->p.lean_band_deg;
		}
		break;
	default:
		break;
	}
	if (isnan(lo) || isnan(x))
		return -1;
	return x < lo ? 0 : x > hi ? 2 : 1;
}

static void tick(struct form_engine *e, uint64_t now)
{
	struct form_event ev = { .type = FORM_EVENT_METRICS, .t_usec = now };
	bool was_session;
	uint64_t t_prev;
	double dt, v_now;

	if (!e->tick_started) {
		e->tick_started = true;
		e->t_tick = now;
		return;
	}
	if (now < e->t_tick + USEC)
		return;
	dt = (double)(now - e->t_tick) / USEC;
	t_prev = e->t_tick;
	e->t_tick = now;

	was_session = e->session;
	activity_update(e, now);
	metrics_compute(e, &ev.metrics);

	/*
	 * A session started since the last tick owns only the time since; one
	 * dated after this tick (a start at the daemon's clock, the samples a
	 * little behind it over BLE) owns none of it yet.
	 */
	if (e->session && e->session_start > t_prev)
		dt = now > e->session_start ? (double)(now - e->session_start) / USEC : 0;
	if (dt > (double)GAP_MAX_USEC / USEC)
		dt = (double)GAP_MAX_USEC / USEC;	/* a gap is not session time */

	if (e->session) {
		double v = speed_now(e);

		silent_steps_count(e, now);
		switch (e->activity) {
		case FORM_ACTIVITY_RUNNING:
			/* an automatic start just counted the running since it began */
			if (was_session)
				e->running_s += dt;
			break;
		case FORM_ACTIVITY_WALKING:
			e->walking_s += dt;
			break;
		case FORM_ACTIVITY_STANDING:
		case FORM_ACTIVITY_UNKNOWN:
			e->standing_s += dt;
			break;
		case _FORM_ACTIVITY_MAX:
		case _FORM_ACTIVITY_INVALID:
			break;
		}
		/*
		 * Speed over the time the runner moves: a belt left running
		 * while the IMU shows them standing (on the side rails, at the
		 * start) covers no distance of theirs.
		 */
		if (!isnan(v)) {
			if (e->activity != FORM_ACTIVITY_STANDING)
				e->distance_m += v * dt;
			e->distance_known = true;
		}
		if (e->activity == FORM_ACTIVITY_RUNNING) {
			double hr = ev.metrics.m[FORM_METRIC_HEART_RATE].value;
			static const enum form_metric per_tick[] = {
				FORM_METRIC_CADENCE, FORM_METRIC_GCT_BALANCE,
				FORM_METRIC_VERTICAL_RATIO,
				FORM_METRIC_STEP_LENGTH, FORM_METRIC_HEART_RATE,
				FORM_METRIC_SPEED,
			};

			for (unsigned i = 0; i < ELEMENTSOF(per_tick); i++)
				session_add(e, per_tick[i], ev.metrics.m[per_tick[i]].value);
			if (e->running_s >= e->p.warmup_s &&
			    e->running_s < e->p.warmup_s + e->p.baseline_s) {
				double inc = incline_now(e);

				learn_add(e, FORM_METRIC_HEART_RATE, hr);
				learn_add(e, FORM_METRIC_SPEED, v);
				learn_add(e, FORM_METRIC_GCT_BALANCE,
					  ev.metrics.m[FORM_METRIC_GCT_BALANCE].value);
				learn_add(e, FORM_METRIC_CADENCE,
					  ev.metrics.m[FORM_METRIC_CADENCE].value);
				if (!isnan(inc)) {
					e->learn_incline_sum += inc;
					e->learn_incline_n++;
				}
			}
			for (unsigned m = 0; m < _FORM_METRIC_MAX; m++) {
				int b = band_of(e, m, ev.metrics.m[m].value);

				if (b >= 0)
					e->band_s[m][b] += dt;
			}
			late_add(e, &ev.metrics, v, dt);
		}
		baseline_check_learned(e);
		{
			/* what the IMU is too slow for raises nothing */
			struct form_metrics am = ev.metrics;

			for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
				if (rate_too_low(e, m))
					am.m[m].value = NAN;
			alerts_evaluate(e, &am, now);
		}
	}
	if (e->at_stop_pending) {
		e->at_stop_pending = false;
		e->at_stop.walking_s = e->walking_s;
		e->at_stop.standing_s = e->standing_s;
		e->at_stop.distance_m = e->distance_m;
		e->at_stop.distance_known = e->distance_known;
		e->at_stop.steps = e->session_steps;
		e->at_stop.steps_estimated = e->steps_estimated;
		e->at_stop.imu_holes = e->imu_holes;
		e->at_stop.imu_lost_s = e->imu_lost_s;
	}
	v_now = speed_now(e);
	if (!isnan(v_now))
		e->odo_m += v_now * fmin((double)(now - t_prev) / USEC,
					 (double)GAP_MAX_USEC / USEC);
	/* the session so far, this tick's time and steps counted */
	ev.metrics.session_steps = e->session ? e->session_steps : 0;
	ev.metrics.session_distance_m = e->session && e->distance_known ? e->distance_m : NAN;
	emit(e, &ev);
}

static void advance(struct form_engine *e, uint64_t t)
{
	if (t > e->t_now)
		e->t_now = t;
	tick(e, e->t_now);
}

/* ---- inputs ----------------------------------------------------------- */

void form_engine_advance(struct form_engine *e, uint64_t t_usec)
{
	if (t_usec > e->t_now)
		advance(e, t_usec);
}

int form_engine_feed_imu(struct form_engine *e, const struct form_imu_sample *s)
{
	unsigned axes = isfinite(s->ax) + isfinite(s->ay) + isfinite(s->az);
	uint64_t holes, t_prev = e->t_imu;
	double lost_s;

	if (axes < 2)
		return -EINVAL;
	if (e->have_imu && s->t_usec <= e->t_imu)
		return -EINVAL;
	if (fabs(s->ax) > FORM_IMU_MAX_G || fabs(s->ay) > FORM_IMU_MAX_G ||
	    fabs(s->az) > FORM_IMU_MAX_G)
		return -ERANGE;
	/* a finite 1e39 deg/s would overflow the detector's floats */
	if (fabs(s->gx) > FORM_IMU_MAX_DPS || fabs(s->gy) > FORM_IMU_MAX_DPS ||
	    fabs(s->gz) > FORM_IMU_MAX_DPS)
		return -ERANGE;

	if (!e->have_imu)
		e->t_imu_first = s->t_usec;
	else if (s->t_usec >= e->t_imu + FORM_REMOUNT_GAP_USEC &&
		 !session_has_steps(e))
		lean_reference_forget(e, false);
	e->have_imu = true;
	e->t_imu = s->t_usec;
	if (s->t_usec > e->t_now)
		e->t_now = s->t_usec;
	holes = e->det.holes_total;
	lost_s = e->det.lost_s_total;
	form_detector_feed(&e->det, s, on_step, e);
	if (e->det.holes_total != holes) {
		e->hole_t[e->n_hole_t % ENGINE_HOLES][0] = t_prev;
		e->hole_t[e->n_hole_t % ENGINE_HOLES][1] = s->t_usec;
		e->n_hole_t++;
	}
	if (e->session) {
		e->imu_holes += e->det.holes_total - holes;
		e->imu_lost_s += e->det.lost_s_total - lost_s;
	}
	remount_check(e);
	advance(e, s->t_usec);
	return 0;
}

static int feed_context(struct form_engine *e, uint64_t t, double x, double lo, double hi,
			double *val, uint64_t *tv)
{
	if (!isnan(x) && (x < lo || x > hi))
		return -ERANGE;
	*val = x;
	*tv = t;
	advance(e, t);
	return 0;
}

int form_engine_feed_speed(struct form_engine *e, uint64_t t_usec, double mps)
{
	return feed_context(e, t_usec, mps, 0, 15, &e->speed, &e->t_speed);
}

int form_engine_feed_cadence(struct form_engine *e, uint64_t t_usec, double spm)
{
	return feed_context(e, t_usec, spm, 0, 300, &e->cadence_pod, &e->t_cadence_pod);
}

int form_engine_feed_heart_rate(struct form_engine *e, uint64_t t_usec, double bpm)
{
	return feed_context(e, t_usec, bpm, 20, 260, &e->hr, &e->t_hr);
}

int form_engine_feed_incline(struct form_engine *e, uint64_t t_usec, double pct)
{
	return feed_context(e, t_usec, pct, -45, 45, &e->incline, &e->t_incline);
}

/* ---- session ---------------------------------------------------------- */

int form_engine_session_start(struct form_engine *e, uint64_t t_usec)
{
	return session_start(e, t_usec, false);
}

int form_engine_session_stop(struct form_engine *e, uint64_t t_usec)
{
	if (!e->session)
		return -ENODATA;
	/* report the pending step, then one last tick */
	form_detector_flush(&e->det, on_step, e);
	advance(e, t_usec);
	if (!e->session)
		return 0;	/* the tick ended it automatically */
	/*
	 * A stop stamped before samples already fed (the caller's clock behind
	 * the sensor's): the session ends where its totals do, which keeps its
	 * time split within its duration (a digest that breaks that is refused).
	 */
	if (e->tick_started && e->t_tick > t_usec)
		t_usec = e->t_tick;
	session_end_emit(e, t_usec, false);
	return 0;
}

int form_engine_report_pain(struct form_engine *e, uint64_t t_usec, double level,
			    const char *where)
{
	struct alert_state *a = &e->alert[FORM_ALERT_PAIN];
	uint8_t lv;

	if (isnan(level) || level < 0 || level > 10)
		return -ERANGE;
	lv = (uint8_t)lround(level);
	if (t_usec > e->t_now)
		e->t_now = t_usec;

	if (e->session) {
		e->pain_last = lv;
		if (e->pain_n[lv] < UINT32_MAX)
			e->pain_n[lv]++;
		struct form_pain_report rep = {
			.t_s = t_usec > e->session_start ?
				(uint32_t)((t_usec - e->session_start) / USEC) : 0,
			.level = lv,
			.site = (uint8_t)form_pain_site_from_text(where),
		};

		/* full and no worse than every kept one: counted, not listed */
		(void)form_pain_list_add(e->pain, &e->n_pain, &rep);
	}

	/* pain is immediate: no minimum duration (issue 4) */
	if (lv >= e->p.pain_alert_level) {
		if (a->active)
			alert_clear(e, FORM_ALERT_PAIN, t_usec);
		a->metric = FORM_METRIC_PAIN;
		a->value = lv;
		a->severity = lv >= e->p.pain_severe_level ? FORM_SEVERITY_CRITICAL :
			FORM_SEVERITY_WARNING;
		a->threshold = a->severity == FORM_SEVERITY_CRITICAL ?
			e->p.pain_severe_level : e->p.pain_alert_level;
		alert_raise(e, FORM_ALERT_PAIN, t_usec, t_usec);
	} else if (a->active) {
		alert_clear(e, FORM_ALERT_PAIN, t_usec);
	}
	return 0;
}
