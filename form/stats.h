/* SPDX-License-Identifier: GPL-2.0-or-later */
/* form internals: fixed-size histograms (quantiles) and small medians. */
#pragma once

#include <stdint.h>

/*
 * Session statistics must not grow with session length: each metric keeps a
 * histogram of FORM_HIST_BINS bins over [lo, hi); quantiles interpolate
 * within a bin. Resolution = (hi - lo) / FORM_HIST_BINS.
 */
#define FORM_HIST_BINS 128

struct form_hist {
	uint32_t n;
	uint32_t bin[FORM_HIST_BINS];
};

/*
 * The same bins with 16-bit counts, for blocks of at most 65535 samples
 * (the late-run drift blocks: one sample a second, 120 s each).
 */
struct form_hist16 {
	uint16_t n;
	uint16_t bin[FORM_HIST_BINS];
};

/* The bin x falls in (clamped to the range); -1 for NAN or infinity. */
int form_hist_bin(double lo, double hi, double x);
void form_hist_add(struct form_hist *h, double lo, double hi, double x);
/* Adds x to h unless h is full (65535 samples). */
void form_hist16_add(struct form_hist16 *h, double lo, double hi, double x);
/* Adds h's counts to sum. */
void form_hist16_merge(struct form_hist *sum, const struct form_hist16 *h);
/* q in [0, 1]; NAN when empty. */
double form_hist_quantile(const struct form_hist *h, double lo, double hi, double q);
/* Median of n values (insertion sort: keep n ~100), NANs skipped; NAN if none. Reorders v. */
double form_median(double *v, unsigned n);
