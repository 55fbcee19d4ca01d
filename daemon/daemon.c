// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon context: loop, signals, sd_notify, and the wiring between modules. */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "ble/ble.h"
#include "common/macro.h"
#include "common/utf8.h"
#include "config/config.h"
#include "daemon/context.h"
#include "daemon/daemon.h"
#include "daemon/dbus-api.h"
#include "daemon/ha.h"
#include "daemon/imu-select.h"
#include "daemon/limits.h"
#include "daemon/log.h"
#include "daemon/mqtt-command.h"
#include "daemon/mqtt.h"
#include "daemon/seq.h"
#include "daemon/spool.h"
#include "form/form.h"

/* ---- time ------------------------------------------------------------------ */

/* ---- JSON helpers --------------------------------------------------------- */

/* ---- publishing ------------------------------------------------------------ */

/* ---- status, STATUS= and the D-Bus gateway object ---------------------------- */

static void update_status(struct gk_daemon *d, const char *state)
{
	char status[256];
	bool connected = mqtt_connected(d->mqtt);

	if (snprintf(status, sizeof(status), "%u/%u sensors streaming, broker %s%s%.*s",
		     sensors_streaming(d), d->n_sensors,
		     connected ? "connected" : "disconnected",
		     d->reload_error[0] ? "; config reload failed: " : "",
		     (int)gk_utf8_prefix(d->reload_error, 160), d->reload_error) < 0)
		return;
	if (!streq(status, d->status)) {
		snprintf(d->status, sizeof(d->status), "%s", status);
		(void)sd_notifyf(false, "STATUS=%s", status);
	}
	if (d->api) {
		struct dbus_api_gateway g = {
			.node = d->cfg->node,
			.version = GK_VERSION,
			.state = state,
			.status = d->status,
			.broker_connected = connected,
			.sensors_streaming = sensors_streaming(d),
			.sensors_total = d->n_sensors,
			.form_sensor = form_sensor_alias(d),
			.pain_where = d->pain_where,
		};

		(void)dbus_api_set_gateway(d->api, &g);
	}
}

/* ---- Home Assistant discovery --------------------------------------------------- */

/* ---- the form core ---------------------------------------------------------------- */

static int form_mount_of(int mount)
{
	switch (mount) {
	case GK_MOUNT_CHEST:
		return FORM_MOUNT_CHEST;
	case GK_MOUNT_WAIST:
		return FORM_MOUNT_WAIST;
	default:
		return FORM_MOUNT_SACRUM;
	}
}

static void form_params_from_config(const struct gk_daemon *d, struct form_params *p)
{
	const struct gk_config *c = d->cfg;

	form_params_default(p);
	p->mount = d->imu_sensor >= 0 ? form_mount_of(c->sensors[d->imu_sensor].mount) :
					FORM_MOUNT_SACRUM;
	p->runner_height_m = c->runner.height_m > 0 ? c->runner.height_m : NAN;
	p->max_heart_rate_bpm = c->runner.max_hr_bpm ? c->runner.max_hr_bpm : NAN;
	p->warmup_s = c->form.warmup_s;
	p->baseline_s = c->form.baseline_s;
	p->auto_session = c->form.auto_session;
	p->auto_start_s = c->form.auto_start_s;
	p->auto_stop_s = c->form.auto_stop_s;
	p->alert_min_duration_s = c->alerts.min_duration_s;
	p->alert_clear_s = c->alerts.clear_s;
	p->alert_repeat_s = c->alerts.repeat_s;
	p->cadence_drop_pct = c->alerts.cadence_drop_pct;
	p->gct_rise_ms = c->alerts.gct_rise_ms;
	p->lean_band_deg = c->alerts.lean_band_deg;
	p->lean_max_deg = c->alerts.lean_max_deg;
	p->pelvic_drop_rise_deg = c->alerts.pelvic_drop_rise_deg;
	p->gct_balance_max_pct = c->alerts.gct_balance_max_pct;
	p->vertical_oscillation_rise_mm = c->alerts.vertical_oscillation_rise_mm;
	p->pain_alert_level = c->alerts.pain_level;
	if (p->pain_severe_level < p->pain_alert_level)
		p->pain_severe_level = p->pain_alert_level;
}

static int form_setup(struct gk_daemon *d)
{
	struct form_params p;
	struct form_engine *e;
	int r;

	form_params_from_config(d, &p);
	r = form_engine_new(&p, &e);
	if (r < 0)
		return log_error_errno(r, "Invalid form parameters from '%s': %m",
				       d->config_path);
	form_engine_free(d->form);
	d->form = e;
	form_engine_set_event_cb(e, publish_form_event, d);
	history_load_baseline(d);
	return 0;
}

/* Say at start-up which IMU sensor feeds the form core, and why. */
static void form_sensor_announce(struct gk_daemon *d)
{
	const struct gk_sensor_config *sc;

	if (d->imu_sensor < 0) {
		if (d->n_sensors)
			log_info("No IMU sensor configured: form metrics need a polar-h10 or "
				 "polar-verity-sense");
		return;
	}
	sc = &d->cfg->sensors[d->imu_sensor];
	log_info("Form core fed by IMU sensor '%s' (%s, %s)", sc->alias,
		 gk_mount_to_string(sc->mount),
		 d->cfg->form.imu_sensor[0] ? "form.imu_sensor" : "preferred by mount");
}

/*
 * Once a tick: fail over to another streaming IMU sensor when the one
 * feeding the form core fell silent, or return to a preferred one that
 * streams steadily again (daemon/imu-select.h). The engine keeps its
 * session and re-learns the new sensor's orientation.
 */
static void form_sensor_update(struct gk_daemon *d)
{
	const struct gk_config *c = d->cfg;
	uint64_t now = now_usec();
	const struct gk_sensor_config *from, *to;
	enum imu_select_change why;
	int old = -1, r;

	if (!d->form)
		return;
	why = imu_select_update(&d->imu, (uint64_t)(c->form.imu_failover_s * USEC_PER_SEC), now,
				&old);
	if (why == IMU_SELECT_KEEP || old < 0)
		return;
	d->imu_sensor = imu_select_current(&d->imu);
	from = &c->sensors[old];
	to = &c->sensors[d->imu_sensor];

	if (why == IMU_SELECT_FAILOVER)
		log_warning("IMU sensor '%s' sent no data for %.0f s: form core now fed by "
			    "'%s' (%s)", from->alias, c->form.imu_failover_s, to->alias,
			    gk_mount_to_string(to->mount));
	else
		log_info("IMU sensor '%s' (%s) streamed steadily for %.0f s: form core fed by "
			 "it again instead of '%s'", to->alias, gk_mount_to_string(to->mount),
			 c->form.imu_failover_s, from->alias);

	r = form_engine_change_sensor(d->form, form_mount_of(to->mount), now);
	if (r < 0)
		log_error_errno(r, "Form core refused the switch to '%s', ignoring: %m",
				to->alias);
	else if (to->mount != from->mount && d->imu_sensor == imu_select_preferred(&d->imu))
		history_load_baseline(d);	/* the stored one is the preferred mount's */

	/* run_trunk_lean_deg is named for the mount (pelvic tilt or trunk lean). */
	if (to->mount != from->mount)
		publish_discovery(d);
	publish_gateway_state(d);
	update_status(d, d->stopping ? "stopping" : "running");
}

/*
 * The stored baseline is the preferred sensor's mount: one learnt on a
 * fail-over sensor at another mount would replace it, so it is not kept.
 */
static bool baseline_storable(const struct gk_daemon *d)
{
	int p = imu_select_preferred(&d->imu);

	return p < 0 || d->imu_sensor < 0 ||
	       d->cfg->sensors[p].mount == d->cfg->sensors[d->imu_sensor].mount;
}

/* ---- operations: the same for MQTT cmd/ and D-Bus ------------------------------ */

int gk_daemon_session_start(struct gk_daemon *d)
{
	int r = form_engine_session_start(d->form, now_usec());

	return r == -EBUSY ? -EBUSY : r;
}

int gk_daemon_session_stop(struct gk_daemon *d)
{
	int r = form_engine_session_stop(d->form, now_usec());

	return r == -ENODATA ? -ESRCH : r;
}

int gk_daemon_report_pain(struct gk_daemon *d, unsigned level, const char *where)
{
	bool in_session = form_engine_session_active(d->form);
	int r;

	if (level > 10)
		return -ERANGE;
	/* none named (HA's number, ReportPain ""): the location the runner set */
	if (!where || !*where)
		where = d->pain_where;
	r = form_engine_report_pain(d->form, now_usec(), level, where);
	if (r < 0)
		return r;
	/* Recorded: pain/last says so (Home Assistant's number shows it). */
	publish_pain_report(d, level, where);
	if (in_session)
		return r;
	/* Between runs: it belongs to the last run's digest (its history). */
	r = history_add_pain_after(d, level, where);
	if (r >= 0)
		log_info("Pain %u (%s) recorded after the last session", level, where);
	else if (r == -ENOENT)
		log_info("Pain %u (%s) reported with no session in the last %u h: alert only",
			 level, where, GK_PAIN_AFTER_MAX_S / 3600);
	else if (r == -ENOSPC)
		log_info("Pain %u (%s) not added to the last session: its %u reports are "
			 "all at least as strong: alert only", level, where,
			 (unsigned)FORM_DIGEST_MAX_PAIN);
	else
		log_warning_errno(r, "Failed to add the pain report to the last session: %m");
	return 0;
}

/*
 * The location of the pain reports that name none (Home Assistant's number):
 * kept in the state directory, published retained on pain/where. Not changed
 * unless stored, so that what the runner chose survives a restart.
 */
int gk_daemon_set_pain_where(struct gk_daemon *d, const char *where)
{
	char old[sizeof(d->pain_where)];
	int r;

	if (!mqtt_command_pain_location_valid(where))
		return -EINVAL;
	memcpy(old, d->pain_where, sizeof(old));
	snprintf(d->pain_where, sizeof(d->pain_where), "%s", where);
	r = history_save_pain_where(d);
	if (r < 0) {
		memcpy(d->pain_where, old, sizeof(old));
		return log_warning_errno(r, "Failed to store the pain location: %m");
	}
	log_info("Pain reports that name no location are now '%s'", d->pain_where);
	publish_pain_where(d);
	update_status(d, d->stopping ? "stopping" : "running");
	return 0;
}

int gk_daemon_get_summary(struct gk_daemon *d, bool last, char **ret_json)
{
	char *s;

	if (!last && d->session_active) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		json_add_string(o, "state", "running");
		json_add_u64_or_null(o, "started_ts", d->session_started_ms);
		json_add_string(o, "activity", activity_name(d->activity));
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (d->last_summary) {
		s = strdup(d->last_summary);
	} else {
		return -ENOENT;
	}
	if (!s)
		return -ENOMEM;
	*ret_json = s;
	return 0;
}

static int op_start(void *userdata)
{
	return gk_daemon_session_start(userdata);
}

static int op_stop(void *userdata)
{
	return gk_daemon_session_stop(userdata);
}

static int op_pain(void *userdata, unsigned level, const char *where)
{
	return gk_daemon_report_pain(userdata, level, where);
}

static int op_set_pain_where(void *userdata, const char *where)
{
	return gk_daemon_set_pain_where(userdata, where);
}

static int op_summary(void *userdata, bool last, char **ret_json)
{
	return gk_daemon_get_summary(userdata, last, ret_json);
}

static const struct dbus_api_ops dbus_ops = {
	.start_session = op_start,
	.stop_session = op_stop,
	.report_pain = op_pain,
	.set_pain_where = op_set_pain_where,
	.get_summary = op_summary,
};

/* ---- MQTT -------------------------------------------------------------------------- */

static void command_rejected(struct gk_daemon *d, const char *sub, const char *request_id,
			     int r, const char *reason)
{
	d->commands_rejected++;
	if (log_sparse(d->commands_rejected))
		log_warning("Rejected MQTT command on 'cmd/%.64s': %s", sub, reason);
	publish_command_result(d, sub, request_id && *request_id ? request_id : NULL, r, reason);
}

static void handle_command(struct gk_daemon *d, const char *sub, const uint8_t *payload,
			   size_t len, bool too_large)
{
	struct mqtt_command c;
	const char *reason = NULL;
	int r;

	if (streq(sub, "result"))
		return;		/* our own replies */
	if (too_large) {
		/* Paho's copy was not kept: the size is all there is to go by. */
		command_rejected(d, sub, NULL, -E2BIG, "payload too large");
		return;
	}

	r = mqtt_command_parse(sub, payload, len, &c, &reason);
	if (r < 0) {
		command_rejected(d, sub, c.request_id, r, reason);
		return;
	}

	switch (c.type) {
	case MQTT_COMMAND_SESSION_START:
		r = gk_daemon_session_start(d);
		break;
	case MQTT_COMMAND_SESSION_STOP:
		r = gk_daemon_session_stop(d);
		break;
	case MQTT_COMMAND_PAIN:
		r = gk_daemon_report_pain(d, c.pain_level, c.where);
		break;
	case MQTT_COMMAND_PAIN_WHERE:
		r = gk_daemon_set_pain_where(d, c.where);
		break;
	case MQTT_COMMAND_SUMMARY_REPUBLISH:
		if (!d->last_summary) {
			r = -ENOENT;
			break;
		}
		{
			char topic[TOPIC_MAX];

			/* The same bytes (ts, seq) as before: a consumer dedups by seq. */
			topic_of(d, "session/summary", topic, sizeof(topic));
			r = mqtt_publish_spooled(d->mqtt, topic, d->last_summary,
						 strlen(d->last_summary), 1, true,
						 SPOOL_PRIORITY_SUMMARY);
		}
		break;
	case _MQTT_COMMAND_MAX:
	case _MQTT_COMMAND_INVALID:
		r = -EINVAL;
		break;
	}
	d->commands_accepted++;
	log_info("MQTT command '%s': %s", mqtt_command_type_to_string(c.type),
		 r < 0 ? strerror(-r) : "ok");
	publish_command_result(d, mqtt_command_type_to_string(c.type), c.request_id, r,
		      r == -EBUSY ? "a session is already running" :
		      r == -ESRCH ? "no session is running" : NULL);
}

static void on_mqtt_connected(void *userdata, bool session_present)
{
	struct gk_daemon *d = userdata;
	char topic[TOPIC_MAX];

	topic_of(d, "status", topic, sizeof(topic));
	(void)mqtt_publish(d->mqtt, topic, "online", 6, 1, true);

	/*
	 * Every sensor's availability as it is now, on every connect: a broker
	 * that lost our session may have lost its retained store too, and
	 * with a resumed session the retained value may be from before a
	 * restart of ours ("online" for a sensor that never came back). It
	 * supersedes older records in the spool.
	 */
	for (unsigned i = 0; i < d->n_sensors; i++)
		publish_availability(d, d->cfg->sensors[d->sensors[i].index].alias,
				     d->sensors[i].available);

	/*
	 * Commands are for now: at QoS 0, so that the broker does not keep
	 * them for our session while we are away (mosquitto queues only QoS
	 * 1-2 for an offline client) and run them at our next start; and
	 * never a retained one (retain handling 2), which would run again at
	 * every connect.
	 */
	topic_of(d, "cmd/#", topic, sizeof(topic));
	(void)mqtt_subscribe(d->mqtt, topic, 0, true);
	snprintf(topic, sizeof(topic), "%s/status", d->cfg->mqtt.ha_prefix);
	(void)mqtt_subscribe(d->mqtt, topic, 1, false);

	publish_discovery(d);
	publish_state_all(d);
	update_status(d, "running");
}

static void on_mqtt_disconnected(void *userdata, const char *reason)
{
	update_status(userdata, "running");
}

static void on_mqtt_message(void *userdata, const char *topic, const uint8_t *payload,
			    size_t len, bool too_large)
{
	struct gk_daemon *d = userdata;
	char prefix[TOPIC_MAX];
	size_t n;

	snprintf(prefix, sizeof(prefix), "%s/status", d->cfg->mqtt.ha_prefix);
	if (streq(topic, prefix)) {
		/* Home Assistant restarted: announce again, resend retained state. */
		if (!too_large && len == 6 && memcmp(payload, "online", 6) == 0) {
			log_info("Home Assistant is online, announcing entities");
			publish_discovery(d);
			publish_state_all(d);
		}
		return;
	}

	n = (size_t)snprintf(prefix, sizeof(prefix), "%s/cmd/", d->prefix);
	if (strncmp(topic, prefix, n) == 0)
		handle_command(d, topic + n, payload, len, too_large);
}

static void on_mqtt_shutdown(void *userdata)
{
	struct gk_daemon *d = userdata;

	(void)sd_event_exit(d->event, d->exit_code);
}

static int read_password(struct gk_daemon *d)
{
	const char *path = d->cfg->mqtt.password_file;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	ssize_t n;

	if (!path[0])
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return log_error_errno(-errno, "Failed to open password file '%s': %m", path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "Failed to stat '%s': %m", path);
	/* Readable by others: refuse, as ssh does with keys (reliability.md S4). */
	if (st.st_mode & 0007)
		return log_error_errno(-EPERM, "Password file '%s' is readable by others "
				       "(mode %04o), refusing: %m", path,
				       (unsigned)(st.st_mode & 07777));
	n = read(fd, d->password, sizeof(d->password) - 1);
	if (n < 0)
		return log_error_errno(-errno, "Failed to read '%s': %m", path);
	d->password[n] = 0;
	d->password[strcspn(d->password, "\r\n")] = 0;
	return 0;
}

static bool host_is_ip(const char *uri)
{
	const char *h = strstr(uri, "://");
	char host[64];
	size_t n;

	if (!h)
		return false;
	h += 3;
	if (*h == '[')
		return true;	/* IPv6 literal */
	n = strcspn(h, ":/");
	if (n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = 0;
	return strspn(host, "0123456789.") == n;
}

static int mqtt_setup(struct gk_daemon *d)
{
	const struct gk_config *c = d->cfg;
	char will[TOPIC_MAX];
	struct mqtt_options o = {
		.uri = c->mqtt.uri,
		.client_id = c->mqtt.client_id,
		.username = c->mqtt.username,
		.password = d->password[0] ? d->password : NULL,
		.tls_ca = c->mqtt.tls_ca,
		.tls_cert = c->mqtt.tls_cert,
		.tls_key = c->mqtt.tls_key,
		.tls_verify_hostname = c->mqtt.tls_verify_hostname,
		.keepalive_s = c->mqtt.keepalive_s,
		.will_topic = will,
	};
	struct mqtt_callbacks cb = {
		.on_connected = on_mqtt_connected,
		.on_disconnected = on_mqtt_disconnected,
		.on_message = on_mqtt_message,
		.on_shutdown = on_mqtt_shutdown,
	};
	int r;

	topic_of(d, "status", will, sizeof(will));
	if (!host_is_ip(c->mqtt.uri))
		log_warning("MQTT broker '%s' is not given as an IP address; name lookups "
			    "block the MQTT client while they wait", c->mqtt.uri);

	r = mqtt_client_new(d->event, d->spool, &o, &cb, d, &d->mqtt);
	explicit_bzero(d->password, sizeof(d->password));
	if (r < 0)
		return log_error_errno(r, "Failed to create the MQTT client for '%s': %m",
				       c->mqtt.uri);
	r = mqtt_client_start(d->mqtt);
	if (r < 0)
		log_warning_errno(r, "MQTT connect did not start, retrying: %m");
	return 0;
}

/* ---- BLE ----------------------------------------------------------------------------- */

static struct sensor_slot *slot_of(struct gk_daemon *d, unsigned ble_id)
{
	for (unsigned i = 0; i < d->n_sensors; i++)
		if (d->sensors[i].ble_id == ble_id)
			return &d->sensors[i];
	return NULL;
}

static void seen(struct gk_daemon *d, struct sensor_slot *s)
{
	s->last_seen_ms = epoch_ms();
	s->notifications++;
	s->dirty = true;
}

/* A data notification from sensor ble_id: its slot, marked seen; NULL if unknown. */
static struct sensor_slot *slot_seen(struct gk_daemon *d, unsigned ble_id)
{
	struct sensor_slot *s = slot_of(d, ble_id);

	if (s)
		seen(d, s);
	return s;
}

static void on_ble_state(void *userdata, unsigned id, const char *alias,
			 enum ble_sensor_state state, const char *reason, bool available)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_of(d, id);

	if (!s)
		return;
	s->state = state;
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
	s->dirty = true;
	if (available != s->available) {
		s->available = available;
		publish_sensor_dbus(d, s);
		publish_availability(d, alias, available);
		if (available)
			log_info("Sensor '%s' is streaming", alias);
		else
			log_warning("Sensor '%s' is unavailable: %s", alias,
				    reason && *reason ? reason : sensor_state_name(state));
		update_status(d, "running");
	}
	/* sensor/<id>/state follows from the tick: at most once a second. */
}

static void on_ble_imu(void *userdata, unsigned id, const char *alias,
		       const struct ble_imu_sample *samples, size_t n)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_seen(d, id);

	if (!s)
		return;
	imu_select_data(&d->imu, s->index, now_usec());
	if (d->imu_sensor != (int)s->index || !d->form)
		return;
	for (size_t i = 0; i < n; i++) {
		struct form_imu_sample f = {
			.t_usec = samples[i].t_usec,
			.ax = samples[i].acc_g[0],
			.ay = samples[i].acc_g[1],
			.az = samples[i].acc_g[2],
			.gx = samples[i].gyro_dps[0],
			.gy = samples[i].gyro_dps[1],
			.gz = samples[i].gyro_dps[2],
		};

		(void)form_engine_feed_imu(d->form, &f);
	}
}

static void on_ble_heart_rate(void *userdata, unsigned id, const char *alias,
			      const struct ble_heart_rate *hr)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_seen(d, id);

	if (!s)
		return;
	s->heart_rate_bpm = hr->bpm ? hr->bpm : NAN;
	(void)form_engine_feed_heart_rate(d->form, hr->t_usec, s->heart_rate_bpm);
}

static void on_ble_rsc(void *userdata, unsigned id, const char *alias, const struct ble_rsc *rsc)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_seen(d, id);

	if (!s)
		return;
	s->speed_mps = rsc->speed_mps;
	s->cadence_spm = rsc->cadence_spm;
	/*
	 * Belt speed from a treadmill wins over a footpod's estimate (QZ#3127),
	 * while the belt sends it: a treadmill switched off or out of range
	 * leaves the footpod's.
	 */
	if ((!d->t_belt_speed || rsc->t_usec > d->t_belt_speed + BELT_SPEED_FRESH_USEC) &&
	    isfinite(rsc->speed_mps))
		(void)form_engine_feed_speed(d->form, rsc->t_usec, rsc->speed_mps);
	if (isfinite(rsc->cadence_spm))
		(void)form_engine_feed_cadence(d->form, rsc->t_usec, rsc->cadence_spm);
}

static void on_ble_power(void *userdata, unsigned id, const char *alias,
			 const struct ble_power *p)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_seen(d, id);

	if (!s)
		return;
	s->power_w = p->power_w;
}

static void on_ble_treadmill(void *userdata, unsigned id, const char *alias,
			     const struct ble_treadmill *t)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_seen(d, id);

	if (!s)
		return;
	s->speed_mps = t->speed_mps;
	s->incline_pct = t->inclination_pct;
	/*
	 * As speed and incline: what this record says, unknown when it has no
	 * heart rate (flag bit 8 clear); 0 is "no contact", as on a strap.
	 */
	s->heart_rate_bpm = t->heart_rate_bpm > 0 ? t->heart_rate_bpm : NAN;
	if (isfinite(t->speed_mps)) {
		d->t_belt_speed = t->t_usec;
		(void)form_engine_feed_speed(d->form, t->t_usec, t->speed_mps);
	}
	if (isfinite(t->inclination_pct))
		(void)form_engine_feed_incline(d->form, t->t_usec, t->inclination_pct);
}

/* -1: none, the link is down (docs/mqtt.md, battery_pct) */
static void on_ble_battery(void *userdata, unsigned id, const char *alias, int pct)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_of(d, id);

	if (!s)
		return;
	s->battery_pct = pct >= 0 && pct <= 100 ? pct : -1;
	s->dirty = true;
}

/* !known: a disconnected device no discovery hears, or another device */
static void on_ble_rssi(void *userdata, unsigned id, const char *alias, bool known, int rssi)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_of(d, id);

	if (!s)
		return;
	s->has_rssi = known;
	s->rssi_dbm = rssi;
	s->dirty = true;
}

static void on_ble_malformed(void *userdata, unsigned id, const char *alias, const char *what,
			     int error, uint64_t count)
{
	struct gk_daemon *d = userdata;
	struct sensor_slot *s = slot_of(d, id);

	if (s) {
		s->malformed = count;
		s->dirty = true;
	}
	log_warning_errno(error, "Sensor '%s' sent a malformed %s payload (%llu so far), "
			  "ignoring: %m", alias, what, (unsigned long long)count);
}

/* ble/'s debug lines (PMD negotiation, fallbacks), at debug level. */
static void on_ble_debug(void *userdata, const char *alias, const char *message)
{
	log_debug("Sensor '%s': %s", alias ? alias : "-", message);
}

static int ble_setup(struct gk_daemon *d)
{
	static const struct ble_callbacks cb = {
		.on_debug = on_ble_debug,
		.on_state = on_ble_state,
		.on_imu = on_ble_imu,
		.on_heart_rate = on_ble_heart_rate,
		.on_rsc = on_ble_rsc,
		.on_power = on_ble_power,
		.on_treadmill = on_ble_treadmill,
		.on_battery = on_ble_battery,
		.on_rssi = on_ble_rssi,
		.on_malformed = on_ble_malformed,
	};
	struct ble_options o = { .max_sensors = GK_MAX_SENSORS };
	int r;

	if (!d->bus || !d->n_sensors)
		return 0;
	r = ble_manager_new(d->bus, d->event, &o, &cb, d, &d->ble);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the BLE manager, running without "
				       "sensors: %m");

	for (unsigned i = 0; i < d->n_sensors; i++) {
		const struct gk_sensor_config *sc = &d->cfg->sensors[d->sensors[i].index];
		struct ble_sensor_config bc;

		ble_sensor_config_init(&bc);
		bc.alias = sc->alias;
		bc.kind = ble_sensor_kind_from_string(gk_sensor_kind_to_string(sc->kind));
		bc.address = sc->address[0] ? sc->address : NULL;
		bc.name_pattern = sc->name[0] ? sc->name : NULL;
		bc.imu_rate_hz = sc->rate_hz;
		bc.imu_range_g = sc->range_g;
		bc.gyro = sc->gyro;
		bc.cadence_multiplier = sc->cadence_multiplier;
		r = ble_manager_add_sensor(d->ble, &bc, &d->sensors[i].ble_id);
		if (r < 0)
			log_error_errno(r, "Failed to add sensor '%s', ignoring: %m", sc->alias);
	}
	return 0;
}

/* ---- loop: timers, signals, reload -------------------------------------------------- */

static void send_ready(struct gk_daemon *d)
{
	if (d->ready_sent)
		return;
	d->ready_sent = true;
	d->ready_timer = sd_event_source_disable_unref(d->ready_timer);
	update_status(d, "running");
	(void)sd_notifyf(false, "READY=1\nSTATUS=%s", d->status);
	log_info("gaitkeeperd %s ready: node '%s', %u sensors, state in '%s'", GK_VERSION,
		 d->cfg->node, d->n_sensors, d->state_dir);
}

static int on_ready_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	send_ready(userdata);
	return 0;
}

static int on_name_acquired(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct gk_daemon *d = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e)
		log_error("Failed to acquire D-Bus name %s: %s", DBUS_API_NAME, e->message);
	send_ready(d);
	return 0;
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct gk_daemon *d = userdata;

	/* Firing at all proves the loop turns; never tied to broker or BlueZ. */
	(void)sd_notify(false, "WATCHDOG=1");
	(void)sd_event_source_set_time(s, usec + d->watchdog_usec / 2);
	return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct gk_daemon *d = userdata;

	for (unsigned i = 0; i < d->n_sensors; i++)
		if (d->sensors[i].dirty)
			publish_sensor_state(d, &d->sensors[i]);
	if (now_usec() - d->last_gateway_usec >= GATEWAY_STATE_EVERY_USEC)
		publish_gateway_state(d);
	form_sensor_update(d);
	/*
	 * The form core's time comes with the sensors' data: with every sensor
	 * silent (the strap out of range, the treadmill off) an automatic
	 * session would stay open until the next data, maybe the next day.
	 * 2 s behind the clock, later than any data still on its way.
	 */
	if (d->form && now_usec() > FORM_ADVANCE_LAG_USEC)
		form_engine_advance(d->form, now_usec() - FORM_ADVANCE_LAG_USEC);
	if (d->baseline_pending) {
		d->baseline_pending = false;
		if (baseline_storable(d))
			history_save_baseline(d);
		else if (form_engine_get_baseline(d->form, &(struct form_baseline){}) == 0)
			log_info("Baseline learnt on fail-over sensor '%s' not stored (it is "
				 "not at the preferred sensor's mount)", form_sensor_alias(d));
	}
	if (d->form_reload_pending && !d->session_active) {
		d->form_reload_pending = false;
		(void)form_setup(d);
	}
	if (d->session_active)
		publish_session_dbus(d);
	update_status(d, d->stopping ? "stopping" : "running");
	(void)sd_event_source_set_time(s, usec + TICK_USEC);
	return 0;
}

/* Log each line of text (NUL-terminated in place) as its own error; NULL logs nothing. */
static void log_error_lines(char *text)
{
	char *line = text, *nl;

	while (line && *line) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		log_error("%s", line);
		line = nl ? nl + 1 : NULL;
	}
}

static void reload(struct gk_daemon *d)
{
	struct gk_config *c = NULL;
	_cleanup_free_ char *errors = NULL;
	char restart[256];
	unsigned changed;
	int r;

	(void)sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration");
	update_status(d, "reloading");
	r = gk_config_load_file(d->config_path, &c, &errors);
	if (r < 0) {
		/* Every problem on its own line, then keep running on the old config. */
		log_error_lines(errors);
		/* cut before a character: it goes out as JSON and over D-Bus */
		if (!errors)
			snprintf(d->reload_error, sizeof(d->reload_error), "unreadable");
		else
			snprintf(d->reload_error, sizeof(d->reload_error), "%.*s",
				 (int)gk_utf8_prefix(errors, sizeof(d->reload_error) - 1),
				 errors);
		log_error_errno(r, "Reloading '%s' failed, keeping the old configuration: %m",
				d->config_path);
	} else {
		changed = gk_config_keep_restart_keys(d->cfg, c, restart, sizeof(restart));
		if (changed)
			log_warning("Changed settings that need a restart, kept old values: %s",
				    restart);
		/* the live metrics' expire_after follows live_interval_ms (ha.c) */
		bool ha_changed = c->mqtt.ha_discovery != d->cfg->mqtt.ha_discovery ||
				  c->mqtt.live_interval_ms != d->cfg->mqtt.live_interval_ms;

		gk_config_free(d->cfg);
		d->cfg = c;
		d->reload_error[0] = 0;
		if (!d->opts.debug)
			log_set_max_level(LOG_ERR + d->cfg->log_level);
		d->form_reload_pending = true;
		if (ha_changed)
			publish_discovery(d);
		log_info("Reloaded configuration from '%s'", d->config_path);
	}
	publish_gateway_state(d);
	update_status(d, "running");
	(void)sd_notifyf(false, "READY=1\nSTATUS=%s", d->status);
}

static void stop(struct gk_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
	log_info("Stopping");

	/* A running session ends now: its summary goes to the spool (fsync'd). */
	if (d->form && form_engine_session_active(d->form))
		(void)form_engine_session_stop(d->form, now_usec());
	if (d->baseline_pending) {
		d->baseline_pending = false;
		if (baseline_storable(d))
			history_save_baseline(d);
	}
	update_status(d, "stopping");

	/*
	 * Our session outlives us (the spool's flows resume): without the
	 * subscription, a broker that keeps even QoS 0 messages for an absent
	 * session holds no commands for us to run, stale, at the next start.
	 */
	if (d->mqtt) {
		char topic[TOPIC_MAX];

		topic_of(d, "cmd/#", topic, sizeof(topic));
		(void)mqtt_unsubscribe(d->mqtt, topic);
	}
	if (!d->mqtt || mqtt_client_shutdown(d->mqtt, "offline", SHUTDOWN_TIMEOUT_USEC) < 0)
		(void)sd_event_exit(d->event, d->exit_code);
}

/*
 * The system bus went (dbus-daemon restarted or died): sd-bus does not
 * reconnect, and BLE and the D-Bus API go with it. Stop as for SIGTERM (the
 * session's summary spooled, "offline" published), then fail, so that
 * systemd's Restart=on-failure starts the service on the new bus.
 */
static int on_bus_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct gk_daemon *d = userdata;

	log_error("Lost the system bus, stopping so that the service is started again");
	d->exit_code = -ENOTCONN;
	stop(d);
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct gk_daemon *d = userdata;

	if (si->ssi_signo == SIGHUP)
		reload(d);
	else
		stop(d);
	return 0;
}

static int state_dir_setup(struct gk_daemon *d)
{
	const char *dir = d->opts.state_dir;
	const char *env = getenv("STATE_DIRECTORY");

	/* systemd may list several directories separated by ':'; ours is the first. */
	if (!dir && env && *env) {
		size_t n = strcspn(env, ":");

		snprintf(d->state_dir, sizeof(d->state_dir), "%.*s", (int)n, env);
	} else {
		snprintf(d->state_dir, sizeof(d->state_dir), "%s",
			 dir ? dir : GK_STATE_DIR_DEFAULT);
	}
	if (mkdir(d->state_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(-errno, "Failed to create state directory '%s': %m",
				       d->state_dir);
	return 0;
}

static int bus_setup(struct gk_daemon *d)
{
	int r;

	if (!d->cfg->dbus.enabled && !d->n_sensors)
		return 0;

	/* Honours $DBUS_SYSTEM_BUS_ADDRESS, so tests run on a private bus. */
	r = sd_bus_open_system(&d->bus);
	if (r < 0) {
		d->bus = NULL;
		return r;	/* the caller: bus_retry_start() */
	}
	r = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the loop: %m");
	/* sd-bus's own message, matched locally (no AddMatch on the bus) */
	r = sd_bus_match_signal(d->bus, NULL, "org.freedesktop.DBus.Local",
				"/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
				"Disconnected", on_bus_disconnected, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the bus connection: %m");
	return 0;
}

static int api_setup(struct gk_daemon *d)
{
	int r;

	if (!d->bus || !d->cfg->dbus.enabled)
		return 0;

	/* Objects first, then the name: callers never see a half-built service. */
	r = dbus_api_new(d->bus, &dbus_ops, d, &d->api);
	if (r < 0)
		return log_error_errno(r, "Failed to register the D-Bus objects: %m");
	for (unsigned i = 0; i < d->n_sensors; i++)
		publish_sensor_state(d, &d->sensors[i]);
	publish_session_state(d);
	r = sd_bus_request_name_async(d->bus, NULL, DBUS_API_NAME, 0, on_name_acquired, d);
	if (r < 0)
		return log_error_errno(r, "Failed to request D-Bus name %s: %m", DBUS_API_NAME);
	return 1;	/* READY=1 follows the name reply */
}

static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct gk_daemon *d = userdata;
	int r;

	if (d->stopping)
		return 0;
	r = bus_setup(d);
	if (!d->bus) {
		log_debug_errno(r, "Still no system bus: %m");
		r = sd_event_source_set_time_relative(s, BUS_RETRY_USEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		if (r < 0)
			log_error_errno(r, "Failed to re-arm the system bus retry, giving up: %m");
		return 0;
	}
	if (r >= 0) {
		log_info("The system bus is there now: starting BLE and the D-Bus API");
		(void)ble_setup(d);
		r = api_setup(d);
	}
	if (r < 0) {
		/* Half set up on a live bus: let systemd start a clean process. */
		d->exit_code = r;
		stop(d);
	}
	return 0;
}

/*
 * No system bus (dbus not up yet, a bad $DBUS_SYSTEM_BUS_ADDRESS): run
 * without BLE and the D-Bus API, MQTT going on, and try again every
 * BUS_RETRY_USEC until it is there (on_bus_retry()).
 */
static void bus_retry_start(struct gk_daemon *d, int error)
{
	int r;

	log_warning_errno(error, "No system bus, running without BLE and D-Bus, trying again "
			  "every %u s: %m", (unsigned)(BUS_RETRY_USEC / USEC_PER_SEC));
	r = sd_event_add_time_relative(d->event, &d->bus_retry, CLOCK_MONOTONIC, BUS_RETRY_USEC,
				       0, on_bus_retry, d);
	if (r < 0)
		log_error_errno(r, "Failed to arm the system bus retry, giving up on it: %m");
}

DEFINE_FREEP(struct gk_daemon, gk_daemon_free);

int gk_daemon_new(const struct gk_daemon_options *o, struct gk_daemon **ret)
{
	_cleanup_(gk_daemon_freep) struct gk_daemon *d = calloc(1, sizeof(*d));
	_cleanup_free_ char *errors = NULL;
	struct spool_stats ss;
	sigset_t mask;
	int r;

	if (!d)
		return log_error_errno(-ENOMEM, "Out of memory");
	d->opts = *o;
	d->imu_sensor = -1;
	d->activity = FORM_ACTIVITY_UNKNOWN;
	d->t0_usec = now_usec();
	snprintf(d->config_path, sizeof(d->config_path), "%s",
		 o->config_path ? o->config_path : GK_CONFIG_DEFAULT_PATH);

	r = gk_config_load_file(d->config_path, &d->cfg, &errors);
	if (r < 0) {
		log_error_lines(errors);
		return log_error_errno(r, "Invalid configuration '%s': %m", d->config_path);
	}
	if (!o->debug)
		log_set_max_level(LOG_ERR + d->cfg->log_level);
	snprintf(d->prefix, sizeof(d->prefix), "%s/%s", d->cfg->mqtt.base_topic, d->cfg->node);

	for (unsigned i = 0; i < d->cfg->n_sensors; i++) {
		struct sensor_slot *s = &d->sensors[d->n_sensors++];

		*s = (struct sensor_slot){
			.index = i, .state = -1, .battery_pct = -1,
			.heart_rate_bpm = NAN, .speed_mps = NAN, .cadence_spm = NAN,
			.power_w = NAN, .incline_pct = NAN,
		};
	}
	imu_select_init(&d->imu, d->cfg, now_usec());
	d->imu_sensor = imu_select_current(&d->imu);
	form_sensor_announce(d);

	r = read_password(d);
	if (r < 0)
		return r;
	r = state_dir_setup(d);
	if (r < 0)
		return r;
	r = spool_open(d->state_dir, (uint64_t)d->cfg->spool.spool_kib * 1024, &d->spool);
	if (r < 0)
		return log_error_errno(r, "Failed to open the spool in '%s': %m", d->state_dir);
	spool_get_stats(d->spool, &ss);
	if (ss.recovered_bytes)
		log_warning("Spool: cut %llu bytes of torn or corrupt records (%llu damaged "
			    "stretches skipped in the middle, %llu bytes; the records after "
			    "them kept)", (unsigned long long)ss.recovered_bytes,
			    (unsigned long long)ss.skipped_records,
			    (unsigned long long)ss.skipped_bytes);
	if (ss.records)
		log_info("Spool: %u messages waiting from before (%llu dropped so far)",
			 ss.records, (unsigned long long)ss.dropped);
	r = seq_store_open(d->state_dir, &d->seq);
	if (r < 0)
		return log_error_errno(r, "Failed to open the sequence file in '%s': %m",
				       d->state_dir);

	r = sd_event_default(&d->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGHUP, on_signal, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch signals: %m");

	r = form_setup(d);
	if (r < 0)
		return r;
	history_load_summary(d);
	history_load_pain_where(d);
	history_load_pain_last(d);

	r = bus_setup(d);
	if (r < 0 && d->bus)
		return r;
	if (r < 0)
		bus_retry_start(d, r);
	(void)ble_setup(d);
	r = api_setup(d);
	if (r < 0)
		return r;

	r = mqtt_setup(d);
	if (r < 0)
		log_warning("Running without MQTT");

	r = sd_event_add_time_relative(d->event, &d->tick_timer, CLOCK_MONOTONIC, TICK_USEC, 0,
				       on_tick, d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->tick_timer, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time_relative(d->event, &d->ready_timer, CLOCK_MONOTONIC,
					       d->api ? READY_FALLBACK_USEC : 0, 0,
					       on_ready_timer, d);
	if (r >= 0 && sd_watchdog_enabled(false, &d->watchdog_usec) > 0) {
		r = sd_event_add_time_relative(d->event, &d->watchdog_timer, CLOCK_MONOTONIC,
					       d->watchdog_usec / 2, 0, on_watchdog, d);
		if (r >= 0)
			r = sd_event_source_set_enabled(d->watchdog_timer, SD_EVENT_ON);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to set up timers: %m");

	*ret = TAKE_PTR(d);
	return 0;
}

int gk_daemon_run(struct gk_daemon *d)
{
	int r = sd_event_loop(d->event);

	if (r < 0)
		return log_error_errno(r, "Exiting with a failure: %m");
	return 0;
}

struct gk_daemon *gk_daemon_free(struct gk_daemon *d)
{
	if (!d)
		return NULL;
	/* Reverse order of creation. */
	sd_event_source_disable_unref(d->watchdog_timer);
	sd_event_source_disable_unref(d->tick_timer);
	sd_event_source_disable_unref(d->bus_retry);
	sd_event_source_disable_unref(d->ready_timer);
	d->mqtt = mqtt_client_free(d->mqtt);
	d->api = dbus_api_free(d->api);
	d->ble = ble_manager_free(d->ble);
	if (d->bus) {
		sd_bus_flush(d->bus);
		d->bus = sd_bus_close_unref(d->bus);
	}
	d->form = form_engine_free(d->form);
	d->event = sd_event_unref(d->event);
	d->seq = seq_store_free(d->seq);
	d->spool = spool_free(d->spool);
	d->cfg = gk_config_free(d->cfg);
	free(d->last_summary);
	free(d->pain_last);
	explicit_bzero(d->password, sizeof(d->password));
	free(d);
	return NULL;
}
