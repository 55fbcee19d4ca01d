// SPDX-License-Identifier: GPL-2.0-or-later
/* dbus-api: objects, methods, properties and signals of io.gaitkeeper.Gaitkeeper1. */
#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/utf8.h"
#include "daemon/dbus-api.h"
#include "daemon/mqtt-command.h"

#define DBUS_API_ERROR_ALREADY_RUNNING	DBUS_API_NAME ".Error.AlreadyRunning"
#define DBUS_API_ERROR_NOT_RUNNING	DBUS_API_NAME ".Error.NotRunning"
#define DBUS_API_ERROR_NOT_FOUND	DBUS_API_NAME ".Error.NotFound"

/* Longest sensor alias we accept: it becomes an object path element. */
#define DBUS_API_ALIAS_MAX 64u

/* Bit n of a dirty mask stands for the n-th name of the matching table. */
enum {
	GW_PROP_NODE,
	GW_PROP_VERSION,
	GW_PROP_STATE,
	GW_PROP_STATUS,
	GW_PROP_BROKER,
	GW_PROP_STREAMING,
	GW_PROP_TOTAL,
	GW_PROP_FORM_SENSOR,
	GW_PROP_PAIN_WHERE,
};

static const char *const gateway_props[] = {
	"Node", "Version", "State", "Status", "BrokerConnected",
	"SensorsStreaming", "SensorsTotal", "FormSensor", "PainWhere", NULL,
};

enum {
	SESSION_PROP_STATE,
	SESSION_PROP_START,
	SESSION_PROP_DURATION,
	SESSION_PROP_DISTANCE,
	SESSION_PROP_STEPS,
	SESSION_PROP_METRICS,
	SESSION_PROP_QUALITY,
	SESSION_PROP_ALERTS,
};

static const char *const session_props[] = {
	"State", "StartTimeMs", "DurationMs", "DistanceM", "Steps", "Metrics",
	"Quality", "ActiveAlerts", NULL,
};

enum {
	SENSOR_PROP_KIND,
	SENSOR_PROP_MOUNT,
	SENSOR_PROP_STATE,
	SENSOR_PROP_REASON,
	SENSOR_PROP_AVAILABLE,
	SENSOR_PROP_BATTERY,
	SENSOR_PROP_RSSI,
	SENSOR_PROP_LAST_SEEN,
	SENSOR_PROP_FRAMES_LOST,
	SENSOR_PROP_GYRO_FRAMES_LOST,
};

static const char *const sensor_props[] = {
	"Kind", "Mount", "State", "Reason", "Available", "BatteryPct", "RssiDbm",
	"LastSeenMs", "ImuFramesLost", "ImuGyroFramesLost", NULL,
};

struct api_sensor {
	char *path;
	char *alias;
	char *kind;
	char *mount;
	char *state;
	char *reason;
	bool available;
	double battery_pct;
	double rssi_dbm;
	uint64_t last_seen_ms;
	uint64_t imu_frames_lost;
	uint64_t imu_gyro_frames_lost;
	unsigned dirty;
};

struct api_metric {
	char *name;
	double value;		/* NAN: not in Metrics */
	char *quality;		/* NULL: not in Quality */
};

struct api_alert {
	uint64_t id;
	char *kind;
	char *severity;
	char *metric;
	double value;
	double threshold;
	char *cue;
};

struct dbus_api {
	sd_bus *bus;
	const struct dbus_api_ops *ops;
	void *userdata;

	sd_bus_slot *gateway_slot;
	sd_bus_slot *session_slot;
	sd_bus_slot *sensor_slot;
	sd_bus_slot *enumerator_slot;
	sd_bus_slot *manager_slot;
	sd_event_source *flush_source;	/* oneshot defer: PropertiesChanged */

	struct {
		char *node;
		char *version;
		char *state;
		char *status;
		bool broker_connected;
		unsigned sensors_streaming;
		unsigned sensors_total;
		char *form_sensor;
		char *pain_where;
		unsigned dirty;
	} gw;

	struct {
		char *state;
		uint64_t started_ms;
		uint64_t duration_ms;
		double distance_m;
		uint64_t steps;
		struct api_metric *metrics;
		size_t n_metrics;
		struct api_alert *alerts;
		size_t n_alerts;
		unsigned dirty;
	} session;

	struct api_sensor **sensors;
	size_t n_sensors;

	struct pending_check *pending;	/* caller checks waiting for the bus */
	unsigned n_pending;
};

/*
 * The one errno -> D-Bus error map. Handlers return what it returns, so
 * sd-bus sends the named error instead of one derived from the errno.
 */
static int bus_error_from_errno(sd_bus_error *error, int r)
{
	switch (r) {
	case -EACCES:
	case -EPERM:
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
					"Caller is neither root nor in group '"
					DBUS_API_OPERATOR_GROUP "'");
	case -EINVAL:
	case -ERANGE:
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
					"Invalid argument");
	case -EBUSY:
	case -EALREADY:
		return sd_bus_error_set(error, DBUS_API_ERROR_ALREADY_RUNNING,
					"A session is already running");
	case -ESRCH:
		return sd_bus_error_set(error, DBUS_API_ERROR_NOT_RUNNING,
					"No session is running");
	case -ENOENT:
		return sd_bus_error_set(error, DBUS_API_ERROR_NOT_FOUND,
					"No such session summary");
	case -ENOMEM:
		return sd_bus_error_set(error, SD_BUS_ERROR_NO_MEMORY,
					"Out of memory");
	case -ENOSPC:
	case -ENOBUFS:
	case -E2BIG:
		return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
					"A limit was exceeded");
	default:
		/*
		 * Failed, as documented: sd_bus_error_set_errno() would name
		 * it after the errno (IOError, System.Error.EROFS, ...).
		 */
		return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Request failed: %s",
					 strerror(r < 0 ? -r : EIO));
	}
}

/*
 * The errno of a method's own work (the daemon's ops). AccessDenied is the
 * caller check's alone: an op's EACCES or EPERM is a file the daemon could
 * not write (SetPainWhere with a read-only state directory), and read as
 * "Caller is neither root nor in group 'gaitkeeper'" to root.
 */
static int op_error(sd_bus_error *error, int r)
{
	if (r == -EACCES || r == -EPERM)
		return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Request failed: %s",
					 strerror(-r));

	return bus_error_from_errno(error, r);
}

/* One reentrant NSS lookup into a caller-provided record; sets *found. */
typedef int (*nss_call_t)(const void *key, void *record, char *buf, size_t size,
			  bool *found);

static int call_getgrnam(const void *key, void *record, char *buf, size_t size,
			 bool *found)
{
	struct group *res = NULL;
	int e = getgrnam_r(key, record, buf, size, &res);

	*found = res;
	return e;
}

static int call_getpwuid(const void *key, void *record, char *buf, size_t size,
			 bool *found)
{
	struct passwd *res = NULL;
	int e = getpwuid_r(*(const uid_t *)key, record, buf, size, &res);

	*found = res;
	return e;
}

/*
 * Run an NSS lookup, growing its string buffer on ERANGE. The record points
 * into *ret_buf, which the caller frees. Returns 1 found, 0 not found, -errno.
 */
static int nss_lookup(nss_call_t call, const void *key, void *record, char **ret_buf)
{
	for (size_t size = 1024; size <= 1024 * 1024; size *= 2) {
		_cleanup_free_ char *buf = malloc(size);
		bool found = false;
		int e;

		if (!buf)
			return -ENOMEM;

		e = call(key, record, buf, size, &found);
		if (e == ERANGE)
			continue;
		if (e != 0)
			return -e;
		if (!found)
			return 0;

		*ret_buf = TAKE_PTR(buf);
		return 1;
	}

	return -ERANGE;
}

static int lookup_group(const char *name, struct group *gr, char **ret_buf)
{
	return nss_lookup(call_getgrnam, name, gr, ret_buf);
}

/*
 * Defence in depth behind the bus policy: the caller of a mutating method
 * must be uid 0 or in DBUS_API_OPERATOR_GROUP, either by the supplementary
 * groups the bus reports for its connection or by the group database
 * (primary group or member list, as dbus-daemon decides policy group=).
 * We do not augment from /proc: under ProtectProc=invisible other users'
 * processes are hidden from us. Returns 0 allowed, -EACCES, -errno.
 */
static int check_operator(sd_bus_message *m)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	_cleanup_free_ char *grbuf = NULL, *pwbuf = NULL;
	const gid_t *gids = NULL;
	struct passwd pw;
	struct group gr;
	uid_t uid;
	int n, r;

	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID |
				      SD_BUS_CREDS_SUPPLEMENTARY_GIDS, &creds);
	if (r < 0)
		return r;

	r = sd_bus_creds_get_euid(creds, &uid);
	if (r < 0)
		r = sd_bus_creds_get_uid(creds, &uid);
	if (r < 0)
		return -EACCES;		/* an unknown caller gets nothing */

	if (uid == 0)
		return 0;

	r = lookup_group(DBUS_API_OPERATOR_GROUP, &gr, &grbuf);
	if (r < 0)
		return r;
	if (r == 0)
		return -EACCES;		/* no operator group: root only */

	n = sd_bus_creds_get_supplementary_gids(creds, &gids);
	for (int i = 0; i < n; i++)
		if (gids[i] == gr.gr_gid)
			return 0;

	r = nss_lookup(call_getpwuid, &uid, &pw, &pwbuf);
	if (r <= 0)
		return r < 0 ? r : -EACCES;

	if (pw.pw_gid == gr.gr_gid)
		return 0;

	for (char **mem = gr.gr_mem; mem && *mem; mem++)
		if (streq(*mem, pw.pw_name))
			return 0;

	return -EACCES;
}

DEFINE_FREEP(struct dbus_api, dbus_api_free)

/* ---- PropertiesChanged, coalesced ------------------------------------- */

static int emit_changed(struct dbus_api *api, const char *path,
			const char *interface, const char *const *names,
			unsigned mask)
{
	const char *list[32];
	size_t n = 0;

	for (size_t i = 0; names[i] && n < ELEMENTSOF(list) - 1; i++)
		if (mask & (1u << i))
			list[n++] = names[i];
	list[n] = NULL;

	if (n == 0)
		return 0;

	return sd_bus_emit_properties_changed_strv(api->bus, path, interface,
						   (char **)list);
}

static void api_flush(struct dbus_api *api)
{
	/*
	 * A failed emit leaves nothing to retry: the values are stored and
	 * a client's next Get sees them. Each object is tried regardless.
	 */
	(void)emit_changed(api, DBUS_API_PATH, DBUS_API_INTERFACE,
			   gateway_props, api->gw.dirty);
	api->gw.dirty = 0;

	(void)emit_changed(api, DBUS_API_SESSION_PATH,
			   DBUS_API_SESSION_INTERFACE, session_props,
			   api->session.dirty);
	api->session.dirty = 0;

	for (size_t i = 0; i < api->n_sensors; i++) {
		struct api_sensor *s = api->sensors[i];

		(void)emit_changed(api, s->path, DBUS_API_SENSOR_INTERFACE,
				   sensor_props, s->dirty);
		s->dirty = 0;
	}
}

static int on_flush(sd_event_source *source, void *userdata)
{
	api_flush(userdata);
	return 0;
}

/* Ask for one flush at the next loop iteration (or now, without a loop). */
static void api_schedule_flush(struct dbus_api *api)
{
	if (!api->flush_source ||
	    sd_event_source_set_enabled(api->flush_source, SD_EVENT_ONESHOT) < 0)
		api_flush(api);
}

/* ---- small value helpers ---------------------------------------------- */

/* Store a copy of value ("" for NULL) in *field. Returns 1 changed, 0, -ENOMEM. */
static int update_string(char **field, const char *value)
{
	char *copy;

	if (!value)
		value = "";

	/* *field is valid UTF-8: equal to it, value is too (no copy per tick) */
	if (*field && streq(*field, value))
		return 0;

	copy = gk_utf8_dup_valid(value);
	if (!copy)
		return -ENOMEM;

	/* an invalid value that was stored before */
	if (*field && streq(*field, copy)) {
		free(copy);
		return 0;
	}

	free(*field);
	*field = copy;
	return 1;
}

/* Doubles compare equal when both are NAN (unknown stays unknown). */
static bool double_same(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);

	return a == b;
}

static void api_alert_done(struct api_alert *a)
{
	free(a->kind);
	free(a->severity);
	free(a->metric);
	free(a->cue);
}

static int api_alert_set(struct api_alert *a, const struct dbus_api_alert *from)
{
	struct api_alert n = {
		.id = from->id,
		.value = from->value,
		.threshold = from->threshold,
	};

	if (update_string(&n.kind, from->kind) < 0 ||
	    update_string(&n.severity, from->severity) < 0 ||
	    update_string(&n.metric, from->metric) < 0 ||
	    update_string(&n.cue, from->cue) < 0) {
		api_alert_done(&n);
		return -ENOMEM;
	}

	/* Swap first, free after: from's strings may even point into *a. */
	struct api_alert old = *a;

	*a = n;
	api_alert_done(&old);
	return 0;
}

static void api_metrics_clear(struct dbus_api *api)
{
	for (size_t i = 0; i < api->session.n_metrics; i++) {
		free(api->session.metrics[i].name);
		free(api->session.metrics[i].quality);
	}
	free(api->session.metrics);
	api->session.metrics = NULL;
	api->session.n_metrics = 0;
}

static void api_alerts_clear(struct dbus_api *api)
{
	for (size_t i = 0; i < api->session.n_alerts; i++)
		api_alert_done(&api->session.alerts[i]);
	free(api->session.alerts);
	api->session.alerts = NULL;
	api->session.n_alerts = 0;
}

static struct api_sensor *api_sensor_free(struct api_sensor *s)
{
	if (!s)
		return NULL;

	free(s->path);
	free(s->alias);
	free(s->kind);
	free(s->mount);
	free(s->state);
	free(s->reason);
	free(s);
	return NULL;
}
DEFINE_FREEP(struct api_sensor, api_sensor_free)

static struct api_sensor *api_find_sensor(struct dbus_api *api, const char *alias,
					  size_t *ret_index)
{
	for (size_t i = 0; i < api->n_sensors; i++)
		if (streq(api->sensors[i]->alias, alias)) {
			if (ret_index)
				*ret_index = i;
			return api->sensors[i];
		}

	return NULL;
}

/* ---- property getters (userdata points at the field) ------------------ */

static int property_get_string(sd_bus *bus, const char *path,
			       const char *interface, const char *property,
			       sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	const char *s = *(char **)userdata;

	return sd_bus_message_append(reply, "s", s ?: "");
}

static int property_get_bool(sd_bus *bus, const char *path,
			     const char *interface, const char *property,
			     sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	return sd_bus_message_append(reply, "b", (int)*(bool *)userdata);
}

static int property_get_unsigned(sd_bus *bus, const char *path,
				 const char *interface, const char *property,
				 sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t)*(unsigned *)userdata);
}

static int property_get_u64(sd_bus *bus, const char *path,
			    const char *interface, const char *property,
			    sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	return sd_bus_message_append(reply, "t", *(uint64_t *)userdata);
}

static int property_get_double(sd_bus *bus, const char *path,
			       const char *interface, const char *property,
			       sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	return sd_bus_message_append(reply, "d", *(double *)userdata);
}

static int property_get_metrics(sd_bus *bus, const char *path,
				const char *interface, const char *property,
				sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{sd}");
	if (r < 0)
		return r;

	for (size_t i = 0; i < api->session.n_metrics; i++) {
		const struct api_metric *mt = &api->session.metrics[i];

		if (isnan(mt->value))
			continue;

		r = sd_bus_message_append(reply, "{sd}", mt->name, mt->value);
		if (r < 0)
			return r;
	}

	return sd_bus_message_close_container(reply);
}

static int property_get_quality(sd_bus *bus, const char *path,
				const char *interface, const char *property,
				sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "{ss}");
	if (r < 0)
		return r;

	for (size_t i = 0; i < api->session.n_metrics; i++) {
		const struct api_metric *mt = &api->session.metrics[i];

		if (!mt->quality)
			continue;

		r = sd_bus_message_append(reply, "{ss}", mt->name, mt->quality);
		if (r < 0)
			return r;
	}

	return sd_bus_message_close_container(reply);
}

static int append_alert(sd_bus_message *m, const struct api_alert *a)
{
	return sd_bus_message_append(m, "tsssdds", a->id, a->kind, a->severity,
				     a->metric, a->value, a->threshold, a->cue);
}

static int property_get_alerts(sd_bus *bus, const char *path,
			       const char *interface, const char *property,
			       sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(tsssdds)");
	if (r < 0)
		return r;

	for (size_t i = 0; i < api->session.n_alerts; i++) {
		r = sd_bus_message_open_container(reply, 'r', "tsssdds");
		if (r < 0)
			return r;

		r = append_alert(reply, &api->session.alerts[i]);
		if (r < 0)
			return r;

		r = sd_bus_message_close_container(reply);
		if (r < 0)
			return r;
	}

	return sd_bus_message_close_container(reply);
}

/* ---- methods ---------------------------------------------------------- */

/* The part of a mutating method after the caller check: reads m, replies. */
typedef int (*method_run_t)(struct dbus_api *api, sd_bus_message *m,
			    sd_bus_error *error);

/*
 * A caller check waiting for the bus's GetConnectionCredentials: sd-bus 252
 * does not read "UnixGroupIDs" from it, so a caller whose group comes only
 * from its process (SupplementaryGroups=, newgrp) is asked for again, in
 * the loop, without blocking it.
 */
struct pending_check {
	struct dbus_api *api;
	sd_bus_message *call;
	sd_bus_slot *slot;
	method_run_t run;
	struct pending_check *next;
};

/* Checks in flight; beyond this callers get LimitsExceeded. */
#define DBUS_API_MAX_PENDING 16u

static struct pending_check *pending_check_free(struct pending_check *p)
{
	struct pending_check **pp;

	if (!p)
		return NULL;

	for (pp = &p->api->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			p->api->n_pending--;
			break;
		}

	sd_bus_slot_unref(p->slot);
	sd_bus_message_unref(p->call);
	free(p);
	return NULL;
}

/* Reply to call from run()'s result or from r. */
static int reply_result(sd_bus_message *call, sd_bus_error *e, int r)
{
	if (r >= 0)
		return 0;

	if (sd_bus_error_is_set(e))
		return sd_bus_reply_method_error(call, e);

	return sd_bus_reply_method_errno(call, r, NULL);
}

/* Does an a{sv} from GetConnectionCredentials list gid in UnixGroupIDs? */
static int creds_have_gid(sd_bus_message *reply, gid_t gid)
{
	const char *key;
	int r;

	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;

	while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			return r;

		if (!streq(key, "UnixGroupIDs")) {
			r = sd_bus_message_skip(reply, "v");
		} else {
			const uint32_t *ids;
			size_t size;

			r = sd_bus_message_enter_container(reply, 'v', "au");
			if (r < 0)
				return r;
			r = sd_bus_message_read_array(reply, 'u', (const void **)&ids,
						      &size);
			if (r < 0)
				return r;
			for (size_t i = 0; i < size / sizeof(*ids); i++)
				if (ids[i] == gid)
					return 1;
			r = sd_bus_message_exit_container(reply);
		}
		if (r < 0)
			return r;

		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}

	return r;
}

static int on_connection_credentials(sd_bus_message *reply, void *userdata,
				     sd_bus_error *ret_error)
{
	struct pending_check *p = userdata;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *grbuf = NULL;
	struct group gr;
	int r;

	r = lookup_group(DBUS_API_OPERATOR_GROUP, &gr, &grbuf);
	if (r > 0 && !sd_bus_message_is_method_error(reply, NULL))
		r = creds_have_gid(reply, gr.gr_gid);
	else if (r >= 0)
		r = -EACCES;

	if (r > 0)
		r = p->run(p->api, p->call, &e);
	else
		r = bus_error_from_errno(&e, r < 0 ? r : -EACCES);

	(void)reply_result(p->call, &e, r);
	pending_check_free(p);
	return 0;
}

/*
 * Run a mutating method for an operator: at once when the sender's
 * credentials or the group database allow it, after the bus's own account
 * of the sender's groups otherwise (the reply then comes later).
 */
static int operator_call(struct dbus_api *api, sd_bus_message *m,
			 sd_bus_error *error, method_run_t run)
{
	struct pending_check *p;
	int r;

	r = check_operator(m);
	if (r >= 0)
		return run(api, m, error);
	if (r != -EACCES)
		return bus_error_from_errno(error, r);

	if (api->n_pending >= DBUS_API_MAX_PENDING)
		return bus_error_from_errno(error, -ENOBUFS);

	p = calloc(1, sizeof(*p));
	if (!p)
		return bus_error_from_errno(error, -ENOMEM);

	p->api = api;
	p->call = sd_bus_message_ref(m);
	p->run = run;
	p->next = api->pending;
	api->pending = p;
	api->n_pending++;

	r = sd_bus_call_method_async(api->bus, &p->slot, "org.freedesktop.DBus",
				     "/org/freedesktop/DBus",
				     "org.freedesktop.DBus",
				     "GetConnectionCredentials",
				     on_connection_credentials, p, "s",
				     sd_bus_message_get_sender(m));
	if (r < 0) {
		pending_check_free(p);
		return bus_error_from_errno(error, -EACCES);
	}

	return 1;	/* replied to from on_connection_credentials() */
}

static int run_start_session(struct dbus_api *api, sd_bus_message *m,
			     sd_bus_error *error)
{
	int r = api->ops->start_session(api->userdata);

	if (r < 0)
		return op_error(error, r);

	return sd_bus_reply_method_return(m, NULL);
}

static int run_stop_session(struct dbus_api *api, sd_bus_message *m,
			    sd_bus_error *error)
{
	int r = api->ops->stop_session(api->userdata);

	if (r < 0)
		return op_error(error, r);

	return sd_bus_reply_method_return(m, NULL);
}

/* InvalidArgs naming the accepted locations. */
static int pain_location_error(sd_bus_error *error, const char *where)
{
	char known[256] = "";
	size_t len = 0;

	for (size_t i = 0; mqtt_command_pain_locations[i]; i++) {
		int w = snprintf(known + len, sizeof(known) - len, "%s%s",
				 i ? ", " : "", mqtt_command_pain_locations[i]);

		if (w < 0 || (size_t)w >= sizeof(known) - len)
			break;
		len += w;
	}

	/*
	 * At most 64 bytes of it, cut before a character: the message must be
	 * valid UTF-8, else sd-bus cannot send the error and the caller waits
	 * for a reply that never comes.
	 */
	size_t cut = strnlen(where, 64);

	while (cut > 0 && ((unsigned char)where[cut] & 0xc0) == 0x80)
		cut--;

	return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
				 "Unknown pain location '%.*s%s' (%s)", (int)cut, where,
				 where[cut] ? "..." : "", known);
}

static int run_set_pain_where(struct dbus_api *api, sd_bus_message *m,
			      sd_bus_error *error)
{
	const char *where;
	int r;

	r = sd_bus_message_read(m, "s", &where);
	if (r < 0)
		return r;
	/* one list for D-Bus and MQTT cmd/pain */
	if (!mqtt_command_pain_location_valid(where))
		return pain_location_error(error, where);

	r = api->ops->set_pain_where(api->userdata, where);
	if (r < 0)
		return op_error(error, r);

	return sd_bus_reply_method_return(m, NULL);
}

static int run_report_pain(struct dbus_api *api, sd_bus_message *m,
			   sd_bus_error *error)
{
	const char *where;
	uint32_t level;
	int r;

	r = sd_bus_message_read(m, "us", &level, &where);
	if (r < 0)
		return r;

	if (level > DBUS_API_PAIN_LEVEL_MAX)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Pain level %u is out of range 0-%u",
					 level, DBUS_API_PAIN_LEVEL_MAX);

	/* "": the location the daemon keeps (PainWhere) */
	if (where[0] && !mqtt_command_pain_location_valid(where))
		return pain_location_error(error, where);

	r = api->ops->report_pain(api->userdata, level, where);
	if (r < 0)
		return op_error(error, r);

	return sd_bus_reply_method_return(m, NULL);
}

static int method_start_session(sd_bus_message *m, void *userdata,
				sd_bus_error *error)
{
	return operator_call(userdata, m, error, run_start_session);
}

static int method_stop_session(sd_bus_message *m, void *userdata,
			       sd_bus_error *error)
{
	return operator_call(userdata, m, error, run_stop_session);
}

static int method_report_pain(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	return operator_call(userdata, m, error, run_report_pain);
}

static int method_set_pain_where(sd_bus_message *m, void *userdata,
				 sd_bus_error *error)
{
	return operator_call(userdata, m, error, run_set_pain_where);
}

static int method_get_summary(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	_cleanup_free_ char *json = NULL;
	int last, r;

	r = sd_bus_message_read(m, "b", &last);
	if (r < 0)
		return r;

	r = api->ops->get_summary(api->userdata, last, &json);
	if (r < 0)
		return op_error(error, r);

	if (!json)
		return bus_error_from_errno(error, -ENOENT);

	/* Not valid UTF-8, it could not be sent: the caller would wait in vain. */
	_cleanup_free_ char *valid = gk_utf8_dup_valid(json);

	if (!valid)
		return bus_error_from_errno(error, -ENOMEM);

	return sd_bus_reply_method_return(m, "s", valid);
}

/* ---- vtables ---------------------------------------------------------- */

#define GW_OFF(f) offsetof(struct dbus_api, gw.f)
#define SESSION_OFF(f) offsetof(struct dbus_api, session.f)
#define SENSOR_OFF(f) offsetof(struct api_sensor, f)
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable gateway_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Node", "s", property_get_string, GW_OFF(node), EMITS),
	SD_BUS_PROPERTY("Version", "s", property_get_string, GW_OFF(version), EMITS),
	SD_BUS_PROPERTY("State", "s", property_get_string, GW_OFF(state), EMITS),
	SD_BUS_PROPERTY("Status", "s", property_get_string, GW_OFF(status), EMITS),
	SD_BUS_PROPERTY("BrokerConnected", "b", property_get_bool,
			GW_OFF(broker_connected), EMITS),
	SD_BUS_PROPERTY("SensorsStreaming", "u", property_get_unsigned,
			GW_OFF(sensors_streaming), EMITS),
	SD_BUS_PROPERTY("SensorsTotal", "u", property_get_unsigned,
			GW_OFF(sensors_total), EMITS),
	SD_BUS_PROPERTY("FormSensor", "s", property_get_string, GW_OFF(form_sensor), EMITS),
	SD_BUS_PROPERTY("PainWhere", "s", property_get_string, GW_OFF(pain_where), EMITS),
	SD_BUS_METHOD_WITH_ARGS("StartSession", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_start_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StopSession", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_stop_session, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReportPain", SD_BUS_ARGS("u", level, "s", where),
				SD_BUS_NO_RESULT, method_report_pain,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SetPainWhere", SD_BUS_ARGS("s", where),
				SD_BUS_NO_RESULT, method_set_pain_where,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetSummary", SD_BUS_ARGS("b", last),
				SD_BUS_RESULT("s", summary_json),
				method_get_summary, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("LiveMetrics",
				SD_BUS_ARGS("t", ts_ms, "t", seq, "a{sd}", metrics,
					    "a{ss}", quality), 0),
	SD_BUS_SIGNAL_WITH_ARGS("AlertRaised",
				SD_BUS_ARGS("t", id, "s", kind, "s", severity,
					    "s", metric, "d", value,
					    "d", threshold, "s", cue), 0),
	SD_BUS_SIGNAL_WITH_ARGS("AlertCleared",
				SD_BUS_ARGS("t", id, "s", kind, "s", severity,
					    "s", metric, "d", value,
					    "d", threshold, "s", cue), 0),
	SD_BUS_SIGNAL_WITH_ARGS("SessionEnded",
				SD_BUS_ARGS("s", summary_json), 0),
	SD_BUS_VTABLE_END
};

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("State", "s", property_get_string, SESSION_OFF(state), EMITS),
	SD_BUS_PROPERTY("StartTimeMs", "t", property_get_u64,
			SESSION_OFF(started_ms), EMITS),
	SD_BUS_PROPERTY("DurationMs", "t", property_get_u64,
			SESSION_OFF(duration_ms), EMITS),
	SD_BUS_PROPERTY("DistanceM", "d", property_get_double,
			SESSION_OFF(distance_m), EMITS),
	SD_BUS_PROPERTY("Steps", "t", property_get_u64, SESSION_OFF(steps), EMITS),
	/* Changed every second: LiveMetrics carries the values, so invalidate. */
	SD_BUS_PROPERTY("Metrics", "a{sd}", property_get_metrics, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("Quality", "a{ss}", property_get_quality, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
	SD_BUS_PROPERTY("ActiveAlerts", "a(tsssdds)", property_get_alerts, 0,
			EMITS),
	SD_BUS_VTABLE_END
};

static const sd_bus_vtable sensor_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Alias", "s", property_get_string, SENSOR_OFF(alias),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Kind", "s", property_get_string, SENSOR_OFF(kind), EMITS),
	SD_BUS_PROPERTY("Mount", "s", property_get_string, SENSOR_OFF(mount), EMITS),
	SD_BUS_PROPERTY("State", "s", property_get_string, SENSOR_OFF(state), EMITS),
	SD_BUS_PROPERTY("Reason", "s", property_get_string, SENSOR_OFF(reason), EMITS),
	SD_BUS_PROPERTY("Available", "b", property_get_bool,
			SENSOR_OFF(available), EMITS),
	SD_BUS_PROPERTY("BatteryPct", "d", property_get_double,
			SENSOR_OFF(battery_pct), EMITS),
	SD_BUS_PROPERTY("RssiDbm", "d", property_get_double,
			SENSOR_OFF(rssi_dbm), EMITS),
	SD_BUS_PROPERTY("LastSeenMs", "t", property_get_u64,
			SENSOR_OFF(last_seen_ms), EMITS),
	SD_BUS_PROPERTY("ImuFramesLost", "t", property_get_u64,
			SENSOR_OFF(imu_frames_lost), EMITS),
	SD_BUS_PROPERTY("ImuGyroFramesLost", "t", property_get_u64,
			SENSOR_OFF(imu_gyro_frames_lost), EMITS),
	SD_BUS_VTABLE_END
};

static int sensor_find(sd_bus *bus, const char *path, const char *interface,
		       void *userdata, void **found, sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	_cleanup_free_ char *alias = NULL;
	struct api_sensor *s;
	int r;

	r = sd_bus_path_decode(path, DBUS_API_SENSOR_PREFIX, &alias);
	if (r <= 0)
		return r;

	s = api_find_sensor(api, alias, NULL);
	if (!s)
		return 0;

	*found = s;
	return 1;
}

static int sensor_enumerate(sd_bus *bus, const char *path, void *userdata,
			    char ***nodes, sd_bus_error *error)
{
	struct dbus_api *api = userdata;
	char **list = calloc(api->n_sensors + 1, sizeof(char *));

	if (!list)
		return -ENOMEM;

	for (size_t i = 0; i < api->n_sensors; i++) {
		list[i] = strdup(api->sensors[i]->path);
		if (!list[i]) {
			for (size_t j = 0; j < i; j++)
				free(list[j]);
			free(list);
			return -ENOMEM;
		}
	}

	*nodes = list;
	return 0;
}

/* ---- lifetime --------------------------------------------------------- */

int dbus_api_new(sd_bus *bus, const struct dbus_api_ops *ops, void *userdata,
		 struct dbus_api **ret)
{
	_cleanup_(dbus_api_freep) struct dbus_api *api = NULL;
	sd_event *event;
	int r;

	if (!bus || !ops || !ret || !ops->start_session || !ops->stop_session ||
	    !ops->report_pain || !ops->set_pain_where || !ops->get_summary)
		return -EINVAL;

	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;

	api->bus = sd_bus_ref(bus);
	api->ops = ops;
	api->userdata = userdata;
	api->session.distance_m = NAN;

	r = sd_bus_add_object_vtable(bus, &api->gateway_slot, DBUS_API_PATH,
				     DBUS_API_INTERFACE, gateway_vtable, api);
	if (r < 0)
		return r;

	r = sd_bus_add_object_vtable(bus, &api->session_slot,
				     DBUS_API_SESSION_PATH,
				     DBUS_API_SESSION_INTERFACE, session_vtable,
				     api);
	if (r < 0)
		return r;

	r = sd_bus_add_fallback_vtable(bus, &api->sensor_slot,
				       DBUS_API_SENSOR_PREFIX,
				       DBUS_API_SENSOR_INTERFACE, sensor_vtable,
				       sensor_find, api);
	if (r < 0)
		return r;

	r = sd_bus_add_node_enumerator(bus, &api->enumerator_slot,
				       DBUS_API_SENSOR_PREFIX, sensor_enumerate,
				       api);
	if (r < 0)
		return r;

	r = sd_bus_add_object_manager(bus, &api->manager_slot, DBUS_API_PATH);
	if (r < 0)
		return r;

	event = sd_bus_get_event(bus);
	if (event) {
		r = sd_event_add_defer(event, &api->flush_source, on_flush, api);
		if (r < 0)
			return r;

		r = sd_event_source_set_enabled(api->flush_source, SD_EVENT_OFF);
		if (r < 0)
			return r;

		(void)sd_event_source_set_description(api->flush_source,
						      "dbus-api-flush");
	}

	*ret = TAKE_PTR(api);
	return 0;
}

struct dbus_api *dbus_api_free(struct dbus_api *api)
{
	if (!api)
		return NULL;

	while (api->pending)
		pending_check_free(api->pending);	/* no reply: we are going */

	sd_event_source_disable_unref(api->flush_source);
	sd_bus_slot_unref(api->manager_slot);
	sd_bus_slot_unref(api->enumerator_slot);
	sd_bus_slot_unref(api->sensor_slot);
	sd_bus_slot_unref(api->session_slot);
	sd_bus_slot_unref(api->gateway_slot);

	for (size_t i = 0; i < api->n_sensors; i++)
		api_sensor_free(api->sensors[i]);
	free(api->sensors);

	api_metrics_clear(api);
	api_alerts_clear(api);
	free(api->session.state);

	free(api->gw.node);
	free(api->gw.version);
	free(api->gw.state);
	free(api->gw.status);
	free(api->gw.form_sensor);
	free(api->gw.pain_where);

	sd_bus_unref(api->bus);
	free(api);
	return NULL;
}

/* ---- push calls ------------------------------------------------------- */

/* Fold update_string()'s result into a dirty mask; -ENOMEM wins. */
static int mark_string(char **field, const char *value, unsigned bit,
		       unsigned *dirty)
{
	int r = update_string(field, value);

	if (r > 0)
		*dirty |= 1u << bit;
	return r < 0 ? r : 0;
}

#define MARK_VALUE(field, value, bit, dirty)		\
	do {						\
		if ((field) != (value)) {		\
			(field) = (value);		\
			(dirty) |= 1u << (bit);		\
		}					\
	} while (0)

int dbus_api_set_gateway(struct dbus_api *api, const struct dbus_api_gateway *g)
{
	unsigned dirty = 0;
	int r = 0;

	if (!api || !g)
		return -EINVAL;

	if (mark_string(&api->gw.node, g->node, GW_PROP_NODE, &dirty) < 0 ||
	    mark_string(&api->gw.version, g->version, GW_PROP_VERSION, &dirty) < 0 ||
	    mark_string(&api->gw.state, g->state, GW_PROP_STATE, &dirty) < 0 ||
	    mark_string(&api->gw.status, g->status, GW_PROP_STATUS, &dirty) < 0 ||
	    mark_string(&api->gw.form_sensor, g->form_sensor, GW_PROP_FORM_SENSOR,
			&dirty) < 0 ||
	    mark_string(&api->gw.pain_where, g->pain_where, GW_PROP_PAIN_WHERE, &dirty) < 0)
		r = -ENOMEM;

	MARK_VALUE(api->gw.broker_connected, g->broker_connected, GW_PROP_BROKER,
		   dirty);
	MARK_VALUE(api->gw.sensors_streaming, g->sensors_streaming,
		   GW_PROP_STREAMING, dirty);
	MARK_VALUE(api->gw.sensors_total, g->sensors_total, GW_PROP_TOTAL, dirty);

	if (!dirty)
		return r;

	api->gw.dirty |= dirty;
	/*
	 * State goes out at once: a reload runs within one pass of the loop
	 * ("reloading", then "running" again), and coalesced, no client ever
	 * saw "reloading".
	 */
	if (dirty & 1u << GW_PROP_STATE)
		api_flush(api);
	else
		api_schedule_flush(api);

	return r;
}

static int sensor_apply(struct api_sensor *s, const struct dbus_api_sensor *from,
			unsigned *dirty)
{
	int r = 0;

	if (mark_string(&s->kind, from->kind, SENSOR_PROP_KIND, dirty) < 0 ||
	    mark_string(&s->mount, from->mount, SENSOR_PROP_MOUNT, dirty) < 0 ||
	    mark_string(&s->state, from->state, SENSOR_PROP_STATE, dirty) < 0 ||
	    mark_string(&s->reason, from->reason, SENSOR_PROP_REASON, dirty) < 0)
		r = -ENOMEM;

	MARK_VALUE(s->available, from->available, SENSOR_PROP_AVAILABLE, *dirty);
	MARK_VALUE(s->last_seen_ms, from->last_seen_ms, SENSOR_PROP_LAST_SEEN,
		   *dirty);
	MARK_VALUE(s->imu_frames_lost, from->imu_frames_lost, SENSOR_PROP_FRAMES_LOST,
		   *dirty);
	MARK_VALUE(s->imu_gyro_frames_lost, from->imu_gyro_frames_lost,
		   SENSOR_PROP_GYRO_FRAMES_LOST, *dirty);

	if (!double_same(s->battery_pct, from->battery_pct)) {
		s->battery_pct = from->battery_pct;
		*dirty |= 1u << SENSOR_PROP_BATTERY;
	}

	if (!double_same(s->rssi_dbm, from->rssi_dbm)) {
		s->rssi_dbm = from->rssi_dbm;
		*dirty |= 1u << SENSOR_PROP_RSSI;
	}

	return r;
}

int dbus_api_sensor_update(struct dbus_api *api, const struct dbus_api_sensor *from)
{
	_cleanup_(api_sensor_freep) struct api_sensor *s = NULL;
	struct api_sensor **list, *old;
	unsigned dirty = 0;
	int r;

	if (!api || !from || !from->alias || !*from->alias ||
	    strlen(from->alias) > DBUS_API_ALIAS_MAX)
		return -EINVAL;

	old = api_find_sensor(api, from->alias, NULL);
	if (old) {
		r = sensor_apply(old, from, &dirty);
		if (dirty) {
			old->dirty |= dirty;
			api_schedule_flush(api);
		}
		return r;
	}

	if (api->n_sensors >= DBUS_API_MAX_SENSORS)
		return -ENOSPC;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;

	s->battery_pct = NAN;
	s->rssi_dbm = NAN;
	s->alias = strdup(from->alias);
	if (!s->alias)
		/* cppcheck-suppress memleak ; s is freed by _cleanup_ */
		return -ENOMEM;

	r = sd_bus_path_encode(DBUS_API_SENSOR_PREFIX, from->alias, &s->path);
	if (r < 0)
		return r;

	r = sensor_apply(s, from, &dirty);
	if (r < 0)
		return r;

	list = realloc(api->sensors, (api->n_sensors + 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;

	api->sensors = list;
	api->sensors[api->n_sensors++] = old = TAKE_PTR(s);

	/* InterfacesAdded carries every property: nothing left to announce. */
	return sd_bus_emit_object_added(api->bus, old->path);
}

int dbus_api_sensor_remove(struct dbus_api *api, const char *alias)
{
	struct api_sensor *s;
	size_t i;

	if (!api || !alias)
		return -EINVAL;

	s = api_find_sensor(api, alias, &i);
	if (!s)
		return -ENOENT;

	/* InterfacesRemoved is built from the live object: emit it first. */
	(void)sd_bus_emit_object_removed(api->bus, s->path);

	memmove(api->sensors + i, api->sensors + i + 1,
		(api->n_sensors - i - 1) * sizeof(*api->sensors));
	api->n_sensors--;
	api_sensor_free(s);
	return 0;
}

int dbus_api_set_session(struct dbus_api *api, const struct dbus_api_session *s)
{
	unsigned dirty = 0;
	int r = 0;

	if (!api || !s)
		return -EINVAL;

	if (mark_string(&api->session.state, s->state ?: "idle",
			SESSION_PROP_STATE, &dirty) < 0)
		r = -ENOMEM;

	MARK_VALUE(api->session.started_ms, s->started_ms, SESSION_PROP_START,
		   dirty);
	MARK_VALUE(api->session.duration_ms, s->duration_ms,
		   SESSION_PROP_DURATION, dirty);

	MARK_VALUE(api->session.steps, s->steps, SESSION_PROP_STEPS, dirty);

	if (!double_same(api->session.distance_m, s->distance_m)) {
		api->session.distance_m = s->distance_m;
		dirty |= 1u << SESSION_PROP_DISTANCE;
	}

	if (dirty) {
		api->session.dirty |= dirty;
		api_schedule_flush(api);
	}

	return r;
}

/* Copy metrics into the session; returns -errno, leaves the old on failure. */
static int api_store_metrics(struct dbus_api *api,
			     const struct dbus_api_metric *metrics, size_t n)
{
	struct api_metric *list = calloc(n ?: 1, sizeof(*list));

	if (!list)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		list[i].name = strdup(metrics[i].name);
		list[i].value = metrics[i].value;
		list[i].quality = metrics[i].quality ?
			strdup(metrics[i].quality) : NULL;
		if (!list[i].name || (metrics[i].quality && !list[i].quality)) {
			for (size_t j = 0; j <= i; j++) {
				free(list[j].name);
				free(list[j].quality);
			}
			free(list);
			return -ENOMEM;
		}
	}

	api_metrics_clear(api);
	api->session.metrics = list;
	api->session.n_metrics = n;
	return 0;
}

int dbus_api_emit_live(struct dbus_api *api, uint64_t ts_ms, uint64_t seq,
		       const struct dbus_api_metric *metrics, size_t n_metrics)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	if (!api || (n_metrics > 0 && !metrics))
		return -EINVAL;

	if (n_metrics > DBUS_API_MAX_METRICS)
		return -E2BIG;

	/* Dictionary keys must be unique: check before building anything. */
	for (size_t i = 0; i < n_metrics; i++) {
		if (!metrics[i].name || !*metrics[i].name)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (streq(metrics[i].name, metrics[j].name))
				return -EINVAL;
	}

	r = api_store_metrics(api, metrics, n_metrics);
	if (r < 0)
		return r;

	/*
	 * Properties first, then the signal: a client reacting to a signal
	 * reads properties that are already current.
	 */
	api->session.dirty |= 1u << SESSION_PROP_METRICS |
			      1u << SESSION_PROP_QUALITY;
	api_flush(api);

	r = sd_bus_message_new_signal(api->bus, &m, DBUS_API_PATH,
				      DBUS_API_INTERFACE, "LiveMetrics");
	if (r < 0)
		return r;

	r = sd_bus_message_append(m, "tt", ts_ms, seq);
	if (r < 0)
		return r;

	r = property_get_metrics(api->bus, NULL, NULL, NULL, m, api, NULL);
	if (r < 0)
		return r;

	r = property_get_quality(api->bus, NULL, NULL, NULL, m, api, NULL);
	if (r < 0)
		return r;

	return sd_bus_send(api->bus, m, NULL);
}

static int emit_alert(struct dbus_api *api, const char *member,
		      const struct api_alert *a)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_signal(api->bus, &m, DBUS_API_PATH,
				      DBUS_API_INTERFACE, member);
	if (r < 0)
		return r;

	r = append_alert(m, a);
	if (r < 0)
		return r;

	return sd_bus_send(api->bus, m, NULL);
}

int dbus_api_alert_raised(struct dbus_api *api, const struct dbus_api_alert *a)
{
	struct api_alert *slot = NULL;
	int r;

	if (!api || !a)
		return -EINVAL;

	for (size_t i = 0; i < api->session.n_alerts; i++)
		if (api->session.alerts[i].id == a->id)
			slot = &api->session.alerts[i];

	if (!slot) {
		struct api_alert *list;

		if (api->session.n_alerts >= DBUS_API_MAX_ALERTS)
			return -ENOSPC;

		list = realloc(api->session.alerts,
			       (api->session.n_alerts + 1) * sizeof(*list));
		if (!list)
			return -ENOMEM;

		api->session.alerts = list;
		slot = &list[api->session.n_alerts];
		*slot = (struct api_alert) {};
		r = api_alert_set(slot, a);
		if (r < 0)
			return r;
		api->session.n_alerts++;
	} else {
		r = api_alert_set(slot, a);
		if (r < 0)
			return r;
	}

	api->session.dirty |= 1u << SESSION_PROP_ALERTS;
	api_flush(api);

	return emit_alert(api, "AlertRaised", slot);
}

int dbus_api_alert_cleared(struct dbus_api *api, const struct dbus_api_alert *a)
{
	struct api_alert copy = {};
	int r;

	if (!api || !a)
		return -EINVAL;

	for (size_t i = 0; i < api->session.n_alerts; i++) {
		if (api->session.alerts[i].id != a->id)
			continue;

		api_alert_done(&api->session.alerts[i]);
		memmove(api->session.alerts + i, api->session.alerts + i + 1,
			(api->session.n_alerts - i - 1) *
			sizeof(*api->session.alerts));
		api->session.n_alerts--;
		api->session.dirty |= 1u << SESSION_PROP_ALERTS;
		break;
	}

	api_flush(api);

	r = api_alert_set(&copy, a);
	if (r < 0)
		return r;

	r = emit_alert(api, "AlertCleared", &copy);
	api_alert_done(&copy);
	return r;
}

int dbus_api_session_ended(struct dbus_api *api, const char *summary_json)
{
	json_object *obj;
	bool is_object;

	if (!api || !summary_json)
		return -EINVAL;

	if (strlen(summary_json) > DBUS_API_MAX_SUMMARY)
		return -E2BIG;

	obj = json_tokener_parse(summary_json);
	is_object = obj && json_object_is_type(obj, json_type_object);
	json_object_put(obj);
	if (!is_object)
		return -EINVAL;

	if (api->session.n_alerts > 0) {
		api_alerts_clear(api);
		api->session.dirty |= 1u << SESSION_PROP_ALERTS;
	}

	if (api->session.n_metrics > 0) {
		api_metrics_clear(api);
		api->session.dirty |= 1u << SESSION_PROP_METRICS |
				      1u << SESSION_PROP_QUALITY;
	}

	api_flush(api);

	_cleanup_free_ char *valid = gk_utf8_dup_valid(summary_json);

	if (!valid)
		return -ENOMEM;

	return sd_bus_emit_signal(api->bus, DBUS_API_PATH, DBUS_API_INTERFACE,
				  "SessionEnded", "s", valid);
}
