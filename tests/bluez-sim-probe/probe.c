// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim-probe: a scripted BlueZ client for tests/it-bluez-sim.sh (one bus connection). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse.h"

/*
 * Steps run in order on one connection, so discovery sessions and notify
 * sessions live as long as the probe. Each step prints lines a test greps:
 *   filter UUID[,UUID..]   SetDiscoveryFilter(Transport le, UUIDs)
 *   scan | stopscan        StartDiscovery / StopDiscovery
 *   wait-device ADDR S     wait up to S s for the device object
 *   connect ADDR           Connect; prints "connect-reply MS" then
 *                          "resolved MS" when ServicesResolved turns true
 *   read ADDR UUID         ReadValue -> "read HEX"
 *   write ADDR UUID HEX    WriteValue(type request)
 *   notify ADDR UUID N S   StartNotify, print N "value HEX" within S s
 *   unnotify ADDR UUID     StopNotify
 *   acquire ADDR UUID N S  AcquireNotify: "mtu M", N "packet HEX" lines
 *   wait-hup S             wait for HUP on the acquired fd -> "hup"
 *   sleep MS               keep processing the bus for MS ms
 *   power on|off MS        Set Adapter1.Powered without waiting for the
 *                          reply, then process the bus for MS ms: the
 *                          reply prints "power-reply MS ok|ERROR", in
 *                          its place among the signal lines
 * Every PropertiesChanged seen is printed as "changed PATH PROP".
 */

static sd_bus *bus;
static uint64_t t0;
static int acquired_fd = -EBADF;
static int resolved_seen;
static char want_value_path[256];
/* Characteristics this probe subscribed to: their values are printed. */
static char subscribed[16][256];
static unsigned n_subscribed;
static unsigned values_seen;
static uint8_t last_value[512];
static size_t last_value_len;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_hex(const char *tag, const uint8_t *p, size_t n)
{
	printf("%s ", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
	fflush(stdout);
}

static bool is_subscribed(const char *path)
{
	for (unsigned i = 0; i < n_subscribed; i++)
		if (streq(subscribed[i], path))
			return true;
	return false;
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *iface, *path = sd_bus_message_get_path(m);
	int r;

	r = sd_bus_message_read(m, "s", &iface);
	if (r < 0)
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		const char *prop;
		int b;

		if (sd_bus_message_read(m, "s", &prop) < 0)
			return 0;
		printf("changed %s %s\n", path, prop);
		if (streq(prop, "ServicesResolved")) {
			if (sd_bus_message_read(m, "v", "b", &b) >= 0 && b) {
				resolved_seen = 1;
				printf("resolved %llu\n", (unsigned long long)(now_ms() - t0));
			}
		} else if (streq(prop, "Value") && is_subscribed(path)) {
			const void *p;
			size_t n;

			if (sd_bus_message_enter_container(m, 'v', "ay") < 0 ||
			    sd_bus_message_read_array(m, 'y', &p, &n) < 0 ||
			    sd_bus_message_exit_container(m) < 0)
				return 0;
			print_hex("value", p, n);
			if (streq(path, want_value_path))
				values_seen++;
			memcpy(last_value, p, n < sizeof(last_value) ? n : sizeof(last_value));
			last_value_len = n;
		} else {
			(void)sd_bus_message_skip(m, "v");
		}
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	fflush(stdout);
	return 0;
}

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *path;

	if (sd_bus_message_read(m, "o", &path) >= 0)
		printf("added %s\n", path);
	return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *path;

	if (sd_bus_message_read(m, "o", &path) >= 0)
		printf("removed %s\n", path);
	return 0;
}

/* Process the bus for up to ms, or until *flag becomes non-zero. */
static void pump(uint64_t ms, const int *flag)
{
	uint64_t end = now_ms() + ms;

	/* Whatever is queued is dispatched even for ms == 0. */
	while (sd_bus_process(bus, NULL) > 0)
		;
	while (now_ms() < end && !(flag && *flag)) {
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			return;
		if (r > 0)
			continue;
		(void)sd_bus_wait(bus, (end - now_ms()) * 1000);
	}
	fflush(stdout);
}

static void device_path(const char *addr, char *out, size_t n)
{
	int k = snprintf(out, n, "/org/bluez/hci0/dev_");

	for (const char *p = addr; *p && (size_t)k + 1 < n; p++)
		out[k++] = *p == ':' ? '_' : *p;
	out[k] = 0;
}

/* Find a characteristic path of the device by 16-bit or 128-bit UUID. */
static int char_path(const char *addr, const char *uuid, char *out, size_t n)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char dev[128], want[40];
	int r, found = 0;

	device_path(addr, dev, sizeof(dev));
	if (strlen(uuid) == 4)
		snprintf(want, sizeof(want), "0000%s-0000-1000-8000-00805f9b34fb", uuid);
	else
		snprintf(want, sizeof(want), "%s", uuid);

	r = sd_bus_call_method(bus, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", NULL, &reply, "");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r >= 0 && sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
		const char *path;

		sd_bus_message_read(reply, "o", &path);
		sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
		while (sd_bus_message_enter_container(reply, 'e', "sa{sv}") > 0) {
			const char *iface;

			sd_bus_message_read(reply, "s", &iface);
			sd_bus_message_enter_container(reply, 'a', "{sv}");
			while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
				const char *prop, *v;

				sd_bus_message_read(reply, "s", &prop);
				if (streq(iface, "org.bluez.GattCharacteristic1") &&
				    streq(prop, "UUID")) {
					sd_bus_message_read(reply, "v", "s", &v);
					if (strcasecmp(v, want) == 0 &&
					    !strncmp(path, dev, strlen(dev)) && !found) {
						snprintf(out, n, "%s", path);
						found = 1;
					}
				} else {
					sd_bus_message_skip(reply, "v");
				}
				sd_bus_message_exit_container(reply);
			}
			sd_bus_message_exit_container(reply);
			sd_bus_message_exit_container(reply);
		}
		sd_bus_message_exit_container(reply);
		sd_bus_message_exit_container(reply);
	}
	return found ? 0 : -ENOENT;
}

static int fail(const char *step, const sd_bus_error *e, int r)
{
	printf("error %s %s %s\n", step, e && e->name ? e->name : "-",
	       e && e->message ? e->message : strerror(-r));
	fflush(stdout);
	return r;
}

static int step_connect(const char *addr)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	char dev[128];
	uint64_t start = now_ms();
	int r;

	device_path(addr, dev, sizeof(dev));
	resolved_seen = 0;
	t0 = start;
	r = sd_bus_call_method(bus, "org.bluez", dev, "org.bluez.Device1", "Connect", &e,
			       NULL, "");
	if (r < 0)
		return fail("connect", &e, r);
	/* Signals queued during the call are dispatched after this line. */
	printf("connect-reply %llu\n", (unsigned long long)(now_ms() - start));
	pump(5000, &resolved_seen);
	if (!resolved_seen)
		printf("error connect not-resolved\n");
	return resolved_seen ? 0 : -ETIMEDOUT;
}

static int on_power_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);

	printf("power-reply %llu %s\n", (unsigned long long)(now_ms() - t0),
	       e ? e->name : "ok");
	fflush(stdout);
	return 0;
}

static int step_power(const char *onoff, unsigned ms)
{
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	int r;

	if (!streq(onoff, "on") && !streq(onoff, "off")) {
		printf("error power: on or off, not '%s'\n", onoff);
		return -EINVAL;
	}
	t0 = now_ms();
	r = sd_bus_call_method_async(bus, &slot, "org.bluez", "/org/bluez/hci0",
				     "org.freedesktop.DBus.Properties", "Set", on_power_reply,
				     NULL, "ssv", "org.bluez.Adapter1", "Powered", "b",
				     (int)streq(onoff, "on"));
	if (r < 0)
		return fail("power", NULL, r);
	pump(ms, NULL);
	return 0;
}

static int step_acquire(const char *addr, const char *uuid, unsigned count, unsigned secs)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char path[256];
	uint16_t mtu;
	int fd, r;
	unsigned got = 0;
	uint64_t end = now_ms() + secs * 1000ULL;

	closep(&acquired_fd);
	r = char_path(addr, uuid, path, sizeof(path));
	if (r < 0)
		return fail("acquire", NULL, r);
	r = sd_bus_call_method(bus, "org.bluez", path, "org.bluez.GattCharacteristic1",
			       "AcquireNotify", &e, &reply, "a{sv}", 0);
	if (r < 0)
		return fail("acquire", &e, r);
	r = sd_bus_message_read(reply, "hq", &fd, &mtu);
	if (r < 0)
		return fail("acquire", NULL, r);
	acquired_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	printf("mtu %u\n", mtu);
	while (got < count && now_ms() < end) {
		struct pollfd p = { .fd = acquired_fd, .events = POLLIN };
		uint8_t buf[1024];
		ssize_t n;

		pump(0, NULL);
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(acquired_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			print_hex("packet", buf, (size_t)n);
			got++;
		} else if (n == 0) {
			printf("hup\n");
			break;
		}
	}
	fflush(stdout);
	return got == count ? 0 : -ETIMEDOUT;
}

static int step_wait_hup(unsigned secs)
{
	uint64_t end = now_ms() + secs * 1000ULL;

	while (acquired_fd >= 0 && now_ms() < end) {
		struct pollfd p = { .fd = acquired_fd, .events = POLLIN };
		uint8_t buf[1024];

		pump(0, NULL);
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (p.revents & POLLHUP) {
			printf("hup\n");
			fflush(stdout);
			return 0;
		}
		(void)recv(acquired_fd, buf, sizeof(buf), MSG_DONTWAIT);
	}
	printf("error wait-hup timeout\n");
	return -ETIMEDOUT;
}

static int simple_call(const char *step, const char *addr, const char *uuid,
		       const char *member)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	char path[256];
	int r;

	r = char_path(addr, uuid, path, sizeof(path));
	if (r < 0)
		return fail(step, NULL, r);
	r = sd_bus_call_method(bus, "org.bluez", path, "org.bluez.GattCharacteristic1",
			       member, &e, NULL, "");
	if (r < 0)
		return fail(step, &e, r);
	snprintf(want_value_path, sizeof(want_value_path), "%s", path);
	if (!is_subscribed(path) && n_subscribed < 16)
		snprintf(subscribed[n_subscribed++], sizeof(subscribed[0]), "%s", path);
	printf("%s ok\n", step);
	fflush(stdout);
	return 0;
}

static int run_step(char **argv, int argc, int *used)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *s = argv[0];
	unsigned long long a = 0, b = 0;
	char path[256];
	int r;

#define NEED(n)								\
	do {								\
		if (argc < (n) + 1) {					\
			printf("error %s: needs %d args\n", s, n);	\
			return -EINVAL;					\
		}							\
		*used = (n) + 1;					\
	} while (0)
	if (streq(s, "filter")) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		_cleanup_free_ char *l = NULL;

		NEED(1);
		l = strdup(argv[1]);
		r = sd_bus_message_new_method_call(bus, &m, "org.bluez", "/org/bluez/hci0",
						   "org.bluez.Adapter1", "SetDiscoveryFilter");
		if (r < 0)
			return r;
		sd_bus_message_open_container(m, 'a', "{sv}");
		sd_bus_message_append(m, "{sv}", "Transport", "s", "le");
		sd_bus_message_open_container(m, 'e', "sv");
		sd_bus_message_append(m, "s", "UUIDs");
		sd_bus_message_open_container(m, 'v', "as");
		sd_bus_message_open_container(m, 'a', "s");
		for (char *save = NULL, *t = strtok_r(l, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			sd_bus_message_append(m, "s", t);
		sd_bus_message_close_container(m);
		sd_bus_message_close_container(m);
		sd_bus_message_close_container(m);
		sd_bus_message_close_container(m);
		r = sd_bus_call(bus, m, 0, &e, NULL);
		if (r < 0)
			return fail(s, &e, r);
		printf("filter ok\n");
	} else if (streq(s, "scan") || streq(s, "stopscan")) {
		*used = 1;
		r = sd_bus_call_method(bus, "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1",
				       streq(s, "scan") ? "StartDiscovery" : "StopDiscovery",
				       &e, NULL, "");
		if (r < 0)
			return fail(s, &e, r);
		printf("%s ok\n", s);
	} else if (streq(s, "wait-device")) {
		NEED(2);
		if (parse_unsigned(argv[2], 600, &a) < 0)
			return -EINVAL;
		device_path(argv[1], path, sizeof(path));
		for (uint64_t end = now_ms() + a * 1000; now_ms() < end;) {
			int16_t rssi;

			if (sd_bus_get_property_trivial(bus, "org.bluez", path,
							"org.bluez.Device1", "RSSI", NULL,
							'n', &rssi) >= 0) {
				printf("found %s rssi %d\n", argv[1], rssi);
				return 0;
			}
			pump(100, NULL);
		}
		printf("error wait-device timeout\n");
		return -ETIMEDOUT;
	} else if (streq(s, "connect")) {
		NEED(1);
		return step_connect(argv[1]);
	} else if (streq(s, "read")) {
		const void *p;
		size_t n;

		NEED(2);
		r = char_path(argv[1], argv[2], path, sizeof(path));
		if (r < 0)
			return fail(s, NULL, r);
		r = sd_bus_call_method(bus, "org.bluez", path, "org.bluez.GattCharacteristic1",
				       "ReadValue", &e, &reply, "a{sv}", 0);
		if (r < 0)
			return fail(s, &e, r);
		r = sd_bus_message_read_array(reply, 'y', &p, &n);
		if (r < 0)
			return r;
		print_hex("read", p, n);
	} else if (streq(s, "write")) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		uint8_t buf[512];
		size_t n;

		NEED(3);
		if (parse_hex(argv[3], buf, sizeof(buf), &n) < 0)
			return -EINVAL;
		r = char_path(argv[1], argv[2], path, sizeof(path));
		if (r < 0)
			return fail(s, NULL, r);
		r = sd_bus_message_new_method_call(bus, &m, "org.bluez", path,
						   "org.bluez.GattCharacteristic1", "WriteValue");
		if (r < 0)
			return r;
		sd_bus_message_append_array(m, 'y', buf, n);
		sd_bus_message_append(m, "a{sv}", 1, "type", "s", "request");
		r = sd_bus_call(bus, m, 0, &e, NULL);
		if (r < 0)
			return fail(s, &e, r);
		printf("write ok\n");
	} else if (streq(s, "notify")) {
		NEED(4);
		if (parse_unsigned(argv[3], 100000, &a) < 0 ||
		    parse_unsigned(argv[4], 600, &b) < 0)
			return -EINVAL;
		r = simple_call("notify", argv[1], argv[2], "StartNotify");
		if (r < 0)
			return r;
		values_seen = 0;
		for (uint64_t end = now_ms() + b * 1000; values_seen < a && now_ms() < end;)
			pump(50, NULL);
		if (values_seen < a) {
			printf("error notify got %u of %llu\n", values_seen, a);
			return -ETIMEDOUT;
		}
	} else if (streq(s, "unnotify")) {
		NEED(2);
		return simple_call("unnotify", argv[1], argv[2], "StopNotify");
	} else if (streq(s, "acquire")) {
		NEED(4);
		if (parse_unsigned(argv[3], 100000, &a) < 0 ||
		    parse_unsigned(argv[4], 600, &b) < 0)
			return -EINVAL;
		return step_acquire(argv[1], argv[2], (unsigned)a, (unsigned)b);
	} else if (streq(s, "wait-hup")) {
		NEED(1);
		if (parse_unsigned(argv[1], 600, &a) < 0)
			return -EINVAL;
		return step_wait_hup((unsigned)a);
	} else if (streq(s, "power")) {
		NEED(2);
		if (parse_unsigned(argv[2], 600000, &a) < 0)
			return -EINVAL;
		return step_power(argv[1], (unsigned)a);
	} else if (streq(s, "sleep")) {
		NEED(1);
		if (parse_unsigned(argv[1], 600000, &a) < 0)
			return -EINVAL;
		pump(a, NULL);
	} else {
		printf("error unknown step '%s'\n", s);
		*used = 1;
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int r, i = 1;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "probe: no bus: %s\n", strerror(-r));
		return 2;
	}
	t0 = now_ms();
	sd_bus_match_signal(bus, NULL, "org.bluez", NULL, "org.freedesktop.DBus.Properties",
			    "PropertiesChanged", on_changed, NULL);
	sd_bus_match_signal(bus, NULL, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
			    "InterfacesAdded", on_added, NULL);
	sd_bus_match_signal(bus, NULL, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
			    "InterfacesRemoved", on_removed, NULL);
	while (i < argc) {
		int used = 1;

		r = run_step(argv + i, argc - i, &used);
		fflush(stdout);
		if (r < 0)
			break;
		i += used;
	}
	closep(&acquired_fd);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? 1 : 0;
}
