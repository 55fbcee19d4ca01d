/* SPDX-License-Identifier: GPL-2.0-or-later */
/* form: running-form detection core; trunk IMU in, contacts, metrics, alerts out. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The core is pure: it never reads a clock, never does I/O, never logs and
 * allocates only in form_engine_new(). Time arrives with every input as a
 * monotonic microsecond stamp (t_usec); inputs must be fed in time order
 * (a stamp older than the last IMU sample is rejected with -EINVAL).
 *
 * Results are delivered synchronously through one callback, from inside the
 * feed/session calls. The event and everything it points to is borrowed for
 * the duration of the callback only. The callback must not call back into
 * the engine (feed, session, free).
 *
 * Units follow STYLE.md: _ms, _mm, _spm (steps per minute), _deg, _pct,
 * _bpm, _mps, _usec. A value that cannot be measured is NAN (or has_x =
 * false) in C and null in JSON, never 0.
 *
 * The daemon and `gaitctl analyze` feed this same engine in the same way.
 */

struct json_object;
struct form_engine;

/* ---- enums ----------------------------------------------------------- */

/* Declared sensor placement. */
enum form_mount {
	FORM_MOUNT_SACRUM,		/* "sacrum": clip over S1-S2, acc (+gyro) */
	FORM_MOUNT_WAIST,		/* "waist": belt clip, hip or lower back */
	FORM_MOUNT_CHEST,		/* "chest": HR strap accelerometer (Polar H10) */
	_FORM_MOUNT_MAX,
	_FORM_MOUNT_INVALID = -EINVAL,
};

enum form_side {
	FORM_SIDE_UNKNOWN,		/* "unknown" */
	FORM_SIDE_LEFT,			/* "left" */
	FORM_SIDE_RIGHT,		/* "right" */
	_FORM_SIDE_MAX,
	_FORM_SIDE_INVALID = -EINVAL,
};

enum form_activity {
	FORM_ACTIVITY_UNKNOWN,		/* "unknown": not enough data yet */
	FORM_ACTIVITY_STANDING,		/* "standing": no steps */
	FORM_ACTIVITY_WALKING,		/* "walking": steps, no flight phase */
	FORM_ACTIVITY_RUNNING,		/* "running": steps with flight phase */
	_FORM_ACTIVITY_MAX,
	_FORM_ACTIVITY_INVALID = -EINVAL,
};

/* Quality of a live metric. NONE always comes with value NAN. */
enum form_quality {
	FORM_QUALITY_NONE,		/* "none": not measurable now */
	FORM_QUALITY_LOW,		/* "low": few steps, sensor or rate marginal */
	FORM_QUALITY_GOOD,		/* "good" */
	_FORM_QUALITY_MAX,
	_FORM_QUALITY_INVALID = -EINVAL,
};

/*
 * Live metrics; _to_string() gives the JSON key (with its unit suffix),
 * which is also the "metric" of an alert.
 */
enum form_metric {
	FORM_METRIC_CADENCE,		/* "cadence_spm" */
	FORM_METRIC_GCT,		/* "gct_ms" */
	FORM_METRIC_GCT_BALANCE,	/* "gct_balance_pct": % of GCT on the left */
	FORM_METRIC_FLIGHT,		/* "flight_ms" */
	FORM_METRIC_VERTICAL_OSCILLATION, /* "vertical_oscillation_mm" */
	FORM_METRIC_VERTICAL_RATIO,	/* "vertical_ratio_pct" */
	FORM_METRIC_STEP_LENGTH,	/* "step_length_m" (needs speed) */
	FORM_METRIC_TRUNK_LEAN,		/* "trunk_lean_deg": chest lean, or pelvic tilt */
	FORM_METRIC_PELVIC_DROP,	/* "pelvic_drop_deg" (needs gyro) */
	FORM_METRIC_LATERAL_SWAY,	/* "lateral_sway_pct": ML RMS ratio (3 axes) */
	FORM_METRIC_BRAKING,		/* "braking_mps": speed loss per step */
	FORM_METRIC_IMPACT,		/* "impact_g": peak vertical acc after IC */
	FORM_METRIC_HEART_RATE,		/* "heart_rate_bpm" */
	FORM_METRIC_SPEED,		/* "speed_mps" */
	FORM_METRIC_PAIN,		/* "pain_level": last report this session */
	_FORM_METRIC_MAX,
	_FORM_METRIC_INVALID = -EINVAL,
};

enum form_alert_kind {
	FORM_ALERT_OVERSTRIDING,	/* "overstriding" */
	FORM_ALERT_NOT_UPRIGHT,		/* "not-upright" */
	FORM_ALERT_PELVIC_INSTABILITY,	/* "pelvic-instability": core not engaged */
	FORM_ALERT_IMBALANCE,		/* "imbalance": L/R GCT balance */
	FORM_ALERT_BOUNCING,		/* "bouncing": vertical oscillation up */
	FORM_ALERT_FATIGUE,		/* "fatigue": drift from early-run baseline */
	FORM_ALERT_PAIN,		/* "pain": reported by the runner */
	_FORM_ALERT_KIND_MAX,
	_FORM_ALERT_KIND_INVALID = -EINVAL,
};

enum form_severity {
	FORM_SEVERITY_INFO,		/* "info" */
	FORM_SEVERITY_WARNING,		/* "warning" */
	FORM_SEVERITY_CRITICAL,		/* "critical": stop or seek help */
	_FORM_SEVERITY_MAX,
	_FORM_SEVERITY_INVALID = -EINVAL,
};

/* Where the runner reports pain (free text is mapped onto these). */
enum form_pain_site {
	FORM_PAIN_SITE_OTHER,		/* "other" */
	FORM_PAIN_SITE_LOWER_BACK,	/* "lower-back" */
	FORM_PAIN_SITE_HIP,		/* "hip" */
	FORM_PAIN_SITE_KNEE,		/* "knee" */
	FORM_PAIN_SITE_SHIN,		/* "shin" */
	FORM_PAIN_SITE_FOOT,		/* "foot" (and ankle) */
	_FORM_PAIN_SITE_MAX,
	_FORM_PAIN_SITE_INVALID = -EINVAL,
};

/* Advice items of the summary and the history report, tied to the guidance. */
enum form_advice {
	FORM_ADVICE_SHORTER_STEPS,	/* "shorter-steps": cadence +5 %, land under hips */
	FORM_ADVICE_RUN_TALL,		/* "run-tall" */
	FORM_ADVICE_ENGAGE_CORE,	/* "engage-core" */
	FORM_ADVICE_STRETCH_HIP_FLEXORS, /* "stretch-hip-flexors" */
	FORM_ADVICE_STRETCH_HAMSTRINGS,	/* "stretch-hamstrings" */
	FORM_ADVICE_STRETCH_LOWER_BACK,	/* "stretch-lower-back" */
	FORM_ADVICE_CORE_STRENGTH,	/* "core-strength" */
	FORM_ADVICE_HIP_STRENGTH,	/* "hip-strength" */
	FORM_ADVICE_CROSS_TRAINING,	/* "cross-training" */
	FORM_ADVICE_LISTEN_TO_BODY,	/* "listen-to-body" */
	FORM_ADVICE_SEE_PROFESSIONAL,	/* "see-professional" */
	_FORM_ADVICE_MAX,
	_FORM_ADVICE_INVALID = -EINVAL,
};

enum form_event_type {
	FORM_EVENT_CONTACT,		/* "contact": one per detected step */
	FORM_EVENT_METRICS,		/* "metrics": about 1 Hz while steps come in */
	FORM_EVENT_ALERT,		/* "alert": raised */
	FORM_EVENT_CLEARED,		/* "cleared": the alert of the same id ended */
	FORM_EVENT_ACTIVITY,		/* "activity": standing/walking/running change */
	FORM_EVENT_SESSION_STARTED,	/* "session-started" */
	FORM_EVENT_SESSION_ENDED,	/* "session-ended" (the summary follows) */
	FORM_EVENT_SUMMARY,		/* "summary": once per session, at its end */
	_FORM_EVENT_TYPE_MAX,
	_FORM_EVENT_TYPE_INVALID = -EINVAL,
};

/* _to_string() returns a static string, NULL for an out-of-range value. */
const char *form_mount_to_string(enum form_mount m);
enum form_mount form_mount_from_string(const char *s);
/*
 * FORM_METRIC_TRUNK_LEAN is the pelvis's forward tilt on this mount (sacrum,
 * waist), not the trunk's lean (chest); false for an invalid mount.
 */
bool form_mount_tilts_pelvis(enum form_mount m);
const char *form_side_to_string(enum form_side s);
const char *form_activity_to_string(enum form_activity a);
enum form_activity form_activity_from_string(const char *s);
const char *form_quality_to_string(enum form_quality q);
const char *form_metric_to_string(enum form_metric m);
/* Decimals a metric's value is printed with (JSON, displays). */
int form_metric_decimals(enum form_metric m);
/* v with that many decimals ("%.*f") into buf, what rounds to zero as 0, never "-0.0". */
const char *form_format_fixed(char *buf, size_t size, double v, int decimals);
/* Adds v under key, printed as metric m is (its decimals; null when not finite). */
int form_metric_add_json(struct json_object *o, const char *key, enum form_metric m, double v);
enum form_metric form_metric_from_string(const char *s);
const char *form_alert_kind_to_string(enum form_alert_kind k);
enum form_alert_kind form_alert_kind_from_string(const char *s);
const char *form_severity_to_string(enum form_severity s);
const char *form_pain_site_to_string(enum form_pain_site s);
/* Maps free text ("lower back", "Back", "left knee") onto a site; never fails. */
enum form_pain_site form_pain_site_from_text(const char *s);
const char *form_advice_to_string(enum form_advice a);
/* One or two sentences for the runner, English. */
const char *form_advice_text(enum form_advice a);
const char *form_event_type_to_string(enum form_event_type t);

/* ---- parameters ------------------------------------------------------- */

/*
 * Every tunable of the core. form_params_default() fills the defaults from
 * one table (form_param_table()), which also carries the unit, the accepted
 * range and the literature source; docs/form-metrics.md is written from it.
 * Durations are seconds (double) here because they are configuration.
 */
struct form_params {
	enum form_mount mount;
	/* Runner, optional: NAN when unknown. */
	double runner_height_m;		/* leg length ~0.53 x height */
	double max_heart_rate_bpm;

	/* Baseline learning (notes 5.12: after a 3-5 min warm-up). */
	double warmup_s;		/* 120: running time ignored before learning */
	double baseline_s;		/* 180: running time the baseline learns over */

	/* Alert timing (notes 5.13). */
	double alert_min_duration_s;	/* 30: beyond threshold this long to raise */
	double alert_clear_s;		/* 30: back within threshold - floor/2 this long */
	double alert_repeat_s;		/* 120: min gap between two raises of a kind */
	unsigned alert_max_repeats;	/* 5: raises of one kind per session */
	double fatigue_min_s;		/* 120: fatigue drift must last this long */

	/* Thresholds (notes section 3 and 6). */
	double cadence_drop_pct;	/* 5: SR < (100 - x) % of baseline */
	double cadence_prior_margin_spm; /* 8: no baseline: SR < SR_exp(v) - x */
	double gct_rise_ms;		/* 30: GCT > baseline + x */
	double braking_rise_pct;	/* 20: braking > (100 + x) % of baseline */
	double lean_band_deg;		/* 5: |lean - baseline| > x */
	double lean_max_deg;		/* 15: absolute soft limit */
	double pelvic_drop_rise_deg;	/* 2: drop > baseline + x */
	double lateral_sway_rise_pct;	/* 20: sway > (100 + x) % of baseline */
	double gct_balance_max_pct;	/* 52.2: either side above x (Garmin red) */
	double vertical_oscillation_rise_mm; /* 15: VO > baseline + x */
	double impact_rise_pct;		/* 15: impact > (100 + x) % of baseline */
	unsigned fatigue_min_indicators; /* 2: drifting metrics to call fatigue */
	double pain_alert_level;	/* 4: pain >= x raises a pain alert */
	double pain_severe_level;	/* 7: pain >= x is severe: see a professional */

	/* Activity and automatic sessions. */
	bool auto_session;		/* true: start/stop sessions on running */
	double auto_start_s;		/* 10: running this long starts a session */
	double auto_stop_s;		/* 120: not running this long ends it */
	double running_min_cadence_spm;	/* 130: notes 5.13 gate */
};

/* One row of the parameter table (for docs and config). */
struct form_param_info {
	const char *name;		/* e.g. "warmup_s": the struct field name */
	size_t offset;			/* offsetof(struct form_params, name) */
	char type;			/* 'd' double, 'u' unsigned, 'b' bool */
	double def, min, max;		/* def NAN = "unknown" */
	const char *unit;
	const char *source;		/* literature or reasoning, short */
};

/*
 * The fixed thresholds the core decides with (not configurable), each with
 * its unit and source: one row of docs/form-metrics.md's "Fixed thresholds"
 * (checked by a unit test).
 */
struct form_threshold_info {
	const char *name;		/* e.g. "FLIGHT_MAX_G" */
	double value;			/* in unit */
	const char *unit;
	const char *use;		/* what it decides */
	const char *source;		/* literature or reasoning, short */
};

const struct form_threshold_info *form_threshold_table(size_t *ret_n);

void form_params_default(struct form_params *ret);
/* The table, in a stable order; *ret_n gets its length. */
const struct form_param_info *form_param_table(size_t *ret_n);
/* 0, or -EINVAL/-ERANGE naming nothing: the caller knows the field it set. */
int form_params_validate(const struct form_params *p);

/* ---- inputs ----------------------------------------------------------- */

/*
 * One IMU sample in the sensor's own frame (any orientation; the core finds
 * gravity and the forward direction and re-checks them during the run).
 * Acceleration is proper acceleration in g with gravity included (+1 g on
 * an axis pointing up at rest), rate in deg/s, right-hand rule. An axis the
 * sensor lacks is NAN. At least two accelerometer axes are needed.
 * Rates 25-1000 Hz are accepted; 100-500 Hz is needed for contact timing.
 */
struct form_imu_sample {
	uint64_t t_usec;
	double ax, ay, az;
	double gx, gy, gz;
};

/* ---- outputs ---------------------------------------------------------- */

/* One step: stance of one foot, from initial contact (IC) to toe-off (TO). */
struct form_contact {
	uint64_t ic_usec;
	uint64_t to_usec;
	bool has_to;
	enum form_side side;
	double gct_ms;			/* TO - IC */
	double flight_ms;		/* next IC - TO (NAN until known) */
	double step_time_ms;		/* next IC - this IC */
	double vertical_oscillation_mm;	/* trunk excursion over the step */
	double peak_vertical_g;		/* peak vertical acc 0-60 ms after IC, g */
	double braking_mps;		/* forward speed loss in stance */
	double trunk_lean_deg;		/* chest: forward lean vs gravity */
	double pelvic_tilt_deg;		/* sacrum/waist: forward tilt vs gravity */
	double pelvic_drop_deg;		/* needs a gyro */
	double lateral_sway_pct;	/* 100 RMS(lateral) / RMS(all), step mean removed */
};

struct form_metric_value {
	double value;			/* NAN when quality is NONE */
	enum form_quality quality;
};

/* Live metrics over the last ~20 steps (medians), about once a second. */
struct form_metrics {
	enum form_activity activity;
	unsigned window_steps;		/* steps the medians are taken over */
	uint64_t total_steps;		/* since engine start */
	/* The session so far (0 and NAN outside one): as its summary counts them. */
	uint64_t session_steps;		/* with the estimated ones */
	double session_distance_m;	/* NAN without speed */
	struct form_metric_value m[_FORM_METRIC_MAX];
};

struct form_alert {
	unsigned id;			/* unique per engine, > 0; cleared repeats it */
	enum form_alert_kind kind;
	enum form_severity severity;
	enum form_metric metric;	/* the metric that triggered it */
	double value;			/* its value (window median) */
	double threshold;		/* the limit it crossed */
	uint64_t start_usec;		/* when it first went beyond the threshold */
	uint64_t end_usec;		/* CLEARED only: when it came back */
	const char *cue;		/* static short cue, English */
};

struct form_activity_change {
	enum form_activity from;
	enum form_activity to;
};

struct form_session_change {
	uint64_t start_usec;
	bool automatic;			/* started/ended by the activity detector */
};

/*
 * The runner's own reference values, learned after the warm-up (or loaded
 * from storage). Values NAN when not learned. Speed- and incline-matched:
 * speed_mps is the median speed it was learned at (NAN without a speed
 * sensor), incline_pct the mean belt incline (NAN without a treadmill that
 * reports it). trunk_lean_deg is the lean against the belt (see
 * docs/form-metrics.md, "Incline").
 */
#define FORM_BASELINE_VERSION 2		/* 1: no incline_pct; still loaded */
#define FORM_BASELINE_SIZE 128		/* bytes of the serialised form */
struct form_baseline {
	enum form_mount mount;
	uint32_t steps;			/* steps it was learned from; 0 = invalid */
	double speed_mps;
	double cadence_spm;
	double gct_ms;
	double gct_balance_pct;
	double vertical_oscillation_mm;
	double trunk_lean_deg;		/* lean (chest) or pelvic tilt */
	double pelvic_drop_deg;
	double lateral_sway_pct;
	double braking_mps;
	double impact_g;
	double heart_rate_bpm;
	double incline_pct;		/* version 2 */
};

/* Per-metric statistics of a session (running time only). */
struct form_metric_stats {
	uint32_t n;			/* steps (or 1 Hz samples for HR/speed) */
	double median, p10, p90;	/* NAN when n == 0 */
	/* Seconds below, within and above the metric's band (notes section 3/4). */
	double band_s[3];
};

#define FORM_DIGEST_MAX_PAIN 8

struct form_pain_report {
	uint32_t t_s;			/* seconds from session start */
	uint8_t level;			/* 0-10 */
	uint8_t site;			/* enum form_pain_site */
	bool after;			/* reported after the run ended */
};

/*
 * Add r to a session's pain reports (at most FORM_DIGEST_MAX_PAIN, in time
 * order): once full, a worse report takes the place of the mildest kept one
 * (the earliest of equals). 0 when added, -ENOSPC when it is no worse than
 * every kept one.
 */
int form_pain_list_add(struct form_pain_report *list, uint8_t *n,
		       const struct form_pain_report *r);

/*
 * Compact per-session digest: what the daemon stores (last 90 sessions) and
 * what the history analysis reads. Fixed size; serialised little-endian,
 * versioned (form_digest_serialize()).
 */
#define FORM_DIGEST_VERSION 2
/* form_digest.mount, besides an enum form_mount */
#define FORM_DIGEST_MOUNT_MIXED 0xfe	/* steps from two mounts in one session */
#define FORM_DIGEST_MOUNT_UNKNOWN 0xff	/* stored by version 1 */
struct form_digest {
	uint64_t start_epoch_s;		/* set by the daemon (wall clock), 0 unknown */
	uint32_t duration_s;		/* session length */
	uint32_t running_s;		/* time classified as running */
	uint32_t steps;
	uint8_t mount;			/* the IMU's mount, MIXED or UNKNOWN */
	double distance_m;		/* NAN without speed */
	double impact_load;		/* sum of per-step peak vertical acc, g */
	double median[_FORM_METRIC_MAX]; /* NAN when not measured */
	double band_s[_FORM_METRIC_MAX][3];
	uint16_t alert_count[_FORM_ALERT_KIND_MAX];
	uint32_t alert_s[_FORM_ALERT_KIND_MAX];
	uint8_t n_pain;
	struct form_pain_report pain[FORM_DIGEST_MAX_PAIN];
};

struct form_summary {
	uint64_t start_usec, end_usec;
	double duration_s, running_s, walking_s, standing_s;
	double distance_m;		/* NAN without speed */
	uint64_t steps;			/* with steps_estimated */
	uint64_t steps_estimated;	/* of steps, in holes or from a footpod */
	/*
	 * Holes in the IMU stream during the session (lost notifications,
	 * dropouts; docs/form-metrics.md) and the time they lasted: steps
	 * there are estimated, steps they touch are partly measured.
	 */
	uint64_t imu_holes;
	double imu_lost_s;
	/* the sensor turned in a run (a clip or strap slipping): lean re-referenced */
	unsigned sensor_slips;
	struct form_metric_stats stats[_FORM_METRIC_MAX];
	unsigned alert_count[_FORM_ALERT_KIND_MAX];
	double alert_s[_FORM_ALERT_KIND_MAX];
	/* Fatigue drift: late-run median minus baseline; NAN if unmeasured. */
	double drift[_FORM_METRIC_MAX];
	bool baseline_learned;		/* during this session */
	struct form_baseline baseline;	/* the early-run baseline, if learned */
	bool advice[_FORM_ADVICE_MAX];
	struct form_digest digest;
};

struct form_event {
	enum form_event_type type;
	uint64_t t_usec;		/* when the event happened (sample time) */
	union {
		struct form_contact contact;		/* CONTACT */
		struct form_metrics metrics;		/* METRICS */
		struct form_alert alert;		/* ALERT, CLEARED */
		struct form_activity_change activity;	/* ACTIVITY */
		struct form_session_change session;	/* SESSION_* */
		const struct form_summary *summary;	/* SUMMARY */
	};
};

typedef void (*form_event_cb_t)(const struct form_event *ev, void *userdata);

/* ---- engine ----------------------------------------------------------- */

/*
 * Create an engine. params is copied (NULL = defaults). -EINVAL/-ERANGE if
 * the params fail form_params_validate(), -ENOMEM. The engine's memory is
 * fixed at creation (under 64 KiB) and does not grow with session length.
 */
int form_engine_new(const struct form_params *params, struct form_engine **ret);
/* Accepts NULL; returns NULL. Emits nothing (no summary). */
struct form_engine *form_engine_free(struct form_engine *e);
void form_engine_set_event_cb(struct form_engine *e, form_event_cb_t cb, void *userdata);

/* What form_engine_feed_imu() accepts (and trace CSVs carry). */
#define FORM_IMU_MAX_G 64.0
#define FORM_IMU_MAX_DPS 10000.0

/*
 * Feed one IMU sample. 0 on success; -EINVAL if t_usec does not increase or
 * fewer than two accelerometer axes are finite, -ERANGE beyond +-64 g or a
 * gyro axis beyond +-10000 deg/s (the sample is dropped; NAN gyro axes are
 * absent ones).
 * A gap > 0.5 s in the stream resets the step detector, not the session.
 */
int form_engine_feed_imu(struct form_engine *e, const struct form_imu_sample *s);
/*
 * Time passes with no input (the caller's clock, as the inputs' times): the
 * activity, an automatic session's end and the 1 Hz metrics go on while
 * every sensor is silent; the core has no clock of its own. A time before
 * the latest input's changes nothing.
 */
void form_engine_advance(struct form_engine *e, uint64_t t_usec);
/* Context inputs; NAN withdraws the value. -ERANGE when out of range. */
int form_engine_feed_speed(struct form_engine *e, uint64_t t_usec, double mps);
int form_engine_feed_cadence(struct form_engine *e, uint64_t t_usec, double spm);
int form_engine_feed_heart_rate(struct form_engine *e, uint64_t t_usec, double bpm);
int form_engine_feed_incline(struct form_engine *e, uint64_t t_usec, double pct);

/*
 * Start/stop a session by hand (auto sessions per params). start while a
 * session runs returns -EBUSY; stop without one returns -ENODATA. stop
 * flushes pending steps, emits SESSION_ENDED and SUMMARY.
 */
int form_engine_session_start(struct form_engine *e, uint64_t t_usec);
int form_engine_session_stop(struct form_engine *e, uint64_t t_usec);
bool form_engine_session_active(const struct form_engine *e);
enum form_activity form_engine_activity(const struct form_engine *e);

/*
 * The runner reports pain, level 0-10, where = free text or NULL. Raises a
 * pain alert at once when level >= pain_alert_level (in or out of a
 * session). In a session it goes into the summary's digest; outside one the
 * daemon adds it to the last stored digest with form_digest_add_pain(...,
 * after = true). -ERANGE on a level outside 0-10.
 */
int form_engine_report_pain(struct form_engine *e, uint64_t t_usec, double level,
			    const char *where);

/*
 * The IMU stream now comes from another sensor (fail-over, or back to the
 * preferred one), mounted at mount. Whatever belongs to the old sensor is
 * dropped: orientation (gravity, forward), the lean reference, the side
 * vote and the recent-step window are learnt again from the next samples,
 * and the time-order check of form_engine_feed_imu() starts over (the new
 * sensor's stamps may lag the old one's). Active form alerts are cleared
 * (CLEARED events at t_usec); pain alerts stay. The session, its time,
 * distance, step count and statistics carry on. With a different mount the
 * personal and early baselines are dropped too (they are per mount): load
 * a stored one for the new mount with form_engine_set_baseline().
 * 0, or -EINVAL for a mount out of range (nothing changed).
 */
int form_engine_change_sensor(struct form_engine *e, enum form_mount mount, uint64_t t_usec);
/* The mount the engine currently works with. */
enum form_mount form_engine_mount(const struct form_engine *e);

/* The params the engine runs with (valid as long as the engine). */
const struct form_params *form_engine_params(const struct form_engine *e);

/* ---- personal baseline ------------------------------------------------ */

/* Returns 0 and fills *ret, or -ENODATA while nothing is learned. */
int form_engine_get_baseline(const struct form_engine *e, struct form_baseline *ret);
/*
 * Use a stored baseline from now on (copied). -EINVAL if mount differs or
 * it has no steps, -ERANGE if a value is one storage would refuse
 * (form_baseline_check()).
 */
int form_engine_set_baseline(struct form_engine *e, const struct form_baseline *b);
/*
 * 0 if every value is unknown (NAN) or within the range storage accepts,
 * -ERANGE if not, -EINVAL for no steps or an unknown mount.
 */
int form_baseline_check(const struct form_baseline *b);

/* Serialise into buf (cap >= FORM_BASELINE_SIZE, else -ENOBUFS). */
int form_baseline_save(const struct form_baseline *b, uint8_t *buf, size_t cap,
		       size_t *ret_len);
/*
 * Parse bytes from storage (outside input): magic, version, length, CRC and
 * every value's range are checked. -EBADMSG on anything wrong, -EPROTONOSUPPORT
 * for an unknown version. Version 1 (before incline_pct) loads with an unknown
 * incline. *ret written only on success.
 */
int form_baseline_load(const uint8_t *buf, size_t len, struct form_baseline *ret);

/* ---- digests and history ---------------------------------------------- */

#define FORM_DIGEST_SIZE 1024		/* upper bound of the serialised form */
#define FORM_DIGEST_MAX_S (7u * 24 * 3600) /* durations saturate here (storage limit) */
#define FORM_HISTORY_MAX 90

/* Serialise (cap >= FORM_DIGEST_SIZE is always enough; else -ENOBUFS). */
int form_digest_serialize(const struct form_digest *d, uint8_t *buf, size_t cap,
			  size_t *ret_len);
/* Parse stored bytes; same checks as form_baseline_load(). */
int form_digest_parse(const uint8_t *buf, size_t len, struct form_digest *ret);
/*
 * A file of digests as the daemon keeps them, oldest first: each a u32
 * little-endian length, then form_digest_serialize() bytes. Up to cap are
 * parsed into out (returned: how many). A record that does not parse costs
 * itself only: the next one is where the next digest magic has a length
 * before it that parses; *ret_damaged (may be NULL) counts the places.
 */
size_t form_digests_parse(const uint8_t *buf, size_t len, struct form_digest *out, size_t cap,
			  size_t *ret_damaged);
/* A form_digest.mount value storage keeps. */
bool form_digest_mount_ok(uint8_t mount);
/*
 * Add a pain report after the fact (e.g. "after the run"), as
 * form_pain_list_add() does: -ENOSPC if full of reports no milder.
 */
int form_digest_add_pain(struct form_digest *d, uint32_t t_s, double level,
			 enum form_pain_site site, bool after);

#define FORM_HISTORY_MAX_POINTERS 4

/* "your back pain followed runs with lower cadence and more braking" */
struct form_pain_pointer {
	enum form_metric metric;
	int direction;			/* +1: higher in painful sessions, -1: lower */
	double painful_median, painfree_median;
};

struct form_history_report {
	unsigned sessions;		/* digests analysed */
	double load_7d_min;		/* running minutes, last 7 days */
	double history_days;		/* days the stored sessions cover, up to 28 */
	double load_28d_weekly_min;	/* mean weekly running minutes over those (>= 1 week) */
	double acute_chronic_ratio;	/* load_7d / that, NAN under 14 days */
	double impact_load_7d;
	unsigned pain_sessions_last5;
	uint8_t max_pain_last5;
	/* where most reports of 3 or more were ("other" wins a tie); _INVALID (null): none */
	enum form_pain_site main_pain_site;
	unsigned n_pointers;
	struct form_pain_pointer pointers[FORM_HISTORY_MAX_POINTERS];
	bool advice[_FORM_ADVICE_MAX];
	char pointer_text[256];		/* the pointers worded, "" if none */
};

/*
 * Analyse up to FORM_HISTORY_MAX digests, oldest first; now_epoch_s is the
 * daemon's wall clock; p: the engine's params (its pain_severe_level says
 * what pain is severe enough to see a professional, as in the session's
 * own advice), NULL for the defaults. -EINVAL if n > FORM_HISTORY_MAX or d
 * is NULL with n.
 */
int form_history_analyze(const struct form_digest *d, size_t n, uint64_t now_epoch_s,
			 const struct form_params *p, struct form_history_report *ret);

/* ---- JSON ------------------------------------------------------------- */

/*
 * The objects `gaitctl analyze` prints and the daemon publishes (it adds ts
 * and seq). Times are seconds relative to t0_usec (the first sample), e.g.
 * {"event":"contact","ic_s":1.232,"to_s":1.446,"side":"left",...}.
 * Missing values are null. *ret is a new reference (json_object_put()).
 */
int form_event_to_json(const struct form_event *ev, uint64_t t0_usec,
		       struct json_object **ret);
int form_summary_to_json(const struct form_summary *s, uint64_t t0_usec,
			 struct json_object **ret);
int form_digest_to_json(const struct form_digest *d, struct json_object **ret);
int form_baseline_to_json(const struct form_baseline *b, struct json_object **ret);
int form_history_report_to_json(const struct form_history_report *r,
				struct json_object **ret);
