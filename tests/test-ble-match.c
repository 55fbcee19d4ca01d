/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of device matching: addresses, name patterns, advertised UUIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "ble/match.h"

static void test_address(void **state)
{
	char a[BLE_ADDRESS_STRLEN];

	assert_int_equal(ble_address_normalize("a0:9e:1a:00:00:01", a), 0);
	assert_string_equal(a, "A0:9E:1A:00:00:01");
	assert_int_equal(ble_address_normalize("A0:9E:1A:00:00:01", a), 0);
	assert_string_equal(a, "A0:9E:1A:00:00:01");

	strcpy(a, "untouched");
	assert_int_equal(ble_address_normalize("A0:9E:1A:00:00", a), -EINVAL);
	assert_int_equal(ble_address_normalize("A0:9E:1A:00:00:0G", a), -EINVAL);
	assert_int_equal(ble_address_normalize("A0-9E-1A-00-00-01", a), -EINVAL);
	assert_int_equal(ble_address_normalize("A0:9E:1A:00:00:011", a), -EINVAL);
	assert_int_equal(ble_address_normalize("", a), -EINVAL);
	assert_int_equal(ble_address_normalize(NULL, a), -EINVAL);
	assert_string_equal(a, "untouched");	/* ret_ only on success */
}

static void test_by_address(void **state)
{
	struct ble_sensor_config c;
	char *hr[] = { BLE_UUID_HEART_RATE_SERVICE, NULL };

	ble_sensor_config_init(&c);
	c.kind = BLE_SENSOR_KIND_POLAR_H10;
	c.address = "a0:9e:1a:00:00:01";
	c.name_pattern = "nothing*";	/* ignored when an address is given */
	assert_true(ble_device_matches(&c, "A0:9E:1A:00:00:01", "Polar H10 1", NULL, hr));
	assert_false(ble_device_matches(&c, "A0:9E:1A:00:00:02", "Polar H10 1", NULL, hr));
	assert_false(ble_device_matches(&c, NULL, "Polar H10 1", NULL, hr));
}

static void test_by_pattern(void **state)
{
	struct ble_sensor_config c;
	char *hr_polar[] = { BLE_UUID_HEART_RATE_SERVICE, BLE_UUID_POLAR_SERVICE, NULL };
	char *rsc[] = { BLE_UUID_RSC_SERVICE, NULL };
	char *audio[] = { "0000110b-0000-1000-8000-00805f9b34fb", NULL };

	ble_sensor_config_init(&c);
	c.kind = BLE_SENSOR_KIND_POLAR_H10;
	c.name_pattern = "Polar H10 *";
	/* an H10 advertises HR + 0xFEEE, never the 128-bit PMD service */
	assert_true(ble_device_matches(&c, "A0:9E:1A:00:00:01", "Polar H10 12345678", NULL, hr_polar));
	assert_false(ble_device_matches(&c, "A0:9E:1A:00:00:01", "Polar OH1 12345678", NULL, hr_polar));
	/* the name may show up only as Alias */
	assert_true(ble_device_matches(&c, "A0:9E:1A:00:00:01", NULL, "Polar H10 ABC", hr_polar));
	/* the right name on a device without the kind's services */
	assert_false(ble_device_matches(&c, "A0:9E:1A:00:00:01", "Polar H10 X", NULL, rsc));
	/* no UUIDs advertised yet: the name decides */
	assert_true(ble_device_matches(&c, "A0:9E:1A:00:00:01", "Polar H10 X", NULL, NULL));

	c.kind = BLE_SENSOR_KIND_FOOTPOD;
	c.name_pattern = "*";
	assert_true(ble_device_matches(&c, "C0:00:00:00:00:01", "Stryd", NULL, rsc));
	assert_false(ble_device_matches(&c, "C0:00:00:00:00:02", "Headphones", NULL, audio));
}

static void test_by_service_only(void **state)
{
	struct ble_sensor_config c;
	char *ftms[] = { BLE_UUID_FTMS_SERVICE, NULL };
	char *cps[] = { BLE_UUID_CYCLING_POWER_SERVICE, NULL };
	char *upper[] = { "00001826-0000-1000-8000-00805F9B34FB", NULL };

	ble_sensor_config_init(&c);
	c.kind = BLE_SENSOR_KIND_TREADMILL;
	assert_true(ble_device_matches(&c, "D0:00:00:00:00:01", "Treadmill", NULL, ftms));
	assert_true(ble_device_matches(&c, "D0:00:00:00:00:01", "Treadmill", NULL, upper));
	assert_false(ble_device_matches(&c, "D0:00:00:00:00:01", "Treadmill", NULL, cps));
	/* neither address nor pattern nor services: nothing to go by */
	assert_false(ble_device_matches(&c, "D0:00:00:00:00:01", "Treadmill", NULL, NULL));

	c.kind = BLE_SENSOR_KIND_POWER;
	assert_true(ble_device_matches(&c, "E0:00:00:00:00:01", "Stryd", NULL, cps));
}

static void test_kind_uuids(void **state)
{
	for (int k = 0; k < _BLE_SENSOR_KIND_MAX; k++) {
		const char *const *u = ble_kind_advertised_uuids(k);

		assert_non_null(u);
		assert_non_null(u[0]);
		for (; *u; u++)
			assert_int_equal(strlen(*u), 36);
	}
	assert_null(ble_kind_advertised_uuids(_BLE_SENSOR_KIND_MAX));
}

/* Which kind a device fits best, for sensors that would all take it by kind. */
static void test_kind_fit(void **state)
{
	char *h10[] = { BLE_UUID_HEART_RATE_SERVICE, BLE_UUID_POLAR_SERVICE, NULL };
	char *h10_resolved[] = { BLE_UUID_HEART_RATE_SERVICE, BLE_UUID_PMD_SERVICE,
				 BLE_UUID_POLAR_SERVICE, NULL };
	char *strap[] = { BLE_UUID_HEART_RATE_SERVICE, NULL };
	char *stryd[] = { BLE_UUID_RSC_SERVICE, BLE_UUID_CYCLING_POWER_SERVICE, NULL };
	char *pod[] = { BLE_UUID_RSC_SERVICE, NULL };
	char *ftms[] = { BLE_UUID_FTMS_SERVICE, NULL };

	assert_true(ble_kind_fit(BLE_SENSOR_KIND_POLAR_H10, h10) >
		    ble_kind_fit(BLE_SENSOR_KIND_HEART_RATE, h10));
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_POLAR_H10, h10_resolved) >
		    ble_kind_fit(BLE_SENSOR_KIND_HEART_RATE, h10_resolved));
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_HEART_RATE, strap) >
		    ble_kind_fit(BLE_SENSOR_KIND_POLAR_H10, strap));
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_POLAR_VERITY_SENSE, strap) > 0);
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_POWER, stryd) >
		    ble_kind_fit(BLE_SENSOR_KIND_FOOTPOD, stryd));
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_FOOTPOD, pod) >
		    ble_kind_fit(BLE_SENSOR_KIND_POWER, pod));
	/* the same kind fits equally; none of its services: 0 */
	assert_int_equal(ble_kind_fit(BLE_SENSOR_KIND_POLAR_H10, h10),
			 ble_kind_fit(BLE_SENSOR_KIND_POLAR_VERITY_SENSE, h10));
	assert_int_equal(ble_kind_fit(BLE_SENSOR_KIND_TREADMILL, strap), 0);
	assert_int_equal(ble_kind_fit(BLE_SENSOR_KIND_HEART_RATE, NULL), 0);
	assert_true(ble_kind_fit(BLE_SENSOR_KIND_TREADMILL, ftms) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/ble/match/address-normalize", test_address, NULL, NULL, NULL },
		{ "/ble/match/by-address", test_by_address, NULL, NULL, NULL },
		{ "/ble/match/by-name-pattern", test_by_pattern, NULL, NULL, NULL },
		{ "/ble/match/by-service", test_by_service_only, NULL, NULL, NULL },
		{ "/ble/match/kind-uuids", test_kind_uuids, NULL, NULL, NULL },
		{ "/ble/match/kind-fit", test_kind_fit, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("ble/match", tests, NULL, NULL);
}
