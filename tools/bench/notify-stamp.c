// SPDX-License-Identifier: GPL-2.0-or-later
/* bench-notify-stamp: wall-clock arrival time of each BlueZ notification on one characteristic. */

/*
 * A plain bus client (an AddMatch recipient, not a monitor: monitors get
 * their copy after the real recipients) that prints one line
 * "SECONDS.NANOSECONDS" (CLOCK_REALTIME, taken as soon as the bus socket is
 * readable, before parsing) for every PropertiesChanged carrying "Value" on
 * the characteristic with the given UUID of the device with the given
 * address. tools/bench/bench-daemon.sh pairs these with the receive times of
 * the MQTT messages the daemon published in response.
 *
 *   bench-notify-stamp ADDRESS UUID [SECONDS]
 *
 * Exits 0 after SECONDS (default: run until SIGTERM/SIGINT), 1 on errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "common/macro.h"
#include "common/parse.h"

static struct timespec wake;
static unsigned long long stamps;
static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	quit = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "/org/bluez/hci0/dev_A0_9E_..." for "A0:9E:..."; the adapter is not checked. */
static void device_part(const char *address, char *out, size_t n)
{
	size_t k = snprintf(out, n, "/dev_");

	for (const char *p = address; *p && k + 1 < n; p++)
		out[k++] = *p == ':' ? '_' : *p;
	out[k] = '\0';
}

/* The object path of the characteristic UUID (lower case, 128-bit) on the device; -ENOENT. */
static int find_char(sd_bus *bus, const char *address, const char *uuid, char *out, size_t n)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	char dev[64];
	int r;

	device_part(address, dev, sizeof(dev));
	r = sd_bus_call_method(bus, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
			       "GetManagedObjects", &error, &reply, "");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		const char *path;
		bool dev_match, found = false;

		r = sd_bus_message_read(reply, "o", &path);
		if (r < 0)
			return r;
		dev_match = strstr(path, dev) && strstr(path, "/char");
		r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
		if (r < 0)
			return r;
		while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
			const char *iface;

			r = sd_bus_message_read(reply, "s", &iface);
			if (r < 0)
				return r;
			if (!dev_match || !streq(iface, "org.bluez.GattCharacteristic1")) {
				r = sd_bus_message_skip(reply, "a{sv}");
			} else {
				r = sd_bus_message_enter_container(reply, 'a', "{sv}");
				while (r >= 0 &&
				       (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
					const char *key, *val;

					r = sd_bus_message_read(reply, "s", &key);
					if (r >= 0 && streq(key, "UUID")) {
						r = sd_bus_message_read(reply, "v", "s", &val);
						if (r >= 0 && strcasecmp(val, uuid) == 0)
							found = true;
					} else if (r >= 0) {
						r = sd_bus_message_skip(reply, "v");
					}
					if (r >= 0)
						r = sd_bus_message_exit_container(reply);
				}
				if (r >= 0)
					r = sd_bus_message_exit_container(reply);
			}
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(reply);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
		if (found) {
			snprintf(out, n, "%s", path);
			return 0;
		}
	}
	return r < 0 ? r : -ENOENT;
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const char *iface, *key;
	bool value = false;
	int r;

	r = sd_bus_message_read(m, "s", &iface);
	if (r < 0 || !streq(iface, "org.bluez.GattCharacteristic1"))
		return 0;
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r >= 0 && streq(key, "Value"))
			value = true;
		if (r >= 0)
			r = sd_bus_message_skip(m, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (!value)
		return 0;
	printf("%lld.%09ld\n", (long long)wake.tv_sec, wake.tv_nsec);
	stamps++;
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	unsigned long long seconds = 0;
	char path[256], match[512];
	double deadline, until;
	int r;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && parse_unsigned(argv[3], 86400 * 7, &seconds) < 0)) {
		fprintf(stderr, "usage: bench-notify-stamp ADDRESS UUID [SECONDS]\n");
		return EX_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "bench-notify-stamp: no bus: %s\n", strerror(-r));
		return 1;
	}
	/* The characteristic appears once someone connected the device. */
	deadline = mono_s() + 30;
	while ((r = find_char(bus, argv[1], argv[2], path, sizeof(path))) < 0) {
		if (quit || mono_s() > deadline) {
			fprintf(stderr, "bench-notify-stamp: no characteristic %s on %s: %s\n",
				argv[2], argv[1], strerror(-r));
			return 1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	snprintf(match, sizeof(match),
		 "type='signal',interface='org.freedesktop.DBus.Properties',"
		 "member='PropertiesChanged',path='%s',arg0='org.bluez.GattCharacteristic1'",
		 path);
	r = sd_bus_add_match(bus, &slot, match, on_changed, NULL);
	if (r < 0) {
		fprintf(stderr, "bench-notify-stamp: AddMatch: %s\n", strerror(-r));
		return 1;
	}
	fprintf(stderr, "bench-notify-stamp: watching %s\n", path);

	until = seconds ? mono_s() + seconds : 0;
	while (!quit && (!until || mono_s() < until)) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "bench-notify-stamp: bus: %s\n", strerror(-r));
			return 1;
		}
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, 500000);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "bench-notify-stamp: bus: %s\n", strerror(-r));
			return 1;
		}
		/* Stamp the wake-up, before sd_bus_process reads and parses. */
		clock_gettime(CLOCK_REALTIME, &wake);
	}
	fprintf(stderr, "bench-notify-stamp: %llu notifications\n", stamps);
	return 0;
}
