/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: BlueZ D-Bus properties, InterfacesAdded/Removed, GetManagedObjects (ble/props.c). */
#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "ble/props.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is a program that builds up to MAX_MESSAGES sd-bus signals, each
 * parsed into one mirror that lives for the whole input, as ble/manager.c
 * does: byte 0 of each message picks the kind (PropertiesChanged,
 * InterfacesAdded, a GetManagedObjects body, InterfacesRemoved); then every
 * argument and container is either the expected one or, when a choice byte
 * says so, any other type. Keys, interface names and paths come from
 * BlueZ's vocabulary or are raw bytes (bad UTF-8 and NULs included, which
 * sd-bus refuses to marshal: a fallback is appended instead). Arrays may be
 * long (counts up to a few thousand, byte arrays up to 64 KiB).
 */
#define MAX_MESSAGES	8
#define MAX_DEPTH	24	/* container levels; variants pick any type below 16 */

#define MAX_VALUES	5000	/* per message: long arrays of long arrays end */
#define MAX_BYTES	(256 * 1024)	/* per message, in long byte arrays */

struct input {
	const uint8_t *p;
	size_t n;
	unsigned values;	/* appended to the current message */
	size_t bytes;		/* in its long byte arrays */
};

static uint8_t next(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t next16(struct input *in)
{
	return (uint16_t)(next(in) | next(in) << 8);
}

static const char *const keys[] = {
	"Address", "Name", "Alias", "Adapter", "UUIDs", "Connected", "ServicesResolved",
	"RSSI", "ManufacturerData", "ServiceData", "Powered", "Discovering", "Percentage",
	"UUID", "Device", "Service", "Flags", "Value", "Notifying", "MTU", "",
};

static const char *const ifaces[] = {
	"org.bluez.Adapter1", "org.bluez.Device1", "org.bluez.Battery1",
	"org.bluez.GattService1", "org.bluez.GattCharacteristic1",
	"org.bluez.GattDescriptor1", "org.freedesktop.DBus.Properties",
};

static const char *const paths[] = {
	"/", "/org/bluez", "/org/bluez/hci0", "/org/bluez/hci0/dev_A0_9E_1A_00_00_01",
	"/org/bluez/hci0/dev_A0_9E_1A_00_00_01/service000c",
	"/org/bluez/hci0/dev_A0_9E_1A_00_00_01/service000c/char000d",
	"/org/bluez/hci1/dev_C0_FF_EE_00_00_13/service0010/char0011",
};

static const char *const strings[] = {
	"A0:9E:1A:00:00:01", "a0-9e-1a-00-00-01", "Polar H10 0A1B2C3D", "RunPod*",
	"00002a37-0000-1000-8000-00805f9b34fb", "fb005c82-02e7-f387-1cad-8acd2d8df0c8",
	"notify", "indicate", "read", "/org/bluez/hci0", "",
};

/* Variant contents the parser expects somewhere, and some it never does. */
static const char *const sigs[] = {
	"s", "o", "b", "n", "y", "q", "as", "ay", "a{qv}", "a{sv}", "u", "i", "x", "d",
	"g", "v", "ao", "(ss)", "a{sa{sv}}", "aas",
};

#define ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static int append_value(sd_bus_message *m, struct input *in, const char *sig, int depth);

/* A string of type t ('s', 'o', 'g'): from a table or raw input bytes. */
static int append_string(sd_bus_message *m, struct input *in, char t)
{
	static const char *const fallback[] = { ['s'] = "x", ['o'] = "/", ['g'] = "s" };
	char buf[260];
	uint8_t c = next(in);
	const char *s;
	size_t len;
	int r;

	if (c < 128) {
		if (t == 'o')
			s = paths[c % ELEMS(paths)];
		else if (t == 'g')
			s = sigs[c % ELEMS(sigs)];
		else if (c % 3 == 0)
			s = keys[c / 3 % ELEMS(keys)];
		else if (c % 3 == 1)
			s = strings[c / 3 % ELEMS(strings)];
		else
			s = ifaces[c / 3 % ELEMS(ifaces)];
	} else {
		len = next(in);
		if (len > in->n)
			len = in->n;
		memcpy(buf, in->p, len);
		buf[len] = '\0';
		in->p += len;
		in->n -= len;
		s = buf;
	}
	r = sd_bus_message_append_basic(m, t, s);
	if (r == -EINVAL)	/* not UTF-8 / not a path: refused, as on the bus */
		r = sd_bus_message_append_basic(m, t, fallback[(unsigned char)t]);
	return r;
}

static int append_basic(sd_bus_message *m, struct input *in, char t)
{
	union {
		uint8_t y;
		int b;
		int16_t n;
		uint16_t q;
		int32_t i;
		uint32_t u;
		int64_t x;
		double d;
	} v = {};

	switch (t) {
	case 's':
	case 'o':
	case 'g':
		return append_string(m, in, t);
	case 'y':
		v.y = next(in);
		break;
	case 'b':
		v.b = next(in) & 1;
		break;
	case 'n':
		v.n = (int16_t)next16(in);
		break;
	case 'q':
		v.q = next16(in);
		break;
	case 'i':
	case 'u':
		v.u = (uint32_t)next16(in) << 16 | next16(in);
		break;
	case 'x':
	case 'd':
		v.x = (int64_t)((uint64_t)next16(in) << 48 | (uint64_t)next16(in) << 16);
		break;
	default:
		return -EINVAL;
	}
	return sd_bus_message_append_basic(m, t, &v);
}

/* Length of the single complete type at the start of sig. */
static size_t type_len(const char *sig)
{
	size_t depth = 0, i = 0;

	for (;;) {
		char c = sig[i];

		if (!c)
			return i;
		i++;
		if (c == 'a')
			continue;
		if (c == '(' || c == '{')
			depth++;
		else if (c == ')' || c == '}')
			depth--;
		if (!depth)
			return i;
	}
}

/* An array with elements of type elem: usually short, sometimes long. */
static int append_array(sd_bus_message *m, struct input *in, const char *elem, int depth)
{
	uint8_t c = next(in);
	size_t count = c < 240 ? c % 8 : (size_t)next16(in) % 4096;
	int r;

	if (strcmp(elem, "y") == 0 && c >= 240) {
		/* A long byte array: the input bytes, repeated. */
		static uint8_t buf[65536];
		size_t len = next16(in);

		if (in->bytes + len > MAX_BYTES)
			len = 0;
		in->bytes += len;
		for (size_t i = 0; i < len; i++)
			buf[i] = in->n ? in->p[i % in->n] : (uint8_t)i;
		return sd_bus_message_append_array(m, 'y', buf, len);
	}
	r = sd_bus_message_open_container(m, 'a', elem);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		r = append_value(m, in, elem, depth + 1);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(m);
}

/* A variant: mostly the type the key wants somewhere, else any type. */
static int append_variant(sd_bus_message *m, struct input *in, int depth)
{
	const char *sig = depth < 16 ? sigs[next(in) % ELEMS(sigs)] : "s";
	int r;

	r = sd_bus_message_open_container(m, 'v', sig);
	if (r < 0)
		return r;
	r = append_value(m, in, sig, depth + 1);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

/* One complete value of type sig (a single complete type). */
static int append_value(sd_bus_message *m, struct input *in, const char *sig, int depth)
{
	char inner[64];
	size_t len;
	int r;

	if (depth > MAX_DEPTH || ++in->values > MAX_VALUES)
		return -E2BIG;
	switch (sig[0]) {
	case 'a':
		len = type_len(sig + 1);
		if (len >= sizeof(inner))
			return -E2BIG;
		memcpy(inner, sig + 1, len);
		inner[len] = '\0';
		return append_array(m, in, inner, depth);
	case '{':
	case '(': {
		char t = sig[0] == '{' ? 'e' : 'r';
		const char *p = sig + 1;

		len = strlen(sig);
		if (len - 2 >= sizeof(inner))
			return -E2BIG;
		memcpy(inner, sig + 1, len - 2);
		inner[len - 2] = '\0';
		r = sd_bus_message_open_container(m, t, inner);
		if (r < 0)
			return r;
		while (*p && *p != ')' && *p != '}') {
			char one[64];
			size_t l = type_len(p);

			if (l >= sizeof(one))
				return -E2BIG;
			memcpy(one, p, l);
			one[l] = '\0';
			/* Dict keys: BlueZ's names most of the time. */
			r = append_value(m, in, one, depth + 1);
			if (r < 0)
				return r;
			p += l;
		}
		return sd_bus_message_close_container(m);
	}
	case 'v':
		return append_variant(m, in, depth);
	default:
		return append_basic(m, in, sig[0]);
	}
}

/* An argument of type expected, or (choice byte >= 224) of any other type. */
static int append_arg(sd_bus_message *m, struct input *in, const char *expected)
{
	uint8_t c = next(in);

	if (c >= 224)
		expected = sigs[c % ELEMS(sigs)];
	return append_value(m, in, expected, 0);
}

static int append_iface_name(sd_bus_message *m, struct input *in)
{
	uint8_t c = next(in);

	if (c < 200)
		return sd_bus_message_append_basic(m, 's', ifaces[c % ELEMS(ifaces)]);
	return append_string(m, in, 's');
}

/* Touch every field of the mirror, as the manager's lookups do. */
static size_t walk(struct ble_object *list)
{
	size_t sum = 0;

	for (struct ble_object *o = list; o; o = o->next) {
		sum += strlen(o->path) + o->ifaces + (unsigned)o->battery + (unsigned)o->rssi;
		sum += o->address ? strlen(o->address) : 0;
		sum += o->name ? strlen(o->name) : 0;
		sum += o->alias ? strlen(o->alias) : 0;
		sum += o->adapter ? strlen(o->adapter) : 0;
		sum += o->uuid ? strlen(o->uuid) : 0;
		sum += o->parent ? strlen(o->parent) : 0;
		for (char **s = o->uuids; s && *s; s++)
			sum += strlen(*s);
		for (char **s = o->flags; s && *s; s++)
			sum += strlen(*s);
		sum += o->connected + o->services_resolved + o->powered + o->discovering;
	}
	return sum;
}

static sd_bus *fuzz_bus(void)
{
	static sd_bus *bus;
	int fds[2];

	if (bus)
		return bus;
	/*
	 * sd-bus builds messages only on a started bus: one on a socket pair
	 * whose peer never answers stays in authentication, never connected.
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
		return NULL;
	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 ||
	    sd_bus_start(bus) < 0) {
		bus = sd_bus_unref(bus);
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	return bus;
}

static void one_message(sd_bus *bus, struct input *in, struct ble_object **mirror,
			volatile size_t *sink)
{
	sd_bus_message *m = NULL;
	uint8_t kind = next(in) % 4;
	uint8_t pc = next(in);
	const char *path = paths[pc % ELEMS(paths)];
	struct ble_prop_changes ch = {};
	struct ble_object *o = NULL;
	unsigned bit = 0;
	int r;

	in->values = 0;
	in->bytes = 0;
	r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.ObjectManager",
				      "InterfacesAdded");
	if (r < 0)
		return;
	switch (kind) {
	case 0:	/* PropertiesChanged: s a{sv} as */
		r = append_iface_name(m, in);
		if (r >= 0)
			r = append_arg(m, in, "a{sv}");
		if (r >= 0 && next(in) < 240)
			r = append_arg(m, in, "as");
		break;
	case 1:	/* InterfacesAdded: o a{sa{sv}} */
		r = append_arg(m, in, "o");
		if (r >= 0)
			r = append_arg(m, in, "a{sa{sv}}");
		break;
	case 2:	/* GetManagedObjects reply: a{oa{sa{sv}}} */
		r = append_arg(m, in, "a{oa{sa{sv}}}");
		break;
	default: /* InterfacesRemoved: o as */
		r = append_arg(m, in, "o");
		if (r >= 0)
			r = append_arg(m, in, "as");
		break;
	}
	if (r < 0 || sd_bus_message_seal(m, 1, 0) < 0 || sd_bus_message_rewind(m, 1) < 0)
		goto out;

	switch (kind) {
	case 0:
		r = ble_props_parse_changed(*mirror, path, m, &o, &bit, &ch);
		if (r > 0 && ch.has_value) {
			const uint8_t *v = ch.value;

			for (size_t i = 0; i < ch.value_len; i++)
				*sink += v[i];
		}
		break;
	case 1: {
		const char *p;

		if (sd_bus_message_read_basic(m, 'o', &p) > 0)
			(void)ble_props_parse_interfaces(mirror, p, m);
		break;
	}
	case 2:
		(void)ble_props_parse_managed(mirror, m);
		break;
	default:
		if (ble_props_parse_removed(*mirror, m, &o) >= 0 && o && !o->ifaces)
			ble_object_remove(mirror, o);
		break;
	}
	*sink += walk(*mirror);
out:
	sd_bus_message_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile size_t sink;
	struct input in = { .p = data, .n = size };
	struct ble_object *mirror = NULL;
	sd_bus *bus = fuzz_bus();

	if (!bus || size > 65536)
		return 0;
	for (unsigned i = 0; i < MAX_MESSAGES && in.n; i++)
		one_message(bus, &in, &mirror, &sink);
	ble_objects_clear(&mirror);
	return 0;
}
