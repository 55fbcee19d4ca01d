/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ble: BLE running sensors through BlueZ; the daemon sees callbacks only. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * The daemon builds one struct ble_manager on its sd-bus system bus
 * connection and its sd-event loop, adds the configured sensors and gets
 * decoded data and state changes through struct ble_callbacks. Nothing here
 * blocks: every BlueZ call is asynchronous and every wait is a timer on
 * CLOCK_MONOTONIC. BlueZ names, object paths and fds never leave ble/.
 *
 * ble/ never logs above debug: errors are reported through the state
 * reason strings, counters (ble_manager_get_sensor()) and on_malformed.
 */

struct ble_manager;

enum ble_sensor_kind {
	BLE_SENSOR_KIND_POLAR_H10,		/* "polar-h10": HR + PMD ACC */
	BLE_SENSOR_KIND_POLAR_VERITY_SENSE,	/* "polar-verity-sense": PMD ACC (+gyro) */
	BLE_SENSOR_KIND_FOOTPOD,		/* "footpod": RSC 0x1814 */
	BLE_SENSOR_KIND_HEART_RATE,		/* "heart-rate": HRS 0x180D */
	BLE_SENSOR_KIND_POWER,			/* "power": CPS 0x1818 (+RSC, Stryd) */
	BLE_SENSOR_KIND_TREADMILL,		/* "treadmill": FTMS 0x1826 */
	_BLE_SENSOR_KIND_MAX,
	_BLE_SENSOR_KIND_INVALID = -EINVAL,
};

/*
 * Per-sensor state. Only STREAMING counts as available; STALE means
 * connected but silent (data watchdog), and is left for a reconnect cycle.
 */
enum ble_sensor_state {
	BLE_SENSOR_STATE_IDLE,		/* no adapter / bluetoothd, or not started */
	BLE_SENSOR_STATE_DISCOVERING,	/* waiting for the device to be seen */
	BLE_SENSOR_STATE_CONNECTING,	/* Device1.Connect in flight */
	BLE_SENSOR_STATE_RESOLVING,	/* connected, waiting for ServicesResolved */
	BLE_SENSOR_STATE_SUBSCRIBING,	/* reads, StartNotify/AcquireNotify, PMD start */
	BLE_SENSOR_STATE_STREAMING,	/* data arrives within the watchdog period */
	BLE_SENSOR_STATE_STALE,		/* no data for 3 nominal periods */
	BLE_SENSOR_STATE_BACKOFF,	/* waiting before the next attempt */
	_BLE_SENSOR_STATE_MAX,
	_BLE_SENSOR_STATE_INVALID = -EINVAL,
};

/* Defaults used when a field of the config below is 0. */
#define BLE_IMU_RANGE_G_DEFAULT 8u	/* running impacts at the sacrum exceed 2 G */
#define BLE_H10_RATE_HZ_DEFAULT 200u	/* H10 ACC: 25/50/100/200 Hz */
#define BLE_VERITY_RATE_HZ_DEFAULT 52u	/* Verity Sense ACC/gyro default */
#define BLE_MAX_SENSORS_DEFAULT 8u
#define BLE_BACKOFF_MAX_USEC (8ULL * 1000000ULL)

struct ble_sensor_config {
	const char *alias;		/* required, unique; copied */
	enum ble_sensor_kind kind;
	const char *address;		/* "AA:BB:CC:DD:EE:FF" or NULL; copied */
	const char *name_pattern;	/* fnmatch(3) on Name/Alias, or NULL; copied */
	unsigned imu_rate_hz;		/* PMD sensors; 0 = kind default */
	unsigned imu_range_g;		/* PMD sensors; 0 = BLE_IMU_RANGE_G_DEFAULT */
	bool gyro;			/* Verity Sense: stream gyro too */
	double cadence_multiplier;	/* RSC cadence x this (2.0 for strides/min); 0 = 1 */
	bool prefer_acquire_notify;	/* PMD data via AcquireNotify (else StartNotify) */
};

struct ble_options {
	const char *adapter;		/* "hci0", or NULL = first powered adapter */
	/*
	 * Powered off/on after power_cycle_after Connects of one sensor in a
	 * row failed on a device that advertised, while no sensor streams
	 * (at most once a minute). A device away never counts.
	 */
	bool power_cycle_adapter;
	unsigned power_cycle_after;	/* such failures; 0 = 5 */
	unsigned max_sensors;		/* cap from daemon/limits.h; 0 = default */
	uint64_t connect_timeout_usec;	/* Connect method timeout; 0 = 10 s */
	/* resolve + subscribe + first data, on top of the Connect timeout; 0 = 10 s */
	uint64_t subscribe_timeout_usec;
};

/* One IMU sample: t_usec on CLOCK_MONOTONIC; NAN where a channel is absent. */
struct ble_imu_sample {
	uint64_t t_usec;
	float acc_g[3];			/* x, y, z in g */
	float gyro_dps[3];		/* x, y, z in deg/s, NAN without gyro */
};

struct ble_heart_rate {
	uint64_t t_usec;		/* arrival, CLOCK_MONOTONIC */
	unsigned bpm;
	bool has_contact;		/* sensor reports skin contact at all */
	bool contact;
	const double *rr_ms;		/* RR intervals, oldest first; borrowed */
	size_t n_rr;
};

/* RSC measurement; NAN = field absent in this notification. */
struct ble_rsc {
	uint64_t t_usec;
	double speed_mps;
	double cadence_spm;		/* steps/min, cadence_multiplier applied */
	double stride_length_mm;
	double total_distance_mm;
	bool has_running;		/* walking/running bit supported (RSC Feature) */
	bool running;
};

/* Cycling Power measurement (Stryd running power); NAN = absent. */
struct ble_power {
	uint64_t t_usec;
	double power_w;
};

/* FTMS treadmill data (a merged record); NAN = absent. */
struct ble_treadmill {
	uint64_t t_usec;
	double speed_mps;
	double inclination_pct;
	double total_distance_mm;
	double elapsed_ms;
	double heart_rate_bpm;
	double power_w;
};

/*
 * Callbacks, all optional (NULL = not wanted), all called from the sd-event
 * loop. id is the value ble_manager_add_sensor() returned; alias is borrowed
 * for the call. Pointers to data are valid only during the call. A callback
 * may call ble_manager_get_sensor() but must neither free the manager nor
 * remove a sensor (defer that to the loop).
 */
struct ble_callbacks {
	void (*on_state)(void *userdata, unsigned id, const char *alias,
			 enum ble_sensor_state state, const char *reason,
			 bool available);
	void (*on_imu)(void *userdata, unsigned id, const char *alias,
		       const struct ble_imu_sample *samples, size_t n);
	void (*on_heart_rate)(void *userdata, unsigned id, const char *alias,
			      const struct ble_heart_rate *hr);
	void (*on_rsc)(void *userdata, unsigned id, const char *alias,
		       const struct ble_rsc *rsc);
	void (*on_power)(void *userdata, unsigned id, const char *alias,
			 const struct ble_power *power);
	void (*on_treadmill)(void *userdata, unsigned id, const char *alias,
			     const struct ble_treadmill *treadmill);
	/*
	 * Battery1.Percentage of the sensor's device as it changes; -1 when
	 * there is none (BlueZ removes Battery1 when the link drops).
	 */
	void (*on_battery)(void *userdata, unsigned id, const char *alias,
			   int pct);
	/*
	 * The device's advertising RSSI as it changes; known false when it has
	 * none: a disconnected device that no discovery hears, or another
	 * device taken (docs/ble.md, "Battery and RSSI").
	 */
	void (*on_rssi)(void *userdata, unsigned id, const char *alias,
			bool known, int rssi_dbm);
	/*
	 * A payload failed to decode. Rate-limited: at most once per 10 s per
	 * sensor; count is the sensor's total so far, error is -EBADMSG or
	 * -EOPNOTSUPP, what names the stream: "heart-rate", "rsc", "power",
	 * "treadmill", "pmd-control-point" or "pmd-data".
	 */
	void (*on_malformed)(void *userdata, unsigned id, const char *alias,
			     const char *what, int error, uint64_t count);
	/*
	 * Debug detail the other callbacks do not carry (refused calls,
	 * fallbacks, retries); alias is NULL for manager-wide messages.
	 * For the daemon's debug log only: wording is not a contract.
	 */
	void (*on_debug)(void *userdata, const char *alias, const char *message);
};

/* Snapshot of one sensor for status reporting. */
struct ble_sensor_info {
	const char *alias;		/* borrowed: valid until the sensor is removed */
	enum ble_sensor_kind kind;
	enum ble_sensor_state state;
	const char *reason;		/* borrowed: valid until the next state change */
	bool available;			/* state == STREAMING */
	const char *address;		/* borrowed; NULL until a device matched */
	unsigned connects;		/* successful connections so far */
	unsigned failures;		/* consecutive failed attempts */
	unsigned subscriptions;		/* notify sessions and fds open now */
	uint64_t notifications;		/* payloads received */
	uint64_t malformed;		/* payloads that failed to decode */
	uint64_t frames_lost;		/* PMD ACC frames lost (timestamp gaps; ble/imu.h) */
	uint64_t gyro_frames_lost;	/* PMD gyro frames lost, likewise; 0 without gyro */
	uint64_t last_seen_usec;	/* CLOCK_MONOTONIC of last payload, 0 = never */
	int battery_pct;		/* -1 = unknown, as on_battery */
	bool has_rssi;			/* as on_rssi */
	int rssi_dbm;
};

const char *ble_sensor_kind_to_string(enum ble_sensor_kind k);
enum ble_sensor_kind ble_sensor_kind_from_string(const char *s);
const char *ble_sensor_state_to_string(enum ble_sensor_state s);
enum ble_sensor_state ble_sensor_state_from_string(const char *s);

/* Fill *c with defaults (kind footpod, everything else 0/NULL/false except
 * prefer_acquire_notify = true, cadence_multiplier = 1). */
void ble_sensor_config_init(struct ble_sensor_config *c);

struct pmd_settings;
struct pmd_start_params;

/*
 * The PMD start settings for what a sensor offered in its get-settings
 * answer (what the Polar SDK does): the offered sample rate nearest
 * want_rate_hz and the offered range nearest want_range, ties to the
 * higher value; resolution nearest 16 bits and channels nearest 3 when
 * offered. A setting the sensor did not offer stays 0 (left out of the
 * start). Returns 0 and fills *ret, or -ENODATA when no sample rate is
 * offered (the caller falls back to its own table).
 */
int ble_pmd_choose(const struct pmd_settings *offered, unsigned want_rate_hz,
		   unsigned want_range, struct pmd_start_params *ret);

/*
 * Create the manager on bus (must be a system-bus-like connection attached
 * to event) and start following org.bluez. options and callbacks are copied;
 * options may be NULL. userdata is passed to every callback.
 * Returns 0 and *ret (caller frees with ble_manager_free()), -EINVAL (NULL
 * bus or event, an adapter name of 32 bytes or more or with a slash), -ENOMEM
 * or an sd-bus error adding the match rules.
 */
int ble_manager_new(sd_bus *bus, sd_event *event,
		    const struct ble_options *options,
		    const struct ble_callbacks *callbacks, void *userdata,
		    struct ble_manager **ret);

/*
 * Release every fd, match, timer and pending call; NULL-safe, returns NULL.
 * The sensors' notify sessions are stopped and their links disconnected
 * (no reply awaited), because BlueZ would keep the links up after we
 * leave. This also happens when the event loop exits, before sd-bus closes
 * an attached bus, so freeing after sd_event_loop() returns is fine.
 */
struct ble_manager *ble_manager_free(struct ble_manager *m);

/*
 * Add a sensor; config is copied. Work starts on the next loop iteration.
 * With neither address nor name pattern, the first device advertising the
 * kind's services matches. One device serves one sensor entry. A sensor
 * without address never takes a device whose address another sensor
 * names, nor one it found lacking the kind's characteristics before.
 * Returns 0 and *ret_id (>= 1), -EINVAL (no or duplicate alias, bad kind,
 * malformed address, negative or non-finite cadence_multiplier), -E2BIG
 * (max_sensors reached), -ENOMEM.
 */
int ble_manager_add_sensor(struct ble_manager *m,
			   const struct ble_sensor_config *config,
			   unsigned *ret_id);

/* Stop and forget a sensor (releases its subscriptions). -ENOENT if unknown. */
int ble_manager_remove_sensor(struct ble_manager *m, unsigned id);

/* Snapshot of sensor id. Returns 0 and *ret, or -ENOENT. */
int ble_manager_get_sensor(struct ble_manager *m, unsigned id,
			   struct ble_sensor_info *ret);

/* Object name of the adapter in use ("hci0") or NULL; borrowed. */
const char *ble_manager_adapter(struct ble_manager *m);

/* true while org.bluez has an owner on the bus. */
bool ble_manager_bluez_present(struct ble_manager *m);
