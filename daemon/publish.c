// SPDX-License-Identifier: GPL-2.0-or-later
/* Every payload gaitkeeperd publishes: MQTT topics, D-Bus pushes, HA discovery. */
#include <errno.h>
#include <json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/context.h"
#include "daemon/ha.h"
#include "daemon/log.h"

/*
 * Add ts and the topic's seq to obj and publish it. spooled = must-deliver:
 * durably queued, retried until the broker acknowledges it.
 */
/* obj with its ts and its topic's next seq, as compact text (obj owns it; NULL: ENOMEM). */
static const char *json_stamped(struct gk_daemon *d, const char *suffix, struct json_object *obj)
{
	json_object_object_add(obj, "ts", json_object_new_int64((int64_t)epoch_ms()));
	json_add_u64_or_null(obj, "seq", seq_next(d->seq, suffix));
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* text on suffix, not spooled; a failure other than being offline is counted. */
static int publish_text(struct gk_daemon *d, const char *suffix, const char *text,
			unsigned qos, bool retain)
{
	char topic[TOPIC_MAX];
	int r;

	topic_of(d, suffix, topic, sizeof(topic));
	if (!d->mqtt)
		return -ENOTCONN;
	r = mqtt_publish(d->mqtt, topic, text, strlen(text), qos, retain);
	if (r < 0 && r != -ENOTCONN)
		d->publish_errors++;
	return r;
}

/*
 * A record the spool did not take. A full spool (-ENOBUFS: everything in it
 * outranks the record; it counts the drop in spool_dropped) during a long
 * outage refuses every record of that kind: a line for the first and every
 * 100th, not one per flap of a sensor.
 */
static int spool_refused(struct gk_daemon *d, int r, const char *topic)
{
	static uint64_t full;

	d->publish_errors++;
	if (r != -ENOBUFS)
		return log_error_errno(r, "Failed to spool message for '%s': %m", topic);
	if (full++ % 100 == 0)
		log_warning("Spool full of more important records: '%s' not kept "
			    "(%llu so far)", topic, (unsigned long long)full);
	return r;
}

int publish_json(struct gk_daemon *d, const char *suffix, struct json_object *obj,
			unsigned qos, bool retain, bool spooled, enum spool_priority prio)
{
	char topic[TOPIC_MAX];
	const char *text = json_stamped(d, suffix, obj);
	int r;

	if (!text)
		return -ENOMEM;
	if (!spooled)
		return publish_text(d, suffix, text, qos, retain);
	topic_of(d, suffix, topic, sizeof(topic));
	if (!d->mqtt)
		return -ENOTCONN;
	r = mqtt_publish_spooled(d->mqtt, topic, text, strlen(text), qos, retain, prio);
	return r < 0 ? spool_refused(d, r, topic) : 0;
}

/*
 * Availability is must-deliver and retained. A newer value for a topic
 * supersedes an older one still waiting in the spool, so a flapping
 * sensor during an outage costs one record and the last value wins.
 */
void publish_availability(struct gk_daemon *d, const char *alias, bool online)
{
	char topic[TOPIC_MAX], suffix[128];
	const char *v = online ? "online" : "offline";
	struct spool_record *r, *next;
	int k;

	if (!d->mqtt)
		return;
	snprintf(suffix, sizeof(suffix), "sensor/%s/availability", alias);
	topic_of(d, suffix, topic, sizeof(topic));
	for (r = spool_first(d->spool); r; r = next) {
		next = r->next;
		if (!r->inflight && streq(r->topic, topic))
			(void)spool_remove(d->spool, r->id);
	}
	k = mqtt_publish_spooled(d->mqtt, topic, v, strlen(v), 1, true, SPOOL_PRIORITY_STATE);
	if (k < 0)
		(void)spool_refused(d, k, topic);
}

void publish_session_state(struct gk_daemon *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_add_string(o, "state", d->session_active ? "running" : "idle");
	json_add_string(o, "activity", activity_name(d->activity));
	json_add_u64_or_null(o, "started_ts", d->session_active ? d->session_started_ms : 0);
	json_object_object_add(o, "automatic", d->session_active ?
			       json_object_new_boolean(d->session_automatic) : NULL);
	(void)publish_json(d, "session/state", o, 1, true, false, 0);
	json_object_put(o);
	publish_session_dbus(d);
}

/* Retained: Home Assistant's "Pain location" select shows it. */
void publish_pain_where(struct gk_daemon *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_add_string(o, "where", d->pain_where);
	(void)publish_json(d, "pain/where", o, 1, true, false, 0);
	json_object_put(o);
}

void publish_pain_last(struct gk_daemon *d)
{
	if (d->pain_last)
		(void)publish_text(d, "pain/last", d->pain_last, 1, true);
}

/*
 * Retained: Home Assistant's "Report pain" number shows the level the daemon
 * recorded, not the one typed. Its ts is when the report was recorded and its
 * seq is its own: the bytes go out again unchanged on every (re)connect and
 * after a restart, as a resent message keeps its seq (docs/mqtt.md).
 */
void publish_pain_report(struct gk_daemon *d, unsigned level, const char *where)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	char *copy;

	if (!o)
		return;
	json_object_object_add(o, "level", json_object_new_int((int)level));
	json_add_string(o, "where", where);
	/* As publish_json() would, but the text is kept and stored first. */
	text = json_stamped(d, "pain/last", o);
	copy = text ? strdup(text) : NULL;
	json_object_put(o);
	if (!copy) {
		log_warning_errno(-ENOMEM, "Failed to keep the last pain report, ignoring: %m");
		return;
	}
	free(d->pain_last);
	d->pain_last = copy;
	/* Stored before it goes out: a crash in between cannot resend an older one. */
	history_save_pain_last(d);
	publish_pain_last(d);
}

/*
 * The D-Bus session object: also refreshed every tick while a session runs
 * so that DurationMs stays current (the call coalesces PropertiesChanged).
 */
void publish_session_dbus(struct gk_daemon *d)
{
	uint64_t now = now_usec();
	struct dbus_api_session s = {
		.state = d->session_active ? "running" : "idle",
		.started_ms = d->session_active ? d->session_started_ms : 0,
		.duration_ms = d->session_active && now > d->session_start_usec ?
				       (now - d->session_start_usec) / USEC_PER_MSEC : 0,
		.distance_m = d->session_active ? d->session_distance_m : NAN,
		.steps = d->session_active ? d->session_steps : 0,
	};

	if (d->api)
		(void)dbus_api_set_session(d->api, &s);
}

static struct json_object *alert_to_json(const struct active_alert *a)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_add_string(o, "kind", form_alert_kind_to_string(a->kind));
	json_add_string(o, "severity", form_severity_to_string(a->severity));
	json_add_string(o, "metric", form_metric_to_string(a->metric));
	(void)form_metric_add_json(o, "value", a->metric, a->value);
	(void)form_metric_add_json(o, "threshold", a->metric, a->threshold);
	json_add_string(o, "cue", a->cue ? a->cue : "");
	json_add_u64_or_null(o, "started_ts", a->started_ms);
	return o;
}

void publish_alerts_active(struct gk_daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct json_object *list = json_object_new_array();

	if (!o || !list) {
		json_object_put(o);
		json_object_put(list);
		return;
	}
	for (unsigned i = 0; i < d->n_alerts; i++)
		json_object_array_add(list, alert_to_json(&d->alerts[i]));
	json_object_object_add(o, "alerts", list);
	(void)publish_json(d, "alert/active", o, 1, true, false, 0);
	json_object_put(o);
}

/*
 * PMD frames the sensor lost since the daemon started (ble/ counts them from
 * the gaps in their timestamps), ACC and gyro apart; both 0 for the kinds
 * without an IMU and before ble/ knows the sensor. MQTT's imu_frames_lost
 * and imu_gyro_frames_lost, D-Bus's ImuFramesLost and ImuGyroFramesLost are
 * these numbers.
 */
static void imu_frames_lost(struct gk_daemon *d, const struct sensor_slot *s,
			    uint64_t *ret_acc, uint64_t *ret_gyro)
{
	struct ble_sensor_info info;

	*ret_acc = *ret_gyro = 0;
	if (d->cfg->sensors[s->index].mount == GK_MOUNT_NONE || !s->ble_id ||
	    ble_manager_get_sensor(d->ble, s->ble_id, &info) < 0)
		return;
	*ret_acc = info.frames_lost;
	*ret_gyro = info.gyro_frames_lost;
}

void publish_sensor_state(struct gk_daemon *d, struct sensor_slot *s)
{
	const struct gk_sensor_config *sc = &d->cfg->sensors[s->index];
	struct json_object *o = json_object_new_object();
	bool imu = sc->mount != GK_MOUNT_NONE;
	uint64_t lost, gyro_lost;
	char suffix[128];

	if (!o)
		return;
	imu_frames_lost(d, s, &lost, &gyro_lost);
	json_add_string(o, "alias", sc->alias);
	json_add_string(o, "kind", gk_sensor_kind_to_string(sc->kind));
	/* where an IMU is worn; null for the kinds without one */
	json_object_object_add(o, "mount", sc->mount != GK_MOUNT_NONE ?
			       json_object_new_string(gk_mount_to_string(sc->mount)) : NULL);
	json_add_string(o, "state", sensor_state_name(s->state));
	json_add_string(o, "reason", s->reason);
	json_object_object_add(o, "available", json_object_new_boolean(s->available));
	json_object_object_add(o, "battery_pct", s->battery_pct >= 0 ?
			       json_object_new_int(s->battery_pct) : NULL);
	json_object_object_add(o, "rssi_dbm", s->has_rssi ? json_object_new_int(s->rssi_dbm) :
			       NULL);
	json_add_u64_or_null(o, "last_seen_ts", s->last_seen_ms);
	json_add_double(o, "heart_rate_bpm", s->heart_rate_bpm);
	json_add_double(o, "speed_mps", s->speed_mps);
	json_add_double(o, "cadence_spm", s->cadence_spm);
	json_add_double(o, "power_w", s->power_w);
	json_add_double(o, "incline_pct", s->incline_pct);
	json_object_object_add(o, "notifications",
			       json_object_new_int64((int64_t)s->notifications));
	json_object_object_add(o, "malformed", json_object_new_int64((int64_t)s->malformed));
	/* IMU kinds: PMD frames lost since the daemon started (holes in the data) */
	json_object_object_add(o, "imu_frames_lost",
			       imu ? json_object_new_int64((int64_t)lost) : NULL);
	json_object_object_add(o, "imu_gyro_frames_lost",
			       imu ? json_object_new_int64((int64_t)gyro_lost) : NULL);
	snprintf(suffix, sizeof(suffix), "sensor/%s/state", sc->alias);
	(void)publish_json(d, suffix, o, 1, true, false, 0);
	json_object_put(o);
	s->dirty = false;
	publish_sensor_dbus(d, s);
}

/*
 * The sensor's D-Bus object: on every tick with news, and at once on a state
 * change so that it never lags the gateway's SensorsStreaming count (the call
 * coalesces PropertiesChanged).
 */
void publish_sensor_dbus(struct gk_daemon *d, const struct sensor_slot *s)
{
	const struct gk_sensor_config *sc = &d->cfg->sensors[s->index];
	struct dbus_api_sensor ds = {
		.alias = sc->alias,
		.kind = gk_sensor_kind_to_string(sc->kind),
		.mount = gk_mount_to_string(sc->mount),
		.state = sensor_state_name(s->state),
		.reason = s->reason,
		.available = s->available,
		.battery_pct = s->battery_pct >= 0 ? s->battery_pct : NAN,
		.rssi_dbm = s->has_rssi ? s->rssi_dbm : NAN,
		.last_seen_ms = s->last_seen_ms,
	};

	imu_frames_lost(d, s, &ds.imu_frames_lost, &ds.imu_gyro_frames_lost);

	if (d->api)
		(void)dbus_api_sensor_update(d->api, &ds);
}

void publish_gateway_state(struct gk_daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct spool_stats ss;
	struct mqtt_stats ms = {};

	if (!o)
		return;
	spool_get_stats(d->spool, &ss);
	if (d->mqtt)
		mqtt_get_stats(d->mqtt, &ms);
	json_add_string(o, "version", GK_VERSION);
	json_add_string(o, "node", d->cfg->node);
	json_object_object_add(o, "sensors_streaming", json_object_new_int(sensors_streaming(d)));
	json_object_object_add(o, "sensors_total", json_object_new_int((int)d->n_sensors));
	json_add_string(o, "form_sensor", form_sensor_alias(d));
	json_object_object_add(o, "spool_records", json_object_new_int((int)ss.records));
	json_object_object_add(o, "spool_bytes", json_object_new_int64((int64_t)ss.bytes));
	json_object_object_add(o, "spool_dropped", json_object_new_int64((int64_t)ss.dropped));
	json_object_object_add(o, "spool_recovered_bytes",
			       json_object_new_int64((int64_t)ss.recovered_bytes));
	json_object_object_add(o, "mqtt_delivered", json_object_new_int64((int64_t)ms.delivered));
	json_object_object_add(o, "mqtt_rejected", json_object_new_int64((int64_t)ms.rejected));
	json_object_object_add(o, "mqtt_connects", json_object_new_int64((int64_t)ms.connects));
	json_object_object_add(o, "commands_rejected",
			       json_object_new_int64((int64_t)d->commands_rejected));
	json_add_string(o, "config_error", d->reload_error[0] ? d->reload_error : NULL);
	{
		int synced = clock_synced();

		json_object_object_add(o, "clock_synced",
				       synced < 0 ? NULL : json_object_new_boolean(synced));
	}
	(void)publish_json(d, "gateway/state", o, 1, true, false, 0);
	json_object_put(o);
	d->last_gateway_usec = now_usec();
}

struct ha_walk {
	struct gk_daemon *d;
	FILE *list;		/* topics announced, for later removal */
	bool clear;		/* publish empty configs instead */
};

static int ha_emit(void *userdata, const char *topic, struct json_object *config)
{
	struct ha_walk *w = userdata;
	const char *text = w->clear ? "" :
		json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (w->list)
		fprintf(w->list, "%s\n", topic);
	(void)mqtt_publish(w->d->mqtt, topic, text, strlen(text), 1, true);
	return 0;
}

/*
 * Announce every entity; entities announced before (listed in
 * state_dir/ha-topics) that no longer exist get an empty retained config,
 * which removes them from Home Assistant.
 */
void publish_discovery(struct gk_daemon *d)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[512];
	_cleanup_free_ char *now = NULL, *kept = NULL;
	size_t now_size = 0, kept_size = 0;
	struct ha_walk w = { .d = d };
	FILE *old, *keep;

	if (!mqtt_connected(d->mqtt))
		return;
	if (state_path(d, "ha-topics", "", path, sizeof(path)) < 0 ||
	    state_path(d, "ha-topics", ".tmp", tmp, sizeof(tmp)) < 0)
		return;

	w.list = open_memstream(&now, &now_size);
	if (!w.list)
		return;
	if (d->cfg->mqtt.ha_discovery)
		(void)ha_discovery_build(d->cfg, GK_VERSION,
					 d->imu_sensor >= 0 && d->form ?
					 form_engine_mount(d->form) : _FORM_MOUNT_INVALID,
					 ha_emit, &w);
	fclose(w.list);
	w.list = NULL;

	/* A removal Paho did not take stays listed, to be tried next time. */
	keep = open_memstream(&kept, &kept_size);
	if (!keep)
		return;
	old = fopen(path, "re");
	while (old && fgets(line, sizeof(line), old)) {
		char key[520];

		line[strcspn(line, "\n")] = 0;
		snprintf(key, sizeof(key), "%s\n", line);
		if (!*line || (now && strstr(now, key)))
			continue;
		log_info("Removing Home Assistant entity '%s'", line);
		if (mqtt_publish(d->mqtt, line, "", 0, 1, true) < 0)
			fputs(key, keep);
	}
	if (old)
		fclose(old);
	fclose(keep);

	old = fopen(tmp, "we");
	if (old) {
		fputs(now ? now : "", old);
		fputs(kept ? kept : "", old);
		if (fclose(old) == 0)
			(void)rename(tmp, path);
	}
}

static void on_summary(struct gk_daemon *d, const struct form_summary *s, uint64_t t_usec)
{
	_cleanup_free_ struct form_digest *all = calloc(GK_DIGESTS_MAX, sizeof(*all));
	struct json_object *o = json_object_new_object(), *inner = NULL;
	struct form_digest digest = s->digest;
	struct form_history_report hist;
	unsigned alerts = 0;
	size_t n = 0;
	const char *text;

	if (!o || !all) {
		json_object_put(o);
		return;
	}
	for (int k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		alerts += s->alert_count[k];

	json_add_u64_or_null(o, "started_ts", mono_to_epoch_ms(s->start_usec));
	json_add_u64_or_null(o, "ended_ts", mono_to_epoch_ms(s->end_usec));
	json_add_double(o, "duration_s", s->duration_s);
	json_add_double(o, "running_s", s->running_s);
	json_add_double(o, "distance_m", s->distance_m);
	json_object_object_add(o, "steps", json_object_new_int64((int64_t)s->steps));
	json_object_object_add(o, "alerts_total", json_object_new_int((int)alerts));
	if (form_summary_to_json(s, s->start_usec, &inner) >= 0)
		json_object_object_add(o, "summary", inner);
	else
		json_object_object_add(o, "summary", NULL);

	/* The digest goes into the history; the history report into the summary. */
	digest.start_epoch_s = mono_to_epoch_ms(s->start_usec) / 1000;
	n = history_load_digests(d, all, GK_DIGESTS_MAX);
	history_store_digest(d, &digest, all, &n);
	if (form_history_analyze(all, n, epoch_ms() / 1000,
				 d->form ? form_engine_params(d->form) : NULL, &hist) >= 0 &&
	    form_history_report_to_json(&hist, &inner) >= 0)
		json_object_object_add(o, "history", inner);
	else
		json_object_object_add(o, "history", NULL);

	(void)publish_json(d, "session/summary", o, 1, true, true, SPOOL_PRIORITY_SUMMARY);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	free(d->last_summary);
	d->last_summary = text ? strdup(text) : NULL;
	history_save_summary(d);
	if (d->api && d->last_summary)
		(void)dbus_api_session_ended(d->api, d->last_summary);
	json_object_put(o);
	d->baseline_pending = true;	/* saved from the tick: no engine calls here */
	log_info("Session ended: %.0f s, %llu steps, %u alerts", s->duration_s,
		 (unsigned long long)s->steps, alerts);
}

static void on_live(struct gk_daemon *d, const struct form_event *ev)
{
	const struct form_metrics *m = &ev->metrics;
	struct dbus_api_metric dm[_FORM_METRIC_MAX];
	struct json_object *o, *q;
	uint64_t seq;
	size_t n = 0;

	/*
	 * Paced on sample time: samples arrive in bursts (a PMD frame holds
	 * ~40), so the loop's clock would see jittered ~1 Hz events and drop
	 * every other one near the interval.
	 */
	if (!d->session_active || (d->last_live_usec && ev->t_usec > d->last_live_usec &&
				   ev->t_usec - d->last_live_usec <
					   d->cfg->mqtt.live_interval_ms * USEC_PER_MSEC * 9 / 10))
		return;
	d->last_live_usec = ev->t_usec;

	o = json_object_new_object();
	q = json_object_new_object();
	if (!o || !q) {
		json_object_put(o);
		json_object_put(q);
		return;
	}
	json_add_string(o, "activity", activity_name(m->activity));
	json_add_double(o, "session_s", ev->t_usec > d->session_start_usec ?
			(double)((ev->t_usec - d->session_start_usec) / USEC_PER_MSEC) / 1000.0 :
			0.0);
	json_object_object_add(o, "window_steps", json_object_new_int((int)m->window_steps));
	json_object_object_add(o, "total_steps", json_object_new_int64((int64_t)m->total_steps));
	json_object_object_add(o, "session_steps",
			       json_object_new_int64((int64_t)m->session_steps));
	json_add_double(o, "session_distance_m", round(m->session_distance_m * 10) / 10);
	for (int k = 0; k < _FORM_METRIC_MAX; k++) {
		const char *name = form_metric_to_string((enum form_metric)k);
		const struct form_metric_value *v = &m->m[k];
		bool has = v->quality != FORM_QUALITY_NONE && isfinite(v->value);

		/* the form core's decimals (as gaitctl analyze and the summary) */
		(void)form_metric_add_json(o, name, (enum form_metric)k, has ? v->value : NAN);
		json_add_string(q, name, form_quality_to_string(v->quality));
		dm[n++] = (struct dbus_api_metric){
			.name = name,
			.value = has ? v->value : NAN,
			.quality = form_quality_to_string(v->quality),
		};
	}
	json_object_object_add(o, "quality", q);
	(void)publish_json(d, "run/live", o, 0, false, false, 0);
	seq = json_object_get_int64(json_object_object_get(o, "seq"));
	json_object_put(o);
	if (d->api)
		(void)dbus_api_emit_live(d->api, epoch_ms(), seq, dm, n);
}

static void on_step(struct gk_daemon *d, const struct form_event *ev)
{
	const struct form_contact *c = &ev->contact;
	struct json_object *o;

	if (!d->cfg->mqtt.step_events)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	json_add_u64_or_null(o, "ic_ts", mono_to_epoch_ms(c->ic_usec));
	json_add_u64_or_null(o, "to_ts", c->has_to ? mono_to_epoch_ms(c->to_usec) : 0);
	json_add_string(o, "side", form_side_to_string(c->side));
	json_add_double(o, "gct_ms", c->gct_ms);
	json_add_double(o, "flight_ms", c->flight_ms);
	json_add_double(o, "step_time_ms", c->step_time_ms);
	json_add_double(o, "vertical_oscillation_mm", c->vertical_oscillation_mm);
	json_add_double(o, "impact_g", c->peak_vertical_g);
	json_add_double(o, "braking_mps", c->braking_mps);
	json_add_double(o, "trunk_lean_deg", c->trunk_lean_deg);
	json_add_double(o, "pelvic_tilt_deg", c->pelvic_tilt_deg);
	json_add_double(o, "pelvic_drop_deg", c->pelvic_drop_deg);
	(void)publish_json(d, "run/step", o, 0, false, false, 0);
	json_object_put(o);
}

/*
 * Home Assistant's "Form alert" event entity fires once for every message on
 * its topic, whenever it comes. "alert" is must-deliver: after an outage the
 * spool sends what was raised meanwhile in a burst, and an automation on the
 * event (a light that flashes) would fire minutes late, once for each. So the
 * entity reads alert/event instead, which carries the same messages only
 * while they are fresh: sent at once while the link is up, or held (in
 * memory) while it is down and sent when it comes back within
 * HA_ALERT_EVENT_FRESH_S of the alert; the rest are dropped. Never spooled,
 * never retained, QoS 0 (never sent again by Paho: ha.h), and each with an
 * MQTT 5 message expiry of the time it has left, so that the broker does not
 * hand it late to a subscriber that was away either.
 */
static void send_alert_event(struct gk_daemon *d, const char *text, uint64_t left_usec)
{
	char topic[TOPIC_MAX];
	int r;

	topic_of(d, HA_ALERT_EVENT_TOPIC, topic, sizeof(topic));
	r = mqtt_publish_expiring(d->mqtt, topic, text, strlen(text), HA_ALERT_EVENT_QOS, false,
				  (uint32_t)((left_usec + USEC_PER_SEC - 1) / USEC_PER_SEC));
	if (r < 0 && r != -ENOTCONN)
		d->publish_errors++;
}

/* o: the alert message; it gets alert/event's own ts and seq. */
static void publish_alert_event(struct gk_daemon *d, struct json_object *o)
{
	const char *text = json_stamped(d, HA_ALERT_EVENT_TOPIC, o);
	struct alert_event_held *h;
	size_t len;

	if (!text || !d->mqtt)
		return;
	if (mqtt_connected(d->mqtt)) {
		send_alert_event(d, text, HA_ALERT_EVENT_FRESH_S * USEC_PER_SEC);
		return;
	}
	len = strlen(text);
	if (len >= sizeof(h->text))
		return;		/* cannot be: an alert is a few hundred bytes */
	/* A burst while away: the newest are the ones that may still be fresh. */
	if (d->n_alert_events == GK_ALERT_EVENTS_HELD_MAX)
		memmove(&d->alert_events[0], &d->alert_events[1],
			--d->n_alert_events * sizeof(d->alert_events[0]));
	h = &d->alert_events[d->n_alert_events++];
	h->t_usec = now_usec();
	memcpy(h->text, text, len + 1);
}

/* The link is back: what was held goes out if still fresh, the rest is dropped. */
static void publish_alert_events_held(struct gk_daemon *d)
{
	const uint64_t fresh = HA_ALERT_EVENT_FRESH_S * USEC_PER_SEC;
	uint64_t now = now_usec();
	unsigned stale = 0;

	if (!mqtt_connected(d->mqtt))
		return;
	for (unsigned i = 0; i < d->n_alert_events; i++) {
		uint64_t age = now - d->alert_events[i].t_usec;

		if (age < fresh)
			send_alert_event(d, d->alert_events[i].text, fresh - age);
		else
			stale++;
	}
	if (stale)
		log_info("%u alert event(s) from while the broker was away not sent on '%s': "
			 "over %u s old (they are on 'alert')", stale, HA_ALERT_EVENT_TOPIC,
			 HA_ALERT_EVENT_FRESH_S);
	d->n_alert_events = 0;
}

static void on_alert(struct gk_daemon *d, const struct form_event *ev, bool raised)
{
	const struct form_alert *a = &ev->alert;
	struct active_alert cur = {
		.id = a->id, .kind = a->kind, .severity = a->severity, .metric = a->metric,
		.value = a->value, .threshold = a->threshold,
		.started_ms = mono_to_epoch_ms(a->start_usec), .cue = a->cue,
	};
	struct json_object *o;
	unsigned i;

	for (i = 0; i < d->n_alerts && d->alerts[i].id != a->id; i++)
		;
	if (raised && i == d->n_alerts && d->n_alerts < GK_ALERTS_ACTIVE_MAX)
		d->alerts[d->n_alerts++] = cur;
	else if (!raised && i < d->n_alerts)
		d->alerts[i] = d->alerts[--d->n_alerts];

	o = alert_to_json(&cur);
	if (o) {
		const char *kind = form_alert_kind_to_string(a->kind);

		json_add_string(o, "event", raised ? "alert" : "cleared");
		/* Home Assistant's event entity reads event_type. */
		json_add_string(o, "event_type", raised ? kind : "cleared");
		json_add_u64_or_null(o, "ended_ts", raised ? 0 : mono_to_epoch_ms(a->end_usec));
		(void)publish_json(d, "alert", o, 1, false, true, SPOOL_PRIORITY_ALERT);
		publish_alert_event(d, o);
		json_object_put(o);
	}
	publish_alerts_active(d);

	if (d->api) {
		struct dbus_api_alert da = {
			.id = a->id,
			.kind = form_alert_kind_to_string(a->kind),
			.severity = form_severity_to_string(a->severity),
			.metric = form_metric_to_string(a->metric),
			.value = a->value,
			.threshold = a->threshold,
			.cue = a->cue ? a->cue : "",
		};

		if (raised)
			(void)dbus_api_alert_raised(d->api, &da);
		else
			(void)dbus_api_alert_cleared(d->api, &da);
	}
	log_info("Alert %s: %s (%s)", raised ? "raised" : "cleared",
		 form_alert_kind_to_string(a->kind), form_metric_to_string(a->metric));
}

/* Called by the engine from inside a feed or session call: no engine calls here. */
void publish_form_event(const struct form_event *ev, void *userdata)
{
	struct gk_daemon *d = userdata;

	switch (ev->type) {
	case FORM_EVENT_CONTACT:
		on_step(d, ev);
		break;
	case FORM_EVENT_METRICS:
		d->session_steps = ev->metrics.session_steps;
		d->session_distance_m = ev->metrics.session_distance_m;
		on_live(d, ev);
		break;
	case FORM_EVENT_ALERT:
		on_alert(d, ev, true);
		break;
	case FORM_EVENT_CLEARED:
		on_alert(d, ev, false);
		break;
	case FORM_EVENT_ACTIVITY:
		d->activity = ev->activity.to;
		publish_session_state(d);
		break;
	case FORM_EVENT_SESSION_STARTED:
		d->session_active = true;
		d->session_automatic = ev->session.automatic;
		d->session_started_ms = mono_to_epoch_ms(ev->session.start_usec);
		d->session_start_usec = ev->session.start_usec;
		d->session_steps = 0;
		d->session_distance_m = NAN;
		d->n_alerts = 0;
		publish_session_state(d);
		publish_alerts_active(d);
		log_info("Session started (%s)",
			 ev->session.automatic ? "automatic" : "by request");
		break;
	case FORM_EVENT_SESSION_ENDED:
		d->session_active = false;
		d->n_alerts = 0;
		publish_session_state(d);
		publish_alerts_active(d);
		break;
	case FORM_EVENT_SUMMARY:
		if (ev->summary)
			on_summary(d, ev->summary, ev->t_usec);
		break;
	case _FORM_EVENT_TYPE_MAX:
	case _FORM_EVENT_TYPE_INVALID:
		break;
	}
}

void publish_command_result(struct gk_daemon *d, const char *command, const char *request_id,
			  int r, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_add_string(o, "command", command);
	json_add_string(o, "request_id", request_id && *request_id ? request_id : NULL);
	json_object_object_add(o, "ok", json_object_new_boolean(r >= 0));
	if (r < 0 && !reason)
		reason = strerror(-r);
	json_add_string(o, "error", r < 0 ? reason : NULL);
	(void)publish_json(d, "cmd/result", o, 1, false, false, 0);
	json_object_put(o);
}

void publish_state_all(struct gk_daemon *d)
{
	publish_gateway_state(d);
	for (unsigned i = 0; i < d->n_sensors; i++)
		publish_sensor_state(d, &d->sensors[i]);
	publish_session_state(d);
	publish_pain_where(d);
	publish_pain_last(d);
	publish_alerts_active(d);
	publish_alert_events_held(d);
}
