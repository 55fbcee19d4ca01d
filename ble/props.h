/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ble/props.h: BlueZ's D-Bus objects and properties read into a mirror (outside input, fuzzed). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#define BLE_BLUEZ_ADAPTER	"org.bluez.Adapter1"
#define BLE_BLUEZ_DEVICE	"org.bluez.Device1"
#define BLE_BLUEZ_BATTERY	"org.bluez.Battery1"
#define BLE_BLUEZ_GATT_SERVICE	"org.bluez.GattService1"
#define BLE_BLUEZ_GATT_CHAR	"org.bluez.GattCharacteristic1"

/* The interfaces of an object that the mirror keeps. */
enum {
	BLE_OBJ_ADAPTER = 1u << 0,
	BLE_OBJ_DEVICE = 1u << 1,
	BLE_OBJ_BATTERY = 1u << 2,
	BLE_OBJ_SERVICE = 1u << 3,
	BLE_OBJ_CHAR = 1u << 4,
};

/* One BlueZ object: only the properties ble/ uses. */
struct ble_object {
	struct ble_object *next;
	char *path;
	unsigned ifaces;		/* BLE_OBJ_* */

	bool powered;			/* Adapter1 */
	bool discovering;
	/*
	 * PowerState "on-disabling" (BlueZ 5.65+): a power-off is under way,
	 * the links go down before Powered=false is reported.
	 */
	bool powering_off;

	char *address;			/* Device1, normalised */
	char *name;
	char *alias;
	char *adapter;
	char **uuids;
	bool connected;
	bool services_resolved;
	bool has_rssi;
	int rssi;

	int battery;			/* Battery1, -1 = none */

	char *uuid;			/* GattService1 / GattCharacteristic1 */
	char *parent;			/* Service1.Device / Char.Service */
	char **flags;			/* Char.Flags */
};

/* What one properties dict changed, for the reactions afterwards. */
struct ble_prop_changes {
	/* rssi: RSSI set, or invalidated (has_rssi false: discovery ended) */
	bool connected, resolved, powered, discovering, rssi, battery, uuids;
	bool advert;			/* RSSI or ManufacturerData: it advertises */
	bool has_value;
	const void *value;		/* Char.Value, points into the message */
	size_t value_len;
};

/* The mirror: a list of objects; NULL is empty. */
struct ble_object *ble_object_find(struct ble_object *list, const char *path);
/* Find or add (-ENOMEM: NULL). */
struct ble_object *ble_object_get(struct ble_object **list, const char *path);
void ble_object_remove(struct ble_object **list, struct ble_object *o);
void ble_objects_clear(struct ble_object **list);
/* BLE_OBJ_* of an interface name, 0 for one the mirror ignores. */
unsigned ble_iface_bit(const char *iface);

void ble_strv_free(char **v);
int ble_free_and_strdup(char **p, const char *s);

/*
 * Every parser below reads at the message's current position. A property
 * whose variant has an unexpected type is skipped, unknown keys and
 * interfaces are skipped; a message of the wrong shape gives a negative
 * errno, with what was read before it kept.
 */

/* a{sv} of the interface bit into o. */
int ble_props_parse(struct ble_object *o, unsigned bit, sd_bus_message *msg,
		    struct ble_prop_changes *ch);
/* a{sa{sv}}: the interfaces of path (InterfacesAdded after its 'o'). */
int ble_props_parse_interfaces(struct ble_object **list, const char *path,
			       sd_bus_message *msg);
/* a{oa{sa{sv}}}: a GetManagedObjects reply, added to list. */
int ble_props_parse_managed(struct ble_object **list, sd_bus_message *msg);
/*
 * PropertiesChanged (s a{sv} as) on path: the object and interface it
 * changed (0 and NULL when the mirror does not keep them), and what changed.
 * An invalidated RSSI of a device clears has_rssi.
 */
int ble_props_parse_changed(struct ble_object *list, const char *path, sd_bus_message *msg,
			    struct ble_object **ret_object, unsigned *ret_bit,
			    struct ble_prop_changes *ch);
/*
 * InterfacesRemoved (o as): the object's interfaces are cleared (an object
 * left with none is NOT freed here: the caller reacts first, then calls
 * ble_object_remove()). ret_object is NULL for an object not in the mirror.
 */
int ble_props_parse_removed(struct ble_object *list, sd_bus_message *msg,
			    struct ble_object **ret_object);
