// SPDX-License-Identifier: GPL-2.0-or-later
/* Table tests for the Cycling Power Measurement 0x2A63 decoder. */
#include "common/macro.h"
#include "proto/cps.h"
#include "tests/lib/proto-test.h"

/* Decode a measurement given as hex; both the hex and the decode must succeed. */
static void cps_decode(const char *s, struct cps_measurement *m)
{
	static uint8_t buf[128];
	size_t len = hex(s, buf, sizeof(buf));

	assert_int_equal(cps_measurement_parse(buf, len, m, NULL), 0);
}

/* OpenTracks BluetoothHandlerCyclingPowerTest.java: `00 00 28 00` = 40 W */
static void test_cps_power_only(void **state)
{
	struct cps_measurement m;

	cps_decode("00 00 28 00", &m);
	assert_int_equal(m.power_w, 40);
	assert_false(m.has_pedal_power_balance);
	assert_false(m.has_accumulated_torque);
	assert_false(m.has_wheel_revolutions);
	assert_false(m.has_crank_revolutions);
	assert_int_equal(m.trailing, 0);
}

/* Same file: torque (crank based) + crank revolution data */
static void test_cps_crank(void **state)
{
	struct cps_measurement m;

	cps_decode("2c 00 00 00 9f 00 0c 00 e5 42", &m);
	assert_int_equal(m.flags, 0x002c);
	assert_int_equal(m.power_w, 0);
	assert_true(m.has_accumulated_torque);
	assert_true(m.accumulated_torque_crank);
	assert_near(m.accumulated_torque_nm, 159 / 32.0, 1e-9);
	assert_true(m.has_crank_revolutions);
	assert_int_equal(m.crank_revolutions, 12);
	assert_near(m.last_crank_event_s, 16.724, 0.001);
	assert_false(m.has_wheel_revolutions);
}

/* antoniokly/BluetoothThing CyclingPowerMeasurementTests.swift (real trainer) */
static void test_cps_wheel(void **state)
{
	struct cps_measurement m;

	cps_decode("14 00 49 00 77 31 55 06 00 00 8f 7c", &m);
	assert_int_equal(m.power_w, 73);
	assert_false(m.accumulated_torque_crank);
	assert_near(m.accumulated_torque_nm, 395.72, 0.005);
	assert_int_equal(m.wheel_revolutions, 1621);
	/* 1/2048 s, not CSC's 1/1024 */
	assert_near(m.last_wheel_event_s, 15.570, 0.001);
	assert_int_equal(m.raw_last_wheel_event, 31887);
}

/*
 * The same real trainer capture's neighbouring notifications (comments in
 * BluetoothThing CyclingPowerMeasurementTests.swift): the test there derives
 * 36.2 km/h with a 2.110 m wheel between the 73 W and 76 W records, which
 * only holds with the 1/2048 s wheel time base.
 */
static void test_cps_wheel_speed(void **state)
{
	static const struct {
		const char *hex;
		int power_w;
		uint32_t revs;
	} seq[] = {
		{ "14 00 4f 00 9e 34 5f 06 00 00 19 8d", 79, 1631 },
		{ "14 00 4c 00 0b 33 5a 06 00 00 f4 84", 76, 1626 },
		{ "14 00 49 00 77 31 55 06 00 00 8f 7c", 73, 1621 },
		{ "14 00 2f 00 7f 30 51 06 00 00 9a 75", 47, 1617 },
		{ "14 00 27 00 a3 2f 4c 06 00 00 9d 6c", 39, 1612 },
	};
	struct cps_measurement m[5];

	for (size_t i = 0; i < 5; i++) {
		cps_decode(seq[i].hex, &m[i]);
		assert_int_equal(m[i].power_w, seq[i].power_w);
		assert_int_equal(m[i].wheel_revolutions, seq[i].revs);
	}
	/* 5 revolutions x 2.110 m over (34036 - 31887) / 2048 s = 36.2 km/h */
	assert_near((m[1].wheel_revolutions - m[2].wheel_revolutions) * 2.110 /
		    (m[1].last_wheel_event_s - m[2].last_wheel_event_s) * 3.6, 36.2, 0.1);
}

/* Every optional field at once, with negative and extreme values. */
static void test_cps_all_fields(void **state)
{
	struct cps_measurement m;

	cps_decode(
		"ff 1f"		/* flags: bits 0-12 */
		" 9c ff"	/* power -100 W */
		" 64"		/* balance 100 -> 50 %, left */
		" 40 00"	/* torque 64/32 = 2 Nm, crank */
		" 01 00 00 00 00 08"	/* wheel revs 1, time 2048 -> 1 s */
		" 02 00 00 04"	/* crank revs 2, time 1024 -> 1 s */
		" e8 03 18 fc"	/* force max 1000, min -1000 N */
		" 20 00 e0 ff"	/* torque max 1 Nm, min -1 Nm */
		" 5a 40 0b"	/* angles: max 0x05a = 90, min 0x0b4 = 180 */
		" 0a 00 c3 00"	/* dead spots 10, 195 deg */
		" 07 00", &m);	/* energy 7 kJ */
	assert_int_equal(m.power_w, -100);
	assert_near(m.pedal_power_balance_pct, 50, 0);
	assert_true(m.pedal_power_balance_left);
	assert_near(m.accumulated_torque_nm, 2, 0);
	assert_true(m.accumulated_torque_crank);
	assert_int_equal(m.wheel_revolutions, 1);
	assert_near(m.last_wheel_event_s, 1, 0);
	assert_int_equal(m.crank_revolutions, 2);
	assert_near(m.last_crank_event_s, 1, 0);
	assert_int_equal(m.max_force_n, 1000);
	assert_int_equal(m.min_force_n, -1000);
	assert_near(m.max_torque_nm, 1, 0);
	assert_near(m.min_torque_nm, -1, 0);
	assert_int_equal(m.max_angle_deg, 90);
	assert_int_equal(m.min_angle_deg, 180);
	assert_int_equal(m.top_dead_spot_angle_deg, 10);
	assert_int_equal(m.bottom_dead_spot_angle_deg, 195);
	assert_int_equal(m.accumulated_energy_kj, 7);
	assert_true(m.offset_compensation);
	assert_int_equal(m.trailing, 0);
}

static size_t cps_expected_len(uint16_t f)
{
	static const struct flag_field fields[] = {
		{ CPS_FLAG_PEDAL_POWER_BALANCE, 1, 0 },
		{ CPS_FLAG_ACCUMULATED_TORQUE, 2, 0 },
		{ CPS_FLAG_WHEEL_REVOLUTIONS, 6, 0 },
		{ CPS_FLAG_CRANK_REVOLUTIONS, 4, 0 },
		{ CPS_FLAG_EXTREME_FORCE, 4, 0 },
		{ CPS_FLAG_EXTREME_TORQUE, 4, 0 },
		{ CPS_FLAG_EXTREME_ANGLES, 3, 0 },
		{ CPS_FLAG_TOP_DEAD_SPOT, 2, 0 },
		{ CPS_FLAG_BOTTOM_DEAD_SPOT, 2, 0 },
		{ CPS_FLAG_ACCUMULATED_ENERGY, 2, 0 },
	};

	return fields_len(4, fields, ELEMENTSOF(fields), f);
}

static void check_len(uint16_t flags, size_t len)
{
	struct cps_measurement m;
	struct proto_error e = {};
	uint8_t *p = lead_value(flags, 2, 0xc3, len);
	size_t exp = cps_expected_len(flags);
	int r;

	r = cps_measurement_parse(p, len, &m, &e);
	free(p);
	if (len >= exp) {
		assert_int_equal(r, 0);
		assert_int_equal(m.trailing, len - exp);
	} else {
		assert_int_equal(r, -EBADMSG);
		assert_true(e.offset < len || len == 0 || e.offset == len);
	}
}

/*
 * Every combination of the 13 defined flags (with and without RFU bits)
 * one byte short, exact and one byte long; every length 0..64 for a
 * spread of them. Exact heap copies catch any overread.
 */
static void test_cps_all_flags(void **state)
{
	for (unsigned f = 0; f < 0x2000; f++) {
		uint16_t flags = (uint16_t)(f | (f & 1 ? 0xe000 : 0));
		size_t exp = cps_expected_len(flags);

		check_len(flags, exp - 1);
		check_len(flags, exp);
		check_len(flags, exp + 1);
		if (f % 97 == 0)
			for (size_t len = 0; len <= 64; len++)
				check_len(flags, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/proto/cps/ot-power-only", test_cps_power_only, NULL, NULL, NULL },
		{ "/proto/cps/ot-crank-torque", test_cps_crank, NULL, NULL, NULL },
		{ "/proto/cps/bluetooththing-wheel", test_cps_wheel, NULL, NULL, NULL },
		{ "/proto/cps/bluetooththing-wheel-speed", test_cps_wheel_speed, NULL, NULL, NULL },
		{ "/proto/cps/all-fields", test_cps_all_fields, NULL, NULL, NULL },
		{ "/proto/cps/all-flags-lengths", test_cps_all_flags, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
