// SPDX-License-Identifier: GPL-2.0-or-later
/* Home Assistant discovery: one retained config per entity, built with json-c. */
#include <ctype.h>
#include <json.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/ha.h"
#include "daemon/mqtt-command.h"
#include "form/form.h"

struct ha_entity {
	const char *component;		/* "sensor", "binary_sensor", "event" */
	const char *key;		/* object id part and JSON key */
	const char *name;
	const char *unit;		/* NULL = none */
	const char *device_class;	/* NULL = none */
	const char *state_class;	/* NULL = none */
	bool diagnostic;
	const char *icon;
};

/* run/live: one entity per metric; keys are the run/live JSON keys. */
static const struct ha_entity live_entities[] = {
	{ "sensor", "cadence_spm", "Cadence", "spm", NULL, "measurement", false, "mdi:run-fast" },
	{ "sensor", "gct_ms", "Ground contact time", "ms", "duration", "measurement", false, NULL },
	{ "sensor", "gct_balance_pct", "Contact balance (left)", "%", NULL, "measurement", false,
	  "mdi:scale-balance" },
	{ "sensor", "flight_ms", "Flight time", "ms", "duration", "measurement", false, NULL },
	{ "sensor", "vertical_oscillation_mm", "Vertical oscillation", "mm", "distance",
	  "measurement", false, NULL },
	{ "sensor", "vertical_ratio_pct", "Vertical ratio", "%", NULL, "measurement", false,
	  NULL },
	{ "sensor", "step_length_m", "Step length", "m", "distance", "measurement", false, NULL },
	{ "sensor", "trunk_lean_deg", "Trunk lean", "°", NULL, "measurement", false,
	  "mdi:human-handsdown" },
	{ "sensor", "pelvic_drop_deg", "Pelvic drop", "°", NULL, "measurement", false, NULL },
	{ "sensor", "lateral_sway_pct", "Lateral sway", "%", NULL, "measurement", false, NULL },
	{ "sensor", "braking_mps", "Braking", "m/s", "speed", "measurement", false, NULL },
	{ "sensor", "impact_g", "Impact", "g", NULL, "measurement", false, NULL },
	{ "sensor", "heart_rate_bpm", "Heart rate", "bpm", NULL, "measurement", false,
	  "mdi:heart-pulse" },
	{ "sensor", "speed_mps", "Speed", "m/s", "speed", "measurement", false, NULL },
	/* the session so far: counters that start again at 0 with each session */
	{ "sensor", "session_distance_m", "Session distance", "m", "distance", "total_increasing",
	  false, NULL },
	{ "sensor", "session_steps", "Session steps", NULL, NULL, "total_increasing", false,
	  "mdi:shoe-print" },
};

/*
 * session/summary: the last finished session. Each has a unit: Home Assistant
 * takes a sensor with neither unit nor state class (nor a numeric device
 * class) for text, shown as such in its history and left out of graphs.
 *
 * Each is an amount over one session, so state class "total" with the
 * session's start as last_reset (SUMMARY_LAST_RESET): Home Assistant's
 * long-term statistics then start a new cycle from 0 at each session and
 * add the whole of it, so the sums are the time, distance, steps and alerts
 * per day or week. "measurement" would keep only the mean, min and max of
 * the last session's figure, hour by hour; "total_increasing" would take a
 * session shorter than the one before for a continuation and add only the
 * difference to it.
 */
static const struct ha_entity summary_entities[] = {
	{ "sensor", "duration_s", "Last session duration", "s", "duration", "total", false,
	  NULL },
	{ "sensor", "distance_m", "Last session distance", "m", "distance", "total", false,
	  NULL },
	{ "sensor", "steps", "Last session steps", "steps", NULL, "total", false,
	  "mdi:shoe-print" },
	{ "sensor", "alerts_total", "Last session alerts", "alerts", NULL, "total", false,
	  "mdi:alert" },
};

/*
 * The summary's cycle start for Home Assistant (an ISO 8601 time; it takes
 * last_reset_value_template only with state class "total"): started_ts, epoch
 * ms, in UTC. Empty when it is null, which Home Assistant ignores (a debug
 * line) rather than failing the template.
 */
#define SUMMARY_LAST_RESET \
	"{% if value_json.started_ts is number %}" \
	"{{ (value_json.started_ts / 1000) | " \
	"timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false) }}" \
	"{% endif %}"

/*
 * Controls on the run device: the MQTT commands (docs/mqtt.md, cmd/...) as
 * buttons, a number and a select. A press or a set publishes the command's
 * payload, and cmd/result answers it as for any other client.
 */
struct ha_command {
	const char *component;		/* "button", "number", "select" */
	const char *key;
	const char *name;
	const char *icon;
	const char *command;		/* under <base>/<node> */
};

static const struct ha_command command_entities[] = {
	{ "button", "session_start", "Start session", "mdi:play", "cmd/session/start" },
	{ "button", "session_stop", "Stop session", "mdi:stop", "cmd/session/stop" },
	{ "number", "pain", "Report pain (0-10)", "mdi:bandage", "cmd/pain" },
	{ "select", "pain_where", "Pain location", "mdi:map-marker", "cmd/pain/where" },
};

/* gateway/state: the spool and link counters. */
static const struct ha_entity gateway_entities[] = {
	{ "sensor", "sensors_streaming", "Sensors streaming", NULL, NULL, "measurement", true,
	  "mdi:bluetooth-connect" },
	{ "sensor", "spool_records", "Spooled messages", NULL, NULL, "measurement", true,
	  "mdi:tray-full" },
	{ "sensor", "spool_dropped", "Spool drops", NULL, NULL, "total_increasing", true,
	  "mdi:delete-alert" },
};

/* sensor/<id>/state values, by sensor kind. */
static const struct ha_entity sensor_entities[] = {
	{ "sensor", "battery_pct", "Battery", "%", "battery", "measurement", true, NULL },
	{ "sensor", "rssi_dbm", "Signal strength", "dBm", "signal_strength", "measurement", true,
	  NULL },
	{ "sensor", "heart_rate_bpm", "Heart rate", "bpm", NULL, "measurement", false,
	  "mdi:heart-pulse" },
	{ "sensor", "speed_mps", "Speed", "m/s", "speed", "measurement", false, NULL },
	{ "sensor", "cadence_spm", "Cadence", "spm", NULL, "measurement", false, "mdi:run-fast" },
	{ "sensor", "power_w", "Power", "W", "power", "measurement", false, NULL },
	{ "sensor", "incline_pct", "Incline", "%", NULL, "measurement", false, "mdi:slope-uphill" },
	{ "sensor", "state", "Link state", NULL, NULL, NULL, true, "mdi:bluetooth" },
	{ "sensor", "imu_frames_lost", "IMU frames lost", NULL, NULL, "total_increasing", true,
	  "mdi:bluetooth-off" },
	{ "sensor", "imu_gyro_frames_lost", "IMU gyro frames lost", NULL, NULL,
	  "total_increasing", true, "mdi:bluetooth-off" },
};

/*
 * The link state (idle, connecting, backoff, stale...) matters most while the
 * sensor is unavailable: it goes with the gateway's availability only, so Home
 * Assistant shows "backoff" rather than "unavailable". The sensor's values
 * (battery, RSSI, heart rate...) stay tied to the sensor's availability too.
 */
static bool link_state_free(const struct ha_entity *e)
{
	return streq(e->key, "state");
}

/*
 * Which sensor_entities a sensor has (by key), from its kind; the gyro's
 * losses only where a gyro streams (a Verity Sense with gyro = true), the
 * H10 has none.
 */
static bool sensor_kind_has(const struct gk_sensor_config *sc, const char *key)
{
	if (streq(key, "battery_pct") || streq(key, "rssi_dbm") || streq(key, "state"))
		return true;
	switch (sc->kind) {
	case GK_SENSOR_KIND_POLAR_H10:
		return streq(key, "heart_rate_bpm") || streq(key, "imu_frames_lost");
	case GK_SENSOR_KIND_HEART_RATE:
		return streq(key, "heart_rate_bpm");
	case GK_SENSOR_KIND_POLAR_VERITY_SENSE:
		return streq(key, "imu_frames_lost") ||
		       (sc->gyro && streq(key, "imu_gyro_frames_lost"));
	case GK_SENSOR_KIND_FOOTPOD:
		return streq(key, "speed_mps") || streq(key, "cadence_spm");
	case GK_SENSOR_KIND_POWER:
		return streq(key, "power_w") || streq(key, "speed_mps") ||
		       streq(key, "cadence_spm");
	case GK_SENSOR_KIND_TREADMILL:
		return streq(key, "speed_mps") || streq(key, "incline_pct") ||
		       streq(key, "heart_rate_bpm");
	}
	return false;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

struct build {
	const struct gk_config *cfg;
	const char *version;
	char prefix[256];		/* <base>/<node> */
	char gateway_id[64];		/* gaitkeeper_<node> */
	ha_emit_cb_t emit;
	void *userdata;
};

/*
 * A device; manufacturer and sw_version (its firmware version, to Home
 * Assistant) are left out when NULL.
 */
static struct json_object *device_new(const struct build *b, const char *suffix,
				      const char *name, const char *manufacturer,
				      const char *model, const char *sw_version)
{
	struct json_object *d = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	char id[128];

	snprintf(id, sizeof(id), "%s%s%s", b->gateway_id, suffix ? "_" : "", suffix ? suffix : "");
	json_object_array_add(ids, json_object_new_string(id));
	json_object_object_add(d, "identifiers", ids);
	add_str(d, "name", name);
	add_str(d, "manufacturer", manufacturer);
	add_str(d, "model", model);
	add_str(d, "sw_version", sw_version);
	if (suffix)
		add_str(d, "via_device", b->gateway_id);
	return d;
}

/*
 * The maker of a sensor of this kind where the kind names one; the generic
 * profiles (heart-rate, footpod, power, treadmill) come from any maker.
 */
static const char *sensor_manufacturer(enum gk_sensor_kind kind)
{
	switch (kind) {
	case GK_SENSOR_KIND_POLAR_H10:
	case GK_SENSOR_KIND_POLAR_VERITY_SENSE:
		return "Polar";
	default:
		return NULL;
	}
}

static void add_availability(const struct build *b, struct json_object *o, const char *alias)
{
	struct json_object *list = json_object_new_array();
	struct json_object *a = json_object_new_object();
	char t[320];

	snprintf(t, sizeof(t), "%s/status", b->prefix);
	add_str(a, "topic", t);
	json_object_array_add(list, a);
	if (alias) {
		a = json_object_new_object();
		snprintf(t, sizeof(t), "%s/sensor/%s/availability", b->prefix, alias);
		add_str(a, "topic", t);
		json_object_array_add(list, a);
	}
	json_object_object_add(o, "availability", list);
	/* Both must say online: a sensor behind an offline gateway is not live. */
	add_str(o, "availability_mode", "all");
	add_str(o, "payload_available", "online");
	add_str(o, "payload_not_available", "offline");
}

/* A config with its name and ids; *topic gets its discovery topic. */
static struct json_object *config_new(const struct build *b, const char *component,
				      const char *group, const char *key, const char *name,
				      char *topic, size_t topic_size)
{
	struct json_object *o = json_object_new_object();
	char uid[192], entity_id[224];
	int n;

	if (!o)
		return NULL;
	snprintf(uid, sizeof(uid), "%s_%s_%s", b->gateway_id, group, key);
	snprintf(topic, topic_size, "%s/%s/%s/%s_%s/config", b->cfg->mqtt.ha_prefix, component,
		 b->gateway_id, group, key);
	add_str(o, "name", name);
	add_str(o, "unique_id", uid);
	/*
	 * The entity id Home Assistant should give it: "<domain>.<object id>",
	 * lower case, [a-z0-9_] (node and alias may hold '-' and capitals).
	 * Home Assistant 2025.10 deprecated object_id for this and 2026.4
	 * ignores it; it stays for older versions.
	 */
	n = snprintf(entity_id, sizeof(entity_id), "%s.", component);
	for (const unsigned char *p = (const unsigned char *)uid;
	     *p && n + 1 < (int)sizeof(entity_id); p++)
		entity_id[n++] = isalnum(*p) ? (char)tolower(*p) : '_';
	entity_id[n] = '\0';
	add_str(o, "default_entity_id", entity_id);
	add_str(o, "object_id", uid);
	return o;
}

/* Availability, device and origin, then emit; consumes o. */
static int config_emit(const struct build *b, struct json_object *o, const char *topic,
		       struct json_object *device, const char *alias)
{
	struct json_object *origin = json_object_new_object();
	int r;

	if (!origin) {
		json_object_put(o);
		return -ENOMEM;
	}
	add_availability(b, o, alias);
	json_object_object_add(o, "device", json_object_get(device));
	add_str(origin, "name", "gaitkeeper");
	add_str(origin, "sw_version", b->version);
	json_object_object_add(o, "origin", origin);

	r = b->emit(b->userdata, topic, o);
	json_object_put(o);
	return r;
}

static int emit_entity(const struct build *b, const struct ha_entity *e, const char *group,
		       const char *state_topic, struct json_object *device, const char *alias,
		       int expire_after_s)
{
	char topic[512], tmpl[160];
	struct json_object *o = config_new(b, e->component, group, e->key, e->name, topic,
					   sizeof(topic));

	if (!o)
		return -ENOMEM;
	add_str(o, "state_topic", state_topic);
	if (streq(e->component, "event")) {
		struct json_object *types = json_object_new_array();

		for (int k = 0; k < _FORM_ALERT_KIND_MAX; k++)
			json_object_array_add(types, json_object_new_string(
					form_alert_kind_to_string((enum form_alert_kind)k)));
		json_object_array_add(types, json_object_new_string("cleared"));
		json_object_object_add(o, "event_types", types);
		json_object_object_add(o, "qos", json_object_new_int(HA_ALERT_EVENT_QOS));
	} else {
		/* A missing value is null in our JSON: HA shows "unknown", never 0. */
		snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", e->key);
		add_str(o, "value_template", tmpl);
	}
	add_str(o, "unit_of_measurement", e->unit);
	add_str(o, "device_class", e->device_class);
	add_str(o, "state_class", e->state_class);
	if (streq(group, GK_GROUP_SUMMARY))
		add_str(o, "last_reset_value_template", SUMMARY_LAST_RESET);
	add_str(o, "icon", e->icon);
	if (e->diagnostic)
		add_str(o, "entity_category", "diagnostic");
	if (expire_after_s > 0)
		json_object_object_add(o, "expire_after", json_object_new_int(expire_after_s));
	return config_emit(b, o, topic, device, alias);
}

/*
 * A control, QoS 1 like cmd/#. A button has no state. Neither the number nor
 * the select is optimistic: they show what the daemon recorded, the last pain
 * report (pain/last; unknown before the first, not 0) and the location it
 * keeps (pain/where), never a value the daemon refused or did not get.
 */
static int emit_command(const struct build *b, const struct ha_command *c,
			struct json_object *device)
{
	char topic[512], cmd[320], st[320];
	struct json_object *o = config_new(b, c->component, GK_GROUP_CMD, c->key, c->name, topic,
					   sizeof(topic));

	if (!o)
		return -ENOMEM;
	snprintf(cmd, sizeof(cmd), "%s/%s", b->prefix, c->command);
	add_str(o, "command_topic", cmd);
	json_object_object_add(o, "qos", json_object_new_int(1));
	if (streq(c->component, "button")) {
		add_str(o, "payload_press", "{}");
	} else if (streq(c->component, "select")) {
		struct json_object *options = json_object_new_array();

		for (size_t i = 0; mqtt_command_pain_locations[i]; i++)
			json_object_array_add(options,
					      json_object_new_string(mqtt_command_pain_locations[i]));
		json_object_object_add(o, "options", options);
		add_str(o, "command_template", "{\"where\": \"{{ value }}\"}");
		snprintf(st, sizeof(st), "%s/pain/where", b->prefix);
		add_str(o, "state_topic", st);
		add_str(o, "value_template", "{{ value_json.where }}");
		add_str(o, "entity_category", "config");
	} else {
		/*
		 * cmd/pain takes {"level": 0-10}, a whole number; "where" is left
		 * out: the daemon takes the select's location
		 */
		add_str(o, "command_template", "{\"level\": {{ value | int }} }");
		snprintf(st, sizeof(st), "%s/pain/last", b->prefix);
		add_str(o, "state_topic", st);
		add_str(o, "value_template", "{{ value_json.level }}");
		json_object_object_add(o, "min", json_object_new_int(0));
		json_object_object_add(o, "max", json_object_new_int(10));
		json_object_object_add(o, "step", json_object_new_int(1));
		add_str(o, "mode", "box");
	}
	add_str(o, "icon", c->icon);
	return config_emit(b, o, topic, device, NULL);
}

/*
 * trunk_lean_deg is the trunk's forward lean on a chest strap and the
 * pelvis's forward tilt on a sacrum or waist clip: name it for the mount of
 * the sensor feeding the form core. The unique_id stays the same, so Home
 * Assistant renames the entity (unless its user did) and keeps its history.
 */
static struct ha_entity live_entity_for_mount(const struct ha_entity *e,
					      enum form_mount form_mount)
{
	struct ha_entity r = *e;

	if (form_metric_from_string(e->key) == FORM_METRIC_TRUNK_LEAN &&
	    form_mount_tilts_pelvis(form_mount))
		r.name = "Pelvic tilt";
	return r;
}

/*
 * run/live comes once per mqtt.live_interval_ms (the first step at or after
 * 9/10 of it): a live metric expires after three intervals without one, never
 * sooner than HA_LIVE_EXPIRE_S. A fixed 10 s left an interval of 10000 ms (the
 * largest allowed) no margin: each value would expire about when the next is
 * due, and a step gap of under a second made the entity unavailable.
 */
int ha_live_expire_s(const struct gk_config *cfg)
{
	unsigned s = (3 * cfg->mqtt.live_interval_ms + 999) / 1000;

	return s > HA_LIVE_EXPIRE_S ? (int)s : HA_LIVE_EXPIRE_S;
}

int ha_discovery_build(const struct gk_config *cfg, const char *version,
		       enum form_mount form_mount, ha_emit_cb_t emit, void *userdata)
{
	struct build b = { .cfg = cfg, .version = version, .emit = emit, .userdata = userdata };
	struct json_object *dev;
	char st[320];
	int r = 0;

	snprintf(b.prefix, sizeof(b.prefix), "%s/%s", cfg->mqtt.base_topic, cfg->node);
	snprintf(b.gateway_id, sizeof(b.gateway_id), "gaitkeeper_%s", cfg->node);

	/* The gateway. */
	dev = device_new(&b, NULL, cfg->node, "gaitkeeper", "gaitkeeperd gateway", version);
	snprintf(st, sizeof(st), "%s/gateway/state", b.prefix);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(gateway_entities); i++)
		r = emit_entity(&b, &gateway_entities[i], GK_GROUP_GATEWAY, st, dev, NULL, 0);
	json_object_put(dev);

	/* Each sensor: its own device, available only while both are online. */
	for (unsigned s = 0; r >= 0 && s < cfg->n_sensors; s++) {
		const struct gk_sensor_config *sc = &cfg->sensors[s];
		char name[96];

		snprintf(name, sizeof(name), "%s %s", cfg->node, sc->alias);
		/*
		 * The sensor's maker, not gaitkeeper, and no sw_version: ours is
		 * not the sensor's firmware (it is on the gateway and in origin).
		 */
		dev = device_new(&b, sc->alias, name, sensor_manufacturer(sc->kind),
				 gk_sensor_kind_to_string(sc->kind), NULL);
		snprintf(st, sizeof(st), "%s/sensor/%s/state", b.prefix, sc->alias);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(sensor_entities); i++)
			if (sensor_kind_has(sc, sensor_entities[i].key))
				r = emit_entity(&b, &sensor_entities[i], sc->alias, st, dev,
						link_state_free(&sensor_entities[i]) ?
						NULL : sc->alias, 0);
		json_object_put(dev);
	}

	/* The run session: live metrics, state, alerts, last summary. */
	if (r >= 0) {
		static const struct ha_entity session_state = {
			"sensor", "state", "Session", NULL, NULL, NULL, false, "mdi:run"
		};
		static const struct ha_entity activity = {
			"sensor", "activity", "Activity", NULL, NULL, NULL, false, "mdi:walk"
		};
		static const struct ha_entity alert = {
			"event", "alert", "Form alert", NULL, NULL, NULL, false, "mdi:alert"
		};
		char name[96];

		snprintf(name, sizeof(name), "%s run", cfg->node);
		dev = device_new(&b, GK_GROUP_RUN, name, "gaitkeeper", "running session", version);
		snprintf(st, sizeof(st), "%s/run/live", b.prefix);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(live_entities); i++) {
			struct ha_entity e = live_entity_for_mount(&live_entities[i], form_mount);

			r = emit_entity(&b, &e, GK_GROUP_RUN, st, dev, NULL,
					ha_live_expire_s(cfg));
		}
		snprintf(st, sizeof(st), "%s/session/state", b.prefix);
		if (r >= 0)
			r = emit_entity(&b, &session_state, GK_GROUP_SESSION, st, dev, NULL, 0);
		if (r >= 0)
			r = emit_entity(&b, &activity, GK_GROUP_SESSION, st, dev, NULL, 0);
		/* alert/event: the alerts of now, not the must-deliver backlog of alert */
		snprintf(st, sizeof(st), "%s/%s", b.prefix, HA_ALERT_EVENT_TOPIC);
		if (r >= 0)
			r = emit_entity(&b, &alert, GK_GROUP_RUN, st, dev, NULL, 0);
		snprintf(st, sizeof(st), "%s/session/summary", b.prefix);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(summary_entities); i++)
			r = emit_entity(&b, &summary_entities[i], GK_GROUP_SUMMARY, st, dev, NULL, 0);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(command_entities); i++)
			r = emit_command(&b, &command_entities[i], dev);
		json_object_put(dev);
	}
	return r;
}
