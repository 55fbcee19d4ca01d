// SPDX-License-Identifier: GPL-2.0-or-later
/* form internals: fixed-size histograms (quantiles) and small medians. */
#include <math.h>

#include "form/stats.h"

int form_hist_bin(double lo, double hi, double x)
{
	double b;

	if (!isfinite(x))
		return -1;
	b = floor((x - lo) / (hi - lo) * FORM_HIST_BINS);
	if (!(b >= 0))
		return 0;
	if (b >= FORM_HIST_BINS)
		return FORM_HIST_BINS - 1;
	return (int)b;
}

void form_hist_add(struct form_hist *h, double lo, double hi, double x)
{
	int b = form_hist_bin(lo, hi, x);

	if (b < 0)
		return;
	h->bin[b]++;
	h->n++;
}

void form_hist16_add(struct form_hist16 *h, double lo, double hi, double x)
{
	int b = form_hist_bin(lo, hi, x);

	if (b < 0 || h->n == UINT16_MAX)
		return;
	h->bin[b]++;
	h->n++;
}

void form_hist16_merge(struct form_hist *sum, const struct form_hist16 *h)
{
	sum->n += h->n;
	for (int b = 0; b < FORM_HIST_BINS; b++)
		sum->bin[b] += h->bin[b];
}

double form_hist_quantile(const struct form_hist *h, double lo, double hi, double q)
{
	double target, acc = 0, w = (hi - lo) / FORM_HIST_BINS;

	if (h->n == 0)
		return NAN;

	target = q * h->n;
	for (int b = 0; b < FORM_HIST_BINS; b++) {
		if (h->bin[b] && acc + h->bin[b] >= target)
			/* linear interpolation inside the bin */
			return lo + w * (b + (target - acc) / h->bin[b]);
		acc += h->bin[b];
	}
	return hi;
}

double form_median(double *v, unsigned n)
{
	unsigned m = 0;

	/* drop NANs, then insertion sort (n is small) */
	for (unsigned i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	if (m == 0)
		return NAN;

	for (unsigned i = 1; i < m; i++) {
		double x = v[i];
		unsigned j = i;

		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}
