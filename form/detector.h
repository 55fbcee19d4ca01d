/* SPDX-License-Identifier: GPL-2.0-or-later */
/* form internals: orientation, step, initial contact and toe-off detection. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "form/form.h"

/*
 * Ring length in samples: must hold one step plus the confirmation delay
 * (< 1.3 s), i.e. 2 s at 512 Hz. Power of two.
 */
/* A minute without IMU samples: the sensor may sit otherwise now (forward, lean reference). */
#define FORM_REMOUNT_GAP_USEC 60000000ull

/*
 * A hole in the sample times (lost BLE notifications): longer than
 * FORM_HOLE_PERIODS sample periods and than FORM_HOLE_MIN_S. Up to
 * FORM_GAP_S the step history carries on over it and only what it touches
 * is left unmeasured; a longer one starts the step history again.
 */
#define FORM_HOLE_PERIODS 2.5
#define FORM_HOLE_MIN_S 0.020
/*
 * An initial contact is interpolated across a shorter hole (the loading
 * rise keeps samples on both sides of it); a longer one near the rise
 * leaves it untimed (docs/validation.md, lost-block rows).
 */
#define FORM_HOLE_RISE_S 0.100
#define FORM_GAP_S 0.5
#define FORM_HOLES 32u			/* the latest holes kept (sample numbers) */

/*
 * The sample period is learnt from blocks of FORM_RATE_BLOCK intervals (their
 * median), not from the first interval alone: a first pair of samples 1 ms
 * apart (a logger's first rows) made every 40 ms interval of a 25 Hz stream
 * after it a hole. No hole is looked for until the first block after the
 * start or a pause is in; its median becomes the period when it is
 * FORM_RATE_OFF times off the estimate (the stream's first block: also when
 * it gives another smoothing width). A later block does so only when it is
 * that far off and steady, every interval within FORM_RATE_STEADY of the
 * median: a sensor streaming at another rate, not lost samples.
 */
#define FORM_RATE_BLOCK 8u
#define FORM_RATE_OFF 1.5
#define FORM_RATE_STEADY 1.25

#define FORM_RING 1024u
#define FORM_RING_MASK (FORM_RING - 1)

/* One finished step, as the detector measures it (times in usec). */
struct form_step {
	struct form_contact c;
	double flight_min_g;		/* lowest vertical acc between the steps */
	double stance_ml;		/* mean ML acc in early stance (side vote) */
	double orient_u[3];		/* gravity direction (unit, sensor frame) */
	double orient_ap[3];		/* forward direction (unit), 0 if unknown */
	bool orient_by_stride;		/* orient_u from whole strides only */
};

struct form_detector {
	/* Sample timing. */
	bool have_last;
	uint64_t t_last;
	double dt_s;			/* running estimate of the sample period */
	uint64_t n;			/* samples taken since the last reset */
	uint64_t hole[FORM_HOLES];	/* first sample after each hole, newest last */
	unsigned n_holes;		/* since the last reset, capped at FORM_HOLES */
	uint64_t holes_total;		/* holes and longer gaps, all seen */
	double lost_s_total;		/* the time they lasted beyond one period */
	double rate_iv[FORM_RATE_BLOCK]; /* the current block's intervals, s */
	unsigned rate_n;		/* intervals in it so far */
	bool rate_known;		/* the period is from a block since the start or pause */
	bool rate_started;		/* the stream's first block is done */

	/* Orientation: gravity (slow mean) and the forward direction. */
	bool axis[3];
	double g[3];
	uint64_t g_n;
	double stride_sum[3];		/* raw acceleration since the last stride end */
	double stride_hsum[2];		/* raw horizontal components, likewise */
	uint64_t stride_n;
	bool stride_holed;		/* a hole since the last stride end */
	double whole_sum[3];		/* strides before the switch to stride means */
	double whole_hsum[2];
	uint64_t whole_n;
	bool g_by_stride;		/* g has been set from whole strides */
	double hmean[3];		/* slow mean of the horizontal residual */
	double ap_acc[3];		/* sum of early-stance horizontal means */
	double ap_pair[2];		/* the first step of the current pair */
	unsigned ap_steps;
	double ap[3];
	bool ap_valid;

	/* Two-stage boxcar smoothing (linear phase, delay w - 1 samples). */
	unsigned w;
	unsigned box_i;			/* == n % w */
	double box1[3][32], box2[3][32];
	double sum1[3], sum2[3];

	/* Ring of smoothed channels; index = sample number & FORM_RING_MASK. */
	float v[FORM_RING];		/* vertical acc, g, gravity included */
	float ap_g[FORM_RING];		/* forward acc, g */
	float ml_g[FORM_RING];		/* lateral acc, g */
	float h1[FORM_RING], h2[FORM_RING]; /* horizontal, fixed basis */
	float gyro_ap[FORM_RING];	/* deg/s about the forward axis, NAN none */
	uint64_t t[FORM_RING];

	double basis1[3];		/* sensor axis the horizontal basis starts from */
	double u[3];			/* current gravity direction (unit, up) */
	double b1[3], b2[3];		/* current horizontal basis for h1/h2 */
	double apv[3];			/* forward direction in the sensor frame */
	uint64_t refractory;		/* samples between step peaks */
	bool basis_valid;

	/* Peak detection on the smoothed vertical signal. */
	double v_mean;			/* slow mean of v */
	bool have_v_mean;
	double peak_ema;		/* typical step peak height */
	double step_ema_s;		/* typical step time */
	bool have_cand;
	uint64_t cand;			/* sample number of the candidate peak */
	double cand_v;
	uint64_t last_peak_seen;	/* for the idle decay */
	unsigned n_peaks;
	uint64_t peak[2];		/* last two confirmed peaks (sample numbers) */
	double ic_usec[2];		/* their initial contacts (usec, fractional) */

	bool has_gyro;
	double gyro[3];

	/* Stillness: 0.5 s blocks of raw acceleration; the last still one. */
	uint64_t still_t0;
	double still_sum[3], still_sq[3];
	unsigned still_n;
	bool have_still;
	double g_still[3];		/* mean acceleration of the last still block */
	uint64_t t_still;		/* when that block ended */
};

/* Called once per finished step. */
typedef void (*form_step_cb_t)(const struct form_step *s, void *userdata);

void form_detector_init(struct form_detector *d);
/* Forget the step history (gap in the stream); orientation stays. */
void form_detector_reset(struct form_detector *d);
/* The sensor may have been turned: forward is learnt again from the strides. */
void form_detector_forget_forward(struct form_detector *d);
/* End of stream (session stop): report the step still pending. */
void form_detector_flush(struct form_detector *d, form_step_cb_t cb, void *userdata);
/* ax..gz as in struct form_imu_sample (NAN = absent). */
void form_detector_feed(struct form_detector *d, const struct form_imu_sample *s,
			form_step_cb_t cb, void *userdata);
