/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-sensor state machine as a pure transition table. */
#pragma once

#include <errno.h>

#include "ble/ble.h"

/* What happened to a sensor; the manager feeds these to ble_state_next(). */
enum ble_event {
	BLE_EVENT_ADAPTER_READY,	/* bluetoothd and a usable adapter are there */
	BLE_EVENT_ADAPTER_LOST,		/* adapter removed/unpowered or bluetoothd gone */
	BLE_EVENT_CONNECT,		/* device known and the connect slot is ours */
	BLE_EVENT_CONNECTED,		/* Connect replied ok (or already connected) */
	BLE_EVENT_RESOLVED,		/* ServicesResolved = true */
	BLE_EVENT_DATA,			/* a valid payload on the main stream */
	BLE_EVENT_DATA_TIMEOUT,		/* data watchdog: 3 nominal periods silent */
	BLE_EVENT_FAILED,		/* call error, timeout, missing service */
	BLE_EVENT_LINK_LOST,		/* Connected=false, fd hang-up, device removed */
	BLE_EVENT_BACKOFF_DONE,		/* backoff timer expired */
	_BLE_EVENT_MAX,
	_BLE_EVENT_INVALID = -EINVAL,
};

/*
 * The state after `event` in `state`, or _BLE_SENSOR_STATE_INVALID when
 * the event means nothing there (a late reply, a repeated signal): the
 * caller then ignores it. Rules (docs/ble.md):
 *  - ADAPTER_LOST from anywhere -> IDLE; ADAPTER_READY: IDLE -> DISCOVERING.
 *  - DISCOVERING -CONNECT-> CONNECTING -CONNECTED-> RESOLVING -RESOLVED->
 *    SUBSCRIBING -DATA-> STREAMING.
 *  - STREAMING -DATA_TIMEOUT-> STALE (at once), which is left through the
 *    reconnect cycle: STALE -LINK_LOST/FAILED-> BACKOFF.
 *  - Any connected-ish state -FAILED/LINK_LOST-> BACKOFF;
 *    a subscribe that never streams is a DATA_TIMEOUT there -> BACKOFF.
 *  - BACKOFF -BACKOFF_DONE-> DISCOVERING (connect again if the device
 *    object still exists, otherwise wait for it to be seen).
 */
enum ble_sensor_state ble_state_next(enum ble_sensor_state state,
				     enum ble_event event);

const char *ble_event_to_string(enum ble_event e);

/* true for the states that hold (or are building) a link to the device. */
static inline bool ble_state_is_linked(enum ble_sensor_state s)
{
	return s == BLE_SENSOR_STATE_CONNECTING ||
	       s == BLE_SENSOR_STATE_RESOLVING ||
	       s == BLE_SENSOR_STATE_SUBSCRIBING ||
	       s == BLE_SENSOR_STATE_STREAMING ||
	       s == BLE_SENSOR_STATE_STALE;
}
