// SPDX-License-Identifier: GPL-2.0-or-later
/* form: enum names, advice texts and the one table of parameter defaults. */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/macro.h"
#include "form/detector.h"
#include "form/form.h"
#include "form/thresholds.h"

static const char *const form_mount_names[_FORM_MOUNT_MAX] = {
	[FORM_MOUNT_SACRUM] = "sacrum",
	[FORM_MOUNT_WAIST] = "waist",
	[FORM_MOUNT_CHEST] = "chest",
};

static const char *const form_side_names[_FORM_SIDE_MAX] = {
	[FORM_SIDE_UNKNOWN] = "unknown",
	[FORM_SIDE_LEFT] = "left",
	[FORM_SIDE_RIGHT] = "right",
};

static const char *const form_activity_names[_FORM_ACTIVITY_MAX] = {
	[FORM_ACTIVITY_UNKNOWN] = "unknown",
	[FORM_ACTIVITY_STANDING] = "standing",
	[FORM_ACTIVITY_WALKING] = "walking",
	[FORM_ACTIVITY_RUNNING] = "running",
};

static const char *const form_quality_names[_FORM_QUALITY_MAX] = {
	[FORM_QUALITY_NONE] = "none",
	[FORM_QUALITY_LOW] = "low",
	[FORM_QUALITY_GOOD] = "good",
};

static const char *const form_metric_names[_FORM_METRIC_MAX] = {
	[FORM_METRIC_CADENCE] = "cadence_spm",
	[FORM_METRIC_GCT] = "gct_ms",
	[FORM_METRIC_GCT_BALANCE] = "gct_balance_pct",
	[FORM_METRIC_FLIGHT] = "flight_ms",
	[FORM_METRIC_VERTICAL_OSCILLATION] = "vertical_oscillation_mm",
	[FORM_METRIC_VERTICAL_RATIO] = "vertical_ratio_pct",
	[FORM_METRIC_STEP_LENGTH] = "step_length_m",
	[FORM_METRIC_TRUNK_LEAN] = "trunk_lean_deg",
	[FORM_METRIC_PELVIC_DROP] = "pelvic_drop_deg",
	[FORM_METRIC_LATERAL_SWAY] = "lateral_sway_pct",
	[FORM_METRIC_BRAKING] = "braking_mps",
	[FORM_METRIC_IMPACT] = "impact_g",
	[FORM_METRIC_HEART_RATE] = "heart_rate_bpm",
	[FORM_METRIC_SPEED] = "speed_mps",
	[FORM_METRIC_PAIN] = "pain_level",
};

static const char *const form_alert_kind_names[_FORM_ALERT_KIND_MAX] = {
	[FORM_ALERT_OVERSTRIDING] = "overstriding",
	[FORM_ALERT_NOT_UPRIGHT] = "not-upright",
	[FORM_ALERT_PELVIC_INSTABILITY] = "pelvic-instability",
	[FORM_ALERT_IMBALANCE] = "imbalance",
	[FORM_ALERT_BOUNCING] = "bouncing",
	[FORM_ALERT_FATIGUE] = "fatigue",
	[FORM_ALERT_PAIN] = "pain",
};

static const char *const form_severity_names[_FORM_SEVERITY_MAX] = {
	[FORM_SEVERITY_INFO] = "info",
	[FORM_SEVERITY_WARNING] = "warning",
	[FORM_SEVERITY_CRITICAL] = "critical",
};

static const char *const form_pain_site_names[_FORM_PAIN_SITE_MAX] = {
	[FORM_PAIN_SITE_OTHER] = "other",
	[FORM_PAIN_SITE_LOWER_BACK] = "lower-back",
	[FORM_PAIN_SITE_HIP] = "hip",
	[FORM_PAIN_SITE_KNEE] = "knee",
	[FORM_PAIN_SITE_SHIN] = "shin",
	[FORM_PAIN_SITE_FOOT] = "foot",
};

static const char *const form_advice_names[_FORM_ADVICE_MAX] = {
	[FORM_ADVICE_SHORTER_STEPS] = "shorter-steps",
	[FORM_ADVICE_RUN_TALL] = "run-tall",
	[FORM_ADVICE_ENGAGE_CORE] = "engage-core",
	[FORM_ADVICE_STRETCH_HIP_FLEXORS] = "stretch-hip-flexors",
	[FORM_ADVICE_STRETCH_HAMSTRINGS] = "stretch-hamstrings",
	[FORM_ADVICE_STRETCH_LOWER_BACK] = "stretch-lower-back",
	[FORM_ADVICE_CORE_STRENGTH] = "core-strength",
	[FORM_ADVICE_HIP_STRENGTH] = "hip-strength",
	[FORM_ADVICE_CROSS_TRAINING] = "cross-training",
	[FORM_ADVICE_LISTEN_TO_BODY] = "listen-to-body",
	[FORM_ADVICE_SEE_PROFESSIONAL] = "see-professional",
};

/*
 * Texts follow the guidance on low back pain in runners (issue 4): better
 * form, stretching hip flexors, hamstrings and lower back, core and hip
 * strength, cross-training, listening to one's body, and a professional
 * when pain persists. Cues, never a diagnosis.
 */
static const char *const form_advice_texts[_FORM_ADVICE_MAX] = {
	[FORM_ADVICE_SHORTER_STEPS] =
		"Take shorter, quicker steps and land under your hips: try about 5 % more steps per minute than usual.",
	[FORM_ADVICE_RUN_TALL] =
		"Run tall: head up, chest open, a slight lean from the ankles rather than bending at the waist.",
	[FORM_ADVICE_ENGAGE_CORE] =
		"Engage your core and keep your hips level when each foot lands.",
	[FORM_ADVICE_STRETCH_HIP_FLEXORS] =
		"Stretch your hip flexors after runs (kneeling lunge stretch, 2 x 30 s per side).",
	[FORM_ADVICE_STRETCH_HAMSTRINGS] =
		"Stretch your hamstrings after runs (2 x 30 s per side).",
	[FORM_ADVICE_STRETCH_LOWER_BACK] =
		"Gently stretch your lower back (knees to chest, cat-cow) after runs.",
	[FORM_ADVICE_CORE_STRENGTH] =
		"Add core strength work twice a week: planks, side planks, bird-dogs, dead bugs.",
	[FORM_ADVICE_HIP_STRENGTH] =
		"Strengthen your hips twice a week: glute bridges, side-lying leg raises, clamshells.",
	[FORM_ADVICE_CROSS_TRAINING] =
		"Your running load is high: replace a run with low-impact cross-training (cycling, swimming) this week.",
	[FORM_ADVICE_LISTEN_TO_BODY] =
		"Listen to your body: ease off or stop when something hurts, and rest when you feel worn out.",
	[FORM_ADVICE_SEE_PROFESSIONAL] =
		"Your pain keeps coming back or is severe: see a physiotherapist or doctor to find its cause.",
};

static const char *const form_event_type_names[_FORM_EVENT_TYPE_MAX] = {
	[FORM_EVENT_CONTACT] = "contact",
	[FORM_EVENT_METRICS] = "metrics",
	[FORM_EVENT_ALERT] = "alert",
	[FORM_EVENT_CLEARED] = "cleared",
	[FORM_EVENT_ACTIVITY] = "activity",
	[FORM_EVENT_SESSION_STARTED] = "session-started",
	[FORM_EVENT_SESSION_ENDED] = "session-ended",
	[FORM_EVENT_SUMMARY] = "summary",
};

static const char *name_lookup(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return NULL;
	return names[v];
}

static int name_find(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;

	for (size_t i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int)i;
	return -EINVAL;
}

#define NAME_FUNCS(stem, type, names)                                         \
	const char *stem##_to_string(type v)                                  \
	{                                                                     \
		return name_lookup(names, ELEMENTSOF(names), (int)v);         \
	}

NAME_FUNCS(form_mount, enum form_mount, form_mount_names)
NAME_FUNCS(form_side, enum form_side, form_side_names)
NAME_FUNCS(form_activity, enum form_activity, form_activity_names)
NAME_FUNCS(form_quality, enum form_quality, form_quality_names)
NAME_FUNCS(form_metric, enum form_metric, form_metric_names)
NAME_FUNCS(form_alert_kind, enum form_alert_kind, form_alert_kind_names)
NAME_FUNCS(form_severity, enum form_severity, form_severity_names)
NAME_FUNCS(form_pain_site, enum form_pain_site, form_pain_site_names)
NAME_FUNCS(form_advice, enum form_advice, form_advice_names)
NAME_FUNCS(form_event_type, enum form_event_type, form_event_type_names)

const char *form_advice_text(enum form_advice a)
{
	return name_lookup(form_advice_texts, ELEMENTSOF(form_advice_texts), (int)a);
}

enum form_mount form_mount_from_string(const char *s)
{
	return name_find(form_mount_names, ELEMENTSOF(form_mount_names), s);
}

bool form_mount_tilts_pelvis(enum form_mount m)
{
	return m == FORM_MOUNT_SACRUM || m == FORM_MOUNT_WAIST;
}

enum form_activity form_activity_from_string(const char *s)
{
	return name_find(form_activity_names, ELEMENTSOF(form_activity_names), s);
}

enum form_metric form_metric_from_string(const char *s)
{
	return name_find(form_metric_names, ELEMENTSOF(form_metric_names), s);
}

enum form_alert_kind form_alert_kind_from_string(const char *s)
{
	return name_find(form_alert_kind_names, ELEMENTSOF(form_alert_kind_names), s);
}

static bool text_has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i;

		for (i = 0; i < n && hay[i]; i++)
			if (tolower((unsigned char)hay[i]) != needle[i])
				break;
		if (i == n)
			return true;
	}
	return false;
}

enum form_pain_site form_pain_site_from_text(const char *s)
{
	/* Order matters: "lower back" before "back", "hip flexor" is hip. */
	static const struct {
		const char *word;
		enum form_pain_site site;
	} words[] = {
		{ "back", FORM_PAIN_SITE_LOWER_BACK },
		{ "lumb", FORM_PAIN_SITE_LOWER_BACK },
		{ "sacr", FORM_PAIN_SITE_LOWER_BACK },
		{ "spine", FORM_PAIN_SITE_LOWER_BACK },
		{ "hip", FORM_PAIN_SITE_HIP },
		{ "glute", FORM_PAIN_SITE_HIP },
		{ "groin", FORM_PAIN_SITE_HIP },
		{ "knee", FORM_PAIN_SITE_KNEE },
		{ "shin", FORM_PAIN_SITE_SHIN },
		{ "calf", FORM_PAIN_SITE_SHIN },
		{ "tibia", FORM_PAIN_SITE_SHIN },
		{ "foot", FORM_PAIN_SITE_FOOT },
		{ "feet", FORM_PAIN_SITE_FOOT },
		{ "ankle", FORM_PAIN_SITE_FOOT },
		{ "heel", FORM_PAIN_SITE_FOOT },
		{ "achilles", FORM_PAIN_SITE_FOOT },
	};

	if (!s)
		return FORM_PAIN_SITE_OTHER;

	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (text_has(s, words[i].word))
			return words[i].site;
	return FORM_PAIN_SITE_OTHER;
}

/*
 * The one table of defaults. Sources: shared/notes/form-science.md sections
 * 3 (variable table), 5.12 (baseline), 5.13 (floors, hysteresis), 6
 * (overstriding rule). docs/form-metrics.md prints this table.
 */
#define P(field, t, d, lo, hi, u, src)                                        \
	{ #field, offsetof(struct form_params, field), t, d, lo, hi, u, src }

static const struct form_param_info form_params_table[] = {
	P(runner_height_m, 'd', NAN, 1.0, 2.5, "m",
	  "Optional; leg length ~0.53 x height (notes 3, SL/LL)"),
	P(max_heart_rate_bpm, 'd', NAN, 100, 240, "bpm",
	  "Optional; HR context only"),
	P(warmup_s, 'd', 120, 0, 1800, "s",
	  "Baseline after a 3-5 min warm-up (notes 5.12); issue 4 default 2 min"),
	P(baseline_s, 'd', 180, 30, 1800, "s",
	  "Median of the first 3-5 steady minutes (notes 3, BL definition)"),
	P(alert_min_duration_s, 'd', 30, 0, 600, "s",
	  "Alert after >=N s beyond threshold (notes 5.13); lean rule >30 s (notes 3)"),
	P(alert_clear_s, 'd', 30, 0, 600, "s",
	  "Clear after >=N s back past threshold minus half the floor (notes 5.13)"),
	P(alert_repeat_s, 'd', 120, 0, 3600, "s",
	  "One cue per metric per 2 min (notes 5.13)"),
	P(alert_max_repeats, 'u', 5, 1, 100, "count",
	  "Repeat limit per kind and session (avoid nagging; heuristic)"),
	P(fatigue_min_s, 'd', 120, 10, 1800, "s",
	  "Drift beyond floors for >=2 min (notes 5.12)"),
	P(cadence_drop_pct, 'd', 5, 1, 30, "%",
	  "SR < 0.95 x BL(v) (notes 3, cadence); Heiderscheit 2011 +/-5 %"),
	P(cadence_prior_margin_spm, 'd', 8, 2, 30, "spm",
	  "No BL: SR < SR_exp(v) - 8 spm, SR_exp = 165 + 7(v - 3) (notes 4; de Ruiter 2020)"),
	P(gct_rise_ms, 'd', 30, 10, 200, "ms",
	  "BL + 30 ms; smallest real difference 32 ms (Patoz 2022; notes 5.13)"),
	P(braking_rise_pct, 'd', 20, 5, 200, "%",
	  "Braking > 1.2 x BL (notes 6; Lieberman 2015)"),
	P(lean_band_deg, 'd', 5, 1, 30, "deg",
	  "abs(lean - BL) > 5 deg (notes 3; Teng & Powers 2015)"),
	P(lean_max_deg, 'd', 15, 5, 45, "deg",
	  "Soft limit: 15 deg from the reference = high-flexion mean + 2 SD (Teng & Powers 2015)"),
	P(pelvic_drop_rise_deg, 'd', 2, 0.5, 20, "deg",
	  "CPD > BL + 2 deg (notes 3; Bramah 2018 OR 1.8/deg)"),
	P(lateral_sway_rise_pct, 'd', 20, 5, 200, "%",
	  "ML RMS ratio > 1.2 x BL: rises with core fatigue (Schutte 2015; Chaudhari 2020; notes 1.2, 5.10) [heuristic]"),
	P(gct_balance_max_pct, 'd', 52.2, 50.5, 70, "%",
	  "Garmin red band >52.2 % (notes 4) [P]"),
	P(vertical_oscillation_rise_mm, 'd', 15, 5, 100, "mm",
	  "VO > BL + 1.5 cm (notes 3; Gullstrand 2009 random error 7 mm)"),
	P(impact_rise_pct, 'd', 15, 5, 200, "%",
	  "Peak > 1.15 x BL(v), trend only (notes 3; Kiernan 2023)"),
	P(fatigue_min_indicators, 'u', 2, 1, 6, "count",
	  "Drift score >= 2 (notes 5.12)"),
	P(pain_alert_level, 'd', 4, 0, 10, "0-10",
	  "Pain >= 4/10 raises an immediate alert (moderate pain; heuristic)"),
	P(pain_severe_level, 'd', 7, 1, 10, "0-10",
	  "Pain >= 7/10 is severe: see a professional (issue 4)"),
	P(auto_session, 'b', 1, 0, 1, "bool",
	  "Start/stop sessions from the activity state (issue 4)"),
	P(auto_start_s, 'd', 10, 1, 600, "s",
	  "Running this long starts a session (heuristic)"),
	P(auto_stop_s, 'd', 120, 5, 3600, "s",
	  "Not running this long ends a session (heuristic; covers traffic stops)"),
	P(running_min_cadence_spm, 'd', 130, 100, 180, "spm",
	  "Gate: running and SR > 130 spm (notes 5.13)"),
};

#undef P

const struct form_param_info *form_param_table(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(form_params_table);
	return form_params_table;
}

#define T(name, value, unit, use, source) { #name, (double)(value), unit, use, source }

static const struct form_threshold_info form_thresholds_table[] = {
	T(FLIGHT_MAX_G, FLIGHT_MAX_G, "g", "running: flight this close to free fall",
	  "flight reads close to free fall, ~0 g with gravity (notes 5.3); walking has none"),
	T(WALK_MAX_SPEED_MPS, WALK_MAX_SPEED_MPS, "m/s",
	  "no IMU: belt or footpod speed from here on is running",
	  "walk-run transition ~2 m/s (heuristic)"),
	T(STANDING_AFTER_USEC, STANDING_AFTER_USEC / 1e6, "s",
	  "no step for this long (of samples): standing", "a few strides (heuristic)"),
	T(IMU_SILENT_USEC, IMU_SILENT_USEC / 1e6, "s",
	  "no IMU sample for this long: the IMU is silent, footpod or belt stand in",
	  "3 nominal 1 s periods, as a stale sensor (docs/ble.md)"),
	T(HELD_SPEED_BAND, HELD_SPEED_BAND * 100, "%",
	  "IMU silent on a treadmill: its cadence is held while the speed stays within this",
	  "step rate follows speed, ~7 spm per m/s (notes 4; de Ruiter 2020); heuristic"),
	T(GOOD_STEPS, GOOD_STEPS, "steps", "a live metric from fewer steps has quality low",
	  "medians over ~20 steps (notes 3); half of them at least"),
	T(BASELINE_MIN_STEPS, BASELINE_MIN_STEPS, "steps", "a baseline needs this many steps",
	  "a minute of running at the least (heuristic)"),
	T(SIDE_MIN_AGREEMENT, SIDE_MIN_AGREEMENT * 100, "%",
	  "left/right labels only when the lateral votes agree this well", "notes 5.4"),
	T(SIDE_SUCCESSOR_TOL, SIDE_SUCCESSOR_TOL * 100, "% of a step",
	  "the side vote goes on while a contact is this close to the last step's next one; "
	  "else it starts again",
	  "a step lost between them (a stop) would swap the feet; else exactly there"),
	T(SIDE_STEP_TOL, SIDE_STEP_TOL * 100, "% of a step",
	  "the side vote goes on while a step is this close to the window's mean step; "
	  "else it starts again",
	  "a contact missed makes a step of two, one found twice two halves; "
	  "a hip clip's walking steps are 44 % either side"),
	T(FATIGUE_SPEED_TOLERANCE_MPS, FATIGUE_SPEED_TOLERANCE_MPS, "m/s",
	  "drift and fatigue compare running at the baseline's speed within this",
	  "steady belt (notes 5.13: +-0.1 m/s)"),
	T(PACE_CADENCE_TOLERANCE_PCT, PACE_CADENCE_TOLERANCE_PCT, "%",
	  "no speed known: the same pace is a cadence within this of the baseline's",
	  "heuristic, as cadence_drop_pct's 5 %"),
	T(INCLINE_TOLERANCE_PCT, INCLINE_TOLERANCE_PCT, "%",
	  "a baseline compares only at an incline within this of its own",
	  "one treadmill step (notes 3, 5.12)"),
	T(GCT_BAND_LO_MS, GCT_BAND_LO_MS, "ms", "contact time band, lower edge (summary)",
	  "Garmin blue/green/orange bands (notes 3) [P]"),
	T(GCT_BAND_HI_MS, GCT_BAND_HI_MS, "ms", "contact time band, upper edge (summary)",
	  "Garmin blue/green/orange bands (notes 3) [P]"),
	T(VERTICAL_RATIO_MAX_PCT, VERTICAL_RATIO_MAX_PCT, "%",
	  "vertical ratio band, upper edge (summary)", "Garmin green upper edge (notes 3) [P]"),
	T(SLIP_MIN_DEG, SLIP_MIN_DEG, "deg",
	  "gravity in the sensor frame this far from where it held steady: the sensor slipped",
	  "a runner's lean drifts a few degrees (notes 5.1, 5.6)"),
	T(SLIP_STEADY_DEG, SLIP_STEADY_DEG, "deg",
	  "steady: gravity moved less than this over SLIP_STEADY_STEPS steps",
	  "stride-averaged gravity noise ~1 deg (heuristic)"),
	T(SLIP_STEADY_STEPS, SLIP_STEADY_STEPS, "steps", "the span of steady",
	  "past the ~4 s the stride average takes to follow (heuristic)"),
	T(SLIP_INCLINE_TOLERANCE_PCT, SLIP_INCLINE_TOLERANCE_PCT, "%",
	  "a slip only at an incline within this of the one where gravity held steady",
	  "a belt incline moves the lean too (notes 5.6); half a treadmill step"),
	T(TIMING_MIN_HZ, TIMING_MIN_HZ, "Hz",
	  "below this IMU rate, GCT, flight, balance and braking are low quality, no alert",
	  "docs/validation.md: 25 Hz doubles the GCT error (RMSE 20.7 ms), 50 Hz 11.2 ms"),
	T(IMPACT_MIN_HZ, IMPACT_MIN_HZ, "Hz",
	  "below this IMU rate, impact is low quality, no bouncing alert on it",
	  "a 20-30 ms peak (notes 2: >= 200 Hz); 25 Hz read 2.2 g for 3.8 g"),
	T(FORM_HOLE_PERIODS, FORM_HOLE_PERIODS, "periods",
	  "a step in the sample times longer than this (and FORM_HOLE_MIN_S) is a hole",
	  "a lost BLE notification takes 30-180 ms of samples; jitter stays well under"),
	T(FORM_HOLE_MIN_S, FORM_HOLE_MIN_S, "s", "... and longer than this",
	  "above the jitter of a fast stream (heuristic)"),
	T(FORM_HOLE_RISE_S, FORM_HOLE_RISE_S, "s",
	  "a hole this long by a contact's rise or peak: no contact; a shorter one is interpolated",
	  "docs/validation.md, lost-block rows"),
	T(FORM_GAP_S, FORM_GAP_S, "s", "a pause this long starts the step history again",
	  "longer than a running step: the step before it cannot be finished (heuristic)"),
	T(FORM_REMOUNT_GAP_USEC, FORM_REMOUNT_GAP_USEC / 1e6, "s",
	  "a pause this long: forward, and outside a run the lean reference, are learnt again",
	  "a sensor taken off and put back sits otherwise (heuristic)"),
	T(FORM_RATE_BLOCK, FORM_RATE_BLOCK, "intervals",
	  "the sample period is the median of blocks of this many intervals",
	  "one odd interval (a logger's first rows) must not set it (heuristic)"),
	T(FORM_RATE_OFF, FORM_RATE_OFF, "ratio",
	  "a block's median this far off the period estimate sets it again",
	  "a new rate; BLE time slew (5 %) stays well under (heuristic)"),
	T(FORM_RATE_STEADY, FORM_RATE_STEADY, "ratio",
	  "... but after the first block only when every interval is within this of the median",
	  "lost samples make uneven intervals, a new rate even ones (heuristic)"),
	T(ADVICE_BAND_MIN_RUNNING_S, ADVICE_BAND_MIN_RUNNING_S, "s",
	  "summary: time below the cadence band advises shorter steps from this much running",
	  "a few seconds, or a slowing into a walk, are no sign of overstriding (heuristic)"),
	T(HISTORY_PAIN_LEVEL, HISTORY_PAIN_LEVEL, "0-10",
	  "history: a session with pain from this level on is painful", "mild is 1-3 (NRS)"),
	T(HISTORY_PAIN_SEVERE, HISTORY_PAIN_SEVERE, "0-10",
	  "history: pain this severe: see a professional (without params; the daemon "
	  "passes its pain_severe_level)", "issue 4; as pain_severe_level"),
	T(HISTORY_RECENT, HISTORY_RECENT, "sessions",
	  "history: repeated pain is judged over the last this many sessions", "issue 4"),
	T(HISTORY_RECENT_PAINFUL, HISTORY_RECENT_PAINFUL, "sessions",
	  "history: this many painful of them: see a professional", "issue 4 (3 of 5)"),
	T(HISTORY_ACR_HIGH, HISTORY_ACR_HIGH, "ratio",
	  "history: this week's running time over the weekly mean above this: cross-train",
	  "acute:chronic workload > 1.3, the usual spike heuristic"),
	T(HISTORY_ACR_MIN_MIN, HISTORY_ACR_MIN_MIN, "min",
	  "history: ... and this week at least this much running", "heuristic"),
	T(HISTORY_CHRONIC_DAYS, HISTORY_CHRONIC_DAYS, "days", "history: the weekly mean's span",
	  "4-week chronic load (acute:chronic workload)"),
	T(HISTORY_ACR_MIN_DAYS, HISTORY_ACR_MIN_DAYS, "days",
	  "history: a load ratio only once the stored sessions span this",
	  "a first week is no spike (heuristic)"),
};

#undef T

const struct form_threshold_info *form_threshold_table(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(form_thresholds_table);
	return form_thresholds_table;
}

void form_params_default(struct form_params *ret)
{
	struct form_params p = { .mount = FORM_MOUNT_SACRUM };

	for (size_t i = 0; i < ELEMENTSOF(form_params_table); i++) {
		const struct form_param_info *pi = &form_params_table[i];
		char *field = (char *)&p + pi->offset;

		switch (pi->type) {
		case 'd':
			memcpy(field, &pi->def, sizeof(double));
			break;
		case 'u': {
			unsigned u = (unsigned)pi->def;

			memcpy(field, &u, sizeof(u));
			break;
		}
		case 'b': {
			bool b = pi->def != 0;

			memcpy(field, &b, sizeof(b));
			break;
		}
		}
	}
	*ret = p;
}

int form_params_validate(const struct form_params *p)
{
	if (!p)
		return -EINVAL;
	if (p->mount < 0 || p->mount >= _FORM_MOUNT_MAX)
		return -EINVAL;

	for (size_t i = 0; i < ELEMENTSOF(form_params_table); i++) {
		const struct form_param_info *pi = &form_params_table[i];
		const char *field = (const char *)p + pi->offset;
		double v;

		switch (pi->type) {
		case 'd':
			memcpy(&v, field, sizeof(double));
			/* Only the optional (default NAN) fields may be NAN. */
			if (isnan(v)) {
				if (!isnan(pi->def))
					return -EINVAL;
				continue;
			}
			break;
		case 'u': {
			unsigned u;

			memcpy(&u, field, sizeof(u));
			v = u;
			break;
		}
		default:
			continue;
		}
		if (!isfinite(v) || v < pi->min || v > pi->max)
			return -ERANGE;
	}
	if (p->pain_severe_level < p->pain_alert_level)
		return -EINVAL;
	return 0;
}
