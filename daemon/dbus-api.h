/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dbus-api: gaitkeeperd's D-Bus API io.gaitkeeper.Gaitkeeper1 (docs/dbus.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "daemon/limits.h"

/*
 * The daemon owns the loop and the bus; dbus-api owns the objects on it.
 *
 *   sd_bus_open_system(&bus);  sd_bus_attach_event(bus, event, 0);
 *   dbus_api_new(bus, &ops, daemon, &api);        registers the objects
 *   sd_bus_request_name_async(bus, NULL, DBUS_API_NAME, 0, cb, daemon);
 *   ...  dbus_api_set_gateway(), dbus_api_sensor_update(), ...
 *   api = dbus_api_free(api);                      before the bus goes
 *
 * Method calls reach the daemon through struct dbus_api_ops after dbus-api
 * has checked the caller (mutating methods: uid 0 or group
 * DBUS_API_OPERATOR_GROUP) and validated every argument. The daemon tells
 * dbus-api about state changes with the push calls below; they copy what
 * they keep, compare it with the previous value and queue one coalesced
 * PropertiesChanged per object on the bus's sd-event loop (sd_event_add_defer),
 * so calling them on every tick costs nothing when nothing changed.
 *
 * dbus-api logs nothing above debug; every function returns 0 or -errno.
 * A missing number is NAN (doubles) and is left out of dictionaries. Strings
 * need not be valid UTF-8: what D-Bus cannot carry goes out as U+FFFD.
 */

#define DBUS_API_NAME		"io.gaitkeeper.Gaitkeeper1"
#define DBUS_API_PATH		"/io/gaitkeeper/Gaitkeeper1"
#define DBUS_API_SESSION_PATH	"/io/gaitkeeper/Gaitkeeper1/session"
/* Sensor objects: DBUS_API_SENSOR_PREFIX "/" + sd_bus_path_encode()d alias. */
#define DBUS_API_SENSOR_PREFIX	"/io/gaitkeeper/Gaitkeeper1/sensor"

#define DBUS_API_INTERFACE		"io.gaitkeeper.Gaitkeeper1"
#define DBUS_API_SESSION_INTERFACE	"io.gaitkeeper.Gaitkeeper1.Session"
#define DBUS_API_SENSOR_INTERFACE	"io.gaitkeeper.Gaitkeeper1.Sensor"

/* Members of this group (and uid 0) may call the mutating methods. */
#define DBUS_API_OPERATOR_GROUP	"gaitkeeper"

/* ReportPain level range: a 0-10 numeric rating scale, 0 = no pain. */
#define DBUS_API_PAIN_LEVEL_MAX	10u

/* Caps on what the API keeps (daemon/limits.h); beyond them -ENOSPC/-E2BIG. */
#define DBUS_API_MAX_SENSORS	GK_MAX_SENSORS
#define DBUS_API_MAX_ALERTS	GK_ALERTS_ACTIVE_MAX	/* kept for ActiveAlerts */
#define DBUS_API_MAX_METRICS	64u	/* entries of one LiveMetrics signal */
#define DBUS_API_MAX_SUMMARY	GK_MQTT_PAYLOAD_MAX	/* bytes of a summary JSON */

struct dbus_api;

/*
 * Method handlers, implemented by the daemon. Each gets the userdata given
 * to dbus_api_new() and returns 0 or -errno; dbus-api turns the errno into
 * the D-Bus error documented in docs/dbus.md ("Possible Errors"):
 *   -EBUSY	a session is already running (StartSession)
 *   -ESRCH	no session is running (StopSession)
 *   -ENOENT	no such summary (GetSummary)
 *   -EINVAL, -ERANGE	bad argument
 *   -ENOMEM, -ENOSPC, -ENOBUFS	out of resources / a limit was hit
 *   anything else	org.freedesktop.DBus.Error.Failed with strerror(), -EACCES
 *			and -EPERM too (AccessDenied is for the caller check)
 * Arguments are validated before the call: level <= DBUS_API_PAIN_LEVEL_MAX
 * and where is one of mqtt_command_pain_locations (daemon/mqtt-command.h),
 * the same list as the MQTT cmd/pain command (never NULL).
 * get_summary stores a malloc()ed, NUL-terminated JSON text in *ret_json on
 * success (dbus-api frees it); last = false asks for the running session
 * (or the last one when none is running), last = true for the last
 * finished one.
 */
struct dbus_api_ops {
	int (*start_session)(void *userdata);
	int (*stop_session)(void *userdata);
	/* where "" is the location set with set_pain_where (PainWhere) */
	int (*report_pain)(void *userdata, unsigned level, const char *where);
	int (*set_pain_where)(void *userdata, const char *where);
	int (*get_summary)(void *userdata, bool last, char **ret_json);
};

/*
 * Gateway state: properties of DBUS_API_INTERFACE on DBUS_API_PATH.
 * Strings are copied; NULL means "".
 */
struct dbus_api_gateway {
	const char *node;		/* MQTT node name */
	const char *version;		/* daemon version */
	const char *state;		/* "starting", "running", "reloading", "stopping" */
	const char *status;		/* the sd_notify STATUS= text */
	bool broker_connected;
	unsigned sensors_streaming;
	unsigned sensors_total;
	const char *form_sensor;	/* alias of the IMU sensor feeding the form core */
	const char *pain_where;		/* location of the pain reports that name none */
};

/*
 * One sensor: an object DBUS_API_SENSOR_PREFIX/<encoded alias> with
 * DBUS_API_SENSOR_INTERFACE. Strings are copied; NULL means "".
 */
struct dbus_api_sensor {
	const char *alias;		/* required, the key */
	const char *kind;		/* "polar-h10", "footpod", ... */
	const char *mount;		/* IMU: "sacrum", "waist", "chest"; else "" or NULL */
	const char *state;		/* ble_sensor_state name, e.g. "streaming" */
	const char *reason;		/* why it is not streaming, "" when fine */
	bool available;			/* what MQTT availability says */
	double battery_pct;		/* 0-100, NAN unknown */
	double rssi_dbm;		/* NAN unknown */
	uint64_t last_seen_ms;		/* epoch ms of the last data, 0 = never */
	uint64_t imu_frames_lost;	/* PMD ACC frames lost (MQTT imu_frames_lost); 0 no IMU */
	uint64_t imu_gyro_frames_lost;	/* PMD gyro frames lost, likewise; 0 without gyro */
};

/* Session state: properties of DBUS_API_SESSION_INTERFACE. */
struct dbus_api_session {
	const char *state;		/* "idle", "running", "paused"; NULL = "idle" */
	uint64_t started_ms;		/* epoch ms, 0 = no session */
	uint64_t duration_ms;		/* active time so far */
	double distance_m;		/* NAN unknown */
	uint64_t steps;			/* with the estimated ones (summary steps) */
};

/* One named metric of the live view: name as in run/live (docs/mqtt.md). */
struct dbus_api_metric {
	const char *name;		/* e.g. "cadence_spm"; borrowed */
	double value;			/* NAN = missing: left out of the dict */
	const char *quality;		/* "good", "low", ...; NULL = none */
};

/* An alert, as in MQTT alert: both AlertRaised and AlertCleared carry it. */
struct dbus_api_alert {
	uint64_t id;			/* unique per daemon run, the key */
	const char *kind;		/* e.g. "overstride" */
	const char *severity;		/* "info", "warning", "critical" */
	const char *metric;		/* e.g. "cadence_spm" */
	double value;			/* value that raised/cleared it, NAN unknown */
	double threshold;		/* NAN unknown */
	const char *cue;		/* short coaching text, may be "" */
};

/*
 * Register the objects (gateway, session, sensor fallback with enumerator,
 * ObjectManager at DBUS_API_PATH) on bus. ops and userdata are borrowed for
 * the lifetime of the API; every op must be set. The bus should be attached
 * to an sd-event loop (PropertiesChanged is deferred to it; without one it
 * is sent at once). Does not request the name.
 * Returns 0 and *ret, -EINVAL (missing op) or -ENOMEM / sd-bus errors.
 */
int dbus_api_new(sd_bus *bus, const struct dbus_api_ops *ops, void *userdata,
		 struct dbus_api **ret);

/* Unregister everything, drop pending signals; accepts NULL, returns NULL. */
struct dbus_api *dbus_api_free(struct dbus_api *api);

/* Update the gateway properties; changed ones are announced. */
int dbus_api_set_gateway(struct dbus_api *api, const struct dbus_api_gateway *g);

/*
 * Add a sensor (InterfacesAdded) or update it (PropertiesChanged).
 * -EINVAL without an alias, -ENOSPC beyond DBUS_API_MAX_SENSORS.
 */
int dbus_api_sensor_update(struct dbus_api *api, const struct dbus_api_sensor *s);

/* Remove a sensor (InterfacesRemoved). -ENOENT if unknown. */
int dbus_api_sensor_remove(struct dbus_api *api, const char *alias);

/* Update the session properties; changed ones are announced. */
int dbus_api_set_session(struct dbus_api *api, const struct dbus_api_session *s);

/*
 * Emit the 1 Hz LiveMetrics(t ts_ms, t seq, a{sd} metrics, a{ss} quality)
 * signal on DBUS_API_PATH and keep the same values in the session's Metrics
 * and Quality properties. NAN values and NULL qualities are left out.
 * -EINVAL on a NULL/duplicate name, -E2BIG beyond DBUS_API_MAX_METRICS.
 */
int dbus_api_emit_live(struct dbus_api *api, uint64_t ts_ms, uint64_t seq,
		       const struct dbus_api_metric *metrics, size_t n_metrics);

/*
 * Emit AlertRaised and add the alert to the session's ActiveAlerts
 * (-ENOSPC beyond DBUS_API_MAX_ALERTS; an id already active is updated).
 */
int dbus_api_alert_raised(struct dbus_api *api, const struct dbus_api_alert *a);

/* Emit AlertCleared and drop the id from ActiveAlerts (unknown id: still emitted). */
int dbus_api_alert_cleared(struct dbus_api *api, const struct dbus_api_alert *a);

/*
 * Emit SessionEnded(s summary_json). Alerts still active are dropped from
 * ActiveAlerts (without AlertCleared) and Metrics/Quality are emptied.
 * -EINVAL if summary_json is not a JSON object, -E2BIG beyond
 * DBUS_API_MAX_SUMMARY.
 */
int dbus_api_session_ended(struct dbus_api *api, const char *summary_json);
