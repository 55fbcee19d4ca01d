/* SPDX-License-Identifier: GPL-2.0-or-later */
/* context: struct gk_daemon and the helpers daemon.c, publish.c and history.c share. */
#pragma once

#include <errno.h>
#include <json.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ble/ble.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/dbus-api.h"
#include "daemon/imu-select.h"
#include "daemon/limits.h"
#include "daemon/mqtt.h"
#include "daemon/seq.h"
#include "daemon/spool.h"
#include "form/form.h"

/*
 * Internal to daemon/: the one daemon context (STYLE: no globals but this)
 * and what its three files need from each other. Not an API.
 */

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define TICK_USEC USEC_PER_SEC
#define FORM_ADVANCE_LAG_USEC (2 * USEC_PER_SEC)	/* see on_tick() */
#define GATEWAY_STATE_EVERY_USEC (10 * USEC_PER_SEC)
#define BUS_RETRY_USEC (5 * USEC_PER_SEC)	/* no system bus: try again this often */
#define READY_FALLBACK_USEC (700 * USEC_PER_MSEC)	/* READY=1 within 1 s, name or not */
#define BELT_SPEED_FRESH_USEC (3 * USEC_PER_SEC)	/* a sensor is stale after 3 s, too */
#define SHUTDOWN_TIMEOUT_USEC (3 * USEC_PER_SEC)
#define TOPIC_MAX 384

struct sensor_slot {
	unsigned index;			/* into cfg->sensors */
	unsigned ble_id;		/* 0 = not added */
	int state;			/* enum ble_sensor_state, -1 = unknown */
	char reason[128];
	bool available;
	int battery_pct;		/* -1 unknown */
	bool has_rssi;
	int rssi_dbm;
	uint64_t last_seen_ms;		/* epoch ms, 0 never */
	double heart_rate_bpm, speed_mps, cadence_spm, power_w, incline_pct;
	uint64_t notifications, malformed;
	bool dirty;
};

struct active_alert {
	unsigned id;
	enum form_alert_kind kind;
	enum form_severity severity;
	enum form_metric metric;
	double value, threshold;
	uint64_t started_ms;
	const char *cue;		/* static, from form/ */
};

/* An alert/event message not sent yet: the broker was away when it came. */
struct alert_event_held {
	uint64_t t_usec;		/* monotonic: when the alert was raised or cleared */
	char text[GK_ALERT_EVENT_TEXT_MAX];
};

struct gk_daemon {
	struct gk_daemon_options opts;
	char config_path[GK_CONFIG_PATH_MAX];
	char state_dir[PATH_MAX];
	struct gk_config *cfg;

	sd_event *event;
	sd_bus *bus;
	struct spool *spool;
	struct seq_store *seq;
	struct mqtt_client *mqtt;
	struct ble_manager *ble;
	struct form_engine *form;
	struct dbus_api *api;

	struct sensor_slot sensors[GK_MAX_SENSORS];
	unsigned n_sensors;
	struct imu_select imu;		/* which IMU sensor feeds the form core */
	int imu_sensor;			/* index feeding the form core, -1 none */
	uint64_t t_belt_speed;		/* last belt speed: while fresh, it wins over a footpod's */

	char prefix[TOPIC_MAX];		/* <base_topic>/<node> */
	char password[256];

	sd_event_source *watchdog_timer, *tick_timer, *ready_timer;
	sd_event_source *bus_retry;	/* no system bus yet: try again (bus_setup) */
	uint64_t watchdog_usec;
	uint64_t last_gateway_usec;
	bool ready_sent, stopping, form_reload_pending, baseline_pending;
	int exit_code;			/* the loop's, once stopping: < 0 is a failure */
	char status[256];
	char reload_error[256];

	bool session_active, session_automatic;
	uint64_t session_started_ms;
	uint64_t session_start_usec;	/* monotonic: durations never follow the wall clock */
	/* the form core's session so far (its last metrics): steps, distance (NAN) */
	uint64_t session_steps;
	double session_distance_m;
	enum form_activity activity;
	struct active_alert alerts[GK_ALERTS_ACTIVE_MAX];
	unsigned n_alerts;
	/* alert/event messages from while the broker was away, oldest first */
	struct alert_event_held alert_events[GK_ALERT_EVENTS_HELD_MAX];
	unsigned n_alert_events;
	uint64_t last_live_usec;	/* sample time of the last run/live */
	uint64_t t0_usec;
	char *last_summary;		/* JSON text of the last finished session */
	/* Location of the cmd/pain reports that name none (cmd/pain/where). */
	char pain_where[16];
	/*
	 * JSON text of the last pain report recorded (pain/last, retained),
	 * NULL until there was one: then nothing is published and Home
	 * Assistant's number shows unknown, not 0.
	 */
	char *pain_last;

	uint64_t commands_rejected, commands_accepted;
	uint64_t publish_errors;
};


static inline uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static inline uint64_t epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* systemd-timesyncd's flag: the clock was synchronised since boot. */
#define TIMESYNC_FLAG_FILE "/run/systemd/timesync/synchronized"

/*
 * Is the wall clock NTP-synchronised? A Pi has no RTC: until it is, every
 * "ts" may be far off, which gateway/state says (clock_synced): 1 yes, 0
 * no, -1 unknown. The kernel says, through adjtimex(); under the shipped
 * unit (ProtectClock=, SystemCallFilter=@system-service) that call is
 * refused, and a refusal is not "synchronised": then timesyncd's flag file
 * says yes, and without it we do not know (another NTP client may run).
 */
static inline int clock_synced_flag(const char *flag_file)
{
	struct timex tx = {};
	int r = adjtimex(&tx);

	if (r >= 0)
		return r != TIME_ERROR && !(tx.status & STA_UNSYNC);
	return access(flag_file, F_OK) == 0 ? 1 : -1;
}

static inline int clock_synced(void)
{
	return clock_synced_flag(TIMESYNC_FLAG_FILE);
}

/* Wall-clock ms of a CLOCK_MONOTONIC stamp (payload "ts" fields only). */
static inline uint64_t mono_to_epoch_ms(uint64_t t_usec)
{
	uint64_t now = now_usec(), e = epoch_ms();

	if (t_usec > now)
		return e + (t_usec - now) / USEC_PER_MSEC;
	return e - (now - t_usec) / USEC_PER_MSEC;
}

static inline void json_add_double(struct json_object *o, const char *k, double v)
{
	/* A missing value is null, never 0 (STYLE, peers.md 6.3). */
	json_object_object_add(o, k, isfinite(v) ? json_object_new_double(v) : NULL);
}

static inline void json_add_u64_or_null(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, v ? json_object_new_int64((int64_t)v) : NULL);
}

static inline void json_add_string(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* Topics are bounded by config limits; a truncated one is never published. */
static inline bool topic_of(const struct gk_daemon *d, const char *suffix, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", d->prefix, suffix);

	if (n < 0 || (size_t)n >= size) {
		buf[0] = 0;
		return false;
	}
	return true;
}

/* dir/name (+ suffix) into buf; -ENAMETOOLONG when it does not fit. */
static inline int state_path(const struct gk_daemon *d, const char *name, const char *suffix,
		      char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s%s", d->state_dir, name, suffix);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static inline const char *activity_name(enum form_activity a)
{
	const char *s = form_activity_to_string(a);

	return s ? s : "unknown";
}

static inline const char *sensor_state_name(int state)
{
	const char *s = state >= 0 ? ble_sensor_state_to_string(state) : NULL;

	return s ? s : "idle";
}

/* Alias of the sensor feeding the form core, NULL when there is none. */
static inline const char *form_sensor_alias(const struct gk_daemon *d)
{
	return d->imu_sensor >= 0 ? d->cfg->sensors[d->imu_sensor].alias : NULL;
}

static inline unsigned sensors_streaming(const struct gk_daemon *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->n_sensors; i++)
		n += d->sensors[i].available;
	return n;
}

/* ---- publish.c: every MQTT payload, D-Bus push and HA discovery ---------- */

/*
 * Add "ts" and the topic's "seq" to obj and publish it on <prefix>/suffix.
 * spooled: must-deliver, durably queued (prio orders drops). 0 or -errno.
 */
int publish_json(struct gk_daemon *d, const char *suffix, struct json_object *obj,
		 unsigned qos, bool retain, bool spooled, enum spool_priority prio);
void publish_availability(struct gk_daemon *d, const char *alias, bool online);
void publish_session_state(struct gk_daemon *d);
void publish_pain_where(struct gk_daemon *d);
/* A pain report was recorded: make it d->pain_last, store it and publish it. */
void publish_pain_report(struct gk_daemon *d, unsigned level, const char *where);
/* d->pain_last again, the same bytes (ts, seq); nothing before any report. */
void publish_pain_last(struct gk_daemon *d);
void publish_session_dbus(struct gk_daemon *d);
void publish_sensor_dbus(struct gk_daemon *d, const struct sensor_slot *s);
void publish_alerts_active(struct gk_daemon *d);
void publish_sensor_state(struct gk_daemon *d, struct sensor_slot *s);
void publish_gateway_state(struct gk_daemon *d);
/*
 * Everything retained, again: on (re)connect and when Home Assistant restarts;
 * and the alert/event messages held while the broker was away that are still
 * fresh.
 */
void publish_state_all(struct gk_daemon *d);
void publish_discovery(struct gk_daemon *d);
/* The form engine's event callback (form_event_cb_t). */
void publish_form_event(const struct form_event *ev, void *userdata);
void publish_command_result(struct gk_daemon *d, const char *command, const char *request_id,
			    int r, const char *reason);

/* ---- history.c: baseline and session digests in the state directory ------- */

void history_load_baseline(struct gk_daemon *d);
void history_save_baseline(struct gk_daemon *d);
/* Parse up to cap stored digests, oldest first, into out; returns how many. */
size_t history_load_digests(struct gk_daemon *d, struct form_digest *out, size_t cap);
/* Append digest to all[*n] (dropping the oldest beyond GK_DIGESTS_MAX) and store all. */
void history_store_digest(struct gk_daemon *d, const struct form_digest *digest,
			  struct form_digest *all, size_t *n);
/* Pain outside a session: into the last session's digest (-ENOENT: none recent). */
int history_add_pain_after(struct gk_daemon *d, unsigned level, const char *where);
/* d->last_summary to and from state_dir/last-summary.json. */
void history_save_summary(struct gk_daemon *d);
void history_load_summary(struct gk_daemon *d);
/* d->pain_where to and from state_dir/pain-where ("other" when none or bad). */
int history_save_pain_where(struct gk_daemon *d);
void history_load_pain_where(struct gk_daemon *d);
/* d->pain_last to and from state_dir/pain-last.json (NULL when none or bad). */
void history_save_pain_last(struct gk_daemon *d);
void history_load_pain_last(struct gk_daemon *d);
