// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: the org.bluez objects - ObjectManager, Adapter1, Device1, Battery1, GATT. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "common/macro.h"
#include "tools/bluez-sim/sim.h"

#define BLUEZ_ERROR(x) "org.bluez.Error." x
#define BLUEZ_BASE_UUID "-0000-1000-8000-00805f9b34fb"

/* ---- time --------------------------------------------------------------- */

uint64_t sim_mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t sim_now_usec(const struct sim *sim)
{
	return (uint64_t)((double)(sim_mono_usec() - sim->start_usec) * sim->time_scale);
}

uint64_t sim_real_at(const struct sim *sim, uint64_t sim_usec)
{
	return sim->start_usec + (uint64_t)((double)sim_usec / sim->time_scale);
}

static int timer_arm(struct sim *sim, sd_event_source **s, uint64_t usec,
		     sd_event_time_handler_t cb, void *userdata)
{
	int r;

	if (*s) {
		r = sd_event_source_set_time(*s, usec);
		if (r < 0)
			return r;
		return sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
	}
	return sd_event_add_time(sim->event, s, CLOCK_MONOTONIC, usec, 1000, cb, userdata);
}

static void timer_cancel(sd_event_source **s)
{
	*s = sd_event_source_disable_unref(*s);
}

/* ---- UUIDs -------------------------------------------------------------- */

int uuid_normalize(const char *in, char out[SIM_UUID_MAX])
{
	size_t n = strlen(in);

	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)in[i]) &&
		    !(n == 36 && (i == 8 || i == 13 || i == 18 || i == 23) && in[i] == '-'))
			return -EINVAL;

	if (n == 4)
		snprintf(out, SIM_UUID_MAX, "0000%s" BLUEZ_BASE_UUID, in);
	else if (n == 8)
		snprintf(out, SIM_UUID_MAX, "%s" BLUEZ_BASE_UUID, in);
	else if (n == 36 && in[8] == '-' && in[13] == '-' && in[18] == '-' && in[23] == '-')
		snprintf(out, SIM_UUID_MAX, "%s", in);
	else
		return -EINVAL;

	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* ---- sending, with SetLatency ----------------------------------------- */

static void char_deliver(struct sim_char *ch, const uint8_t *buf, size_t len);

static int deferred_run(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim *sim = userdata;
	uint64_t now = sim_mono_usec();

	while (sim->deferred_head && sim->deferred_head->due_usec <= now) {
		struct deferred *d = sim->deferred_head;

		sim->deferred_head = d->next;
		if (!sim->deferred_head)
			sim->deferred_tail = NULL;
		if (d->msg) {
			(void)sd_bus_send(sim->bus, d->msg, NULL);
			sd_bus_message_unref(d->msg);
		} else if (d->dev->connected && d->dev->link_gen == d->link_gen) {
			char_deliver(&d->dev->chars[d->char_index], d->data, d->len);
		}
		free(d);
	}
	if (sim->deferred_head)
		(void)timer_arm(sim, &sim->deferred_timer, sim->deferred_head->due_usec,
				deferred_run, sim);
	return 0;
}

static int deferred_push(struct sim *sim, struct deferred *d)
{
	d->due_usec = sim_mono_usec() + (uint64_t)sim->latency_ms * 1000;
	if (sim->deferred_tail)
		sim->deferred_tail->next = d;
	else
		sim->deferred_head = d;
	sim->deferred_tail = d;
	if (sim->deferred_head == d)
		return timer_arm(sim, &sim->deferred_timer, d->due_usec, deferred_run, sim);
	return 0;
}

/* Flush held-back replies now and drop held-back notifications. */
static void deferred_flush(struct sim *sim)
{
	while (sim->deferred_head) {
		struct deferred *d = sim->deferred_head;

		sim->deferred_head = d->next;
		if (d->msg) {
			(void)sd_bus_send(sim->bus, d->msg, NULL);
			sd_bus_message_unref(d->msg);
		}
		free(d);
	}
	sim->deferred_tail = NULL;
	timer_cancel(&sim->deferred_timer);
}

int sim_send(struct sim *sim, sd_bus_message *m)
{
	struct deferred *d;

	if (!sim->latency_ms)
		return sd_bus_send(sim->bus, m, NULL);

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->msg = sd_bus_message_ref(m);
	return deferred_push(sim, d);
}

int sim_reply_error(struct sim *sim, sd_bus_message *call, const char *name,
		    const char *message)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_errorf(call, &reply, name, "%s", message);
	if (r < 0)
		return r;
	r = sim_send(sim, reply);
	return r < 0 ? r : 1;
}

static int sim_reply_empty(struct sim *sim, sd_bus_message *call)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(call, &reply);
	if (r < 0)
		return r;
	r = sim_send(sim, reply);
	return r < 0 ? r : 1;
}

/*
 * btd_adapter_get_powered(): powered, and no Powered change under way. While
 * a power-off runs, Connect and discovery calls are NotReady.
 */
static bool adapter_ready(const struct sim *sim)
{
	return sim->powered && !sim->power_off_timer;
}

static void emit_changed(struct sim *sim, const char *path, const char *iface,
			 const char *prop)
{
	if (!sim->restarting)
		(void)sd_bus_emit_properties_changed(sim->bus, path, iface, prop, NULL);
}

/* ---- notifications -------------------------------------------------------- */

unsigned device_subscriptions(const struct sim_device *dev)
{
	unsigned n = 0;

	for (unsigned i = 0; i < dev->n_chars; i++)
		n += dev->chars[i].n_sessions + (dev->chars[i].acquired_fd >= 0);
	return n;
}

static void char_deliver(struct sim_char *ch, const uint8_t *buf, size_t len)
{
	struct sim_device *dev = ch->dev;

	if (ch->acquired_fd >= 0) {
		/* One packet per notification, as gatt-client.c notify_io_cb. */
		if (send(ch->acquired_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return;
		dev->stat_notifications++;
		return;
	}
	if (!ch->n_sessions)
		return;		/* CCCD off: the device sends nothing */

	memcpy(ch->value, buf, len);
	ch->value_len = len;
	/* Emitted for every notification even if Value is unchanged. */
	emit_changed(dev->sim, ch->path, "org.bluez.GattCharacteristic1", "Value");
	dev->stat_notifications++;
}

void char_notify(struct sim_char *ch, const uint8_t *buf, size_t len)
{
	struct sim_device *dev = ch->dev;
	struct sim *sim = dev->sim;
	struct deferred *d;

	if (!dev->services_resolved || len > SIM_VALUE_MAX || len > (size_t)dev->mtu - 3)
		return;
	if (!sim->latency_ms) {
		char_deliver(ch, buf, len);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->dev = dev;
	d->char_index = ch->index;
	d->link_gen = dev->link_gen;
	d->len = len;
	memcpy(d->data, buf, len);
	(void)deferred_push(sim, d);
}

static void char_release_acquired(struct sim_char *ch)
{
	if (ch->acquired_fd < 0)
		return;
	ch->acquired_source = sd_event_source_disable_unref(ch->acquired_source);
	close_nointr(ch->acquired_fd);
	ch->acquired_fd = -EBADF;
	free(ch->acquired_owner);
	ch->acquired_owner = NULL;
	ch->notify_acquired = 0;
	if (ch->slot)
		emit_changed(ch->dev->sim, ch->path, "org.bluez.GattCharacteristic1",
			     "NotifyAcquired");
}

static void char_drop_session(struct sim_char *ch, unsigned i)
{
	free(ch->sessions[i]);
	ch->sessions[i] = ch->sessions[--ch->n_sessions];
	ch->sessions[ch->n_sessions] = NULL;
	/*
	 * gatt-client.c update_notifying(): Notifying ends with the last
	 * registered session; while disconnected none is registered.
	 */
	if (ch->notifying && (!ch->n_sessions || !ch->dev->connected)) {
		ch->notifying = 0;
		ch->cccd[0] = 0;
		if (ch->slot)
			emit_changed(ch->dev->sim, ch->path,
				     "org.bluez.GattCharacteristic1", "Notifying");
	}
}

/* ---- property getters shared by several interfaces ------------------------ */

static int get_string_array(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	/* userdata points at a char[] inside the object (vtable offset). */
	return sd_bus_message_append_basic(reply, 's', userdata);
}

static int get_empty_ao(sd_bus *bus, const char *path, const char *interface,
			const char *property, sd_bus_message *reply, void *userdata,
			sd_bus_error *error)
{
	return sd_bus_message_append(reply, "ao", 0);
}

/*
 * Characteristic1.Service, Service1.Device, Device1.Adapter: the path of
 * the object one level up, told apart by the interface.
 */
static int get_parent_path(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	const char *parent;

	if (streq(interface, "org.bluez.GattCharacteristic1"))
		parent = ((const struct sim_char *)userdata)->service->path;
	else if (streq(interface, "org.bluez.GattService1"))
		parent = ((const struct sim_service *)userdata)->dev->path;
	else
		parent = ((const struct sim_device *)userdata)->sim->adapter_path;
	return sd_bus_message_append_basic(reply, 'o', parent);
}

/* ---- GattDescriptor1 (CCCD) ---------------------------------------------- */

static int desc_get_uuid(sd_bus *bus, const char *path, const char *interface,
			 const char *property, sd_bus_message *reply, void *userdata,
			 sd_bus_error *error)
{
	return sd_bus_message_append_basic(reply, 's', "00002902" BLUEZ_BASE_UUID);
}

static int desc_get_value(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	struct sim_char *ch = userdata;

	return sd_bus_message_append_array(reply, 'y', ch->cccd, sizeof(ch->cccd));
}

static int desc_read_value(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append_array(reply, 'y', ch->cccd, sizeof(ch->cccd));
	if (r < 0)
		return r;
	r = sim_send(ch->dev->sim, reply);
	return r < 0 ? r : 1;
}

static int desc_write_value(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;

	/* BlueZ refuses CCCD writes: StartNotify/StopNotify own them. */
	return sim_reply_error(ch->dev->sim, m, BLUEZ_ERROR("NotPermitted"),
			       "Write not permitted");
}

static const sd_bus_vtable desc_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("UUID", "s", desc_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Characteristic", "o", NULL, offsetof(struct sim_char, path),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", desc_get_value, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_ARGS("ReadValue", SD_BUS_ARGS("a{sv}", options),
				SD_BUS_RESULT("ay", value), desc_read_value, 0),
	SD_BUS_METHOD_WITH_ARGS("WriteValue", SD_BUS_ARGS("ay", value, "a{sv}", options),
				SD_BUS_NO_RESULT, desc_write_value, 0),
	SD_BUS_VTABLE_END,
};

/* ---- GattCharacteristic1 ------------------------------------------------- */

static int char_get_value(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	struct sim_char *ch = userdata;

	return sd_bus_message_append_array(reply, 'y', ch->value, ch->value_len);
}

static int char_get_flags(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	static const char *const names[8] = {
		"broadcast", "read", "write-without-response", "write",
		"notify", "indicate", "authenticated-signed-writes", NULL,
	};
	struct sim_char *ch = userdata;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	if (r < 0)
		return r;
	for (unsigned i = 0; i < 7; i++)
		if (ch->props & (1u << i)) {
			r = sd_bus_message_append_basic(reply, 's', names[i]);
			if (r < 0)
				return r;
		}
	return sd_bus_message_close_container(reply);
}

static int char_get_mtu(sd_bus *bus, const char *path, const char *interface,
			const char *property, sd_bus_message *reply, void *userdata,
			sd_bus_error *error)
{
	struct sim_char *ch = userdata;

	return sd_bus_message_append_basic(reply, 'q', &ch->dev->mtu);
}

/* Parse an options a{sv} of ReadValue/WriteValue: offset (q), type (s). */
static int read_gatt_options(sd_bus_message *m, uint16_t *ret_offset, char *type,
			     size_t type_len)
{
	int r;

	*ret_offset = 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *s;

		r = sd_bus_message_read_basic(m, 's', &key);
		if (r < 0)
			return r;
		if (streq(key, "offset")) {
			r = sd_bus_message_read(m, "v", "q", ret_offset);
		} else if (streq(key, "type") && type) {
			r = sd_bus_message_read(m, "v", "s", &s);
			if (r >= 0)
				snprintf(type, type_len, "%s", s);
		} else {
			r = sd_bus_message_skip(m, "v");
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int char_read_value(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	struct sim *sim = ch->dev->sim;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint8_t old[SIM_VALUE_MAX];
	size_t old_len = ch->value_len;
	uint16_t offset;
	int r;

	r = read_gatt_options(m, &offset, NULL, 0);
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	if (!ch->dev->connected)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "Not connected");
	if (!(ch->props & GATT_PROP_READ))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotPermitted"),
				       "Read not permitted");

	memcpy(old, ch->value, old_len);
	r = profile_read(ch);
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
				       "Operation failed with ATT error: 0x0e");
	if (offset > ch->value_len)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidOffset"),
				       "Invalid offset");

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append_array(reply, 'y', ch->value + offset,
					ch->value_len - offset);
	if (r < 0)
		return r;
	r = sim_send(sim, reply);
	if (r < 0)
		return r;
	/* The read refreshes BlueZ's cache; PropertiesChanged if it changed. */
	if (old_len != ch->value_len || memcmp(old, ch->value, old_len))
		emit_changed(sim, ch->path, "org.bluez.GattCharacteristic1", "Value");
	return 1;
}

static int char_write_value(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	struct sim *sim = ch->dev->sim;
	const void *data;
	size_t len;
	char type[16] = "";
	uint8_t ind[SIM_VALUE_MAX];
	size_t ind_len = 0;
	uint16_t offset;
	int r;

	r = sd_bus_message_read_array(m, 'y', &data, &len);
	if (r >= 0)
		r = read_gatt_options(m, &offset, type, sizeof(type));
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	if (!ch->dev->connected)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "Not connected");
	if (*type && !streq(type, "command") && !streq(type, "request") &&
	    !streq(type, "reliable"))
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	if (streq(type, "command") && !(ch->props & GATT_PROP_WRITE_NO_RESP))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotSupported"),
				       "Operation is not supported");
	if (!streq(type, "command") && !(ch->props & GATT_PROP_WRITE))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotPermitted"),
				       "Write not permitted");
	if (len > SIM_VALUE_MAX || offset)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidValueLength"),
				       "Invalid value length");

	r = profile_write(ch, data, len, ind, &ind_len);
	if (r == -EBADR)	/* ATT 0xFD: CCCD improperly configured */
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
				       "Operation failed with ATT error: 0xfd");
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
				       "Operation failed with ATT error: 0x80");

	memcpy(ch->value, data, len);
	ch->value_len = len;
	r = sim_reply_empty(sim, m);
	/* The response indication follows the ATT write response. */
	if (ind_len)
		char_notify(ch, ind, ind_len);
	return r;
}

static int char_start_notify(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	struct sim *sim = ch->dev->sim;
	const char *sender = sd_bus_message_get_sender(m);

	/* characteristic_start_notify(): not while the device is disconnecting. */
	if (ch->dev->disconnect_msg)
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotConnected"), "Not Connected");
	if (ch->acquired_fd >= 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotPermitted"),
				       "Notify acquired");
	if (!(ch->props & (GATT_PROP_NOTIFY | GATT_PROP_INDICATE)))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotSupported"),
				       "Operation is not supported");
	if (!sender)
		sender = "";
	/*
	 * Same client again: a no-op while its session is registered; a
	 * session kept across a disconnect is registered only on reconnect.
	 */
	for (unsigned i = 0; i < ch->n_sessions; i++)
		if (streq(ch->sessions[i], sender))
			return ch->dev->connected ? sim_reply_empty(sim, m) :
				sim_reply_error(sim, m, BLUEZ_ERROR("InProgress"),
						"In Progress");
	if (ch->n_sessions == SIM_MAX_SESSIONS)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "Too many clients");

	ch->sessions[ch->n_sessions] = strdup(sender);
	if (!ch->sessions[ch->n_sessions])
		return -ENOMEM;
	ch->n_sessions++;
	ch->dev->stat_start_notify++;
	/* Not connected (cached objects): registered when it reconnects. */
	if (!ch->dev->connected)
		return sim_reply_empty(sim, m);
	/* CCCD: bit 0 notifications, bit 1 indications. */
	ch->cccd[0] = ch->props & GATT_PROP_NOTIFY ? 0x01 : 0x02;
	if (!ch->notifying) {
		ch->notifying = 1;
		emit_changed(sim, ch->path, "org.bluez.GattCharacteristic1", "Notifying");
	}
	return sim_reply_empty(sim, m);
}

static int char_stop_notify(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	struct sim *sim = ch->dev->sim;
	const char *sender = sd_bus_message_get_sender(m);

	for (unsigned i = 0; sender && i < ch->n_sessions; i++)
		if (streq(ch->sessions[i], sender)) {
			char_drop_session(ch, i);
			return sim_reply_empty(sim, m);
		}
	return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "No notify session started");
}

static int acquired_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct sim_char *ch = userdata;
	uint8_t buf[64];

	if (revents & EPOLLIN) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			return 0;	/* clients have nothing to say here */
	}
	/* Peer closed its end: the client released the notify session. */
	char_release_acquired(ch);
	return 0;
}

static int char_acquire_notify(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;
	struct sim *sim = ch->dev->sim;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_close_ int theirs = -EBADF;
	int fds[2], r;

	r = sd_bus_message_skip(m, "a{sv}");
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	if (!ch->dev->connected)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "Not connected");
	if (ch->acquired_fd >= 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotPermitted"),
				       "Notify acquired");
	if (!(ch->props & GATT_PROP_NOTIFY))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotSupported"),
				       "Operation is not supported");
	if (ch->n_sessions)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InProgress"), "In Progress");

	if (socketpair(AF_LOCAL, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), strerror(errno));
	theirs = fds[1];
	ch->acquired_fd = fds[0];
	r = sd_event_add_io(sim->event, &ch->acquired_source, ch->acquired_fd,
			    EPOLLIN | EPOLLRDHUP, acquired_io, ch);
	if (r < 0) {
		char_release_acquired(ch);
		return r;
	}
	ch->acquired_owner = strdup(sd_bus_message_get_sender(m) ?: "");

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "hq", theirs, ch->dev->mtu);
	if (r < 0) {
		char_release_acquired(ch);
		return r;
	}
	ch->notify_acquired = 1;
	ch->cccd[0] = 0x01;
	ch->dev->stat_acquire_notify++;
	r = sim_send(sim, reply);
	emit_changed(sim, ch->path, "org.bluez.GattCharacteristic1", "NotifyAcquired");
	return r < 0 ? r : 1;
}

static int char_acquire_write(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_char *ch = userdata;

	/* None of the simulated characteristics has write-without-response. */
	return sim_reply_error(ch->dev->sim, m, BLUEZ_ERROR("NotSupported"),
			       "Operation is not supported");
}

#define CHAR_VTABLE_COMMON							\
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),							\
	SD_BUS_PROPERTY("UUID", "s", get_string_array,				\
			offsetof(struct sim_char, uuid),			\
			SD_BUS_VTABLE_PROPERTY_CONST),				\
	SD_BUS_PROPERTY("Service", "o", get_parent_path, 0,			\
			SD_BUS_VTABLE_PROPERTY_CONST),				\
	SD_BUS_PROPERTY("Value", "ay", char_get_value, 0,			\
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),			\
	SD_BUS_PROPERTY("Flags", "as", char_get_flags, 0,			\
			SD_BUS_VTABLE_PROPERTY_CONST),				\
	SD_BUS_PROPERTY("MTU", "q", char_get_mtu, 0,				\
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),			\
	SD_BUS_METHOD_WITH_ARGS("ReadValue", SD_BUS_ARGS("a{sv}", options), \
				SD_BUS_RESULT("ay", value), char_read_value, 0), \
	SD_BUS_METHOD_WITH_ARGS("WriteValue", SD_BUS_ARGS("ay", value, "a{sv}", options), \
				SD_BUS_NO_RESULT, char_write_value, 0), \
	SD_BUS_METHOD_WITH_ARGS("AcquireWrite", SD_BUS_ARGS("a{sv}", options), \
				SD_BUS_RESULT("h", fd, "q", mtu), char_acquire_write, 0), \
	SD_BUS_METHOD_WITH_ARGS("AcquireNotify", SD_BUS_ARGS("a{sv}", options), \
				SD_BUS_RESULT("h", fd, "q", mtu), char_acquire_notify, 0), \
	SD_BUS_METHOD("StartNotify", "", "", char_start_notify, 0),		\
	SD_BUS_METHOD("StopNotify", "", "", char_stop_notify, 0)

#define CHAR_PROP_NOTIFYING							\
	SD_BUS_PROPERTY("Notifying", "b", NULL,					\
			offsetof(struct sim_char, notifying),			\
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

/*
 * BlueZ exports Notifying only for notify/indicate characteristics and
 * NotifyAcquired only for notify ones, so there are three shapes.
 */
static const sd_bus_vtable char_vtable_plain[] = {
	CHAR_VTABLE_COMMON,
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable char_vtable_indicate[] = {
	CHAR_VTABLE_COMMON,
	CHAR_PROP_NOTIFYING,
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable char_vtable_notify[] = {
	CHAR_VTABLE_COMMON,
	CHAR_PROP_NOTIFYING,
	SD_BUS_PROPERTY("NotifyAcquired", "b", NULL,
			offsetof(struct sim_char, notify_acquired),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_VTABLE_END,
};

/* ---- GattService1 ------------------------------------------------------- */

static const sd_bus_vtable service_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("UUID", "s", get_string_array, offsetof(struct sim_service, uuid),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Device", "o", get_parent_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Primary", "b", NULL, offsetof(struct sim_service, primary),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Includes", "ao", get_empty_ao, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static int gatt_export(struct sim_device *dev)
{
	sd_bus *bus = dev->sim->bus;
	int r;

	for (unsigned i = 0; i < dev->n_services; i++) {
		struct sim_service *svc = &dev->services[i];

		r = sd_bus_add_object_vtable(bus, &svc->slot, svc->path,
					     "org.bluez.GattService1", service_vtable, svc);
		if (r < 0)
			return r;
		(void)sd_bus_emit_object_added(bus, svc->path);
	}
	for (unsigned i = 0; i < dev->n_chars; i++) {
		struct sim_char *ch = &dev->chars[i];
		const sd_bus_vtable *vt = char_vtable_plain;

		if (ch->props & GATT_PROP_NOTIFY)
			vt = char_vtable_notify;
		else if (ch->props & GATT_PROP_INDICATE)
			vt = char_vtable_indicate;
		r = sd_bus_add_object_vtable(bus, &ch->slot, ch->path,
					     "org.bluez.GattCharacteristic1", vt, ch);
		if (r < 0)
			return r;
		(void)sd_bus_emit_object_added(bus, ch->path);
		if (!ch->desc_path)
			continue;
		r = sd_bus_add_object_vtable(bus, &ch->desc_slot, ch->desc_path,
					     "org.bluez.GattDescriptor1", desc_vtable, ch);
		if (r < 0)
			return r;
		(void)sd_bus_emit_object_added(bus, ch->desc_path);
	}
	dev->gatt_exported = true;
	return 0;
}

static void gatt_unexport(struct sim_device *dev, bool signal)
{
	sd_bus *bus = dev->sim->bus;

	for (unsigned i = dev->n_chars; i-- > 0;) {
		struct sim_char *ch = &dev->chars[i];

		if (ch->desc_slot && signal)
			(void)sd_bus_emit_object_removed(bus, ch->desc_path);
		ch->desc_slot = sd_bus_slot_unref(ch->desc_slot);
		if (ch->slot && signal)
			(void)sd_bus_emit_object_removed(bus, ch->path);
		ch->slot = sd_bus_slot_unref(ch->slot);
	}
	for (unsigned i = dev->n_services; i-- > 0;) {
		struct sim_service *svc = &dev->services[i];

		if (svc->slot && signal)
			(void)sd_bus_emit_object_removed(bus, svc->path);
		svc->slot = sd_bus_slot_unref(svc->slot);
	}
	dev->gatt_exported = false;
}

/* The GATT objects go, and every notify session with them. */
static void gatt_forget(struct sim_device *dev, bool signal)
{
	for (unsigned i = 0; i < dev->n_chars; i++) {
		struct sim_char *ch = &dev->chars[i];

		char_release_acquired(ch);
		for (unsigned k = 0; k < ch->n_sessions; k++)
			free(ch->sessions[k]);
		memset(ch->sessions, 0, sizeof(ch->sessions));
		ch->n_sessions = 0;
		ch->notifying = 0;
		ch->cccd[0] = 0;
	}
	gatt_unexport(dev, signal);
}

/* ---- org.bluez.Battery1 ------------------------------------------------------ */

static const sd_bus_vtable battery_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Percentage", "y", NULL, offsetof(struct sim_device, battery),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_VTABLE_END,
};

/* ---- org.bluez.Device1 ------------------------------------------------------ */

static void device_clear_connect(struct sim_device *dev, const char *error_name,
				 const char *error_message)
{
	timer_cancel(&dev->connect_timer);
	if (dev->connect_msg) {
		(void)sim_reply_error(dev->sim, dev->connect_msg, error_name, error_message);
		dev->connect_msg = sd_bus_message_unref(dev->connect_msg);
	}
	dev->connecting = false;
}

void device_link_down(struct sim_device *dev, const char *error_name,
		      const char *error_message)
{
	struct sim *sim = dev->sim;

	/* A Disconnect() waiting for the link to close completes now. */
	timer_cancel(&dev->disconnect_timer);
	if (dev->disconnect_msg) {
		(void)sim_reply_empty(sim, dev->disconnect_msg);
		dev->disconnect_msg = sd_bus_message_unref(dev->disconnect_msg);
	}
	if (dev->connecting)
		device_clear_connect(dev, error_name ?: BLUEZ_ERROR("Failed"),
				     error_message ?: "le-connection-abort-by-local");
	if (!dev->connected)
		return;

	dev->link_gen++;
	timer_cancel(&dev->resolve_timer);
	timer_cancel(&dev->inject_timer);
	profile_disconnected(dev);

	if (dev->services_resolved) {
		dev->services_resolved = 0;
		emit_changed(sim, dev->path, "org.bluez.Device1", "ServicesResolved");
	}
	dev->connected = 0;
	emit_changed(sim, dev->path, "org.bluez.Device1", "Connected");

	/*
	 * The link is gone: AcquireNotify sockets hang up (gatt-client.c
	 * btd_gatt_client_disconnected shuts down client->ios). With the
	 * default [GATT] Cache = always the objects stay and StartNotify
	 * sessions are kept, unregistered (Notifying unchanged), until the
	 * device reconnects; with Cache = no they are all removed.
	 */
	for (unsigned i = 0; i < dev->n_chars; i++) {
		struct sim_char *ch = &dev->chars[i];

		char_release_acquired(ch);
		ch->cccd[0] = 0;	/* an unbonded peer forgets its CCCDs */
	}
	if (!sim->gatt_cache)
		gatt_forget(dev, !sim->restarting || sim->bluez_owned);
	if (dev->battery_slot) {
		(void)sd_bus_emit_interfaces_removed(sim->bus, dev->path,
						     "org.bluez.Battery1", NULL);
		dev->battery_slot = sd_bus_slot_unref(dev->battery_slot);
	}
}

static int device_resolved(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_device *dev = userdata;
	struct sim *sim = dev->sim;
	int r;

	timer_cancel(&dev->resolve_timer);
	/* Cached objects are still there: no InterfacesAdded on reconnect. */
	r = dev->gatt_exported ? 0 : gatt_export(dev);
	if (r < 0) {
		fprintf(stderr, "bluez-sim: exporting GATT of %s failed: %s\n",
			dev->address, strerror(-r));
		return 0;
	}
	if (dev->has_battery &&
	    sd_bus_add_object_vtable(sim->bus, &dev->battery_slot, dev->path,
				     "org.bluez.Battery1", battery_vtable, dev) >= 0)
		(void)sd_bus_emit_interfaces_added(sim->bus, dev->path,
						   "org.bluez.Battery1", NULL);
	dev->services_resolved = 1;
	emit_changed(sim, dev->path, "org.bluez.Device1", "UUIDs");
	emit_changed(sim, dev->path, "org.bluez.Device1", "ServicesResolved");
	return 0;
}

static int device_connect_done(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_device *dev = userdata;
	struct sim *sim = dev->sim;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = TAKE_PTR(dev->connect_msg);

	if (!dev->advertising && sim_mono_usec() < dev->connect_deadline_usec) {
		/* Still away: the LE connection attempt goes on. */
		dev->connect_msg = TAKE_PTR(m);
		(void)timer_arm(sim, &dev->connect_timer, dev->connect_deadline_usec,
				device_connect_done, dev);
		return 0;
	}
	timer_cancel(&dev->connect_timer);
	dev->connecting = false;
	if (!dev->advertising) {
		/*
		 * Nobody answered the connection request within the LE
		 * connection timeout; the kernel cancels it (bluez PR #1255).
		 */
		if (m)
			(void)sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
					      "le-connection-abort-by-local");
		return 0;
	}

	dev->connected = 1;
	dev->link_gen++;
	dev->stat_connects++;
	timer_cancel(&dev->temporary_timer);
	emit_changed(sim, dev->path, "org.bluez.Device1", "Connected");
	if (m)
		(void)sim_reply_empty(sim, m);
	/*
	 * btd_gatt_client_connected(): sessions kept in the cache are
	 * registered again (register_notify), Notifying true again.
	 */
	for (unsigned i = 0; i < dev->n_chars; i++) {
		struct sim_char *ch = &dev->chars[i];

		if (!ch->n_sessions)
			continue;
		ch->cccd[0] = ch->props & GATT_PROP_NOTIFY ? 0x01 : 0x02;
		if (!ch->notifying && ch->slot) {
			ch->notifying = 1;
			emit_changed(sim, ch->path, "org.bluez.GattCharacteristic1",
				     "Notifying");
		}
	}
	profile_connected(dev);
	/* GATT discovery completes after the reply (notes/ble.md 2.3). */
	(void)timer_arm(sim, &dev->resolve_timer,
			sim_mono_usec() + (uint64_t)sim->latency_ms * 1000 + SIM_RESOLVE_USEC,
			device_resolved, dev);
	return 0;
}

static int device_connect(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = userdata;
	struct sim *sim = dev->sim;
	int r;

	if (!adapter_ready(sim))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotReady"), "Resource Not Ready");
	/* Observed on 5.66: Connect during a pending Disconnect says ok. */
	if (dev->disconnect_msg)
		return sim_reply_empty(sim, m);
	/*
	 * device.c dev_connect() on an LE-only device: connected, success
	 * at once (AlreadyConnected is BR/EDR's connect_profiles()); an
	 * attempt under way, device_connect_le() -EALREADY as Failed.
	 */
	if (dev->connected)
		return sim_reply_empty(sim, m);
	if (dev->connecting)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
				       "Operation already in progress");
	if (dev->blocked)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "Blocked");
	/* btd_device_set_temporary(dev, false): at the call, whatever comes of it. */
	dev->cached = true;
	timer_cancel(&dev->temporary_timer);

	/*
	 * An advertising device answers at once; for one that is away the
	 * attempt stays pending (up to --connect-timeout-ms, bluetoothd ~30 s)
	 * and completes when it advertises again (device_set_advertising).
	 */
	dev->connect_deadline_usec = sim_mono_usec() + sim->connect_timeout_usec;
	r = timer_arm(sim, &dev->connect_timer,
		      dev->advertising ? sim_mono_usec() + SIM_CONNECT_REPLY_USEC :
		      dev->connect_deadline_usec,
		      device_connect_done, dev);
	if (r < 0)
		return r;
	dev->connecting = true;
	dev->connect_msg = sd_bus_message_ref(m);
	return 1;
}

void device_set_advertising(struct sim_device *dev, bool on)
{
	struct sim *sim = dev->sim;

	dev->advertising = on;
	if (!on) {
		/* Out of range: the link drops; a pending Connect goes on. */
		if (dev->connected)
			device_link_down(dev, BLUEZ_ERROR("Failed"),
					 "le-connection-abort-by-local");
		return;
	}
	/* Back in range: a pending connection attempt completes now. */
	if (dev->connecting && dev->connect_timer)
		(void)timer_arm(sim, &dev->connect_timer, sim_mono_usec() + SIM_CONNECT_REPLY_USEC,
				device_connect_done, dev);
}

static int device_disconnect_done(sd_event_source *s, uint64_t usec, void *userdata)
{
	device_link_down(userdata, NULL, NULL);	/* replies to Disconnect() */
	return 0;
}

static int device_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = userdata;
	struct sim *sim = dev->sim;
	int r;

	if (!dev->connected && !dev->connecting)
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotConnected"), "Not Connected");
	if (dev->disconnect_msg)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InProgress"), "In Progress");
	if (dev->connected && sim->disconnect_delay_usec) {
		/*
		 * bluetoothd waits for profiles to close (disconnect timer):
		 * the link, and its notifications, live on until then.
		 */
		r = timer_arm(sim, &dev->disconnect_timer,
			      sim_mono_usec() + sim->disconnect_delay_usec,
			      device_disconnect_done, dev);
		if (r < 0)
			return r;
		dev->disconnect_msg = sd_bus_message_ref(m);
		return 1;
	}
	device_link_down(dev, BLUEZ_ERROR("Failed"), "Operation cancelled");
	return sim_reply_empty(sim, m);
}

static int device_pair(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	if (dev->paired)
		return sim_reply_error(dev->sim, m, BLUEZ_ERROR("AlreadyExists"),
				       "Already Exists");
	if (!dev->connected && !dev->advertising)
		return sim_reply_error(dev->sim, m, BLUEZ_ERROR("AuthenticationFailed"),
				       "Authentication Failed");
	/* Just Works: the sensors have no IO capability. */
	dev->paired = 1;
	dev->cached = true;
	emit_changed(dev->sim, dev->path, "org.bluez.Device1", "Paired");
	return sim_reply_empty(dev->sim, m);
}

static int device_cancel_pairing(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return sim_reply_error(dev->sim, m, BLUEZ_ERROR("DoesNotExist"), "Does Not Exist");
}

static int device_profile(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return sim_reply_error(dev->sim, m, BLUEZ_ERROR("NotAvailable"),
			       "Operation currently not available");
}

static int device_get_uuids(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	struct sim_device *dev = userdata;
	char seen[SIM_MAX_SERVICES + 4][SIM_UUID_MAX];
	unsigned n = 0;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	if (r < 0)
		return r;
	/* Advertised UUIDs, plus every primary service once resolved. */
	for (unsigned i = 0; i < dev->n_adv_uuids; i++)
		snprintf(seen[n++], SIM_UUID_MAX, "%s", dev->adv_uuids[i]);
	for (unsigned i = 0; dev->cached && i < dev->n_services; i++) {
		bool dup = false;

		for (unsigned k = 0; k < n; k++)
			dup |= streq(seen[k], dev->services[i].uuid);
		if (!dup)
			snprintf(seen[n++], SIM_UUID_MAX, "%s", dev->services[i].uuid);
	}
	if (dev->cached && dev->has_battery)
		snprintf(seen[n++], SIM_UUID_MAX, "0000180f" BLUEZ_BASE_UUID);
	for (unsigned i = 0; i < n; i++) {
		r = sd_bus_message_append_basic(reply, 's', seen[i]);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

/*
 * An advertising data dict a{Kv} (K: key_type) with one entry key -> <ay>,
 * or empty when len is 0. key as sd_bus_message_append_basic() takes it.
 */
static int append_adv_dict(sd_bus_message *reply, char key_type, const void *key,
			   const uint8_t *data, size_t len)
{
	const char entry[] = { key_type, 'v', 0 };
	const char dict[] = { '{', key_type, 'v', '}', 0 };
	int r;

	r = sd_bus_message_open_container(reply, 'a', dict);
	if (r < 0)
		return r;
	if (len) {
		r = sd_bus_message_open_container(reply, 'e', entry);
		if (r >= 0)
			r = sd_bus_message_append_basic(reply, key_type, key);
		if (r >= 0)
			r = sd_bus_message_open_container(reply, 'v', "ay");
		if (r >= 0)
			r = sd_bus_message_append_array(reply, 'y', data, len);
		if (r >= 0)
			r = sd_bus_message_close_container(reply);
		if (r >= 0)
			r = sd_bus_message_close_container(reply);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int device_get_mfr(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return append_adv_dict(reply, 'q', &dev->company_id, dev->mfr_data, dev->mfr_len);
}

static int device_get_svc_data(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return append_adv_dict(reply, 's', dev->svc_data_uuid, dev->svc_data,
			       dev->svc_data_len);
}

static int device_get_adv_flags(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	/* LE General Discoverable, BR/EDR not supported. */
	static const uint8_t flags[] = { 0x06 };

	return sd_bus_message_append_array(reply, 'y', flags, sizeof(flags));
}

/*
 * Device1.Alias, Adapter1.Alias: replace *alias by the value written, an
 * empty one resets it to fallback (device-api.txt, adapter-api.txt).
 */
static int set_alias(struct sim *sim, const char *path, const char *interface,
		     sd_bus_message *value, const char *fallback, char **alias)
{
	const char *s;
	char *copy;
	int r;

	r = sd_bus_message_read_basic(value, 's', &s);
	if (r < 0)
		return r;
	copy = strdup(*s ? s : fallback);
	if (!copy)
		return -ENOMEM;
	free(*alias);
	*alias = copy;
	emit_changed(sim, path, interface, "Alias");
	return 1;
}

static int device_set_alias(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *value, void *userdata,
			    sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return set_alias(dev->sim, dev->path, "org.bluez.Device1", value, dev->name,
			 &dev->alias);
}

static int device_set_bool(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *value, void *userdata,
			   sd_bus_error *error)
{
	struct sim_device *dev = userdata;
	int b, r;

	r = sd_bus_message_read_basic(value, 'b', &b);
	if (r < 0)
		return r;
	if (streq(property, "Trusted")) {
		if (dev->trusted == !!b)
			return 1;
		dev->trusted = !!b;
	} else {
		if (dev->blocked == !!b)
			return 1;
		dev->blocked = !!b;
		if (b)
			device_link_down(dev, BLUEZ_ERROR("Failed"), "Blocked");
	}
	emit_changed(dev->sim, dev->path, "org.bluez.Device1", property);
	return 1;
}

static int device_get_bool(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	struct sim_device *dev = userdata;
	int b = streq(property, "Trusted") ? dev->trusted : dev->blocked;

	return sd_bus_message_append_basic(reply, 'b', &b);
}

static int device_get_alias(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	struct sim_device *dev = userdata;

	return sd_bus_message_append_basic(reply, 's', dev->alias);
}

static const sd_bus_vtable device_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Address", "s", NULL, offsetof(struct sim_device, address),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("AddressType", "s", NULL, offsetof(struct sim_device, address_type),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", NULL, offsetof(struct sim_device, name),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Alias", "s", device_get_alias, device_set_alias, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Appearance", "q", NULL, offsetof(struct sim_device, appearance),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Paired", "b", NULL, offsetof(struct sim_device, paired),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Trusted", "b", device_get_bool, device_set_bool, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Blocked", "b", device_get_bool, device_set_bool, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("LegacyPairing", "b", NULL,
			offsetof(struct sim_device, legacy_pairing),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Connected", "b", NULL, offsetof(struct sim_device, connected),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("UUIDs", "as", device_get_uuids, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Adapter", "o", get_parent_path, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ManufacturerData", "a{qv}", device_get_mfr, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ServiceData", "a{sv}", device_get_svc_data, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ServicesResolved", "b", NULL,
			offsetof(struct sim_device, services_resolved),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("AdvertisingFlags", "ay", device_get_adv_flags, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("Disconnect", "", "", device_disconnect, 0),
	SD_BUS_METHOD("Connect", "", "", device_connect, 0),
	SD_BUS_METHOD_WITH_ARGS("ConnectProfile", SD_BUS_ARGS("s", UUID),
				SD_BUS_NO_RESULT, device_profile, 0),
	SD_BUS_METHOD_WITH_ARGS("DisconnectProfile", SD_BUS_ARGS("s", UUID),
				SD_BUS_NO_RESULT, device_profile, 0),
	SD_BUS_METHOD("Pair", "", "", device_pair, 0),
	SD_BUS_METHOD("CancelPairing", "", "", device_cancel_pairing, 0),
	SD_BUS_VTABLE_END,
};

static int device_temporary_expired(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_device *dev = userdata;

	timer_cancel(&dev->temporary_timer);
	if (!dev->cached && !dev->connected && !dev->connecting)
		device_remove_object(dev);
	return 0;
}

/*
 * Device1.RSSI exists only while the current discovery has heard the device
 * (device.c dev_property_exists_rssi: rssi != 0): a vtable of its own on the
 * device, registered when an advertisement is heard and dropped, with the
 * property invalidated, when discovery ends (adapter.c discovery_cleanup ->
 * invalidate_rssi_and_tx_power). Its userdata is &dev->rssi.
 */
static const sd_bus_vtable device_rssi_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("RSSI", "n", NULL, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_VTABLE_END,
};

/* RSSI_THRESHOLD in device.c: smaller changes are not reported. */
#define SIM_RSSI_THRESHOLD 8

/*
 * An advertisement heard at rssi (device_set_rssi_with_delta()): the
 * property appears, or changes when it moved by SIM_RSSI_THRESHOLD dB or
 * more. On a device not yet on the bus only the value is kept.
 */
static void device_rssi_heard(struct sim_device *dev, int16_t rssi)
{
	struct sim *sim = dev->sim;

	if (dev->rssi_slot && abs(rssi - dev->rssi) < SIM_RSSI_THRESHOLD)
		return;
	dev->rssi = rssi;
	if (!dev->rssi_slot &&
	    sd_bus_add_object_vtable(sim->bus, &dev->rssi_slot, dev->path, "org.bluez.Device1",
				     device_rssi_vtable, &dev->rssi) < 0)
		return;
	if (dev->present)
		emit_changed(sim, dev->path, "org.bluez.Device1", "RSSI");
}

/* Discovery ended: RSSI goes, as an invalidated property. */
static void device_rssi_invalidate(struct sim_device *dev)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	struct sim *sim = dev->sim;

	if (!dev->rssi_slot)
		return;
	dev->rssi_slot = sd_bus_slot_unref(dev->rssi_slot);
	if (!dev->present || sim->restarting)
		return;
	if (sd_bus_message_new_signal(sim->bus, &m, dev->path, "org.freedesktop.DBus.Properties",
				      "PropertiesChanged") >= 0 &&
	    sd_bus_message_append(m, "sa{sv}as", "org.bluez.Device1", 0, 1, "RSSI") >= 0)
		(void)sd_bus_send(sim->bus, m, NULL);
}

static int device_add_object(struct sim_device *dev)
{
	struct sim *sim = dev->sim;
	int r;

	if (dev->present)
		return 0;
	free(dev->adapter_path);
	dev->adapter_path = strdup(sim->adapter_path);
	if (!dev->adapter_path)
		return -ENOMEM;
	r = sd_bus_add_object_vtable(sim->bus, &dev->slot, dev->path, "org.bluez.Device1",
				     device_vtable, dev);
	if (r < 0)
		return r;
	dev->present = true;
	if (!sim->restarting)
		(void)sd_bus_emit_object_added(sim->bus, dev->path);
	return 0;
}

void device_remove_object(struct sim_device *dev)
{
	struct sim *sim = dev->sim;
	bool signal = !sim->restarting || sim->bluez_owned;

	device_link_down(dev, NULL, NULL);
	gatt_forget(dev, signal);
	timer_cancel(&dev->temporary_timer);
	if (!dev->present)
		return;
	if (signal)
		(void)sd_bus_emit_object_removed(sim->bus, dev->path);
	dev->slot = sd_bus_slot_unref(dev->slot);
	dev->rssi_slot = sd_bus_slot_unref(dev->rssi_slot);
	dev->present = false;
	dev->paired = 0;
	dev->trusted = 0;
}

struct sim_device *sim_find_device(struct sim *sim, const char *address)
{
	for (unsigned i = 0; i < sim->n_devices; i++)
		if (strcasecmp(sim->devices[i].address, address) == 0)
			return &sim->devices[i];
	return NULL;
}

struct sim_char *device_find_char(struct sim_device *dev, const char *uuid)
{
	char norm[SIM_UUID_MAX];

	if (uuid_normalize(uuid, norm) < 0)
		return NULL;
	for (unsigned i = 0; i < dev->n_chars; i++)
		if (streq(dev->chars[i].uuid, norm))
			return &dev->chars[i];
	return NULL;
}

/* ---- discovery -------------------------------------------------------------- */

static void client_clear(struct discovery_client *c)
{
	free(c->sender);
	free(c->uuids);
	free(c->transport);
	free(c->pattern);
	memset(c, 0, sizeof(*c));
}

static struct discovery_client *client_find(struct sim *sim, const char *sender)
{
	for (unsigned i = 0; sender && i < sim->n_clients; i++)
		if (streq(sim->clients[i].sender, sender))
			return &sim->clients[i];
	return NULL;
}

static void client_remove(struct sim *sim, struct discovery_client *c)
{
	unsigned i = (unsigned)(c - sim->clients);

	client_clear(c);
	sim->clients[i] = sim->clients[--sim->n_clients];
	memset(&sim->clients[sim->n_clients], 0, sizeof(*c));
}

static bool client_matches(const struct discovery_client *c, const struct sim_device *dev)
{
	if (!c->has_filter)
		return true;
	if (c->transport && streq(c->transport, "bredr"))
		return false;	/* all simulated sensors are LE only */
	if (c->has_rssi && dev->rssi < c->rssi)
		return false;
	if (c->pattern && *c->pattern &&
	    strncmp(dev->address, c->pattern, strlen(c->pattern)) &&
	    strncmp(dev->name, c->pattern, strlen(c->pattern)))
		return false;
	if (!c->n_uuids)
		return true;
	for (size_t i = 0; i < c->n_uuids; i++) {
		for (unsigned k = 0; k < dev->n_adv_uuids; k++)
			if (streq(c->uuids[i], dev->adv_uuids[k]))
				return true;
		if (dev->svc_data_len && streq(c->uuids[i], dev->svc_data_uuid))
			return true;
	}
	return false;
}

/* Filters of all discovering clients are OR-merged, as in adapter.c. */
static bool discovery_matches(struct sim *sim, const struct sim_device *dev,
			      bool *ret_duplicates)
{
	bool match = false;

	*ret_duplicates = false;
	for (unsigned i = 0; i < sim->n_clients; i++) {
		const struct discovery_client *c = &sim->clients[i];

		if (!c->discovering || !client_matches(c, dev))
			continue;
		match = true;
		if (!c->has_filter || c->duplicate_data)
			*ret_duplicates = true;
	}
	return match;
}

/* A deterministic RSSI wobble of +-3 dB around the device's level. */
static int16_t device_rssi_now(const struct sim_device *dev, uint64_t tick)
{
	static const int16_t base[_DEVICE_KIND_MAX] = { -58, -64, -70, -66, -61, -52 };
	uint64_t x = (tick + 1) * 6364136223846793005ULL + dev->index * 1442695040888963407ULL;

	return (int16_t)(base[dev->kind] + (int)((x >> 33) % 7) - 3);
}

static int scan_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim *sim = userdata;
	uint64_t now = sim_mono_usec(), tick = ++sim->scan_ticks;

	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];
		bool dup;
		int16_t rssi;

		/* Sensors stop advertising while connected; none is heard powering off. */
		if (sim->power_off_timer || !dev->advertising || dev->connected ||
		    dev->connecting || !discovery_matches(sim, dev, &dup))
			continue;
		rssi = device_rssi_now(dev, tick);
		if (!dev->present) {
			device_rssi_heard(dev, rssi);
			if (device_add_object(dev) < 0)
				continue;
		} else {
			device_rssi_heard(dev, rssi);
			if (dup && dev->mfr_len)
				emit_changed(sim, dev->path, "org.bluez.Device1",
					     "ManufacturerData");
		}
		dev->last_seen_usec = now;
		if (!dev->cached)
			(void)timer_arm(sim, &dev->temporary_timer,
					now + sim->temporary_timeout_usec,
					device_temporary_expired, dev);
	}
	return timer_arm(sim, &sim->scan_timer, now + SIM_ADVERT_PERIOD_USEC, scan_tick, sim);
}

static void discovery_update(struct sim *sim)
{
	bool any = false;

	for (unsigned i = 0; i < sim->n_clients; i++)
		any |= sim->clients[i].discovering;
	if (any == !!sim->discovering)
		return;
	sim->discovering = any;
	if (!any) {
		timer_cancel(&sim->scan_timer);
		for (unsigned i = 0; i < sim->n_devices; i++)
			device_rssi_invalidate(&sim->devices[i]);
	}
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "Discovering");
	if (any)
		(void)timer_arm(sim, &sim->scan_timer, sim_mono_usec() + SIM_FIRST_ADVERT_USEC,
				scan_tick, sim);
}

static void discovery_reset(struct sim *sim)
{
	while (sim->n_clients)
		client_remove(sim, &sim->clients[0]);
	discovery_update(sim);
}

static int adapter_start_discovery(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	const char *sender = sd_bus_message_get_sender(m);
	struct discovery_client *c;

	if (!adapter_ready(sim))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotReady"), "Resource Not Ready");
	c = client_find(sim, sender);
	if (c && c->discovering)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InProgress"),
				       "Operation already in progress");
	if (!c) {
		if (sim->n_clients == SIM_MAX_CLIENTS)
			return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
					       "Too many clients");
		c = &sim->clients[sim->n_clients];
		c->sender = strdup(sender ?: "");
		if (!c->sender)
			return -ENOMEM;
		sim->n_clients++;
	}
	c->discovering = true;
	if (sim->discovering)	/* a new filter may reveal more devices */
		(void)timer_arm(sim, &sim->scan_timer, sim_mono_usec() + SIM_FIRST_ADVERT_USEC,
				scan_tick, sim);
	discovery_update(sim);
	return sim_reply_empty(sim, m);
}

static int adapter_stop_discovery(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	struct discovery_client *c;

	if (!adapter_ready(sim))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotReady"), "Resource Not Ready");
	c = client_find(sim, sd_bus_message_get_sender(m));
	if (!c || !c->discovering)
		return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"), "No discovery started");
	client_remove(sim, c);
	discovery_update(sim);
	return sim_reply_empty(sim, m);
}

/* Parse SetDiscoveryFilter's dictionary into f; -EINVAL on any bad entry. */
static int parse_filter(sd_bus_message *m, struct discovery_client *f)
{
	bool has_pathloss = false;
	int r;

	f->duplicate_data = true;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return -EINVAL;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *s;
		int b;

		f->has_filter = true;
		if (sd_bus_message_read_basic(m, 's', &key) < 0)
			return -EINVAL;
		if (streq(key, "UUIDs")) {
			char **l = NULL;

			if (sd_bus_message_enter_container(m, 'v', "as") < 0 ||
			    sd_bus_message_read_strv(m, &l) < 0 ||
			    sd_bus_message_exit_container(m) < 0)
				return -EINVAL;
			for (char **p = l; *p; p++)
				f->n_uuids++;
			free(f->uuids);
			f->uuids = calloc(f->n_uuids + 1, sizeof(*f->uuids));
			r = f->uuids ? 0 : -ENOMEM;
			for (size_t i = 0; r == 0 && i < f->n_uuids; i++)
				r = uuid_normalize(l[i], f->uuids[i]);
			for (char **p = l; *p; p++)
				free(*p);
			free(l);
			if (r < 0)
				return r == -ENOMEM ? r : -EINVAL;
		} else if (streq(key, "RSSI")) {
			if (sd_bus_message_read(m, "v", "n", &f->rssi) < 0)
				return -EINVAL;
			f->has_rssi = true;
		} else if (streq(key, "Pathloss")) {
			uint16_t q;

			if (sd_bus_message_read(m, "v", "q", &q) < 0)
				return -EINVAL;
			has_pathloss = true;
		} else if (streq(key, "Transport")) {
			if (sd_bus_message_read(m, "v", "s", &s) < 0)
				return -EINVAL;
			if (!streq(s, "auto") && !streq(s, "bredr") && !streq(s, "le"))
				return -EINVAL;
			free(f->transport);
			f->transport = strdup(s);
		} else if (streq(key, "DuplicateData") || streq(key, "Discoverable")) {
			if (sd_bus_message_read(m, "v", "b", &b) < 0)
				return -EINVAL;
			if (streq(key, "DuplicateData"))
				f->duplicate_data = b;
		} else if (streq(key, "Pattern")) {
			if (sd_bus_message_read(m, "v", "s", &s) < 0)
				return -EINVAL;
			free(f->pattern);
			f->pattern = strdup(s);
		} else {
			return -EINVAL;
		}
		if (sd_bus_message_exit_container(m) < 0)
			return -EINVAL;
	}
	if (r < 0 || sd_bus_message_exit_container(m) < 0)
		return -EINVAL;
	/* RSSI and Pathloss are mutually exclusive (adapter-api.txt). */
	if (f->has_rssi && has_pathloss)
		return -EINVAL;
	return 0;
}

static int adapter_set_filter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	const char *sender = sd_bus_message_get_sender(m);
	struct discovery_client f = {}, *c;
	int r;

	if (!adapter_ready(sim))
		return sim_reply_error(sim, m, BLUEZ_ERROR("NotReady"), "Resource Not Ready");
	r = parse_filter(m, &f);
	if (r < 0) {
		client_clear(&f);
		if (r == -ENOMEM)
			return r;
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	}
	c = client_find(sim, sender);
	if (!f.has_filter) {
		/* Empty dictionary: the client's filter is cleared. */
		if (c && !c->discovering)
			client_remove(sim, c);
		else if (c)
			c->has_filter = false;
		client_clear(&f);
		return sim_reply_empty(sim, m);
	}
	if (!c) {
		if (sim->n_clients == SIM_MAX_CLIENTS) {
			client_clear(&f);
			return sim_reply_error(sim, m, BLUEZ_ERROR("Failed"),
					       "Too many clients");
		}
		c = &sim->clients[sim->n_clients++];
	} else {
		f.discovering = c->discovering;
		client_clear(c);
	}
	*c = f;
	c->sender = strdup(sender ?: "");
	if (!c->sender)
		return -ENOMEM;
	return sim_reply_empty(sim, m);
}

static int adapter_get_filters(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "as", 7, "UUIDs", "RSSI", "Pathloss", "Transport",
				  "DuplicateData", "Discoverable", "Pattern");
	if (r < 0)
		return r;
	r = sim_send(sim, reply);
	return r < 0 ? r : 1;
}

static int adapter_remove_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	const char *path;
	int r;

	r = sd_bus_message_read_basic(m, 'o', &path);
	if (r < 0)
		return sim_reply_error(sim, m, BLUEZ_ERROR("InvalidArguments"),
				       "Invalid arguments in method call");
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];

		if (dev->present && streq(dev->path, path)) {
			device_remove_object(dev);
			dev->cached = false;
			return sim_reply_empty(sim, m);
		}
	}
	return sim_reply_error(sim, m, BLUEZ_ERROR("DoesNotExist"), "Does Not Exist");
}

/* ---- org.bluez.Adapter1 -------------------------------------------------- */

static void adapter_power(struct sim *sim, bool on)
{
	if (sim->powered == on)
		return;
	if (!on) {
		for (unsigned i = 0; i < sim->n_devices; i++)
			device_link_down(&sim->devices[i], BLUEZ_ERROR("Failed"),
					 "Not Powered");
		discovery_reset(sim);
	}
	sim->powered = on;
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "Powered");
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "PowerState");
}

/* Answer the Set that started a power-off: NULL error_name is success. */
static void power_off_reply(struct sim *sim, const char *error_name, const char *message)
{
	if (!sim->power_off_msg)
		return;
	if (error_name)
		(void)sim_reply_error(sim, sim->power_off_msg, error_name, message);
	else
		(void)sim_reply_empty(sim, sim->power_off_msg);
	sim->power_off_msg = sd_bus_message_unref(sim->power_off_msg);
}

static int adapter_power_off_done(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim *sim = userdata;

	/*
	 * property_set_mode_complete(): the Set is answered, then
	 * settings_changed() -> adapter_stop() reports Discovering,
	 * Powered and PowerState.
	 */
	timer_cancel(&sim->power_off_timer);
	power_off_reply(sim, NULL, NULL);
	adapter_power(sim, false);
	return 0;
}

/*
 * rfkill: the kernel powers the controller off under bluetoothd, which
 * learns it from the management interface and, in adapter_stop(), reports
 * each link gone (Connected=false) and then Powered=false, with no
 * PowerState "on-disabling" before; PowerState is "off-blocked" until the
 * block is lifted, when bluetoothd powers the adapter on again if it was
 * on (btd_adapter_restore_powered()).
 */
void bluez_set_blocked(struct sim *sim, bool blocked)
{
	if (sim->blocked == blocked)
		return;
	if (blocked) {
		sim->powered_before_block = sim->powered || sim->power_off_timer;
		if (sim->power_off_timer) {
			timer_cancel(&sim->power_off_timer);
			power_off_reply(sim, NULL, NULL);
		}
		sim->blocked = true;
		if (sim->powered)
			adapter_power(sim, false);
		else
			emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "PowerState");
		return;
	}
	sim->blocked = false;
	if (sim->powered_before_block)
		adapter_power(sim, true);
	else
		emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "PowerState");
}

/*
 * Powered=false as bluetoothd 5.66 does it (adapter.c property_set_mode):
 * temporary devices are removed at once, PowerState becomes on-disabling,
 * the kernel tears the links down (Connected=false for each) and only when
 * its MGMT_OP_SET_POWERED completes, --power-off-delay-ms later (at the
 * earliest on the next turn of the event loop), is the Set answered and
 * Powered=false reported. Meanwhile another Set of Powered is Busy, and
 * Connect and discovery calls are NotReady (btd_adapter_get_powered()).
 */
static int adapter_power_off_begin(struct sim *sim, sd_bus_message *m)
{
	int r;

	r = timer_arm(sim, &sim->power_off_timer, sim_mono_usec() + sim->power_off_delay_usec,
		      adapter_power_off_done, sim);
	if (r < 0)
		return r;
	sim->power_off_msg = sd_bus_message_ref(m);
	/* remove_temporary_devices() */
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];

		if (dev->present && !dev->cached) {
			device_link_down(dev, BLUEZ_ERROR("Failed"), "Not Powered");
			device_remove_object(dev);
		}
	}
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", "PowerState");
	for (unsigned i = 0; i < sim->n_devices; i++)
		device_link_down(&sim->devices[i], BLUEZ_ERROR("Failed"), "Not Powered");
	return 1;
}

/*
 * Properties.Set on the adapter, seen before the vtable: a power-off is
 * answered only when it is done, which a vtable setter cannot do. Anything
 * else goes on to the vtable (return 0, message rewound).
 */
static int adapter_set_hook(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	const char *iface, *prop;
	int b = 1;

	if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Set") > 0 &&
	    sd_bus_message_read(m, "ss", &iface, &prop) > 0 &&
	    streq(iface, "org.bluez.Adapter1") && streq(prop, "Powered") &&
	    sd_bus_message_read(m, "v", "b", &b) > 0 &&
	    !b && adapter_ready(sim))
		return adapter_power_off_begin(sim, m);
	(void)sd_bus_message_rewind(m, true);
	return 0;
}

static int adapter_set_powered(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *value, void *userdata,
			       sd_bus_error *error)
{
	struct sim *sim = userdata;
	int b, r;

	r = sd_bus_message_read_basic(value, 'b', &b);
	if (r < 0)
		return r;
	/* adapter->pending_settings: a power-off under way (adapter_set_hook). */
	if (sim->power_off_timer)
		return sd_bus_error_set(error, BLUEZ_ERROR("Busy"), NULL);
	if (sim->blocked && b)
		return sd_bus_error_set(error, BLUEZ_ERROR("Blocked"), "Blocked through rfkill");
	adapter_power(sim, b);
	return 1;
}

static int adapter_get_bool(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	struct sim *sim = userdata;
	int b = streq(property, "Powered") ? sim->powered :
		streq(property, "Discoverable") ? sim->discoverable : sim->pairable;

	return sd_bus_message_append_basic(reply, 'b', &b);
}

static int adapter_set_bool(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *value, void *userdata,
			    sd_bus_error *error)
{
	struct sim *sim = userdata;
	int b, r;

	r = sd_bus_message_read_basic(value, 'b', &b);
	if (r < 0)
		return r;
	if (streq(property, "Discoverable"))
		sim->discoverable = !!b;
	else
		sim->pairable = !!b;
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", property);
	return 1;
}

static int adapter_set_u32(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *value, void *userdata,
			   sd_bus_error *error)
{
	struct sim *sim = userdata;
	uint32_t u;
	int r;

	r = sd_bus_message_read_basic(value, 'u', &u);
	if (r < 0)
		return r;
	if (streq(property, "DiscoverableTimeout"))
		sim->discoverable_timeout = u;
	else
		sim->pairable_timeout = u;
	emit_changed(sim, sim->adapter_path, "org.bluez.Adapter1", property);
	return 1;
}

static int adapter_get_u32(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	struct sim *sim = userdata;
	uint32_t u = streq(property, "DiscoverableTimeout") ? sim->discoverable_timeout :
		     streq(property, "PairableTimeout") ? sim->pairable_timeout :
		     sim->adapter_class;

	return sd_bus_message_append_basic(reply, 'u', &u);
}

static int adapter_get_alias(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct sim *sim = userdata;

	return sd_bus_message_append_basic(reply, 's', sim->adapter_alias);
}

static int adapter_set_alias(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *value, void *userdata,
			     sd_bus_error *error)
{
	struct sim *sim = userdata;

	return set_alias(sim, sim->adapter_path, "org.bluez.Adapter1", value, "bluez-sim",
			 &sim->adapter_alias);
}

static int adapter_get_const(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct sim *sim = userdata;

	if (streq(property, "Name"))
		return sd_bus_message_append_basic(reply, 's', "bluez-sim");
	if (streq(property, "AddressType"))
		return sd_bus_message_append_basic(reply, 's', "public");
	if (streq(property, "Modalias"))
		return sd_bus_message_append_basic(reply, 's', "usb:v1D6Bp0246d0542");
	if (streq(property, "PowerState"))
		return sd_bus_message_append_basic(reply, 's', sim->power_off_timer ?
						   "on-disabling" : sim->blocked ? "off-blocked" :
						   sim->powered ? "on" : "off");
	if (streq(property, "Roles"))
		return sd_bus_message_append(reply, "as", 2, "central", "peripheral");
	/* UUIDs: the local GATT database (GAP, GATT, Device Information). */
	return sd_bus_message_append(reply, "as", 3, "00001800" BLUEZ_BASE_UUID,
				     "00001801" BLUEZ_BASE_UUID, "0000180a" BLUEZ_BASE_UUID);
}

static const sd_bus_vtable adapter_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Address", "s", NULL, offsetof(struct sim, adapter_address),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("AddressType", "s", adapter_get_const, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", adapter_get_const, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Alias", "s", adapter_get_alias, adapter_set_alias, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Class", "u", adapter_get_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Powered", "b", adapter_get_bool, adapter_set_powered, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("PowerState", "s", adapter_get_const, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Discoverable", "b", adapter_get_bool, adapter_set_bool, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("DiscoverableTimeout", "u", adapter_get_u32,
				 adapter_set_u32, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Pairable", "b", adapter_get_bool, adapter_set_bool, 0,
				 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("PairableTimeout", "u", adapter_get_u32,
				 adapter_set_u32, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Discovering", "b", NULL, offsetof(struct sim, discovering),
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("UUIDs", "as", adapter_get_const, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Modalias", "s", adapter_get_const, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Roles", "as", adapter_get_const, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("StartDiscovery", "", "", adapter_start_discovery, 0),
	SD_BUS_METHOD_WITH_ARGS("SetDiscoveryFilter", SD_BUS_ARGS("a{sv}", properties),
				SD_BUS_NO_RESULT, adapter_set_filter, 0),
	SD_BUS_METHOD("StopDiscovery", "", "", adapter_stop_discovery, 0),
	SD_BUS_METHOD_WITH_ARGS("RemoveDevice", SD_BUS_ARGS("o", device),
				SD_BUS_NO_RESULT, adapter_remove_device, 0),
	SD_BUS_METHOD_WITH_ARGS("GetDiscoveryFilters", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("as", filters), adapter_get_filters, 0),
	SD_BUS_VTABLE_END,
};

int bluez_add_adapter(struct sim *sim)
{
	int r;

	if (sim->adapter_present)
		return -EEXIST;
	r = sd_bus_add_object(sim->bus, &sim->adapter_set_slot, sim->adapter_path,
			      adapter_set_hook, sim);
	if (r < 0)
		return r;
	r = sd_bus_add_object_vtable(sim->bus, &sim->adapter_slot, sim->adapter_path,
				     "org.bluez.Adapter1", adapter_vtable, sim);
	if (r < 0) {
		sim->adapter_set_slot = sd_bus_slot_unref(sim->adapter_set_slot);
		return r;
	}
	sim->adapter_present = true;
	sim->powered = 1;	/* main.conf AutoEnable=true */
	if (!sim->restarting)
		(void)sd_bus_emit_object_added(sim->bus, sim->adapter_path);
	/* Devices bluetoothd has cached on disk come back, disconnected. */
	for (unsigned i = 0; i < sim->n_devices; i++)
		if (sim->devices[i].cached)
			(void)device_add_object(&sim->devices[i]);
	return 0;
}

void bluez_remove_adapter(struct sim *sim)
{
	bool signal = !sim->restarting || sim->bluez_owned;

	if (!sim->adapter_present)
		return;
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];
		bool cached = dev->cached;

		device_remove_object(dev);
		dev->cached = cached;
	}
	discovery_reset(sim);
	timer_cancel(&sim->power_off_timer);
	sim->blocked = false;	/* the simulator's rfkill is per controller */
	/* The controller went away under MGMT_OP_SET_POWERED. */
	if (signal)
		power_off_reply(sim, BLUEZ_ERROR("Failed"), "No such adapter");
	sim->power_off_msg = sd_bus_message_unref(sim->power_off_msg);
	sim->powered = 0;
	if (signal)
		(void)sd_bus_emit_object_removed(sim->bus, sim->adapter_path);
	sim->adapter_slot = sd_bus_slot_unref(sim->adapter_slot);
	sim->adapter_set_slot = sd_bus_slot_unref(sim->adapter_set_slot);
	sim->adapter_present = false;
}

/* ---- /org/bluez: AgentManager1, ProfileManager1 ------------------------------------ */

/*
 * bluetoothd always exports these; the sensors need no pairing agent and no
 * profile, so registrations are accepted and otherwise ignored.
 */
static int root_accept(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return sim_reply_empty(userdata, m);
}

static const sd_bus_vtable agent_manager_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RegisterAgent", SD_BUS_ARGS("o", agent, "s", capability),
				SD_BUS_NO_RESULT, root_accept, 0),
	SD_BUS_METHOD_WITH_ARGS("UnregisterAgent", SD_BUS_ARGS("o", agent),
				SD_BUS_NO_RESULT, root_accept, 0),
	SD_BUS_METHOD_WITH_ARGS("RequestDefaultAgent", SD_BUS_ARGS("o", agent),
				SD_BUS_NO_RESULT, root_accept, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable profile_manager_vtable[] = {
	SD_BUS_VTABLE_START(SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RegisterProfile", SD_BUS_ARGS("o", profile, "s", UUID, "a{sv}", options),
				SD_BUS_NO_RESULT, root_accept, 0),
	SD_BUS_METHOD_WITH_ARGS("UnregisterProfile", SD_BUS_ARGS("o", profile),
				SD_BUS_NO_RESULT, root_accept, 0),
	SD_BUS_VTABLE_END,
};

static int root_add(struct sim *sim)
{
	int r;

	if (sim->root_slot)
		return 0;
	r = sd_bus_add_object_vtable(sim->bus, &sim->root_slot, "/org/bluez",
				     "org.bluez.AgentManager1", agent_manager_vtable, sim);
	if (r < 0)
		return r;
	r = sd_bus_add_object_vtable(sim->bus, &sim->root_slot2, "/org/bluez",
				     "org.bluez.ProfileManager1", profile_manager_vtable, sim);
	if (r < 0)
		return r;
	(void)sd_bus_emit_object_added(sim->bus, "/org/bluez");
	return 0;
}

static void root_remove(struct sim *sim)
{
	if (sim->root_slot)
		(void)sd_bus_emit_object_removed(sim->bus, "/org/bluez");
	sim->root_slot = sd_bus_slot_unref(sim->root_slot);
	sim->root_slot2 = sd_bus_slot_unref(sim->root_slot2);
}

/* ---- clients leaving the bus ------------------------------------------------ */

static int name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	const char *name, *old_owner, *new_owner;
	struct discovery_client *c;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (*new_owner || name[0] != ':')
		return 0;

	/* A client left: its discovery session and notify sessions end. */
	c = client_find(sim, name);
	if (c) {
		client_remove(sim, c);
		discovery_update(sim);
	}
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];

		for (unsigned k = 0; k < dev->n_chars; k++) {
			struct sim_char *ch = &dev->chars[k];

			for (unsigned s = ch->n_sessions; s-- > 0;)
				if (streq(ch->sessions[s], name))
					char_drop_session(ch, s);
			if (ch->acquired_owner && streq(ch->acquired_owner, name))
				char_release_acquired(ch);
		}
	}
	return 0;
}

/* ---- bluetoothd restart ---------------------------------------------------- */

/* What every bluetoothd connection has first: the ObjectManager, the watch. */
static int bus_objects_add(struct sim *sim)
{
	int r;

	r = sd_bus_add_object_manager(sim->bus, &sim->om_slot, "/");
	if (r < 0)
		return r;
	return sd_bus_match_signal(sim->bus, &sim->noc_slot, "org.freedesktop.DBus",
				   "/org/freedesktop/DBus", "org.freedesktop.DBus",
				   "NameOwnerChanged", name_owner_changed, sim);
}

static int restart_name_acquired(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;

	if (sd_bus_message_is_method_error(m, NULL)) {
		fprintf(stderr, "bluez-sim: re-owning org.bluez failed: %s\n",
			sd_bus_message_get_error(m)->message);
		return 0;
	}
	sim->bluez_owned = true;
	sim->restarting = false;
	if (root_add(sim) < 0)
		fprintf(stderr, "bluez-sim: adding /org/bluez failed\n");
	/* As bluetoothd: the name first, the adapter right after. */
	if (!sim->no_adapter && bluez_add_adapter(sim) < 0)
		fprintf(stderr, "bluez-sim: adding the adapter failed\n");
	return 0;
}

static int restart_up(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim *sim = userdata;
	int r;

	timer_cancel(&sim->restart_timer);
	/* The new bluetoothd process: a new connection, a new unique name. */
	r = sim_bus_open(sim, &sim->bus);
	if (r >= 0)
		r = bus_objects_add(sim);
	if (r >= 0)
		r = sd_bus_request_name_async(sim->bus, NULL, "org.bluez", 0,
					      restart_name_acquired, sim);
	if (r < 0)
		fprintf(stderr, "bluez-sim: restarting org.bluez failed: %s\n", strerror(-r));
	return 0;
}

int bluez_restart(struct sim *sim, uint32_t down_ms)
{
	if (sim->restarting)
		return -EBUSY;

	/* Replies still held back go out now; notifications die with the link. */
	deferred_flush(sim);
	/* The restarted bluetoothd finds the adapter that is plugged in. */
	sim->no_adapter = !sim->adapter_present;
	sim->restarting = true;
	/*
	 * A dying bluetoothd answers no pending call: the bus daemon answers
	 * them (NoReply) when the connection closes.
	 */
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];

		dev->connect_msg = sd_bus_message_unref(dev->connect_msg);
		dev->disconnect_msg = sd_bus_message_unref(dev->disconnect_msg);
		timer_cancel(&dev->disconnect_timer);
		if (dev->connecting)
			device_clear_connect(dev, NULL, NULL);
	}
	bluez_remove_adapter(sim);
	root_remove(sim);
	/* The process exits: its connection closes, the name goes with it. */
	deferred_flush(sim);
	sim->om_slot = sd_bus_slot_unref(sim->om_slot);
	sim->noc_slot = sd_bus_slot_unref(sim->noc_slot);
	sim->bus = sd_bus_flush_close_unref(sim->bus);
	sim->bluez_owned = false;
	return timer_arm(sim, &sim->restart_timer,
			 sim_mono_usec() + (uint64_t)down_ms * 1000, restart_up, sim);
}

/* ---- start and teardown --------------------------------------------------------- */

int bluez_start(struct sim *sim)
{
	int r;

	r = bus_objects_add(sim);
	if (r < 0)
		return r;
	r = root_add(sim);
	if (r < 0)
		return r;
	if (!sim->no_adapter) {
		r = bluez_add_adapter(sim);
		if (r < 0)
			return r;
	}
	/* Objects first, then the name (STYLE.md: register before requesting). */
	r = sd_bus_request_name(sim->bus, "org.bluez", 0);
	if (r < 0)
		return r;
	sim->bluez_owned = true;
	return 0;
}

void bluez_free(struct sim *sim)
{
	deferred_flush(sim);
	for (unsigned i = 0; i < sim->n_devices; i++) {
		struct sim_device *dev = &sim->devices[i];

		sim->restarting = true;	/* no signals while tearing down */
		device_remove_object(dev);
		timer_cancel(&dev->connect_timer);
		timer_cancel(&dev->resolve_timer);
		timer_cancel(&dev->temporary_timer);
		timer_cancel(&dev->sensor_timer);
		timer_cancel(&dev->inject_timer);
		timer_cancel(&dev->disconnect_timer);
		free(dev->inject_buf);
		free(dev->inject_len);
		for (unsigned k = 0; k < dev->n_services; k++)
			free(dev->services[k].path);
		for (unsigned k = 0; k < dev->n_chars; k++) {
			free(dev->chars[k].path);
			free(dev->chars[k].desc_path);
		}
		free(dev->address);
		free(dev->name);
		free(dev->alias);
		free(dev->path);
		free(dev->adapter_path);
	}
	discovery_reset(sim);
	sim->root_slot = sd_bus_slot_unref(sim->root_slot);
	sim->root_slot2 = sd_bus_slot_unref(sim->root_slot2);
	sim->adapter_slot = sd_bus_slot_unref(sim->adapter_slot);
	sim->adapter_set_slot = sd_bus_slot_unref(sim->adapter_set_slot);
	sim->power_off_msg = sd_bus_message_unref(sim->power_off_msg);
	sim->om_slot = sd_bus_slot_unref(sim->om_slot);
	sim->noc_slot = sd_bus_slot_unref(sim->noc_slot);
	timer_cancel(&sim->scan_timer);
	timer_cancel(&sim->restart_timer);
	timer_cancel(&sim->power_off_timer);
}
