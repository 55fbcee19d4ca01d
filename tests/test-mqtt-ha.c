// SPDX-License-Identifier: GPL-2.0-or-later
/* Home Assistant discovery configs: every entity complete, every live metric covered. */
#include <json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macro.h"
#include "config/config.h"
#include "daemon/ha.h"
#include "daemon/mqtt-command.h"
#include "form/form.h"

struct seen {
	char topics[256][160];
	unsigned n;
	bool bad;
};

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

static int collect(void *userdata, const char *topic, struct json_object *config)
{
	struct seen *s = userdata;
	struct json_object *avail, *dev, *ids, *origin;

	assert_true(s->n < ELEMENTSOF(s->topics));
	snprintf(s->topics[s->n++], sizeof(s->topics[0]), "%s", topic);

	/*
	 * Every entity: unique id, state or command topic (a select or a number
	 * both), origin, device, availability.
	 */
	assert_non_null(get_str(config, "unique_id"));
	if (strstr(topic, "/select/") || strstr(topic, "/number/"))
		assert_true(get_str(config, "state_topic") && get_str(config, "command_topic"));
	else
		assert_true(!get_str(config, "state_topic") != !get_str(config, "command_topic"));
	assert_non_null(get_str(config, "name"));
	assert_true(json_object_object_get_ex(config, "origin", &origin));
	assert_string_equal(get_str(origin, "name"), "gaitkeeper");
	assert_true(json_object_object_get_ex(config, "device", &dev));
	assert_true(json_object_object_get_ex(dev, "identifiers", &ids));
	assert_true(json_object_array_length(ids) == 1);
	assert_true(json_object_object_get_ex(config, "availability", &avail));
	assert_true(json_object_array_length(avail) >= 1);
	assert_string_equal(get_str(json_object_array_get_idx(avail, 0), "topic"),
			    "gaitkeeper/gym/status");
	assert_string_equal(get_str(config, "availability_mode"), "all");
	return 0;
}

static bool has_topic(const struct seen *s, const char *topic)
{
	for (unsigned i = 0; i < s->n; i++)
		if (streq(s->topics[i], topic))
			return true;
	return false;
}

static const char conf[] =
	"node = \"gym\";\n"
	"sensors = (\n"
	"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },\n"
	"  { alias = \"belt\"; kind = \"treadmill\"; name = \"*Tread*\"; }\n"
	");\n";

static void test_every_live_metric(void **state)
{
	struct gk_config *c = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	char topic[160];

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, collect, s), 0);

	/* A metric added to form/ must get an entity here too. */
	for (int k = 0; k < _FORM_METRIC_MAX; k++) {
		if (k == FORM_METRIC_PAIN)
			continue;
		snprintf(topic, sizeof(topic), "homeassistant/sensor/gaitkeeper_gym/run_%s/config",
			 form_metric_to_string((enum form_metric)k));
		if (!has_topic(s, topic))
			fail_msg("no Home Assistant entity for run/live metric '%s'",
				 form_metric_to_string((enum form_metric)k));
	}
	assert_true(has_topic(s, "homeassistant/event/gaitkeeper_gym/run_alert/config"));
	assert_true(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/chest_heart_rate_bpm/config"));
	assert_true(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/belt_speed_mps/config"));
	assert_true(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/belt_incline_pct/config"));
	/* Entities follow the kind: a chest strap reports no speed, a belt has no IMU. */
	assert_false(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/chest_speed_mps/config"));
	assert_true(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/chest_imu_frames_lost/config"));
	assert_false(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/belt_imu_frames_lost/config"));
	assert_true(has_topic(s, "homeassistant/sensor/gaitkeeper_gym/gateway_spool_dropped/config"));
	free(s);
	gk_config_free(c);
}

struct sensor_check {
	unsigned sensor_avail_ok;	/* chest entities with both topics */
	unsigned sensor_avail_bad;
	bool link_state_gateway_only;
	bool live_expires;
	unsigned n_session;		/* session counters as they should be: 2 */
	unsigned n;
};

static int check_sensor_entities(void *userdata, const char *topic, struct json_object *config)
{
	struct sensor_check *k = userdata;
	struct json_object *avail, *exp;

	k->n++;
	json_object_object_get_ex(config, "availability", &avail);
	if (strstr(topic, "/chest_state/")) {
		/* the link state is shown while the sensor is away: the gateway's only */
		k->link_state_gateway_only = json_object_array_length(avail) == 1 &&
			streq(get_str(json_object_array_get_idx(avail, 0), "topic"),
			      "gaitkeeper/gym/status");
	} else if (strstr(topic, "/chest_")) {
		/* Sensor values: gateway status and the sensor's own availability. */
		if (json_object_array_length(avail) == 2 &&
		    streq(get_str(json_object_array_get_idx(avail, 1), "topic"),
			  "gaitkeeper/gym/sensor/chest/availability"))
			k->sensor_avail_ok++;
		else
			k->sensor_avail_bad++;
	}
	if (strstr(topic, "/run_cadence_spm/"))
		k->live_expires = json_object_object_get_ex(config, "expire_after", &exp) &&
				  json_object_get_int(exp) == HA_LIVE_EXPIRE_S &&
				  streq(get_str(config, "unit_of_measurement"), "spm") &&
				  streq(get_str(config, "state_class"), "measurement");
	/* the session so far: a new session is a new meter cycle in Home Assistant */
	if (strstr(topic, "/run_session_steps/") || strstr(topic, "/run_session_distance_m/")) {
		bool steps = strstr(topic, "/run_session_steps/") != NULL;

		k->n_session += streq(get_str(config, "state_class"), "total_increasing") &&
			streq(get_str(config, "value_template"),
			      steps ? "{{ value_json.session_steps }}" :
				      "{{ value_json.session_distance_m }}") &&
			(steps ? !get_str(config, "unit_of_measurement") :
			 streq(get_str(config, "unit_of_measurement"), "m") &&
			 streq(get_str(config, "device_class"), "distance"));
	}
	return 0;
}

static void test_availability_and_expiry(void **state)
{
	struct gk_config *c = NULL;
	struct sensor_check k = {};

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, check_sensor_entities, &k), 0);
	assert_true(k.sensor_avail_ok >= 4);	/* battery, RSSI, heart rate, frames lost */
	assert_int_equal(k.sensor_avail_bad, 0);
	assert_true(k.link_state_gateway_only);
	assert_true(k.live_expires);
	assert_int_equal(k.n_session, 2);
	assert_true(k.n > 20);
	gk_config_free(c);
}

struct live_expiry {
	int cadence, steps;	/* their expire_after, -1 without */
};

static int find_live_expiry(void *userdata, const char *topic, struct json_object *config)
{
	struct live_expiry *l = userdata;
	struct json_object *exp;
	int v = json_object_object_get_ex(config, "expire_after", &exp) ?
		json_object_get_int(exp) : -1;

	if (strstr(topic, "/run_cadence_spm/"))
		l->cadence = v;
	if (strstr(topic, "/run_session_steps/"))
		l->steps = v;
	return 0;
}

/*
 * A live metric must outlive the gap between two run/live messages: with
 * mqtt.live_interval_ms = 10000 (the largest allowed), a fixed 10 s made each
 * value expire about when the next was due. Three intervals, at least 10 s.
 */
static void test_live_expiry_follows_interval(void **state)
{
	static const struct {
		unsigned interval_ms;
		int expire_s;
	} cases[] = { { 250, 10 }, { 1000, 10 }, { 3400, 11 }, { 4000, 12 }, { 10000, 30 } };

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct live_expiry l = { -1, -1 };
		struct gk_config *c = NULL;
		char text[256];

		snprintf(text, sizeof(text),
			 "node = \"gym\"; mqtt = { live_interval_ms = %u; };\n",
			 cases[i].interval_ms);
		assert_int_equal(gk_config_load_string(text, NULL, &c, NULL), 0);
		assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST,
						    find_live_expiry, &l), 0);
		if (l.cadence != cases[i].expire_s || l.steps != cases[i].expire_s)
			fail_msg("live_interval_ms %u: expire_after %d and %d, want %d",
				 cases[i].interval_ms, l.cadence, l.steps, cases[i].expire_s);
		assert_true(l.cadence * 1000 >= 3 * (int)cases[i].interval_ms);
		gk_config_free(c);
	}
}

struct numeric_check {
	char text[8][96];	/* sensors Home Assistant takes for text */
	unsigned n;
};

static int find_text_sensors(void *userdata, const char *topic, struct json_object *config)
{
	struct numeric_check *k = userdata;

	/*
	 * Home Assistant (sensor _numeric_state_expected, and the frontend's
	 * isNumericState) takes a sensor for a number only with a unit or a
	 * state class (or a numeric device class): without, a count is text.
	 */
	if (strstr(topic, "/sensor/") && !get_str(config, "unit_of_measurement") &&
	    !get_str(config, "state_class") && !get_str(config, "device_class")) {
		assert_true(k->n < ELEMENTSOF(k->text));
		snprintf(k->text[k->n++], sizeof(k->text[0]), "%s", topic);
	}
	return 0;
}

/* Only the sensors whose values are words are text: link state, session state, activity. */
static void test_numbers_are_numeric(void **state)
{
	static const char *const words[] = {
		"homeassistant/sensor/gaitkeeper_gym/chest_state/config",
		"homeassistant/sensor/gaitkeeper_gym/belt_state/config",
		"homeassistant/sensor/gaitkeeper_gym/session_state/config",
		"homeassistant/sensor/gaitkeeper_gym/session_activity/config",
	};
	struct numeric_check k = {};
	struct gk_config *c = NULL;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, find_text_sensors, &k),
			 0);
	for (unsigned i = 0; i < k.n; i++) {
		bool ok = false;

		for (size_t j = 0; j < ELEMENTSOF(words); j++)
			ok |= streq(k.text[i], words[j]);
		if (!ok)
			fail_msg("'%s': a number without unit or state class is text to Home "
				 "Assistant", k.text[i]);
	}
	assert_int_equal(k.n, ELEMENTSOF(words));
	gk_config_free(c);
}

struct device_check {
	unsigned n, bad;
};

static int check_devices(void *userdata, const char *topic, struct json_object *config)
{
	struct device_check *k = userdata;
	struct json_object *dev, *ids;
	const char *id, *maker, *sw;
	bool ok = false;

	assert_true(json_object_object_get_ex(config, "device", &dev));
	assert_true(json_object_object_get_ex(dev, "identifiers", &ids));
	id = json_object_get_string(json_object_array_get_idx(ids, 0));
	maker = get_str(dev, "manufacturer");
	sw = get_str(dev, "sw_version");
	/*
	 * sw_version is the device's firmware to Home Assistant: ours only on
	 * our own devices (the gateway, the run), never on a sensor; a sensor's
	 * maker where its kind names one, never "gaitkeeper".
	 */
	if (streq(id, "gaitkeeper_gym") || streq(id, "gaitkeeper_gym_run"))
		ok = streq(maker, "gaitkeeper") && streq(sw, "test");
	else if (streq(id, "gaitkeeper_gym_chest"))
		ok = streq(maker, "Polar") && !sw && streq(get_str(dev, "model"), "polar-h10");
	else if (streq(id, "gaitkeeper_gym_belt"))
		ok = !maker && !sw && streq(get_str(dev, "model"), "treadmill");
	else
		fail_msg("'%s': unexpected device '%s'", topic, id);
	if (!ok)
		print_message("%s: device %s\n", topic, json_object_to_json_string(dev));
	k->bad += !ok;
	k->n++;
	return 0;
}

static void test_device_metadata(void **state)
{
	struct device_check k = {};
	struct gk_config *c = NULL;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, check_devices, &k), 0);
	assert_true(k.n > 20);
	assert_int_equal(k.bad, 0);
	gk_config_free(c);
}

static int stop_early(void *userdata, const char *topic, struct json_object *config)
{
	unsigned *n = userdata;

	return ++*n == 3 ? -ECANCELED : 0;
}

static void test_emit_error_stops(void **state)
{
	struct gk_config *c = NULL;
	unsigned n = 0;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, stop_early, &n), -ECANCELED);
	assert_int_equal(n, 3);
	gk_config_free(c);
}

struct lean_name {
	char name[64];
	char uid[128];
};

static int find_lean(void *userdata, const char *topic, struct json_object *config)
{
	struct lean_name *l = userdata;

	if (streq(topic, "homeassistant/sensor/gaitkeeper_gym/run_trunk_lean_deg/config")) {
		snprintf(l->name, sizeof(l->name), "%s", get_str(config, "name"));
		snprintf(l->uid, sizeof(l->uid), "%s", get_str(config, "unique_id"));
	}
	return 0;
}

/* The same entity, named for what the sensor feeding the form core measures. */
static void test_lean_named_for_mount(void **state)
{
	static const struct {
		enum form_mount mount;
		const char *name;
	} cases[] = {
		{ FORM_MOUNT_CHEST, "Trunk lean" },
		{ FORM_MOUNT_SACRUM, "Pelvic tilt" },
		{ FORM_MOUNT_WAIST, "Pelvic tilt" },
		{ _FORM_MOUNT_INVALID, "Trunk lean" },	/* no IMU */
	};
	struct gk_config *c = NULL;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct lean_name l = {};

		assert_int_equal(ha_discovery_build(c, "test", cases[i].mount, find_lean, &l), 0);
		assert_string_equal(l.name, cases[i].name);
		/* Renamed in place: Home Assistant keeps the entity and its history. */
		assert_string_equal(l.uid, "gaitkeeper_gym_run_trunk_lean_deg");
	}
	gk_config_free(c);
}

static int check_entity_id(void *userdata, const char *topic, struct json_object *config)
{
	const char *id = get_str(config, "default_entity_id");
	const char *uid = get_str(config, "unique_id");
	char domain[32];
	size_t k;

	(*(unsigned *)userdata)++;
	assert_non_null(id);
	/* homeassistant/<domain>/...: the entity id's domain */
	assert_int_equal(sscanf(topic, "homeassistant/%31[a-z_]/", domain), 1);
	k = strlen(domain);
	assert_true(strncmp(id, domain, k) == 0 && id[k] == '.');
	/* the unique id, slugged: lower case, '-' as '_' */
	assert_int_equal(strlen(id + k + 1), strlen(uid));
	for (size_t i = 0; uid[i]; i++) {
		char c = id[k + 1 + i];

		assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
		assert_true(c == (uid[i] == '-' ? '_' : uid[i] >= 'A' && uid[i] <= 'Z' ?
				  uid[i] - 'A' + 'a' : uid[i]));
	}
	return 0;
}

/*
 * default_entity_id (Home Assistant >= 2025.10; object_id is ignored from
 * 2026.4): "<domain>.<id>" in the characters an entity id allows, also for a
 * node and an alias with capitals and dashes.
 */
static void test_default_entity_id(void **state)
{
	static const char conf2[] =
		"node = \"Home-Gym\";\n"
		"sensors = ( { alias = \"Left-Pod\"; kind = \"footpod\"; name = \"Stryd*\"; } );\n";
	struct gk_config *c = NULL;
	unsigned n = 0;

	assert_int_equal(gk_config_load_string(conf2, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, check_entity_id, &n), 0);
	assert_true(n > 20);
	gk_config_free(c);
}

/* Every topic, unique_id and default_entity_id once, over all six kinds at once. */
struct ids {
	char v[3][512][160];
	unsigned n;
};

static int collect_ids(void *userdata, const char *topic, struct json_object *config)
{
	struct ids *s = userdata;
	const char *got[3] = { topic, get_str(config, "unique_id"),
			       get_str(config, "default_entity_id") };

	assert_true(s->n < ELEMENTSOF(s->v[0]));
	for (unsigned k = 0; k < 3; k++) {
		assert_non_null(got[k]);
		for (unsigned i = 0; i < s->n; i++)
			if (streq(s->v[k][i], got[k]))
				fail_msg("'%s' twice", got[k]);
		snprintf(s->v[k][s->n], sizeof(s->v[k][0]), "%s", got[k]);
	}
	s->n++;
	return 0;
}

static void test_ids_unique(void **state)
{
	/* aliases near the daemon's own groups (run, session...): allowed, and apart */
	static const char conf3[] =
		"node = \"gym\";\n"
		"sensors = (\n"
		"  { alias = \"runner\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },\n"
		"  { alias = \"run2\"; kind = \"polar-verity-sense\"; name = \"Polar Sense*\"; },\n"
		"  { alias = \"session-hr\"; kind = \"heart-rate\"; name = \"HR*\"; },\n"
		"  { alias = \"pod\"; kind = \"footpod\"; name = \"Pod*\"; },\n"
		"  { alias = \"stryd\"; kind = \"power\"; name = \"Stryd*\"; },\n"
		"  { alias = \"belt\"; kind = \"treadmill\"; name = \"*Tread*\"; }\n"
		");\n";
	struct gk_config *c = NULL;
	struct ids *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(gk_config_load_string(conf3, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, collect_ids, s), 0);
	assert_true(s->n > 60);
	gk_config_free(c);
	free(s);
}

struct controls {
	struct json_object *start, *stop, *pain, *where;
};

static int find_controls(void *userdata, const char *topic, struct json_object *config)
{
	struct controls *c = userdata;
	struct json_object **slot =
		streq(topic, "homeassistant/button/gaitkeeper_gym/cmd_session_start/config") ?
		&c->start :
		streq(topic, "homeassistant/button/gaitkeeper_gym/cmd_session_stop/config") ?
		&c->stop :
		streq(topic, "homeassistant/number/gaitkeeper_gym/cmd_pain/config") ? &c->pain :
		streq(topic, "homeassistant/select/gaitkeeper_gym/cmd_pain_where/config") ?
		&c->where : NULL;

	if (slot)
		*slot = json_object_get(config);
	return 0;
}

/* What a press or a set publishes, parsed as the daemon parses cmd/... */
static struct mqtt_command parse_sent(struct json_object *config, const char *payload)
{
	const char *topic = get_str(config, "command_topic");
	const char *prefix = "gaitkeeper/gym/cmd/";
	struct mqtt_command cmd;
	const char *why = NULL;

	assert_non_null(topic);
	assert_true(strncmp(topic, prefix, strlen(prefix)) == 0);
	if (mqtt_command_parse(topic + strlen(prefix), (const uint8_t *)payload, strlen(payload),
			       &cmd, &why) < 0)
		fail_msg("%s: '%s' rejected: %s", topic, payload, why);
	return cmd;
}

/* What Home Assistant renders: the config's command_template, hole filled with value. */
static void render(struct json_object *config, const char *hole, const char *value,
		   char *buf, size_t size)
{
	const char *tmpl = get_str(config, "command_template");
	const char *at = tmpl ? strstr(tmpl, hole) : NULL;

	assert_non_null(at);
	snprintf(buf, size, "%.*s%s%s", (int)(at - tmpl), tmpl, value, at + strlen(hole));
}

static void controls_free(struct controls *ctl)
{
	json_object_put(ctl->start);
	json_object_put(ctl->stop);
	json_object_put(ctl->pain);
	json_object_put(ctl->where);
}

/*
 * Session start/stop buttons and a pain number on the run device: what Home
 * Assistant sends for them is a command the daemon accepts.
 */
static void test_controls(void **state)
{
	struct gk_config *c = NULL;
	struct controls ctl = {};
	struct json_object *v;
	char payload[128];

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, find_controls, &ctl), 0);
	assert_non_null(ctl.start);
	assert_non_null(ctl.stop);
	assert_non_null(ctl.pain);

	assert_int_equal(parse_sent(ctl.start, get_str(ctl.start, "payload_press")).type,
			 MQTT_COMMAND_SESSION_START);
	assert_int_equal(parse_sent(ctl.stop, get_str(ctl.stop, "payload_press")).type,
			 MQTT_COMMAND_SESSION_STOP);
	assert_true(json_object_object_get_ex(ctl.start, "qos", &v) && json_object_get_int(v) == 1);

	/* The number: 0-10 in whole steps, rendered into {"level": N} */
	assert_true(json_object_object_get_ex(ctl.pain, "min", &v) && json_object_get_int(v) == 0);
	assert_true(json_object_object_get_ex(ctl.pain, "max", &v) &&
		    json_object_get_int(v) == MQTT_COMMAND_PAIN_MAX);
	assert_true(json_object_object_get_ex(ctl.pain, "step", &v) && json_object_get_int(v) == 1);
	render(ctl.pain, "{{ value | int }}", "6", payload, sizeof(payload));
	{
		struct mqtt_command cmd = parse_sent(ctl.pain, payload);

		assert_int_equal(cmd.type, MQTT_COMMAND_PAIN);
		assert_int_equal(cmd.pain_level, 6);
	}
	/* Controls need the gateway only. */
	assert_true(json_object_object_get_ex(ctl.pain, "availability", &v));
	assert_int_equal(json_object_array_length(v), 1);

	controls_free(&ctl);
	gk_config_free(c);
}

/*
 * The pain number sends no location; the "Pain location" select sets the one
 * the daemon gives it: every option is a location cmd/pain/where accepts,
 * every accepted location is an option, and the select reads the daemon's
 * retained pain/where back.
 */
static void test_pain_location(void **state)
{
	struct gk_config *c = NULL;
	struct controls ctl = {};
	struct json_object *options, *v;
	char payload[128];
	size_t n;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_SACRUM, find_controls, &ctl), 0);
	assert_non_null(ctl.where);
	assert_non_null(ctl.pain);

	/* the number's payload names no location: "" for the daemon to fill */
	render(ctl.pain, "{{ value | int }}", "3", payload, sizeof(payload));
	assert_string_equal(parse_sent(ctl.pain, payload).where, "");

	assert_true(json_object_object_get_ex(ctl.where, "options", &options));
	for (n = 0; mqtt_command_pain_locations[n]; n++)
		;
	assert_int_equal(json_object_array_length(options), n);
	for (size_t i = 0; i < n; i++) {
		const char *opt = json_object_get_string(json_object_array_get_idx(options, i));
		struct mqtt_command cmd;

		assert_string_equal(opt, mqtt_command_pain_locations[i]);
		render(ctl.where, "{{ value }}", opt, payload, sizeof(payload));
		cmd = parse_sent(ctl.where, payload);
		assert_int_equal(cmd.type, MQTT_COMMAND_PAIN_WHERE);
		assert_string_equal(cmd.where, opt);
	}
	assert_string_equal(get_str(ctl.where, "state_topic"), "gaitkeeper/gym/pain/where");
	assert_string_equal(get_str(ctl.where, "value_template"), "{{ value_json.where }}");
	assert_string_equal(get_str(ctl.where, "entity_category"), "config");
	assert_string_equal(get_str(ctl.where, "default_entity_id"),
			    "select.gaitkeeper_gym_cmd_pain_where");
	assert_true(json_object_object_get_ex(ctl.where, "qos", &v) && json_object_get_int(v) == 1);
	assert_true(json_object_object_get_ex(ctl.where, "availability", &v));
	assert_int_equal(json_object_array_length(v), 1);

	controls_free(&ctl);
	gk_config_free(c);
}

/*
 * The pain number is not optimistic: its state is the last report the daemon
 * recorded, the level of its retained pain/last. Before the first there is
 * none and Home Assistant shows unknown.
 */
static void test_pain_number_state(void **state)
{
	struct gk_config *c = NULL;
	struct controls ctl = {};
	struct json_object *v;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, find_controls, &ctl), 0);
	assert_non_null(ctl.pain);

	assert_non_null(get_str(ctl.pain, "state_topic"));
	assert_string_equal(get_str(ctl.pain, "state_topic"), "gaitkeeper/gym/pain/last");
	assert_string_equal(get_str(ctl.pain, "value_template"), "{{ value_json.level }}");
	assert_string_equal(get_str(ctl.pain, "command_topic"), "gaitkeeper/gym/cmd/pain");
	/* Home Assistant is optimistic without a state topic, or when told to be. */
	assert_false(json_object_object_get_ex(ctl.pain, "optimistic", &v));

	controls_free(&ctl);
	gk_config_free(c);
}

struct gyro_lost {
	struct json_object *hip;	/* hip_imu_gyro_frames_lost, kept */
	unsigned others;		/* *_imu_gyro_frames_lost of any other sensor */
};

static int find_gyro_lost(void *userdata, const char *topic, struct json_object *config)
{
	struct gyro_lost *g = userdata;

	if (streq(topic, "homeassistant/sensor/gaitkeeper_gym/hip_imu_gyro_frames_lost/config"))
		g->hip = json_object_get(config);
	else if (strstr(topic, "_imu_gyro_frames_lost/"))
		g->others++;
	return 0;
}

/*
 * The gyro's lost frames: an entity only where a gyro streams, a Verity
 * Sense with gyro on; not the H10 (no gyro), one with gyro = false, a belt.
 */
static void test_gyro_frames_lost(void **state)
{
	static const char conf_gyro[] =
		"node = \"gym\";\n"
		"sensors = (\n"
		"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"A0:9E:1A:00:00:01\"; },\n"
		"  { alias = \"hip\"; kind = \"polar-verity-sense\"; name = \"Polar Sense*\"; },\n"
		"  { alias = \"waist\"; kind = \"polar-verity-sense\"; name = \"Polar Sense B*\";\n"
		"    mount = \"waist\"; gyro = false; },\n"
		"  { alias = \"belt\"; kind = \"treadmill\"; name = \"*Tread*\"; }\n"
		");\n";
	struct gyro_lost g = { 0 };
	struct gk_config *c = NULL;

	assert_int_equal(gk_config_load_string(conf_gyro, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_SACRUM, find_gyro_lost, &g), 0);
	assert_non_null(g.hip);
	assert_int_equal(g.others, 0);
	assert_string_equal(get_str(g.hip, "name"), "IMU gyro frames lost");
	assert_string_equal(get_str(g.hip, "state_topic"), "gaitkeeper/gym/sensor/hip/state");
	assert_string_equal(get_str(g.hip, "value_template"),
			    "{{ value_json.imu_gyro_frames_lost }}");
	assert_string_equal(get_str(g.hip, "state_class"), "total_increasing");
	assert_string_equal(get_str(g.hip, "entity_category"), "diagnostic");
	assert_string_equal(get_str(g.hip, "default_entity_id"),
			    "sensor.gaitkeeper_gym_hip_imu_gyro_frames_lost");
	json_object_put(g.hip);
	gk_config_free(c);
}

static int check_summary(void *userdata, const char *topic, struct json_object *config)
{
	unsigned *n = userdata;
	const char *lr = get_str(config, "last_reset_value_template");
	const char *sc = get_str(config, "state_class");

	if (!strstr(topic, "/summary_")) {
		/* Home Assistant refuses last_reset_value_template without "total" */
		if (lr)
			fail_msg("'%s': last_reset_value_template without state class total",
				 topic);
		return 0;
	}
	++*n;
	/*
	 * A per-session amount: "total", its cycle the session (last_reset,
	 * from the summary's started_ts, in UTC), so Home Assistant's
	 * statistics add each session once, whole.
	 */
	if (!sc || !streq(sc, "total"))
		fail_msg("'%s': state_class %s, not total", topic, sc ?: "none");
	assert_non_null(lr);
	assert_non_null(strstr(lr, "value_json.started_ts is number"));
	assert_non_null(strstr(lr, "(value_json.started_ts / 1000) | "
				   "timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false)"));
	assert_non_null(get_str(config, "unit_of_measurement"));
	assert_string_equal(get_str(config, "state_topic"), "gaitkeeper/gym/session/summary");
	return 0;
}

/* The last session's figures get long-term statistics, summed per session. */
static void test_summary_statistics(void **state)
{
	struct gk_config *c = NULL;
	unsigned n = 0;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, check_summary, &n), 0);
	assert_int_equal(n, 4);
	gk_config_free(c);
}

static int find_alert(void *userdata, const char *topic, struct json_object *config)
{
	struct json_object **alert = userdata;

	if (streq(topic, "homeassistant/event/gaitkeeper_gym/run_alert/config"))
		*alert = json_object_get(config);
	return 0;
}

/*
 * The "Form alert" event entity reads alert/event (fresh alerts only), not
 * the must-deliver alert topic whose backlog comes in a burst after an
 * outage; every kind and "cleared" are its event types.
 */
static void test_alert_event_topic(void **state)
{
	struct json_object *alert = NULL, *types, *qos;
	struct gk_config *c = NULL;
	size_t n;

	assert_int_equal(gk_config_load_string(conf, NULL, &c, NULL), 0);
	assert_int_equal(ha_discovery_build(c, "test", FORM_MOUNT_CHEST, find_alert, &alert), 0);
	assert_non_null(alert);
	assert_string_equal(get_str(alert, "state_topic"), "gaitkeeper/gym/alert/event");
	assert_null(get_str(alert, "value_template"));
	assert_true(json_object_object_get_ex(alert, "qos", &qos));
	assert_int_equal(json_object_get_int(qos), HA_ALERT_EVENT_QOS);
	assert_true(json_object_object_get_ex(alert, "event_types", &types));
	n = json_object_array_length(types);
	assert_int_equal(n, _FORM_ALERT_KIND_MAX + 1);
	for (int i = 0; i < _FORM_ALERT_KIND_MAX; i++)
		assert_string_equal(json_object_get_string(json_object_array_get_idx(types, i)),
				    form_alert_kind_to_string((enum form_alert_kind)i));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(types, n - 1)),
			    "cleared");
	json_object_put(alert);
	gk_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/mqtt-ha/every-live-metric", test_every_live_metric, NULL, NULL, NULL },
		{ "/mqtt-ha/availability-and-expiry", test_availability_and_expiry, NULL, NULL,
		  NULL },
		{ "/mqtt-ha/live-expiry-follows-interval", test_live_expiry_follows_interval, NULL,
		  NULL, NULL },
		{ "/mqtt-ha/numbers-are-numeric", test_numbers_are_numeric, NULL, NULL, NULL },
		{ "/mqtt-ha/device-metadata", test_device_metadata, NULL, NULL, NULL },
		{ "/mqtt-ha/emit-error-stops", test_emit_error_stops, NULL, NULL, NULL },
		{ "/mqtt-ha/lean-named-for-mount", test_lean_named_for_mount, NULL, NULL, NULL },
		{ "/mqtt-ha/controls", test_controls, NULL, NULL, NULL },
		{ "/mqtt-ha/pain-location", test_pain_location, NULL, NULL, NULL },
		{ "/mqtt-ha/pain-number-state", test_pain_number_state, NULL, NULL, NULL },
		{ "/mqtt-ha/ids-unique", test_ids_unique, NULL, NULL, NULL },
		{ "/mqtt-ha/default-entity-id", test_default_entity_id, NULL, NULL, NULL },
		{ "/mqtt-ha/gyro-frames-lost", test_gyro_frames_lost, NULL, NULL, NULL },
		{ "/mqtt-ha/summary-statistics", test_summary_statistics, NULL, NULL, NULL },
		{ "/mqtt-ha/alert-event-topic", test_alert_event_topic, NULL, NULL, NULL },
	};

	return _cmocka_run_group_tests("mqtt-ha", tests, ELEMENTSOF(tests), NULL, NULL);
}
