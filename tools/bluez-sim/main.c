// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: command line, event loop and the io.gaitkeeper.BluezSim1 control interface. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/macro.h"
#include "common/parse.h"
#include "tools/bluez-sim/sim.h"

#define CTL_NAME	"io.gaitkeeper.BluezSim"
#define CTL_PATH	"/io/gaitkeeper/BluezSim"
#define CTL_IFACE	"io.gaitkeeper.BluezSim1"
#define CTL_ERROR(x)	"io.gaitkeeper.BluezSim.Error." x

/* Seconds from 1970-01-01 to 2000-01-01, the PMD sensor clock epoch. */
#define PMD_EPOCH_OFFSET_S	946684800ULL

/* ---- control interface ----------------------------------------------------- */

static int ctl_device(struct sim *sim, sd_bus_message *m, struct sim_device **ret,
		      sd_bus_error *error)
{
	const char *address;
	int r;

	r = sd_bus_message_read_basic(m, 's', &address);
	if (r < 0)
		return r;
	*ret = sim_find_device(sim, address);
	if (!*ret)
		return sd_bus_error_setf(error, CTL_ERROR("UnknownDevice"),
					 "No simulated device '%s'", address);
	return 0;
}

static int ctl_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	struct sim_device *dev = NULL;
	int r;

	r = ctl_device(sim, m, &dev, error);
	if (r < 0)
		return r;
	if (!dev->connected && !dev->connecting)
		return sd_bus_error_setf(error, CTL_ERROR("NotConnected"),
					 "'%s' is not connected", dev->address);
	/* Link loss: supervision timeout, as BlueZ reports it. */
	device_link_down(dev, "org.bluez.Error.Failed", "le-connection-abort-by-local");
	return sd_bus_reply_method_return(m, NULL);
}

/* SetSilent, SetAdvertising: a device address and a boolean. */
static int ctl_device_bool(struct sim *sim, sd_bus_message *m, struct sim_device **ret,
			   int *ret_b, sd_bus_error *error)
{
	int r;

	r = ctl_device(sim, m, ret, error);
	if (r < 0)
		return r;
	return sd_bus_message_read_basic(m, 'b', ret_b);
}

static int ctl_set_silent(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = NULL;
	int b, r;

	r = ctl_device_bool(userdata, m, &dev, &b, error);
	if (r < 0)
		return r;
	dev->silent = b;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_set_advertising(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = NULL;
	int b, r;

	r = ctl_device_bool(userdata, m, &dev, &b, error);
	if (r < 0)
		return r;
	device_set_advertising(dev, b);
	return sd_bus_reply_method_return(m, NULL);
}

/* A uint32 argument of at most max; name and unit word the error. */
static int ctl_read_u32(sd_bus_message *m, uint32_t max, const char *name, const char *unit,
			uint32_t *ret, sd_bus_error *error)
{
	int r;

	r = sd_bus_message_read_basic(m, 'u', ret);
	if (r < 0)
		return r;
	if (*ret > max)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s %u%s is over %u",
					 name, *ret, unit, max);
	return 0;
}

static int ctl_restart(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	uint32_t down_ms;
	int r;

	r = ctl_read_u32(m, 600000, "down_ms", "", &down_ms, error);
	if (r < 0)
		return r;
	r = bluez_restart(sim, down_ms);
	if (r == -EBUSY)
		return sd_bus_error_setf(error, CTL_ERROR("Busy"), "A restart is in progress");
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_remove_adapter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;

	if (sim->restarting)
		return sd_bus_error_setf(error, CTL_ERROR("Busy"), "A restart is in progress");
	if (!sim->adapter_present)
		return sd_bus_error_setf(error, CTL_ERROR("NoAdapter"), "No adapter");
	bluez_remove_adapter(sim);
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_set_blocked(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	int blocked, r;

	r = sd_bus_message_read(m, "b", &blocked);
	if (r < 0)
		return r;
	if (!sim->adapter_present || sim->restarting)
		return sd_bus_error_setf(error, CTL_ERROR("NoAdapter"), "No adapter");
	bluez_set_blocked(sim, blocked);
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_add_adapter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	int r;

	if (sim->restarting) {
		/* Plugged in while bluetoothd is down: it finds it on start. */
		sim->no_adapter = false;
		return sd_bus_reply_method_return(m, NULL);
	}
	if (sim->adapter_present)
		return sd_bus_error_setf(error, CTL_ERROR("AlreadyExists"),
					 "The adapter is present");
	r = bluez_add_adapter(sim);
	if (r < 0)
		return r;
	sim->no_adapter = false;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_remove_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	struct sim_device *dev = NULL;
	int r;

	r = ctl_device(sim, m, &dev, error);
	if (r < 0)
		return r;
	if (!dev->present)
		return sd_bus_error_setf(error, CTL_ERROR("NotPresent"),
					 "'%s' has no device object", dev->address);
	device_remove_object(dev);
	dev->cached = false;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_char(struct sim_device *dev, const char *uuid, struct sim_char **ret,
		    sd_bus_error *error)
{
	char norm[SIM_UUID_MAX];

	*ret = NULL;
	if (uuid_normalize(uuid, norm) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "'%s' is not a UUID", uuid);
	*ret = device_find_char(dev, norm);
	if (!*ret)
		return sd_bus_error_setf(error, CTL_ERROR("UnknownCharacteristic"),
					 "'%s' has no characteristic %s", dev->address, norm);
	if (!dev->services_resolved)
		return sd_bus_error_setf(error, CTL_ERROR("NotConnected"),
					 "'%s' is not connected", dev->address);
	return 0;
}

static int ctl_inject_payload(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	struct sim_device *dev = NULL;
	struct sim_char *ch = NULL;
	const char *uuid;
	const void *data;
	size_t len;
	int r;

	r = ctl_device(sim, m, &dev, error);
	if (r < 0)
		return r;
	r = sd_bus_message_read_basic(m, 's', &uuid);
	if (r < 0)
		return r;
	r = sd_bus_message_read_array(m, 'y', &data, &len);
	if (r < 0)
		return r;
	if (len > (size_t)dev->mtu - 3)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "%zu bytes exceed the ATT MTU %u - 3", len, dev->mtu);
	r = ctl_char(dev, uuid, &ch, error);
	if (r < 0)
		return r;
	char_notify(ch, data, len);
	return sd_bus_reply_method_return(m, NULL);
}

static void inject_clear(struct sim_device *dev)
{
	dev->inject_timer = sd_event_source_disable_unref(dev->inject_timer);
	free(dev->inject_buf);
	free(dev->inject_len);
	dev->inject_buf = NULL;
	dev->inject_len = NULL;
	dev->inject_n = dev->inject_pos = 0;
}

static int inject_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_device *dev = userdata;

	if (!dev->services_resolved || dev->inject_pos >= dev->inject_n) {
		inject_clear(dev);
		return 0;
	}
	char_notify(dev->inject_char, dev->inject_buf[dev->inject_pos],
		    dev->inject_len[dev->inject_pos]);
	dev->inject_pos++;
	if (dev->inject_pos >= dev->inject_n) {
		inject_clear(dev);
		return 0;
	}
	return sd_event_source_set_time(s, usec + SIM_INJECT_PERIOD_USEC) < 0 ? 0 :
	       sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int ctl_inject_file(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	struct sim_device *dev = NULL;
	struct sim_char *ch = NULL;
	const char *uuid, *path;
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ uint8_t (*bufs)[SIM_VALUE_MAX] = NULL;
	_cleanup_free_ size_t *lens = NULL;
	size_t cap = 0, n = 0, linecap = 0, lineno = 0;
	FILE *f;
	int r;

	r = ctl_device(sim, m, &dev, error);
	if (r < 0)
		return r;
	r = sd_bus_message_read(m, "ss", &uuid, &path);
	if (r < 0)
		return r;
	r = ctl_char(dev, uuid, &ch, error);
	if (r < 0)
		return r;

	f = fopen(path, "re");
	if (!f)
		return sd_bus_error_setf(error, CTL_ERROR("File"), "Cannot open '%s': %m", path);
	/* Validate the whole file before sending anything. */
	while (getline(&line, &linecap, f) >= 0) {
		char *p = line;

		lineno++;
		p[strcspn(p, "\r\n")] = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *nb = ncap > 100000 ? NULL : realloc(bufs, ncap * sizeof(*bufs));
			void *nl = nb ? realloc(lens, ncap * sizeof(*lens)) : NULL;

			if (nb)
				bufs = nb;
			if (!nb || !nl) {
				fclose(f);
				return sd_bus_error_setf(error, CTL_ERROR("File"),
							 "'%s' is too large", path);
			}
			lens = nl;
			cap = ncap;
		}
		r = parse_hex(p, bufs[n], (size_t)dev->mtu - 3, &lens[n]);
		if (r < 0) {
			fclose(f);
			return sd_bus_error_setf(error, CTL_ERROR("File"),
						 "%s:%zu: not a hex payload of at most %u bytes",
						 path, lineno, dev->mtu - 3);
		}
		n++;
	}
	fclose(f);
	if (!n)
		return sd_bus_error_setf(error, CTL_ERROR("File"), "'%s' holds no payload", path);

	inject_clear(dev);
	r = sd_event_add_time(sim->event, &dev->inject_timer, CLOCK_MONOTONIC,
			      sim_mono_usec(), 1000, inject_tick, dev);
	if (r < 0)
		return r;
	dev->inject_buf = TAKE_PTR(bufs);
	dev->inject_len = TAKE_PTR(lens);
	dev->inject_n = n;
	dev->inject_pos = 0;
	dev->inject_char = ch;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_set_latency(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	uint32_t ms;
	int r;

	r = ctl_read_u32(m, 60000, "latency", " ms", &ms, error);
	if (r < 0)
		return r;
	sim->latency_ms = ms;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_set_frame_loss(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim_device *dev = NULL;
	uint32_t per_mille;
	int r;

	r = ctl_device(userdata, m, &dev, error);
	if (r < 0)
		return r;
	r = ctl_read_u32(m, 1000, "frame loss", " per mille", &per_mille, error);
	if (r < 0)
		return r;
	dev->frame_loss_per_mille = per_mille;
	return sd_bus_reply_method_return(m, NULL);
}

static int ctl_get_stats(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct sim_device *dev = NULL;
	int r;

	r = ctl_device(sim, m, &dev, error);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_append(reply, "a{sv}", 9,
				  "connects", "u", dev->stat_connects,
				  "connected", "b", dev->connected,
				  "subscriptions", "u", device_subscriptions(dev),
				  "start_notify", "u", dev->stat_start_notify,
				  "acquire_notify", "u", dev->stat_acquire_notify,
				  "notifications", "t", dev->stat_notifications,
				  "pmd_streaming", "b", (int)pmd_streaming(dev),
				  "frames_lost", "t", dev->stat_frames_lost,
				  "gyro_frames_lost", "t", dev->stat_gyro_frames_lost);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int ctl_quit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct sim *sim = userdata;

	(void)sd_event_exit(sim->event, 0);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable ctl_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("Disconnect", SD_BUS_ARGS("s", address),
				SD_BUS_NO_RESULT, ctl_disconnect, 0),
	SD_BUS_METHOD_WITH_ARGS("SetSilent", SD_BUS_ARGS("s", address, "b", silent),
				SD_BUS_NO_RESULT, ctl_set_silent, 0),
	SD_BUS_METHOD_WITH_ARGS("SetAdvertising", SD_BUS_ARGS("s", address, "b", on),
				SD_BUS_NO_RESULT, ctl_set_advertising, 0),
	SD_BUS_METHOD_WITH_ARGS("RestartBluez", SD_BUS_ARGS("u", down_ms),
				SD_BUS_NO_RESULT, ctl_restart, 0),
	SD_BUS_METHOD("RemoveAdapter", "", "", ctl_remove_adapter, 0),
	SD_BUS_METHOD("AddAdapter", "", "", ctl_add_adapter, 0),
	SD_BUS_METHOD_WITH_ARGS("SetBlocked", SD_BUS_ARGS("b", blocked),
				SD_BUS_NO_RESULT, ctl_set_blocked, 0),
	SD_BUS_METHOD_WITH_ARGS("RemoveDevice", SD_BUS_ARGS("s", address),
				SD_BUS_NO_RESULT, ctl_remove_device, 0),
	SD_BUS_METHOD_WITH_ARGS("InjectPayload", SD_BUS_ARGS("s", address, "s", uuid, "ay", value),
				SD_BUS_NO_RESULT, ctl_inject_payload, 0),
	SD_BUS_METHOD_WITH_ARGS("InjectFile", SD_BUS_ARGS("s", address, "s", uuid, "s", path),
				SD_BUS_NO_RESULT, ctl_inject_file, 0),
	SD_BUS_METHOD_WITH_ARGS("SetLatency", SD_BUS_ARGS("u", ms),
				SD_BUS_NO_RESULT, ctl_set_latency, 0),
	SD_BUS_METHOD_WITH_ARGS("SetFrameLoss", SD_BUS_ARGS("s", address, "u", per_mille),
				SD_BUS_NO_RESULT, ctl_set_frame_loss, 0),
	SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_ARGS("s", address),
				SD_BUS_RESULT("a{sv}", stats), ctl_get_stats, 0),
	SD_BUS_METHOD("Quit", "", "", ctl_quit, 0),
	SD_BUS_VTABLE_END,
};

/* ---- command line ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bluez-sim [OPTIONS] --device KIND,ADDRESS,NAME [--device ...]\n"
		"A simulated BlueZ 5.66 (org.bluez) with running sensors, for tests.\n\n"
		"  --bus ADDRESS          D-Bus address (default: $DBUS_SYSTEM_BUS_ADDRESS)\n"
		"  --adapter NAME         adapter name (default hci0)\n"
		"  --trace FILE.csv       run to replay (default: a synthetic 60 s run)\n"
		"  --speed-mps V          running speed (default 3.0)\n"
		"  --incline-pct P        treadmill incline (default 0)\n"
		"  --time-scale X         play X times faster than real time (default 1)\n"
		"  --loop                 repeat the trace\n"
		"  --treadmill-hr-s S     Treadmill Data carries heart rate for the first S s\n"
		"  --no-adapter           start without an adapter (see AddAdapter)\n"
		"  --temporary-timeout S  remove undiscovered devices after S s (default 30)\n"
		"  --disconnect-delay-ms MS  Device1.Disconnect keeps the link MS ms (default 0)\n"
		"  --connect-timeout-ms MS   a Connect to an absent device fails after MS ms\n"
		"                            (default 30000, as bluetoothd)\n"
		"  --power-off-delay-ms MS   Powered=false takes effect after MS ms, other\n"
		"                            Powered changes meanwhile: Busy (default 0)\n"
		"  --gatt-cache always|no     main.conf [GATT] Cache: keep GATT objects and notify\n"
		"                            sessions across disconnects (default always)\n"
		"  --device KIND,ADDRESS,NAME\n"
		"      KIND: polar-h10 polar-verity-sense footpod power heart-rate treadmill\n");
}

static int parse_address(const char *s, char out[18])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
		out[i] = (char)toupper((unsigned char)s[i]);
	}
	out[17] = 0;
	return 0;
}

static int add_device(struct sim *sim, const char *spec)
{
	_cleanup_free_ char *copy = strdup(spec);
	char *kind, *address, *name, addr[18];
	struct sim_device *dev = NULL;
	int k, r;

	if (!copy)
		return -ENOMEM;
	kind = copy;
	address = strchr(kind, ',');
	if (!address)
		return -EINVAL;
	*address++ = 0;
	name = strchr(address, ',');
	if (!name)
		return -EINVAL;
	*name++ = 0;

	k = device_kind_from_string(kind);
	if (k < 0) {
		fprintf(stderr, "bluez-sim: unknown device kind '%s'\n", kind);
		return -EINVAL;
	}
	if (parse_address(address, addr) < 0) {
		fprintf(stderr, "bluez-sim: bad address '%s'\n", address);
		return -EINVAL;
	}
	if (!*name || strlen(name) > 248) {
		fprintf(stderr, "bluez-sim: bad device name '%s'\n", name);
		return -EINVAL;
	}
	if (sim_find_device(sim, addr)) {
		fprintf(stderr, "bluez-sim: duplicate address '%s'\n", addr);
		return -EINVAL;
	}
	if (sim->n_devices == SIM_MAX_DEVICES) {
		fprintf(stderr, "bluez-sim: at most %d devices\n", SIM_MAX_DEVICES);
		return -E2BIG;
	}

	dev = &sim->devices[sim->n_devices];
	dev->sim = sim;
	dev->index = sim->n_devices++;
	dev->kind = k;
	dev->advertising = true;
	dev->address = strdup(addr);
	dev->name = strdup(name);
	dev->alias = strdup(name);
	for (char *p = addr; *p; p++)
		if (*p == ':')
			*p = '_';
	if (asprintf(&dev->path, "%s/dev_%s", sim->adapter_path, addr) < 0)
		dev->path = NULL;
	if (!dev->address || !dev->name || !dev->alias || !dev->path)
		return -ENOMEM;
	r = profile_setup(dev);
	if (r < 0)
		return r;
	return 0;
}

static int parse_positive(const char *opt, const char *s, double min, double max,
			  double *ret)
{
	double v;

	if (parse_double(s, &v) < 0 || v < min || v > max) {
		fprintf(stderr, "bluez-sim: %s wants a number in [%g, %g], not '%s'\n",
			opt, min, max, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_args(struct sim *sim, int argc, char **argv)
{
	enum {
		ARG_BUS = 0x100, ARG_ADAPTER, ARG_TRACE, ARG_SPEED, ARG_INCLINE,
		ARG_SCALE, ARG_LOOP, ARG_NO_ADAPTER, ARG_DEVICE, ARG_TEMPORARY,
		ARG_DISCONNECT_DELAY, ARG_CONNECT_TIMEOUT, ARG_GATT_CACHE,
		ARG_POWER_OFF_DELAY, ARG_TREADMILL_HR,
	};
	static const struct option options[] = {
		{ "bus", required_argument, NULL, ARG_BUS },
		{ "adapter", required_argument, NULL, ARG_ADAPTER },
		{ "trace", required_argument, NULL, ARG_TRACE },
		{ "speed-mps", required_argument, NULL, ARG_SPEED },
		{ "incline-pct", required_argument, NULL, ARG_INCLINE },
		{ "time-scale", required_argument, NULL, ARG_SCALE },
		{ "loop", no_argument, NULL, ARG_LOOP },
		{ "treadmill-hr-s", required_argument, NULL, ARG_TREADMILL_HR },
		{ "no-adapter", no_argument, NULL, ARG_NO_ADAPTER },
		{ "device", required_argument, NULL, ARG_DEVICE },
		{ "temporary-timeout", required_argument, NULL, ARG_TEMPORARY },
		{ "disconnect-delay-ms", required_argument, NULL, ARG_DISCONNECT_DELAY },
		{ "connect-timeout-ms", required_argument, NULL, ARG_CONNECT_TIMEOUT },
		{ "gatt-cache", required_argument, NULL, ARG_GATT_CACHE },
		{ "power-off-delay-ms", required_argument, NULL, ARG_POWER_OFF_DELAY },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	/* Devices need the adapter path: collect them, add after the options. */
	const char *specs[SIM_MAX_DEVICES + 1];
	unsigned n_specs = 0;
	double v;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case ARG_BUS:
			free(sim->bus_address);
			sim->bus_address = strdup(optarg);
			break;
		case ARG_ADAPTER:
			for (const char *p = optarg; *p; p++)
				if (!isalnum((unsigned char)*p) && *p != '_') {
					fprintf(stderr, "bluez-sim: bad adapter name '%s'\n",
						optarg);
					return -EINVAL;
				}
			if (!*optarg || strlen(optarg) > 32)
				return -EINVAL;
			free(sim->adapter_name);
			sim->adapter_name = strdup(optarg);
			break;
		case ARG_TRACE:
			free(sim->trace_path);
			sim->trace_path = strdup(optarg);
			break;
		case ARG_SPEED:
			if (parse_positive("--speed-mps", optarg, 0, 12, &sim->speed_mps) < 0)
				return -EINVAL;
			break;
		case ARG_INCLINE:
			if (parse_positive("--incline-pct", optarg, -10, 40, &sim->incline_pct) < 0)
				return -EINVAL;
			break;
		case ARG_SCALE:
			if (parse_positive("--time-scale", optarg, 0.01, 1000, &sim->time_scale) < 0)
				return -EINVAL;
			break;
		case ARG_LOOP:
			sim->loop = true;
			break;
		case ARG_TREADMILL_HR:
			if (parse_positive("--treadmill-hr-s", optarg, 0, 1e6,
					   &sim->treadmill_hr_s) < 0)
				return -EINVAL;
			break;
		case ARG_NO_ADAPTER:
			sim->no_adapter = true;
			break;
		case ARG_DEVICE:
			if (n_specs == SIM_MAX_DEVICES) {
				fprintf(stderr, "bluez-sim: at most %d devices\n",
					SIM_MAX_DEVICES);
				return -E2BIG;
			}
			specs[n_specs++] = optarg;
			break;
		case ARG_TEMPORARY:
			if (parse_positive("--temporary-timeout", optarg, 0.1, 3600, &v) < 0)
				return -EINVAL;
			sim->temporary_timeout_usec = (uint64_t)(v * 1e6);
			break;
		case ARG_DISCONNECT_DELAY:
			if (parse_positive("--disconnect-delay-ms", optarg, 0, 10000, &v) < 0)
				return -EINVAL;
			sim->disconnect_delay_usec = (uint64_t)(v * 1000);
			break;
		case ARG_CONNECT_TIMEOUT:
			if (parse_positive("--connect-timeout-ms", optarg, 100, 120000, &v) < 0)
				return -EINVAL;
			sim->connect_timeout_usec = (uint64_t)(v * 1000);
			break;
		case ARG_POWER_OFF_DELAY:
			if (parse_positive("--power-off-delay-ms", optarg, 0, 10000, &v) < 0)
				return -EINVAL;
			sim->power_off_delay_usec = (uint64_t)(v * 1000);
			break;
		case ARG_GATT_CACHE:
			/* main.conf [GATT] Cache: "yes" caches paired devices only. */
			if (streq(optarg, "always")) {
				sim->gatt_cache = true;
			} else if (streq(optarg, "no")) {
				sim->gatt_cache = false;
			} else {
				fprintf(stderr, "bluez-sim: --gatt-cache wants 'always' or 'no', not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bluez-sim: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!n_specs) {
		fprintf(stderr, "bluez-sim: no --device given\n");
		usage(stderr);
		return -EINVAL;
	}
	if (asprintf(&sim->adapter_path, "/org/bluez/%s", sim->adapter_name) < 0) {
		sim->adapter_path = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n_specs; i++) {
		r = add_device(sim, specs[i]);
		if (r < 0) {
			fprintf(stderr, "bluez-sim: bad --device '%s'\n", specs[i]);
			return r;
		}
	}
	return 1;
}

static int bus_connect(const char *address, sd_bus **ret)
{
	_cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
	int r;

	/* As sd_bus_open_system(), which cannot be made trusted. */
	if (!address)
		address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	if (!address)
		address = "unix:path=/run/dbus/system_bus_socket";
	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, address);
	if (r < 0)
		return r;
	r = sd_bus_set_bus_client(bus, 1);
	if (r < 0)
		return r;
	/*
	 * bluetoothd (libdbus) leaves access to the bus policy and serves a
	 * call whose sender has left meanwhile (a client's Disconnect sent
	 * on exit). sd-bus would otherwise ask the bus for the sender's uid
	 * on every call to a method not marked unprivileged, and refuse it
	 * once the sender is gone.
	 */
	r = sd_bus_set_trusted(bus, 1);
	if (r < 0)
		return r;
	r = sd_bus_start(bus);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

int sim_bus_open(struct sim *sim, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = bus_connect(sim->bus_address, &bus);
	if (r < 0)
		return r;
	r = sd_bus_attach_event(bus, sim->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

static void sim_free(struct sim *sim)
{
	bluez_free(sim);
	sim->ctl_slot = sd_bus_slot_unref(sim->ctl_slot);
	sim->bus = sd_bus_flush_close_unref(sim->bus);
	sim->ctl_bus = sd_bus_flush_close_unref(sim->ctl_bus);
	sim->event = sd_event_unref(sim->event);
	sim->trace = trace_free(sim->trace);
	free(sim->bus_address);
	free(sim->adapter_name);
	free(sim->adapter_path);
	free(sim->adapter_address);
	free(sim->adapter_alias);
	free(sim->trace_path);
}

static int run(struct sim *sim)
{
	struct timespec ts;
	sigset_t mask;
	int r;

	if (sim->trace_path) {
		r = trace_load(sim->trace_path, &sim->trace);
		if (r < 0) {
			fprintf(stderr, "bluez-sim: cannot load trace '%s': %s\n",
				sim->trace_path, strerror(-r));
			return r;
		}
	} else {
		r = trace_synthetic(sim->speed_mps, &sim->trace);
		if (r < 0)
			return r;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&sim->event);
	if (r < 0)
		return r;
	(void)sd_event_add_signal(sim->event, NULL, SIGTERM, NULL, NULL);
	(void)sd_event_add_signal(sim->event, NULL, SIGINT, NULL, NULL);

	r = sim_bus_open(sim, &sim->bus);
	if (r >= 0)
		r = sim_bus_open(sim, &sim->ctl_bus);
	if (r < 0) {
		fprintf(stderr, "bluez-sim: cannot connect to the bus: %s\n", strerror(-r));
		return r;
	}

	sim->start_usec = sim_mono_usec();
	clock_gettime(CLOCK_REALTIME, &ts);
	sim->epoch_ns_at_start = ((uint64_t)ts.tv_sec - PMD_EPOCH_OFFSET_S) * 1000000000ULL +
				 (uint64_t)ts.tv_nsec;

	r = bluez_start(sim);
	if (r < 0) {
		fprintf(stderr, "bluez-sim: cannot own org.bluez: %s\n", strerror(-r));
		return r;
	}
	r = sd_bus_add_object_vtable(sim->ctl_bus, &sim->ctl_slot, CTL_PATH, CTL_IFACE,
				     ctl_vtable, sim);
	if (r < 0)
		return r;
	/* Readiness: this name appears only once org.bluez is complete. */
	r = sd_bus_request_name(sim->ctl_bus, CTL_NAME, 0);
	if (r < 0) {
		fprintf(stderr, "bluez-sim: cannot own %s: %s\n", CTL_NAME, strerror(-r));
		return r;
	}

	r = sd_event_loop(sim->event);
	if (r < 0)
		fprintf(stderr, "bluez-sim: event loop failed: %s\n", strerror(-r));
	return r;
}

int main(int argc, char **argv)
{
	struct sim sim = {
		.speed_mps = 3.0,
		.time_scale = 1.0,
		.temporary_timeout_usec = 30 * 1000000ULL,
		.connect_timeout_usec = SIM_CONNECT_TIMEOUT_USEC,
		.gatt_cache = true,
		.discoverable_timeout = 180,
		.adapter_class = 0x7c0104,
		.pairable = 1,
	};
	int r;

	sim.adapter_name = strdup("hci0");
	sim.adapter_address = strdup("00:AA:01:00:00:00");
	sim.adapter_alias = strdup("bluez-sim");
	if (!sim.adapter_name || !sim.adapter_address || !sim.adapter_alias) {
		sim_free(&sim);
		return EXIT_FAILURE;
	}

	r = parse_args(&sim, argc, argv);
	if (r > 0)
		r = run(&sim);
	sim_free(&sim);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
