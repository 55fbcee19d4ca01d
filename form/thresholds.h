/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The form core's fixed decision thresholds (not configurable: the
 * configurable ones are struct form_params, form_param_table()). Each is
 * listed with its unit and source in form_threshold_table() (form/form.c),
 * and docs/form-metrics.md ("Fixed thresholds") must match that table
 * (/form/engine/docs-thresholds). Internal to form/.
 */

/* activity */
#define FLIGHT_MAX_G 0.45		/* running: near free fall between steps */
#define WALK_MAX_SPEED_MPS 2.0		/* no IMU: footpod/belt speed above this is running */
#define STANDING_AFTER_USEC (2500000ULL)	/* no step for this long: standing */
#define IMU_SILENT_USEC (3000000ULL)	/* no IMU sample for longer: imu_silent() */
#define HELD_SPEED_BAND 0.2		/* held IMU cadence: speed within 20 % of then */

/* metrics, baseline, alerts */
#define GOOD_STEPS 10u			/* steps a metric needs for quality "good" */
#define TIMING_MIN_HZ 50.0		/* contact timing (GCT, flight, balance, braking) good from */
#define IMPACT_MIN_HZ 100.0		/* the impact peak good from this IMU rate */
#define BASELINE_MIN_STEPS 60u		/* steps a baseline needs */
#define SIDE_MIN_AGREEMENT 0.65		/* notes 5.4 */
#define SIDE_SUCCESSOR_TOL 0.25		/* a step is the last one's next within x step */
#define SIDE_STEP_TOL 0.5		/* ... and x of a typical step from it */
#define FATIGUE_SPEED_TOLERANCE_MPS 0.2	/* steady belt: notes 5.13 (+-0.1 m/s) */
#define PACE_CADENCE_TOLERANCE_PCT 5.0	/* no speed: same pace = cadence within 5 % */
#define INCLINE_TOLERANCE_PCT 1.0	/* same incline: within one treadmill step */
#define GCT_BAND_LO_MS 218.0		/* Garmin blue/green/orange bands (notes 3) [P] */
#define GCT_BAND_HI_MS 277.0
#define VERTICAL_RATIO_MAX_PCT 8.6	/* Garmin green upper edge [P] */

/* a sensor slipping in a run (slip_check()) */
#define SLIP_MIN_DEG 12.0
#define SLIP_STEADY_DEG 2.0
#define SLIP_STEADY_STEPS 8u
#define SLIP_INCLINE_TOLERANCE_PCT 0.5f	/* the incline as it was when steady */

/* summary advice */
#define ADVICE_BAND_MIN_RUNNING_S 120.0	/* time below the cadence band counts from this much running */

/* history (form/history.c) */
#define HISTORY_PAIN_LEVEL 3		/* painful session from this level on (mild = 1-3) */
#define HISTORY_PAIN_SEVERE 7		/* see a professional (issue 4; as pain_severe_level) */
#define HISTORY_RECENT 5		/* "pain in 3 of the last 5 sessions" (issue 4) */
#define HISTORY_RECENT_PAINFUL 3
/*
 * Cross-training when this week's running time is well above the 4-week
 * average (acute:chronic ratio > 1.3, the usual "spike" heuristic) and not
 * trivially small. The weekly mean is taken over the part of the 28 days
 * that the stored sessions cover, and the ratio only once that is two weeks:
 * a runner's first week with gaitkeeper is not a load spike, however much
 * they ran (the 28-day mean over 4 weeks would make it 4x).
 */
#define HISTORY_ACR_HIGH 1.3
#define HISTORY_ACR_MIN_MIN 60.0
#define HISTORY_CHRONIC_DAYS 28
#define HISTORY_ACR_MIN_DAYS 14
