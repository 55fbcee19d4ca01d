// SPDX-License-Identifier: GPL-2.0-or-later
/* Tests for config/: good files load, every bad one names file:line: key. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/utf8.h"
#include "config/config.h"
#include "form/form.h"

/* The exact file from issue 6: tools outside the project write such files. */
static const char issue_example[] =
	"node = \"gym\";\n"
	"mqtt = { uri = \"mqtt://127.0.0.1:1883\"; };\n"
	"sensors = (\n"
	"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; "
	"mount = \"chest\"; },\n"
	"  { alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; }\n"
	");\n";

static void test_issue_example(void **state)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	assert_int_equal(gk_config_load_string(issue_example, "gym.conf", &c, &errors), 0);
	assert_null(errors);
	assert_string_equal(c->node, "gym");
	assert_string_equal(c->mqtt.uri, "mqtt://127.0.0.1:1883");
	assert_string_equal(c->mqtt.client_id, "gaitkeeper-gym");
	assert_int_equal(c->n_sensors, 2);
	assert_string_equal(c->sensors[0].alias, "chest");
	assert_int_equal(c->sensors[0].kind, GK_SENSOR_KIND_POLAR_H10);
	assert_string_equal(c->sensors[0].address, "A0:9E:1A:00:00:01");
	assert_int_equal(c->sensors[0].mount, GK_MOUNT_CHEST);
	assert_string_equal(c->sensors[1].alias, "pod");
	assert_int_equal(c->sensors[1].kind, GK_SENSOR_KIND_FOOTPOD);
	assert_string_equal(c->sensors[1].name, "Stryd*");
	assert_int_equal(c->sensors[1].mount, GK_MOUNT_NONE);
	/* Everything else has its default. */
	assert_true(c->mqtt.tls_verify_hostname);
	assert_true(c->mqtt.ha_discovery);
	assert_string_equal(c->mqtt.base_topic, "gaitkeeper");
	assert_string_equal(c->mqtt.ha_prefix, "homeassistant");
	assert_true(c->dbus.enabled);
	assert_int_equal(c->spool.spool_kib, 4096);
	gk_config_free(c);
}

static void test_empty_file_defaults(void **state)
{
	struct gk_config *c = NULL;

	assert_int_equal(gk_config_load_string("", NULL, &c, NULL), 0);
	assert_true(c->node[0] != 0);		/* from the host name */
	assert_int_equal(c->n_sensors, 0);
	assert_int_equal(c->log_level, GK_LOG_LEVEL_INFO);
	assert_int_equal(c->mqtt.keepalive_s, 30);
	gk_config_free(c);
}

/* The thresholds the config offers start where form/ starts. */
static void test_defaults_match_form(void **state)
{
	struct gk_config c;
	struct form_params p;

	gk_config_defaults(&c);
	form_params_default(&p);
	assert_true(c.form.warmup_s == p.warmup_s);
	assert_true(c.form.baseline_s == p.baseline_s);
	assert_true(c.form.auto_session == p.auto_session);
	assert_true(c.form.auto_start_s == p.auto_start_s);
	assert_true(c.form.auto_stop_s == p.auto_stop_s);
	assert_true(c.alerts.min_duration_s == p.alert_min_duration_s);
	assert_true(c.alerts.clear_s == p.alert_clear_s);
	assert_true(c.alerts.repeat_s == p.alert_repeat_s);
	assert_true(c.alerts.cadence_drop_pct == p.cadence_drop_pct);
	assert_true(c.alerts.gct_rise_ms == p.gct_rise_ms);
	assert_true(c.alerts.lean_band_deg == p.lean_band_deg);
	assert_true(c.alerts.lean_max_deg == p.lean_max_deg);
	assert_true(c.alerts.pelvic_drop_rise_deg == p.pelvic_drop_rise_deg);
	assert_true(c.alerts.gct_balance_max_pct == p.gct_balance_max_pct);
	assert_true(c.alerts.vertical_oscillation_rise_mm == p.vertical_oscillation_rise_mm);
	assert_true(c.alerts.pain_level == p.pain_alert_level);
}

static const struct bad_case {
	const char *name;
	const char *text;
	const char *expect;	/* must appear in the errors */
} bad_cases[] = {
	{ "/config/bad/unknown-top-key", "node = \"gym\";\nfoo = 1;\n",
	  "bad.conf:2: foo: unknown key" },
	{ "/config/bad/unknown-group-key", "mqtt = {\n  uri = \"mqtt://1.2.3.4:1\";\n"
	  "  colour = \"red\";\n};\n", "bad.conf:3: mqtt.colour: unknown key" },
	{ "/config/bad/unknown-sensor-key", "sensors = (\n { alias = \"a\"; kind = \"footpod\";"
	  " name = \"x\";\n   speed = 2; }\n);\n", "bad.conf:3: sensors.[0].speed: unknown key" },
	{ "/config/bad/wrong-type-int", "mqtt = { keepalive_s = \"30\"; };\n",
	  "bad.conf:1: mqtt.keepalive_s: expected an integer, got a string" },
	{ "/config/bad/wrong-type-bool", "\n\ndbus = { enabled = 1; };\n",
	  "bad.conf:3: dbus.enabled: expected true or false, got an integer" },
	{ "/config/bad/wrong-type-string", "node = 5;\n",
	  "bad.conf:1: node: expected a string, got an integer" },
	{ "/config/bad/float-for-int", "mqtt = { keepalive_s = 30.5; };\n",
	  "bad.conf:1: mqtt.keepalive_s: expected an integer, got a number" },
	{ "/config/bad/group-expected", "mqtt = 3;\n",
	  "bad.conf:1: mqtt: expected a group { ... }, got an integer" },
	{ "/config/bad/out-of-range-low", "mqtt = { keepalive_s = 1; };\n",
	  "bad.conf:1: mqtt.keepalive_s: 1 is out of range (5..600)" },
	{ "/config/bad/out-of-range-high", "\nspool = { size_kib = 999999999; };\n",
	  "bad.conf:2: spool.size_kib: 999999999 is out of range (64..65536)" },
	{ "/config/bad/out-of-range-double", "alerts = { lean_max_deg = 90.0; };\n",
	  "bad.conf:1: alerts.lean_max_deg: 90 is out of range (5..45)" },
	{ "/config/bad/negative", "runner = { max_hr_bpm = -5; };\n",
	  "bad.conf:1: runner.max_hr_bpm: -5 is out of range (100..230)" },
	{ "/config/bad/bad-enum", "log_level = \"loud\";\n",
	  "bad.conf:1: log_level: unknown value 'loud'" },
	{ "/config/bad/bad-kind", "sensors = ( { alias = \"a\"; kind = \"polar-h11\"; "
	  "name = \"x\"; } );\n", "bad.conf:1: sensors.[0].kind: unknown value 'polar-h11'" },
	{ "/config/bad/bad-mount", "sensors = ( { alias = \"a\"; kind = \"polar-h10\"; "
	  "name = \"x\"; mount = \"head\"; } );\n", "sensors.[0].mount: unknown value 'head'" },
	{ "/config/bad/bad-address", "sensors = ( { alias = \"a\"; kind = \"footpod\";\n"
	  "address = \"A0:9E:1A:00:00\"; } );\n",
	  "bad.conf:2: sensors.[0].address: 'A0:9E:1A:00:00': expected a Bluetooth address" },
	{ "/config/bad/bad-uri", "mqtt = { uri = \"http://1.2.3.4\"; };\n",
	  "bad.conf:1: mqtt.uri: 'http://1.2.3.4': expected mqtt://" },
	{ "/config/bad/bad-node", "node = \"my gym/1\";\n",
	  "bad.conf:1: node: 'my gym/1': only letters, digits" },
	{ "/config/bad/wildcard-topic", "mqtt = { base_topic = \"a/#\"; };\n",
	  "bad.conf:1: mqtt.base_topic: 'a/#': MQTT wildcards" },
	{ "/config/bad/missing-alias", "sensors = (\n { kind = \"footpod\"; name = \"x\"; } );\n",
	  "bad.conf:2: sensors.[0].alias: missing (required)" },
	{ "/config/bad/missing-kind", "sensors = ( { alias = \"a\"; name = \"x\"; } );\n",
	  "bad.conf:1: sensors.[0].kind: missing (required)" },
	{ "/config/bad/no-address-or-name", "sensors = (\n\n { alias = \"a\"; kind = \"footpod\"; }"
	  " );\n", "bad.conf:3: sensors.[0]: needs an address or a name pattern" },
	{ "/config/bad/mount-on-footpod", "sensors = ( { alias = \"a\"; kind = \"footpod\"; "
	  "name = \"x\";\n mount = \"chest\"; } );\n",
	  "bad.conf:2: sensors.[0].mount: only polar-h10 and polar-verity-sense" },
	{ "/config/bad/duplicate-alias", "sensors = (\n { alias = \"a\"; kind = \"footpod\"; "
	  "name = \"x\"; },\n { alias = \"a\"; kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:3: sensors.[1].alias: 'a' is already used by sensors.[0]" },
	{ "/config/bad/too-many-sensors", "sensors = (\n"
	  "{alias=\"a\";kind=\"footpod\";name=\"x\";},{alias=\"b\";kind=\"footpod\";name=\"x\";},"
	  "{alias=\"c\";kind=\"footpod\";name=\"x\";},{alias=\"d\";kind=\"footpod\";name=\"x\";},"
	  "{alias=\"e\";kind=\"footpod\";name=\"x\";},{alias=\"f\";kind=\"footpod\";name=\"x\";},"
	  "{alias=\"g\";kind=\"footpod\";name=\"x\";},{alias=\"h\";kind=\"footpod\";name=\"x\";},"
	  "{alias=\"i\";kind=\"footpod\";name=\"x\";});\n",
	  "bad.conf:1: sensors: 9 sensors, at most 8 are supported" },
	{ "/config/bad/sensors-not-list", "sensors = { alias = \"a\"; };\n",
	  "bad.conf:1: sensors: expected a list" },
	{ "/config/bad/sensor-not-group", "sensors = ( \"chest\" );\n",
	  "bad.conf:1: sensors.[0]: expected a group" },
	{ "/config/bad/cert-without-key", "mqtt = { uri = \"mqtts://1.2.3.4:8883\";\n"
	  "tls_cert = \"/c.pem\"; };\n", "bad.conf:1: mqtt.tls_cert: tls_cert and tls_key" },
	{ "/config/bad/tls-files-plain-uri", "mqtt = { tls_ca = \"/ca.pem\"; };\n",
	  "bad.conf:1: mqtt.uri: TLS files are set but the uri is not mqtts://" },
	{ "/config/bad/syntax", "node = \"gym\";\nmqtt = { uri = ; };\n",
	  "bad.conf:2: syntax error" },
	{ "/config/bad/duplicate-key", "node = \"a\";\nnode = \"b\";\n", "bad.conf:2:" },
	{ "/config/bad/too-long-string", "node = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n",
	  "bad.conf:1: node: too long (42 bytes, at most 31)" },
	{ "/config/bad/empty-alias", "sensors = ( { alias = \"\"; kind = \"footpod\"; "
	  "name = \"x\"; } );\n", "bad.conf:1: sensors.[0].alias: must not be empty" },
	/*
	 * The daemon's own Home Assistant groups: alias "run" gave the ids of the
	 * run device (gaitkeeper_gym_run) and its entities (..._run_speed_mps),
	 * "session" those of ..._session_state: each config overwrote the other.
	 */
	{ "/config/bad/alias-reserved-run", "sensors = (\n { alias = \"run\"; "
	  "kind = \"treadmill\"; name = \"x\"; } );\n",
	  "bad.conf:2: sensors.[0].alias: 'run' is reserved, in any case, for the daemon's own "
	  "MQTT topic and Home Assistant groups: alert, cmd, gateway, pain, run, sensor, "
	  "session, status, summary" },
	{ "/config/bad/alias-reserved-session", "sensors = (\n { alias = \"belt\"; "
	  "kind = \"treadmill\"; name = \"x\"; },\n { alias = \"session\"; "
	  "kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:3: sensors.[1].alias: 'session' is reserved" },
	/* default_entity_id lower-cases: sensor.gaitkeeper_gym_gateway_... either way */
	{ "/config/bad/alias-reserved-any-case", "sensors = ( { alias = \"Summary\"; "
	  "kind = \"footpod\"; name = \"x\"; } );\n",
	  "bad.conf:1: sensors.[0].alias: 'Summary' is reserved" },
	{ "/config/bad/alias-duplicate-case", "sensors = (\n { alias = \"Chest\"; "
	  "kind = \"polar-h10\"; name = \"x\"; },\n { alias = \"chest\"; "
	  "kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:3: sensors.[1].alias: 'chest' is already used by sensors.[0] as 'Chest' "
	  "(Home Assistant entity ids ignore case, take '-' as '_', a run of them as one and "
	  "none at the ends)" },
	{ "/config/bad/alias-duplicate-dash", "sensors = (\n { alias = \"hr-1\"; "
	  "kind = \"heart-rate\"; name = \"x\"; },\n\n { alias = \"HR_1\"; "
	  "kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:4: sensors.[1].alias: 'HR_1' is already used by sensors.[0] as 'hr-1'" },
	/* slugify() in Home Assistant: "hr-" and "hr" are both sensor...._hr_... */
	{ "/config/bad/alias-duplicate-trailing-dash", "sensors = (\n { alias = \"hr\"; "
	  "kind = \"heart-rate\"; name = \"x\"; },\n { alias = \"hr-\"; "
	  "kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:3: sensors.[1].alias: 'hr-' is already used by sensors.[0] as 'hr'" },
	{ "/config/bad/alias-duplicate-dash-run", "sensors = (\n { alias = \"a_b\"; "
	  "kind = \"footpod\"; name = \"x\"; },\n { alias = \"_A--b\"; "
	  "kind = \"heart-rate\"; name = \"y\"; } );\n",
	  "bad.conf:3: sensors.[1].alias: '_A--b' is already used by sensors.[0] as 'a_b'" },
	{ "/config/bad/alias-reserved-dashes", "sensors = ( { alias = \"run-\"; "
	  "kind = \"footpod\"; name = \"x\"; } );\n",
	  "bad.conf:1: sensors.[0].alias: 'run-' is reserved" },
	{ "/config/bad/alias-topic-chars", "sensors = ( { alias = \"a/b\"; "
	  "kind = \"footpod\"; name = \"x\"; } );\n",
	  "bad.conf:1: sensors.[0].alias: 'a/b': only letters, digits, '-' and '_'" },
};

static void test_bad(void **state)
{
	const struct bad_case *t = *state;
	struct gk_config *c = NULL;
	char *errors = NULL;
	int r;

	r = gk_config_load_string(t->text, "bad.conf", &c, &errors);
	assert_true(r < 0);
	assert_null(c);
	assert_non_null(errors);
	if (!strstr(errors, t->expect))
		fail_msg("expected '%s' in:\n%s", t->expect, errors);
	free(errors);
}

/* Every reserved name is refused in any case, and the sensors.[].alias row lists them all. */
static void test_alias_reserved_all(void **state)
{
	_cleanup_free_ char *doc = NULL;
	char text[256], expect[192], list[160] = "";
	size_t size = 0, n = 0;
	FILE *f;

	for (size_t i = 0; gk_alias_reserved[i]; i++) {
		char upper[GK_NAME_MAX];
		const char *const variants[] = { gk_alias_reserved[i], upper };

		for (size_t j = 0; j <= strlen(gk_alias_reserved[i]); j++)
			upper[j] = (char)toupper((unsigned char)gk_alias_reserved[i][j]);
		for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
			const char *a = variants[v];
			struct gk_config *c = NULL;
			char *errors = NULL;

			snprintf(text, sizeof(text), "sensors = ( { alias = \"%s\"; "
				 "kind = \"footpod\"; name = \"x\"; } );\n", a);
			snprintf(expect, sizeof(expect), "r.conf:1: sensors.[0].alias: '%s' is "
				 "reserved", a);
			assert_int_equal(gk_config_load_string(text, "r.conf", &c, &errors),
					 -EINVAL);
			if (!strstr(errors, expect))
				fail_msg("expected '%s' in:\n%s", expect, errors);
			free(errors);
		}
		n += snprintf(list + n, sizeof(list) - n, "%s%s", !i ? "Not " :
			      gk_alias_reserved[i + 1] ? ", " : " or ", gk_alias_reserved[i]);
	}

	/* The sensors.[].alias row of docs/config.md lists them all. */
	f = open_memstream(&doc, &size);
	assert_non_null(f);
	assert_int_equal(gk_config_write_markdown(f), 0);
	fclose(f);
	snprintf(expect, sizeof(expect), "%s in any case", list);
	if (!strstr(doc, expect))
		fail_msg("expected '%s' in the sensors.[].alias row", expect);
}

/* Names near a reserved one, and aliases unlike in more than case, still load. */
static void test_alias_near_reserved(void **state)
{
	static const char text[] =
		"sensors = (\n"
		" { alias = \"runner\"; kind = \"footpod\"; name = \"a\"; },\n"
		" { alias = \"run2\"; kind = \"footpod\"; name = \"b\"; },\n"
		" { alias = \"session-hr\"; kind = \"heart-rate\"; name = \"c\"; },\n"
		" { alias = \"Chest\"; kind = \"polar-h10\"; name = \"d\"; },\n"
		" { alias = \"chest2\"; kind = \"polar-h10\"; name = \"e\"; },\n"
		" { alias = \"hr-1\"; kind = \"heart-rate\"; name = \"f\"; },\n"
		" { alias = \"hr_2\"; kind = \"heart-rate\"; name = \"g\"; } );\n";
	struct gk_config *c = NULL;
	char *errors = NULL;

	if (gk_config_load_string(text, "ok.conf", &c, &errors) < 0)
		fail_msg("expected to load:\n%s", errors);
	assert_int_equal(c->n_sensors, 7);
	assert_string_equal(c->sensors[3].alias, "Chest");
	gk_config_free(c);

	assert_true(gk_alias_same("hr-1", "HR_1"));
	assert_false(gk_alias_same("run", "run2"));
	assert_false(gk_alias_same("run2", "run"));
	assert_true(gk_alias_is_reserved("Run"));
	assert_false(gk_alias_is_reserved("runner"));
}

static char *write_temp(const char *text, char *path, size_t size)
{
	int fd;

	snprintf(path, size, "/tmp/gk-test-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Messages from a real file carry its path. */
static void test_file_error_names_path(void **state)
{
	char path[64], expect[128];
	struct gk_config *c = NULL;
	char *errors = NULL;

	write_temp("node = \"gym\";\n\nmqtt = { keepalive_s = 0; };\n", path, sizeof(path));
	assert_int_equal(gk_config_load_file(path, &c, &errors), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3: mqtt.keepalive_s: 0 is out of range", path);
	if (!strstr(errors, expect))
		fail_msg("expected '%s' in:\n%s", expect, errors);
	free(errors);
	unlink(path);
}

static void test_file_missing(void **state)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	assert_int_equal(gk_config_load_file("/nonexistent/gk.conf", &c, &errors), -ENOENT);
	assert_non_null(strstr(errors, "/nonexistent/gk.conf:0: cannot read file"));
	free(errors);
}

static void test_many_errors_all_reported(void **state)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	assert_int_equal(gk_config_load_string("a = 1;\nb = 2;\nc = 3;\n", "m.conf", &c,
					       &errors), -EINVAL);
	assert_non_null(strstr(errors, "m.conf:1: a: unknown key"));
	assert_non_null(strstr(errors, "m.conf:2: b: unknown key"));
	assert_non_null(strstr(errors, "m.conf:3: c: unknown key"));
	free(errors);
}

/*
 * Errors quote the file's bytes; they go to the log, D-Bus and MQTT JSON,
 * which need UTF-8. Before, a Latin-1 value went out raw: gateway/state's
 * config_error was not valid JSON text. Now such a byte reads \xHH; valid
 * UTF-8 (the 'é' of a node) stays as it is.
 */
static void test_errors_are_utf8(void **state)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	assert_int_equal(gk_config_load_string("form = { imu_sensor = \"ch\xe9st\"; };\n"
					       "node = \"n\xc3\xa9\";\n", "l\xe9.conf", &c, &errors),
			 -EINVAL);
	assert_non_null(strstr(errors, "l\\xe9.conf:1: form.imu_sensor: 'ch\\xe9st'"));
	assert_non_null(strstr(errors, "l\\xe9.conf:2: node: 'n\xc3\xa9'"));
	for (const char *p = errors; *p; p += gk_utf8_char_len(p))
		assert_true(gk_utf8_char_len(p) > 0);
	free(errors);
}

static void test_reload_keeps_restart_keys(void **state)
{
	struct gk_config *old = NULL, *new = NULL;
	char buf[256], *shifted = NULL;

	assert_int_equal(gk_config_load_string(issue_example, NULL, &old, NULL), 0);
	assert_int_equal(gk_config_load_string(
		"node = \"other\";\nmqtt = { uri = \"mqtt://10.0.0.1:1883\"; "
		"step_events = true; };\nalerts = { lean_max_deg = 20.0; };\n",
		NULL, &new, NULL), 0);
	/* node, mqtt.uri, mqtt.client_id (derived from node), sensors */
	assert_int_equal(gk_config_keep_restart_keys(old, new, buf, sizeof(buf)), 4);
	assert_non_null(strstr(buf, "node"));
	assert_non_null(strstr(buf, "mqtt.uri"));
	assert_non_null(strstr(buf, "sensors"));
	/* Restart keys kept, reloadable ones taken. */
	assert_string_equal(new->node, "gym");
	assert_string_equal(new->mqtt.uri, "mqtt://127.0.0.1:1883");
	assert_int_equal(new->n_sensors, 2);
	assert_true(new->mqtt.step_events);
	assert_true(new->alerts.lean_max_deg == 20.0);
	gk_config_free(old);
	gk_config_free(new);

	/* the same file with a comment line on top: its sensors moved, not changed */
	assert_int_equal(gk_config_load_string(issue_example, NULL, &old, NULL), 0);
	shifted = malloc(strlen(issue_example) + 16);
	assert_non_null(shifted);
	sprintf(shifted, "# a comment\n%s", issue_example);
	assert_int_equal(gk_config_load_string(shifted, NULL, &new, NULL), 0);
	assert_int_not_equal(old->sensors[0].line, new->sensors[0].line);
	assert_int_equal(gk_config_keep_restart_keys(old, new, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	free(shifted);
	gk_config_free(old);
	gk_config_free(new);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* docs/config.md and the example are generated from the schema: in step. */
static void check_generated(const char *path, int (*gen)(FILE *f))
{
	_cleanup_free_ char *want = NULL, *have = read_all(path);
	size_t size = 0;
	FILE *f = open_memstream(&want, &size);

	assert_non_null(f);
	assert_int_equal(gen(f), 0);
	fclose(f);
	if (!have)
		fail_msg("cannot read %s (run from the repository root)", path);
	if (!streq(want, have))
		fail_msg("%s is out of date: run `make config-docs`", path);
}

static void test_docs_in_step(void **state)
{
	check_generated("docs/config.md", gk_config_write_markdown);
}

static void test_example_in_step(void **state)
{
	check_generated("config/gaitkeeper.conf.example", gk_config_write_example);
}

static void test_example_loads(void **state)
{
	struct gk_config *c = NULL;
	char *errors = NULL;

	if (gk_config_load_file("config/gaitkeeper.conf.example", &c, &errors) < 0)
		fail_msg("example config does not load:\n%s", errors ? errors : "");
	assert_int_equal(c->n_sensors, 4);
	gk_config_free(c);
}

static void test_enum_names(void **state)
{
	for (int k = 0; k < _GK_SENSOR_KIND_MAX; k++)
		assert_int_equal(gk_sensor_kind_from_string(gk_sensor_kind_to_string(k)), k);
	assert_int_equal(gk_sensor_kind_from_string("polar"), -EINVAL);
	assert_null(gk_sensor_kind_to_string(_GK_SENSOR_KIND_MAX));
	assert_int_equal(gk_mount_from_string("sacrum"), GK_MOUNT_SACRUM);
	assert_int_equal(gk_log_level_from_string("debug"), GK_LOG_LEVEL_DEBUG);
	assert_true(gk_sensor_kind_has_imu(GK_SENSOR_KIND_POLAR_VERITY_SENSE));
	assert_false(gk_sensor_kind_has_imu(GK_SENSOR_KIND_TREADMILL));
}

int main(void)
{
	struct CMUnitTest tests[ELEMENTSOF(bad_cases) + 16];
	size_t n = 0;

#define ADD(name, fn) tests[n++] = (struct CMUnitTest){ name, fn, NULL, NULL, NULL }
	ADD("/config/issue-example", test_issue_example);
	ADD("/config/empty-file-defaults", test_empty_file_defaults);
	ADD("/config/defaults-match-form", test_defaults_match_form);
	ADD("/config/file-error-names-path", test_file_error_names_path);
	ADD("/config/file-missing", test_file_missing);
	ADD("/config/many-errors", test_many_errors_all_reported);
	ADD("/config/errors-are-utf8", test_errors_are_utf8);
	ADD("/config/reload-keeps-restart-keys", test_reload_keeps_restart_keys);
	ADD("/config/docs-in-step", test_docs_in_step);
	ADD("/config/example-in-step", test_example_in_step);
	ADD("/config/example-loads", test_example_loads);
	ADD("/config/enum-names", test_enum_names);
	ADD("/config/alias-reserved-all", test_alias_reserved_all);
	ADD("/config/alias-near-reserved", test_alias_near_reserved);
#undef ADD
	for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){ bad_cases[i].name, test_bad, NULL, NULL,
						  (void *)&bad_cases[i] };
	return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
