// SPDX-License-Identifier: GPL-2.0-or-later
/* dbus-api-driver: serves daemon/dbus-api on $DBUS_SYSTEM_BUS_ADDRESS, driven by stdin lines. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse.h"
#include "daemon/dbus-api.h"

/*
 * Test driver for tests/it-dbus-api-driver.sh: it owns io.gaitkeeper.Gaitkeeper1
 * on a private bus and feeds the push calls from commands on stdin, one per
 * line, so a test can check exactly what a client sees for a given call:
 *
 *   gateway NODE STATE STREAMING TOTAL BROKER(0|1) [STATUS...]
 *   sensor ALIAS KIND STATE AVAILABLE(0|1) BATTERY|- RSSI|- [mount=M] [lost=N] [REASON...]
 *   remove ALIAS
 *   live SEQ [NAME=VALUE[:QUALITY]]...     (VALUE "-" = missing)
 *   raise|clear ID KIND SEVERITY METRIC VALUE THRESHOLD [CUE...]
 *   quit
 *
 * Each command answers "ok CMD" or "error CMD: <errno name>" on stdout; method
 * calls print "call START|STOP|PAIN level where|SUMMARY last".
 */

struct driver {
	sd_event *event;
	sd_bus *bus;
	struct dbus_api *api;
	bool running;
	uint64_t sessions;
	json_object *pain;	/* array of reports of the running session */
	char *last_summary;
	char in[8192];		/* stdin bytes not yet ending in a newline */
	size_t in_len;
};

static void print_result(const char *cmd, int r)
{
	if (r < 0)
		printf("error %s: %s\n", cmd, strerror(-r));
	else
		printf("ok %s\n", cmd);
	fflush(stdout);
}

static char *build_summary(struct driver *d)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "session", json_object_new_int64(d->sessions));
	json_object_object_add(o, "running", json_object_new_boolean(d->running));
	json_object_object_add(o, "pain", json_object_get(d->pain));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static int op_start(void *userdata)
{
	struct driver *d = userdata;

	printf("call START\n");
	fflush(stdout);
	if (d->running)
		return -EBUSY;

	d->running = true;
	d->sessions++;
	json_object_put(d->pain);
	d->pain = json_object_new_array();
	return dbus_api_set_session(d->api, &(struct dbus_api_session) {
		.state = "running", .started_ms = 1700000000000ULL,
		.duration_ms = 0, .distance_m = NAN,
	});
}

static int op_stop(void *userdata)
{
	struct driver *d = userdata;
	char *summary;
	int r;

	printf("call STOP\n");
	fflush(stdout);
	if (!d->running)
		return -ESRCH;

	d->running = false;
	summary = build_summary(d);
	if (!summary)
		return -ENOMEM;

	free(d->last_summary);
	d->last_summary = summary;
	r = dbus_api_set_session(d->api, &(struct dbus_api_session) {
		.state = "idle", .distance_m = NAN,
	});
	if (r < 0)
		return r;

	return dbus_api_session_ended(d->api, summary);
}

static int op_pain(void *userdata, unsigned level, const char *where)
{
	struct driver *d = userdata;
	json_object *o;

	printf("call PAIN %u %s\n", level, where);
	fflush(stdout);
	if (!d->running)
		return -ESRCH;

	o = json_object_new_object();
	json_object_object_add(o, "level", json_object_new_int(level));
	json_object_object_add(o, "where", json_object_new_string(where));
	json_object_array_add(d->pain, o);
	return 0;
}

static int op_set_pain_where(void *userdata, const char *where)
{
	printf("call PAIN_WHERE %s\n", where);
	fflush(stdout);
	return 0;
}

static int op_summary(void *userdata, bool last, char **ret_json)
{
	struct driver *d = userdata;
	char *s;

	printf("call SUMMARY %d\n", last);
	fflush(stdout);
	if (last || !d->running) {
		if (!d->last_summary)
			return -ENOENT;
		s = strdup(d->last_summary);
	} else {
		s = build_summary(d);
	}

	if (!s)
		return -ENOMEM;

	*ret_json = s;
	return 0;
}

static const struct dbus_api_ops driver_ops = {
	.start_session = op_start,
	.stop_session = op_stop,
	.report_pain = op_pain,
	.set_pain_where = op_set_pain_where,
	.get_summary = op_summary,
};

/* "-" is a missing number, NAN. */
static int parse_maybe(const char *s, double *ret)
{
	if (streq(s, "-")) {
		*ret = NAN;
		return 0;
	}

	return parse_double(s, ret);
}

/* Join words[from..n) with blanks into buf (a cue or reason with spaces). */
static const char *join_rest(char **words, size_t n, size_t from, char *buf,
			     size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = from; i < n; i++) {
		int w = snprintf(buf + len, size - len, "%s%s",
				 i > from ? " " : "", words[i]);

		if (w < 0 || (size_t)w >= size - len)
			break;
		len += w;
	}

	return buf;
}

static int cmd_gateway(struct driver *d, char **w, size_t n)
{
	unsigned long long streaming, total, broker;
	char status[256];

	if (n < 6 || parse_unsigned(w[3], 1000, &streaming) < 0 ||
	    parse_unsigned(w[4], 1000, &total) < 0 ||
	    parse_unsigned(w[5], 1, &broker) < 0)
		return -EINVAL;

	return dbus_api_set_gateway(d->api, &(struct dbus_api_gateway) {
		.node = w[1], .version = "test", .state = w[2],
		.status = join_rest(w, n, 6, status, sizeof(status)),
		.broker_connected = broker, .sensors_streaming = streaming,
		.sensors_total = total,
	});
}

static int cmd_sensor(struct driver *d, char **w, size_t n)
{
	unsigned long long available, lost = 0, gyro_lost = 0;
	double battery, rssi;
	char reason[256];
	const char *mount = NULL;
	size_t rest = 7;

	/*
	 * sensor ALIAS KIND STATE AVAILABLE BATTERY RSSI [mount=M] [lost=N]
	 *        [gyro_lost=N] [REASON...]
	 */
	if (n > rest && strncmp(w[rest], "mount=", 6) == 0)
		mount = w[rest++] + 6;
	if (n > rest && strncmp(w[rest], "lost=", 5) == 0 &&
	    parse_unsigned(w[rest++] + 5, UINT64_MAX, &lost) < 0)
		return -EINVAL;
	if (n > rest && strncmp(w[rest], "gyro_lost=", 10) == 0 &&
	    parse_unsigned(w[rest++] + 10, UINT64_MAX, &gyro_lost) < 0)
		return -EINVAL;
	if (n < 7 || parse_unsigned(w[4], 1, &available) < 0 ||
	    parse_maybe(w[5], &battery) < 0 || parse_maybe(w[6], &rssi) < 0)
		return -EINVAL;

	return dbus_api_sensor_update(d->api, &(struct dbus_api_sensor) {
		.alias = w[1], .kind = w[2], .mount = mount, .state = w[3],
		.available = available, .battery_pct = battery,
		.rssi_dbm = rssi, .last_seen_ms = available ? 1700000001000ULL : 0,
		.imu_frames_lost = lost, .imu_gyro_frames_lost = gyro_lost,
		.reason = join_rest(w, n, rest, reason, sizeof(reason)),
	});
}

static int cmd_live(struct driver *d, char **w, size_t n)
{
	struct dbus_api_metric metrics[DBUS_API_MAX_METRICS + 8];
	unsigned long long seq;
	size_t k = 0;
	int r;

	if (n < 2 || parse_unsigned(w[1], UINT64_MAX, &seq) < 0)
		return -EINVAL;

	for (size_t i = 2; i < n && k < ELEMENTSOF(metrics); i++, k++) {
		char *eq = strchr(w[i], '='), *colon;

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		colon = strchr(eq + 1, ':');
		if (colon)
			*colon = '\0';

		metrics[k].name = w[i];
		metrics[k].quality = colon ? colon + 1 : NULL;
		r = parse_maybe(eq + 1, &metrics[k].value);
		if (r < 0)
			return r;
	}

	return dbus_api_emit_live(d->api, 1700000002000ULL, seq, metrics, k);
}

/* progress DURATION_MS DISTANCE_M|- STEPS: the running session so far. */
static int cmd_progress(struct driver *d, char **w, size_t n)
{
	unsigned long long duration, steps;
	double distance;

	if (n != 4 || !d->running || parse_unsigned(w[1], UINT64_MAX, &duration) < 0 ||
	    parse_maybe(w[2], &distance) < 0 || parse_unsigned(w[3], UINT64_MAX, &steps) < 0)
		return -EINVAL;
	return dbus_api_set_session(d->api, &(struct dbus_api_session) {
		.state = "running", .started_ms = 1700000000000ULL,
		.duration_ms = duration, .distance_m = distance, .steps = steps,
	});
}

static int cmd_alert(struct driver *d, char **w, size_t n, bool raise)
{
	unsigned long long id;
	struct dbus_api_alert a = {};
	char cue[256];

	if (n < 7 || parse_unsigned(w[1], UINT64_MAX, &id) < 0 ||
	    parse_maybe(w[5], &a.value) < 0 || parse_maybe(w[6], &a.threshold) < 0)
		return -EINVAL;

	a.id = id;
	a.kind = w[2];
	a.severity = w[3];
	a.metric = w[4];
	a.cue = join_rest(w, n, 7, cue, sizeof(cue));
	return raise ? dbus_api_alert_raised(d->api, &a) :
		       dbus_api_alert_cleared(d->api, &a);
}

static void run_line(struct driver *d, char *line)
{
	char *w[80], *save = NULL;
	size_t n = 0;
	int r;

	for (char *t = strtok_r(line, " \t", &save); t && n < ELEMENTSOF(w);
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;

	if (n == 0)
		return;

	if (streq(w[0], "quit")) {
		(void)sd_event_exit(d->event, 0);
		return;
	}

	if (streq(w[0], "gateway"))
		r = cmd_gateway(d, w, n);
	else if (streq(w[0], "sensor"))
		r = cmd_sensor(d, w, n);
	else if (streq(w[0], "remove"))
		r = n == 2 ? dbus_api_sensor_remove(d->api, w[1]) : -EINVAL;
	else if (streq(w[0], "live"))
		r = cmd_live(d, w, n);
	else if (streq(w[0], "raise") || streq(w[0], "clear"))
		r = cmd_alert(d, w, n, streq(w[0], "raise"));
	else if (streq(w[0], "progress"))
		r = cmd_progress(d, w, n);
	else
		r = -EOPNOTSUPP;

	print_result(w[0], r);
}

/* Read what is there; run every complete line (stdin is a pipe or fifo). */
static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct driver *d = userdata;
	char *nl;
	ssize_t k;

	k = read(fd, d->in + d->in_len, sizeof(d->in) - 1 - d->in_len);
	if (k <= 0)
		return sd_event_exit(d->event, 0);

	d->in_len += k;
	d->in[d->in_len] = '\0';
	while ((nl = strchr(d->in, '\n'))) {
		size_t used = nl - d->in + 1;

		*nl = '\0';
		run_line(d, d->in);
		memmove(d->in, d->in + used, d->in_len - used + 1);
		d->in_len -= used;
	}

	if (d->in_len == sizeof(d->in) - 1)
		d->in_len = 0;	/* an overlong line: drop it */

	return 0;
}

static int on_name(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct driver *d = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e) {
		printf("error name: %s\n", e->name);
		fflush(stdout);
		return sd_event_exit(d->event, 1);
	}

	printf("ready\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct driver d = {};
	int r, code = 1;

	r = sd_event_default(&d.event);
	if (r >= 0)
		r = sd_bus_open_system(&d.bus);
	if (r >= 0)
		r = sd_bus_attach_event(d.bus, d.event, 0);
	if (r >= 0)
		r = dbus_api_new(d.bus, &driver_ops, &d, &d.api);
	if (r >= 0)
		r = sd_bus_request_name_async(d.bus, NULL, DBUS_API_NAME, 0,
					      on_name, &d);
	if (r >= 0) {
		r = sd_event_add_io(d.event, NULL, STDIN_FILENO, EPOLLIN,
				    on_stdin, &d);
		if (r == -EPERM)
			r = 0;	/* stdin is a file (/dev/null): no commands */
	}
	if (r >= 0)
		r = sd_event_loop(d.event);
	if (r < 0)
		fprintf(stderr, "dbus-api-driver: %s\n", strerror(-r));
	else
		code = r;

	d.api = dbus_api_free(d.api);
	sd_bus_flush_close_unref(d.bus);
	sd_event_unref(d.event);
	json_object_put(d.pain);
	free(d.last_summary);
	return code;
}
