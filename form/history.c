// SPDX-License-Identifier: GPL-2.0-or-later
/* form history: running load, pain-vs-form pointers and advice from session digests. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "form/form.h"
#include "form/stats.h"
#include "form/thresholds.h"

#define DAY_S (24u * 3600u)

/*
 * Form metrics the pointers compare, with the words for each direction.
 * Cadence is the same quantity wherever the IMU sits. The others are not:
 * a chest strap's lean is not a waist clip's pelvic tilt, and impact, bounce,
 * braking and contact timing are measured on a different part of the trunk
 * (the contact constants were fitted on a sacrum). Those are compared only
 * between sessions of one mount, lest a pointer follow the sensor worn on
 * painful days.
 */
static const struct {
	enum form_metric m;
	double floor;			/* smallest difference worth a pointer */
	bool per_mount;
	const char *higher, *lower;
} pointer_metrics[] = {
	{ FORM_METRIC_CADENCE, 3, false, "higher cadence", "lower cadence" },
	{ FORM_METRIC_BRAKING, 0.03, true, "more braking", "less braking" },
	{ FORM_METRIC_GCT, 15, true, "longer ground contact", "shorter ground contact" },
	{ FORM_METRIC_VERTICAL_OSCILLATION, 8, true, "more bounce", "less bounce" },
	{ FORM_METRIC_TRUNK_LEAN, 3, true, "more forward lean", "less forward lean" },
	{ FORM_METRIC_PELVIC_DROP, 1.5, true, "more pelvic drop", "less pelvic drop" },
	{ FORM_METRIC_IMPACT, 0.3, true, "harder impacts", "softer impacts" },
};

/* The groups a per-mount metric is compared within: each mount, and version 1's unknown. */
static const uint8_t mount_groups[] = {
	FORM_MOUNT_SACRUM, FORM_MOUNT_WAIST, FORM_MOUNT_CHEST, FORM_DIGEST_MOUNT_UNKNOWN,
};

static uint8_t digest_max_pain(const struct form_digest *d)
{
	uint8_t m = 0;

	for (unsigned i = 0; i < d->n_pain && i < FORM_DIGEST_MAX_PAIN; i++)
		if (d->pain[i].level > m)
			m = d->pain[i].level;
	return m;
}

/*
 * Median of metric m over the painful and the pain-free sessions (of mount
 * `mount`, or all with ANY_MOUNT); false without two of each.
 */
#define ANY_MOUNT 0x100

static bool pain_split(const struct form_digest *d, size_t n, enum form_metric m,
		       unsigned mount, double *painful, double *painfree, unsigned *count)
{
	double pain_v[FORM_HISTORY_MAX], free_v[FORM_HISTORY_MAX];
	unsigned np = 0, nf = 0;

	for (size_t i = 0; i < n && i < FORM_HISTORY_MAX; i++) {
		double x = d[i].median[m];

		if (isnan(x) || (mount != ANY_MOUNT && d[i].mount != mount))
			continue;
		if (digest_max_pain(&d[i]) >= HISTORY_PAIN_LEVEL)
			pain_v[np++] = x;
		else
			free_v[nf++] = x;
	}
	if (np < 2 || nf < 2)
		return false;
	*painful = form_median(pain_v, np);
	*painfree = form_median(free_v, nf);
	*count = np + nf;
	return true;
}

static const char *site_words(enum form_pain_site s)
{
	switch (s) {
	case FORM_PAIN_SITE_LOWER_BACK:
		return "back pain";
	case FORM_PAIN_SITE_HIP:
		return "hip pain";
	case FORM_PAIN_SITE_KNEE:
		return "knee pain";
	case FORM_PAIN_SITE_SHIN:
		return "shin pain";
	case FORM_PAIN_SITE_FOOT:
		return "foot pain";
	case FORM_PAIN_SITE_OTHER:
	case _FORM_PAIN_SITE_MAX:
	case _FORM_PAIN_SITE_INVALID:
		break;
	}
	return "pain";
}

int form_history_analyze(const struct form_digest *d, size_t n, uint64_t now_epoch_s,
			 const struct form_params *params, struct form_history_report *ret)
{
	double severe = params ? params->pain_severe_level : HISTORY_PAIN_SEVERE;
	struct form_history_report h = {};
	unsigned site_count[_FORM_PAIN_SITE_MAX] = {};
	double load28 = 0;
	uint64_t oldest = UINT64_MAX;
	size_t first_recent = n > HISTORY_RECENT ? n - HISTORY_RECENT : 0;
	size_t used;

	if (!ret || n > FORM_HISTORY_MAX || (n && !d))
		return -EINVAL;

	h.sessions = (unsigned)n;
	h.acute_chronic_ratio = NAN;
	for (size_t i = 0; i < n; i++) {
		uint64_t st = d[i].start_epoch_s;
		double min = d[i].running_s / 60.0;

		/* 0: no wall clock then (form_digest): in no time window, not 1970 */
		if (st != 0) {
			if (st < oldest)
				oldest = st;
			if (st <= now_epoch_s && now_epoch_s - st < 7 * DAY_S) {
				h.load_7d_min += min;
				h.impact_load_7d += isfinite(d[i].impact_load) ?
						    d[i].impact_load : 0;
			}
			if (st <= now_epoch_s && now_epoch_s - st < HISTORY_CHRONIC_DAYS * DAY_S)
				load28 += min;
		}

		for (unsigned k = 0; k < d[i].n_pain && k < FORM_DIGEST_MAX_PAIN; k++)
			if (d[i].pain[k].level >= HISTORY_PAIN_LEVEL &&
			    d[i].pain[k].site < _FORM_PAIN_SITE_MAX)
				site_count[d[i].pain[k].site]++;
		if (i >= first_recent) {
			uint8_t mp = digest_max_pain(&d[i]);

			if (mp >= HISTORY_PAIN_LEVEL)
				h.pain_sessions_last5++;
			if (mp > h.max_pain_last5)
				h.max_pain_last5 = mp;
		}
	}
	if (oldest <= now_epoch_s)
		h.history_days = fmin((double)(now_epoch_s - oldest) / DAY_S, HISTORY_CHRONIC_DAYS);
	h.load_28d_weekly_min = load28 / (fmax(h.history_days, 7) / 7);
	if (h.history_days >= HISTORY_ACR_MIN_DAYS && h.load_28d_weekly_min > 0)
		h.acute_chronic_ratio = h.load_7d_min / h.load_28d_weekly_min;

	/* the site of most painful reports, "other" on a tie with it; none without */
	h.main_pain_site = _FORM_PAIN_SITE_INVALID;
	for (unsigned s = 0, best = 0; s < _FORM_PAIN_SITE_MAX; s++)
		if (site_count[s] > best) {
			best = site_count[s];
			h.main_pain_site = s;
		}

	/*
	 * Pain vs form: per metric, the median of the session medians in
	 * painful and in pain-free sessions (>= 2 each). A pointer, worded as
	 * such, when they differ by more than the metric's floor.
	 */
	for (size_t j = 0; j < ELEMENTSOF(pointer_metrics); j++) {
		enum form_metric m = pointer_metrics[j].m;
		double a = NAN, b = NAN;
		unsigned best = 0;

		if (!pointer_metrics[j].per_mount) {
			if (!pain_split(d, n, m, ANY_MOUNT, &a, &b, &best))
				continue;
		} else {
			/* within the mount with the most comparable sessions */
			for (size_t g = 0; g < ELEMENTSOF(mount_groups); g++) {
				double ga, gb;
				unsigned cnt;

				if (pain_split(d, n, m, mount_groups[g], &ga, &gb, &cnt) &&
				    cnt > best) {
					a = ga;
					b = gb;
					best = cnt;
				}
			}
			if (!best)
				continue;
		}
		if (fabs(a - b) > pointer_metrics[j].floor &&
		    h.n_pointers < FORM_HISTORY_MAX_POINTERS) {
			h.pointers[h.n_pointers++] = (struct form_pain_pointer) {
				.metric = m,
				.direction = a > b ? 1 : -1,
				.painful_median = a,
				.painfree_median = b,
			};
		}
	}

	if (h.n_pointers) {
		const char *site = site_words(h.main_pain_site);

		used = (size_t)snprintf(h.pointer_text, sizeof(h.pointer_text),
					"your %s followed runs with ", site);
		for (unsigned i = 0; i < h.n_pointers && used < sizeof(h.pointer_text); i++) {
			const struct form_pain_pointer *p = &h.pointers[i];
			const char *sep = i == 0 ? "" : i + 1 == h.n_pointers ? " and " : ", ";
			const char *w = "";

			for (size_t j = 0; j < ELEMENTSOF(pointer_metrics); j++)
				if (pointer_metrics[j].m == p->metric)
					w = p->direction > 0 ? pointer_metrics[j].higher :
						pointer_metrics[j].lower;

			used += (size_t)snprintf(h.pointer_text + used,
						 sizeof(h.pointer_text) - used, "%s%s", sep, w);
		}
		if (used < sizeof(h.pointer_text))
			snprintf(h.pointer_text + used, sizeof(h.pointer_text) - used,
				 " (a pattern to look at, not a diagnosis)");
	}

	/* advice (issue 4 guidance) */
	for (unsigned i = 0; i < h.n_pointers; i++) {
		const struct form_pain_pointer *p = &h.pointers[i];

		if ((p->metric == FORM_METRIC_CADENCE && p->direction < 0) ||
		    (p->metric == FORM_METRIC_BRAKING && p->direction > 0) ||
		    (p->metric == FORM_METRIC_GCT && p->direction > 0) ||
		    (p->metric == FORM_METRIC_IMPACT && p->direction > 0) ||
		    (p->metric == FORM_METRIC_VERTICAL_OSCILLATION && p->direction > 0))
			h.advice[FORM_ADVICE_SHORTER_STEPS] = true;
		if (p->metric == FORM_METRIC_TRUNK_LEAN) {
			h.advice[FORM_ADVICE_RUN_TALL] = true;
			h.advice[FORM_ADVICE_STRETCH_HIP_FLEXORS] = true;
		}
		if (p->metric == FORM_METRIC_PELVIC_DROP && p->direction > 0) {
			h.advice[FORM_ADVICE_ENGAGE_CORE] = true;
			h.advice[FORM_ADVICE_HIP_STRENGTH] = true;
		}
	}
	if (h.pain_sessions_last5 > 0) {
		h.advice[FORM_ADVICE_LISTEN_TO_BODY] = true;
		if (h.main_pain_site == FORM_PAIN_SITE_LOWER_BACK) {
			h.advice[FORM_ADVICE_STRETCH_LOWER_BACK] = true;
			h.advice[FORM_ADVICE_STRETCH_HIP_FLEXORS] = true;
			h.advice[FORM_ADVICE_STRETCH_HAMSTRINGS] = true;
			h.advice[FORM_ADVICE_CORE_STRENGTH] = true;
		}
		if (h.main_pain_site == FORM_PAIN_SITE_HIP)
			h.advice[FORM_ADVICE_HIP_STRENGTH] = true;
	}
	if (!isnan(h.acute_chronic_ratio) && h.acute_chronic_ratio > HISTORY_ACR_HIGH &&
	    h.load_7d_min >= HISTORY_ACR_MIN_MIN)
		h.advice[FORM_ADVICE_CROSS_TRAINING] = true;
	if (h.pain_sessions_last5 >= HISTORY_RECENT_PAINFUL ||
	    h.max_pain_last5 >= severe)
		h.advice[FORM_ADVICE_SEE_PROFESSIONAL] = true;

	*ret = h;
	return 0;
}
