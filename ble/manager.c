/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ble manager: the BlueZ D-Bus client, its object mirror and per-sensor state machines. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "ble/ble.h"
#include "ble/imu.h"
#include "ble/match.h"
#include "ble/props.h"
#include "ble/state.h"
#include "common/backoff.h"
#include "common/macro.h"
#include "proto/cps.h"
#include "proto/ftms.h"
#include "proto/hrm.h"
#include "proto/pmd.h"
#include "proto/rsc.h"

/* Only ble/ spells these (STYLE.md: module boundaries). */
#define BLUEZ_SERVICE		"org.bluez"
#define BLUEZ_ADAPTER		"org.bluez.Adapter1"
#define BLUEZ_DEVICE		"org.bluez.Device1"
#define BLUEZ_BATTERY		"org.bluez.Battery1"
#define BLUEZ_GATT_SERVICE	"org.bluez.GattService1"
#define BLUEZ_GATT_CHAR		"org.bluez.GattCharacteristic1"
#define DBUS_OM			"org.freedesktop.DBus.ObjectManager"
#define DBUS_PROPS		"org.freedesktop.DBus.Properties"

#define _printf_(a, b)		__attribute__((format(printf, a, b)))
#define _fallthrough_		__attribute__((fallthrough))

#define USEC_PER_MSEC		1000ULL
#define USEC_PER_SEC		1000000ULL

/*
 * Every stream we read notifies at least once per second (1 Hz GATT
 * profiles; PMD frames at any supported rate), so one second is the
 * nominal period, and three of them without a payload make a sensor stale.
 */
#define NOMINAL_PERIOD_USEC	USEC_PER_SEC
#define STALE_PERIODS		3
#define CONNECT_TIMEOUT_USEC	(10 * USEC_PER_SEC)
#define SUBSCRIBE_TIMEOUT_USEC	(10 * USEC_PER_SEC)
#define CALL_TIMEOUT_USEC	(5 * USEC_PER_SEC)
#define DISCONNECT_TIMEOUT_USEC	(5 * USEC_PER_SEC)
#define MALFORMED_REPORT_USEC	(10 * USEC_PER_SEC)
#define DISCOVERY_RETRY_USEC	USEC_PER_SEC
#define POWER_CYCLE_MIN_USEC	(60 * USEC_PER_SEC)
#define POWER_CYCLE_OFF_USEC	(500 * USEC_PER_MSEC)
/*
 * bluetoothd tears the links down before it reports Powered=false, and
 * refuses another Powered change meanwhile (org.bluez.Error.Busy, 5.57+):
 * wait this long for the power-off, retry a refused power-on this often.
 */
#define POWER_CYCLE_WAIT_USEC	(10 * USEC_PER_SEC)
#define POWER_ON_RETRY_USEC	USEC_PER_SEC
#define POWER_ON_TRIES		30u
#define POWER_CYCLE_AFTER	5u
/*
 * A device seen advertising after this long unseen has come back: end
 * the backoff early (but not sooner than BACKOFF_MIN_USEC into it).
 */
#define RETURN_GAP_USEC		(1500 * USEC_PER_MSEC)
#define BACKOFF_MIN_USEC	(250 * USEC_PER_MSEC)
/*
 * A link lost this shortly before the adapter went away (rfkill, or a
 * BlueZ without PowerState: bluetoothd's adapter_stop() reports each
 * Connected=false and then Powered=false) went with the adapter: the
 * failure it counted is taken back.
 */
#define ADAPTER_LOSS_GRACE_USEC	USEC_PER_SEC
#define NOTIFY_BUF		1024u	/* > max ATT MTU 517 */
/* Devices a sensor matched by name or kind remembers as not of its kind. */
#define SENSOR_LACKING_MAX	4u
/*
 * A PMD get-settings answer takes a few connection intervals; without one
 * in this time the start uses the built-in rate table (a sensor that does
 * not answer op 0x01 still streams).
 */
#define PMD_SETTINGS_TIMEOUT_USEC	(2 * USEC_PER_SEC)

/* ---- sensors ------------------------------------------------------------ */

enum sub_kind {
	SUB_HRM,
	SUB_RSC,
	SUB_CPS,
	SUB_TREADMILL,
	SUB_PMD_CP,
	SUB_PMD_DATA,
	_SUB_KIND_MAX,
};

static const char *const sub_names[_SUB_KIND_MAX] = {
	[SUB_HRM] = "heart-rate",
	[SUB_RSC] = "rsc",
	[SUB_CPS] = "power",
	[SUB_TREADMILL] = "treadmill",
	[SUB_PMD_CP] = "pmd-control-point",
	[SUB_PMD_DATA] = "pmd-data",
};

static const char *const sub_uuids[_SUB_KIND_MAX] = {
	[SUB_HRM] = BLE_UUID_HEART_RATE_MEASUREMENT,
	[SUB_RSC] = BLE_UUID_RSC_MEASUREMENT,
	[SUB_CPS] = BLE_UUID_CYCLING_POWER_MEASUREMENT,
	[SUB_TREADMILL] = BLE_UUID_TREADMILL_DATA,
	[SUB_PMD_CP] = BLE_UUID_PMD_CONTROL_POINT,
	[SUB_PMD_DATA] = BLE_UUID_PMD_DATA,
};

struct sensor;

/* One notify subscription on one characteristic, for one connection. */
struct sub {
	struct sensor *s;
	enum sub_kind kind;
	char *path;
	bool wanted;			/* part of this connection's plan */
	bool required;			/* no connection without it */
	bool notifying;			/* StartNotify succeeded */
	bool acquired;			/* AcquireNotify fd open */
	bool acquire_refused;		/* fell back to StartNotify */
	int fd;
	sd_event_source *io;
};

enum pmd_phase {
	PMD_PHASE_IDLE,
	PMD_PHASE_SETTINGS_ACC,		/* get-settings ACC written */
	PMD_PHASE_STARTING_ACC,
	PMD_PHASE_SETTINGS_GYRO,
	PMD_PHASE_STARTING_GYRO,
	PMD_PHASE_STARTED,
};

struct call;

/* The subscribe plan runs these steps in order, one call at a time. */
enum step {
	STEP_READ_RSC_FEATURE,
	STEP_READ_SPEED_RANGE,
	STEP_NOTIFY_HRM,
	STEP_NOTIFY_RSC,
	STEP_NOTIFY_CPS,
	STEP_NOTIFY_TREADMILL,
	STEP_NOTIFY_PMD_CP,
	STEP_NOTIFY_PMD_DATA,
	STEP_PMD_SETTINGS_ACC,
	STEP_PMD_START_ACC,
	STEP_PMD_SETTINGS_GYRO,
	STEP_PMD_START_GYRO,
	_STEP_MAX,
};

struct sensor {
	struct ble_manager *m;
	unsigned id;
	struct ble_sensor_config cfg;	/* strings owned below */
	char *alias;
	char *cfg_address;
	char *cfg_pattern;

	enum ble_sensor_state state;
	char reason[160];

	char *device_path;		/* matched Device1 object */
	char address[BLE_ADDRESS_STRLEN];

	struct call *calls;		/* pending calls of this connection */
	struct call *disconnect;	/* pending Disconnect (outlives links) */
	sd_event_source *timer;		/* backoff, or the subscribe deadline */
	sd_event_source *watchdog;	/* data watchdog */

	struct sub subs[_SUB_KIND_MAX];
	unsigned step;			/* next plan step */
	bool step_busy;			/* a step's call is in flight */
	bool subscribed;		/* plan done */

	/* Counters for ble_sensor_info. */
	unsigned connects;
	unsigned failures;
	uint64_t notifications;
	uint64_t malformed;
	uint64_t frames_lost;		/* PMD ACC frames lost (ble_pmd_rate_feed()) */
	uint64_t gyro_frames_lost;	/* PMD gyro frames lost, likewise */
	uint64_t last_seen_usec;
	uint64_t last_data_usec;	/* main stream, for the watchdog */
	uint64_t last_malformed_report_usec;
	int battery;			/* as last reported (on_battery), -1 unknown */
	bool has_rssi;			/* as last reported (on_rssi) */
	int rssi;
	uint64_t backoff_since_usec;
	bool failure_counted;		/* the last backoff counted a failure */
	bool adapter_failure_counted;	/* ... and an adapter failure */
	uint64_t last_advert_usec;
	bool advertised;		/* seen advertising before this Connect */
	unsigned adapter_failures;	/* failed Connects to a device that advertised */
	/*
	 * A sensor matched by name or kind: devices that, connected and
	 * resolved, lacked a characteristic the kind needs (a heart-rate
	 * strap for a polar-h10 entry). Never chosen again; a ring.
	 */
	char lacking[SENSOR_LACKING_MAX][BLE_ADDRESS_STRLEN];
	unsigned n_lacking;
	const char *plan_missing;	/* sub_names[] entry the plan waits for */

	/* Decoder state of this connection. */
	bool has_rsc_feature;
	uint16_t rsc_features;
	struct ftms_treadmill_merge ftms;
	enum pmd_phase pmd_phase;
	struct pmd_cp_assembler pmd_cp;
	uint8_t pmd_request[PMD_REQUEST_MAX];	/* last CP write */
	size_t pmd_request_len;
	unsigned pmd_wait_step;		/* PMD step waiting for its answer, or _STEP_MAX */
	sd_event_source *pmd_timer;	/* get-settings deadline */
	bool pmd_have_offered;		/* pmd_offered holds the sensor's answer */
	struct pmd_settings pmd_offered;	/* of the type being started */
	char pmd_choice[96];		/* what the last start asked, for errors */
	struct pmd_frame_format pmd_fmt[2];	/* [0] ACC, [1] GYRO */
	struct ble_pmd_rate pmd_rate[2];	/* observed rate, [0] ACC, [1] GYRO */
	struct ble_imu_clock clock;	/* reset per connection */
	struct pmd_data_frame *frame;	/* decode buffer, 40 kB */
	struct ble_imu_pairer *imu;	/* ~25 kB, PMD kinds only */
	struct ble_imu_sample *out;	/* BLE_IMU_FIFO samples */
};

struct ble_manager {
	sd_bus *bus;
	sd_event *event;
	struct ble_options opts;
	char opt_adapter[32];		/* configured adapter, "" = any */
	struct ble_callbacks cb;
	void *userdata;

	sd_bus_slot *match_added;
	sd_bus_slot *match_removed;
	sd_bus_slot *match_props;
	sd_bus_slot *match_owner;
	struct call *calls;		/* manager-level pending calls */

	char *owner;			/* unique name of org.bluez, or NULL */
	bool owner_known;		/* GetNameOwner answered */
	bool have_objects;		/* GetManagedObjects answered */
	struct ble_object *objects;
	char *adapter;			/* path of the adapter in use */

	enum {
		DISCOVERY_OFF,
		DISCOVERY_STARTING,
		DISCOVERY_ON,
		DISCOVERY_STOPPING,
	} discovery;
	sd_event_source *discovery_retry;
	sd_event_source *bluez_retry;	/* GetNameOwner / GetManagedObjects */

	struct sensor **sensors;
	size_t n_sensors;
	unsigned next_id;
	struct sensor *connecting;	/* holds the connection slot */
	bool connect_waiting;		/* a Connect waits for discovery to stop */

	sd_event_source *reconcile;
	sd_event_source *exit_source;	/* releases the sensors at loop exit */
	bool released;
	uint64_t last_power_cycle_usec;
	enum {
		POWER_CYCLE_NONE,
		POWER_CYCLE_OFF,	/* Powered=false sent, waiting to see it */
		POWER_CYCLE_ON,		/* Powered=true sent or to be retried */
	} power_cycle;
	uint64_t power_off_usec;	/* when Powered=false was sent */
	unsigned power_on_tries;
	sd_event_source *power_timer;
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t now_usec(struct ble_manager *m)
{
	uint64_t t = 0;

	if (sd_event_now(m->event, CLOCK_MONOTONIC, &t) < 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
	}
	return t;
}

static uint32_t random_u32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	return (uint32_t)random();
}

static const char *path_basename(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

/* Format only when someone listens: this is on the notification path. */
_printf_(3, 4)
static void debug(struct ble_manager *m, const char *alias, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!m->cb.on_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->cb.on_debug(m->userdata, alias, buf);
}

/* ---- pending calls ------------------------------------------------------- */

typedef void (*call_handler_t)(struct call *c, sd_bus_message *reply,
			       const sd_bus_error *error);

struct call {
	struct call *next, *prev;
	struct call **head;
	struct ble_manager *m;
	struct sensor *s;
	sd_bus_slot *slot;
	call_handler_t handler;
	unsigned arg;
};

static void call_unlink(struct call *c)
{
	if (c->head && *c->head == c)
		*c->head = c->next;
	else if (c->prev)
		c->prev->next = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	c->head = NULL;
}

/* Cancel: the reply, if it ever comes, is dropped by sd-bus. */
static struct call *call_cancel(struct call *c)
{
	if (!c)
		return NULL;
	call_unlink(c);
	sd_bus_slot_unref(c->slot);
	free(c);
	return NULL;
}

static void calls_cancel_all(struct call **head)
{
	while (*head) {
		struct call *c = *head;

		*head = c->next;
		if (*head)
			(*head)->prev = NULL;
		sd_bus_slot_unref(c->slot);
		free(c);
	}
}

static int call_reply(sd_bus_message *reply, void *userdata,
		      sd_bus_error *ret_error)
{
	struct call *c = userdata;
	const sd_bus_error *e = NULL;

	/* sd-bus holds a ref on the slot while we run: safe to drop ours. */
	call_unlink(c);
	if (sd_bus_message_is_method_error(reply, NULL))
		e = sd_bus_message_get_error(reply);
	c->handler(c, reply, e);
	sd_bus_slot_unref(c->slot);
	free(c);
	return 0;
}

/*
 * Send msg to org.bluez with a reply timeout; the reply goes to handler.
 * The call is owned by head (a sensor's or the manager's list) and is
 * cancelled with it. Returns 0 or -errno (then handler is never called).
 */
static int call_send(struct ble_manager *m, struct sensor *s, struct call **head,
		     sd_bus_message *msg, uint64_t timeout, call_handler_t handler,
		     unsigned arg, struct call **ret)
{
	struct call *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;

	c->m = m;
	c->s = s;
	c->handler = handler;
	c->arg = arg;
	r = sd_bus_call_async(m->bus, &c->slot, msg, call_reply, c, timeout);
	if (r < 0) {
		free(c);
		return r;
	}
	c->head = head;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
	if (ret)
		*ret = c;
	return 0;
}

static int new_call(struct ble_manager *m, const char *path, const char *iface,
		    const char *member, sd_bus_message **ret)
{
	return sd_bus_message_new_method_call(m->bus, ret, BLUEZ_SERVICE, path,
					      iface, member);
}

/* Fire and forget (StopNotify on teardown): no reply is expected. */
static void call_forget(struct ble_manager *m, const char *path,
			const char *iface, const char *member)
{
	(void)sd_bus_call_method_async(m->bus, NULL, BLUEZ_SERVICE, path, iface,
				       member, NULL, NULL, NULL);
}

/* ---- sensor lookups ------------------------------------------------------ */

static struct sensor *sensor_by_device(struct ble_manager *m, const char *path)
{
	for (size_t i = 0; i < m->n_sensors; i++)
		if (m->sensors[i]->device_path &&
		    streq(m->sensors[i]->device_path, path))
			return m->sensors[i];
	return NULL;
}

static struct sensor *sensor_by_id(struct ble_manager *m, unsigned id)
{
	for (size_t i = 0; i < m->n_sensors; i++)
		if (m->sensors[i]->id == id)
			return m->sensors[i];
	return NULL;
}

/* The characteristic object with uuid on device path (service any). */
static struct ble_object *find_char(struct ble_manager *m, const char *device,
				   const char *uuid)
{
	for (struct ble_object *o = m->objects; o; o = o->next) {
		struct ble_object *svc;

		if (!(o->ifaces & BLE_OBJ_CHAR) || !o->uuid || !o->parent ||
		    strcasecmp(o->uuid, uuid) != 0)
			continue;
		svc = ble_object_find(m->objects, o->parent);
		if (svc && (svc->ifaces & BLE_OBJ_SERVICE) && svc->parent &&
		    streq(svc->parent, device))
			return o;
	}
	return NULL;
}

static struct ble_object *adapter_current(struct ble_manager *m)
{
	struct ble_object *a = m->adapter ? ble_object_find(m->objects, m->adapter) : NULL;

	return a && (a->ifaces & BLE_OBJ_ADAPTER) ? a : NULL;
}

static bool adapter_usable(struct ble_manager *m)
{
	struct ble_object *a = adapter_current(m);

	return m->owner && m->have_objects && a && a->powered && !a->powering_off &&
	       m->power_cycle == POWER_CYCLE_NONE;
}

/* ---- state changes ------------------------------------------------------- */

static void reconcile_schedule(struct ble_manager *m);
static void sensor_enter(struct sensor *s, enum ble_sensor_state state);

static void notify_state(struct sensor *s)
{
	struct ble_manager *m = s->m;

	if (m->cb.on_state)
		m->cb.on_state(m->userdata, s->id, s->alias, s->state, s->reason,
			       s->state == BLE_SENSOR_STATE_STREAMING);
}

/*
 * Tell the daemon what BlueZ says of the sensor's device now (docs/ble.md,
 * "Battery and RSSI"): its Battery1 level, which exists only while the
 * device is connected (BlueZ removes the interface when the link drops),
 * and its RSSI, which exists only while a discovery hears it. keep_rssi:
 * the sensor holds, or is about to build, a link to this device, so the
 * RSSI of the advertisement that led to it stays after the discovery
 * stopped for the Connect invalidated it; a new device never inherits it.
 */
static void sensor_report_link_info(struct sensor *s, bool keep_rssi)
{
	struct ble_manager *m = s->m;
	struct ble_object *o = s->device_path ? ble_object_find(m->objects, s->device_path) : NULL;
	int battery = o && (o->ifaces & BLE_OBJ_BATTERY) ? o->battery : -1;
	bool has_rssi = o && o->has_rssi;
	int rssi = has_rssi ? o->rssi : 0;

	if (!has_rssi && keep_rssi && o && s->has_rssi) {
		has_rssi = true;
		rssi = s->rssi;
	}
	if (battery != s->battery) {
		s->battery = battery;
		if (m->cb.on_battery)
			m->cb.on_battery(m->userdata, s->id, s->alias, battery);
	}
	if (has_rssi != s->has_rssi || rssi != s->rssi) {
		s->has_rssi = has_rssi;
		s->rssi = rssi;
		if (m->cb.on_rssi)
			m->cb.on_rssi(m->userdata, s->id, s->alias, has_rssi, rssi);
	}
}

/* A sensor linked to its device, or about to connect it, keeps its RSSI. */
static bool sensor_keeps_rssi(const struct sensor *s)
{
	return ble_state_is_linked(s->state) || s->state == BLE_SENSOR_STATE_DISCOVERING;
}

_printf_(3, 0)
static void set_reasonv(struct sensor *s, bool *changed, const char *fmt,
			va_list ap)
{
	char buf[sizeof(s->reason)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (!streq(buf, s->reason)) {
		memcpy(s->reason, buf, sizeof(buf));
		*changed = true;
	}
}

/* Feed event; ignored when the table says it means nothing in this state. */
_printf_(3, 4)
static bool sensor_event(struct sensor *s, enum ble_event ev, const char *fmt, ...)
{
	enum ble_sensor_state next = ble_state_next(s->state, ev);
	bool changed = false;
	va_list ap;

	if (next == _BLE_SENSOR_STATE_INVALID)
		return false;

	va_start(ap, fmt);
	set_reasonv(s, &changed, fmt, ap);
	va_end(ap);
	sensor_enter(s, next);
	return true;
}

/* Same state, new reason (e.g. "waiting for hci0"): tell only if it changed. */
_printf_(2, 3)
static void sensor_reason(struct sensor *s, const char *fmt, ...)
{
	bool changed = false;
	va_list ap;

	va_start(ap, fmt);
	set_reasonv(s, &changed, fmt, ap);
	va_end(ap);
	if (changed)
		notify_state(s);
}

static void sub_close(struct sensor *s, struct sub *sub, bool stop_notify)
{
	struct ble_manager *m = s->m;

	sub->io = sd_event_source_disable_unref(sub->io);
	(void)close_nointr(sub->fd);
	sub->fd = -EBADF;
	/*
	 * StopNotify on the old path, so a reconnect never doubles a
	 * session: BlueZ keeps StartNotify sessions of a cached GATT db.
	 * Ordered on our connection before any later StartNotify.
	 */
	if (stop_notify && sub->notifying && sub->path && m->owner &&
	    ble_object_find(m->objects, sub->path))
		call_forget(m, sub->path, BLUEZ_GATT_CHAR, "StopNotify");
	sub->notifying = false;
	sub->acquired = false;
	sub->acquire_refused = false;
	sub->wanted = false;
	sub->required = false;
	free(sub->path);
	sub->path = NULL;
}

/* Forget everything of the current connection attempt. */
static void sensor_drop_link(struct sensor *s, bool stop_notify)
{
	struct ble_manager *m = s->m;

	calls_cancel_all(&s->calls);
	for (unsigned i = 0; i < _SUB_KIND_MAX; i++)
		sub_close(s, &s->subs[i], stop_notify);
	s->timer = sd_event_source_disable_unref(s->timer);
	s->watchdog = sd_event_source_disable_unref(s->watchdog);
	s->pmd_timer = sd_event_source_disable_unref(s->pmd_timer);
	s->step = 0;
	s->step_busy = false;
	s->subscribed = false;
	s->plan_missing = NULL;
	s->pmd_phase = PMD_PHASE_IDLE;
	s->pmd_wait_step = _STEP_MAX;
	s->pmd_have_offered = false;
	memset(s->pmd_rate, 0, sizeof(s->pmd_rate));
	s->clock = (struct ble_imu_clock) {};
	if (s->imu)
		ble_imu_pairer_reset(s->imu);
	ftms_treadmill_merge_init(&s->ftms);
	pmd_cp_assembler_init(&s->pmd_cp);
	if (m->connecting == s) {
		m->connecting = NULL;
		reconcile_schedule(m);
	}
}

static void disconnect_done(struct call *c, sd_bus_message *reply,
			    const sd_bus_error *error)
{
	struct sensor *s = c->s;

	s->disconnect = NULL;
	/* STALE leaves through the reconnect cycle once the link is down. */
	(void)sensor_event(s, BLE_EVENT_LINK_LOST, "%s", s->reason);
	reconcile_schedule(s->m);
}

/* Device1.Disconnect, tracked so that no Connect overlaps it (ble.md 2.8). */
static void sensor_disconnect(struct sensor *s)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct ble_manager *m = s->m;

	if (s->disconnect || !s->device_path || !m->owner)
		return;
	if (new_call(m, s->device_path, BLUEZ_DEVICE, "Disconnect", &msg) < 0)
		return;
	(void)call_send(m, s, &s->disconnect, msg, DISCONNECT_TIMEOUT_USEC,
			disconnect_done, 0, NULL);
}

static int timer_backoff(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sensor *s = userdata;

	s->timer = sd_event_source_disable_unref(s->timer);
	(void)sensor_event(s, BLE_EVENT_BACKOFF_DONE, "retrying after %u failure%s",
			   s->failures, s->failures == 1 ? "" : "s");
	return 0;
}

/*
 * A sensor matched by name or kind (no address) connected to a device
 * that, with its services resolved, never showed a characteristic the kind
 * needs: it is some other kind of device. Remember it so that
 * sensor_find_device() picks another one next time, and let it go.
 */
static void sensor_reject_device(struct sensor *s)
{
	if (s->cfg_address || !s->device_path || !s->address[0])
		return;
	memcpy(s->lacking[s->n_lacking % SENSOR_LACKING_MAX], s->address,
	       BLE_ADDRESS_STRLEN);
	s->n_lacking++;
	free(s->device_path);
	s->device_path = NULL;
	s->address[0] = '\0';
	sensor_report_link_info(s, false);
}

static int timer_subscribe(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sensor *s = userdata;
	const char *missing = NULL;
	char what[64];

	s->timer = sd_event_source_disable_unref(s->timer);
	switch (s->state) {
	case BLE_SENSOR_STATE_RESOLVING:
		snprintf(what, sizeof(what), "services not resolved");
		break;
	case BLE_SENSOR_STATE_SUBSCRIBING:
		missing = s->step || s->step_busy ? NULL : s->plan_missing;
		if (missing)
			snprintf(what, sizeof(what), "no %s characteristic", missing);
		else
			snprintf(what, sizeof(what), "%s", s->subscribed ?
				 "no data after subscribing" :
				 "subscribing did not complete");
		break;
	default:
		snprintf(what, sizeof(what), "timed out");
		break;
	}
	(void)sensor_event(s, BLE_EVENT_DATA_TIMEOUT, "%s within %llu ms", what,
			   (unsigned long long)(s->m->opts.subscribe_timeout_usec /
						USEC_PER_MSEC));
	/* After the event: its Disconnect of the half-open link needs the path. */
	if (missing)
		sensor_reject_device(s);
	return 0;
}

static int timer_watchdog(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sensor *s = userdata;
	struct ble_manager *m = s->m;
	uint64_t limit = STALE_PERIODS * NOMINAL_PERIOD_USEC;
	uint64_t now = now_usec(m);
	int r;

	if (s->state != BLE_SENSOR_STATE_STREAMING)
		return 0;

	if (now - s->last_data_usec >= limit) {
		s->watchdog = sd_event_source_disable_unref(s->watchdog);
		(void)sensor_event(s, BLE_EVENT_DATA_TIMEOUT,
				   "no data for %llu ms",
				   (unsigned long long)((now - s->last_data_usec) /
							USEC_PER_MSEC));
		return 0;
	}
	/* Data came meanwhile: look again when the newest payload expires. */
	r = sd_event_source_set_time(src, s->last_data_usec + limit);
	if (r >= 0)
		r = sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	if (r < 0)
		(void)sensor_event(s, BLE_EVENT_FAILED, "watchdog: %s", strerror(-r));
	return 0;
}

static void power_cycle_maybe(struct ble_manager *m, struct sensor *s);

static void sensor_enter(struct sensor *s, enum ble_sensor_state state)
{
	struct ble_manager *m = s->m;
	enum ble_sensor_state old = s->state;
	uint64_t delay;
	int r;

	s->state = state;
	switch (state) {
	case BLE_SENSOR_STATE_IDLE:
		sensor_drop_link(s, true);
		s->timer = sd_event_source_disable_unref(s->timer);
		/*
		 * The adapter went away just after this backoff began: the link
		 * went with it (rfkill, or no PowerState to warn us), no failure
		 * of the sensor. Not for our own power cycle, which a failure
		 * started.
		 */
		if (old == BLE_SENSOR_STATE_BACKOFF && s->failure_counted &&
		    m->power_cycle == POWER_CYCLE_NONE &&
		    now_usec(m) - s->backoff_since_usec <= ADAPTER_LOSS_GRACE_USEC) {
			s->failures--;
			if (s->adapter_failure_counted && s->adapter_failures)
				s->adapter_failures--;
		}
		s->failure_counted = s->adapter_failure_counted = false;
		sensor_report_link_info(s, false);
		break;
	case BLE_SENSOR_STATE_DISCOVERING:
		sensor_drop_link(s, true);
		break;
	case BLE_SENSOR_STATE_CONNECTING:
	case BLE_SENSOR_STATE_RESOLVING:
	case BLE_SENSOR_STATE_SUBSCRIBING:
		/* Actions are started by the caller that knows the context. */
		break;
	case BLE_SENSOR_STATE_STREAMING:
		s->failures = 0;
		s->adapter_failures = 0;
		s->timer = sd_event_source_disable_unref(s->timer);
		if (m->connecting == s) {
			m->connecting = NULL;
			reconcile_schedule(m);
		}
		r = sd_event_add_time(m->event, &s->watchdog, CLOCK_MONOTONIC,
				      s->last_data_usec +
				      STALE_PERIODS * NOMINAL_PERIOD_USEC,
				      10 * USEC_PER_MSEC, timer_watchdog, s);
		if (r < 0) {
			notify_state(s);
			(void)sensor_event(s, BLE_EVENT_FAILED, "watchdog: %s",
					   strerror(-r));
			return;
		}
		break;
	case BLE_SENSOR_STATE_STALE:
		/* Tell the daemon at once; then take the link down. */
		notify_state(s);
		for (unsigned i = 0; i < _SUB_KIND_MAX; i++)
			sub_close(s, &s->subs[i], true);
		s->watchdog = sd_event_source_disable_unref(s->watchdog);
		sensor_disconnect(s);
		if (!s->disconnect)
			(void)sensor_event(s, BLE_EVENT_FAILED, "%s", s->reason);
		return;
	case BLE_SENSOR_STATE_BACKOFF: {
		struct ble_object *dev = s->device_path ?
			ble_object_find(m->objects, s->device_path) : NULL;

		sensor_drop_link(s, true);
		/*
		 * A link lost or a call refused while the adapter powers off
		 * (PowerState on-disabling), is off, or is being power-cycled
		 * by us, or with bluetoothd gone, is no failure of the sensor:
		 * it neither counts nor lengthens the next backoff.
		 */
		s->failure_counted = adapter_usable(m);
		s->adapter_failure_counted = false;
		if (s->failure_counted) {
			s->failures++;
			/*
			 * Only a Connect failing on a device that is there (it
			 * advertised since the last failure) hints at the
			 * adapter; a device away fails every Connect too.
			 */
			if (old == BLE_SENSOR_STATE_CONNECTING && s->advertised) {
				s->adapter_failures++;
				s->adapter_failure_counted = true;
			}
		}
		s->backoff_since_usec = now_usec(m);
		sensor_report_link_info(s, false);
		/* A half-open link from a failed subscribe is taken down. */
		if (dev && dev->connected && old != BLE_SENSOR_STATE_STALE)
			sensor_disconnect(s);
		delay = gk_backoff_delay_usec(s->failures, random_u32());
		r = sd_event_add_time_relative(m->event, &s->timer, CLOCK_MONOTONIC,
					       delay, 10 * USEC_PER_MSEC,
					       timer_backoff, s);
		if (r < 0)
			s->timer = NULL;
		notify_state(s);
		power_cycle_maybe(m, s);
		if (r < 0)	/* no timer: retry through reconcile */
			sensor_enter(s, BLE_SENSOR_STATE_DISCOVERING);
		return;
	}
	case _BLE_SENSOR_STATE_MAX:
	case _BLE_SENSOR_STATE_INVALID:
		return;
	}
	notify_state(s);
	reconcile_schedule(m);
}

/* ---- payload decoding ---------------------------------------------------- */

static void sensor_malformed(struct sensor *s, enum sub_kind kind, int error)
{
	struct ble_manager *m = s->m;
	uint64_t now = now_usec(m);

	s->malformed++;
	if (s->last_malformed_report_usec &&
	    now - s->last_malformed_report_usec < MALFORMED_REPORT_USEC)
		return;
	s->last_malformed_report_usec = now;
	if (m->cb.on_malformed)
		m->cb.on_malformed(m->userdata, s->id, s->alias, sub_names[kind],
				   error, s->malformed);
}

static bool is_main_stream(const struct sensor *s, enum sub_kind kind)
{
	switch (s->cfg.kind) {
	case BLE_SENSOR_KIND_POLAR_H10:
	case BLE_SENSOR_KIND_POLAR_VERITY_SENSE:
		return kind == SUB_PMD_DATA;
	case BLE_SENSOR_KIND_FOOTPOD:
		return kind == SUB_RSC;
	case BLE_SENSOR_KIND_HEART_RATE:
		return kind == SUB_HRM;
	case BLE_SENSOR_KIND_POWER:
		return kind == SUB_CPS;
	case BLE_SENSOR_KIND_TREADMILL:
		return kind == SUB_TREADMILL;
	case _BLE_SENSOR_KIND_MAX:
	case _BLE_SENSOR_KIND_INVALID:
		break;
	}
	return false;
}

static int decode_hrm(struct sensor *s, const uint8_t *buf, size_t len,
		      uint64_t now)
{
	struct ble_manager *m = s->m;
	struct hrm_measurement hrm;
	struct ble_heart_rate hr;
	int r;

	r = hrm_measurement_parse(buf, len, &hrm, NULL);
	if (r < 0)
		return r;
	hr = (struct ble_heart_rate) {
		.t_usec = now,
		.bpm = hrm.heart_rate_bpm,
		.has_contact = hrm.contact != HRM_CONTACT_UNSUPPORTED,
		.contact = hrm.contact == HRM_CONTACT_DETECTED,
		.rr_ms = hrm.rr_ms,
		.n_rr = hrm.n_rr,
	};
	if (m->cb.on_heart_rate)
		m->cb.on_heart_rate(m->userdata, s->id, s->alias, &hr);
	return 0;
}

static int decode_rsc(struct sensor *s, const uint8_t *buf, size_t len,
		      uint64_t now)
{
	struct ble_manager *m = s->m;
	struct rsc_measurement rsc;
	struct ble_rsc out;
	int r;

	r = rsc_measurement_parse(buf, len, &rsc, NULL);
	if (r < 0)
		return r;
	out = (struct ble_rsc) {
		.t_usec = now,
		.speed_mps = rsc.speed_mps,
		.cadence_spm = rsc.cadence_per_min * s->cfg.cadence_multiplier,
		.stride_length_mm = rsc.has_stride_length ?
			rsc.stride_length_m * 1000.0 : NAN,
		.total_distance_mm = rsc.has_total_distance ?
			rsc.total_distance_m * 1000.0 : NAN,
		/* Without RSC Feature we cannot tell "walking" from "unknown". */
		.has_running = s->has_rsc_feature &&
			(s->rsc_features & RSC_FEATURE_WALKING_RUNNING),
		.running = rsc.running,
	};
	if (m->cb.on_rsc)
		m->cb.on_rsc(m->userdata, s->id, s->alias, &out);
	return 0;
}

static int decode_cps(struct sensor *s, const uint8_t *buf, size_t len,
		      uint64_t now)
{
	struct ble_manager *m = s->m;
	struct cps_measurement cps;
	struct ble_power out;
	int r;

	r = cps_measurement_parse(buf, len, &cps, NULL);
	if (r < 0)
		return r;
	out = (struct ble_power) { .t_usec = now, .power_w = cps.power_w };
	if (m->cb.on_power)
		m->cb.on_power(m->userdata, s->id, s->alias, &out);
	return 0;
}

static int decode_treadmill(struct sensor *s, const uint8_t *buf, size_t len,
			    uint64_t now)
{
	struct ble_manager *m = s->m;
	struct ftms_treadmill_data part, rec;
	struct ble_treadmill out;
	int r;

	r = ftms_treadmill_data_parse(buf, len, &part, NULL);
	if (r < 0)
		return r;
	if (ftms_treadmill_merge_add(&s->ftms, &part, &rec) == 0)
		return 0;	/* first part of a split record */
	out = (struct ble_treadmill) {
		.t_usec = now,
		.speed_mps = rec.has_speed ? rec.speed_kmh / 3.6 : NAN,
		.inclination_pct = rec.has_inclination ? rec.inclination_pct : NAN,
		.total_distance_mm = rec.has_total_distance ?
			rec.total_distance_m * 1000.0 : NAN,
		.elapsed_ms = rec.has_elapsed_time ?
			rec.elapsed_time_s * 1000.0 : NAN,
		.heart_rate_bpm = rec.has_heart_rate ? rec.heart_rate_bpm : NAN,
		.power_w = rec.has_power_output ? rec.power_output_w : NAN,
	};
	if (m->cb.on_treadmill)
		m->cb.on_treadmill(m->userdata, s->id, s->alias, &out);
	return 0;
}

/* ---- IMU: PMD frames to monotonic samples ---------------------------------- */

/* The configured IMU rate, or the kind's default. */
static unsigned imu_rate_wanted(const struct sensor *s)
{
	if (s->cfg.imu_rate_hz)
		return s->cfg.imu_rate_hz;
	return s->cfg.kind == BLE_SENSOR_KIND_POLAR_H10 ? BLE_H10_RATE_HZ_DEFAULT :
							  BLE_VERITY_RATE_HZ_DEFAULT;
}

/* The value of v[0..n) nearest to want, ties to the higher; 0s are skipped. */
static unsigned nearest(const uint32_t *v, size_t n, unsigned want)
{
	unsigned best = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d, bd;

		if (!v[i])
			continue;
		d = v[i] > want ? v[i] - want : want - v[i];
		bd = best > want ? best - want : want - best;
		if (!best || d < bd || (d == bd && v[i] > best))
			best = v[i];
	}
	return best;
}

int ble_pmd_choose(const struct pmd_settings *offered, unsigned want_rate_hz,
		   unsigned want_range, struct pmd_start_params *ret)
{
	const struct pmd_setting_values *v;
	struct pmd_start_params p = {};

	if (!offered || !ret)
		return -EINVAL;
	v = &offered->sample_rate_hz;
	if (offered->present & (1u << PMD_SETTING_SAMPLE_RATE))
		p.sample_rate_hz = nearest(v->values, v->count, want_rate_hz);
	if (!p.sample_rate_hz)
		return -ENODATA;
	v = &offered->resolution_bits;
	if (offered->present & (1u << PMD_SETTING_RESOLUTION))
		p.resolution_bits = nearest(v->values, v->count, 16);
	v = &offered->range;
	if (offered->present & (1u << PMD_SETTING_RANGE))
		p.range = nearest(v->values, v->count, want_range);
	v = &offered->channels;
	if (offered->present & (1u << PMD_SETTING_CHANNELS))
		p.channels = nearest(v->values, v->count, 3);
	*ret = p;
	return 0;
}

/*
 * The fallback when a sensor does not say what it offers: the wanted rate
 * snapped to the nearest in a built-in table (ties to the higher). H10
 * ACC: 25/50/100/200 Hz; Verity Sense in SDK mode: 26/52/104/208/416 Hz
 * (polar-ble-sdk product docs); outside SDK mode a Verity Sense offers
 * 52 Hz only and refuses the others with "invalid sample rate".
 */
static unsigned table_rate(const struct sensor *s, unsigned want)
{
	static const uint32_t h10[] = { 25, 50, 100, 200 };
	static const uint32_t verity[] = { 26, 52, 104, 208, 416 };

	if (s->cfg.kind == BLE_SENSOR_KIND_POLAR_H10)
		return nearest(h10, ELEMENTSOF(h10), want);
	return nearest(verity, ELEMENTSOF(verity), want);
}

static bool gyro_wanted(const struct sensor *s)
{
	return s->cfg.kind == BLE_SENSOR_KIND_POLAR_VERITY_SENSE && s->cfg.gyro;
}

static int decode_pmd_data(struct sensor *s, const uint8_t *buf, size_t len,
			   uint64_t now)
{
	struct ble_manager *m = s->m;
	struct pmd_data_frame *f = s->frame;
	struct pmd_frame_format *fmt;
	uint64_t prev_ns, lost;
	unsigned observed;
	bool gyro;
	size_t n;
	int r;

	if (len < 1)
		return -EBADMSG;
	switch (buf[0] & PMD_MEASUREMENT_TYPE_MASK) {
	case PMD_MEASUREMENT_ACC:
		gyro = false;
		break;
	case PMD_MEASUREMENT_GYRO:
		gyro = true;
		break;
	default:
		return -EOPNOTSUPP;	/* a stream we did not start */
	}
	fmt = &s->pmd_fmt[gyro];
	prev_ns = fmt->previous_timestamp_ns;
	r = pmd_data_frame_parse(buf, len, fmt, f, NULL);
	if (r < 0)
		return r;
	if (f->n_samples == 0)
		return 0;
	fmt->previous_timestamp_ns = f->timestamp_ns;
	observed = ble_pmd_rate_feed(&s->pmd_rate[gyro], fmt->sample_rate_hz, f->timestamp_ns,
				     f->n_samples, &lost);
	/*
	 * Counted per stream: the form core is fed ACC samples, a lost gyro
	 * frame leaves the steps it spans without a pelvic drop.
	 */
	if (gyro)
		s->gyro_frames_lost += lost;
	else
		s->frames_lost += lost;
	if (observed) {
		/* e.g. another client started the stream at its rate ("already in state") */
		debug(m, s->alias, "PMD %s: the sensor streams at %u Hz, not the %u Hz started; "
		      "following it", gyro ? "gyro" : "acc", observed, fmt->sample_rate_hz);
		fmt->sample_rate_hz = observed;
		if (!gyro)
			s->imu->rate_hz = observed;
	}
	if (gyro)
		s->imu->gyro_span_usec = f->n_samples * USEC_PER_SEC /
					 (fmt->sample_rate_hz ? fmt->sample_rate_hz : 1);

	(void)ble_imu_clock_update(&s->clock, now, f->timestamp_ns);
	for (size_t i = 0; i < f->n_samples; i++) {
		uint64_t ts = f->samples[i].timestamp_ns;
		uint64_t t = ble_imu_clock_map(&s->clock, ts);
		/* spacing in sensor time, from the previous frame's last sample too */
		uint64_t before = i ? f->samples[i - 1].timestamp_ns : prev_ns;
		uint64_t period = before && ts > before ? (ts - before) / 1000 : 0;
		float v[3];

		/* proto/ gives mG for ACC and deg/s for gyro */
		for (unsigned k = 0; k < 3; k++)
			v[k] = gyro ? f->samples[i].value[k] :
				      f->samples[i].value[k] * 0.001f;
		if (gyro)
			ble_imu_push_gyro(s->imu, t, period, v);
		else
			ble_imu_push_acc(s->imu, t, period, v);
	}
	n = ble_imu_pop(s->imu, now, s->out, BLE_IMU_FIFO);
	if (n && m->cb.on_imu)
		m->cb.on_imu(m->userdata, s->id, s->alias, s->out, n);
	return 0;
}

static void plan_advance(struct sensor *s);

static const char *pmd_type_name(uint8_t type)
{
	return type == PMD_MEASUREMENT_GYRO ? "gyro" : "acc";
}

/*
 * The get-settings step is over: with the sensor's answer (ok) or without
 * one (why says why; the start then uses the built-in table).
 */
static void pmd_settings_done(struct sensor *s, bool ok, const char *why)
{
	uint8_t type = s->pmd_phase == PMD_PHASE_SETTINGS_GYRO ? PMD_MEASUREMENT_GYRO :
								 PMD_MEASUREMENT_ACC;

	s->pmd_timer = sd_event_source_disable_unref(s->pmd_timer);
	s->pmd_have_offered = ok;
	if (!ok)
		debug(s->m, s->alias,
		      "PMD %s: no settings from the sensor (%s), using the built-in rate table",
		      pmd_type_name(type), why);
	s->pmd_wait_step = _STEP_MAX;
	s->step_busy = false;
	plan_advance(s);
}

static int pmd_settings_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sensor *s = userdata;
	char why[48];

	s->pmd_timer = sd_event_source_disable_unref(s->pmd_timer);
	if (s->pmd_phase != PMD_PHASE_SETTINGS_ACC && s->pmd_phase != PMD_PHASE_SETTINGS_GYRO)
		return 0;
	snprintf(why, sizeof(why), "no answer within %llu ms",
		 (unsigned long long)(PMD_SETTINGS_TIMEOUT_USEC / USEC_PER_MSEC));
	pmd_settings_done(s, false, why);
	return 0;
}

/* A complete get-settings response for the type we asked about. */
static void pmd_settings_answer(struct sensor *s, const struct pmd_cp_response *resp)
{
	char why[64];
	int r;

	if (resp->status != PMD_STATUS_SUCCESS) {
		snprintf(why, sizeof(why), "get-settings answered \"%s\"",
			 pmd_status_to_string(resp->status));
		pmd_settings_done(s, false, why);
		return;
	}
	r = pmd_settings_parse(resp->params, resp->n_params, &s->pmd_offered, NULL);
	if (r < 0) {
		sensor_malformed(s, SUB_PMD_CP, r);
		pmd_settings_done(s, false, "malformed get-settings answer");
		return;
	}
	pmd_settings_done(s, true, NULL);
}

static void pmd_cp_indication(struct sensor *s, const uint8_t *buf, size_t len)
{
	struct pmd_cp_response part, resp;
	struct pmd_settings settings;
	int r;

	/* A stack that caches written values may echo our own request. */
	if (len == s->pmd_request_len && len && memcmp(buf, s->pmd_request, len) == 0)
		return;
	r = pmd_cp_response_parse(buf, len, &part, NULL);
	if (r < 0) {
		sensor_malformed(s, SUB_PMD_CP, r);
		return;
	}
	if (part.stopped_by_device) {
		/* The sensor stopped streaming on its own: reconnect. */
		(void)sensor_event(s, BLE_EVENT_FAILED,
				   "measurement stopped by the device");
		return;
	}
	r = pmd_cp_assembler_add(&s->pmd_cp, &part, &resp);
	if (r < 0) {
		sensor_malformed(s, SUB_PMD_CP, r);
		return;
	}
	if (r == 0)
		return;
	if (resp.op_code == PMD_OP_GET_SETTINGS) {
		if ((s->pmd_phase == PMD_PHASE_SETTINGS_ACC &&
		     resp.measurement_type == PMD_MEASUREMENT_ACC) ||
		    (s->pmd_phase == PMD_PHASE_SETTINGS_GYRO &&
		     resp.measurement_type == PMD_MEASUREMENT_GYRO))
			pmd_settings_answer(s, &resp);
		return;		/* else late (after the timeout) or not ours */
	}
	if (resp.op_code != PMD_OP_START)
		return;

	if ((s->pmd_phase == PMD_PHASE_STARTING_ACC &&
	     resp.measurement_type != PMD_MEASUREMENT_ACC) ||
	    (s->pmd_phase == PMD_PHASE_STARTING_GYRO &&
	     resp.measurement_type != PMD_MEASUREMENT_GYRO) ||
	    (s->pmd_phase != PMD_PHASE_STARTING_ACC &&
	     s->pmd_phase != PMD_PHASE_STARTING_GYRO))
		return;		/* not the answer we wait for */

	if (resp.status != PMD_STATUS_SUCCESS &&
	    resp.status != PMD_STATUS_ALREADY_IN_STATE) {
		/* e.g. "PMD start ACC: invalid sample rate (asked 208 Hz ...)" */
		(void)sensor_event(s, BLE_EVENT_FAILED, "PMD start %s: %s (%s)",
				   pmd_measurement_type_to_string(resp.measurement_type),
				   pmd_status_to_string(resp.status), s->pmd_choice);
		return;
	}
	/* The start response may carry FACTOR (Verity Sense delta frames). */
	if (resp.n_params &&
	    pmd_settings_parse(resp.params, resp.n_params, &settings, NULL) >= 0 &&
	    (settings.present & (1u << PMD_SETTING_FACTOR))) {
		/* A factor that is not a sane positive scale is bad input. */
		if (!isfinite(settings.factor) || settings.factor <= 0 ||
		    settings.factor > 1000) {
			sensor_malformed(s, SUB_PMD_CP, -EBADMSG);
			(void)sensor_event(s, BLE_EVENT_FAILED,
					   "PMD start: bad factor setting");
			return;
		}
		s->pmd_fmt[s->pmd_phase == PMD_PHASE_STARTING_GYRO].factor =
			settings.factor;
	}

	debug(s->m, s->alias, "PMD %s started (%s, factor %g)",
	      pmd_measurement_type_to_string(resp.measurement_type),
	      pmd_status_to_string(resp.status),
	      (double)s->pmd_fmt[s->pmd_phase == PMD_PHASE_STARTING_GYRO].factor);
	s->pmd_wait_step = _STEP_MAX;
	s->step_busy = false;
	plan_advance(s);
}

/* One notification (or indication) value from a subscription. */
static void sub_payload(struct sub *sub, const uint8_t *buf, size_t len)
{
	struct sensor *s = sub->s;
	struct ble_manager *m = s->m;
	uint64_t now = now_usec(m);
	bool main_stream = is_main_stream(s, sub->kind);
	int r = 0;

	s->notifications++;
	s->last_seen_usec = now;
	if (main_stream)
		s->last_data_usec = now;

	switch (sub->kind) {
	case SUB_HRM:
		r = decode_hrm(s, buf, len, now);
		break;
	case SUB_RSC:
		r = decode_rsc(s, buf, len, now);
		break;
	case SUB_CPS:
		r = decode_cps(s, buf, len, now);
		break;
	case SUB_TREADMILL:
		r = decode_treadmill(s, buf, len, now);
		break;
	case SUB_PMD_CP:
		pmd_cp_indication(s, buf, len);	/* may change state */
		return;
	case SUB_PMD_DATA:
		r = decode_pmd_data(s, buf, len, now);
		break;
	case _SUB_KIND_MAX:
		return;
	}
	if (r < 0) {
		sensor_malformed(s, sub->kind, r);
		return;
	}
	if (main_stream && s->subscribed)
		(void)sensor_event(s, BLE_EVENT_DATA, "streaming");
}

/* ---- subscribing --------------------------------------------------------- */

static int sub_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sub *sub = userdata;
	struct sensor *s = sub->s;
	uint8_t buf[NOTIFY_BUF];

	/* Drain first: a hang-up can come with the last values. */
	for (unsigned i = 0; i < 64 && (revents & EPOLLIN); i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			revents |= EPOLLERR;
			break;
		}
		if (n == 0) {
			revents |= EPOLLHUP;
			break;
		}
		sub_payload(sub, buf, (size_t)n);
		if (!sub->acquired)	/* state changed under us */
			return 0;
	}
	if (revents & (EPOLLHUP | EPOLLERR))
		(void)sensor_event(s, BLE_EVENT_LINK_LOST,
				   "%s notify socket hung up", sub_names[sub->kind]);
	return 0;
}

static void step_done(struct call *c, sd_bus_message *reply,
		      const sd_bus_error *error);

static int plan_call(struct sensor *s, struct sub *sub, const char *member,
		     unsigned step)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct ble_manager *m = s->m;
	int r;

	r = new_call(m, sub->path, BLUEZ_GATT_CHAR, member, &msg);
	if (r < 0)
		return r;
	if (streq(member, "AcquireNotify") || streq(member, "ReadValue"))
		r = sd_bus_message_append(msg, "a{sv}", 0);
	if (r < 0)
		return r;
	r = call_send(m, s, &s->calls, msg, CALL_TIMEOUT_USEC, step_done, step,
		      NULL);
	if (r >= 0)
		s->step_busy = true;
	return r;
}

static int read_char(struct sensor *s, const char *uuid, unsigned step)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct ble_object *o = find_char(s->m, s->device_path, uuid);
	int r;

	if (!o)
		return 0;	/* optional: nothing to read */
	r = new_call(s->m, o->path, BLUEZ_GATT_CHAR, "ReadValue", &msg);
	if (r >= 0)
		r = sd_bus_message_append(msg, "a{sv}", 0);
	if (r >= 0)
		r = call_send(s->m, s, &s->calls, msg, CALL_TIMEOUT_USEC,
			      step_done, step, NULL);
	if (r < 0)
		return r;
	s->step_busy = true;
	return 1;
}

/* Write one PMD control point request; its indicated answer ends step. */
static int pmd_write(struct sensor *s, const uint8_t *req, size_t len, unsigned step)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct sub *cp = &s->subs[SUB_PMD_CP];
	int r;

	r = new_call(s->m, cp->path, BLUEZ_GATT_CHAR, "WriteValue", &msg);
	if (r >= 0)
		r = sd_bus_message_append_array(msg, 'y', req, len);
	/* Write with response: control points need "request" (ble.md 2.4). */
	if (r >= 0)
		r = sd_bus_message_append(msg, "a{sv}", 1, "type", "s", "request");
	if (r >= 0)
		r = call_send(s->m, s, &s->calls, msg, CALL_TIMEOUT_USEC,
			      step_done, step, NULL);
	if (r < 0)
		return r;
	memcpy(s->pmd_request, req, len);
	s->pmd_request_len = len;
	s->step_busy = true;
	s->pmd_wait_step = step;
	return 1;
}

/*
 * Ask what the sensor offers for type (op 0x01) before starting it; no
 * usable answer within PMD_SETTINGS_TIMEOUT_USEC leaves the table.
 */
static int pmd_get_settings(struct sensor *s, uint8_t type, unsigned step)
{
	uint8_t req[PMD_REQUEST_MAX];
	size_t len;
	int r;

	r = pmd_request_get_settings(type, req, sizeof(req), &len);
	if (r < 0)
		return r;
	r = pmd_write(s, req, len, step);
	if (r < 0)
		return r;
	s->pmd_have_offered = false;
	s->pmd_phase = type == PMD_MEASUREMENT_ACC ? PMD_PHASE_SETTINGS_ACC :
						     PMD_PHASE_SETTINGS_GYRO;
	s->pmd_timer = sd_event_source_disable_unref(s->pmd_timer);
	r = sd_event_add_time_relative(s->m->event, &s->pmd_timer, CLOCK_MONOTONIC,
				       PMD_SETTINGS_TIMEOUT_USEC, 0,
				       pmd_settings_timeout, s);
	return r < 0 ? r : 1;
}

/* "25/50/100/200" */
static void format_values(const struct pmd_setting_values *v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < v->count && n < size; i++) {
		int k = snprintf(buf + n, size - n, "%s%u", i ? "/" : "", (unsigned)v->values[i]);

		if (k < 0)
			break;
		n += (size_t)k;
	}
	if (!v->count)
		snprintf(buf, size, "none");
}

static int pmd_start(struct sensor *s, uint8_t type, unsigned step)
{
	struct pmd_start_params p = {};
	const char *name = pmd_type_name(type);
	bool gyro = type == PMD_MEASUREMENT_GYRO;
	/* The gyro follows the ACC rate in use: the pairer needs equal grids. */
	unsigned want = gyro && s->pmd_fmt[0].sample_rate_hz ? s->pmd_fmt[0].sample_rate_hz :
							       imu_rate_wanted(s);
	unsigned want_range = gyro ? 2000 :	/* deg/s, Verity Sense gyro */
			      s->cfg.imu_range_g ? s->cfg.imu_range_g : BLE_IMU_RANGE_G_DEFAULT;
	uint8_t req[PMD_REQUEST_MAX];
	char offers[64];
	size_t len;
	int r;

	if (s->pmd_have_offered &&
	    ble_pmd_choose(&s->pmd_offered, want, want_range, &p) >= 0) {
		format_values(&s->pmd_offered.sample_rate_hz, offers, sizeof(offers));
		debug(s->m, s->alias,
		      "PMD %s: %u Hz %s, sensor offers %s, using %u (range %u, resolution %u, channels %u; 0 = not offered)",
		      name, want, gyro ? "wanted (the ACC rate)" : "configured", offers,
		      p.sample_rate_hz, p.range, p.resolution_bits, p.channels);
		snprintf(s->pmd_choice, sizeof(s->pmd_choice),
			 "asked %u Hz, the sensor offered %s", p.sample_rate_hz, offers);
	} else {
		p = (struct pmd_start_params) {
			.sample_rate_hz = table_rate(s, want),
			.resolution_bits = 16,
			.range = want_range,
			.channels = 3,
		};
		debug(s->m, s->alias,
		      "PMD %s: %u Hz %s, sensor offers no rates, using %u from the built-in table",
		      name, want, gyro ? "wanted (the ACC rate)" : "configured",
		      p.sample_rate_hz);
		snprintf(s->pmd_choice, sizeof(s->pmd_choice),
			 "asked %u Hz from the built-in table: the sensor did not say its rates",
			 p.sample_rate_hz);
	}
	s->pmd_have_offered = false;

	r = pmd_request_start(type, &p, req, sizeof(req), &len);
	if (r < 0)
		return r;
	r = pmd_write(s, req, len, step);
	if (r < 0)
		return r;
	s->pmd_fmt[gyro] = (struct pmd_frame_format) {
		.channels = p.channels ? p.channels : 3,
		.resolution_bits = p.resolution_bits ? p.resolution_bits : 16,
		.factor = 1.0f,
		.sample_rate_hz = p.sample_rate_hz,
	};
	if (!gyro && s->imu)
		s->imu->rate_hz = p.sample_rate_hz;
	s->pmd_phase = gyro ? PMD_PHASE_STARTING_GYRO : PMD_PHASE_STARTING_ACC;
	return 1;
}

/*
 * Run the plan from s->step on; each step is skipped when it does not
 * apply, or issues one call and waits for step_done().
 */
static void plan_advance(struct sensor *s)
{
	int r = 0;

	while (!s->step_busy && s->step < _STEP_MAX) {
		unsigned step = s->step++;
		struct sub *sub = NULL;

		switch ((enum step)step) {
		case STEP_READ_RSC_FEATURE:
			if (s->subs[SUB_RSC].wanted)
				r = read_char(s, BLE_UUID_RSC_FEATURE, step);
			break;
		case STEP_READ_SPEED_RANGE:
			if (s->subs[SUB_TREADMILL].wanted)
				r = read_char(s, BLE_UUID_SUPPORTED_SPEED_RANGE, step);
			break;
		case STEP_NOTIFY_HRM:
			sub = &s->subs[SUB_HRM];
			break;
		case STEP_NOTIFY_RSC:
			sub = &s->subs[SUB_RSC];
			break;
		case STEP_NOTIFY_CPS:
			sub = &s->subs[SUB_CPS];
			break;
		case STEP_NOTIFY_TREADMILL:
			sub = &s->subs[SUB_TREADMILL];
			break;
		case STEP_NOTIFY_PMD_CP:
			sub = &s->subs[SUB_PMD_CP];
			break;
		case STEP_NOTIFY_PMD_DATA:
			sub = &s->subs[SUB_PMD_DATA];
			if (sub->wanted && s->cfg.prefer_acquire_notify) {
				r = plan_call(s, sub, "AcquireNotify", step);
				sub = NULL;
			}
			break;
		case STEP_PMD_SETTINGS_ACC:
			if (s->subs[SUB_PMD_CP].wanted)
				r = pmd_get_settings(s, PMD_MEASUREMENT_ACC, step);
			break;
		case STEP_PMD_START_ACC:
			if (s->subs[SUB_PMD_CP].wanted)
				r = pmd_start(s, PMD_MEASUREMENT_ACC, step);
			break;
		case STEP_PMD_SETTINGS_GYRO:
			if (s->subs[SUB_PMD_CP].wanted && gyro_wanted(s))
				r = pmd_get_settings(s, PMD_MEASUREMENT_GYRO, step);
			break;
		case STEP_PMD_START_GYRO:
			if (s->subs[SUB_PMD_CP].wanted && gyro_wanted(s))
				r = pmd_start(s, PMD_MEASUREMENT_GYRO, step);
			break;
		case _STEP_MAX:
			break;
		}
		if (sub && sub->wanted)
			r = plan_call(s, sub, "StartNotify", step);
		if (r < 0) {
			(void)sensor_event(s, BLE_EVENT_FAILED, "subscribe: %s",
					   strerror(-r));
			return;
		}
	}
	if (!s->step_busy && s->step >= _STEP_MAX && !s->subscribed) {
		struct ble_manager *m = s->m;

		s->subscribed = true;
		/* The attempt is done: the next sensor may connect meanwhile. */
		if (m->connecting == s) {
			m->connecting = NULL;
			reconcile_schedule(m);
		}
		if (s->pmd_phase != PMD_PHASE_IDLE)
			s->pmd_phase = PMD_PHASE_STARTED;
		sensor_reason(s, "subscribed, waiting for data");
	}
}

static struct sub *sub_for_step(struct sensor *s, unsigned step)
{
	switch ((enum step)step) {
	case STEP_NOTIFY_HRM:
		return &s->subs[SUB_HRM];
	case STEP_NOTIFY_RSC:
		return &s->subs[SUB_RSC];
	case STEP_NOTIFY_CPS:
		return &s->subs[SUB_CPS];
	case STEP_NOTIFY_TREADMILL:
		return &s->subs[SUB_TREADMILL];
	case STEP_NOTIFY_PMD_CP:
		return &s->subs[SUB_PMD_CP];
	case STEP_NOTIFY_PMD_DATA:
		return &s->subs[SUB_PMD_DATA];
	case STEP_READ_RSC_FEATURE:
	case STEP_READ_SPEED_RANGE:
	case STEP_PMD_SETTINGS_ACC:
	case STEP_PMD_START_ACC:
	case STEP_PMD_SETTINGS_GYRO:
	case STEP_PMD_START_GYRO:
	case _STEP_MAX:
		break;
	}
	return NULL;
}

static int acquired(struct sensor *s, struct sub *sub, sd_bus_message *reply)
{
	int fd, r;
	uint16_t mtu;

	r = sd_bus_message_read(reply, "hq", &fd, &mtu);
	if (r < 0)
		return r;
	/* The fd belongs to the message: keep our own copy (ble.md 2.7). */
	sub->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (sub->fd < 0)
		return -errno;
	r = sd_event_add_io(s->m->event, &sub->io, sub->fd, EPOLLIN, sub_io, sub);
	if (r < 0)
		return r;
	sub->acquired = true;
	return 0;
}

/*
 * The reply to a PMD control point write. The indicated answer, not this
 * reply, ends the step; it may come before the reply, and a get-settings
 * step may have timed out: then the step is over and the reply is late.
 */
static void pmd_write_done(struct sensor *s, unsigned step, const sd_bus_error *error)
{
	char why[96];

	if (s->pmd_wait_step != step || !error)
		return;
	if (step == STEP_PMD_SETTINGS_ACC || step == STEP_PMD_SETTINGS_GYRO) {
		snprintf(why, sizeof(why), "get-settings write: %s", error->name);
		pmd_settings_done(s, false, why);
		return;
	}
	(void)sensor_event(s, BLE_EVENT_FAILED, "PMD start write: %s", error->name);
}

static void step_done(struct call *c, sd_bus_message *reply,
		      const sd_bus_error *error)
{
	struct sensor *s = c->s;
	unsigned step = c->arg;
	struct sub *sub = sub_for_step(s, step);
	const void *val;
	size_t len;
	int r;

	switch ((enum step)step) {
	case STEP_PMD_SETTINGS_ACC:
	case STEP_PMD_SETTINGS_GYRO:
	case STEP_PMD_START_ACC:
	case STEP_PMD_START_GYRO:
		pmd_write_done(s, step, error);
		return;
	default:
		break;
	}
	s->step_busy = false;
	switch ((enum step)step) {
	case STEP_READ_RSC_FEATURE:
		/* Optional: without it "walking" stays unknown. */
		if (!error && sd_bus_message_read_array(reply, 'y', &val, &len) >= 0) {
			struct rsc_feature f;

			if (rsc_feature_parse(val, len, &f, NULL) >= 0) {
				s->has_rsc_feature = true;
				s->rsc_features = f.features;
			} else {
				sensor_malformed(s, SUB_RSC, -EBADMSG);
			}
		}
		break;
	case STEP_READ_SPEED_RANGE:
		if (!error && sd_bus_message_read_array(reply, 'y', &val, &len) >= 0) {
			struct ftms_speed_range range;

			if (ftms_speed_range_parse(val, len, &range, NULL) < 0)
				sensor_malformed(s, SUB_TREADMILL, -EBADMSG);
		}
		break;
	case STEP_NOTIFY_PMD_DATA:
		if (s->cfg.prefer_acquire_notify && !sub->acquire_refused) {
			if (!error) {
				r = acquired(s, sub, reply);
				if (r < 0) {
					(void)sensor_event(s, BLE_EVENT_FAILED,
							   "AcquireNotify: %s",
							   strerror(-r));
					return;
				}
				break;
			}
			/*
			 * Refused (NotSupported, NotPermitted, InProgress, ...):
			 * fall back to StartNotify on the same step.
			 */
			sub->acquire_refused = true;
			debug(s->m, s->alias, "AcquireNotify refused (%s: %s), using StartNotify",
			      error->name, error->message ? error->message : "");
			r = plan_call(s, sub, "StartNotify", step);
			if (r < 0)
				(void)sensor_event(s, BLE_EVENT_FAILED,
						   "StartNotify: %s", strerror(-r));
			return;
		}
		_fallthrough_;
	case STEP_NOTIFY_HRM:
	case STEP_NOTIFY_RSC:
	case STEP_NOTIFY_CPS:
	case STEP_NOTIFY_TREADMILL:
	case STEP_NOTIFY_PMD_CP:
		if (error) {
			if (!sub->required)
				break;	/* optional stream (HR on a Verity) */
			(void)sensor_event(s, BLE_EVENT_FAILED,
					   "StartNotify %s: %s", sub_names[sub->kind],
					   error->name);
			return;
		}
		sub->notifying = true;
		break;
	case STEP_PMD_SETTINGS_ACC:
	case STEP_PMD_SETTINGS_GYRO:
	case STEP_PMD_START_ACC:
	case STEP_PMD_START_GYRO:
	case _STEP_MAX:
		break;
	}
	plan_advance(s);
}

/*
 * Build this connection's plan from the GATT objects BlueZ exported. Returns
 * 1 when all required characteristics exist, 0 to wait for more objects.
 */
static int plan_build(struct sensor *s)
{
	static const struct {
		enum ble_sensor_kind kind;
		enum sub_kind sub;
		bool required;
	} table[] = {
		{ BLE_SENSOR_KIND_POLAR_H10, SUB_PMD_CP, true },
		{ BLE_SENSOR_KIND_POLAR_H10, SUB_PMD_DATA, true },
		{ BLE_SENSOR_KIND_POLAR_H10, SUB_HRM, false },
		{ BLE_SENSOR_KIND_POLAR_VERITY_SENSE, SUB_PMD_CP, true },
		{ BLE_SENSOR_KIND_POLAR_VERITY_SENSE, SUB_PMD_DATA, true },
		{ BLE_SENSOR_KIND_POLAR_VERITY_SENSE, SUB_HRM, false },
		{ BLE_SENSOR_KIND_FOOTPOD, SUB_RSC, true },
		{ BLE_SENSOR_KIND_HEART_RATE, SUB_HRM, true },
		{ BLE_SENSOR_KIND_POWER, SUB_CPS, true },
		{ BLE_SENSOR_KIND_POWER, SUB_RSC, false },
		{ BLE_SENSOR_KIND_TREADMILL, SUB_TREADMILL, true },
	};
	const char *missing = NULL;

	for (unsigned i = 0; i < ELEMENTSOF(table); i++) {
		struct ble_object *o;

		if (table[i].kind != s->cfg.kind || !table[i].required)
			continue;
		o = find_char(s->m, s->device_path, sub_uuids[table[i].sub]);
		if (!o) {
			missing = sub_names[table[i].sub];
			break;
		}
	}
	s->plan_missing = missing;
	if (missing) {
		sensor_reason(s, "waiting for the %s characteristic", missing);
		return 0;
	}

	for (unsigned i = 0; i < ELEMENTSOF(table); i++) {
		struct sub *sub = &s->subs[table[i].sub];
		struct ble_object *o;

		if (table[i].kind != s->cfg.kind)
			continue;
		o = find_char(s->m, s->device_path, sub_uuids[table[i].sub]);
		if (!o)
			continue;
		if (ble_free_and_strdup(&sub->path, o->path) < 0)
			return -ENOMEM;
		sub->wanted = true;
		sub->required = table[i].required;
	}
	return 1;
}

/* In SUBSCRIBING without a plan yet: try to build and start it. */
static void sensor_try_subscribe(struct sensor *s)
{
	int r;

	if (s->state != BLE_SENSOR_STATE_SUBSCRIBING || s->step || s->step_busy)
		return;
	r = plan_build(s);
	if (r < 0) {
		(void)sensor_event(s, BLE_EVENT_FAILED, "subscribe: %s", strerror(-r));
		return;
	}
	if (r == 0)
		return;
	sensor_reason(s, "subscribing");
	plan_advance(s);
}

/* ---- connecting ------------------------------------------------------------ */

static void sensor_resolved(struct sensor *s)
{
	s->connects++;
	if (sensor_event(s, BLE_EVENT_RESOLVED, "services resolved"))
		sensor_try_subscribe(s);
}

static void connect_done(struct call *c, sd_bus_message *reply,
			 const sd_bus_error *error)
{
	struct sensor *s = c->s;
	struct ble_object *dev;

	if (error && !streq_ptr(error->name, "org.bluez.Error.AlreadyConnected")) {
		const char *what = sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY) ||
			sd_bus_error_has_name(error, SD_BUS_ERROR_TIMEOUT) ?
			"timed out" : error->name;

		bool timed_out = !streq(what, error->name);

		(void)sensor_event(s, BLE_EVENT_FAILED, "connect: %s%s%s", what,
				   !timed_out && error->message ? ": " : "",
				   !timed_out && error->message ? error->message : "");
		/* Abort the connection attempt BlueZ may still be making. */
		if (timed_out)
			sensor_disconnect(s);
		return;
	}
	if (s->state != BLE_SENSOR_STATE_CONNECTING)
		return;	/* ServicesResolved came first */
	if (!sensor_event(s, BLE_EVENT_CONNECTED, "connected, resolving services"))
		return;
	/* BlueZ replies before resolving (ble.md 2.3); it may be done already. */
	dev = ble_object_find(s->m->objects, s->device_path);
	if (dev && dev->services_resolved)
		sensor_resolved(s);
}

static void sensor_connect(struct sensor *s, struct ble_object *dev)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct ble_manager *m = s->m;
	int r;

	s->advertised = s->last_advert_usec > s->backoff_since_usec;
	if (!sensor_event(s, BLE_EVENT_CONNECT, "connecting to %s", dev->address))
		return;
	m->connecting = s;
	r = sd_event_add_time_relative(m->event, &s->timer, CLOCK_MONOTONIC,
				       m->opts.connect_timeout_usec +
				       m->opts.subscribe_timeout_usec,
				       100 * USEC_PER_MSEC, timer_subscribe, s);
	if (r >= 0)
		r = new_call(m, dev->path, BLUEZ_DEVICE, "Connect", &msg);
	/* Explicit timeout: Connect to an absent device takes ~30 s (2.7). */
	if (r >= 0)
		r = call_send(m, s, &s->calls, msg, m->opts.connect_timeout_usec,
			      connect_done, 0, NULL);
	if (r < 0)
		(void)sensor_event(s, BLE_EVENT_FAILED, "connect: %s", strerror(-r));
}

/* ---- adapter, discovery, reconcile ---------------------------------------- */

/* Pick the configured adapter, or the first powered one. */
static void adapter_select(struct ble_manager *m)
{
	struct ble_object *best = NULL;

	if (adapter_current(m))
		return;
	free(m->adapter);
	m->adapter = NULL;
	for (struct ble_object *o = m->objects; o; o = o->next) {
		if (!(o->ifaces & BLE_OBJ_ADAPTER))
			continue;
		if (m->opt_adapter[0]) {
			if (streq(path_basename(o->path), m->opt_adapter))
				best = o;
		} else if (o->powered && (!best || strcmp(o->path, best->path) < 0)) {
			best = o;
		}
	}
	if (best)
		m->adapter = strdup(best->path);
}

static const char *adapter_wait_reason(struct ble_manager *m)
{
	struct ble_object *a = adapter_current(m);

	if (!m->owner)
		return m->owner_known ? "bluetoothd is not running" :
					"looking for bluetoothd";
	if (!m->have_objects)
		return "reading BlueZ objects";
	if (!a)
		return m->opt_adapter[0] ? "waiting for the configured adapter" :
					"waiting for a powered adapter";
	if (m->power_cycle != POWER_CYCLE_NONE)
		return "adapter power cycle";
	if (a->powered && a->powering_off)
		return "adapter is powering off";
	return "adapter is powered off";
}

static bool device_on_adapter(struct ble_manager *m, struct ble_object *o)
{
	size_t n;

	if (!m->adapter)
		return false;
	if (o->adapter)
		return streq(o->adapter, m->adapter);
	n = strlen(m->adapter);
	return strncmp(o->path, m->adapter, n) == 0 && o->path[n] == '/';
}

/*
 * May s, matched by name or kind, take the device at address? Not when
 * another sensor names that address (it would wait for it forever), nor
 * when s found it lacking its kind's characteristics before.
 */
static bool sensor_may_take(struct ble_manager *m, struct sensor *s,
			    const char *address)
{
	unsigned n = s->n_lacking < SENSOR_LACKING_MAX ? s->n_lacking : SENSOR_LACKING_MAX;

	if (s->cfg_address || !address)
		return true;
	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *o = m->sensors[i];

		if (o != s && o->cfg_address && strcasecmp(o->cfg_address, address) == 0)
			return false;
	}
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(s->lacking[i], address) == 0)
			return false;
	return true;
}

/*
 * Would s, matched by name pattern or kind, take o from a free sensor that
 * wants it more: one of a kind o fits better (ble_kind_fit()), or of an
 * equal fit matched by a pattern where s has none? Then s leaves it: with a
 * heart-rate and a polar-h10 entry both by pattern "Polar*" (or by kind
 * alone), the strap entry would otherwise take the H10 if it came first,
 * and the polar-h10 entry then the plain strap (which it finds lacking), so
 * that no IMU streamed.
 */
static bool sensor_outranked(struct ble_manager *m, struct sensor *s, struct ble_object *o)
{
	int fit;

	if (s->cfg_address || !o->uuids || !o->uuids[0])
		return false;
	fit = ble_kind_fit(s->cfg.kind, o->uuids);
	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *t = m->sensors[i];
		int t_fit;

		if (t == s || t->cfg_address ||
		    (t->device_path && !streq(t->device_path, o->path)) ||
		    !sensor_may_take(m, t, o->address) ||
		    !ble_device_matches(&t->cfg, o->address, o->name, o->alias, o->uuids))
			continue;
		t_fit = ble_kind_fit(t->cfg.kind, o->uuids);
		if (t_fit > fit || (t_fit == fit && t->cfg_pattern && !s->cfg_pattern))
			return true;
	}
	return false;
}

/* The device object for s: the one it had, or a new match. */
static struct ble_object *sensor_find_device(struct ble_manager *m, struct sensor *s)
{
	struct ble_object *o;

	if (s->device_path) {
		o = ble_object_find(m->objects, s->device_path);
		if (o && (o->ifaces & BLE_OBJ_DEVICE)) {
			if (sensor_may_take(m, s, o->address))
				return o;
			/* Bound before a sensor naming its address was added. */
			s->address[0] = '\0';
		}
		free(s->device_path);
		s->device_path = NULL;
		sensor_report_link_info(s, false);
	}
	for (o = m->objects; o; o = o->next) {
		struct sensor *owner;

		if (!(o->ifaces & BLE_OBJ_DEVICE) || !device_on_adapter(m, o))
			continue;
		owner = sensor_by_device(m, o->path);
		if (owner && owner != s)
			continue;
		if (!sensor_may_take(m, s, o->address))
			continue;
		if (!ble_device_matches(&s->cfg, o->address, o->name, o->alias,
					o->uuids))
			continue;
		if (sensor_outranked(m, s, o))
			continue;
		s->device_path = strdup(o->path);
		if (!s->device_path)
			return NULL;
		if (o->address)
			snprintf(s->address, sizeof(s->address), "%s", o->address);
		/*
		 * What the device object holds is news to the user: the RSSI
		 * of the advertisement that made it match (BlueZ sends no
		 * other once discovery pauses for the Connect), or none: the
		 * device before never lends its RSSI to this one.
		 */
		sensor_report_link_info(s, false);
		return o;
	}
	return NULL;
}

static void discovery_step(struct ble_manager *m);

static int discovery_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct ble_manager *m = userdata;

	m->discovery_retry = sd_event_source_disable_unref(m->discovery_retry);
	discovery_step(m);
	return 0;
}

static void discovery_failed(struct ble_manager *m)
{
	m->discovery = DISCOVERY_OFF;
	if (!m->discovery_retry)
		(void)sd_event_add_time_relative(m->event, &m->discovery_retry,
						 CLOCK_MONOTONIC,
						 DISCOVERY_RETRY_USEC, 0,
						 discovery_retry, m);
}

static void discovery_started(struct call *c, sd_bus_message *reply,
			      const sd_bus_error *error)
{
	struct ble_manager *m = c->m;

	if (error && !sd_bus_error_has_name(error, "org.bluez.Error.InProgress")) {
		debug(m, NULL, "StartDiscovery failed (%s), retrying in 1 s", error->name);
		discovery_failed(m);
		return;
	}
	debug(m, NULL, "discovering on %s", path_basename(m->adapter));
	m->discovery = DISCOVERY_ON;
	reconcile_schedule(m);
}

static void discovery_filtered(struct call *c, sd_bus_message *reply,
			       const sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	struct ble_manager *m = c->m;

	/* A refused filter only widens what we see; we match ourselves. */
	if (!m->adapter || new_call(m, m->adapter, BLUEZ_ADAPTER,
				    "StartDiscovery", &msg) < 0 ||
	    call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC,
		      discovery_started, 0, NULL) < 0)
		discovery_failed(m);
}

static void discovery_stopped(struct call *c, sd_bus_message *reply,
			      const sd_bus_error *error)
{
	debug(c->m, NULL, "discovery stopped%s%s", error ? ": " : "",
	      error ? error->name : "");
	c->m->discovery = DISCOVERY_OFF;
	reconcile_schedule(c->m);
}

static int append_filter(struct ble_manager *m, sd_bus_message *msg)
{
	const char *uuids[16];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < m->n_sensors; i++) {
		const char *const *u = ble_kind_advertised_uuids(m->sensors[i]->cfg.kind);

		for (; u && *u; u++) {
			bool dup = false;

			for (size_t k = 0; k < n; k++)
				dup = dup || streq(uuids[k], *u);
			if (!dup && n < ELEMENTSOF(uuids))
				uuids[n++] = *u;
		}
	}

	r = sd_bus_message_open_container(msg, 'a', "{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_append(msg, "{sv}", "Transport", "s", "le");
	if (r < 0)
		return r;
	r = sd_bus_message_append(msg, "{sv}", "DuplicateData", "b", 1);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(msg, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(msg, "s", "UUIDs");
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'v', "as");
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'a', "s");
	for (size_t k = 0; r >= 0 && k < n; k++)
		r = sd_bus_message_append(msg, "s", uuids[k]);
	if (r >= 0)
		r = sd_bus_message_close_container(msg);
	if (r >= 0)
		r = sd_bus_message_close_container(msg);
	if (r >= 0)
		r = sd_bus_message_close_container(msg);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(msg);
}

/* Is any configured sensor missing (and not being connected)? */
static bool discovery_wanted(struct ble_manager *m)
{
	if (!adapter_usable(m) || m->connecting || m->connect_waiting)
		return false;
	for (size_t i = 0; i < m->n_sensors; i++) {
		enum ble_sensor_state st = m->sensors[i]->state;

		if (st == BLE_SENSOR_STATE_DISCOVERING ||
		    st == BLE_SENSOR_STATE_BACKOFF)
			return true;
	}
	return false;
}

static void discovery_step(struct ble_manager *m)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	bool want = discovery_wanted(m);
	int r;

	if (m->discovery_retry)
		return;
	if (want && m->discovery == DISCOVERY_OFF) {
		r = new_call(m, m->adapter, BLUEZ_ADAPTER, "SetDiscoveryFilter", &msg);
		if (r >= 0)
			r = append_filter(m, msg);
		if (r >= 0)
			r = call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC,
				      discovery_filtered, 0, NULL);
		if (r < 0)
			discovery_failed(m);
		else
			m->discovery = DISCOVERY_STARTING;
	} else if (!want && m->discovery == DISCOVERY_ON) {
		/* Scanning degrades connection setup (ble.md 2.8 step 2). */
		if (!adapter_current(m) || !m->owner) {
			m->discovery = DISCOVERY_OFF;
			return;
		}
		r = new_call(m, m->adapter, BLUEZ_ADAPTER, "StopDiscovery", &msg);
		if (r >= 0)
			r = call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC,
				      discovery_stopped, 0, NULL);
		m->discovery = r < 0 ? DISCOVERY_OFF : DISCOVERY_STOPPING;
	}
}

static void power_cycle_step(struct ble_manager *m);

static void reconcile_now(struct ble_manager *m)
{
	bool usable;

	adapter_select(m);
	power_cycle_step(m);
	usable = adapter_usable(m);
	m->connect_waiting = false;	/* recomputed below */

	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *s = m->sensors[i];
		struct ble_object *dev;

		if (!usable) {
			if (s->state != BLE_SENSOR_STATE_IDLE)
				(void)sensor_event(s, BLE_EVENT_ADAPTER_LOST, "%s",
						   adapter_wait_reason(m));
			else
				sensor_reason(s, "%s", adapter_wait_reason(m));
			continue;
		}
		if (s->state == BLE_SENSOR_STATE_IDLE)
			(void)sensor_event(s, BLE_EVENT_ADAPTER_READY,
					   "waiting for the device on %s",
					   path_basename(m->adapter));
		if (s->state == BLE_SENSOR_STATE_SUBSCRIBING)
			sensor_try_subscribe(s);
		if (s->state != BLE_SENSOR_STATE_DISCOVERING)
			continue;
		dev = sensor_find_device(m, s);
		if (!dev) {
			sensor_reason(s, "waiting for the device on %s",
				      path_basename(m->adapter));
			continue;
		}
		if (m->connecting && m->connecting != s) {
			sensor_reason(s, "waiting for '%s' to finish connecting",
				      m->connecting->alias);
			continue;
		}
		if (s->disconnect) {
			sensor_reason(s, "waiting for the disconnect to finish");
			continue;
		}
		if (m->connecting || m->connect_waiting)
			continue;
		/*
		 * Stop scanning before connecting (ble.md 2.8 step 2): the
		 * attempt waits until StopDiscovery has been answered.
		 */
		if (m->discovery != DISCOVERY_OFF) {
			m->connect_waiting = true;
			sensor_reason(s, "pausing discovery to connect");
			continue;
		}
		sensor_connect(s, dev);
	}
	discovery_step(m);
}

static int reconcile_run(sd_event_source *src, void *userdata)
{
	reconcile_now(userdata);
	return 0;
}

static void reconcile_schedule(struct ble_manager *m)
{
	if (m->reconcile)
		(void)sd_event_source_set_enabled(m->reconcile, SD_EVENT_ONESHOT);
}

/* ---- adapter power cycle ------------------------------------------------- */

static void power_cycle_end(struct ble_manager *m)
{
	m->power_cycle = POWER_CYCLE_NONE;
	m->power_timer = sd_event_source_disable_unref(m->power_timer);
	/* Start counting afresh: the failures before were the old adapter's. */
	for (size_t i = 0; i < m->n_sensors; i++)
		m->sensors[i]->adapter_failures = 0;
	reconcile_schedule(m);
}

static int power_timer_run(sd_event_source *src, uint64_t usec, void *userdata);

static void power_timer_arm(struct ble_manager *m, uint64_t usec)
{
	m->power_timer = sd_event_source_disable_unref(m->power_timer);
	if (sd_event_add_time(m->event, &m->power_timer, CLOCK_MONOTONIC, usec,
			      10 * USEC_PER_MSEC, power_timer_run, m) < 0) {
		m->power_timer = NULL;
		power_cycle_end(m);	/* never leave the adapter waiting */
	}
}

static void power_set_done(struct call *c, sd_bus_message *reply,
			   const sd_bus_error *error)
{
	struct ble_manager *m = c->m;
	bool on = c->arg;

	if (on && m->power_cycle == POWER_CYCLE_ON) {
		if (!error) {
			debug(m, NULL, "adapter powered on again");
			power_cycle_end(m);
		} else if (m->power_on_tries >= POWER_ON_TRIES) {
			debug(m, NULL, "Powered=true refused %u times (%s), giving up",
			      m->power_on_tries, error->name);
			power_cycle_end(m);
		} else {
			/* Busy: the power-off is still going on. */
			debug(m, NULL, "Powered=true refused (%s), retrying in %llu ms",
			      error->name,
			      (unsigned long long)(POWER_ON_RETRY_USEC / USEC_PER_MSEC));
			power_timer_arm(m, now_usec(m) + POWER_ON_RETRY_USEC);
		}
	} else if (!on && m->power_cycle == POWER_CYCLE_OFF && error) {
		debug(m, NULL, "Powered=false refused (%s), no power cycle", error->name);
		power_cycle_end(m);
	}
}

/* Adapter1.Powered = on, with its reply handled (power_set_done()). */
static int power_set(struct ble_manager *m, bool on)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	r = new_call(m, m->adapter, DBUS_PROPS, "Set", &msg);
	if (r >= 0)
		r = sd_bus_message_append(msg, "ssv", BLUEZ_ADAPTER, "Powered", "b",
					  (int)on);
	if (r >= 0)
		r = call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC,
			      power_set_done, on, NULL);
	return r;
}

static void power_on(struct ble_manager *m)
{
	int r;

	m->power_cycle = POWER_CYCLE_ON;
	m->power_on_tries++;
	r = power_set(m, true);
	if (r < 0) {
		debug(m, NULL, "Powered=true not sent (%s), retrying", strerror(-r));
		power_timer_arm(m, now_usec(m) + POWER_ON_RETRY_USEC);
	}
}

/*
 * Waiting for the power-off: once Powered=false is seen, and the adapter
 * has been off POWER_CYCLE_OFF_USEC, power it on. Called by reconcile
 * (every PropertiesChanged) and by the timer.
 */
static void power_cycle_step(struct ble_manager *m)
{
	struct ble_object *a = adapter_current(m);
	uint64_t now = now_usec(m);

	if (m->power_cycle != POWER_CYCLE_OFF)
		return;
	if (!a || !m->owner) {
		power_cycle_end(m);	/* unplugged or bluetoothd gone */
		return;
	}
	if (!a->powered && now >= m->power_off_usec + POWER_CYCLE_OFF_USEC) {
		power_on(m);
		return;
	}
	if (a->powered && now >= m->power_off_usec + POWER_CYCLE_WAIT_USEC) {
		debug(m, NULL, "adapter still powered %llu ms after Powered=false",
		      (unsigned long long)(POWER_CYCLE_WAIT_USEC / USEC_PER_MSEC));
		power_cycle_end(m);
		return;
	}
	/* Powered=false comes as a PropertiesChanged: reconcile calls us. */
	if (!m->power_timer)
		power_timer_arm(m, now < m->power_off_usec + POWER_CYCLE_OFF_USEC ?
				   m->power_off_usec + POWER_CYCLE_OFF_USEC :
				   m->power_off_usec + POWER_CYCLE_WAIT_USEC);
}

static int power_timer_run(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct ble_manager *m = userdata;

	m->power_timer = sd_event_source_disable_unref(m->power_timer);
	if (m->power_cycle == POWER_CYCLE_ON) {
		if (!m->adapter || !m->owner)
			power_cycle_end(m);
		else
			power_on(m);
	} else {
		power_cycle_step(m);
	}
	return 0;
}

/*
 * Adapter1.Powered off and on (opt-in) after power_cycle_after Connects in
 * a row failed on a device that advertised, while no sensor streams: a
 * sensor that streams shows the adapter works, and a device away is no
 * fault of the adapter.
 */
static void power_cycle_maybe(struct ble_manager *m, struct sensor *s)
{
	uint64_t now = now_usec(m);

	if (!m->opts.power_cycle_adapter || m->power_cycle != POWER_CYCLE_NONE ||
	    s->adapter_failures < m->opts.power_cycle_after || !m->adapter ||
	    !m->owner)
		return;
	if (m->last_power_cycle_usec &&
	    now - m->last_power_cycle_usec < POWER_CYCLE_MIN_USEC)
		return;
	for (size_t i = 0; i < m->n_sensors; i++)
		if (m->sensors[i]->state == BLE_SENSOR_STATE_STREAMING)
			return;
	if (power_set(m, false) < 0)
		return;
	debug(m, s->alias, "%u connects failed on an advertising device: power cycle",
	      s->adapter_failures);
	m->last_power_cycle_usec = now;
	m->power_off_usec = now;
	m->power_on_tries = 0;
	m->power_cycle = POWER_CYCLE_OFF;
	power_timer_arm(m, now + POWER_CYCLE_OFF_USEC);
	reconcile_schedule(m);
}

/* ---- signals --------------------------------------------------------------- */

static bool from_bluez(struct ble_manager *m, sd_bus_message *msg)
{
	const char *sender = sd_bus_message_get_sender(msg);

	/* sd-bus cannot check a well-known sender itself; we know the owner. */
	return m->owner && sender && streq(sender, m->owner);
}

static void device_changed(struct ble_manager *m, struct ble_object *o,
			   const struct ble_prop_changes *ch)
{
	struct sensor *s = sensor_by_device(m, o->path);

	if (!s)
		return;
	if (ch->advert) {
		uint64_t now = now_usec(m);
		uint64_t prev = s->last_advert_usec > s->backoff_since_usec ?
			s->last_advert_usec : s->backoff_since_usec;

		s->last_advert_usec = now;
		/* Back after an absence: no need to sit out the backoff. */
		if (s->state == BLE_SENSOR_STATE_BACKOFF &&
		    now - prev >= RETURN_GAP_USEC &&
		    now - s->backoff_since_usec >= BACKOFF_MIN_USEC) {
			s->timer = sd_event_source_disable_unref(s->timer);
			(void)sensor_event(s, BLE_EVENT_BACKOFF_DONE,
					   "device advertising again");
		}
	}
	if (ch->rssi || ch->battery)
		sensor_report_link_info(s, sensor_keeps_rssi(s));
	if (ch->connected && !o->connected &&
	    s->state != BLE_SENSOR_STATE_CONNECTING)
		(void)sensor_event(s, BLE_EVENT_LINK_LOST, "%s",
				   s->state == BLE_SENSOR_STATE_STALE ? s->reason :
				   "disconnected");
	else if (ch->resolved && !o->services_resolved &&
		 (s->state == BLE_SENSOR_STATE_SUBSCRIBING ||
		  s->state == BLE_SENSOR_STATE_STREAMING))
		(void)sensor_event(s, BLE_EVENT_LINK_LOST,
				   "disconnected (services unresolved)");
	else if (ch->resolved && o->services_resolved &&
		 (s->state == BLE_SENSOR_STATE_RESOLVING ||
		  s->state == BLE_SENSOR_STATE_CONNECTING))
		sensor_resolved(s);
}

static struct sub *sub_by_path(struct ble_manager *m, const char *path)
{
	for (size_t i = 0; i < m->n_sensors; i++)
		for (unsigned k = 0; k < _SUB_KIND_MAX; k++) {
			struct sub *sub = &m->sensors[i]->subs[k];

			if (sub->path && sub->notifying && streq(sub->path, path))
				return sub;
		}
	return NULL;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata,
				 sd_bus_error *ret_error)
{
	struct ble_manager *m = userdata;
	const char *path = sd_bus_message_get_path(msg);
	struct ble_prop_changes ch = {};
	struct ble_object *o;
	unsigned bit;
	int r;

	if (!from_bluez(m, msg) || !path)
		return 0;
	r = ble_props_parse_changed(m->objects, path, msg, &o, &bit, &ch);
	if (r <= 0)
		return 0;	/* not ours, or malformed: what was read stays */

	switch (bit) {
	case BLE_OBJ_CHAR:
		if (ch.has_value) {
			struct sub *sub = sub_by_path(m, path);

			if (sub)
				sub_payload(sub, ch.value, ch.value_len);
		}
		return 0;
	case BLE_OBJ_DEVICE:
		device_changed(m, o, &ch);
		break;
	case BLE_OBJ_BATTERY:
		device_changed(m, o, &ch);
		break;
	case BLE_OBJ_ADAPTER:
		/*
		 * Our discovery session ended under us (powered off, reset):
		 * start it again when still wanted.
		 */
		if (m->adapter && streq(path, m->adapter) &&
		    m->discovery == DISCOVERY_ON &&
		    ((ch.discovering && !o->discovering) || (ch.powered && !o->powered)))
			m->discovery = DISCOVERY_OFF;
		break;
	default:
		return 0;
	}
	reconcile_schedule(m);
	return 0;
}

static int on_interfaces_added(sd_bus_message *msg, void *userdata,
			       sd_bus_error *ret_error)
{
	struct ble_manager *m = userdata;
	const char *path;
	struct ble_object *o;
	struct sensor *s;

	if (!from_bluez(m, msg))
		return 0;
	if (sd_bus_message_read_basic(msg, 'o', &path) <= 0)
		return 0;
	(void)ble_props_parse_interfaces(&m->objects, path, msg);
	o = ble_object_find(m->objects, path);
	s = o ? sensor_by_device(m, path) : NULL;
	if (s && o->battery >= 0) {
		struct ble_prop_changes ch = { .battery = true };

		device_changed(m, o, &ch);
	}
	reconcile_schedule(m);
	return 0;
}

static void object_gone(struct ble_manager *m, const char *path)
{
	struct sensor *s = sensor_by_device(m, path);

	if (s) {
		(void)sensor_event(s, BLE_EVENT_LINK_LOST, "device removed");
		free(s->device_path);
		s->device_path = NULL;
		sensor_report_link_info(s, false);
	}
	/* A characteristic we use vanished (Service Changed, Cache = no). */
	for (size_t i = 0; i < m->n_sensors; i++)
		for (unsigned k = 0; k < _SUB_KIND_MAX; k++) {
			struct sub *sub = &m->sensors[i]->subs[k];

			if (sub->path && sub->wanted && streq(sub->path, path))
				(void)sensor_event(m->sensors[i], BLE_EVENT_LINK_LOST,
						   "%s characteristic removed",
						   sub_names[k]);
		}
}

static int on_interfaces_removed(sd_bus_message *msg, void *userdata,
				 sd_bus_error *ret_error)
{
	struct ble_manager *m = userdata;
	struct ble_object *o;
	struct sensor *s;

	if (!from_bluez(m, msg))
		return 0;
	if (ble_props_parse_removed(m->objects, msg, &o) < 0 || !o)
		return 0;
	if (!(o->ifaces & (BLE_OBJ_DEVICE | BLE_OBJ_CHAR | BLE_OBJ_ADAPTER)))
		object_gone(m, o->path);
	/* Battery1 goes when the link drops (BlueZ's battery plugin). */
	s = sensor_by_device(m, o->path);
	if (s)
		sensor_report_link_info(s, sensor_keeps_rssi(s));
	if (!o->ifaces)
		ble_object_remove(&m->objects, o);
	reconcile_schedule(m);
	return 0;
}

/* After GetManagedObjects (re)built the mirror: drop what no longer exists. */
static void mirror_rebuilt(struct ble_manager *m)
{
	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *s = m->sensors[i];

		if (s->device_path && !ble_object_find(m->objects, s->device_path))
			object_gone(m, s->device_path);
		else
			sensor_report_link_info(s, sensor_keeps_rssi(s));
	}
	reconcile_schedule(m);
}

/* The three calls that (re)start following BlueZ retry each other. */
static void bluez_retry_later(struct ble_manager *m);
static void got_owner(struct call *c, sd_bus_message *reply,
		      const sd_bus_error *error);

static void got_objects(struct call *c, sd_bus_message *reply,
			const sd_bus_error *error)
{
	struct ble_manager *m = c->m;
	int r;

	if (error) {
		/* Gone again (NameOwnerChanged follows) or just slow: retry. */
		debug(m, NULL, "GetManagedObjects failed (%s)", error->name);
		if (m->owner)
			bluez_retry_later(m);
		return;
	}

	/* A snapshot newer than every signal before it: replace the mirror. */
	ble_objects_clear(&m->objects);
	r = ble_props_parse_managed(&m->objects, reply);
	if (r < 0)
		debug(m, NULL, "GetManagedObjects reply malformed (%s)", strerror(-r));
	m->have_objects = true;
	mirror_rebuilt(m);
}

static void bluez_lost(struct ble_manager *m)
{
	debug(m, NULL, "org.bluez has no owner");
	free(m->owner);
	m->owner = NULL;
	m->have_objects = false;
	m->discovery = DISCOVERY_OFF;
	m->bluez_retry = sd_event_source_disable_unref(m->bluez_retry);
	calls_cancel_all(&m->calls);
	if (m->power_cycle != POWER_CYCLE_NONE)
		power_cycle_end(m);	/* its Set calls are gone */
	ble_objects_clear(&m->objects);
	free(m->adapter);
	m->adapter = NULL;
	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *s = m->sensors[i];

		s->disconnect = call_cancel(s->disconnect);
		(void)sensor_event(s, BLE_EVENT_ADAPTER_LOST,
				   "bluetoothd is not running");
		sensor_report_link_info(s, false);	/* if it was idle already */
	}
	reconcile_schedule(m);
}

static int request_objects(struct ble_manager *m)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	r = sd_bus_message_new_method_call(m->bus, &msg, BLUEZ_SERVICE, "/",
					   DBUS_OM, "GetManagedObjects");
	if (r < 0)
		return r;
	return call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC, got_objects,
			 0, NULL);
}

static int request_owner(struct ble_manager *m)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	r = sd_bus_message_new_method_call(m->bus, &msg, "org.freedesktop.DBus",
					   "/org/freedesktop/DBus",
					   "org.freedesktop.DBus", "GetNameOwner");
	if (r < 0)
		return r;
	r = sd_bus_message_append(msg, "s", BLUEZ_SERVICE);
	if (r < 0)
		return r;
	return call_send(m, NULL, &m->calls, msg, CALL_TIMEOUT_USEC, got_owner, 0,
			 NULL);
}

static int bluez_retry_run(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct ble_manager *m = userdata;
	int r;

	m->bluez_retry = sd_event_source_disable_unref(m->bluez_retry);
	if (!m->owner)
		r = request_owner(m);
	else if (!m->have_objects)
		r = request_objects(m);
	else
		return 0;
	if (r < 0)
		bluez_retry_later(m);
	return 0;
}

/* A lost or timed-out call to the bus or bluetoothd: ask again in 1 s. */
static void bluez_retry_later(struct ble_manager *m)
{
	if (!m->bluez_retry)
		(void)sd_event_add_time_relative(m->event, &m->bluez_retry,
						 CLOCK_MONOTONIC, USEC_PER_SEC, 0,
						 bluez_retry_run, m);
}

static void bluez_found(struct ble_manager *m, const char *owner)
{
	debug(m, NULL, "org.bluez is owned by %s", owner);
	if (m->owner)
		bluez_lost(m);
	m->owner = strdup(owner);
	if (!m->owner)
		return;
	if (request_objects(m) < 0)
		bluez_retry_later(m);
	reconcile_schedule(m);
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata,
				 sd_bus_error *ret_error)
{
	struct ble_manager *m = userdata;
	const char *name, *old, *new;

	if (sd_bus_message_read(msg, "sss", &name, &old, &new) < 0 ||
	    !streq(name, BLUEZ_SERVICE))
		return 0;
	m->owner_known = true;
	if (!new || !*new)
		bluez_lost(m);
	else
		bluez_found(m, new);
	return 0;
}

static void got_owner(struct call *c, sd_bus_message *reply,
		      const sd_bus_error *error)
{
	struct ble_manager *m = c->m;
	const char *owner;

	if (error && !sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
		bluez_retry_later(m);	/* the bus did not answer: ask again */
		return;
	}
	m->owner_known = true;
	if (error || sd_bus_message_read(reply, "s", &owner) < 0) {
		reconcile_schedule(m);	/* not running: NameOwnerChanged later */
		return;
	}
	if (!m->owner)
		bluez_found(m, owner);
}

/* ---- public API -------------------------------------------------------------- */

static struct sensor *sensor_free(struct sensor *s)
{
	if (!s)
		return NULL;
	sensor_drop_link(s, true);
	s->disconnect = call_cancel(s->disconnect);
	s->timer = sd_event_source_disable_unref(s->timer);
	s->pmd_timer = sd_event_source_disable_unref(s->pmd_timer);
	free(s->alias);
	free(s->cfg_address);
	free(s->cfg_pattern);
	free(s->device_path);
	free(s->frame);
	free(s->imu);
	free(s->out);
	free(s);
	return NULL;
}

/*
 * BlueZ keeps a link up after its client leaves: release the sensors we
 * hold (notify sessions, then the link), so they stop streaming into
 * nowhere and a watch or phone can have them. Once only.
 */
static void manager_release(struct ble_manager *m)
{
	if (m->released)
		return;
	m->released = true;
	for (size_t i = 0; i < m->n_sensors; i++) {
		struct sensor *s = m->sensors[i];
		struct ble_object *dev = s->device_path ?
			ble_object_find(m->objects, s->device_path) : NULL;

		for (unsigned k = 0; k < _SUB_KIND_MAX; k++)
			sub_close(s, &s->subs[k], true);
		/*
		 * A Connect still pending is BlueZ's LE connection attempt: it
		 * would complete after we are gone. Disconnect cancels it, as
		 * on the Connect timeout.
		 */
		if (m->owner && dev && ble_state_is_linked(s->state) &&
		    (dev->connected || s->state == BLE_SENSOR_STATE_CONNECTING))
			call_forget(m, s->device_path, BLUEZ_DEVICE, "Disconnect");
	}
}

/*
 * sd-bus closes an attached bus when the loop exits: send the release
 * messages before that (this exit source runs first).
 */
static int on_loop_exit(sd_event_source *src, void *userdata)
{
	manager_release(userdata);
	return 0;
}

struct ble_manager *ble_manager_free(struct ble_manager *m)
{
	if (!m)
		return NULL;
	manager_release(m);
	for (size_t i = 0; i < m->n_sensors; i++) {
		m->connecting = NULL;
		sensor_free(m->sensors[i]);
	}
	free(m->sensors);
	sd_event_source_disable_unref(m->exit_source);
	calls_cancel_all(&m->calls);
	sd_bus_slot_unref(m->match_added);
	sd_bus_slot_unref(m->match_removed);
	sd_bus_slot_unref(m->match_props);
	sd_bus_slot_unref(m->match_owner);
	sd_event_source_disable_unref(m->reconcile);
	sd_event_source_disable_unref(m->discovery_retry);
	sd_event_source_disable_unref(m->bluez_retry);
	sd_event_source_disable_unref(m->power_timer);
	ble_objects_clear(&m->objects);
	free(m->owner);
	free(m->adapter);
	sd_bus_unref(m->bus);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

DEFINE_FREEP(struct ble_manager, ble_manager_free);

int ble_manager_new(sd_bus *bus, sd_event *event,
		    const struct ble_options *options,
		    const struct ble_callbacks *callbacks, void *userdata,
		    struct ble_manager **ret)
{
	_cleanup_(ble_manager_freep) struct ble_manager *m = NULL;
	int r;

	if (!bus || !event || !ret)
		return -EINVAL;
	/* "hci0": an object name, never long */
	if (options && options->adapter &&
	    (strlen(options->adapter) >= sizeof(m->opt_adapter) ||
	     strchr(options->adapter, '/')))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bus = sd_bus_ref(bus);
	m->event = sd_event_ref(event);
	m->next_id = 1;
	if (options)
		m->opts = *options;
	m->opts.adapter = NULL;
	if (options && options->adapter)
		strcpy(m->opt_adapter, options->adapter);	/* length checked */
	if (!m->opts.max_sensors)
		m->opts.max_sensors = BLE_MAX_SENSORS_DEFAULT;
	if (!m->opts.power_cycle_after)
		m->opts.power_cycle_after = POWER_CYCLE_AFTER;
	if (!m->opts.connect_timeout_usec)
		m->opts.connect_timeout_usec = CONNECT_TIMEOUT_USEC;
	if (!m->opts.subscribe_timeout_usec)
		m->opts.subscribe_timeout_usec = SUBSCRIBE_TIMEOUT_USEC;
	if (callbacks)
		m->cb = *callbacks;
	m->userdata = userdata;

	r = sd_event_add_exit(event, &m->exit_source, on_loop_exit, m);
	if (r < 0)
		return r;
	r = sd_event_source_set_priority(m->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
	if (r < 0)
		return r;
	r = sd_event_add_defer(event, &m->reconcile, reconcile_run, m);
	if (r < 0)
		return r;
	r = sd_event_source_set_enabled(m->reconcile, SD_EVENT_ONESHOT);
	if (r < 0)
		return r;

	/* Matches first, then the snapshot: nothing in between is missed (2.6). */
	r = sd_bus_add_match_async(bus, &m->match_owner,
				   "type='signal',sender='org.freedesktop.DBus',"
				   "path='/org/freedesktop/DBus',"
				   "interface='org.freedesktop.DBus',"
				   "member='NameOwnerChanged',arg0='" BLUEZ_SERVICE "'",
				   on_name_owner_changed, NULL, m);
	if (r < 0)
		return r;
	r = sd_bus_add_match_async(bus, &m->match_added,
				   "type='signal',sender='" BLUEZ_SERVICE "',path='/',"
				   "interface='" DBUS_OM "',member='InterfacesAdded'",
				   on_interfaces_added, NULL, m);
	if (r < 0)
		return r;
	r = sd_bus_add_match_async(bus, &m->match_removed,
				   "type='signal',sender='" BLUEZ_SERVICE "',path='/',"
				   "interface='" DBUS_OM "',member='InterfacesRemoved'",
				   on_interfaces_removed, NULL, m);
	if (r < 0)
		return r;
	r = sd_bus_add_match_async(bus, &m->match_props,
				   "type='signal',sender='" BLUEZ_SERVICE "',"
				   "interface='" DBUS_PROPS "',member='PropertiesChanged',"
				   "path_namespace='/org/bluez'",
				   on_properties_changed, NULL, m);
	if (r < 0)
		return r;

	r = request_owner(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(m);
	return 0;
}

int ble_manager_add_sensor(struct ble_manager *m,
			   const struct ble_sensor_config *config,
			   unsigned *ret_id)
{
	struct sensor **v, *s;
	char a[BLE_ADDRESS_STRLEN];

	if (!m || !config || !ret_id || !config->alias || !*config->alias ||
	    !ble_sensor_kind_to_string(config->kind))
		return -EINVAL;
	if (config->address && ble_address_normalize(config->address, a) < 0)
		return -EINVAL;
	if (config->cadence_multiplier < 0 || !isfinite(config->cadence_multiplier))
		return -EINVAL;
	for (size_t i = 0; i < m->n_sensors; i++)
		if (streq(m->sensors[i]->alias, config->alias))
			return -EINVAL;
	if (m->n_sensors >= m->opts.max_sensors)
		return -E2BIG;

	v = reallocarray(m->sensors, m->n_sensors + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->sensors = v;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->cfg = *config;
	s->battery = -1;
	for (unsigned i = 0; i < _SUB_KIND_MAX; i++) {
		s->subs[i].s = s;
		s->subs[i].kind = i;
		s->subs[i].fd = -EBADF;
	}
	s->alias = strdup(config->alias);
	s->cfg_address = config->address ? strdup(a) : NULL;
	s->cfg_pattern = config->name_pattern ? strdup(config->name_pattern) : NULL;
	if (!s->alias || (config->address && !s->cfg_address) ||
	    (config->name_pattern && !s->cfg_pattern))
		return sensor_free(s), -ENOMEM;
	if (s->cfg.kind == BLE_SENSOR_KIND_POLAR_H10 ||
	    s->cfg.kind == BLE_SENSOR_KIND_POLAR_VERITY_SENSE) {
		s->frame = malloc(sizeof(*s->frame));
		s->out = calloc(BLE_IMU_FIFO, sizeof(*s->out));
		s->imu = calloc(1, sizeof(*s->imu));
		if (!s->frame || !s->out || !s->imu)
			return sensor_free(s), -ENOMEM;
		/* Until a PMD start says otherwise. */
		s->imu->rate_hz = table_rate(s, imu_rate_wanted(s));
		s->imu->gyro = gyro_wanted(s);
	}
	s->cfg.alias = s->alias;
	s->cfg.address = s->cfg_address;
	s->cfg.name_pattern = s->cfg_pattern;
	if (s->cfg.cadence_multiplier == 0)
		s->cfg.cadence_multiplier = 1.0;
	ftms_treadmill_merge_init(&s->ftms);
	pmd_cp_assembler_init(&s->pmd_cp);
	s->pmd_wait_step = _STEP_MAX;
	s->state = BLE_SENSOR_STATE_IDLE;
	snprintf(s->reason, sizeof(s->reason), "starting");
	s->id = m->next_id++;
	m->sensors[m->n_sensors++] = s;
	reconcile_schedule(m);
	*ret_id = s->id;
	return 0;
}

int ble_manager_remove_sensor(struct ble_manager *m, unsigned id)
{
	for (size_t i = 0; m && i < m->n_sensors; i++) {
		struct sensor *s = m->sensors[i];

		if (s->id != id)
			continue;
		memmove(&m->sensors[i], &m->sensors[i + 1],
			(m->n_sensors - i - 1) * sizeof(*m->sensors));
		m->n_sensors--;
		sensor_free(s);
		reconcile_schedule(m);
		return 0;
	}
	return -ENOENT;
}

int ble_manager_get_sensor(struct ble_manager *m, unsigned id,
			   struct ble_sensor_info *ret)
{
	struct sensor *s = m ? sensor_by_id(m, id) : NULL;
	unsigned subs = 0;

	if (!s || !ret)
		return -ENOENT;
	for (unsigned i = 0; i < _SUB_KIND_MAX; i++)
		subs += s->subs[i].notifying || s->subs[i].acquired;
	*ret = (struct ble_sensor_info) {
		.alias = s->alias,
		.kind = s->cfg.kind,
		.state = s->state,
		.reason = s->reason,
		.available = s->state == BLE_SENSOR_STATE_STREAMING,
		.address = s->address[0] ? s->address : NULL,
		.connects = s->connects,
		.failures = s->failures,
		.subscriptions = subs,
		.notifications = s->notifications,
		.malformed = s->malformed,
		.frames_lost = s->frames_lost,
		.gyro_frames_lost = s->gyro_frames_lost,
		.last_seen_usec = s->last_seen_usec,
		.battery_pct = s->battery,
		.has_rssi = s->has_rssi,
		.rssi_dbm = s->rssi,
	};
	return 0;
}

const char *ble_manager_adapter(struct ble_manager *m)
{
	return m && m->adapter ? path_basename(m->adapter) : NULL;
}

bool ble_manager_bluez_present(struct ble_manager *m)
{
	return m && m->owner;
}
