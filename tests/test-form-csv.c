// SPDX-License-Identifier: GPL-2.0-or-later
/* Trace CSV parser: valid files, every kind of malformed line, line numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "form/trace-csv.h"

static const struct csv_case {
	const char *name;
	const char *text;
	int r;			/* 0 parsed, else -EBADMSG */
	unsigned line;		/* line of the error, or samples parsed */
	const char *error;	/* substring of the message */
} csv_cases[] = {
	/* first rows of shared/data/sacral-treadmill/trial_04.csv */
	{ "sacral", "t_s,ax_g,az_g\n0.000,-0.525566,0.309837\n0.002,-0.525303,0.312533\n", 0, 2,
	  NULL },
	{ "all-axes", "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n0,1,2,3,4,5,6\n", 0, 1, NULL },
	{ "header-only", "t_s,ay_g,az_g\n", 0, 0, NULL },
	{ "empty", "", -EBADMSG, 1, "empty input" },
	{ "no-t", "ax_g,az_g\n1,2\n", -EBADMSG, 1, "t_s" },
	{ "unknown-col", "t_s,ax_g,bz_g\n", -EBADMSG, 1, "bz_g" },
	{ "out-of-order", "t_s,az_g,ax_g\n", -EBADMSG, 1, "out-of-order" },
	{ "repeated", "t_s,ax_g,ax_g\n", -EBADMSG, 1, "ax_g" },
	{ "one-accel", "t_s,az_g,gx_dps\n", -EBADMSG, 1, "two of" },
	{ "trailing-comma-header", "t_s,ax_g,az_g,\n", -EBADMSG, 1, "empty column" },
	{ "few-fields", "t_s,ax_g,az_g\n0,1\n", -EBADMSG, 2, "expected 3 fields" },
	{ "many-fields", "t_s,ax_g,az_g\n0,1,2,3\n", -EBADMSG, 2, "more than 3" },
	{ "empty-field", "t_s,ax_g,az_g\n0,,2\n", -EBADMSG, 2, "field 2" },
	{ "exponent", "t_s,ax_g,az_g\n0,1e3,2\n", -EBADMSG, 2, "field 2" },
	{ "blank", "t_s,ax_g,az_g\n0, 1,2\n", -EBADMSG, 2, "field 2" },
	{ "plus", "t_s,ax_g,az_g\n0,+1,2\n", -EBADMSG, 2, "field 2" },
	{ "dot-only", "t_s,ax_g,az_g\n0,1.,2\n", -EBADMSG, 2, "field 2" },
	{ "nan", "t_s,ax_g,az_g\n0,nan,2\n", -EBADMSG, 2, "field 2" },
	{ "crlf", "t_s,ax_g,az_g\r\n", -EBADMSG, 1, "CR" },
	{ "blank-line", "t_s,ax_g,az_g\n0,1,2\n\n", -EBADMSG, 3, "empty line" },
	{ "no-final-lf", "t_s,ax_g,az_g\n0,1,2", -EBADMSG, 2, "LF" },
	{ "time-backwards", "t_s,ax_g,az_g\n0.1,1,2\n0.05,1,2\n", -EBADMSG, 3, "increase" },
	{ "time-repeated", "t_s,ax_g,az_g\n0.1,1,2\n0.1,1,2\n", -EBADMSG, 3, "increase" },
	/* the engine takes whole microseconds: 1.0000001 and 1.0000002 are the same */
	{ "time-sub-microsecond", "t_s,ax_g,az_g\n1.0000001,1,2\n1.0000002,1,2\n", -EBADMSG, 3,
	  "increase" },
	{ "negative-time", "t_s,ax_g,az_g\n-1,1,2\n", -EBADMSG, 2, "t_s out of range" },
	{ "accel-range", "t_s,ax_g,az_g\n0,65,2\n", -EBADMSG, 2, "ax_g out of range" },
	{ "long-digits", "t_s,ax_g,az_g\n0,1.2345678901234567890,2\n", -EBADMSG, 2, "field 2" },
};

static void test_cases(void **state)
{
	for (size_t i = 0; i < sizeof(csv_cases) / sizeof(csv_cases[0]); i++) {
		const struct csv_case *c = &csv_cases[i];
		struct trace_csv csv;
		uint64_t n = 0;
		int r;

		trace_csv_init(&csv);
		r = trace_csv_parse_buffer(&csv, (const uint8_t *)c->text, strlen(c->text), &n);
		if (r != c->r)
			fail_msg("%s: r=%d, want %d (%s)", c->name, r, c->r, csv.error);
		if (c->r == 0) {
			assert_int_equal(n, c->line);
		} else {
			if (csv.line != c->line)
				fail_msg("%s: line %u, want %u", c->name, csv.line, c->line);
			if (!strstr(csv.error, c->error))
				fail_msg("%s: error '%s' lacks '%s'", c->name, csv.error, c->error);
		}
	}
}

static void test_values(void **state)
{
	static const char line[] = "1.25,-0.5,0.002";
	struct form_imu_sample s;
	struct trace_csv csv;

	trace_csv_init(&csv);
	assert_int_equal(trace_csv_feed_line(&csv, "t_s,ax_g,az_g", 13, &s), 0);
	assert_int_equal(trace_csv_feed_line(&csv, line, strlen(line), &s), 1);
	assert_int_equal(s.t_usec, 1250000);
	assert_true(s.ax == -0.5 && s.az == 0.002);
	/* absent axes are NAN, never 0 */
	assert_true(isnan(s.ay) && isnan(s.gx) && isnan(s.gy) && isnan(s.gz));
	assert_int_equal(csv.samples, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/trace-csv/cases", test_cases, NULL, NULL, NULL },
		{ "/form/trace-csv/values", test_values, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
