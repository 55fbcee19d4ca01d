/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gaitkeeperd configuration: libconfig file -> plain struct gk_config. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "daemon/limits.h"

#define GK_CONFIG_DEFAULT_PATH "/etc/gaitkeeper/gaitkeeper.conf"
#define GK_CONFIG_PATH_MAX 256u
#define GK_CONFIG_STRING_MAX 128u
#define GK_IMU_FAILOVER_S_DEFAULT 10.0	/* form.imu_failover_s */
#define GK_IMU_FAILOVER_S_MIN 2.0	/* smallest non-zero form.imu_failover_s */

/*
 * The daemon's own groups: the first level of its MQTT topics under
 * <base_topic>/<node>/ (docs/mqtt.md) and the <group> of its Home Assistant
 * ids (unique_id and object id gaitkeeper_<node>_<group>_<key>, devices
 * gaitkeeper_<node> and gaitkeeper_<node>_run; daemon/ha.c). A sensor's
 * alias takes the <group> place in its Home Assistant ids, so an alias equal
 * to one of these would share ids with the daemon's own entities and device.
 */
#define GK_GROUP_ALERT "alert"		/* alert, alert/active */
#define GK_GROUP_CMD "cmd"		/* cmd/..., cmd/result; HA cmd_<key> */
#define GK_GROUP_GATEWAY "gateway"	/* gateway/state; HA gateway_<key> */
#define GK_GROUP_PAIN "pain"		/* pain/where, pain/last */
#define GK_GROUP_RUN "run"		/* run/live, run/step; HA run_<key>, run device */
#define GK_GROUP_SENSOR "sensor"	/* sensor/<alias>/... */
#define GK_GROUP_SESSION "session"	/* session/state, session/summary; HA session_<key> */
#define GK_GROUP_STATUS "status"	/* status (also the MQTT Will) */
#define GK_GROUP_SUMMARY "summary"	/* HA summary_<key> (of session/summary) */

enum gk_sensor_kind {
	GK_SENSOR_KIND_POLAR_H10,
	GK_SENSOR_KIND_POLAR_VERITY_SENSE,
	GK_SENSOR_KIND_FOOTPOD,
	GK_SENSOR_KIND_HEART_RATE,
	GK_SENSOR_KIND_POWER,
	GK_SENSOR_KIND_TREADMILL,
	_GK_SENSOR_KIND_MAX,
	_GK_SENSOR_KIND_INVALID = -EINVAL,
};

enum gk_mount {
	GK_MOUNT_NONE,		/* not an IMU kind, or left to the default */
	GK_MOUNT_SACRUM,
	GK_MOUNT_WAIST,
	GK_MOUNT_CHEST,
	_GK_MOUNT_MAX,
	_GK_MOUNT_INVALID = -EINVAL,
};

enum gk_log_level {
	GK_LOG_LEVEL_ERROR,
	GK_LOG_LEVEL_WARNING,
	GK_LOG_LEVEL_NOTICE,
	GK_LOG_LEVEL_INFO,
	GK_LOG_LEVEL_DEBUG,
	_GK_LOG_LEVEL_MAX,
	_GK_LOG_LEVEL_INVALID = -EINVAL,
};

struct gk_sensor_config {
	char alias[GK_NAME_MAX];	/* [A-Za-z0-9_-], an MQTT topic level */
	int kind;			/* enum gk_sensor_kind */
	char address[18];		/* "AA:BB:CC:DD:EE:FF" or "" */
	char name[64];			/* advertised name pattern (fnmatch) or "" */
	int mount;			/* enum gk_mount; set for IMU kinds */
	unsigned rate_hz;		/* IMU sample rate asked for */
	unsigned range_g;		/* IMU full scale */
	bool gyro;			/* ask for a gyro stream where the kind has one */
	double cadence_multiplier;	/* quirk: 2 for pods reporting strides/min */
	unsigned line;			/* line of the sensor's group, for messages */
};

struct gk_config {
	char path[GK_CONFIG_PATH_MAX];	/* file it came from, "" for a string */
	char node[GK_NAME_MAX];		/* never empty after loading */
	int log_level;			/* enum gk_log_level */

	struct {
		double height_m;	/* 0 = unknown */
		unsigned max_hr_bpm;	/* 0 = unknown */
	} runner;

	struct gk_sensor_config sensors[GK_MAX_SENSORS];
	unsigned n_sensors;

	struct {
		char uri[GK_CONFIG_STRING_MAX];
		char client_id[GK_CONFIG_STRING_MAX];	/* never empty after loading */
		char username[GK_CONFIG_STRING_MAX];
		char password_file[GK_CONFIG_PATH_MAX];
		char tls_ca[GK_CONFIG_PATH_MAX];
		char tls_cert[GK_CONFIG_PATH_MAX];
		char tls_key[GK_CONFIG_PATH_MAX];
		bool tls_verify_hostname;
		unsigned keepalive_s;
		char base_topic[GK_CONFIG_STRING_MAX];
		bool ha_discovery;
		char ha_prefix[GK_CONFIG_STRING_MAX];
		bool step_events;	/* publish run/step */
		unsigned live_interval_ms;
	} mqtt;

	struct {
		bool enabled;
	} dbus;

	struct {
		unsigned spool_kib;
	} spool;

	/* Same names, units and ranges as struct form_params. */
	struct {
		double warmup_s;
		double baseline_s;
		bool auto_session;
		double auto_start_s;
		double auto_stop_s;
		/* Not in form_params: the daemon picks the IMU sensor (daemon/imu-select.h). */
		char imu_sensor[GK_NAME_MAX];	/* alias, "" = by mount */
		double imu_failover_s;		/* 0 = never switch */
	} form;

	struct {
		double min_duration_s;
		double clear_s;
		double repeat_s;
		double cadence_drop_pct;
		double gct_rise_ms;
		double lean_band_deg;
		double lean_max_deg;
		double pelvic_drop_rise_deg;
		double gct_balance_max_pct;
		double vertical_oscillation_rise_mm;
		double pain_level;
	} alerts;
};

/*
 * Fill *c with every default (node from the host name, client id from the
 * node). Used before a file is read, and by tests.
 */
void gk_config_defaults(struct gk_config *c);

/*
 * Load and validate a file (gk_config_load_file) or text held in memory
 * (gk_config_load_string; name labels messages, e.g. "<string>").
 * On success returns 0 and *ret (free with gk_config_free). On failure
 * returns -ENOENT/-EACCES (file unreadable), -EBADMSG (syntax) or -EINVAL
 * (schema or cross-field errors) and, if ret_errors is not NULL, sets it
 * to a malloc'd text, one "file:line: key: problem" per line (caller frees).
 */
int gk_config_load_file(const char *path, struct gk_config **ret, char **ret_errors);
int gk_config_load_string(const char *text, const char *name, struct gk_config **ret,
			  char **ret_errors);

struct gk_config *gk_config_free(struct gk_config *c);

/*
 * For a reload: copy every key that needs a restart from old into new,
 * and return how many of them differed (their paths go into buf,
 * comma separated, truncated to size).
 */
unsigned gk_config_keep_restart_keys(const struct gk_config *old, struct gk_config *new,
				     char *buf, size_t size);

/* Generated reference: docs/config.md and config/gaitkeeper.conf.example. */
int gk_config_write_markdown(FILE *f);
int gk_config_write_example(FILE *f);

const char *gk_sensor_kind_to_string(int kind);
int gk_sensor_kind_from_string(const char *s);
const char *gk_mount_to_string(int mount);
int gk_mount_from_string(const char *s);
const char *gk_log_level_to_string(int level);
int gk_log_level_from_string(const char *s);

/* True for the kinds that stream an IMU (polar-h10, polar-verity-sense). */
bool gk_sensor_kind_has_imu(int kind);

/* The GK_GROUP_* names, alphabetical, NULL-terminated: no sensor may take one as alias. */
extern const char *const gk_alias_reserved[];

/*
 * True if aliases a and b name the same Home Assistant entities: equal
 * ignoring ASCII case, with '-' and '_' alike, a run of them as one and
 * none at either end (default_entity_id is the unique_id in lower case with
 * '-' as '_', and Home Assistant's slugify() collapses and trims '_').
 */
bool gk_alias_same(const char *a, const char *b);

/* True if alias is gk_alias_same() as a name of gk_alias_reserved. */
bool gk_alias_is_reserved(const char *alias);
