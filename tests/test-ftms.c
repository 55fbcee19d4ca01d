// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Table tests for the FTMS decoders: Treadmill Data 0x2ACD (More Data merge,
 * pace width, vendor bytes), Supported Speed Range 0x2AD4, Status 0x2ADA.
 */
#include "common/macro.h"
#include "proto/ftms.h"
#include "proto/json.h"
#include "tests/lib/proto-test.h"

#include <json.h>

/* Decode hex into *d from an exact-size heap copy. */
static int treadmill(const char *s, struct ftms_treadmill_data *d,
		     struct proto_error *e)
{
	size_t len;
	uint8_t *p = hex_dup_exact(s, 128, &len);
	int r;

	r = ftms_treadmill_data_parse(p, len, d, e);
	free(p);
	return r;
}

/* Issue #3: real walking pad, speed 2.00 km/h, 13 m, energy n/a, 25 s, 3 vendor bytes */
static void test_walking_pad(void **state)
{
	struct ftms_treadmill_data d;
	static const uint8_t vendor[] = { 0x1c, 0x00, 0x00 };

	assert_int_equal(treadmill("84 24 c8 00 0d 00 00 00 00 ff ff ff 19 00 1c 00 00",
				   &d, NULL), 0);
	assert_int_equal(d.flags, 0x2484);
	assert_false(d.more_data);
	assert_true(d.has_speed);
	assert_near(d.speed_kmh, 2.00, 1e-9);
	assert_true(d.has_total_distance);
	assert_int_equal(d.total_distance_m, 13);
	/* total energy 0 kcal is a value; per hour/minute are "not available" */
	assert_true(d.has_total_energy);
	assert_int_equal(d.total_energy_kcal, 0);
	assert_false(d.has_energy_per_hour);
	assert_false(d.has_energy_per_minute);
	assert_true(d.has_elapsed_time);
	assert_int_equal(d.elapsed_time_s, 25);
	assert_false(d.has_average_speed);
	assert_false(d.has_heart_rate);
	assert_int_equal(d.flags & FTMS_TREADMILL_FLAG_RFU_MASK, 0x2000);
	assert_int_equal(d.n_vendor_bytes, 3);
	assert_int_equal(d.vendor_offset, 14);
	assert_memory_equal(d.vendor_bytes, vendor, 3);
}

/* kkz6/WalkingPadSDK FTMSTests.swift, "real capture" KingSmith KS-HD-Z1D */
static void test_kingsmith(void **state)
{
	struct ftms_treadmill_data d;

	assert_int_equal(treadmill("84 24 2c 01 96 00 00 0c 00 00 00 00 78 00", &d, NULL), 0);
	assert_near(d.speed_kmh, 3.00, 1e-9);
	assert_int_equal(d.total_distance_m, 150);
	assert_int_equal(d.total_energy_kcal, 12);
	assert_true(d.has_energy_per_hour);
	assert_int_equal(d.energy_per_hour_kcal, 0);
	assert_int_equal(d.energy_per_minute_kcal, 0);
	assert_int_equal(d.elapsed_time_s, 120);
	assert_int_equal(d.n_vendor_bytes, 0);
}

/* WalkingPadSDK; RonanB96/bluetooth-sig-python test_treadmill_data.py */
static void test_speed_only(void **state)
{
	struct ftms_treadmill_data d;

	assert_int_equal(treadmill("00 00 f4 01", &d, NULL), 0);
	assert_near(d.speed_kmh, 5.00, 1e-9);
	assert_int_equal(treadmill("00 00 e8 03", &d, NULL), 0);
	assert_near(d.speed_kmh, 10.00, 1e-9);
}

/* bluetooth-sig-python: the bit-0 inversion and partial records */
static void test_bluetooth_sig_python(void **state)
{
	struct ftms_treadmill_data d;

	assert_int_equal(treadmill("01 00", &d, NULL), 0);
	assert_true(d.more_data);
	assert_false(d.has_speed);

	assert_int_equal(treadmill("02 01 e2 04 b0 04 9b", &d, NULL), 0);
	assert_near(d.speed_kmh, 12.50, 1e-9);
	assert_near(d.average_speed_kmh, 12.00, 1e-9);
	assert_int_equal(d.heart_rate_bpm, 155);

	assert_int_equal(treadmill("09 00 19 00 f1 ff", &d, NULL), 0);
	assert_false(d.has_speed);
	assert_near(d.inclination_pct, 2.5, 1e-9);
	assert_near(d.ramp_angle_deg, -1.5, 1e-9);

	assert_int_equal(treadmill("01 10 38 ff 5e 01", &d, NULL), 0);
	assert_int_equal(d.force_on_belt_n, -200);
	assert_int_equal(d.power_output_w, 350);
}

/* bluetooth-sig-python synthetic all-fields record (GSS uint16 pace) */
static void test_all_fields_uint16_pace(void **state)
{
	struct ftms_treadmill_data d;

	assert_int_equal(treadmill("fe 1f 20 03 ee 02 88 13 00 ce ff 1e 00 64 00 32 00 2c 01"
				   " 36 01 f4 01 58 02 0a 8c 55 08 07 58 02 9c ff fa 00",
				   &d, NULL), 0);
	assert_near(d.speed_kmh, 8.00, 1e-9);
	assert_near(d.average_speed_kmh, 7.50, 1e-9);
	assert_int_equal(d.total_distance_m, 5000);
	assert_near(d.inclination_pct, -5.0, 1e-9);
	assert_near(d.ramp_angle_deg, 3.0, 1e-9);
	assert_near(d.positive_elevation_gain_m, 10.0, 1e-9);
	assert_near(d.negative_elevation_gain_m, 5.0, 1e-9);
	assert_int_equal(d.pace_width, FTMS_PACE_WIDTH_UINT16);
	assert_int_equal(d.raw_instantaneous_pace, 300);
	assert_int_equal(d.raw_average_pace, 310);
	assert_int_equal(d.total_energy_kcal, 500);
	assert_int_equal(d.energy_per_hour_kcal, 600);
	assert_int_equal(d.energy_per_minute_kcal, 10);
	assert_int_equal(d.heart_rate_bpm, 140);
	assert_near(d.metabolic_equivalent, 8.5, 1e-9);
	assert_int_equal(d.elapsed_time_s, 1800);
	assert_int_equal(d.remaining_time_s, 600);
	assert_int_equal(d.force_on_belt_n, -100);
	assert_int_equal(d.power_output_w, 250);
	assert_int_equal(d.n_vendor_bytes, 0);
}

/* The same flags with uint8 pace (2017 XML): length picks the width. */
static void test_uint8_pace(void **state)
{
	struct ftms_treadmill_data d;

	/* flags 0x0060 (both paces) + speed 8.00 + pace 50, 51 + HR? no */
	assert_int_equal(treadmill("60 00 20 03 32 33", &d, NULL), 0);
	assert_int_equal(d.pace_width, FTMS_PACE_WIDTH_UINT8);
	assert_int_equal(d.raw_instantaneous_pace, 50);
	assert_int_equal(d.raw_average_pace, 51);

	assert_int_equal(treadmill("60 00 20 03 32 00 33 00", &d, NULL), 0);
	assert_int_equal(d.pace_width, FTMS_PACE_WIDTH_UINT16);
	assert_int_equal(d.raw_average_pace, 51);

	/* Neither width fits: fields before pace kept, rest reported. */
	assert_int_equal(treadmill("60 04 20 03 32 33 34", &d, NULL), 0);
	assert_int_equal(d.pace_width, FTMS_PACE_WIDTH_UNKNOWN);
	assert_near(d.speed_kmh, 8.00, 1e-9);
	assert_false(d.has_instantaneous_pace);
	assert_false(d.has_elapsed_time);
	assert_int_equal(d.n_vendor_bytes, 3);
	assert_int_equal(d.vendor_offset, 4);
}

/* WalkingPadSDK: distance needs 3 bytes -> reject, at byte 4 */
static void test_truncated(void **state)
{
	struct ftms_treadmill_data d;
	struct proto_error e = {};

	assert_int_equal(treadmill("04 00 64 00 01", &d, &e), -EBADMSG);
	assert_int_equal(e.offset, 4);
	assert_string_equal(e.field, "total distance");
	assert_int_equal(treadmill("", &d, &e), -EBADMSG);
	assert_int_equal(treadmill("00", &d, &e), -EBADMSG);
	assert_int_equal(treadmill("00 00 f4", &d, &e), -EBADMSG);
	assert_int_equal(e.offset, 2);
}

/* "Not available" markers: 0x7FFF inclination/ramp/force/power */
static void test_not_available(void **state)
{
	struct ftms_treadmill_data d;

	assert_int_equal(treadmill("09 10 ff 7f ff 7f ff 7f ff 7f", &d, NULL), 0);
	assert_false(d.has_inclination);
	assert_false(d.has_ramp_angle);
	assert_false(d.has_force_on_belt);
	assert_false(d.has_power_output);
}

/* FTMS 4.19: a record split in three parts merges into one */
static void test_merge_split_record(void **state)
{
	struct ftms_treadmill_merge m;
	struct ftms_treadmill_data part, rec = {};
	static const char *const parts[] = {
		"01 10 38 ff 5e 01",		/* bit0=1: force/power */
		"09 04 19 00 f1 ff 0a 00",	/* bit0=1: incline, elapsed 10 s */
		"04 04 f4 01 10 27 00 0b 00",	/* bit0=0: speed, 10000 m, elapsed 11 s */
	};

	ftms_treadmill_merge_init(&m);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(treadmill(parts[i], &part, NULL), 0);
		assert_int_equal(ftms_treadmill_merge_add(&m, &part, &rec), i == 2 ? 1 : 0);
	}
	assert_false(rec.more_data);
	assert_int_equal(rec.parts, 3);
	assert_near(rec.speed_kmh, 5.00, 1e-9);
	assert_int_equal(rec.total_distance_m, 10000);
	assert_near(rec.inclination_pct, 2.5, 1e-9);
	assert_int_equal(rec.force_on_belt_n, -200);
	assert_int_equal(rec.power_output_w, 350);
	/* the later part's elapsed time wins */
	assert_int_equal(rec.elapsed_time_s, 11);

	/* the accumulator starts afresh: a lone complete record is itself */
	assert_int_equal(treadmill("00 00 e8 03", &part, NULL), 0);
	assert_int_equal(ftms_treadmill_merge_add(&m, &part, &rec), 1);
	assert_int_equal(rec.parts, 1);
	assert_false(rec.has_inclination);
	assert_near(rec.speed_kmh, 10.0, 1e-9);
}

static void test_merge_vendor_bytes(void **state)
{
	struct ftms_treadmill_merge m;
	struct ftms_treadmill_data part, rec;

	ftms_treadmill_merge_init(&m);
	assert_int_equal(treadmill("01 00 aa", &part, NULL), 0);
	assert_int_equal(ftms_treadmill_merge_add(&m, &part, &rec), 0);
	assert_int_equal(treadmill("00 00 f4 01 bb cc", &part, NULL), 0);
	assert_int_equal(ftms_treadmill_merge_add(&m, &part, &rec), 1);
	assert_int_equal(rec.n_vendor_bytes, 3);
	assert_int_equal(rec.vendor_bytes[0], 0xaa);
	assert_int_equal(rec.vendor_bytes[2], 0xcc);
}

static size_t treadmill_len(uint16_t f)
{
	static const struct flag_field fields[] = {
		{ FTMS_TREADMILL_FLAG_MORE_DATA, 0, 2 },	/* speed only without it */
		{ FTMS_TREADMILL_FLAG_AVERAGE_SPEED, 2, 0 },
		{ FTMS_TREADMILL_FLAG_TOTAL_DISTANCE, 3, 0 },
		{ FTMS_TREADMILL_FLAG_INCLINATION, 4, 0 },
		{ FTMS_TREADMILL_FLAG_ELEVATION_GAIN, 4, 0 },
		{ FTMS_TREADMILL_FLAG_EXPENDED_ENERGY, 5, 0 },
		{ FTMS_TREADMILL_FLAG_HEART_RATE, 1, 0 },
		{ FTMS_TREADMILL_FLAG_METABOLIC_EQUIVALENT, 1, 0 },
		{ FTMS_TREADMILL_FLAG_ELAPSED_TIME, 2, 0 },
		{ FTMS_TREADMILL_FLAG_REMAINING_TIME, 2, 0 },
		{ FTMS_TREADMILL_FLAG_FORCE_AND_POWER, 4, 0 },
	};

	return fields_len(2, fields, ELEMENTSOF(fields), f);
}

/*
 * Every flag combination without pace (pace has its own rules) plus RFU
 * bits, every length 0..64 for a spread, short/exact/long for all.
 */
static void test_all_flags_lengths(void **state)
{
	for (unsigned f = 0; f < 0x2000; f++) {
		uint16_t flags = (uint16_t)((f & ~0x60u) | (f & 2 ? 0xe000 : 0));
		size_t exp = treadmill_len(flags);

		for (size_t len = 0; len <= 64; len++) {
			struct ftms_treadmill_data d;
			uint8_t *p;
			int r;

			if (f % 61 && len + 1 != exp && len != exp && len != exp + 1)
				continue;
			p = lead_value(flags, 2, 0x5c, len);
			r = ftms_treadmill_data_parse(p, len, &d, NULL);
			free(p);
			if (len < exp) {
				assert_int_equal(r, -EBADMSG);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(d.n_vendor_bytes, len - exp);
			}
		}
	}

	/* pace flags: any length must decode or fail cleanly */
	for (unsigned f = 0x20; f < 0x2000; f += 0x20)
		for (size_t len = 0; len <= 64; len++) {
			struct ftms_treadmill_data d;
			uint8_t *p = lead_value(f, 2, 0x21, len);

			(void)ftms_treadmill_data_parse(p, len, &d, NULL);
			free(p);
		}
}

static void test_speed_range(void **state)
{
	static const uint8_t v[] = { 0x64, 0x00, 0xd0, 0x07, 0x0a, 0x00 };
	struct ftms_speed_range s;
	struct proto_error e = {};

	/* 1.00 .. 20.00 km/h in 0.10 steps */
	assert_int_equal(ftms_speed_range_parse(v, sizeof(v), &s, &e), 0);
	assert_near(s.minimum_speed_kmh, 1.0, 1e-9);
	assert_near(s.maximum_speed_kmh, 20.0, 1e-9);
	assert_near(s.minimum_increment_kmh, 0.1, 1e-9);
	for (size_t len = 0; len <= 64; len++) {
		uint8_t buf[64] = {}, *p = dup_exact(buf, len);
		int r = ftms_speed_range_parse(p, len, &s, &e);

		free(p);
		assert_int_equal(r, len >= 6 ? 0 : -EBADMSG);
		if (r < 0)
			assert_int_equal(e.offset, len & ~(size_t)1);
	}
}

static void test_status(void **state)
{
	static const struct {
		const char *hex;
		int r;
		const char *event;
		size_t n_params;
		double value0;
	} cases[] = {
		{ "01", 0, "reset", 0, 0 },
		{ "02 01", 0, "stopped_or_paused_by_user", 1, 1 },	/* stop */
		{ "02 02", 0, "stopped_or_paused_by_user", 1, 2 },	/* pause */
		{ "04", 0, "started_or_resumed_by_user", 0, 0 },
		{ "05 f4 01", 0, "target_speed_changed", 1, 5.0 },
		{ "06 9c ff", 0, "target_incline_changed", 1, -10.0 },
		{ "0d 10 27 00", 0, "targeted_distance_changed", 1, 10000 },
		{ "11 01 00 02 00 03 00 04 00 05 00", 0,
		  "targeted_time_in_five_heart_rate_zones_changed", 5, 1 },
		{ "ff", 0, "control_permission_lost", 0, 0 },
		{ "05 f4", -EBADMSG, NULL, 0, 0 },
		{ "", -EBADMSG, NULL, 0, 0 },
		{ "80 01 02", 0, NULL, 0, 0 },		/* RFU op: tolerated */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ftms_status s;
		size_t len;
		uint8_t *p = hex_dup_exact(cases[i].hex, 32, &len);
		int r;

		r = ftms_status_parse(p, len, &s, NULL);
		free(p);
		assert_int_equal(r, cases[i].r);
		if (r < 0)
			continue;
		if (cases[i].event)
			assert_string_equal(s.event, cases[i].event);
		else
			assert_false(s.known);
		assert_int_equal(s.n_params, cases[i].n_params);
		if (s.n_params)
			assert_near(s.params[0].value, cases[i].value0, 1e-9);
	}

	for (unsigned op = 0; op < 256; op++)
		for (size_t len = 0; len <= 64; len++) {
			uint8_t *p = lead_value(op, 1, 0x7e, len);
			struct ftms_status s;

			(void)ftms_status_parse(p, len, &s, NULL);
			free(p);
		}
}

/* JSON of the walking pad: n/a energy is null, vendor bytes are hex */
static void test_walking_pad_json(void **state)
{
	struct ftms_treadmill_data d;
	struct json_object *o, *v;

	assert_int_equal(treadmill("84 24 c8 00 0d 00 00 00 00 ff ff ff 19 00 1c 00 00",
				   &d, NULL), 0);
	assert_int_equal(ftms_treadmill_data_to_json(&d, 0, &o), 0);
	assert_true(json_object_object_get_ex(o, "speed_kmh", &v));
	assert_near(json_object_get_double(v), 2.0, 1e-9);
	assert_true(json_object_object_get_ex(o, "energy_per_hour_kcal", &v));
	assert_null(v);				/* present as JSON null */
	assert_true(json_object_object_get_ex(o, "average_speed_kmh", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "total_energy_kcal", &v));
	assert_int_equal(json_object_get_int(v), 0);
	assert_true(json_object_object_get_ex(o, "vendor_bytes", &v));
	assert_string_equal(json_object_get_string(v), "1c0000");
	assert_true(json_object_object_get_ex(o, "elapsed_time_s", &v));
	assert_int_equal(json_object_get_int(v), 25);
	assert_false(json_object_object_get_ex(o, "flags", &v));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/proto/ftms/walking-pad-issue-3", test_walking_pad, NULL, NULL, NULL },
		{ "/proto/ftms/walking-pad-json", test_walking_pad_json, NULL, NULL, NULL },
		{ "/proto/ftms/kingsmith-ks-hd-z1d", test_kingsmith, NULL, NULL, NULL },
		{ "/proto/ftms/speed-only", test_speed_only, NULL, NULL, NULL },
		{ "/proto/ftms/bluetooth-sig-python", test_bluetooth_sig_python, NULL, NULL, NULL },
		{ "/proto/ftms/all-fields-uint16-pace", test_all_fields_uint16_pace, NULL, NULL, NULL },
		{ "/proto/ftms/pace-width-by-length", test_uint8_pace, NULL, NULL, NULL },
		{ "/proto/ftms/truncated", test_truncated, NULL, NULL, NULL },
		{ "/proto/ftms/not-available", test_not_available, NULL, NULL, NULL },
		{ "/proto/ftms/merge-split-record", test_merge_split_record, NULL, NULL, NULL },
		{ "/proto/ftms/merge-vendor-bytes", test_merge_vendor_bytes, NULL, NULL, NULL },
		{ "/proto/ftms/all-flags-lengths", test_all_flags_lengths, NULL, NULL, NULL },
		{ "/proto/ftms/speed-range", test_speed_range, NULL, NULL, NULL },
		{ "/proto/ftms/status", test_status, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
