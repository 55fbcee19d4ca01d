// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitctl live commands: status, sensors, watch, session, pain, summary over D-Bus. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse.h"
#include "daemon/dbus-api.h"
#include "form/form.h"
#include "tools/gaitctl.h"

/*
 * A client of io.gaitkeeper.Gaitkeeper1 (docs/dbus.md) on the system bus;
 * sd-bus honours $DBUS_SYSTEM_BUS_ADDRESS. Only the name, paths and
 * interface names come from daemon/dbus-api.h: validation (pain level and
 * location) is the daemon's, and its error message is shown as it is.
 *
 * JSON output: D-Bus values become JSON values one to one, property names
 * become snake_case keys (BrokerConnected -> broker_connected), a NaN
 * double and a time of day of 0 (the API's "unknown") become null.
 */

#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"

DEFINE_FREEP(json_object, json_object_put)

struct options {
	bool json;
	bool last;
	const char *where;
	unsigned long long count;	/* watch: LiveMetrics frames, 0 = forever */
	double duration_s;		/* watch: seconds, 0 = forever */
	bool wait;			/* watch: wait for gaitkeeperd while it is off the bus */
};

static int print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	return 0;
}

/* "BrokerConnected" -> "broker_connected"; "RssiDbm" -> "rssi_dbm". */
static void snake_case(const char *name, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *p = name; *p && n + 2 < size; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			if (p != name)
				buf[n++] = '_';
			buf[n++] = *p - 'A' + 'a';
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
}

/* ---- D-Bus value -> JSON ------------------------------------------------ */

static int value_to_json(sd_bus_message *m, json_object **ret);

static int basic_to_json(sd_bus_message *m, char type, json_object **ret)
{
	union {
		uint8_t y;
		int b;
		int16_t n;
		uint16_t q;
		int32_t i;
		uint32_t u;
		int64_t x;
		uint64_t t;
		double d;
		const char *s;
	} v;
	int r;

	r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0)
		return r;

	switch (type) {
	case 'y': *ret = json_object_new_int(v.y); break;
	case 'b': *ret = json_object_new_boolean(v.b); break;
	case 'n': *ret = json_object_new_int(v.n); break;
	case 'q': *ret = json_object_new_int(v.q); break;
	case 'i': *ret = json_object_new_int(v.i); break;
	case 'u': *ret = json_object_new_int64(v.u); break;
	case 'x': *ret = json_object_new_int64(v.x); break;
	case 't': *ret = json_object_new_uint64(v.t); break;
	case 'd': *ret = isfinite(v.d) ? json_object_new_double(v.d) : NULL; break;
	case 's':
	case 'o':
	case 'g': *ret = json_object_new_string(v.s); break;
	default: return -EBADMSG;	/* 'h': no fds in this API */
	}

	return 0;
}

/* a{..}: an object; other arrays: a JSON array. */
static int array_to_json(sd_bus_message *m, const char *contents, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	bool dict = contents[0] == '{';
	char entry[256];
	int r;

	if (dict) {
		size_t len = strlen(contents);

		if (len < 3 || len - 2 >= sizeof(entry))
			return -EBADMSG;
		memcpy(entry, contents + 1, len - 2);
		entry[len - 2] = '\0';
	}

	o = dict ? json_object_new_object() : json_object_new_array();
	if (!o)
		return -ENOMEM;

	r = sd_bus_message_enter_container(m, 'a', contents);
	if (r < 0)
		return r;

	while ((r = sd_bus_message_at_end(m, false)) == 0) {
		json_object *v = NULL;

		if (dict) {
			const char *key;
			char kbuf[32];

			r = sd_bus_message_enter_container(m, 'e', entry);
			if (r < 0)
				return r;
			if (entry[0] == 's' || entry[0] == 'o') {
				r = sd_bus_message_read_basic(m, entry[0], &key);
			} else {
				json_object *k = NULL;

				r = value_to_json(m, &k);
				snprintf(kbuf, sizeof(kbuf), "%s",
					 k ? json_object_get_string(k) : "null");
				json_object_put(k);
				key = kbuf;
			}
			if (r < 0)
				return r;
			r = value_to_json(m, &v);
			if (r < 0)
				return r;
			json_object_object_add(o, key, v);
			r = sd_bus_message_exit_container(m);
		} else {
			r = value_to_json(m, &v);
			if (r < 0)
				return r;
			r = json_object_array_add(o, v) < 0 ? -ENOMEM : 0;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(o);
	return 0;
}

static int value_to_json(sd_bus_message *m, json_object **ret)
{
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;

	switch (type) {
	case 'a':
		return array_to_json(m, contents, ret);
	case 'v':
		r = sd_bus_message_enter_container(m, 'v', contents);
		if (r < 0)
			return r;
		r = value_to_json(m, ret);
		if (r < 0)
			return r;
		return sd_bus_message_exit_container(m);
	case 'r': {
		_cleanup_(json_object_putp) json_object *a = json_object_new_array();

		if (!a)
			return -ENOMEM;
		r = sd_bus_message_enter_container(m, 'r', contents);
		if (r < 0)
			return r;
		while ((r = sd_bus_message_at_end(m, false)) == 0) {
			json_object *v = NULL;

			r = value_to_json(m, &v);
			if (r < 0)
				return r;
			json_object_array_add(a, v);
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(a);
		return 0;
	}
	default:
		return basic_to_json(m, type, ret);
	}
}

/* A time of day property (StartTimeMs, LastSeenMs): 0 is the API's "none". */
static bool is_timestamp_property(const char *name)
{
	size_t n = strlen(name);

	return n >= 6 && (streq(name + n - 6, "TimeMs") || streq(name + n - 6, "SeenMs"));
}

/* Read a{sv} of properties into o (merged), names in snake_case; returns how many. */
static int properties_to_json(sd_bus_message *m, json_object *o)
{
	const char *name;
	int n = 0, r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;

	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		json_object *v = NULL;
		char key[64];

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r < 0)
			return r;
		r = value_to_json(m, &v);
		if (r < 0)
			return r;
		if (is_timestamp_property(name) && json_object_is_type(v, json_type_int) &&
		    json_object_get_uint64(v) == 0) {
			json_object_put(v);
			v = NULL;
		}
		snake_case(name, key, sizeof(key));
		json_object_object_add(o, key, v);
		n++;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	r = sd_bus_message_exit_container(m);
	return r < 0 ? r : n;
}

/*
 * An alert's value or threshold under key, with its metric's decimals as the
 * MQTT alert topic prints it (153.1, not 153.12849640000001); null when not
 * finite. A metric this gaitctl does not know keeps the double as it came.
 */
static void alert_num_json(json_object *o, const char *key, const char *metric, double v)
{
	enum form_metric m = metric ? form_metric_from_string(metric) : _FORM_METRIC_INVALID;

	if (m >= 0 && form_metric_add_json(o, key, m, v) == 0)
		return;
	json_object_object_add(o, key, isfinite(v) ? json_object_new_double(v) : NULL);
}

/*
 * A metrics object (LiveMetrics, the session's Metrics) with each value at
 * its metric's decimals, as MQTT run/live and the text view print it (168.0,
 * not 167.9996483); a metric this gaitctl does not know keeps its double.
 */
static void metrics_as_mqtt(json_object *metrics)
{
	if (!metrics || !json_object_is_type(metrics, json_type_object))
		return;

	json_object_object_foreach(metrics, name, v) {
		enum form_metric m = form_metric_from_string(name);

		if (m >= 0 && v)
			(void)form_metric_add_json(metrics, name, m, json_object_get_double(v));
	}
}

/*
 * ActiveAlerts a(tsssdds) rows -> objects with the AlertRaised arg names;
 * Metrics at their decimals.
 */
static void name_alert_rows(json_object *session)
{
	static const char *const keys[] = {
		"id", "kind", "severity", "metric", "value", "threshold", "cue",
	};
	json_object *rows, *named;

	metrics_as_mqtt(json_object_object_get(session, "metrics"));

	if (!json_object_object_get_ex(session, "active_alerts", &rows) ||
	    !json_object_is_type(rows, json_type_array))
		return;

	/* Rows are arrays as read; a merge may leave them named already. */
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (!json_object_is_type(json_object_array_get_idx(rows, i),
					 json_type_array))
			return;

	named = json_object_new_array();
	if (!named)
		return;

	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		json_object *o = json_object_new_object();

		if (!o)
			break;
		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			json_object *v = json_object_array_get_idx(row, k);

			if (k == 4 || k == 5)	/* value, threshold */
				alert_num_json(o, keys[k],
					       json_object_get_string(
						       json_object_array_get_idx(row, 3)),
					       v ? json_object_get_double(v) : NAN);
			else
				json_object_object_add(o, keys[k], json_object_get(v));
		}
		json_object_array_add(named, o);
	}
	json_object_object_add(session, "active_alerts", named);
}

/* ---- bus helpers --------------------------------------------------------- */

/* Exit status for a failed call, after printing the service's message. */
static int call_failed(const struct options *o, const char *what,
		       const sd_bus_error *e, int r)
{
	int code = 1;

	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
		code = EX_NOPERM;
	else if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
		code = EX_DATAERR;
	else if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
					SD_BUS_ERROR_NAME_HAS_NO_OWNER,
					SD_BUS_ERROR_NO_REPLY,
					SD_BUS_ERROR_DISCONNECTED))
		code = EX_UNAVAILABLE;

	if (o->json) {
		_cleanup_(json_object_putp) json_object *j = json_object_new_object();

		json_object_object_add(j, "ok", json_object_new_boolean(false));
		json_object_object_add(j, "error", json_object_new_string(
			sd_bus_error_is_set(e) ? e->name : "System.Error"));
		json_object_object_add(j, "message", json_object_new_string(
			sd_bus_error_is_set(e) && e->message ? e->message : strerror(-r)));
		print_json(j);
	}
	fprintf(stderr, "gaitctl: %s: %s\n", what,
		sd_bus_error_is_set(e) && e->message ? e->message : strerror(-r));
	return code;
}

/*
 * Connect and make sure gaitkeeperd is on the bus; else EX_UNAVAILABLE
 * (unless !need_daemon: watch --wait), said as a failed call is (with
 * --json, the same {"ok": false, ...} object on stdout).
 */
static int connect_bus(const struct options *o, const char *what, bool need_daemon,
		       sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int has = 0, r;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		sd_bus_error_setf(&e, SD_BUS_ERROR_DISCONNECTED,
				  "cannot connect to the system bus: %s", strerror(-r));
		return -call_failed(o, what, &e, r);
	}

	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &e, &reply,
			       "s", DBUS_API_NAME);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	if (need_daemon && (r < 0 || !has)) {
		sd_bus_error_free(&e);
		sd_bus_error_setf(&e, SD_BUS_ERROR_SERVICE_UNKNOWN,
				  "gaitkeeperd is not running (%s is not on the system bus)",
				  DBUS_API_NAME);
		return -call_failed(o, what, &e, -ESRCH);
	}

	*ret = TAKE_PTR(bus);
	return 0;
}

static int get_all(sd_bus *bus, const char *path, const char *interface,
		   json_object **ret, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;

	r = sd_bus_call_method(bus, DBUS_API_NAME, path, PROPERTIES_INTERFACE,
			       "GetAll", e, &reply, "s", interface);
	if (r < 0)
		return r;

	r = properties_to_json(reply, o);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(o);
	return 0;
}

/* Sensor objects: an array of property objects, in path order. */
static int get_sensors(sd_bus *bus, json_object **ret, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *list = json_object_new_array();
	const char *path;
	int r;

	if (!list)
		return -ENOMEM;

	r = sd_bus_call_method(bus, DBUS_API_NAME, DBUS_API_PATH, MANAGER_INTERFACE,
			       "GetManagedObjects", e, &reply, NULL);
	if (r < 0)
		return r;

	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	if (r < 0)
		return r;

	while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		const char *iface;

		r = sd_bus_message_read_basic(reply, 'o', &path);
		if (r < 0)
			return r;
		r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
		if (r < 0)
			return r;
		while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
			r = sd_bus_message_read_basic(reply, 's', &iface);
			if (r < 0)
				return r;
			if (streq(iface, DBUS_API_SENSOR_INTERFACE)) {
				json_object *s = json_object_new_object();

				if (!s)
					return -ENOMEM;
				json_object_array_add(list, s);
				r = properties_to_json(reply, s);
			} else {
				r = sd_bus_message_skip(reply, "a{sv}");
			}
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(reply);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	*ret = TAKE_PTR(list);
	return 0;
}

/* ---- text formatting ------------------------------------------------------ */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

static bool jbool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Epoch ms as local HH:MM:SS; "-" for none (absent: NaN, 0, or nonsense). */
static void format_clock(double epoch_ms, char *buf, size_t size)
{
	if (!gaitctl_local_time(epoch_ms, GAITCTL_HMS, buf, size))
		snprintf(buf, size, "-");
}

static void format_duration(double ms, char *buf, size_t size)
{
	unsigned long long s = isfinite(ms) && ms > 0 ? (unsigned long long)(ms / 1000) : 0;

	snprintf(buf, size, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
}

static void print_sensor_line(FILE *f, json_object *s, const char *eol)
{
	double battery = gaitctl_json_num(s, "battery_pct"), rssi = gaitctl_json_num(s, "rssi_dbm");
	double lost = gaitctl_json_num(s, "imu_frames_lost");
	double gyro_lost = gaitctl_json_num(s, "imu_gyro_frames_lost");
	char bat[16] = "-", sig[16] = "-", seen[16], frames[48] = "-";

	if (isfinite(battery))
		snprintf(bat, sizeof(bat), "%.0f%%", battery);
	if (isfinite(rssi))
		snprintf(sig, sizeof(sig), "%.0f dBm", rssi);
	/* ImuFramesLost is 0 for the kinds without an IMU (no Mount): "-" there */
	if (*jstr(s, "mount") && isfinite(lost)) {
		if (isfinite(gyro_lost) && gyro_lost > 0)
			snprintf(frames, sizeof(frames), "%.0f/%.0f", lost, gyro_lost);
		else
			snprintf(frames, sizeof(frames), "%.0f", lost);
	}
	format_clock(gaitctl_json_num(s, "last_seen_ms"), seen, sizeof(seen));
	fprintf(f, "  %-12.12s %-18.18s %-11.11s %-5s %5s %8s %9s %9s %.40s%s\n",
		jstr(s, "alias"), jstr(s, "kind"), jstr(s, "state"),
		jbool(s, "available") ? "yes" : "no", bat, sig, seen, frames,
		jstr(s, "reason"), eol);
}

/*
 * LOST: the IMU's lost PMD frames (ImuFramesLost), then "/" and the gyro
 * stream's (ImuGyroFramesLost) once it lost any; "-" for the other kinds
 */
static void print_sensor_header(FILE *f, const char *eol)
{
	fprintf(f, "  %-12s %-18s %-11s %-5s %5s %8s %9s %9s %s%s\n", "ALIAS", "KIND",
		"STATE", "AVAIL", "BATT", "RSSI", "SEEN", "LOST", "REASON", eol);
}

/* A running session so far: ", 1.23 km, 812 steps" (distance when known); "" else. */
static void format_progress(json_object *session, char *buf, size_t size)
{
	double dist = gaitctl_json_num(session, "distance_m");
	double steps = gaitctl_json_num(session, "steps");
	int n = 0;

	buf[0] = '\0';
	if (!streq(jstr(session, "state"), "running"))
		return;
	if (isfinite(dist))
		n = snprintf(buf, size, ", %.2f km", dist / 1000);
	if (isfinite(steps) && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ", %.0f steps", steps);
}

/* ---- status, sensors ------------------------------------------------------ */

static int cmd_status(sd_bus *bus, const struct options *o)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *gw = NULL;
	json_object *session = NULL, *alerts;
	char start[16], dur[32], progress[64];
	int r;

	r = get_all(bus, DBUS_API_PATH, DBUS_API_INTERFACE, &gw, &e);
	if (r >= 0)
		r = get_all(bus, DBUS_API_SESSION_PATH, DBUS_API_SESSION_INTERFACE,
			    &session, &e);
	if (r < 0)
		return call_failed(o, "status", &e, r);

	name_alert_rows(session);
	json_object_object_add(gw, "session", session);
	if (o->json)
		return print_json(gw);

	format_clock(gaitctl_json_num(session, "start_time_ms"), start, sizeof(start));
	format_duration(gaitctl_json_num(session, "duration_ms"), dur, sizeof(dur));
	json_object_object_get_ex(session, "active_alerts", &alerts);
	printf("Node:     %s (gaitkeeperd %s)\n", jstr(gw, "node"), jstr(gw, "version"));
	printf("State:    %s\n", jstr(gw, "state"));
	printf("Status:   %s\n", jstr(gw, "status"));
	printf("Broker:   %s\n", jbool(gw, "broker_connected") ? "connected" : "disconnected");
	printf("Sensors:  %s/%s streaming\n", jstr(gw, "sensors_streaming"),
	       jstr(gw, "sensors_total"));
	if (streq(jstr(session, "state"), "idle") || !*jstr(session, "state")) {
		printf("Session:  idle\n");
	} else {
		format_progress(session, progress, sizeof(progress));
		printf("Session:  %s since %s (%s%s)\n", jstr(session, "state"), start, dur,
		       progress);
	}
	printf("Alerts:   %zu active\n", alerts ? json_object_array_length(alerts) : 0);
	/* what a pain report that names no location is taken for (Home Assistant's) */
	if (*jstr(gw, "pain_where"))
		printf("Pain at:  %s, for reports that name no location\n",
		       jstr(gw, "pain_where"));
	return 0;
}

static int cmd_sensors(sd_bus *bus, const struct options *o)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *list = NULL;
	int r;

	r = get_sensors(bus, &list, &e);
	if (r < 0)
		return call_failed(o, "sensors", &e, r);

	if (o->json)
		return print_json(list);

	if (json_object_array_length(list) == 0) {
		printf("No sensors configured.\n");
		return 0;
	}

	print_sensor_header(stdout, "");
	for (size_t i = 0; i < json_object_array_length(list); i++)
		print_sensor_line(stdout, json_object_array_get_idx(list, i), "");
	return 0;
}

/* ---- session, pain, summary ---------------------------------------------- */

static int call_simple(sd_bus *bus, const struct options *o, const char *what,
		       const char *method, const char *done, const char *types, ...)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, DBUS_API_NAME, DBUS_API_PATH,
					   DBUS_API_INTERFACE, method);
	if (r >= 0 && types) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
		/* sd-bus sends no string that is not UTF-8 (pain --where $'\xe9'): bad input */
		if (r == -EINVAL)
			sd_bus_error_set(&e, SD_BUS_ERROR_INVALID_ARGS,
					 "An argument is not valid UTF-8 text");
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0)
		return call_failed(o, what, &e, r);

	if (o->json) {
		_cleanup_(json_object_putp) json_object *j = json_object_new_object();

		json_object_object_add(j, "ok", json_object_new_boolean(true));
		return print_json(j);
	}
	printf("%s\n", done);
	return 0;
}

static int cmd_session(sd_bus *bus, const struct options *o, const char *verb)
{
	if (streq_ptr(verb, "start"))
		return call_simple(bus, o, "session start", "StartSession",
				   "Session started.", NULL);
	return call_simple(bus, o, "session stop", "StopSession",
			   "Session stopped.", NULL);
}

/* Text summary: every scalar at its path, nested objects indented. */
static void print_tree(json_object *o, int depth)
{
	json_object_object_foreach(o, key, v) {
		if (v && json_object_is_type(v, json_type_object)) {
			printf("%*s%s:\n", depth * 2, "", key);
			print_tree(v, depth + 1);
		} else if (v && json_object_is_type(v, json_type_array)) {
			printf("%*s%s: %s\n", depth * 2, "", key,
			       json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		} else {
			printf("%*s%s: %s\n", depth * 2, "", key,
			       v ? json_object_get_string(v) : "-");
		}
	}
}

/*
 * GetSummary(false) while a session runs: {"state":"running","started_ts":..,"activity":..}.
 * For how long: the session's DurationMs, as status and watch tell it (now - started_ts
 * is off by as much as the wall clock stepped since the start); that only if it fails.
 */
static bool print_running(sd_bus *bus, json_object *j)
{
	double started = gaitctl_json_num(j, "started_ts");
	char clock[16], dur[32];
	uint64_t duration_ms;

	if (!streq(jstr(j, "state"), "running"))
		return false;
	format_clock(started, clock, sizeof(clock));
	if (sd_bus_get_property_trivial(bus, DBUS_API_NAME, DBUS_API_SESSION_PATH,
					DBUS_API_SESSION_INTERFACE, "DurationMs", NULL, 't',
					&duration_ms) >= 0)
		format_duration((double)duration_ms, dur, sizeof(dur));
	else
		format_duration(isfinite(started) ? (double)time(NULL) * 1000 - started : NAN,
				dur, sizeof(dur));
	printf("Session running since %s (%s so far), %s now.\n", clock, dur,
	       *jstr(j, "activity") ? jstr(j, "activity") : "activity unknown");
	printf("Its summary comes when it ends: 'gaitctl watch' shows it live, "
	       "'gaitctl summary --last' the last finished one.\n");
	return true;
}

static int cmd_summary(sd_bus *bus, const struct options *o)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *j = NULL;
	const char *text;
	int r;

	r = sd_bus_call_method(bus, DBUS_API_NAME, DBUS_API_PATH, DBUS_API_INTERFACE,
			       "GetSummary", &e, &reply, "b", o->last);
	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &text);
	if (r < 0)
		return call_failed(o, "summary", &e, r);

	j = json_tokener_parse(text);
	if (!j || !json_object_is_type(j, json_type_object)) {
		fprintf(stderr, "gaitctl: summary: the service sent no JSON object\n");
		return EX_PROTOCOL;
	}

	if (o->json)
		return print_json(j);
	/* a finished session as a report, a running one in a sentence */
	if (gaitctl_print_report(stdout, j) < 0 && !print_running(bus, j))
		print_tree(j, 0);
	return 0;
}

/* ---- watch ----------------------------------------------------------------- */

#define WATCH_EVENTS_MAX 5u

struct watch {
	sd_bus *bus;
	sd_event *event;
	const struct options *o;
	bool tty;
	int exit_code;
	unsigned long long frames;
	json_object *gw;		/* gateway properties */
	json_object *session;		/* session properties (active_alerts rows) */
	json_object *sensors;		/* path -> properties */
	json_object *live;		/* last LiveMetrics: ts, seq, metrics, quality */
	uint64_t gone_since;		/* epoch ms since gaitkeeperd is off the bus; 0 on it */
	double duration_ms;		/* the session's DurationMs as last read, */
	uint64_t duration_usec;		/* ... at this CLOCK_MONOTONIC time */
	char events[WATCH_EVENTS_MAX][160];	/* recent alert lines, newest first */
};

static void watch_event_line(struct watch *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void watch_event_line(struct watch *w, const char *fmt, ...)
{
	va_list ap;

	memmove(w->events[1], w->events[0], sizeof(w->events[0]) * (WATCH_EVENTS_MAX - 1));
	va_start(ap, fmt);
	vsnprintf(w->events[0], sizeof(w->events[0]), fmt, ap);
	va_end(ap);
}

/*
 * Where the IMU feeding the form core is worn: FormSensor's Mount, or, with
 * no FormSensor, the one mount all IMU sensors share; NULL when not known.
 */
static const char *watch_form_mount(struct watch *w)
{
	const char *form = jstr(w->gw, "form_sensor"), *mount = NULL;

	json_object_object_foreach(w->sensors, path, s) {
		const char *m = jstr(s, "mount");

		(void)path;
		if (*form && streq(jstr(s, "alias"), form))
			return *m ? m : NULL;
		if (*form || !*m)
			continue;
		if (mount && !streq(mount, m))
			return NULL;
		mount = m;
	}
	return *form ? NULL : mount;
}

/*
 * How long the session has run: DurationMs (the daemon's monotonic clock)
 * plus the time since it last changed, on ours. Not now - StartTimeMs: that
 * goes wrong by as much as the wall clock stepped since the start (NTP on a
 * Raspberry Pi without a real-time clock), and the header read 48:00:12 where
 * status said 0:00:12.
 */
static double watch_duration_ms(struct watch *w)
{
	double d = gaitctl_json_num(w->session, "duration_ms");
	uint64_t now = 0;

	if (!isfinite(d) || sd_event_now(w->event, CLOCK_MONOTONIC, &now) < 0)
		return d;
	if (d != w->duration_ms) {
		w->duration_ms = d;
		w->duration_usec = now;
	}
	if (!streq(jstr(w->session, "state"), "running") || now < w->duration_usec)
		return d;
	return d + (double)(now - w->duration_usec) / 1000;
}

/*
 * An alert's metric as the runner reads it, with the form core's decimals:
 * "cadence 153.1 spm, limit 156.3" (not cadence_spm=153.1284964).
 */
static void alert_what(const char *mount, const char *metric, double value, double threshold,
		       char *buf, size_t size)
{
	const char *unit;
	char label[48], v[48] = "-", t[48] = "", num[32];
	int dec;

	gaitctl_metric_label(metric, mount, label, sizeof(label), &unit, &dec);
	if (isfinite(value))
		snprintf(v, sizeof(v), "%s%s%s", gaitctl_fixed(num, sizeof(num), dec, value, false),
			 *unit && *unit != '/' ? " " : "", unit);	/* "5/10" */
	if (isfinite(threshold))
		snprintf(t, sizeof(t), ", limit %s",
			 gaitctl_fixed(num, sizeof(num), dec, threshold, false));
	snprintf(buf, size, "%s %s%s", label, v, t);
}

static void watch_render(struct watch *w)
{
	/* In place on a terminal: home, overwrite each line, clear the rest. */
	const char *eol = w->tty ? "\033[K" : "";
	json_object *metrics = NULL, *quality = NULL, *alerts = NULL;
	char now[16], dur[32], progress[64];
	const char *mount;
	double ts;

	if (w->o->json)
		return;

	if (w->gone_since) {
		/* A restart (an upgrade, a crash): keep the display, wait for it. */
		format_clock((double)w->gone_since, now, sizeof(now));
		printf("%sgaitkeeper: gaitkeeperd is not running (not on the bus since %s); "
		       "waiting for it%s\n", w->tty ? "\033[H" : "\n", now, eol);
		if (w->tty)
			printf("\033[J");
		fflush(stdout);
		return;
	}

	mount = watch_form_mount(w);	/* labels trunk_lean_deg */

	json_object_object_get_ex(w->live, "metrics", &metrics);
	json_object_object_get_ex(w->live, "quality", &quality);
	json_object_object_get_ex(w->session, "active_alerts", &alerts);
	ts = gaitctl_json_num(w->live, "ts_ms");
	format_clock(ts, now, sizeof(now));
	format_duration(watch_duration_ms(w), dur, sizeof(dur));

	format_progress(w->session, progress, sizeof(progress));
	printf("%sgaitkeeper %s  session %s %s%s  broker %s  %s/%s sensors streaming%s\n",
	       w->tty ? "\033[H" : "\n", jstr(w->gw, "node"), jstr(w->session, "state"),
	       dur, progress, jbool(w->gw, "broker_connected") ? "up" : "down",
	       jstr(w->gw, "sensors_streaming"), jstr(w->gw, "sensors_total"), eol);
	printf("%s\n", eol);
	if (isfinite(ts))
		printf("Live (%s, seq %s)%s\n", now, jstr(w->live, "seq"), eol);
	else
		printf("Live%s\n", eol);
	if (!metrics || json_object_object_length(metrics) == 0)
		printf("  waiting for metrics...%s\n", eol);
	else {
		json_object_object_foreach(metrics, name, v) {
			/* a pain report is the runner's word: no measurement quality */
			const char *unit, *q = streq(name, "pain_level") ? "" : jstr(quality, name);
			char label[48], num[32];
			int dec;

			gaitctl_metric_label(name, mount, label, sizeof(label), &unit, &dec);
			printf("  %-24s %9s %-4s %s%s\n", label,
			       gaitctl_fixed(num, sizeof(num), dec, json_object_get_double(v), false),
			       unit, q, eol);
		}
	}

	printf("%s\nActive alerts%s\n", eol, eol);
	if (!alerts || json_object_array_length(alerts) == 0)
		printf("  none%s\n", eol);
	for (size_t i = 0; alerts && i < json_object_array_length(alerts); i++) {
		json_object *a = json_object_array_get_idx(alerts, i);

		char what[96];

		alert_what(mount, jstr(a, "metric"), gaitctl_json_num(a, "value"),
			   gaitctl_json_num(a, "threshold"), what, sizeof(what));
		printf("  %s%-8s%s %-20s %s (%s)%s\n", w->tty ? "\033[1;31m" : "",
		       jstr(a, "severity"), w->tty ? "\033[0m" : "", jstr(a, "kind"),
		       what, jstr(a, "cue"), eol);
	}

	printf("%s\nSensors%s\n", eol, eol);
	print_sensor_header(stdout, eol);
	json_object_object_foreach(w->sensors, path, s) {
		(void)path;
		print_sensor_line(stdout, s, eol);
	}

	if (w->events[0][0]) {
		printf("%s\nRecent%s\n", eol, eol);
		for (size_t i = 0; i < WATCH_EVENTS_MAX && w->events[i][0]; i++)
			printf("  %s%s\n", w->events[i], eol);
	}
	if (w->tty)
		printf("\033[J");
	fflush(stdout);
}

/* --json: body (borrowed) as one line with an "event" key. */
static void watch_emit(struct watch *w, const char *event, json_object *body)
{
	if (!w->o->json)
		return;

	json_object_object_add(body, "event", json_object_new_string(event));
	print_json(body);
	json_object_object_del(body, "event");
}

static void watch_done(struct watch *w, int code)
{
	w->exit_code = code;
	(void)sd_event_exit(w->event, 0);
}

static int on_live(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;
	json_object *o = json_object_new_object(), *metrics = NULL, *quality = NULL;
	uint64_t ts, seq;
	int r;

	if (!o)
		return 0;
	r = sd_bus_message_read(m, "tt", &ts, &seq);
	if (r >= 0)
		r = value_to_json(m, &metrics);
	if (r >= 0)
		r = value_to_json(m, &quality);
	if (r < 0) {
		json_object_put(metrics);
		json_object_put(o);
		fprintf(stderr, "gaitctl: malformed LiveMetrics: %s\n", strerror(-r));
		return 0;
	}

	metrics_as_mqtt(metrics);
	/* The session's Metrics and Quality are these (their PropertiesChanged only invalidates) */
	if (w->session) {
		json_object_object_add(w->session, "metrics", json_object_get(metrics));
		json_object_object_add(w->session, "quality", json_object_get(quality));
	}
	json_object_object_add(o, "ts_ms", json_object_new_uint64(ts));
	json_object_object_add(o, "seq", json_object_new_uint64(seq));
	json_object_object_add(o, "metrics", metrics);
	json_object_object_add(o, "quality", quality);
	json_object_put(w->live);
	w->live = o;
	w->frames++;
	watch_emit(w, "live", o);
	watch_render(w);

	if (w->o->count && w->frames >= w->o->count)
		watch_done(w, 0);
	return 0;
}

static int on_alert(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;
	bool raised = streq_ptr(sd_bus_message_get_member(m), "AlertRaised");
	const char *kind, *severity, *metric, *cue;
	double value, threshold;
	char when[16], what[96];
	uint64_t id;
	int r;

	r = sd_bus_message_read(m, "tsssdds", &id, &kind, &severity, &metric,
				&value, &threshold, &cue);
	if (r < 0)
		return 0;

	if (w->o->json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_uint64(id));
		json_object_object_add(o, "kind", json_object_new_string(kind));
		json_object_object_add(o, "severity", json_object_new_string(severity));
		json_object_object_add(o, "metric", json_object_new_string(metric));
		alert_num_json(o, "value", metric, value);
		alert_num_json(o, "threshold", metric, threshold);
		json_object_object_add(o, "cue", json_object_new_string(cue));
		watch_emit(w, raised ? "alert_raised" : "alert_cleared", o);
		return 0;
	}

	format_clock((double)time(NULL) * 1000, when, sizeof(when));
	alert_what(watch_form_mount(w), metric, value, threshold, what, sizeof(what));
	watch_event_line(w, "%s %s %s %s %s: %s", when, raised ? "RAISED " : "cleared",
			 severity, kind, what, cue);
	watch_render(w);
	return 0;
}

static int on_session_ended(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;
	const char *text;
	char when[16];

	if (sd_bus_message_read(m, "s", &text) < 0)
		return 0;
	/* SessionEnded empties Metrics and Quality (invalidated, not sent) */
	if (w->session) {
		json_object_object_add(w->session, "metrics", json_object_new_object());
		json_object_object_add(w->session, "quality", json_object_new_object());
	}

	if (w->o->json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		json_object_object_add(o, "summary", json_tokener_parse(text));
		watch_emit(w, "session_ended", o);
		return 0;
	}

	format_clock((double)time(NULL) * 1000, when, sizeof(when));
	watch_event_line(w, "%s session ended (gaitctl summary --last)", when);
	watch_render(w);
	return 0;
}

/* PropertiesChanged on any of our objects: merge, re-render. */
static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;
	const char *path = sd_bus_message_get_path(m), *iface;
	json_object *target = NULL;
	int n;

	if (sd_bus_message_read(m, "s", &iface) < 0)
		return 0;

	if (streq(iface, DBUS_API_INTERFACE))
		target = w->gw;
	else if (streq(iface, DBUS_API_SESSION_INTERFACE))
		target = w->session;
	else if (streq(iface, DBUS_API_SENSOR_INTERFACE))
		json_object_object_get_ex(w->sensors, path, &target);
	if (!target || (n = properties_to_json(m, target)) < 0)
		return 0;

	if (target == w->session) {
		name_alert_rows(w->session);
		/* Metrics/Quality come invalidated only: on_live keeps them, no line for that */
		if (n > 0)
			watch_emit(w, "session", target);
	} else {
		watch_emit(w, target == w->gw ? "gateway" : "sensor", target);
	}
	watch_render(w);
	return 0;
}

/* The sensor map, keyed by object path as PropertiesChanged names them. */
static int watch_load_sensors(struct watch *w)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *list = NULL;
	json_object *map;
	int r;

	r = get_sensors(w->bus, &list, &e);
	if (r < 0)
		return r;

	map = json_object_new_object();
	if (!map)
		return -ENOMEM;

	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *s = json_object_array_get_idx(list, i);
		_cleanup_free_ char *path = NULL;

		if (sd_bus_path_encode(DBUS_API_SENSOR_PREFIX, jstr(s, "alias"), &path) >= 0)
			json_object_object_add(map, path, json_object_get(s));
	}

	json_object_put(w->sensors);
	w->sensors = map;
	return 0;
}

/* InterfacesAdded/Removed (config reload): re-read the sensor list. */
static int on_objects(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;

	if (watch_load_sensors(w) >= 0)
		watch_render(w);
	return 0;
}

static int watch_load_state(struct watch *w, sd_bus_error *e);
static void watch_show_state(struct watch *w);

/* gaitkeeperd is not on the bus: its live metrics go, the view (or --json) says so. */
static void watch_lost(struct watch *w)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();

	w->gone_since = (uint64_t)time(NULL) * 1000;
	json_object_put(w->live);
	w->live = json_object_new_object();
	if (o) {
		json_object_object_add(o, "running", json_object_new_boolean(false));
		watch_emit(w, "daemon", o);
	}
	watch_render(w);
}

/*
 * gaitkeeperd left the bus (a restart, an upgrade, a crash): the display
 * stays and says so; when the name has an owner again, everything is read
 * afresh (the new daemon's gateway, session and sensors) and shown again.
 */
static int on_owner(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	struct watch *w = userdata;
	const char *name, *old, *new;
	int r;

	if (!o || sd_bus_message_read(m, "sss", &name, &old, &new) < 0 ||
	    !streq(name, DBUS_API_NAME))
		return 0;

	if (!*new) {
		watch_lost(w);
		return 0;
	}

	r = watch_load_state(w, &e);
	if (r < 0) {
		fprintf(stderr, "gaitctl: watch: gaitkeeperd is back but cannot be read: %s\n",
			sd_bus_error_is_set(&e) && e.message ? e.message : strerror(-r));
		return 0;
	}
	w->gone_since = 0;
	json_object_object_add(o, "running", json_object_new_boolean(true));
	watch_emit(w, "daemon", o);
	watch_show_state(w);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	watch_done(userdata, 0);
	return 0;
}

/* Gateway, session and sensors as gaitkeeperd has them now; live metrics none yet. */
static int watch_load_state(struct watch *w, sd_bus_error *e)
{
	json_object *gw = NULL, *session = NULL, *live = json_object_new_object();
	int r = live ? 0 : -ENOMEM;

	if (r >= 0)
		r = get_all(w->bus, DBUS_API_PATH, DBUS_API_INTERFACE, &gw, e);
	if (r >= 0)
		r = get_all(w->bus, DBUS_API_SESSION_PATH, DBUS_API_SESSION_INTERFACE, &session,
			    e);
	if (r >= 0)
		r = watch_load_sensors(w);
	if (r < 0) {
		json_object_put(gw);
		json_object_put(session);
		json_object_put(live);
		return r;
	}
	name_alert_rows(session);
	json_object_put(w->gw);
	json_object_put(w->session);
	json_object_put(w->live);
	w->gw = gw;
	w->session = session;
	w->live = live;
	return 0;
}

/* The whole state: --json's "state" line, or the view drawn afresh. */
static void watch_show_state(struct watch *w)
{
	if (w->o->json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		json_object_object_add(o, "gateway", json_object_get(w->gw));
		json_object_object_add(o, "session", json_object_get(w->session));
		json_object_object_add(o, "sensors", json_object_get(w->sensors));
		watch_emit(w, "state", o);
	} else if (w->tty) {
		printf("\033[H\033[2J");
	}
	watch_render(w);
}

/*
 * The system bus went (dbus-daemon restarted or died): sd-bus does not
 * reconnect, so neither can the watch. It says so and ends with
 * EX_UNAVAILABLE, for whatever runs it to start it again.
 */
static int on_bus_gone(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct watch *w = userdata;

	fprintf(stderr, "gaitctl: watch: lost the system bus\n");
	watch_lost(w);
	w->exit_code = EX_UNAVAILABLE;
	(void)sd_event_exit(w->event, 0);
	return 0;
}

static int cmd_watch(sd_bus *bus, const struct options *o)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	struct watch w = { .bus = bus, .o = o, .tty = isatty(STDOUT_FILENO), .duration_ms = NAN };
	int r;

	r = sd_event_default(&w.event);
	if (r >= 0)
		r = sd_bus_attach_event(bus, w.event, 0);

	/* Subscribe first, then read the state: nothing falls in between. */
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, DBUS_API_PATH,
					DBUS_API_INTERFACE, "LiveMetrics", on_live, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, DBUS_API_PATH,
					DBUS_API_INTERFACE, "AlertRaised", on_alert, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, DBUS_API_PATH,
					DBUS_API_INTERFACE, "AlertCleared", on_alert, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, DBUS_API_PATH,
					DBUS_API_INTERFACE, "SessionEnded",
					on_session_ended, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, NULL,
					PROPERTIES_INTERFACE, "PropertiesChanged",
					on_properties, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, DBUS_API_NAME, DBUS_API_PATH,
					MANAGER_INTERFACE, NULL, on_objects, &w);
	if (r >= 0)
		r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local",
					"/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
					"Disconnected", on_bus_gone, &w);
	if (r >= 0)
		r = sd_bus_add_match(bus, NULL, "type='signal',sender='org.freedesktop.DBus',"
				     "interface='org.freedesktop.DBus',"
				     "member='NameOwnerChanged',arg0='" DBUS_API_NAME "'",
				     on_owner, &w);
	if (r < 0) {
		fprintf(stderr, "gaitctl: watch: cannot subscribe: %s\n", strerror(-r));
		w.exit_code = EX_UNAVAILABLE;
		goto finish;
	}

	r = watch_load_state(&w, &e);
	if (r < 0 && o->wait && sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN,
							SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
		/* --wait: as if it had just left; on_owner() reads it when it comes */
		watch_lost(&w);
	} else if (r < 0) {
		w.exit_code = sd_bus_error_is_set(&e) ? call_failed(o, "watch", &e, r) : 1;
		goto finish;
	} else {
		watch_show_state(&w);
	}

	if (o->duration_s > 0) {
		r = sd_event_add_time_relative(w.event, NULL, CLOCK_MONOTONIC,
					       (uint64_t)(o->duration_s * 1e6), 0,
					       on_timeout, &w);
		if (r < 0)
			goto finish;
	}

	r = sd_event_loop(w.event);
	if (r < 0)
		w.exit_code = 1;

finish:
	json_object_put(w.gw);
	json_object_put(w.session);
	json_object_put(w.sensors);
	json_object_put(w.live);
	sd_bus_detach_event(bus);
	sd_event_unref(w.event);
	return w.exit_code;
}

/* ---- command line ------------------------------------------------------------ */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gaitctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EX_USAGE;
}

int gaitctl_bus(int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	struct options o = { .where = "" };	/* pain: the daemon's PainWhere */
	const char *cmd = argv[0], *pos[2] = {};
	unsigned long long level = 0;
	size_t npos = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (streq(a, "--json"))
			o.json = true;
		else if (streq(a, "--last") && streq(cmd, "summary"))
			o.last = true;
		else if (streq(a, "--where") && streq(cmd, "pain") && i + 1 < argc)
			o.where = argv[++i];
		else if (!strncmp(a, "--where=", 8) && streq(cmd, "pain"))
			o.where = a + 8;
		else if (streq(a, "--count") && streq(cmd, "watch") && i + 1 < argc) {
			if (parse_unsigned(argv[++i], 1000000, &o.count) < 0)
				return usage_error("--count: '%s' is not a number", argv[i]);
		} else if (streq(a, "--wait") && streq(cmd, "watch")) {
			o.wait = true;
		} else if (streq(a, "--duration") && streq(cmd, "watch") && i + 1 < argc) {
			if (parse_double(argv[++i], &o.duration_s) < 0 || o.duration_s <= 0 ||
			    o.duration_s > 1e6)
				return usage_error("--duration: '%s' is not a number of seconds",
						   argv[i]);
		} else if (i + 1 == argc && ((streq(a, "--where") && streq(cmd, "pain")) ||
					     ((streq(a, "--count") || streq(a, "--duration")) &&
					      streq(cmd, "watch")))) {
			return usage_error("%s needs a value", a);
		} else if (a[0] == '-' && a[1])
			return usage_error("unknown option '%s'", a);
		else if (npos < ELEMENTSOF(pos))
			pos[npos++] = a;
		else
			return usage_error("unexpected argument '%s'", a);
	}

	if (streq(cmd, "session") &&
	    (npos != 1 || (!streq(pos[0], "start") && !streq(pos[0], "stop"))))
		return usage_error("usage: gaitctl session start|stop [--json]");
	if (streq(cmd, "pain")) {
		if (npos != 1)
			return usage_error("usage: gaitctl pain LEVEL [--where LOCATION]");
		r = parse_unsigned(pos[0], UINT32_MAX, &level);
		if (r < 0)
			return usage_error("pain: level '%s' is not a number 0-10", pos[0]);
	} else if (!streq(cmd, "session") && npos > 0)
		return usage_error("unexpected argument '%s'", pos[0]);

	r = connect_bus(&o, cmd, !(streq(cmd, "watch") && o.wait), &bus);
	if (r < 0)
		return -r;

	/* 10 significant digits (157.4954243), as gaitkeeperd's own JSON. */
	(void)json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);

	if (streq(cmd, "status"))
		return cmd_status(bus, &o);
	if (streq(cmd, "sensors"))
		return cmd_sensors(bus, &o);
	if (streq(cmd, "watch"))
		return cmd_watch(bus, &o);
	if (streq(cmd, "session"))
		return cmd_session(bus, &o, pos[0]);
	if (streq(cmd, "pain"))
		return call_simple(bus, &o, "pain", "ReportPain", "Pain report recorded.",
				   "us", (uint32_t)level, o.where);
	if (streq(cmd, "summary"))
		return cmd_summary(bus, &o);

	return usage_error("unknown command '%s'", cmd);
}
