// SPDX-License-Identifier: GPL-2.0-or-later
/* trace-csv: strict parser of the trace CSV format (shared/data/README.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "form/trace-csv.h"

static const char *const column_names[_TRACE_CSV_COLUMN_MAX] = {
	"ax_g", "ay_g", "az_g", "gx_dps", "gy_dps", "gz_dps",
};

void trace_csv_init(struct trace_csv *c)
{
	memset(c, 0, sizeof(*c));
}

__attribute__((format(printf, 2, 3)))
static int fail(struct trace_csv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/*
 * Plain decimal: [-]digits[.digits]. Digits are accumulated exactly as an
 * integer mantissa and a power of ten, so "0.002" is 2e-3 without strtod's
 * locale. At most 18 digits in all.
 */
static int parse_plain_decimal(const char *s, size_t len, double *ret)
{
	bool neg = false, dot = false;
	unsigned digits = 0, frac = 0;
	uint64_t mant = 0;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i >= len)
		return -EINVAL;
	for (; i < len; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (dot || digits == 0)
				return -EINVAL;
			dot = true;
			continue;
		}
		if (ch < '0' || ch > '9')
			return -EINVAL;
		/* 18 digits always fit in a uint64_t */
		if (++digits > 18)
			return -ERANGE;
		mant = mant * 10 + (uint64_t)(ch - '0');
		if (dot)
			frac++;
	}
	if (dot && frac == 0)
		return -EINVAL;		/* "1." */
	*ret = (neg ? -1.0 : 1.0) * (double)mant / pow(10.0, frac);
	return 0;
}

static int parse_header(struct trace_csv *c, const char *line, size_t len)
{
	size_t pos = 0;
	int next = 0;
	unsigned n_acc = 0;

	if (len < 3 || memcmp(line, "t_s", 3) != 0 || (len > 3 && line[3] != ','))
		return fail(c, "header must start with 't_s'");
	pos = len > 3 ? 4 : 3;

	while (pos < len) {
		const char *f = line + pos;
		const char *comma = memchr(f, ',', len - pos);
		size_t flen = comma ? (size_t)(comma - f) : len - pos;
		int k;

		for (k = next; k < _TRACE_CSV_COLUMN_MAX; k++)
			if (strlen(column_names[k]) == flen &&
			    memcmp(column_names[k], f, flen) == 0)
				break;
		if (k == _TRACE_CSV_COLUMN_MAX)
			return fail(c, "unknown, repeated or out-of-order column '%.*s'",
				    (int)(flen > 32 ? 32 : flen), f);
		c->col[c->n_cols++] = k;
		if (k <= TRACE_CSV_AZ)
			n_acc++;
		next = k + 1;
		pos += flen + 1;
		if (comma && pos == len)
			return fail(c, "empty column name at the end of the header");
	}
	if (n_acc < 2)
		return fail(c, "need at least two of ax_g, ay_g, az_g");
	c->have_header = true;
	return 0;
}

int trace_csv_feed_line(struct trace_csv *c, const char *line, size_t len,
			struct form_imu_sample *ret)
{
	struct form_imu_sample s = {
		.ax = NAN, .ay = NAN, .az = NAN, .gx = NAN, .gy = NAN, .gz = NAN,
	};
	double *slot[_TRACE_CSV_COLUMN_MAX] = { &s.ax, &s.ay, &s.az, &s.gx, &s.gy, &s.gz };
	size_t pos = 0;
	double t = 0;

	c->line++;
	c->error[0] = 0;
	if (len > TRACE_CSV_MAX_LINE)
		return fail(c, "line longer than %d bytes", TRACE_CSV_MAX_LINE);
	if (len > 0 && line[len - 1] == '\r')
		return fail(c, "CR line ending (the format uses LF only)");
	if (memchr(line, 0, len))
		return fail(c, "NUL byte");
	if (!c->have_header)
		return parse_header(c, line, len);
	if (len == 0)
		return fail(c, "empty line");

	for (unsigned f = 0; f <= c->n_cols; f++) {
		const char *p = line + pos;
		const char *comma = pos < len ? memchr(p, ',', len - pos) : NULL;
		size_t flen = comma ? (size_t)(comma - p) : len - pos;
		double x;
		int r;

		if (pos > len || (f < c->n_cols && !comma))
			return fail(c, "expected %u fields, got %u", c->n_cols + 1, f + 1);
		if (f == c->n_cols && comma)
			return fail(c, "more than %u fields", c->n_cols + 1);
		r = parse_plain_decimal(p, flen, &x);
		if (r < 0)
			return fail(c, "field %u is not a plain decimal number: '%.*s'", f + 1,
				    (int)(flen > 24 ? 24 : flen), p);
		if (f == 0) {
			t = x;
		} else {
			enum trace_csv_column k = c->col[f - 1];
			double lim = k <= TRACE_CSV_AZ ? TRACE_CSV_MAX_G : TRACE_CSV_MAX_DPS;

			if (fabs(x) > lim)
				return fail(c, "%s out of range: %g", column_names[k], x);
			*slot[k] = x;
		}
		pos += flen + 1;
	}

	if (t < 0 || t > TRACE_CSV_MAX_T_S)
		return fail(c, "t_s out of range: %g", t);
	s.t_usec = (uint64_t)llround(t * 1e6);
	/* to the microsecond, as the engine takes it */
	if (c->have_t && !(s.t_usec > (uint64_t)llround(c->last_t * 1e6)))
		return fail(c, "t_s does not increase (%.9g after %.9g)", t, c->last_t);
	c->have_t = true;
	c->last_t = t;
	c->samples++;
	*ret = s;
	return 1;
}

int trace_csv_parse_buffer(struct trace_csv *c, const uint8_t *buf, size_t len,
			   uint64_t *ret_samples)
{
	size_t pos = 0;
	uint64_t n = 0;

	while (pos < len) {
		const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		struct form_imu_sample s;
		int r;

		if (!nl) {
			c->line++;
			return fail(c, "last line does not end in LF");
		}
		r = trace_csv_feed_line(c, (const char *)buf + pos, l, &s);
		if (r < 0)
			return r;
		n += r;
		pos += l + 1;
	}
	if (!c->have_header) {
		c->line++;
		return fail(c, "empty input: no header");
	}
	if (ret_samples)
		*ret_samples = n;
	return 0;
}
