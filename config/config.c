// SPDX-License-Identifier: GPL-2.0-or-later
/* The config schema table and the libconfig loader that validates against it. */
#include <ctype.h>
#include <stdarg.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/utf8.h"
#include "config/config.h"

enum schema_type {
	SCHEMA_BOOL,
	SCHEMA_UNSIGNED,
	SCHEMA_DOUBLE,
	SCHEMA_STRING,
	SCHEMA_ENUM,
};

/* Extra checks on a string value; return NULL when fine, else the problem. */
typedef const char *(*schema_check_cb_t)(const char *s);

struct schema_key {
	const char *path;		/* dotted; sensor keys are relative */
	enum schema_type type;
	size_t offset;			/* into gk_config or gk_sensor_config */
	size_t size;			/* strings: buffer size */
	double min, max;		/* numbers: range; strings: min length */
	double def_num;			/* bool, unsigned, double */
	const char *def_str;		/* string and enum defaults */
	const char *const *values;	/* enum names, NULL-terminated */
	schema_check_cb_t check;
	bool reloadable;
	bool optional;			/* unset by default: commented in the example */
	const char *unit;
	const char *doc;
};

static const char *const sensor_kind_names[] = {
	[GK_SENSOR_KIND_POLAR_H10] = "polar-h10",
	[GK_SENSOR_KIND_POLAR_VERITY_SENSE] = "polar-verity-sense",
	[GK_SENSOR_KIND_FOOTPOD] = "footpod",
	[GK_SENSOR_KIND_HEART_RATE] = "heart-rate",
	[GK_SENSOR_KIND_POWER] = "power",
	[GK_SENSOR_KIND_TREADMILL] = "treadmill",
	NULL,
};

/* "" = the kind's default mount (chest for polar-h10, sacrum otherwise). */
static const char *const mount_names[] = {
	[GK_MOUNT_NONE] = "",
	[GK_MOUNT_SACRUM] = "sacrum",
	[GK_MOUNT_WAIST] = "waist",
	[GK_MOUNT_CHEST] = "chest",
	NULL,
};

static const char *const log_level_names[] = {
	[GK_LOG_LEVEL_ERROR] = "error",
	[GK_LOG_LEVEL_WARNING] = "warning",
	[GK_LOG_LEVEL_NOTICE] = "notice",
	[GK_LOG_LEVEL_INFO] = "info",
	[GK_LOG_LEVEL_DEBUG] = "debug",
	NULL,
};

static int names_lookup(const char *const *names, const char *s)
{
	for (int i = 0; s && names[i]; i++)
		if (streq(names[i], s))
			return i;
	return -EINVAL;
}

/* names[i] for 0 <= i < max, else NULL. */
static const char *names_get(const char *const *names, int max, int i)
{
	if (i < 0 || i >= max)
		return NULL;
	return names[i];
}

const char *gk_sensor_kind_to_string(int kind)
{
	return names_get(sensor_kind_names, _GK_SENSOR_KIND_MAX, kind);
}

int gk_sensor_kind_from_string(const char *s)
{
	return names_lookup(sensor_kind_names, s);
}

const char *gk_mount_to_string(int mount)
{
	return names_get(mount_names, _GK_MOUNT_MAX, mount);
}

int gk_mount_from_string(const char *s)
{
	return names_lookup(mount_names, s);
}

const char *gk_log_level_to_string(int level)
{
	return names_get(log_level_names, _GK_LOG_LEVEL_MAX, level);
}

int gk_log_level_from_string(const char *s)
{
	return names_lookup(log_level_names, s);
}

bool gk_sensor_kind_has_imu(int kind)
{
	return kind == GK_SENSOR_KIND_POLAR_H10 || kind == GK_SENSOR_KIND_POLAR_VERITY_SENSE;
}

const char *const gk_alias_reserved[] = {
	GK_GROUP_ALERT, GK_GROUP_CMD, GK_GROUP_GATEWAY, GK_GROUP_PAIN, GK_GROUP_RUN,
	GK_GROUP_SENSOR, GK_GROUP_SESSION, GK_GROUP_STATUS, GK_GROUP_SUMMARY,
	NULL,
};

/*
 * The next character of an alias as Home Assistant's slugify() leaves it in
 * an entity id (daemon/ha.c, config_new()): lower case, a run of '-' and '_'
 * one '_', none at either end. *p moves past it; 0 at the end.
 */
static int alias_fold_next(const char **p, bool first)
{
	const unsigned char *s = (const unsigned char *)*p;
	bool sep = false;

	for (; *s && !isalnum(*s); s++)
		sep = true;
	if (!*s) {
		*p = (const char *)s;
		return 0;		/* trailing separators: none */
	}
	if (sep && !first) {
		*p = (const char *)s;	/* the separator now, the letter next time */
		return '_';
	}
	*p = (const char *)s + 1;
	return tolower(*s);
}

bool gk_alias_same(const char *a, const char *b)
{
	bool first = true;
	int x, y;

	do {
		x = alias_fold_next(&a, first);
		y = alias_fold_next(&b, first);
		if (x != y)
			return false;
		first = false;
	} while (x);
	return true;
}

bool gk_alias_is_reserved(const char *alias)
{
	for (size_t i = 0; gk_alias_reserved[i]; i++)
		if (gk_alias_same(alias, gk_alias_reserved[i]))
			return true;
	return false;
}

/* Node names and aliases become MQTT topic levels and HA unique ids. */
static const char *check_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return "only letters, digits, '-' and '_' are allowed";
	return NULL;
}

/* A topic prefix: no wildcards, no empty levels. */
static const char *check_topic(const char *s)
{
	size_t n = strlen(s);

	if (strpbrk(s, "+#"))
		return "MQTT wildcards '+' and '#' are not allowed";
	if (s[0] == '/' || (n && s[n - 1] == '/') || strstr(s, "//"))
		return "empty topic levels are not allowed";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return "control characters are not allowed";
	return NULL;
}

static const char *check_address(const char *s)
{
	if (!*s)
		return NULL;
	if (strlen(s) != 17)
		return "expected a Bluetooth address like AA:BB:CC:DD:EE:FF";
	for (unsigned i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return "expected a Bluetooth address like AA:BB:CC:DD:EE:FF";
	}
	return NULL;
}

static const char *check_uri(const char *s)
{
	static const char *const schemes[] = { "mqtt://", "tcp://", "mqtts://", "ssl://" };

	for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
		size_t n = strlen(schemes[i]);

		if (strncmp(s, schemes[i], n) == 0)
			return s[n] ? NULL : "no host after the scheme";
	}
	return "expected mqtt://HOST:PORT or mqtts://HOST:PORT (also tcp://, ssl://)";
}

#define C(field) offsetof(struct gk_config, field), sizeof(((struct gk_config *)0)->field)
#define S(field) offsetof(struct gk_sensor_config, field), \
	sizeof(((struct gk_sensor_config *)0)->field)

/*
 * The one schema table. Order is the order of docs/config.md and the
 * example config. Changing a line here changes both (make regenerates
 * them with `gaitkeeperd --dump-schema=...`; test-config checks).
 */
static const struct schema_key config_schema[] = {
	{ "node", SCHEMA_STRING, C(node), 0, 0, 0, "", NULL, check_name, false, true, NULL,
	  "Gateway name: the <node> level of every MQTT topic and part of Home Assistant "
	  "ids. Default: the host name (characters outside [A-Za-z0-9_-] become '-')." },
	{ "log_level", SCHEMA_ENUM, C(log_level), 0, 0, 0, "info", log_level_names, NULL, true,
	  false, NULL, "Most verbose level logged: error, warning, notice, info or debug "
	  "(--debug on the command line overrides it)." },

	{ "runner.height_m", SCHEMA_DOUBLE, C(runner.height_m), 1.0, 2.5, 0, NULL, NULL, NULL,
	  true, true, "m", "Runner's height; lets the form core judge stride length. "
	  "Unset = unknown." },
	{ "runner.max_hr_bpm", SCHEMA_UNSIGNED, C(runner.max_hr_bpm), 100, 230, 0, NULL, NULL,
	  NULL, true, true, "bpm", "Runner's maximum heart rate; heart-rate values above "
	  "it are treated as implausible. Unset = unknown." },

	{ "mqtt.uri", SCHEMA_STRING, C(mqtt.uri), 1, 0, 0, "mqtt://127.0.0.1:1883", NULL,
	  check_uri, false, false, NULL, "Broker. Give the host as an IP address: Paho "
	  "resolves names synchronously and a slow resolver stalls the client. "
	  "mqtts:// or ssl:// turns TLS on." },
	{ "mqtt.client_id", SCHEMA_STRING, C(mqtt.client_id), 0, 0, 0, "", NULL, NULL, false,
	  true, NULL, "MQTT client id of the persistent session. Default: "
	  "\"gaitkeeper-<node>\"." },
	{ "mqtt.username", SCHEMA_STRING, C(mqtt.username), 0, 0, 0, "", NULL, NULL, false,
	  true, NULL, "User name for the broker. Unset = anonymous." },
	{ "mqtt.password_file", SCHEMA_STRING, C(mqtt.password_file), 0, 0, 0, "", NULL, NULL,
	  false, true, NULL, "File whose first line is the password. Must not be readable "
	  "by others (mode 0600 or 0640), or the daemon refuses to start." },
	{ "mqtt.tls_ca", SCHEMA_STRING, C(mqtt.tls_ca), 0, 0, 0, "", NULL, NULL, false, true,
	  NULL, "CA certificate file (PEM) for mqtts://. Unset = the system trust store." },
	{ "mqtt.tls_cert", SCHEMA_STRING, C(mqtt.tls_cert), 0, 0, 0, "", NULL, NULL, false,
	  true, NULL, "Client certificate (PEM) for mqtts://; needs tls_key." },
	{ "mqtt.tls_key", SCHEMA_STRING, C(mqtt.tls_key), 0, 0, 0, "", NULL, NULL, false, true,
	  NULL, "Client private key (PEM) for mqtts://; needs tls_cert." },
	{ "mqtt.tls_verify_hostname", SCHEMA_BOOL, C(mqtt.tls_verify_hostname), 0, 0, 1, NULL,
	  NULL, NULL, false, false, NULL, "Check that the broker's certificate names the "
	  "host in uri (Paho's default is off; ours is on)." },
	{ "mqtt.keepalive_s", SCHEMA_UNSIGNED, C(mqtt.keepalive_s), 5, 600, 30, NULL, NULL,
	  NULL, false, false, "s", "MQTT keepalive; a dead link is noticed within about twice "
	  "this." },
	{ "mqtt.base_topic", SCHEMA_STRING, C(mqtt.base_topic), 1, 0, 0, "gaitkeeper", NULL,
	  check_topic, false, false, NULL, "First topic level; topics are "
	  "<base_topic>/<node>/..." },
	{ "mqtt.ha_discovery", SCHEMA_BOOL, C(mqtt.ha_discovery), 0, 0, 1, NULL, NULL, NULL,
	  true, false, NULL, "Publish Home Assistant MQTT discovery configs." },
	{ "mqtt.ha_prefix", SCHEMA_STRING, C(mqtt.ha_prefix), 1, 0, 0, "homeassistant", NULL,
	  check_topic, false, false, NULL, "Home Assistant discovery prefix; its "
	  "<prefix>/status \"online\" triggers a re-announce." },
	{ "mqtt.step_events", SCHEMA_BOOL, C(mqtt.step_events), 0, 0, 0, NULL, NULL, NULL, true,
	  false, NULL, "Publish one run/step message per detected step." },
	{ "mqtt.live_interval_ms", SCHEMA_UNSIGNED, C(mqtt.live_interval_ms), 250, 10000, 1000,
	  NULL, NULL, NULL, true, false, "ms", "Interval of run/live while a session runs." },

	{ "dbus.enabled", SCHEMA_BOOL, C(dbus.enabled), 0, 0, 1, NULL, NULL, NULL, false, false,
	  NULL, "Serve io.gaitkeeper.Gaitkeeper1 on the system bus "
	  "($DBUS_SYSTEM_BUS_ADDRESS when set)." },

	{ "spool.size_kib", SCHEMA_UNSIGNED, C(spool.spool_kib), GK_SPOOL_MIN_KIB,
	  GK_SPOOL_MAX_KIB, GK_SPOOL_DEFAULT_KIB, NULL, NULL, NULL, false, false, "KiB",
	  "Size cap of the must-deliver spool in the state directory; when full the "
	  "oldest records are dropped and counted." },

	{ "form.warmup_s", SCHEMA_DOUBLE, C(form.warmup_s), 0, 1800, 120, NULL, NULL, NULL,
	  true, false, "s", "Running time before the personal baseline is learnt." },
	{ "form.baseline_s", SCHEMA_DOUBLE, C(form.baseline_s), 30, 1800, 180, NULL, NULL,
	  NULL, true, false, "s", "Steady running the baseline is learnt over." },
	{ "form.auto_session", SCHEMA_BOOL, C(form.auto_session), 0, 0, 1, NULL, NULL, NULL,
	  true, false, NULL, "Start and stop sessions when running starts and stops." },
	{ "form.auto_start_s", SCHEMA_DOUBLE, C(form.auto_start_s), 1, 600, 10, NULL, NULL,
	  NULL, true, false, "s", "Running this long starts an automatic session." },
	{ "form.auto_stop_s", SCHEMA_DOUBLE, C(form.auto_stop_s), 5, 3600, 120, NULL, NULL,
	  NULL, true, false, "s", "Not running this long ends an automatic session." },
	{ "form.imu_sensor", SCHEMA_STRING, C(form.imu_sensor), 0, 0, 0, "", NULL, check_name,
	  false, true, NULL, "Alias of the sensor whose IMU feeds the form core (a polar-h10 "
	  "or polar-verity-sense in sensors). Unset = by declared mount: sacrum, then waist, "
	  "then chest; on a tie the one listed first." },
	{ "form.imu_failover_s", SCHEMA_DOUBLE, C(form.imu_failover_s), 0, 600,
	  GK_IMU_FAILOVER_S_DEFAULT, NULL, NULL, NULL, true, false, "s", "When the IMU sensor "
	  "feeding the form core has sent no data this long and another IMU sensor streams, "
	  "the form core switches to that one; it switches back once a preferred sensor has "
	  "streamed steadily this long again. 0 = never switch; else at least 2." },

	{ "alerts.min_duration_s", SCHEMA_DOUBLE, C(alerts.min_duration_s), 0, 600, 30, NULL,
	  NULL, NULL, true, false, "s", "A form metric must stay beyond its threshold this "
	  "long before an alert is raised (pain alerts are immediate)." },
	{ "alerts.clear_s", SCHEMA_DOUBLE, C(alerts.clear_s), 0, 600, 30, NULL, NULL, NULL,
	  true, false, "s", "Back within the threshold this long clears an alert." },
	{ "alerts.repeat_s", SCHEMA_DOUBLE, C(alerts.repeat_s), 0, 3600, 120, NULL, NULL, NULL,
	  true, false, "s", "Shortest gap between two alerts of one kind." },
	{ "alerts.cadence_drop_pct", SCHEMA_DOUBLE, C(alerts.cadence_drop_pct), 1, 30, 5,
	  NULL, NULL, NULL, true, false, "%", "Cadence this far below the baseline feeds the "
	  "overstriding alert." },
	{ "alerts.gct_rise_ms", SCHEMA_DOUBLE, C(alerts.gct_rise_ms), 10, 200, 30, NULL, NULL,
	  NULL, true, false, "ms", "Ground contact time this much above the baseline feeds "
	  "the overstriding alert." },
	{ "alerts.lean_band_deg", SCHEMA_DOUBLE, C(alerts.lean_band_deg), 1, 30, 5, NULL, NULL,
	  NULL, true, false, "deg", "Trunk lean further than this from the baseline raises "
	  "the not-upright alert." },
	{ "alerts.lean_max_deg", SCHEMA_DOUBLE, C(alerts.lean_max_deg), 5, 45, 15, NULL, NULL,
	  NULL, true, false, "deg", "Forward trunk lean above this raises the not-upright "
	  "alert whatever the baseline." },
	{ "alerts.pelvic_drop_rise_deg", SCHEMA_DOUBLE, C(alerts.pelvic_drop_rise_deg), 0.5,
	  20, 2, NULL, NULL, NULL, true, false, "deg", "Pelvic drop this much above the "
	  "baseline raises the pelvic-instability (core) alert." },
	{ "alerts.gct_balance_max_pct", SCHEMA_DOUBLE, C(alerts.gct_balance_max_pct), 50.5, 70,
	  52.2, NULL, NULL, NULL, true, false, "%", "Either side's share of ground contact "
	  "time above this raises the imbalance alert." },
	{ "alerts.vertical_oscillation_rise_mm", SCHEMA_DOUBLE,
	  C(alerts.vertical_oscillation_rise_mm), 5, 100, 15, NULL, NULL, NULL, true, false,
	  "mm", "Vertical oscillation this much above the baseline raises the bouncing "
	  "alert." },
	{ "alerts.pain_level", SCHEMA_DOUBLE, C(alerts.pain_level), 0, 10, 4, NULL, NULL, NULL,
	  true, false, NULL, "A reported pain at or above this level (0-10 scale) raises a "
	  "pain alert at once." },
};

/* Keys of each element of the `sensors` list. */
static const struct schema_key sensor_schema[] = {
	{ "alias", SCHEMA_STRING, S(alias), 1, 0, 0, NULL, NULL, check_name, false, false, NULL,
	  "Required. Short unique name: the <id> in sensor/<id>/... topics and the sensor's "
	  "part of Home Assistant ids. Letters, digits, '-' and '_'; two aliases must differ "
	  "in more than case, '-' vs '_', runs of them and any at the ends (Home Assistant "
	  "entity ids fold all that). Not "
	  GK_GROUP_ALERT ", " GK_GROUP_CMD ", " GK_GROUP_GATEWAY ", " GK_GROUP_PAIN ", "
	  GK_GROUP_RUN ", " GK_GROUP_SENSOR ", " GK_GROUP_SESSION ", " GK_GROUP_STATUS " or "
	  GK_GROUP_SUMMARY " in any case: the daemon's own topic and Home Assistant groups." },
	{ "kind", SCHEMA_ENUM, S(kind), 0, 0, 0, NULL, sensor_kind_names, NULL, false, false,
	  NULL, "Required. polar-h10, polar-verity-sense, footpod (RSC), heart-rate, power "
	  "(CPS) or treadmill (FTMS)." },
	{ "address", SCHEMA_STRING, S(address), 0, 0, 0, "", NULL, check_address, false, true,
	  NULL, "Bluetooth address. address or name (or both) is required." },
	{ "name", SCHEMA_STRING, S(name), 0, 0, 0, "", NULL, NULL, false, true, NULL,
	  "Advertised name pattern (shell glob, e.g. \"Stryd*\")." },
	{ "mount", SCHEMA_ENUM, S(mount), 0, 0, 0, "", mount_names, NULL, false, true, NULL,
	  "Only for polar-h10 and polar-verity-sense: sacrum, waist or chest. Default: chest "
	  "for polar-h10, sacrum for polar-verity-sense." },
	{ "rate_hz", SCHEMA_UNSIGNED, S(rate_hz), 25, 500, 200, NULL, NULL, NULL, false, true,
	  "Hz", "IMU sample rate asked for (the nearest the device offers is used)." },
	{ "range_g", SCHEMA_UNSIGNED, S(range_g), 2, 16, 8, NULL, NULL, NULL, false, true, "g",
	  "IMU accelerometer full scale." },
	{ "gyro", SCHEMA_BOOL, S(gyro), 0, 0, 1, NULL, NULL, NULL, false, true, NULL,
	  "Stream the gyroscope too where the kind has one (polar-verity-sense)." },
	{ "cadence_multiplier", SCHEMA_DOUBLE, S(cadence_multiplier), 0.5, 4.0, 1.0, NULL, NULL,
	  NULL, false, true, NULL, "Quirk: multiply the device's cadence by this; 2 for "
	  "footpods that report strides/min instead of steps/min." },
};

#undef C
#undef S

#define MAX_ERRORS 32u

struct errors {
	FILE *f;
	char *buf;
	size_t size;
	unsigned n;
	const char *name;	/* fallback file name */
};

/* Record "file:line: key: message"; returns -EINVAL for the caller's convenience. */
static int __attribute__((format(printf, 4, 5)))
error_add(struct errors *e, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	va_list ap;

	e->n++;
	if (!e->f || e->n > MAX_ERRORS)
		return -EINVAL;

	fprintf(e->f, "%s:%u: %s: ", file ? file : e->name, line, key);
	va_start(ap, fmt);
	vfprintf(e->f, fmt, ap);
	va_end(ap);
	fputc('\n', e->f);
	return -EINVAL;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ]";
	case CONFIG_TYPE_LIST:
		return "a list ( )";
	}
	return "a value";
}

static const char *schema_type_name(const struct schema_key *k)
{
	switch (k->type) {
	case SCHEMA_BOOL:
		return "true or false";
	case SCHEMA_UNSIGNED:
		return "an integer";
	case SCHEMA_DOUBLE:
		return "a number";
	case SCHEMA_STRING:
	case SCHEMA_ENUM:
		return "a string";
	}
	return "a value";
}

static void set_default(const struct schema_key *k, void *base)
{
	void *p = (uint8_t *)base + k->offset;

	switch (k->type) {
	case SCHEMA_BOOL:
		*(bool *)p = k->def_num != 0;
		break;
	case SCHEMA_UNSIGNED:
		*(unsigned *)p = (unsigned)k->def_num;
		break;
	case SCHEMA_DOUBLE:
		*(double *)p = k->def_num;
		break;
	case SCHEMA_STRING:
		snprintf(p, k->size, "%s", k->def_str ? k->def_str : "");
		break;
	case SCHEMA_ENUM:
		*(int *)p = k->def_str ? names_lookup(k->values, k->def_str) : -EINVAL;
		break;
	}
}

static void format_enum_values(const char *const *values, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; values[i] && n < size; i++) {
		if (!*values[i])
			continue;
		n += snprintf(buf + n, size - n, "%s%s", n ? ", " : "", values[i]);
	}
}

/* Parse one setting s into base according to k; errors name `key`. */
static int parse_value(const struct schema_key *k, const config_setting_t *s, void *base,
			const char *key, struct errors *e)
{
	void *p = (uint8_t *)base + k->offset;
	int type = config_setting_type(s);
	bool is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;

	switch (k->type) {
	case SCHEMA_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			goto wrong_type;
		*(bool *)p = config_setting_get_bool(s);
		return 0;

	case SCHEMA_UNSIGNED: {
		long long v;

		if (!is_int)
			goto wrong_type;
		v = config_setting_get_int64(s);
		if (v < (long long)k->min || v > (long long)k->max)
			return error_add(e, s, key, "%lld is out of range (%g..%g)", v, k->min,
					 k->max);
		*(unsigned *)p = (unsigned)v;
		return 0;
	}

	case SCHEMA_DOUBLE: {
		double v;

		if (type == CONFIG_TYPE_FLOAT)
			v = config_setting_get_float(s);
		else if (is_int)
			v = (double)config_setting_get_int64(s);
		else
			goto wrong_type;
		if (!isfinite(v) || v < k->min || v > k->max)
			return error_add(e, s, key, "%g is out of range (%g..%g)", v, k->min,
					 k->max);
		*(double *)p = v;
		return 0;
	}

	case SCHEMA_STRING: {
		const char *v, *problem;
		size_t len;

		if (type != CONFIG_TYPE_STRING)
			goto wrong_type;
		v = config_setting_get_string(s);
		len = strlen(v);
		if (len >= k->size)
			return error_add(e, s, key, "too long (%zu bytes, at most %zu)", len,
					 k->size - 1);
		if (len < (size_t)k->min)
			return error_add(e, s, key, "must not be empty");
		problem = k->check ? k->check(v) : NULL;
		if (problem)
			return error_add(e, s, key, "'%s': %s", v, problem);
		memcpy(p, v, len + 1);
		return 0;
	}

	case SCHEMA_ENUM: {
		const char *v;
		int i;

		if (type != CONFIG_TYPE_STRING)
			goto wrong_type;
		v = config_setting_get_string(s);
		i = *v ? names_lookup(k->values, v) : -EINVAL;
		if (i < 0) {
			char list[256];

			format_enum_values(k->values, list, sizeof(list));
			return error_add(e, s, key, "unknown value '%s' (expected one of: %s)", v,
					 list);
		}
		*(int *)p = i;
		return 0;
	}
	}
	return 0;

wrong_type:
	return error_add(e, s, key, "expected %s, got %s", schema_type_name(k),
			 type_name(type));
}

static const struct schema_key *schema_find(const struct schema_key *table, size_t n,
					    const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (streq(table[i].path, path))
			return &table[i];
	return NULL;
}

/* Is path ("mqtt") a group that holds keys of the schema? */
static bool schema_is_group(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < ELEMENTSOF(config_schema); i++)
		if (strncmp(config_schema[i].path, path, n) == 0 &&
		    config_schema[i].path[n] == '.')
			return true;
	return false;
}

static void load_sensor(const config_setting_t *g, unsigned idx, struct gk_sensor_config *sc,
			struct errors *e)
{
	char key[96];
	bool seen[ELEMENTSOF(sensor_schema)] = {};

	for (size_t i = 0; i < ELEMENTSOF(sensor_schema); i++)
		set_default(&sensor_schema[i], sc);
	sc->line = config_setting_source_line(g);

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		const struct schema_key *k;

		snprintf(key, sizeof(key), "sensors.[%u].%s", idx, name ? name : "?");
		k = name ? schema_find(sensor_schema, ELEMENTSOF(sensor_schema), name) : NULL;
		if (!k) {
			error_add(e, m, key, "unknown key");
			continue;
		}
		seen[k - sensor_schema] = true;
		if (parse_value(k, m, sc, key, e) < 0 || !streq(k->path, "alias"))
			continue;

		/* Its Home Assistant ids would be those of the daemon's own entities. */
		if (gk_alias_is_reserved(sc->alias)) {
			char list[160];

			format_enum_values(gk_alias_reserved, list, sizeof(list));
			error_add(e, m, key, "'%s' is reserved, in any case, for the daemon's own "
				  "MQTT topic and Home Assistant groups: %s", sc->alias, list);
		}
	}

	for (size_t i = 0; i < ELEMENTSOF(sensor_schema); i++) {
		if (seen[i] || sensor_schema[i].def_str || sensor_schema[i].type == SCHEMA_BOOL ||
		    sensor_schema[i].type == SCHEMA_UNSIGNED ||
		    sensor_schema[i].type == SCHEMA_DOUBLE)
			continue;
		snprintf(key, sizeof(key), "sensors.[%u].%s", idx, sensor_schema[i].path);
		error_add(e, g, key, "missing (required)");
	}
}

static int load_sensors(const config_setting_t *list, struct gk_config *c, struct errors *e)
{
	int n = config_setting_length(list);

	if (!config_setting_is_list(list) && !(config_setting_is_array(list) && n == 0))
		return error_add(e, list, "sensors", "expected a list ( { ... }, ... ), got %s",
				 type_name(config_setting_type(list)));

	if ((unsigned)n > GK_MAX_SENSORS)
		return error_add(e, list, "sensors", "%d sensors, at most %u are supported", n,
				 GK_MAX_SENSORS);

	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		char key[32];

		snprintf(key, sizeof(key), "sensors.[%d]", i);
		if (!config_setting_is_group(g)) {
			error_add(e, g, key, "expected a group { ... }, got %s",
				  type_name(config_setting_type(g)));
			continue;
		}
		load_sensor(g, (unsigned)i, &c->sensors[c->n_sensors++], e);
	}
	return 0;
}

/* Walk the whole tree: every key must be in the schema, with the right kind. */
static void load_group(const config_setting_t *g, const char *prefix, struct gk_config *c,
		       struct errors *e)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		const struct schema_key *k;
		char path[128];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
			 name ? name : "?");

		if (streq(path, "sensors")) {
			(void)load_sensors(m, c, e);
			continue;
		}

		k = schema_find(config_schema, ELEMENTSOF(config_schema), path);
		if (k) {
			(void)parse_value(k, m, c, path, e);
			continue;
		}

		if (schema_is_group(path)) {
			if (!config_setting_is_group(m)) {
				(void)error_add(e, m, path, "expected a group { ... }, got %s",
					  type_name(config_setting_type(m)));
				continue;
			}
			load_group(m, path, c, e);
			continue;
		}

		(void)error_add(e, m, path, "unknown key");
	}
}

static void hostname_node(char *node, size_t size)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "gaitkeeper");

	/* Cut the domain; map the rest onto the node-name alphabet. */
	host[strcspn(host, ".")] = 0;
	for (char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			*p = '-';
	snprintf(node, size, "%s", host);
}

static void fill_derived(struct gk_config *c)
{
	if (!c->node[0])
		hostname_node(c->node, sizeof(c->node));
	if (!c->mqtt.client_id[0])
		snprintf(c->mqtt.client_id, sizeof(c->mqtt.client_id), "gaitkeeper-%s", c->node);

	for (unsigned i = 0; i < c->n_sensors; i++) {
		struct gk_sensor_config *s = &c->sensors[i];

		if (gk_sensor_kind_has_imu(s->kind) && s->mount == GK_MOUNT_NONE)
			s->mount = s->kind == GK_SENSOR_KIND_POLAR_H10 ? GK_MOUNT_CHEST :
									  GK_MOUNT_SACRUM;
		for (char *p = s->address; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	}
}

/* form.imu_sensor names an IMU sensor; a fail-over delay under 2 s would flap. */
static void check_imu_keys(const config_t *cfg, const struct gk_config *c, struct errors *e)
{
	const char *name = c->form.imu_sensor;
	double f = c->form.imu_failover_s;
	unsigned i;

	if (f > 0 && f < GK_IMU_FAILOVER_S_MIN)
		error_add(e, config_lookup(cfg, "form.imu_failover_s"), "form.imu_failover_s",
			  "%g s is too short: 0 (never switch) or at least %g s, the gap "
			  "between two IMU notifications can reach a second", f,
			  GK_IMU_FAILOVER_S_MIN);
	if (!name[0])
		return;
	for (i = 0; i < c->n_sensors; i++)
		if (streq(c->sensors[i].alias, name))
			break;
	if (i == c->n_sensors)
		error_add(e, config_lookup(cfg, "form.imu_sensor"), "form.imu_sensor",
			  "no sensor has the alias '%s'", name);
	else if (!gk_sensor_kind_has_imu(c->sensors[i].kind))
		error_add(e, config_lookup(cfg, "form.imu_sensor"), "form.imu_sensor",
			  "'%s' is a %s, which has no IMU (polar-h10 and polar-verity-sense "
			  "have one)", name, gk_sensor_kind_to_string(c->sensors[i].kind));
}

static void check_cross(const config_t *cfg, struct gk_config *c, struct errors *e)
{
	const config_setting_t *list = config_lookup(cfg, "sensors");
	const config_setting_t *mqtt = config_lookup(cfg, "mqtt");
	bool tls = strncmp(c->mqtt.uri, "mqtts://", 8) == 0 ||
		   strncmp(c->mqtt.uri, "ssl://", 6) == 0;

	for (unsigned i = 0; i < c->n_sensors; i++) {
		const struct gk_sensor_config *s = &c->sensors[i];
		const config_setting_t *g = list ? config_setting_get_elem(list, i) : NULL;
		char key[48];

		if (s->kind < 0)
			continue;	/* already reported */

		if (!s->address[0] && !s->name[0]) {
			snprintf(key, sizeof(key), "sensors.[%u]", i);
			error_add(e, g, key, "needs an address or a name pattern");
		}

		if (s->mount != GK_MOUNT_NONE && !gk_sensor_kind_has_imu(s->kind)) {
			snprintf(key, sizeof(key), "sensors.[%u].mount", i);
			error_add(e, g ? config_setting_get_member(g, "mount") : NULL, key,
				  "only polar-h10 and polar-verity-sense carry an IMU, not '%s'",
				  gk_sensor_kind_to_string(s->kind));
		}

		/* Chest and chest (or hr-1 and hr_1) get one Home Assistant entity id. */
		for (unsigned j = 0; j < i; j++) {
			const char *other = c->sensors[j].alias;
			const config_setting_t *m;

			if (!s->alias[0] || !gk_alias_same(s->alias, other))
				continue;
			m = g ? config_setting_get_member(g, "alias") : NULL;
			snprintf(key, sizeof(key), "sensors.[%u].alias", i);
			if (streq(s->alias, other))
				error_add(e, m, key, "'%s' is already used by sensors.[%u]",
					  s->alias, j);
			else
				error_add(e, m, key, "'%s' is already used by sensors.[%u] as "
					  "'%s' (Home Assistant entity ids ignore case, take "
					  "'-' as '_', a run of them as one and none at the ends)",
					  s->alias, j, other);
		}
	}

	check_imu_keys(cfg, c, e);

	if (!!c->mqtt.tls_cert[0] != !!c->mqtt.tls_key[0])
		error_add(e, mqtt, "mqtt.tls_cert", "tls_cert and tls_key go together");
	if (!tls && (c->mqtt.tls_ca[0] || c->mqtt.tls_cert[0]))
		error_add(e, mqtt, "mqtt.uri", "TLS files are set but the uri is not mqtts://");
}

static int load(config_t *cfg, int read_r, const char *name, struct gk_config **ret,
		char **ret_errors)
{
	_cleanup_free_ struct gk_config *c = calloc(1, sizeof(*c));
	struct errors e = { .name = name };
	int r = 0;

	if (!c)
		return -ENOMEM;

	e.f = open_memstream(&e.buf, &e.size);
	if (!e.f)
		return -ENOMEM;

	gk_config_defaults(c);
	c->node[0] = 0;
	c->mqtt.client_id[0] = 0;

	if (read_r != CONFIG_TRUE) {
		const char *file = config_error_file(cfg);

		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
			fprintf(e.f, "%s:0: cannot read file\n", name);
			r = -ENOENT;
		} else {
			fprintf(e.f, "%s:%d: syntax error: %s\n", file ? file : name,
				config_error_line(cfg), config_error_text(cfg));
			r = -EBADMSG;
		}
	} else {
		load_group(config_root_setting(cfg), "", c, &e);
		if (!e.n)
			check_cross(cfg, c, &e);
		if (e.n > MAX_ERRORS)
			fprintf(e.f, "%s: %u more errors\n", name, e.n - MAX_ERRORS);
		if (e.n)
			r = -EINVAL;
	}

	fclose(e.f);
	if (r < 0) {
		/*
		 * Errors quote values and names from the file, any bytes: they
		 * go to the log, D-Bus and MQTT JSON, which need UTF-8.
		 */
		if (ret_errors) {
			*ret_errors = gk_utf8_dup_escaped(e.buf ? e.buf : "");
			if (!*ret_errors)
				r = -ENOMEM;
		}
		free(e.buf);
		return r;
	}
	free(e.buf);

	fill_derived(c);
	*ret = TAKE_PTR(c);
	return 0;
}

int gk_config_load_file(const char *path, struct gk_config **ret, char **ret_errors)
{
	config_t cfg;
	char dir[GK_CONFIG_PATH_MAX];
	const char *slash;
	int r;

	if (strlen(path) >= GK_CONFIG_PATH_MAX) {
		if (ret_errors)
			*ret_errors = strdup("config path too long\n");
		return -ENAMETOOLONG;
	}

	/* Relative @include names resolve against the file's own directory. */
	slash = strrchr(path, '/');
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
			 slash ? path : ".");

	config_init(&cfg);
	config_set_include_dir(&cfg, dir);
	r = load(&cfg, config_read_file(&cfg, path), path, ret, ret_errors);
	config_destroy(&cfg);
	if (r == 0)
		snprintf((*ret)->path, sizeof((*ret)->path), "%s", path);
	return r;
}

int gk_config_load_string(const char *text, const char *name, struct gk_config **ret,
			  char **ret_errors)
{
	config_t cfg;
	int r;

	config_init(&cfg);
	r = load(&cfg, config_read_string(&cfg, text), name ? name : "<string>", ret,
		 ret_errors);
	config_destroy(&cfg);
	return r;
}

struct gk_config *gk_config_free(struct gk_config *c)
{
	free(c);
	return NULL;
}

void gk_config_defaults(struct gk_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ELEMENTSOF(config_schema); i++)
		set_default(&config_schema[i], c);
	fill_derived(c);
}

/* The same sensors, wherever in the file they are (their line is for messages). */
static bool sensors_equal(const struct gk_config *a, const struct gk_config *b)
{
	if (a->n_sensors != b->n_sensors)
		return false;
	for (unsigned i = 0; i < a->n_sensors; i++) {
		struct gk_sensor_config x = a->sensors[i], y = b->sensors[i];

		x.line = y.line = 0;
		if (memcmp(&x, &y, sizeof(x)) != 0)
			return false;
	}
	return true;
}

unsigned gk_config_keep_restart_keys(const struct gk_config *old, struct gk_config *new,
				     char *buf, size_t size)
{
	unsigned n = 0;
	size_t len = 0;

	if (size)
		buf[0] = 0;

	for (size_t i = 0; i < ELEMENTSOF(config_schema); i++) {
		const struct schema_key *k = &config_schema[i];
		const uint8_t *o = (const uint8_t *)old + k->offset;
		uint8_t *p = (uint8_t *)new + k->offset;

		if (k->reloadable)
			continue;
		if (memcmp(o, p, k->size) != 0) {
			n++;
			if (len < size)
				len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						k->path);
		}
		memcpy(p, o, k->size);
	}

	/* Sensors come and go only with a restart: BLE links are set up once. */
	if (!sensors_equal(old, new)) {
		n++;
		if (len < size)
			snprintf(buf + len, size - len, "%ssensors", len ? ", " : "");
	}
	memcpy(new->sensors, old->sensors, sizeof(new->sensors));
	new->n_sensors = old->n_sensors;
	return n;
}

/* ---- generated reference ------------------------------------------------ */

static void format_default(const struct schema_key *k, char *buf, size_t size)
{
	switch (k->type) {
	case SCHEMA_BOOL:
		snprintf(buf, size, "%s", k->def_num ? "true" : "false");
		return;
	case SCHEMA_UNSIGNED:
	case SCHEMA_DOUBLE:
		if (k->optional && k->def_num == 0)
			snprintf(buf, size, "unset");
		else if (k->type == SCHEMA_DOUBLE)
			snprintf(buf, size, "%.1f", k->def_num);
		else
			snprintf(buf, size, "%.0f", k->def_num);
		return;
	case SCHEMA_STRING:
	case SCHEMA_ENUM:
		if (!k->def_str)
			snprintf(buf, size, "required");
		else if (!*k->def_str)
			snprintf(buf, size, "unset");
		else
			snprintf(buf, size, "\"%s\"", k->def_str);
		return;
	}
	buf[0] = 0;
}

static void format_range(const struct schema_key *k, char *buf, size_t size)
{
	switch (k->type) {
	case SCHEMA_BOOL:
		snprintf(buf, size, "true, false");
		return;
	case SCHEMA_UNSIGNED:
		snprintf(buf, size, "%.0f..%.0f", k->min, k->max);
		return;
	case SCHEMA_DOUBLE:
		snprintf(buf, size, "%g..%g", k->min, k->max);
		return;
	case SCHEMA_STRING:
		snprintf(buf, size, "string, < %zu bytes", k->size);
		return;
	case SCHEMA_ENUM:
		format_enum_values(k->values, buf, size);
		return;
	}
	buf[0] = 0;
}

static void markdown_rows(FILE *f, const struct schema_key *t, size_t n, const char *prefix)
{
	char def[64], range[160];

	fprintf(f, "| key | type | default | range | unit | reload | description |\n");
	fprintf(f, "|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		format_default(&t[i], def, sizeof(def));
		format_range(&t[i], range, sizeof(range));
		fprintf(f, "| `%s%s` | %s | %s | %s | %s | %s | %s |\n", prefix, t[i].path,
			t[i].type == SCHEMA_BOOL ? "bool" :
			t[i].type == SCHEMA_UNSIGNED ? "integer" :
			t[i].type == SCHEMA_DOUBLE ? "number" : "string",
			def, range, t[i].unit ? t[i].unit : "", t[i].reloadable ? "yes" : "restart",
			t[i].doc);
	}
}

int gk_config_write_markdown(FILE *f)
{
	fprintf(f, "<!-- SPDX-License-Identifier: GPL-2.0-or-later -->\n"
		"<!-- Generated by `gaitkeeperd --dump-schema=markdown` from the schema in "
		"config/config.c; do not edit. -->\n"
		"# gaitkeeperd configuration\n\n"
		"A [libconfig](https://hyperrealm.github.io/libconfig/) file, by default `%s`; "
		"`gaitkeeperd --config FILE` picks another and `gaitkeeperd --check-config FILE` "
		"only validates one. Every key has a default, so a minimal file is\n\n"
		"```\n"
		"node = \"gym\";\n"
		"mqtt = { uri = \"mqtt://127.0.0.1:1883\"; };\n"
		"sensors = (\n"
		"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; "
		"mount = \"chest\"; },\n"
		"  { alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; }\n"
		");\n"
		"```\n\n"
		"Unknown keys, wrong types, out-of-range values and inconsistent settings are "
		"errors naming `file:line: key`. At start-up any error stops the daemon; on "
		"SIGHUP the new file is parsed into a fresh configuration and used only if it is "
		"valid, otherwise the old one stays and the error is logged. Keys marked "
		"*restart* keep their old value on SIGHUP (a warning names them) until the "
		"daemon restarts. A commented example with every key is "
		"`config/gaitkeeper.conf.example`.\n\n"
		"The state directory (spool, baseline, session digests) is `$STATE_DIRECTORY` "
		"(set by systemd's `StateDirectory=`) or `--state-dir DIR`; the D-Bus system "
		"bus is `$DBUS_SYSTEM_BUS_ADDRESS` when set.\n\n"
		"## Top-level keys and groups\n\n", GK_CONFIG_DEFAULT_PATH);
	markdown_rows(f, config_schema, ELEMENTSOF(config_schema), "");
	fprintf(f, "\n## `sensors`: a list of groups, at most %u\n\n"
		"Each element describes one BLE sensor. `alias` must be unique, ignoring case, "
		"`-` vs `_`, runs of them and any at the ends, and must not be a name the daemon uses for its own groups; "
		"`address` or `name` (or both) must be given; `mount` is accepted only for kinds "
		"with an IMU. Sensors are set up at start-up: changing them needs a restart. "
		"With several IMU "
		"sensors one feeds the form core (`form.imu_sensor`, else the best `mount`: "
		"sacrum, waist, chest) and the others stand by for `form.imu_failover_s`.\n\n",
		GK_MAX_SENSORS);
	markdown_rows(f, sensor_schema, ELEMENTSOF(sensor_schema), "sensors.[].");
	return ferror(f) ? -EIO : 0;
}

static void example_value(FILE *f, const struct schema_key *k)
{
	char def[64];

	static const struct {
		const char *path, *value;
	} examples[] = {
		{ "node", "gym" },
		{ "mqtt.client_id", "gaitkeeper-gym" },
		{ "mqtt.username", "gaitkeeper" },
		{ "mqtt.password_file", "/etc/gaitkeeper/mqtt-password" },
		{ "mqtt.tls_ca", "/etc/gaitkeeper/ca.pem" },
		{ "mqtt.tls_cert", "/etc/gaitkeeper/client.pem" },
		{ "mqtt.tls_key", "/etc/gaitkeeper/client.key" },
		{ "form.imu_sensor", "chest" },
	};

	if (k->type == SCHEMA_STRING || k->type == SCHEMA_ENUM) {
		const char *v = k->def_str ? k->def_str : "";

		/* An unset string shows a typical value in its commented line. */
		for (size_t i = 0; !*v && i < ELEMENTSOF(examples); i++)
			if (streq(examples[i].path, k->path))
				v = examples[i].value;
		fprintf(f, "\"%s\"", v);
		return;
	}
	if (k->optional && k->def_num == 0) {
		/* Show an in-range value for an unset key. */
		if (k->type == SCHEMA_DOUBLE)
			fprintf(f, "%.2f", (k->min + k->max) / 2);
		else
			fprintf(f, "%.0f", k->max < 200 ? k->max : 190.0);
		return;
	}
	format_default(k, def, sizeof(def));
	fputs(def, f);
}

static void example_comment(FILE *f, const char *indent, const struct schema_key *k)
{
	const char *p = k->doc;
	char def[64];
	size_t col = 0;

	/* Wrap the description at about 80 columns. */
	fprintf(f, "%s#", indent);
	col = strlen(indent) + 1;
	while (*p) {
		size_t w = strcspn(p, " ");

		if (col + 1 + w > 80) {
			fprintf(f, "\n%s#", indent);
			col = strlen(indent) + 1;
		}
		fprintf(f, " %.*s", (int)w, p);
		col += 1 + w;
		p += w;
		while (*p == ' ')
			p++;
	}
	format_default(k, def, sizeof(def));
	fprintf(f, "\n%s# Default: %s%s%s.\n", indent, def,
		k->unit && def[0] != 'u' ? " " : "", k->unit && def[0] != 'u' ? k->unit : "");
}

int gk_config_write_example(FILE *f)
{
	const char *group = "";

	fprintf(f, "# SPDX-License-Identifier: GPL-2.0-or-later\n"
		"# Example gaitkeeperd configuration (%s). Every key is shown with its\n"
		"# default; lines starting with '#' are optional settings left unset.\n"
		"# Generated by `gaitkeeperd --dump-schema=example`; reference: docs/config.md.\n",
		GK_CONFIG_DEFAULT_PATH);

	for (size_t i = 0; i < ELEMENTSOF(config_schema); i++) {
		const struct schema_key *k = &config_schema[i];
		const char *dot = strchr(k->path, '.');
		size_t glen = dot ? (size_t)(dot - k->path) : 0;
		const char *indent = dot ? "  " : "";

		if (*group && (!dot || strncmp(group, k->path, glen) != 0 || group[glen] != '.'))
			fprintf(f, "};\n");
		if (dot && (!*group || strncmp(group, k->path, glen + 1) != 0))
			fprintf(f, "\n%.*s = {\n", (int)glen, k->path);
		else if (!dot || !*group)
			fputc('\n', f);
		group = dot ? k->path : "";

		example_comment(f, indent, k);
		fprintf(f, "%s%s%s = ", indent, k->optional ? "# " : "", dot ? dot + 1 : k->path);
		example_value(f, k);
		fprintf(f, ";\n");
	}
	if (*group)
		fprintf(f, "};\n");

	fprintf(f, "\n# Sensors: a list of groups, at most %u. Keys of each group:\n",
		GK_MAX_SENSORS);
	for (size_t i = 0; i < ELEMENTSOF(sensor_schema); i++) {
		char def[64];

		format_default(&sensor_schema[i], def, sizeof(def));
		fprintf(f, "#   %-18s %s (default: %s%s%s)\n", sensor_schema[i].path,
			sensor_schema[i].doc, def, sensor_schema[i].unit ? " " : "",
			sensor_schema[i].unit ? sensor_schema[i].unit : "");
	}
	fprintf(f, "sensors = (\n"
		"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; "
		"mount = \"chest\";\n"
		"    rate_hz = 200; range_g = 8; },\n"
		"  { alias = \"pod\"; kind = \"footpod\"; name = \"Stryd*\"; "
		"cadence_multiplier = 1.0; },\n"
		"  { alias = \"hr\"; kind = \"heart-rate\"; name = \"HRM*\"; },\n"
		"  { alias = \"belt\"; kind = \"treadmill\"; name = \"*Treadmill*\"; }\n"
		");\n");
	return ferror(f) ? -EIO : 0;
}
