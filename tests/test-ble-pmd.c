/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the PMD start settings chosen from a sensor's get-settings answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ble/ble.h"
#include "proto/pmd.h"

/* Decode a get-settings parameter list as the manager does. */
static void offered(const uint8_t *buf, size_t len, struct pmd_settings *ret)
{
	assert_int_equal(pmd_settings_parse(buf, len, ret, NULL), 0);
}

/* H10 ACC: 25/50/100/200 Hz, 16 bit, 2/4/8 G (what bluez-sim answers). */
static const uint8_t h10_acc[] = {
	0x00, 0x04, 0x19, 0x00, 0x32, 0x00, 0x64, 0x00, 0xc8, 0x00,
	0x01, 0x01, 0x10, 0x00,
	0x02, 0x03, 0x02, 0x00, 0x04, 0x00, 0x08, 0x00,
};

/* Verity Sense ACC outside SDK mode: 52 Hz, 16 bit, 8 G, 3 channels. */
static const uint8_t verity_acc[] = {
	0x00, 0x01, 0x34, 0x00,
	0x01, 0x01, 0x10, 0x00,
	0x02, 0x01, 0x08, 0x00,
	0x04, 0x01, 0x03,
};

static void test_h10(void **state)
{
	struct pmd_settings o;
	struct pmd_start_params p;

	offered(h10_acc, sizeof(h10_acc), &o);
	assert_int_equal(ble_pmd_choose(&o, 200, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 200);
	assert_int_equal(p.resolution_bits, 16);
	assert_int_equal(p.range, 8);
	assert_int_equal(p.channels, 0);	/* not offered: left out */
	assert_false(p.recording);

	assert_int_equal(ble_pmd_choose(&o, 60, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 50);
	assert_int_equal(ble_pmd_choose(&o, 1000, 16, &p), 0);
	assert_int_equal(p.sample_rate_hz, 200);
	assert_int_equal(p.range, 8);
	assert_int_equal(ble_pmd_choose(&o, 1, 3, &p), 0);
	assert_int_equal(p.sample_rate_hz, 25);
	assert_int_equal(p.range, 4);		/* 3 is as near 2 as 4: the higher */
	/* Ties go to the higher rate. */
	assert_int_equal(ble_pmd_choose(&o, 75, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 100);
	assert_int_equal(ble_pmd_choose(&o, 74, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 50);
}

static void test_verity(void **state)
{
	struct pmd_settings o;
	struct pmd_start_params p;

	offered(verity_acc, sizeof(verity_acc), &o);
	/* The bug: 200 Hz configured used to ask for 208 Hz, which is refused. */
	assert_int_equal(ble_pmd_choose(&o, 200, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 52);
	assert_int_equal(p.resolution_bits, 16);
	assert_int_equal(p.range, 8);
	assert_int_equal(p.channels, 3);
	assert_int_equal(ble_pmd_choose(&o, 26, 2, &p), 0);
	assert_int_equal(p.sample_rate_hz, 52);
	assert_int_equal(p.range, 8);
}

static void test_gyro_ranges(void **state)
{
	/* notes/ble.md, PmdSettingTest.kt: 52 Hz; 16 bit; 245/500/1000/2000; 3 ch. */
	static const uint8_t buf[] = {
		0x00, 0x01, 0x34, 0x00, 0x01, 0x01, 0x10, 0x00, 0x02, 0x04, 0xf5, 0x00,
		0xf4, 0x01, 0xe8, 0x03, 0xd0, 0x07, 0x04, 0x01, 0x03,
	};
	struct pmd_settings o;
	struct pmd_start_params p;

	offered(buf, sizeof(buf), &o);
	assert_int_equal(ble_pmd_choose(&o, 52, 2000, &p), 0);
	assert_int_equal(p.range, 2000);
	assert_int_equal(ble_pmd_choose(&o, 52, 300, &p), 0);
	assert_int_equal(p.range, 245);
	assert_int_equal(ble_pmd_choose(&o, 52, 1500, &p), 0);
	assert_int_equal(p.range, 2000);	/* tie 1000/2000: the higher */
}

static void test_no_rates(void **state)
{
	/* No rate offered: no choice (the manager uses its table). */
	static const uint8_t only_res[] = { 0x01, 0x01, 0x10, 0x00 };
	static const uint8_t zero_rate[] = { 0x00, 0x02, 0x00, 0x00, 0x34, 0x00 };
	struct pmd_settings o;
	struct pmd_start_params p = { .sample_rate_hz = 99 };

	offered(NULL, 0, &o);
	assert_int_equal(ble_pmd_choose(&o, 200, 8, &p), -ENODATA);
	assert_int_equal(p.sample_rate_hz, 99);	/* untouched on error */
	offered(only_res, sizeof(only_res), &o);
	assert_int_equal(ble_pmd_choose(&o, 200, 8, &p), -ENODATA);
	/* A 0 Hz entry is skipped. */
	offered(zero_rate, sizeof(zero_rate), &o);
	assert_int_equal(ble_pmd_choose(&o, 1, 8, &p), 0);
	assert_int_equal(p.sample_rate_hz, 52);
	assert_int_equal(p.range, 0);
	assert_int_equal(ble_pmd_choose(NULL, 200, 8, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/ble/pmd/choose-h10", test_h10, NULL, NULL, NULL },
		{ "/ble/pmd/choose-verity-sense", test_verity, NULL, NULL, NULL },
		{ "/ble/pmd/choose-gyro-range", test_gyro_ranges, NULL, NULL, NULL },
		{ "/ble/pmd/choose-no-rates", test_no_rates, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("ble/pmd", tests, NULL, NULL);
}
