// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gaitctl's text report of a finished session (tools/gaitctl-report.c): each
 * figure as the document has it, with the metric's decimals and unit, band
 * shares worked out by hand, and nothing made up for what is missing.
 */
#include <errno.h>
#include <math.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "tools/gaitctl.h"

/* 2026-11-27 06:00:00 UTC to 06:30:05 */
static const char doc_full[] =
	"{\"started_ts\":1795759200000,\"ended_ts\":1795761005000,\"duration_s\":1805,"
	"\"running_s\":1500,\"distance_m\":4321.9,\"steps\":4200,\"alerts_total\":3,"
	"\"summary\":{\"event\":\"summary\",\"duration_s\":1805.0,\"running_s\":1500.0,"
	"\"walking_s\":185.0,\"standing_s\":120.0,\"distance_m\":4321.9,\"steps\":4200,"
	"\"steps_estimated\":7,\"imu_holes\":12,\"imu_lost_s\":2.16,\"sensor_slips\":1,"
	"\"baseline_learned\":true,"
	"\"metrics\":{"
	"\"cadence_spm\":{\"n\":1500,\"median\":162.4,\"p10\":158.0,\"p90\":166.1,"
	"\"below_s\":300,\"within_s\":1125,\"above_s\":75},"
	"\"gct_balance_pct\":{\"n\":0,\"median\":null,\"p10\":null,\"p90\":null},"
	"\"trunk_lean_deg\":{\"n\":4100,\"median\":2.8,\"p10\":1.9,\"p90\":4.4,"
	"\"below_s\":0,\"within_s\":1497,\"above_s\":3},"
	"\"braking_mps\":{\"n\":4100,\"median\":0.512,\"p10\":0.3,\"p90\":0.71},"
	"\"pelvic_drop_deg\":{\"n\":0,\"median\":null,\"p10\":null,\"p90\":null},"
	"\"pain_level\":{\"n\":1,\"median\":6,\"p10\":6,\"p90\":6}},"
	"\"alerts\":{\"overstriding\":{\"count\":2,\"duration_s\":95},"
	"\"not-upright\":{\"count\":0,\"duration_s\":0},"
	"\"pain\":{\"count\":1,\"duration_s\":3725}},"
	"\"drift\":{\"gct_ms\":-0.04,\"cadence_spm\":-3.2,\"trunk_lean_deg\":0.4,\"braking_mps\":0.041},"
	"\"advice\":[{\"id\":\"shorter-steps\",\"text\":\"Take shorter steps.\"},"
	"{\"id\":\"listen-to-body\",\"text\":\"Listen to your body.\"}],"
	"\"impact_load\":9000.0,\"mount\":\"sacrum\",\"baseline\":null,"
	"\"pain\":[{\"t_s\":610,\"level\":6,\"where\":\"lower-back\"}]},"
	"\"history\":{\"sessions\":14,\"load_7d_min\":151.6,\"history_days\":21.0,"
	"\"load_28d_weekly_min\":120.4,\"acute_chronic_ratio\":1.26,"
	"\"pain_sessions_last5\":3,\"max_pain_last5\":6,\"main_pain_site\":\"lower-back\","
	"\"pain_pointers\":[],\"pointer_text\":\"Your lower back pain followed runs with lower cadence.\","
	"\"advice\":[{\"id\":\"listen-to-body\",\"text\":\"Listen to your body.\"},"
	"{\"id\":\"see-professional\",\"text\":\"See a physiotherapist.\"}]},"
	"\"ts\":1795761005040,\"seq\":14}";

static char *render(const char *json, int *ret)
{
	json_object *doc = json_tokener_parse(json);
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(doc);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	*ret = gaitctl_print_report(f, doc);
	fclose(f);
	json_object_put(doc);
	return out;
}

static void assert_line(const char *out, const char *line)
{
	const char *p = out;
	size_t n = strlen(line);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return;
	fail_msg("line not in the report: '%s'\n--- report ---\n%s", line, out);
}

static void test_full(void **state)
{
	int r;
	char *out = render(doc_full, &r);

	assert_int_equal(r, 0);
	assert_line(out, "Session 2026-11-27 06:00 to 06:30, 30:05");
	assert_line(out, "  running 25:00, walking 3:05, standing 2:00");
	assert_line(out, "  4.32 km, 4200 steps (7 estimated), 3 alerts, sensor on the sacrum, "
		    "baseline learned");
	assert_line(out, "  IMU data lost: 2.2 s in 12 holes (steps there estimated from the step "
		    "time, a footpod or the belt; steps beside them partly measured)");
	assert_line(out, "  The sensor slipped 1 time during the run: the lean was carried over the "
		    "turn; check how it sits");
	/* 300 / 1125 / 75 of 1500 s: 20 / 75 / 5 % */
	assert_line(out, "  cadence                spm     162.4    158.0 - 166.1       20% /  75% /   5%");
	/* braking keeps its 3 decimals (0.300, not 0.3) and has no band */
	assert_line(out, "  braking                m/s     0.512    0.300 - 0.710");
	assert_line(out, "  not measured: gct balance, pelvic drop");
	/* a sacrum's "trunk lean" is the pelvis's tilt; 3 of 1500 s above is 0 % */
	assert_line(out, "  pelvic tilt            deg       2.8      1.9 - 4.4          0% / 100% /   0%");
	assert_line(out, "  pelvic tilt            +0.4 deg");
	assert_null(strstr(out, "trunk lean"));
	assert_null(strstr(out, "pain level"));		/* in "Pain reported" */
	assert_line(out, "  overstriding           2 times, 1:35 in all");
	assert_line(out, "  pain                   1 time, 1:02:05 in all");
	assert_null(strstr(out, "not upright"));	/* never raised */
	assert_line(out, "  cadence                -3.2 spm");
	assert_line(out, "  gct                    0.0 ms");	/* not -0.0 */
	assert_line(out, "  braking                +0.041 m/s");
	assert_line(out, "  at 10:10: 6/10, lower back");
	assert_line(out, "  - Take shorter steps.");
	assert_line(out, "History (14 sessions stored, over 21 days)");
	assert_line(out, "  running load: 152 min in the last 7 days, 120 min a week on average, "
		    "acute:chronic 1.26");
	assert_line(out, "  pain in 3 of the last 5 sessions, at most 6/10, mostly lower back");
	assert_line(out, "  Your lower back pain followed runs with lower cadence.");
	/* the history's advice without what the session already said */
	assert_line(out, "  - See a physiotherapist.");
	assert_line(out, "  and from the history:");
	assert_non_null(strstr(out, "Listen to your body."));
	assert_null(strstr(strstr(out, "History"), "Listen to your body."));
	free(out);
}

/* A summary from before steps_estimated: its steps in holes were not counted. */
static void test_before_steps_estimated(void **state)
{
	const char *key = "\"steps_estimated\":7,";
	char *doc = strdup(doc_full), *at = strstr(doc, key), *out;
	int r;

	assert_non_null(at);
	memmove(at, at + strlen(key), strlen(at + strlen(key)) + 1);
	out = render(doc, &r);
	assert_int_equal(r, 0);
	assert_line(out, "  4.32 km, 4200 steps, 3 alerts, sensor on the sacrum, baseline learned");
	assert_line(out, "  IMU data lost: 2.2 s in 12 holes (steps there not counted; "
		    "steps beside them partly measured)");
	free(out);
	free(doc);
}

static void test_short_new_user(void **state)
{
	int r;
	char *out = render("{\"summary\":{\"duration_s\":65,\"running_s\":40,\"walking_s\":5,"
			   "\"standing_s\":20,\"distance_m\":null,\"steps\":95,"
			   "\"baseline_learned\":false,\"mount\":\"mixed\",\"advice\":[],"
			   "\"alerts\":{},\"drift\":{},\"pain\":[]},"
			   "\"history\":{\"sessions\":1,\"history_days\":0.0,\"load_7d_min\":0.7,"
			   "\"load_28d_weekly_min\":0.7,\"acute_chronic_ratio\":null,"
			   "\"pain_sessions_last5\":0,\"pointer_text\":null,\"advice\":[]}}", &r);

	assert_int_equal(r, 0);
	assert_line(out, "Session 1:05");
	assert_line(out, "  95 steps, steps from two sensor mounts, run too short to learn a baseline");
	assert_line(out, "  none for this run");
	assert_line(out, "History (1 session stored)");
	assert_line(out, "  running load: 1 min in the last 7 days, 1 min a week on average "
		    "(acute:chronic needs 14 days of history)");
	assert_null(strstr(out, "km"));
	assert_null(strstr(out, "IMU data lost"));	/* none in the document */
	assert_null(strstr(out, "slipped"));
	assert_null(strstr(out, "Drift"));
	assert_null(strstr(out, "Pain reported"));
	assert_null(strstr(out, "pain in"));
	assert_null(strstr(out, "and from the history"));
	free(out);
}

static void test_not_finished(void **state)
{
	int r;
	char *out = render("{\"state\":\"running\",\"started_ts\":1795759200000}", &r);

	assert_int_equal(r, -EINVAL);
	assert_string_equal(out, "");
	free(out);
	out = render("[1,2]", &r);
	assert_int_equal(r, -EINVAL);
	free(out);
	out = render("{\"summary\":[]}", &r);
	assert_int_equal(r, -EINVAL);
	free(out);
}

static void test_wrong_types(void **state)
{
	int r;
	char *out = render("{\"started_ts\":\"x\",\"summary\":{\"metrics\":[1],"
			   "\"alerts\":{\"pain\":{\"count\":\"2\"}},\"drift\":{\"gct_ms\":null},"
			   "\"advice\":{\"id\":1},\"pain\":\"yes\",\"duration_s\":1e300,\"steps\":-1},"
			   "\"history\":{\"advice\":[{\"id\":\"x\"},7],\"sessions\":null,"
			   "\"pain_sessions_last5\":2,\"max_pain_last5\":\"6\"}}", &r);

	assert_int_equal(r, 0);
	assert_line(out, "Session -");
	assert_line(out, "  steps unknown");
	assert_line(out, "History");
	assert_line(out, "  pain in 2 of the last 5 sessions");
	assert_null(strstr(out, "nan"));
	assert_null(strstr(out, "Drift"));
	free(out);
}

static void test_find(void **state)
{
	static const char lines[] =
		"{\"event\":\"contact\",\"ic_s\":1.0}\n"
		"{\"event\":\"summary\",\"steps\":7}\n"
		"{\"event\":\"session-ended\"}\n";
	static const char two[] = "{\"summary\":{\"steps\":1}} {\"summary\":{\"steps\":2}}\n";
	json_object *doc = (json_object *)1, *sum, *steps;
	size_t off = 99;

	/* analyze's JSON lines: the summary line, wrapped as a document */
	assert_int_equal(gaitctl_report_find(lines, strlen(lines), &doc, &off), 0);
	assert_true(json_object_object_get_ex(doc, "summary", &sum));
	assert_true(json_object_object_get_ex(sum, "steps", &steps));
	assert_int_equal(json_object_get_int(steps), 7);
	json_object_put(doc);
	/* several documents: the last */
	assert_int_equal(gaitctl_report_find(two, strlen(two), &doc, &off), 0);
	json_object_object_get_ex(doc, "summary", &sum);
	json_object_object_get_ex(sum, "steps", &steps);
	assert_int_equal(json_object_get_int(steps), 2);
	json_object_put(doc);
	/* none, or not JSON: where it breaks */
	doc = NULL;
	assert_int_equal(gaitctl_report_find("{\"a\":1} 12", 10, &doc, &off), -ENOENT);
	assert_int_equal(gaitctl_report_find("", 0, &doc, &off), -ENOENT);
	assert_int_equal(gaitctl_report_find("{\"a\":1}\n{\"b\"", 13, &doc, &off), -EBADMSG);
	assert_in_range(off, 8, 13);	/* within the value cut short */
	assert_int_equal(gaitctl_report_find("{\"a\":1} x", 10, &doc, &off), -EBADMSG);
	assert_int_equal(off, 8);
	assert_null(doc);
}

static void test_fixed(void **state)
{
	char b[32];

	assert_string_equal(gaitctl_fixed(b, sizeof(b), 1, -0.04, false), "0.0");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 1, -0.04, true), "0.0");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 3, -0.0004, false), "0.000");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 3, 0.0006, true), "+0.001");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 1, -0.26, false), "-0.3");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 0, 4.4, true), "+4");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 1, NAN, false), "-");
	assert_string_equal(gaitctl_fixed(b, sizeof(b), 1, INFINITY, false), "-");
}

static void test_metric_label(void **state)
{
	char label[48];
	const char *unit;
	int dec;

	gaitctl_metric_label("vertical_oscillation_mm", NULL, label, sizeof(label), &unit, &dec);
	assert_string_equal(label, "vertical oscillation");
	assert_string_equal(unit, "mm");
	assert_int_equal(dec, 1);
	gaitctl_metric_label("step_length_m", NULL, label, sizeof(label), &unit, &dec);
	assert_string_equal(unit, "m");
	assert_int_equal(dec, 3);
	gaitctl_metric_label("vertical_ratio_pct", NULL, label, sizeof(label), &unit, &dec);
	assert_string_equal(unit, "%");
	gaitctl_metric_label("trunk_lean_deg", "chest", label, sizeof(label), &unit, &dec);
	assert_string_equal(label, "trunk lean");
	gaitctl_metric_label("trunk_lean_deg", "waist", label, sizeof(label), &unit, &dec);
	assert_string_equal(label, "pelvic tilt");
	assert_string_equal(unit, "deg");
	gaitctl_metric_label("trunk_lean_deg", NULL, label, sizeof(label), &unit, &dec);
	assert_string_equal(label, "trunk lean");
	gaitctl_metric_label("no_such_thing", NULL, label, sizeof(label), &unit, &dec);
	assert_string_equal(label, "no such thing");
	assert_string_equal(unit, "");
	assert_int_equal(dec, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/gaitctl/report/full", test_full, NULL, NULL, NULL },
		{ "/gaitctl/report/before-steps-estimated", test_before_steps_estimated, NULL, NULL,
		  NULL },
		{ "/gaitctl/report/short-new-user", test_short_new_user, NULL, NULL, NULL },
		{ "/gaitctl/report/not-finished", test_not_finished, NULL, NULL, NULL },
		{ "/gaitctl/report/wrong-types", test_wrong_types, NULL, NULL, NULL },
		{ "/gaitctl/report/find", test_find, NULL, NULL, NULL },
		{ "/gaitctl/report/fixed", test_fixed, NULL, NULL, NULL },
		{ "/gaitctl/report/metric-label", test_metric_label, NULL, NULL, NULL },
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
