/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the per-sensor state machine table (ble/state.c) and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ble/ble.h"
#include "ble/state.h"

#define S(x) BLE_SENSOR_STATE_##x
#define E(x) BLE_EVENT_##x
#define NONE _BLE_SENSOR_STATE_INVALID

static const struct transition {
	enum ble_sensor_state from;
	enum ble_event event;
	enum ble_sensor_state to;
} transitions[] = {
	/* the happy path */
	{ S(IDLE), E(ADAPTER_READY), S(DISCOVERING) },
	{ S(DISCOVERING), E(CONNECT), S(CONNECTING) },
	{ S(CONNECTING), E(CONNECTED), S(RESOLVING) },
	{ S(RESOLVING), E(RESOLVED), S(SUBSCRIBING) },
	{ S(SUBSCRIBING), E(DATA), S(STREAMING) },
	/* resolved before the Connect reply (allowed by BlueZ's ordering) */
	{ S(CONNECTING), E(RESOLVED), S(SUBSCRIBING) },
	/* data watchdog: stale at once, then only the reconnect cycle leaves */
	{ S(STREAMING), E(DATA_TIMEOUT), S(STALE) },
	{ S(STALE), E(DATA), NONE },
	{ S(STALE), E(DATA_TIMEOUT), NONE },
	{ S(STALE), E(LINK_LOST), S(BACKOFF) },
	{ S(STALE), E(FAILED), S(BACKOFF) },
	/* link watchdog from every linked state */
	{ S(CONNECTING), E(LINK_LOST), S(BACKOFF) },
	{ S(RESOLVING), E(LINK_LOST), S(BACKOFF) },
	{ S(SUBSCRIBING), E(LINK_LOST), S(BACKOFF) },
	{ S(STREAMING), E(LINK_LOST), S(BACKOFF) },
	/* failures and a subscribe that never streams */
	{ S(CONNECTING), E(FAILED), S(BACKOFF) },
	{ S(SUBSCRIBING), E(DATA_TIMEOUT), S(BACKOFF) },
	{ S(RESOLVING), E(DATA_TIMEOUT), S(BACKOFF) },
	{ S(BACKOFF), E(BACKOFF_DONE), S(DISCOVERING) },
	/* adapter or bluetoothd gone: everything idles */
	{ S(STREAMING), E(ADAPTER_LOST), S(IDLE) },
	{ S(BACKOFF), E(ADAPTER_LOST), S(IDLE) },
	{ S(STALE), E(ADAPTER_LOST), S(IDLE) },
	{ S(DISCOVERING), E(ADAPTER_LOST), S(IDLE) },
	/* late or repeated events are ignored */
	{ S(IDLE), E(DATA), NONE },
	{ S(IDLE), E(LINK_LOST), NONE },
	{ S(IDLE), E(ADAPTER_LOST), NONE },
	{ S(BACKOFF), E(LINK_LOST), NONE },
	{ S(BACKOFF), E(CONNECTED), NONE },
	{ S(STREAMING), E(DATA), NONE },
	{ S(STREAMING), E(RESOLVED), NONE },
	{ S(DISCOVERING), E(LINK_LOST), NONE },
	{ S(DISCOVERING), E(ADAPTER_READY), NONE },
	{ S(RESOLVING), E(CONNECTED), NONE },
};

static void test_transitions(void **state)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		const struct transition *t = &transitions[i];
		enum ble_sensor_state got = ble_state_next(t->from, t->event);

		if (got != t->to)
			fail_msg("%s --%s--> %s, expected %s",
				 ble_sensor_state_to_string(t->from),
				 ble_event_to_string(t->event),
				 got < 0 ? "(ignored)" : ble_sensor_state_to_string(got),
				 t->to < 0 ? "(ignored)" : ble_sensor_state_to_string(t->to));
	}
}

/* Every state reaches STREAMING again through events only (no dead ends). */
static void test_recoverable(void **state)
{
	static const enum ble_event path[] = {
		E(ADAPTER_LOST), E(ADAPTER_READY), E(CONNECT), E(CONNECTED),
		E(RESOLVED), E(DATA),
	};

	for (int s = 0; s < _BLE_SENSOR_STATE_MAX; s++) {
		enum ble_sensor_state cur = (enum ble_sensor_state)s;

		for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
			enum ble_sensor_state n = ble_state_next(cur, path[i]);

			if (n >= 0)
				cur = n;
		}
		assert_int_equal(cur, S(STREAMING));
	}
}

static void test_out_of_range(void **state)
{
	assert_int_equal(ble_state_next(_BLE_SENSOR_STATE_MAX, E(DATA)), NONE);
	assert_int_equal(ble_state_next(S(IDLE), _BLE_EVENT_MAX), NONE);
	assert_int_equal(ble_state_next(_BLE_SENSOR_STATE_INVALID, E(DATA)), NONE);
	assert_null(ble_event_to_string(_BLE_EVENT_MAX));
}

/* The config strings are a public contract (issue #5). */
static void test_names(void **state)
{
	static const char *const kinds[] = {
		"polar-h10", "polar-verity-sense", "footpod", "heart-rate",
		"power", "treadmill",
	};
	static const char *const states[] = {
		"idle", "discovering", "connecting", "resolving", "subscribing",
		"streaming", "stale", "backoff",
	};

	assert_int_equal(_BLE_SENSOR_KIND_MAX, 6);
	for (int i = 0; i < _BLE_SENSOR_KIND_MAX; i++) {
		assert_string_equal(ble_sensor_kind_to_string(i), kinds[i]);
		assert_int_equal(ble_sensor_kind_from_string(kinds[i]), i);
	}
	assert_int_equal(_BLE_SENSOR_STATE_MAX, 8);
	for (int i = 0; i < _BLE_SENSOR_STATE_MAX; i++) {
		assert_string_equal(ble_sensor_state_to_string(i), states[i]);
		assert_int_equal(ble_sensor_state_from_string(states[i]), i);
	}
	assert_int_equal(ble_sensor_kind_from_string("Polar-H10"), _BLE_SENSOR_KIND_INVALID);
	assert_int_equal(ble_sensor_kind_from_string(""), _BLE_SENSOR_KIND_INVALID);
	assert_int_equal(ble_sensor_kind_from_string(NULL), _BLE_SENSOR_KIND_INVALID);
	assert_null(ble_sensor_kind_to_string(_BLE_SENSOR_KIND_MAX));
	assert_null(ble_sensor_state_to_string(_BLE_SENSOR_STATE_INVALID));
}

static void test_config_defaults(void **state)
{
	struct ble_sensor_config c;

	ble_sensor_config_init(&c);
	assert_null(c.alias);
	assert_null(c.address);
	assert_null(c.name_pattern);
	assert_true(c.prefer_acquire_notify);
	assert_true(c.cadence_multiplier == 1.0);
	assert_int_equal(c.imu_range_g, 0);	/* 0 = BLE_IMU_RANGE_G_DEFAULT */
	assert_int_equal(BLE_IMU_RANGE_G_DEFAULT, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/ble/state/transitions", test_transitions, NULL, NULL, NULL },
		{ "/ble/state/always-recoverable", test_recoverable, NULL, NULL, NULL },
		{ "/ble/state/out-of-range", test_out_of_range, NULL, NULL, NULL },
		{ "/ble/state/names", test_names, NULL, NULL, NULL },
		{ "/ble/state/config-defaults", test_config_defaults, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("ble/state", tests, NULL, NULL);
}
