// SPDX-License-Identifier: GPL-2.0-or-later
/* daemon/imu-select: which IMU sensor feeds the form core; fail-over, return; config keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/imu-select.h"

#define SEC 1000000ULL

static struct gk_config *load(const char *text)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	if (gk_config_load_string(text, "imu.conf", &c, &errors) < 0)
		fail_msg("config does not load:\n%s", errors ? errors : "");
	free(errors);
	return c;
}

/* ---- preference ------------------------------------------------------------ */

static const struct rank_case {
	const char *name;
	const char *sensors;		/* the sensors = ( ... ) list */
	const char *form;		/* extra form keys */
	int preferred;			/* index into sensors */
} rank_cases[] = {
	{ "chest strap listed first, sacrum clip wins",
	  "{ alias = \"h10\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },"
	  "{ alias = \"vs\"; kind = \"polar-verity-sense\"; address = \"A0:9E:1A:00:00:02\"; }",
	  "", 1 },
	{ "waist beats chest",
	  "{ alias = \"h10\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },"
	  "{ alias = \"vs\"; kind = \"polar-verity-sense\"; address = \"A0:9E:1A:00:00:02\";"
	  "  mount = \"waist\"; }",
	  "", 1 },
	{ "sacrum beats waist, whatever the order",
	  "{ alias = \"w\"; kind = \"polar-verity-sense\"; name = \"W*\"; mount = \"waist\"; },"
	  "{ alias = \"h10\"; kind = \"polar-h10\"; name = \"Polar H10*\"; },"
	  "{ alias = \"s\"; kind = \"polar-h10\"; name = \"S*\"; mount = \"sacrum\"; }",
	  "", 2 },
	{ "a tie goes to the one listed first",
	  "{ alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; },"
	  "{ alias = \"a\"; kind = \"polar-verity-sense\"; name = \"A*\"; },"
	  "{ alias = \"b\"; kind = \"polar-verity-sense\"; name = \"B*\"; }",
	  "", 1 },
	{ "form.imu_sensor beats the mount",
	  "{ alias = \"vs\"; kind = \"polar-verity-sense\"; address = \"A0:9E:1A:00:00:02\"; },"
	  "{ alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; }",
	  "imu_sensor = \"chest\";", 1 },
	{ "no IMU sensor at all",
	  "{ alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; },"
	  "{ alias = \"hr\"; kind = \"heart-rate\"; name = \"HRM*\"; }",
	  "", -1 },
};

static void test_rank(void **state)
{
	for (size_t i = 0; i < sizeof(rank_cases) / sizeof(rank_cases[0]); i++) {
		const struct rank_case *t = &rank_cases[i];
		char text[1024];
		struct gk_config *c;
		struct imu_select s;

		snprintf(text, sizeof(text), "form = { %s }; sensors = ( %s );", t->form,
			 t->sensors);
		c = load(text);
		imu_select_init(&s, c, 5 * SEC);
		if (imu_select_preferred(&s) != t->preferred)
			fail_msg("%s: preferred %d, expected %d", t->name,
				 imu_select_preferred(&s), t->preferred);
		/* at start the preferred one feeds the core */
		assert_int_equal(imu_select_current(&s), t->preferred);
		assert_int_equal(imu_select_update(&s, 10 * SEC, 100 * SEC, NULL),
				 IMU_SELECT_KEEP);
		gk_config_free(c);
	}
}

/* ---- timelines ------------------------------------------------------------- */

/* A chest strap listed first (index 0), a sacrum clip (index 1), a footpod (2). */
static const char two_imus[] =
	"sensors = (\n"
	"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },\n"
	"  { alias = \"sacrum\"; kind = \"polar-verity-sense\";"
	"    address = \"A0:9E:1A:00:00:02\"; },\n"
	"  { alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; }\n"
	");\n";

#define MAX_SPANS 4

/* When each sensor sends IMU data: [from, to) spans in seconds. */
struct schedule {
	double span[MAX_SPANS][2];
};

struct change {
	double t;
	enum imu_select_change why;
	int from, to;
};

static bool sends(const struct schedule *sc, double t)
{
	for (unsigned i = 0; i < MAX_SPANS; i++)
		if (sc->span[i][1] > sc->span[i][0] && t >= sc->span[i][0] && t < sc->span[i][1])
			return true;
	return false;
}

/*
 * Run until end_s: data every 0.25 s per the schedules (index 2, the footpod,
 * also "sends": it must be ignored), a decision once a second. Returns the
 * number of changes written to out.
 */
static unsigned run(struct imu_select *s, const struct schedule sc[3], double failover_s,
		    double end_s, struct change *out, unsigned cap)
{
	unsigned n = 0;

	for (unsigned q = 0; q <= (unsigned)(end_s * 4); q++) {
		double t = q / 4.0;
		uint64_t now = (uint64_t)(t * SEC) + SEC;	/* the clock is not 0 */
		int from = -2;

		for (unsigned i = 0; i < 3; i++)
			if (sends(&sc[i], t))
				imu_select_data(s, i, now);
		if (q % 4)
			continue;
		enum imu_select_change why = imu_select_update(s, (uint64_t)(failover_s * SEC),
							       now, &from);

		if (why == IMU_SELECT_KEEP) {
			assert_int_equal(from, -2);	/* untouched without a change */
			continue;
		}
		assert_true(n < cap);
		out[n++] = (struct change){ t, why, from, imu_select_current(s) };
	}
	return n;
}

static void expect(const struct change *c, double t, enum imu_select_change why, int from,
		   int to)
{
	if (c->t != t || c->why != why || c->from != from || c->to != to)
		fail_msg("change at %.2f s %s %d->%d, expected at %.2f s %s %d->%d", c->t,
			 imu_select_change_to_string(c->why), c->from, c->to, t,
			 imu_select_change_to_string(why), from, to);
}

static void test_failover_and_return(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	/* the sacrum clip vanishes at 20 s, comes back at 50 s; the strap streams on */
	const struct schedule sc[3] = {
		{ { { 0, 200 } } },
		{ { { 0, 20 }, { 50, 200 } } },
		{ { { 0, 200 } } },
	};
	unsigned n;

	imu_select_init(&s, c, SEC);
	assert_int_equal(imu_select_current(&s), 1);
	n = run(&s, sc, 10, 100, ch, 8);
	assert_int_equal(n, 2);
	/* last data at 19.75 s: silent 10 s at 29.75, decided at the 30 s tick */
	expect(&ch[0], 30, IMU_SELECT_FAILOVER, 1, 0);
	/* back at 50 s, steady for 10 s at 60 s */
	expect(&ch[1], 60, IMU_SELECT_RETURN, 0, 1);
	gk_config_free(c);
}

static void test_return_needs_steady_stream(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	/* it flickers back at 40-44 s, then streams from 47.5 s: 4 s gap breaks the stream */
	const struct schedule sc[3] = {
		{ { { 0, 200 } } },
		{ { { 0, 20 }, { 40, 44 }, { 47.5, 200 } } },
		{ { { 0, 200 } } },
	};
	unsigned n;

	imu_select_init(&s, c, SEC);
	n = run(&s, sc, 10, 100, ch, 8);
	assert_int_equal(n, 2);
	expect(&ch[0], 30, IMU_SELECT_FAILOVER, 1, 0);
	/* not at 50 s (40-44 was too short), but 10 s after 47.5 s */
	expect(&ch[1], 58, IMU_SELECT_RETURN, 0, 1);
	gk_config_free(c);
}

static void test_short_gap_is_no_failover(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	/* 2.5 s gaps (a slow link) never make it fail over, nor break steadiness */
	const struct schedule sc[3] = {
		{ { { 0, 200 } } },
		{ { { 0, 20 }, { 22.5, 40 }, { 42.5, 200 } } },
		{ { { 0, 200 } } },
	};

	imu_select_init(&s, c, SEC);
	assert_int_equal(run(&s, sc, 10, 100, ch, 8), 0);
	assert_int_equal(imu_select_current(&s), 1);
	gk_config_free(c);
}

static void test_preferred_never_streams(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	const struct schedule sc[3] = {
		{ { { 0, 200 } } },
		{ { { 0, 0 } } },
		{ { { 0, 0 } } },
	};

	imu_select_init(&s, c, SEC);	/* chosen at the clock's 1 s = t 0 */
	assert_int_equal(run(&s, sc, 10, 100, ch, 8), 1);
	expect(&ch[0], 10, IMU_SELECT_FAILOVER, 1, 0);
	gk_config_free(c);
}

static void test_nothing_else_streams(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	/* the sacrum clip dies at 10 s; the strap only comes up at 60 s */
	const struct schedule sc[3] = {
		{ { { 60, 200 } } },
		{ { { 0, 10 } } },
		{ { { 0, 200 } } },
	};

	imu_select_init(&s, c, SEC);
	assert_int_equal(run(&s, sc, 10, 100, ch, 8), 1);
	/* no one to switch to before 60 s; then at once (the current is long silent) */
	expect(&ch[0], 60, IMU_SELECT_FAILOVER, 1, 0);
	gk_config_free(c);
}

static void test_failover_off(void **state)
{
	struct gk_config *c = load(two_imus);
	struct imu_select s;
	struct change ch[8];
	const struct schedule sc[3] = {
		{ { { 0, 200 } } },
		{ { { 0, 20 } } },
		{ { { 0, 200 } } },
	};

	imu_select_init(&s, c, SEC);
	assert_int_equal(run(&s, sc, 0, 100, ch, 8), 0);
	assert_int_equal(imu_select_current(&s), 1);
	assert_false(imu_select_streaming(&s, 1, 101 * SEC));
	assert_true(imu_select_streaming(&s, 0, 101 * SEC));
	/* the footpod is no candidate, whatever it sends */
	assert_false(imu_select_streaming(&s, 2, 101 * SEC));
	gk_config_free(c);
}

static void test_named_sensor_fails_over_too(void **state)
{
	static const char text[] =
		"form = { imu_sensor = \"chest\"; imu_failover_s = 5; };\n"
		"sensors = (\n"
		"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },\n"
		"  { alias = \"sacrum\"; kind = \"polar-verity-sense\";"
	"    address = \"A0:9E:1A:00:00:02\"; },\n"
		"  { alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; }\n"
		");\n";
	struct gk_config *c = load(text);
	struct imu_select s;
	struct change ch[8];
	const struct schedule sc[3] = {
		{ { { 0, 30 }, { 40, 200 } } },
		{ { { 0, 200 } } },
		{ { { 0, 0 } } },
	};

	assert_true(c->form.imu_failover_s == 5);
	imu_select_init(&s, c, SEC);
	assert_int_equal(imu_select_current(&s), 0);
	assert_int_equal(run(&s, sc, c->form.imu_failover_s, 100, ch, 8), 2);
	expect(&ch[0], 35, IMU_SELECT_FAILOVER, 0, 1);
	expect(&ch[1], 45, IMU_SELECT_RETURN, 1, 0);
	gk_config_free(c);
}

static void test_names(void **state)
{
	assert_string_equal(imu_select_change_to_string(IMU_SELECT_KEEP), "keep");
	assert_string_equal(imu_select_change_to_string(IMU_SELECT_FAILOVER), "failover");
	assert_string_equal(imu_select_change_to_string(IMU_SELECT_RETURN), "return");
	assert_null(imu_select_change_to_string(_IMU_SELECT_CHANGE_MAX));
	assert_null(imu_select_change_to_string(_IMU_SELECT_CHANGE_INVALID));
}

/* ---- the config keys ------------------------------------------------------- */

static const struct key_case {
	const char *form;
	const char *error;		/* NULL: loads */
} key_cases[] = {
	{ "", NULL },
	{ "imu_sensor = \"sacrum\";", NULL },
	{ "imu_failover_s = 0;", NULL },
	{ "imu_failover_s = 2;", NULL },
	{ "imu_failover_s = 600.0;", NULL },
	{ "imu_sensor = \"nope\";", "imu.conf:1: form.imu_sensor: no sensor has the alias 'nope'" },
	{ "imu_sensor = \"pod\";", "imu.conf:1: form.imu_sensor: 'pod' is a footpod, which has "
	  "no IMU" },
	{ "imu_sensor = \"a b\";", "imu.conf:1: form.imu_sensor: 'a b': only letters" },
	{ "imu_sensor = 3;", "imu.conf:1: form.imu_sensor: expected a string" },
	{ "imu_failover_s = 1.5;", "imu.conf:1: form.imu_failover_s: 1.5 s is too short: 0 "
	  "(never switch) or at least 2 s" },
	{ "imu_failover_s = 601;", "imu.conf:1: form.imu_failover_s: 601 is out of range" },
	{ "imu_failover_s = -1;", "imu.conf:1: form.imu_failover_s: -1 is out of range" },
};

static void test_config_keys(void **state)
{
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *t = &key_cases[i];
		char text[1024];
		struct gk_config *c = NULL;
		char *errors = NULL;
		int r;

		snprintf(text, sizeof(text), "form = { %s }; %s", t->form, two_imus);
		r = gk_config_load_string(text, "imu.conf", &c, &errors);
		if (!t->error) {
			if (r < 0)
				fail_msg("'%s' refused:\n%s", t->form, errors ? errors : "");
			gk_config_free(c);
			continue;
		}
		assert_int_equal(r, -EINVAL);
		assert_non_null(errors);
		if (!strstr(errors, t->error))
			fail_msg("'%s': expected '%s' in:\n%s", t->form, t->error, errors);
		free(errors);
	}
}

static void test_config_defaults_and_reload(void **state)
{
	struct gk_config *old = load("form = { imu_sensor = \"chest\"; imu_failover_s = 30; };"
				     "sensors = ( { alias = \"chest\"; kind = \"polar-h10\";"
				     " address = \"A0:9E:1A:00:00:01\"; },"
				     " { alias = \"vs\"; kind = \"polar-verity-sense\";"
				     " address = \"A0:9E:1A:00:00:02\"; } );");
	struct gk_config *new = load("form = { imu_sensor = \"vs\"; imu_failover_s = 20; };"
				     "sensors = ( { alias = \"chest\"; kind = \"polar-h10\";"
				     " address = \"A0:9E:1A:00:00:01\"; },"
				     " { alias = \"vs\"; kind = \"polar-verity-sense\";"
				     " address = \"A0:9E:1A:00:00:02\"; } );");
	struct gk_config d;
	char buf[256];

	gk_config_defaults(&d);
	assert_string_equal(d.form.imu_sensor, "");
	assert_true(d.form.imu_failover_s == GK_IMU_FAILOVER_S_DEFAULT);

	/* the choice needs a restart (as the sensors do); the delay reloads */
	assert_int_equal(gk_config_keep_restart_keys(old, new, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "form.imu_sensor");
	assert_string_equal(new->form.imu_sensor, "chest");
	assert_true(new->form.imu_failover_s == 20);
	gk_config_free(old);
	gk_config_free(new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/daemon/imu-select/rank", test_rank, NULL, NULL, NULL },
		{ "/daemon/imu-select/failover-and-return", test_failover_and_return, NULL, NULL,
		  NULL },
		{ "/daemon/imu-select/return-needs-steady-stream", test_return_needs_steady_stream,
		  NULL, NULL, NULL },
		{ "/daemon/imu-select/short-gap-is-no-failover", test_short_gap_is_no_failover,
		  NULL, NULL, NULL },
		{ "/daemon/imu-select/preferred-never-streams", test_preferred_never_streams, NULL,
		  NULL, NULL },
		{ "/daemon/imu-select/nothing-else-streams", test_nothing_else_streams, NULL, NULL,
		  NULL },
		{ "/daemon/imu-select/failover-off", test_failover_off, NULL, NULL, NULL },
		{ "/daemon/imu-select/named-sensor-fails-over-too",
		  test_named_sensor_fails_over_too, NULL, NULL, NULL },
		{ "/daemon/imu-select/names", test_names, NULL, NULL, NULL },
		{ "/config/imu-keys", test_config_keys, NULL, NULL, NULL },
		{ "/config/imu-keys-defaults-reload", test_config_defaults_and_reload, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
