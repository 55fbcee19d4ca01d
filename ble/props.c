// SPDX-License-Identifier: GPL-2.0-or-later
/* ble/props.c: BlueZ's D-Bus objects and properties read into a mirror (outside input, fuzzed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ble/match.h"
#include "ble/props.h"
#include "common/macro.h"

void ble_strv_free(char **v)
{
	for (char **i = v; i && *i; i++)
		free(*i);
	free(v);
}

int ble_free_and_strdup(char **p, const char *s)
{
	char *t = NULL;

	if (s) {
		t = strdup(s);
		if (!t)
			return -ENOMEM;
	}
	free(*p);
	*p = t;
	return 0;
}


struct ble_object *ble_object_find(struct ble_object *list, const char *path)
{
	for (struct ble_object *o = list; o; o = o->next)
		if (streq(o->path, path))
			return o;
	return NULL;
}

static struct ble_object *object_free(struct ble_object *o)
{
	if (!o)
		return NULL;
	free(o->path);
	free(o->address);
	free(o->name);
	free(o->alias);
	free(o->adapter);
	ble_strv_free(o->uuids);
	free(o->uuid);
	free(o->parent);
	ble_strv_free(o->flags);
	free(o);
	return NULL;
}

struct ble_object *ble_object_get(struct ble_object **list, const char *path)
{
	struct ble_object *o = ble_object_find(*list, path);

	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->path = strdup(path);
	if (!o->path)
		return object_free(o);
	o->battery = -1;
	o->next = *list;
	*list = o;
	return o;
}

void ble_object_remove(struct ble_object **list, struct ble_object *o)
{
	for (struct ble_object **p = list; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			object_free(o);
			return;
		}
}

void ble_objects_clear(struct ble_object **list)
{
	while (*list) {
		struct ble_object *o = *list;

		*list = o->next;
		object_free(o);
	}
}

unsigned ble_iface_bit(const char *iface)
{
	if (streq(iface, BLE_BLUEZ_ADAPTER))
		return BLE_OBJ_ADAPTER;
	if (streq(iface, BLE_BLUEZ_DEVICE))
		return BLE_OBJ_DEVICE;
	if (streq(iface, BLE_BLUEZ_BATTERY))
		return BLE_OBJ_BATTERY;
	if (streq(iface, BLE_BLUEZ_GATT_SERVICE))
		return BLE_OBJ_SERVICE;
	if (streq(iface, BLE_BLUEZ_GATT_CHAR))
		return BLE_OBJ_CHAR;
	return 0;
}

/*
 * Read a variant whose content must have signature sig; any other type
 * (a buggy or hostile peer) is skipped. Returns 1 if entered, 0 if skipped.
 */
static int enter_variant(sd_bus_message *msg, const char *sig)
{
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(msg, &type, &contents);
	if (r < 0)
		return r;
	if (r == 0 || type != 'v')
		return -EBADMSG;
	if (!contents || !streq(contents, sig)) {
		r = sd_bus_message_skip(msg, "v");
		return r < 0 ? r : 0;
	}
	r = sd_bus_message_enter_container(msg, 'v', sig);
	return r < 0 ? r : 1;
}

static int read_variant_basic(sd_bus_message *msg, char type, void *p)
{
	char sig[2] = { type, 0 };
	int r;

	r = enter_variant(msg, sig);
	if (r <= 0)
		return r;
	r = sd_bus_message_read_basic(msg, type, p);
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(msg);
	return r < 0 ? r : 1;
}

static int read_variant_string(sd_bus_message *msg, char type, char **dst)
{
	const char *s;
	int r;

	r = read_variant_basic(msg, type, &s);
	if (r <= 0)
		return r;
	r = ble_free_and_strdup(dst, s);
	return r < 0 ? r : 1;
}

static int read_variant_strv(sd_bus_message *msg, char ***dst)
{
	char **v = NULL;
	int r;

	r = enter_variant(msg, "as");
	if (r <= 0)
		return r;
	r = sd_bus_message_read_strv(msg, &v);
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(msg);
	if (r < 0) {
		ble_strv_free(v);
		return r;
	}
	ble_strv_free(*dst);
	*dst = v;
	return 1;
}

static int parse_property(struct ble_object *o, unsigned bit, const char *key,
			  sd_bus_message *msg, struct ble_prop_changes *ch)
{
	int b, r;

	switch (bit) {
	case BLE_OBJ_ADAPTER:
		if (streq(key, "Powered")) {
			r = read_variant_basic(msg, 'b', &b);
			if (r > 0) {
				o->powered = b;
				ch->powered = true;
			}
			return r;
		}
		if (streq(key, "Discovering")) {
			r = read_variant_basic(msg, 'b', &b);
			if (r > 0) {
				o->discovering = b;
				ch->discovering = true;
			}
			return r;
		}
		if (streq(key, "PowerState")) {
			const char *v;

			r = read_variant_basic(msg, 's', &v);
			if (r > 0) {
				o->powering_off = streq(v, "on-disabling");
				ch->powered = true;
			}
			return r;
		}
		break;
	case BLE_OBJ_DEVICE:
		if (streq(key, "Address")) {
			char *a = NULL;
			char n[BLE_ADDRESS_STRLEN];

			r = read_variant_string(msg, 's', &a);
			if (r > 0 && ble_address_normalize(a, n) >= 0)
				r = ble_free_and_strdup(&o->address, n);
			free(a);
			return r;
		}
		if (streq(key, "Name"))
			return read_variant_string(msg, 's', &o->name);
		if (streq(key, "Alias"))
			return read_variant_string(msg, 's', &o->alias);
		if (streq(key, "Adapter"))
			return read_variant_string(msg, 'o', &o->adapter);
		if (streq(key, "UUIDs")) {
			r = read_variant_strv(msg, &o->uuids);
			if (r > 0)
				ch->uuids = true;
			return r;
		}
		if (streq(key, "Connected")) {
			r = read_variant_basic(msg, 'b', &b);
			if (r > 0) {
				o->connected = b;
				ch->connected = true;
			}
			return r;
		}
		if (streq(key, "ServicesResolved")) {
			r = read_variant_basic(msg, 'b', &b);
			if (r > 0) {
				o->services_resolved = b;
				ch->resolved = true;
			}
			return r;
		}
		if (streq(key, "RSSI")) {
			int16_t v;

			r = read_variant_basic(msg, 'n', &v);
			if (r > 0) {
				o->has_rssi = true;
				o->rssi = v;
				ch->rssi = true;
				ch->advert = true;
			}
			return r;
		}
		if (streq(key, "ManufacturerData") || streq(key, "ServiceData"))
			ch->advert = true;
		break;
	case BLE_OBJ_BATTERY:
		if (streq(key, "Percentage")) {
			uint8_t v;

			r = read_variant_basic(msg, 'y', &v);
			if (r > 0 && v <= 100) {
				o->battery = v;
				ch->battery = true;
			}
			return r;
		}
		break;
	case BLE_OBJ_SERVICE:
		if (streq(key, "UUID"))
			return read_variant_string(msg, 's', &o->uuid);
		if (streq(key, "Device"))
			return read_variant_string(msg, 'o', &o->parent);
		break;
	case BLE_OBJ_CHAR:
		if (streq(key, "UUID"))
			return read_variant_string(msg, 's', &o->uuid);
		if (streq(key, "Service"))
			return read_variant_string(msg, 'o', &o->parent);
		if (streq(key, "Flags"))
			return read_variant_strv(msg, &o->flags);
		if (streq(key, "Value")) {
			r = enter_variant(msg, "ay");
			if (r <= 0)
				return r;
			r = sd_bus_message_read_array(msg, 'y', &ch->value,
						      &ch->value_len);
			if (r < 0)
				return r;
			ch->has_value = true;
			r = sd_bus_message_exit_container(msg);
			return r < 0 ? r : 1;
		}
		break;
	default:
		break;
	}
	r = sd_bus_message_skip(msg, "v");
	return r < 0 ? r : 0;
}

/* Parse an a{sv} of interface bit into o. */
int ble_props_parse(struct ble_object *o, unsigned bit, sd_bus_message *msg,
		    struct ble_prop_changes *ch)
{
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{sv}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	for (;;) {
		const char *key;

		r = sd_bus_message_enter_container(msg, 'e', "sv");
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = sd_bus_message_read_basic(msg, 's', &key);
		if (r < 0)
			return r;
		r = parse_property(o, bit, key, msg, ch);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	return sd_bus_message_exit_container(msg);
}

/* Parse a{sa{sv}} (InterfacesAdded / one GetManagedObjects entry). */
int ble_props_parse_interfaces(struct ble_object **list, const char *path,
			       sd_bus_message *msg)
{
	struct ble_object *o = NULL;
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{sa{sv}}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	for (;;) {
		struct ble_prop_changes ch = {};
		const char *iface;
		unsigned bit;

		r = sd_bus_message_enter_container(msg, 'e', "sa{sv}");
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = sd_bus_message_read_basic(msg, 's', &iface);
		if (r < 0)
			return r;
		bit = ble_iface_bit(iface);
		if (!bit) {
			r = sd_bus_message_skip(msg, "a{sv}");
		} else {
			if (!o)
				o = ble_object_get(list, path);
			if (!o)
				return -ENOMEM;
			o->ifaces |= bit;
			r = ble_props_parse(o, bit, msg, &ch);
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	return sd_bus_message_exit_container(msg);
}

/* a{oa{sa{sv}}}: a GetManagedObjects reply. */
int ble_props_parse_managed(struct ble_object **list, sd_bus_message *msg)
{
	int r;

	r = sd_bus_message_enter_container(msg, 'a', "{oa{sa{sv}}}");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	for (;;) {
		const char *path;

		r = sd_bus_message_enter_container(msg, 'e', "oa{sa{sv}}");
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = sd_bus_message_read_basic(msg, 'o', &path);
		if (r < 0)
			return r;
		r = ble_props_parse_interfaces(list, path, msg);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	return sd_bus_message_exit_container(msg);
}

int ble_props_parse_changed(struct ble_object *list, const char *path, sd_bus_message *msg,
			    struct ble_object **ret_object, unsigned *ret_bit,
			    struct ble_prop_changes *ch)
{
	struct ble_object *o;
	const char *iface;
	unsigned bit;
	int r;

	*ret_object = NULL;
	*ret_bit = 0;
	r = sd_bus_message_read_basic(msg, 's', &iface);
	if (r < 0)
		return r;
	if (r == 0)
		return -EBADMSG;
	bit = ble_iface_bit(iface);
	o = path ? ble_object_find(list, path) : NULL;
	if (!bit || !o || !(o->ifaces & bit))
		return 0;
	*ret_object = o;
	*ret_bit = bit;
	r = ble_props_parse(o, bit, msg, ch);
	if (r < 0)
		return r;

	/* Invalidated properties: only RSSI matters (discovery stopped). */
	if (bit == BLE_OBJ_DEVICE) {
		r = sd_bus_message_enter_container(msg, 'a', "s");
		if (r <= 0)
			return r < 0 ? r : -EBADMSG;
		for (;;) {
			const char *name;

			r = sd_bus_message_read_basic(msg, 's', &name);
			if (r < 0)
				return r;
			if (r == 0)
				break;
			if (streq(name, "RSSI")) {
				o->has_rssi = false;
				ch->rssi = true;
			}
		}
		r = sd_bus_message_exit_container(msg);
		if (r < 0)
			return r;
	}
	return 1;
}

int ble_props_parse_removed(struct ble_object *list, sd_bus_message *msg,
			    struct ble_object **ret_object)
{
	struct ble_object *o;
	const char *path, *iface;
	int r;

	*ret_object = NULL;
	r = sd_bus_message_read_basic(msg, 'o', &path);
	if (r < 0)
		return r;
	if (r == 0)
		return -EBADMSG;
	o = ble_object_find(list, path);
	r = sd_bus_message_enter_container(msg, 'a', "s");
	if (r <= 0)
		return r < 0 ? r : -EBADMSG;
	for (;;) {
		unsigned bit;

		r = sd_bus_message_read_basic(msg, 's', &iface);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		bit = ble_iface_bit(iface);
		if (!o)
			continue;
		o->ifaces &= ~bit;
		if (bit == BLE_OBJ_BATTERY)
			o->battery = -1;
	}
	*ret_object = o;
	return sd_bus_message_exit_container(msg);
}
