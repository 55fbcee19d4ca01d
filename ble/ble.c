/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ble: names of sensor kinds and states, and sensor config defaults. */
#include <string.h>

#include "ble/ble.h"
#include "common/macro.h"

/* These strings are the config file's sensor kinds (a public contract). */
static const char *const kind_names[_BLE_SENSOR_KIND_MAX] = {
	[BLE_SENSOR_KIND_POLAR_H10] = "polar-h10",
	[BLE_SENSOR_KIND_POLAR_VERITY_SENSE] = "polar-verity-sense",
	[BLE_SENSOR_KIND_FOOTPOD] = "footpod",
	[BLE_SENSOR_KIND_HEART_RATE] = "heart-rate",
	[BLE_SENSOR_KIND_POWER] = "power",
	[BLE_SENSOR_KIND_TREADMILL] = "treadmill",
};

static const char *const state_names[_BLE_SENSOR_STATE_MAX] = {
	[BLE_SENSOR_STATE_IDLE] = "idle",
	[BLE_SENSOR_STATE_DISCOVERING] = "discovering",
	[BLE_SENSOR_STATE_CONNECTING] = "connecting",
	[BLE_SENSOR_STATE_RESOLVING] = "resolving",
	[BLE_SENSOR_STATE_SUBSCRIBING] = "subscribing",
	[BLE_SENSOR_STATE_STREAMING] = "streaming",
	[BLE_SENSOR_STATE_STALE] = "stale",
	[BLE_SENSOR_STATE_BACKOFF] = "backoff",
};

const char *ble_sensor_kind_to_string(enum ble_sensor_kind k)
{
	if (k < 0 || k >= _BLE_SENSOR_KIND_MAX)
		return NULL;
	return kind_names[k];
}

enum ble_sensor_kind ble_sensor_kind_from_string(const char *s)
{
	if (!s)
		return _BLE_SENSOR_KIND_INVALID;

	for (unsigned i = 0; i < _BLE_SENSOR_KIND_MAX; i++)
		if (streq(kind_names[i], s))
			return (enum ble_sensor_kind)i;
	return _BLE_SENSOR_KIND_INVALID;
}

const char *ble_sensor_state_to_string(enum ble_sensor_state s)
{
	if (s < 0 || s >= _BLE_SENSOR_STATE_MAX)
		return NULL;
	return state_names[s];
}

enum ble_sensor_state ble_sensor_state_from_string(const char *s)
{
	if (!s)
		return _BLE_SENSOR_STATE_INVALID;

	for (unsigned i = 0; i < _BLE_SENSOR_STATE_MAX; i++)
		if (streq(state_names[i], s))
			return (enum ble_sensor_state)i;
	return _BLE_SENSOR_STATE_INVALID;
}

void ble_sensor_config_init(struct ble_sensor_config *c)
{
	*c = (struct ble_sensor_config) {
		.kind = BLE_SENSOR_KIND_FOOTPOD,
		.cadence_multiplier = 1.0,
		.prefer_acquire_notify = true,
	};
}
