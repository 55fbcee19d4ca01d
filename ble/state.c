/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-sensor state machine as a pure transition table. */
#include "ble/state.h"

static const char *const event_names[_BLE_EVENT_MAX] = {
	[BLE_EVENT_ADAPTER_READY] = "adapter-ready",
	[BLE_EVENT_ADAPTER_LOST] = "adapter-lost",
	[BLE_EVENT_CONNECT] = "connect",
	[BLE_EVENT_CONNECTED] = "connected",
	[BLE_EVENT_RESOLVED] = "resolved",
	[BLE_EVENT_DATA] = "data",
	[BLE_EVENT_DATA_TIMEOUT] = "data-timeout",
	[BLE_EVENT_FAILED] = "failed",
	[BLE_EVENT_LINK_LOST] = "link-lost",
	[BLE_EVENT_BACKOFF_DONE] = "backoff-done",
};

const char *ble_event_to_string(enum ble_event e)
{
	if (e < 0 || e >= _BLE_EVENT_MAX)
		return NULL;
	return event_names[e];
}

#define I _BLE_SENSOR_STATE_INVALID
#define S(x) BLE_SENSOR_STATE_##x

/* next[state][event]; I = ignored. */
static const enum ble_sensor_state next[_BLE_SENSOR_STATE_MAX][_BLE_EVENT_MAX] = {
	[S(IDLE)] = {
		[BLE_EVENT_ADAPTER_READY] = S(DISCOVERING),
		[BLE_EVENT_ADAPTER_LOST] = I, [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = I, [BLE_EVENT_DATA_TIMEOUT] = I,
		[BLE_EVENT_FAILED] = I, [BLE_EVENT_LINK_LOST] = I,
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(DISCOVERING)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE),
		[BLE_EVENT_CONNECT] = S(CONNECTING),
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = I, [BLE_EVENT_DATA_TIMEOUT] = I,
		[BLE_EVENT_FAILED] = S(BACKOFF), [BLE_EVENT_LINK_LOST] = I,
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(CONNECTING)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = S(RESOLVING),
		/* the sim or BlueZ may resolve before the Connect reply */
		[BLE_EVENT_RESOLVED] = S(SUBSCRIBING),
		[BLE_EVENT_DATA] = I,
		[BLE_EVENT_DATA_TIMEOUT] = S(BACKOFF),
		[BLE_EVENT_FAILED] = S(BACKOFF),
		[BLE_EVENT_LINK_LOST] = S(BACKOFF),
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(RESOLVING)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I,
		[BLE_EVENT_RESOLVED] = S(SUBSCRIBING),
		[BLE_EVENT_DATA] = I,
		[BLE_EVENT_DATA_TIMEOUT] = S(BACKOFF),
		[BLE_EVENT_FAILED] = S(BACKOFF),
		[BLE_EVENT_LINK_LOST] = S(BACKOFF),
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(SUBSCRIBING)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = S(STREAMING),
		[BLE_EVENT_DATA_TIMEOUT] = S(BACKOFF),
		[BLE_EVENT_FAILED] = S(BACKOFF),
		[BLE_EVENT_LINK_LOST] = S(BACKOFF),
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(STREAMING)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = I,
		[BLE_EVENT_DATA_TIMEOUT] = S(STALE),
		[BLE_EVENT_FAILED] = S(BACKOFF),
		[BLE_EVENT_LINK_LOST] = S(BACKOFF),
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(STALE)] = {
		/* stale is left only through the reconnect cycle */
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = I, [BLE_EVENT_DATA_TIMEOUT] = I,
		[BLE_EVENT_FAILED] = S(BACKOFF),
		[BLE_EVENT_LINK_LOST] = S(BACKOFF),
		[BLE_EVENT_BACKOFF_DONE] = I,
	},
	[S(BACKOFF)] = {
		[BLE_EVENT_ADAPTER_READY] = I,
		[BLE_EVENT_ADAPTER_LOST] = S(IDLE), [BLE_EVENT_CONNECT] = I,
		[BLE_EVENT_CONNECTED] = I, [BLE_EVENT_RESOLVED] = I,
		[BLE_EVENT_DATA] = I, [BLE_EVENT_DATA_TIMEOUT] = I,
		[BLE_EVENT_FAILED] = I, [BLE_EVENT_LINK_LOST] = I,
		[BLE_EVENT_BACKOFF_DONE] = S(DISCOVERING),
	},
};

#undef S
#undef I

enum ble_sensor_state ble_state_next(enum ble_sensor_state state,
				     enum ble_event event)
{
	if (state < 0 || state >= _BLE_SENSOR_STATE_MAX ||
	    event < 0 || event >= _BLE_EVENT_MAX)
		return _BLE_SENSOR_STATE_INVALID;
	return next[state][event];
}
