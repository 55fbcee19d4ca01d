/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bluez-sim: shared types of the simulated bluetoothd (adapter, devices, GATT, PMD). */
#pragma once

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define SIM_MAX_DEVICES		16
#define SIM_MAX_SERVICES	6
#define SIM_MAX_CHARS		20
#define SIM_MAX_SESSIONS	8	/* StartNotify clients per characteristic */
#define SIM_MAX_CLIENTS		16	/* discovery clients */
#define SIM_VALUE_MAX		512	/* ATT attribute value maximum */
#define SIM_UUID_MAX		37

/* BlueZ 5.66 timings (notes/ble.md 2.3), in microseconds. */
#define SIM_CONNECT_REPLY_USEC		(65 * 1000ULL)
#define SIM_RESOLVE_USEC		(300 * 1000ULL)
/* A Connect to a device that does not advertise stays pending this long. */
#define SIM_CONNECT_TIMEOUT_USEC	(30 * 1000 * 1000ULL)
#define SIM_FIRST_ADVERT_USEC		(150 * 1000ULL)
#define SIM_ADVERT_PERIOD_USEC		(1000 * 1000ULL)
#define SIM_INJECT_PERIOD_USEC		(100 * 1000ULL)

enum device_kind {
	DEVICE_KIND_POLAR_H10,
	DEVICE_KIND_POLAR_VERITY_SENSE,
	DEVICE_KIND_FOOTPOD,
	DEVICE_KIND_POWER,
	DEVICE_KIND_HEART_RATE,
	DEVICE_KIND_TREADMILL,
	_DEVICE_KIND_MAX,
	_DEVICE_KIND_INVALID = -EINVAL,
};

/* What a characteristic is, so the profile code knows how to serve it. */
enum char_role {
	CHAR_ROLE_SERVICE_CHANGED,
	CHAR_ROLE_MANUFACTURER,
	CHAR_ROLE_MODEL,
	CHAR_ROLE_FIRMWARE,
	CHAR_ROLE_HRM,
	CHAR_ROLE_BODY_LOCATION,
	CHAR_ROLE_PMD_CP,
	CHAR_ROLE_PMD_DATA,
	CHAR_ROLE_RSC_MEASUREMENT,
	CHAR_ROLE_RSC_FEATURE,
	CHAR_ROLE_SENSOR_LOCATION,
	CHAR_ROLE_SC_CP,
	CHAR_ROLE_CP_MEASUREMENT,
	CHAR_ROLE_CP_FEATURE,
	CHAR_ROLE_FTMS_FEATURE,
	CHAR_ROLE_TREADMILL_DATA,
	CHAR_ROLE_TRAINING_STATUS,
	CHAR_ROLE_SPEED_RANGE,
	CHAR_ROLE_INCLINE_RANGE,
	CHAR_ROLE_FTMS_CP,
	CHAR_ROLE_FTMS_STATUS,
	_CHAR_ROLE_MAX,
};

/* GATT characteristic properties (Core spec Vol 3 Part G 3.3.1.1). */
#define GATT_PROP_READ		(1u << 1)
#define GATT_PROP_WRITE_NO_RESP	(1u << 2)
#define GATT_PROP_WRITE		(1u << 3)
#define GATT_PROP_NOTIFY	(1u << 4)
#define GATT_PROP_INDICATE	(1u << 5)

struct sim;
struct sim_device;
struct trace;

struct sim_service {
	struct sim_device *dev;
	char *path;
	char uuid[SIM_UUID_MAX];
	int primary;
	sd_bus_slot *slot;
};

struct sim_char {
	struct sim_device *dev;
	struct sim_service *service;
	unsigned index;			/* in dev->chars */
	enum char_role role;
	unsigned props;
	char *path;
	char *desc_path;		/* CCCD, only for notify/indicate */
	char uuid[SIM_UUID_MAX];
	uint8_t value[SIM_VALUE_MAX];
	size_t value_len;
	uint8_t cccd[2];

	/* StartNotify sessions: unique bus names of the clients. */
	char *sessions[SIM_MAX_SESSIONS];
	unsigned n_sessions;
	int notifying;
	/* AcquireNotify: our end of the socket pair, -EBADF when none. */
	int acquired_fd;
	char *acquired_owner;
	int notify_acquired;
	sd_event_source *acquired_source;

	sd_bus_slot *slot;
	sd_bus_slot *desc_slot;
};

/* PMD stream state per measurement type (ACC, GYRO). */
struct pmd_stream {
	struct sim_device *dev;
	bool active;
	unsigned type;			/* PMD measurement type id */
	unsigned rate_hz;
	unsigned range;
	uint64_t start_sim_usec;	/* sim time of sample 0 */
	uint64_t next_sample;		/* index of the next sample to encode */
	uint64_t epoch_ns;		/* sensor clock (ns since 2000) of sample 0 */
	float factor;
	sd_event_source *timer;
};

struct sim_device {
	struct sim *sim;
	unsigned index;
	enum device_kind kind;
	char *address;
	char *name;
	char *alias;
	char *path;
	char *adapter_path;
	const char *address_type;
	uint16_t appearance;
	int16_t rssi;			/* valid while rssi_slot is set */
	sd_bus_slot *rssi_slot;		/* Device1.RSSI: only while discovery found it */
	uint16_t mtu;
	uint8_t battery;
	bool has_battery;

	/* Advertised data: what the device really puts on air. */
	char adv_uuids[4][SIM_UUID_MAX];
	unsigned n_adv_uuids;
	uint16_t company_id;
	uint8_t mfr_data[8];
	size_t mfr_len;
	char svc_data_uuid[SIM_UUID_MAX];
	uint8_t svc_data[4];
	size_t svc_data_len;

	/* Radio and object state. */
	bool advertising;
	bool present;			/* Device1 object exported */
	bool cached;			/* once connected: not temporary */
	bool connecting;
	uint64_t connect_deadline_usec;	/* pending Connect fails then */
	bool gatt_exported;		/* GATT objects on the bus */
	bool silent;
	int connected;
	int services_resolved;
	int paired;
	int trusted;
	int blocked;
	int legacy_pairing;
	uint64_t link_gen;		/* bumped on every link change */
	uint64_t last_seen_usec;

	sd_bus_slot *slot;
	sd_bus_slot *battery_slot;
	sd_bus_message *connect_msg;	/* pending Connect() */
	sd_event_source *connect_timer;
	sd_bus_message *disconnect_msg;	/* pending Disconnect() */
	sd_event_source *disconnect_timer;
	sd_event_source *resolve_timer;
	sd_event_source *temporary_timer;
	sd_event_source *sensor_timer;	/* 1 Hz measurements */

	struct sim_service services[SIM_MAX_SERVICES];
	unsigned n_services;
	struct sim_char chars[SIM_MAX_CHARS];
	unsigned n_chars;

	/* Kind-specific generator state. */
	uint64_t sensor_tick;		/* 1 Hz tick counter since connect */
	double distance_m;
	double energy_kj;
	double next_beat_s;		/* sim time of the next heart beat */
	double hr_bpm;
	double ftms_speed_mps;		/* target speed set through FTMS CP */
	double ftms_incline_pct;
	bool ftms_controlled;
	bool ftms_running;
	double elapsed_s;
	struct pmd_stream pmd[2];	/* [0] ACC, [1] GYRO */

	/* GetStats counters. */
	unsigned stat_connects;
	unsigned stat_start_notify;
	unsigned stat_acquire_notify;
	uint64_t stat_notifications;
	uint32_t frame_loss_per_mille;	/* SetFrameLoss: PMD data frames dropped */
	uint64_t frame_seq;		/* PMD data frames made (sent or dropped) */
	uint64_t stat_frames_lost;	/* ACC and gyro */
	uint64_t stat_gyro_frames_lost;	/* of those, gyro */

	/* InjectFile queue. */
	uint8_t (*inject_buf)[SIM_VALUE_MAX];
	size_t *inject_len;
	size_t inject_n, inject_pos;
	struct sim_char *inject_char;
	sd_event_source *inject_timer;
};

struct discovery_client {
	char *sender;
	bool discovering;
	bool has_filter;
	char (*uuids)[SIM_UUID_MAX];
	size_t n_uuids;
	bool has_rssi;
	int16_t rssi;
	char *transport;
	char *pattern;
	bool duplicate_data;
};

/* A method reply or notification held back by SetLatency. */
struct deferred {
	struct deferred *next;
	uint64_t due_usec;
	sd_bus_message *msg;		/* reply to send, or NULL */
	struct sim_device *dev;		/* notification: device, char, link */
	unsigned char_index;
	uint64_t link_gen;
	size_t len;
	uint8_t data[SIM_VALUE_MAX];
};

struct sim {
	sd_event *event;
	sd_bus *bus;			/* owns org.bluez */
	sd_bus *ctl_bus;		/* owns io.gaitkeeper.BluezSim */
	char *bus_address;

	/* Options. */
	char *adapter_name;
	char *trace_path;
	double speed_mps;
	double incline_pct;
	double time_scale;
	bool loop;
	double treadmill_hr_s;		/* --treadmill-hr-s: HR in Treadmill Data until */
	bool no_adapter;
	uint64_t temporary_timeout_usec;
	uint64_t disconnect_delay_usec;
	uint64_t connect_timeout_usec;
	uint64_t power_off_delay_usec;	/* Powered=false takes this long; 0: at once */
	bool gatt_cache;		/* [GATT] Cache = always (BlueZ default) */

	struct trace *trace;
	uint64_t start_usec;		/* CLOCK_MONOTONIC at start */
	uint64_t epoch_ns_at_start;	/* PMD sensor clock at sim time 0 */

	/* Adapter. */
	bool adapter_present;
	bool bluez_owned;
	bool restarting;
	char *adapter_path;
	char *adapter_address;
	char *adapter_alias;
	int powered;
	bool blocked;			/* rfkill (SetBlocked) */
	bool powered_before_block;	/* restored on unblock */
	int discovering;
	int discoverable;
	int pairable;
	uint32_t discoverable_timeout;
	uint32_t pairable_timeout;
	uint32_t adapter_class;
	sd_bus_slot *adapter_slot;
	sd_bus_slot *om_slot;
	sd_bus_slot *root_slot;		/* /org/bluez AgentManager1 */
	sd_bus_slot *root_slot2;	/* /org/bluez ProfileManager1 */
	sd_bus_slot *noc_slot;
	sd_event_source *scan_timer;
	uint64_t scan_ticks;		/* adverts heard so far: RSSI wobble */
	sd_event_source *restart_timer;
	sd_event_source *power_off_timer;	/* a power-off is under way */
	sd_bus_message *power_off_msg;	/* its Properties.Set, answered when done */
	sd_bus_slot *adapter_set_slot;	/* catches that Set before the vtable */

	struct discovery_client clients[SIM_MAX_CLIENTS];
	unsigned n_clients;

	struct sim_device devices[SIM_MAX_DEVICES];
	unsigned n_devices;

	uint32_t latency_ms;
	struct deferred *deferred_head, *deferred_tail;
	sd_event_source *deferred_timer;

	sd_bus_slot *ctl_slot;
	int exit_code;
};

/* ---- bluez.c: the org.bluez side ---------------------------------------- */

/* Sim time (trace time before wrapping) in microseconds. */
uint64_t sim_now_usec(const struct sim *sim);
uint64_t sim_mono_usec(void);
/* Real monotonic time at which sim time t occurs. */
uint64_t sim_real_at(const struct sim *sim, uint64_t sim_usec);

int bluez_start(struct sim *sim);
int bluez_add_adapter(struct sim *sim);
void bluez_remove_adapter(struct sim *sim);
/* rfkill: the controller off under bluetoothd (links, then Powered), and back. */
void bluez_set_blocked(struct sim *sim, bool blocked);
int bluez_restart(struct sim *sim, uint32_t down_ms);
void bluez_free(struct sim *sim);

void device_link_down(struct sim_device *dev, const char *error_name,
		      const char *error_message);
void device_remove_object(struct sim_device *dev);
/* Advertising switched on or off (SetAdvertising). */
void device_set_advertising(struct sim_device *dev, bool on);
struct sim_device *sim_find_device(struct sim *sim, const char *address);
struct sim_char *device_find_char(struct sim_device *dev, const char *uuid);

/* Send one notification/indication of a characteristic (honours latency). */
void char_notify(struct sim_char *ch, const uint8_t *buf, size_t len);
/* Send a message now or after the configured latency; takes a reference. */
int sim_send(struct sim *sim, sd_bus_message *m);
int sim_reply_error(struct sim *sim, sd_bus_message *call, const char *name,
		    const char *message);
unsigned device_subscriptions(const struct sim_device *dev);

/* Normalise "2a37", "00002a37", or a 128-bit UUID to lowercase 128-bit. */
int uuid_normalize(const char *in, char out[SIM_UUID_MAX]);

/* ---- main.c ------------------------------------------------------------- */

/* A new bus connection (a new unique name), attached to the event loop. */
int sim_bus_open(struct sim *sim, sd_bus **ret);

/* ---- profiles.c: device kinds ------------------------------------------ */

int device_kind_from_string(const char *s);
const char *device_kind_to_string(enum device_kind k);
/* Fill advertised data and the GATT table of a device. */
int profile_setup(struct sim_device *dev);
void profile_connected(struct sim_device *dev);
void profile_disconnected(struct sim_device *dev);
/* ReadValue: refresh ch->value. Returns 0 or -EPERM. */
int profile_read(struct sim_char *ch);
/*
 * WriteValue (with response). Returns 0 or a negative errno for an ATT
 * error (-EBADR: CCCD improperly configured). A response indication to send
 * on the same characteristic after the write response goes to ret_ind.
 */
int profile_write(struct sim_char *ch, const uint8_t *buf, size_t len,
		  uint8_t *ret_ind, size_t *ret_ind_len);

/* ---- pmd.c: Polar Measurement Data -------------------------------------- */

void pmd_features(const struct sim_device *dev, uint8_t *buf, size_t *len);
/* Handle a PMD control point write; the response indication goes to ret. */
void pmd_control_point(struct sim_device *dev, const uint8_t *buf, size_t len,
		       uint8_t *ret, size_t *ret_len);
void pmd_stop_all(struct sim_device *dev);
bool pmd_streaming(const struct sim_device *dev);
/* Encode a delta frame body: exposed for the unit-free self check. */
size_t pmd_encode_delta(const int16_t (*samples)[3], size_t n, uint8_t *out,
			size_t cap);

/* ---- trace.c: the recorded (or synthetic) run ---------------------------- */

int trace_load(const char *path, struct trace **ret);
int trace_synthetic(double speed_mps, struct trace **ret);
struct trace *trace_free(struct trace *t);
double trace_duration(const struct trace *t);
/* Map sim time to trace time; returns false after the end without loop. */
bool trace_time(const struct trace *t, double sim_s, bool loop, double *ret_s);
/* Linear interpolation of the six channels (g, deg/s); absent ones 0. */
void trace_sample(const struct trace *t, double trace_s, double ret[6]);
/* Gravity vector used after the end of the run (standing still). */
void trace_rest(const struct trace *t, double ret[6]);
/*
 * Steps per minute around trace time t (0 when standing); loop: the steps
 * of the pass before count too, as trace_time() joins the passes.
 */
double trace_cadence_spm(const struct trace *t, double trace_s, bool loop);
unsigned trace_channels(const struct trace *t);
