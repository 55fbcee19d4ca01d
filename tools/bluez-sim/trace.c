// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: the run being replayed - trace CSV loading, resampling, step detection. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "form/trace-csv.h"
#include "tools/bluez-sim/sim.h"

#define TRACE_CHANNELS		_TRACE_CSV_COLUMN_MAX
#define TRACE_MAX_ROWS		(4u * 1000 * 1000)
/* Steps closer than this are one step (240 spm is beyond sprinting). */
#define TRACE_MIN_STEP_S	0.25
/* A gap longer than this between steps means the runner stopped. */
#define TRACE_MAX_STEP_S	1.5
#define TRACE_CADENCE_WINDOW_S	5.0

struct trace {
	size_t n;
	double *t;
	float *ch[TRACE_CHANNELS];	/* NULL when the column is absent */
	unsigned present;		/* bit i: channel i in the file */
	double rest[TRACE_CHANNELS];	/* mean of each channel */
	double *steps;			/* step times (s) on the vertical axis */
	size_t n_steps;
};

struct trace *trace_free(struct trace *t)
{
	if (!t)
		return NULL;

	free(t->t);
	for (unsigned i = 0; i < TRACE_CHANNELS; i++)
		free(t->ch[i]);
	free(t->steps);
	free(t);
	return NULL;
}
DEFINE_FREEP(struct trace, trace_free);

double trace_duration(const struct trace *t)
{
	return t->n ? t->t[t->n - 1] : 0;
}

unsigned trace_channels(const struct trace *t)
{
	return t->present;
}

/*
 * Steps: the accelerometer axis with the largest mean magnitude carries
 * gravity, so it is the vertical one. Sign-correct it (impacts positive),
 * smooth over 50 ms and take local maxima at least 0.25 s apart that rise
 * half a standard deviation above the mean.
 */
static int trace_find_steps(struct trace *t)
{
	int axis = -1;
	double best = 0, mean, sd = 0, sign;
	size_t n = t->n, half, k = 0;
	_cleanup_free_ double *smooth = NULL;

	for (int i = 0; i < 3; i++)
		if (t->ch[i] && fabs(t->rest[i]) > best) {
			best = fabs(t->rest[i]);
			axis = i;
		}

	if (axis < 0 || n < 3)
		return 0;

	mean = t->rest[axis];
	sign = mean < 0 ? -1 : 1;
	smooth = calloc(n, sizeof(*smooth));
	t->steps = calloc(n / 2 + 1, sizeof(*t->steps));
	if (!smooth || !t->steps)
		return -ENOMEM;

	/* Moving average over +-25 ms. */
	double dt = trace_duration(t) / (double)(n - 1);

	half = dt > 0 ? (size_t)(0.025 / dt) : 0;
	for (size_t i = 0; i < n; i++) {
		size_t a = i > half ? i - half : 0, b = i + half < n ? i + half : n - 1;
		double s = 0;

		for (size_t j = a; j <= b; j++)
			s += t->ch[axis][j];
		smooth[i] = sign * (s / (double)(b - a + 1) - mean);
		sd += smooth[i] * smooth[i];
	}
	sd = sqrt(sd / (double)n);

	size_t win = dt > 0 ? (size_t)(TRACE_MIN_STEP_S / dt) : 1;

	for (size_t i = 1; i + 1 < n; i++) {
		size_t a = i > win ? i - win : 0, b = i + win < n ? i + win : n - 1;
		bool peak = smooth[i] > 0.5 * sd;

		for (size_t j = a; peak && j <= b; j++)
			/* j <= b < n; "j < i" breaks ties, it is no bound */
			/* cppcheck-suppress arrayIndexThenCheck */
			if (smooth[j] > smooth[i] || (smooth[j] == smooth[i] && j < i))
				peak = false;
		if (peak)
			t->steps[k++] = t->t[i];
	}
	t->n_steps = k;
	return 0;
}

static int trace_finish(struct trace *t)
{
	for (unsigned c = 0; c < TRACE_CHANNELS; c++) {
		double s = 0;

		if (!t->ch[c])
			continue;
		for (size_t i = 0; i < t->n; i++)
			s += t->ch[c][i];
		t->rest[c] = s / (double)t->n;
	}
	return trace_find_steps(t);
}

static int trace_grow(struct trace *t, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 4096;
	double *nt;

	if (ncap > TRACE_MAX_ROWS)
		return -EFBIG;
	nt = realloc(t->t, ncap * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	t->t = nt;
	for (unsigned c = 0; c < TRACE_CHANNELS; c++) {
		float *nc;

		if (!(t->present & (1u << c)))
			continue;
		nc = realloc(t->ch[c], ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->ch[c] = nc;
	}
	*cap = ncap;
	return 0;
}

/* Append one parsed sample (channels in trace_csv_column order). */
static int trace_append(struct trace *t, size_t *cap, const struct form_imu_sample *s)
{
	const double v[TRACE_CHANNELS] = { s->ax, s->ay, s->az, s->gx, s->gy, s->gz };
	int r;

	if (t->n == *cap) {
		r = trace_grow(t, cap);
		if (r < 0)
			return r;
	}
	t->t[t->n] = (double)s->t_usec / 1e6;
	for (unsigned c = 0; c < TRACE_CHANNELS; c++)
		if (t->ch[c])
			t->ch[c][t->n] = (float)v[c];
	t->n++;
	return 0;
}

/*
 * Read the CSV in f into t (rows and present channels) with the strict
 * parser of form/trace-csv.h; path is for messages. On top of the format
 * the sim needs t_s to start at 0 and two samples to interpolate.
 */
static int trace_read(struct trace *t, FILE *f, const char *path)
{
	_cleanup_free_ char *line = NULL;
	size_t linecap = 0, cap = 0;
	struct trace_csv csv;
	ssize_t l;
	int r;

	trace_csv_init(&csv);
	while ((l = getline(&line, &linecap, f)) >= 0) {
		struct form_imu_sample s;
		size_t len = (size_t)l;

		if (len > 0 && line[len - 1] == '\n')
			len--;
		r = trace_csv_feed_line(&csv, line, len, &s);
		if (r < 0) {
			fprintf(stderr, "%s:%u: %s\n", path, csv.line, csv.error);
			return r;
		}
		if (r == 0) {
			for (unsigned i = 0; i < csv.n_cols; i++)
				t->present |= 1u << csv.col[i];
			continue;
		}
		if (t->n == 0 && s.t_usec != 0) {
			fprintf(stderr, "%s:%u: t_s must start at 0\n", path, csv.line);
			return -EBADMSG;
		}
		r = trace_append(t, &cap, &s);
		if (r < 0)
			return r;
	}

	if (!csv.have_header) {
		fprintf(stderr, "%s:1: empty file: no header\n", path);
		return -EBADMSG;
	}
	if (t->n < 2) {
		fprintf(stderr, "%s: needs at least two samples\n", path);
		return -EBADMSG;
	}
	return 0;
}

int trace_load(const char *path, struct trace **ret)
{
	struct trace *t = calloc(1, sizeof(*t));
	FILE *f;
	int r;

	if (!t)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		trace_free(t);
		return r;
	}
	r = trace_read(t, f, path);
	fclose(f);
	if (r >= 0)
		r = trace_finish(t);
	if (r < 0) {
		trace_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/*
 * Without --trace: 60 s of a plausible sacral signal at 200 Hz - gravity on
 * z with a half-sine impact per step, a forward (x) oscillation at stride
 * frequency, and a sideways (y) sway. Cadence grows with speed.
 */
int trace_synthetic(double speed_mps, struct trace **ret)
{
	_cleanup_(trace_freep) struct trace *t = calloc(1, sizeof(*t));
	const double rate = 200, secs = 60;
	double spm = 150 + 6 * speed_mps, step = 60 / spm;
	size_t n = (size_t)(rate * secs) + 1;
	int r;

	if (!t)
		return -ENOMEM;
	t->n = n;
	t->t = calloc(n, sizeof(*t->t));
	for (unsigned c = 0; c < 3; c++)
		t->ch[c] = calloc(n, sizeof(float));
	if (!t->t || !t->ch[0] || !t->ch[1] || !t->ch[2])
		return -ENOMEM;
	t->present = 0x7;

	for (size_t i = 0; i < n; i++) {
		double ts = (double)i / rate, ph = fmod(ts, step) / step;
		double impact = ph < 0.35 ? sin(M_PI * ph / 0.35) : 0;

		t->t[i] = ts;
		t->ch[0][i] = (float)(0.3 * sin(2 * M_PI * ts / step + 1.0));
		t->ch[1][i] = (float)(0.15 * sin(M_PI * ts / step));
		t->ch[2][i] = (float)(0.35 + 1.9 * impact);
	}

	r = trace_finish(t);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

/* A looped trace repeats with this period: its last sample joins the first one period later. */
static double loop_period(const struct trace *t)
{
	double d = trace_duration(t);

	return t->n > 1 ? d + d / (double)(t->n - 1) : d;
}

bool trace_time(const struct trace *t, double sim_s, bool loop, double *ret_s)
{
	double d = trace_duration(t);

	if (sim_s <= d) {
		*ret_s = sim_s;
		return true;
	}
	if (!loop || d <= 0) {
		*ret_s = d;
		return false;
	}
	*ret_s = fmod(sim_s, loop_period(t));
	if (*ret_s > d)
		*ret_s = d;
	return true;
}

static size_t trace_index(const struct trace *t, double s)
{
	size_t lo = 0, hi = t->n - 1;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->t[mid] <= s)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void trace_sample(const struct trace *t, double s, double ret[6])
{
	size_t i = trace_index(t, s);
	double w = 0;

	if (i + 1 < t->n && t->t[i + 1] > t->t[i])
		w = (s - t->t[i]) / (t->t[i + 1] - t->t[i]);
	if (w < 0)
		w = 0;
	if (w > 1)
		w = 1;
	for (unsigned c = 0; c < TRACE_CHANNELS; c++) {
		if (!t->ch[c]) {
			ret[c] = 0;
			continue;
		}
		ret[c] = t->ch[c][i];
		if (i + 1 < t->n)
			ret[c] += w * (t->ch[c][i + 1] - t->ch[c][i]);
	}
}

void trace_rest(const struct trace *t, double ret[6])
{
	for (unsigned c = 0; c < TRACE_CHANNELS; c++)
		ret[c] = c < 3 && t->ch[c] ? t->rest[c] : 0;
}

double trace_cadence_spm(const struct trace *t, double s, bool loop)
{
	double period = loop ? loop_period(t) : 0, newer, sum = 0;
	size_t j = 0;
	unsigned k = 0, back = 0;

	/*
	 * Steps in (s - window, s], newest first: this pass's, then, looping,
	 * the passes before (a looped run does not stop at the join). Count the
	 * intervals, each below the stop gap.
	 */
	while (j < t->n_steps && t->steps[j] <= s)
		j++;
	if (t->n_steps == 0 || (j == 0 && !(period > 0)))
		return 0;
	if (j == 0) {
		j = t->n_steps;
		back = 1;
	}
	newer = t->steps[--j] - back * period;
	if (s - newer > TRACE_MAX_STEP_S)
		return 0;
	for (;;) {
		double older;

		if (j == 0) {
			if (!(period > 0))
				break;
			j = t->n_steps;
			back++;
		}
		older = t->steps[--j] - back * period;
		if (older <= s - TRACE_CADENCE_WINDOW_S || newer - older > TRACE_MAX_STEP_S)
			break;
		sum += newer - older;
		k++;
		newer = older;
	}
	return k ? 60.0 * k / sum : 0;
}
